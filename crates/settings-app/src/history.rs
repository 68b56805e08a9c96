//! The login history: each sign-in and failed sign-in with its time, IP address and browser,
//! kept as long as the policy says, deletable entry by entry or all at once. It moved here from
//! the mail app's account page with the rest of security.

use leptos::prelude::*;
use plico_api::{LoginHistory, LoginKind};

use crate::api::{self, Failure};
use crate::i18n::{t, tf};

/// How a login kind reads in the history table.
pub fn describe_login_kind(kind: LoginKind) -> String {
    match kind {
        LoginKind::Signup => t("Account created"),
        LoginKind::Password => t("Password sign-in"),
        LoginKind::Totp => t("Sign-in with an authenticator code"),
        LoginKind::RecoveryCode => t("Sign-in with a recovery code"),
        LoginKind::Passkey => t("Sign-in with a passkey"),
        LoginKind::FactorReset => t("Sign-in with a reset code: two-step verification turned off"),
        LoginKind::FailedPassword => t("Failed sign-in: wrong password"),
        LoginKind::FailedSecondFactor => t("Failed sign-in: wrong second factor"),
    }
}

/// A short description of a user agent: the browser family and the platform.
/// `code` (ISO 3166-1 alpha-2) as the page's language names the country ("Germany",
/// "Allemagne"), by the browser's `Intl.DisplayNames`; the code itself where it cannot.
pub fn country_name(code: &str) -> String {
    use wasm_bindgen::JsCast;
    let name = (|| {
        let intl = js_sys::Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
        let names: js_sys::Function = js_sys::Reflect::get(&intl, &"DisplayNames".into()).ok()?.dyn_into().ok()?;
        let lang = web_sys::window()?.document()?.document_element()?.get_attribute("lang").unwrap_or_default();
        let options = js_sys::Object::new();
        js_sys::Reflect::set(&options, &"type".into(), &"region".into()).ok()?;
        let locales = js_sys::Array::of1(&lang.into());
        let names = js_sys::Reflect::construct(&names, &js_sys::Array::of2(&locales, &options)).ok()?;
        let of: js_sys::Function = js_sys::Reflect::get(&names, &"of".into()).ok()?.dyn_into().ok()?;
        of.call1(&names, &code.into()).ok()?.as_string()
    })();
    name.unwrap_or_else(|| code.to_owned())
}

pub fn describe_user_agent(user_agent: &str) -> String {
    let browser =
        [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
            .iter()
            .find(|(marker, _)| user_agent.contains(marker))
            .map(|(_, name)| *name);
    let platform = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| *name);
    match (browser, platform) {
        (Some(browser), Some(platform)) => format!("{browser} on {platform}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(platform)) => platform.to_owned(),
        (None, None) => user_agent.chars().take(60).collect(),
    }
}

/// Unix seconds as a local date and time.
pub fn local_time(seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(seconds as f64 * 1000.0));
    String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}

#[component]
pub fn LoginHistoryPanel() -> impl IntoView {
    let (history, set_history) = signal(None::<Result<LoginHistory, Failure>>);
    let (action_error, set_action_error) = signal(None::<String>);
    let load = move || {
        leptos::task::spawn_local(async move {
            set_history.set(Some(api::json::<LoginHistory>("GET", "/account/logins", None).await));
        })
    };
    load();
    let delete = move |path: String| {
        set_action_error.set(None);
        leptos::task::spawn_local(async move {
            match api::call("DELETE", &path, None).await {
                Ok(_) => load(),
                Err(failure) => set_action_error.set(Some(failure.message)),
            }
        });
    };
    view! {
        <div class="panel">
            <div class="panel-header">
                <h2>{t("Login history")}</h2>
                <button type="button" class="button danger-ghost" on:click=move |_| delete("/account/logins".into())
                    disabled=move || !matches!(history.get(), Some(Ok(ref h)) if !h.events.is_empty())>
                    {t("Delete all")}
                </button>
            </div>
            <p class="muted">{move || {
                let days = history.get().and_then(|h| h.ok()).map(|h| h.retention_days).unwrap_or(30);
                tf("Each sign-in is recorded with its time, IP address and browser, and deleted after {days} days. You can delete entries sooner.", &[("days", &days.to_string())])
            }}</p>
            <p class="error" role="alert" hidden=move || action_error.get().is_none()>{move || action_error.get()}</p>
            {move || match history.get() {
                None => view! { <p class="muted">{t("Loading…")}</p> }.into_any(),
                Some(Err(failure)) => view! { <p class="error" role="alert">{failure.message}</p> }.into_any(),
                Some(Ok(history)) if history.events.is_empty() => view! {
                    <p class="empty-history">{t("No logins recorded.")}</p>
                }.into_any(),
                Some(Ok(history)) => view! {
                    <table class="login-history">
                        <caption class="visually-hidden">{t("Login history, newest first")}</caption>
                        <thead><tr>
                            <th scope="col">{t("When")}</th>
                            <th scope="col">{t("What")}</th>
                            <th scope="col">{t("IP address")}</th>
                            <th scope="col">{t("Browser")}</th>
                            <th scope="col"><span class="visually-hidden">{t("Actions")}</span></th>
                        </tr></thead>
                        <tbody>
                            {history.events.into_iter().map(|event| {
                                let when = local_time(event.at);
                                let label = tf("Delete the login of {when}", &[("when", &when)]);
                                let path = format!("/account/logins/{}", event.id);
                                view! {
                                    <tr>
                                        <td>{when}</td>
                                        <td>{describe_login_kind(event.kind)}</td>
                                        <td class="mono">{event.ip}</td>
                                        <td title=event.user_agent.clone()>{describe_user_agent(&event.user_agent)}</td>
                                        <td><button type="button" class="button small ghost" aria-label=label
                                            on:click=move |_| delete(path.clone())>{t("Delete")}</button></td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_read_as_browser_and_platform() {
        let chrome_linux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
        assert_eq!(describe_user_agent(chrome_linux), "Chrome on Linux");
        let firefox_mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(describe_user_agent(firefox_mac), "Firefox on macOS");
        assert_eq!(describe_user_agent("curl/8.0"), "curl/8.0");
    }
}
