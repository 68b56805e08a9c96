//! The security page: the authenticator app (set up with a QR code, confirmed by one code,
//! turned off), recovery codes (shown once, downloadable, made anew), and the sessions that hold
//! the account (each ended on its own, or every other one at once, and the idle timeout).
//! Changes the server guards with `reauth_required` ask for the password in place and are then
//! made.

use std::rc::Rc;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use plico_api::security::{
    PasskeyInfo, PasskeySetup, RecoveryCodes, SecurityOverview, SessionInfo, Sessions, TotpSetup,
};
use wasm_bindgen::JsCast;

use crate::api::{self, Failure};
use crate::history::{describe_user_agent, local_time, LoginHistoryPanel};
use crate::i18n::{t, tf};

/// The crypto worker, through the shell: proving the password again (OPAQUE), and changing it.
#[derive(Clone)]
pub struct WorkerCalls {
    function: js_sys::Function,
}

impl WorkerCalls {
    pub fn new(function: js_sys::Function) -> WorkerCalls {
        WorkerCalls { function }
    }

    async fn call(&self, password: String, sign_out_others: Option<bool>) -> Result<(), Failure> {
        self.call_with(password, sign_out_others, wasm_bindgen::JsValue::UNDEFINED).await
    }

    /// A change to the account's keys, made in the keys worker (the password is in `command`).
    pub(crate) async fn keys(&self, command: &plico_api::security::KeyCommand) -> Result<(), Failure> {
        let bytes = postcard::to_allocvec(command)
            .map_err(|error| Failure { code: "worker".into(), message: error.to_string() })?;
        self.call_with(String::new(), None, js_sys::Uint8Array::from(bytes.as_slice()).into()).await
    }

    async fn call_with(
        &self,
        password: String,
        sign_out_others: Option<bool>,
        keys: wasm_bindgen::JsValue,
    ) -> Result<(), Failure> {
        let others = sign_out_others.map_or(wasm_bindgen::JsValue::UNDEFINED, wasm_bindgen::JsValue::from_bool);
        let promise = self
            .function
            .call3(&wasm_bindgen::JsValue::NULL, &password.into(), &others, &keys)
            .ok()
            .and_then(|value| value.dyn_into::<js_sys::Promise>().ok())
            .ok_or_else(|| Failure { code: "worker".into(), message: t("The mail app did not answer.") })?;
        wasm_bindgen_futures::JsFuture::from(promise).await.map(|_| ()).map_err(|error| {
            let text = error.as_string().unwrap_or_default();
            match text.split_once(": ") {
                Some((code, message)) => Failure { code: code.into(), message: message.into() },
                None => Failure { code: "worker".into(), message: t("The password could not be checked.") },
            }
        })
    }

    async fn prove(&self, password: String) -> Result<(), String> {
        self.call(password, None).await.map_err(|failure| failure.message)
    }

    async fn change(&self, password: String, sign_out_others: bool) -> Result<(), Failure> {
        self.call(password, Some(sign_out_others)).await
    }
}

/// A change to make; it runs again once the password is confirmed, if the server asked for it.
pub(crate) type Change = Rc<dyn Fn()>;

/// What every panel shares: the message shown, and the change waiting for the password.
#[derive(Clone, Copy)]
pub(crate) struct Page {
    pub(crate) error: RwSignal<Option<String>>,
    pub(crate) notice: RwSignal<Option<String>>,
    waiting: RwSignal<Option<Change>, LocalStorage>,
    /// Bumped by a change that ends sessions, so the list is read again.
    sessions_changed: RwSignal<u32>,
}

impl Page {
    /// Reports `result`'s failure; a change the server wants the password for waits for it.
    fn report(&self, result: Result<(), Failure>, change: Change) {
        match result {
            Ok(()) => self.error.set(None),
            Err(failure) if failure.code == "reauth_required" => {
                self.error.set(None);
                self.waiting.set(Some(change));
            }
            Err(failure) => self.error.set(Some(failure.message)),
        }
    }
}

/// Runs `work` as a change: its failure is reported, a `reauth_required` asks for the password
/// and runs it again. Kept in a local store so that event handlers can copy it.
pub(crate) fn change<F, Fut>(page: Page, work: F) -> StoredValue<Change, LocalStorage>
where
    F: Fn() -> Fut + 'static,
    Fut: std::future::Future<Output = Result<(), Failure>> + 'static,
{
    let work = Rc::new(work);
    let this: Rc<std::cell::OnceCell<Change>> = Rc::new(std::cell::OnceCell::new());
    let again = Rc::clone(&this);
    let run: Change = Rc::new(move || {
        let work = Rc::clone(&work);
        let again = again.get().cloned();
        leptos::task::spawn_local(async move {
            let result = work().await;
            if let Some(again) = again {
                page.report(result, again);
            }
        });
    });
    let _ = this.set(Rc::clone(&run));
    StoredValue::new_local(run)
}

/// Makes the stored change.
pub(crate) fn run(change: StoredValue<Change, LocalStorage>) {
    if let Some(change) = change.try_get_value() {
        change();
    }
}

#[component]
pub fn SettingsApp(worker: WorkerCalls) -> impl IntoView {
    let page = Page {
        error: RwSignal::new(None),
        notice: RwSignal::new(None),
        waiting: RwSignal::new_local(None),
        sessions_changed: RwSignal::new(0),
    };
    view! {
        <section class="settings account" aria-labelledby="settings-title">
            <h1 id="settings-title">{t("Security")}</h1>
            <p class="error" role="alert" hidden=move || page.error.get().is_none()>{move || page.error.get()}</p>
            <p class="notice" role="status" hidden=move || page.notice.get().is_none()>{move || page.notice.get()}</p>
            <PasswordPrompt page=page worker=worker.clone()/>
            <TwoStepPanel page=page/>
            <PasswordPanel page=page worker=worker.clone()/>
            <crate::keys::KeysPanel page=page worker=worker/>
            <SessionsPanel page=page/>
            <crate::recovery::RecoveryAddressPanel page=page/>
            <LoginHistoryPanel/>
        </section>
    }
}

/// Asks for the password when a change waits for it, proves it, and makes the change.
#[component]
fn PasswordPrompt(page: Page, worker: WorkerCalls) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let worker = worker.clone();
        leptos::task::spawn_local(async move {
            let proved = worker.prove(password.get_untracked()).await;
            busy.set(false);
            match proved {
                Ok(()) => {
                    password.set(String::new());
                    problem.set(None);
                    if let Some(change) = page.waiting.get_untracked() {
                        page.waiting.set(None);
                        change();
                    }
                }
                Err(message) => problem.set(Some(message)),
            }
        });
    };
    view! {
        <form class="panel reauth" id="reauth" on:submit=on_submit hidden=move || page.waiting.get().is_none()>
            <h2>{t("Confirm your password")}</h2>
            <p class="muted">{t("This change protects your account, so it asks for your password again. It is checked in this browser's crypto worker and never sent to the server.")}</p>
            <label for="reauth-password">{t("Password")}</label>
            <input id="reauth-password" type="password" autocomplete="current-password"
                prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
            <p class="field-error" role="alert">{move || problem.get()}</p>
            <div class="actions">
                <button type="submit" class="button primary" disabled=move || busy.get()>{t("Confirm")}</button>
                <button type="button" class="button ghost" on:click=move |_| {
                    page.waiting.set(None);
                    problem.set(None);
                }>{t("Cancel")}</button>
            </div>
        </form>
    }
}

/// This browser as a passkey's default name ("Chrome on Linux").
fn this_browser() -> String {
    let agent = js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|navigator| js_sys::Reflect::get(&navigator, &"userAgent".into()))
        .ok()
        .and_then(|agent| agent.as_string())
        .unwrap_or_default();
    describe_user_agent(&agent)
}

/// The QR code of `uri`, as SVG markup.
fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}

/// The key in groups of four, as people type it into an app.
fn grouped(secret: &str) -> String {
    secret.as_bytes().chunks(4).map(|chunk| String::from_utf8_lossy(chunk).into_owned()).collect::<Vec<_>>().join(" ")
}

/// Offers the codes as a text file.
fn download_codes(codes: &[String]) {
    let text = format!(
        "{}\n\n{}\n",
        t("Plico recovery codes. Each works once, in place of a code from your authenticator app."),
        codes.join("\n")
    );
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(&text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/plain");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    if let Some(link) = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.create_element("a").ok())
        .and_then(|element| element.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        link.set_href(&url);
        link.set_download("plico-recovery-codes.txt");
        link.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// A new password: the keys worker registers it (OPAQUE) and seals the key under it.
#[component]
fn PasswordPanel(page: Page, worker: WorkerCalls) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let confirmation = RwSignal::new(String::new());
    let sign_out_others = RwSignal::new(true);
    let busy = RwSignal::new(false);
    let worker = StoredValue::new_local(worker);
    let save = change(page, move || async move {
        let Some(worker) = worker.try_get_value() else { return Ok(()) };
        busy.set(true);
        let changed = worker.change(password.get_untracked(), sign_out_others.get_untracked()).await;
        busy.set(false);
        changed?;
        password.set(String::new());
        confirmation.set(String::new());
        page.sessions_changed.update(|count| *count += 1);
        page.notice.set(Some(if sign_out_others.get_untracked() {
            t("Your password is changed, and every other session is signed out.")
        } else {
            t("Your password is changed.")
        }));
        Ok(())
    });
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        if password.get_untracked() != confirmation.get_untracked() {
            page.error.set(Some(t("The two passwords differ.")));
            return;
        }
        run(save);
    };
    view! {
        <form class="panel" id="password" on:submit=on_submit>
            <h2>{t("Password")}</h2>
            <p class="muted">{t("Your password locks your private key, and nobody, not even Plico, can reset it without losing your mail. A new one is sealed over the same key in this browser.")}</p>
            <label for="new-password">{t("New password")}</label>
            <input id="new-password" type="password" autocomplete="new-password"
                prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
            <label for="new-password-again">{t("New password again")}</label>
            <input id="new-password-again" type="password" autocomplete="new-password"
                prop:value=move || confirmation.get() on:input=move |ev| confirmation.set(event_target_value(&ev))/>
            <label class="toggle">
                <input type="checkbox" id="sign-out-others" prop:checked=move || sign_out_others.get()
                    on:change=move |ev| sign_out_others.set(event_target_checked(&ev))/>
                {t("Sign out every other session")}
            </label>
            <div class="actions">
                <button type="submit" class="button primary" id="change-password" disabled=move || busy.get()>
                    {move || if busy.get() { t("Changing…") } else { t("Change password") }}
                </button>
            </div>
        </form>
    }
}

#[component]
fn TwoStepPanel(page: Page) -> impl IntoView {
    let overview = RwSignal::new(None::<SecurityOverview>);
    let setup = RwSignal::new(None::<TotpSetup>);
    let codes = RwSignal::new(None::<Vec<String>>);
    let code = RwSignal::new(String::new());
    let load = move || {
        leptos::task::spawn_local(async move {
            match api::json::<SecurityOverview>("GET", "/account/security", None).await {
                Ok(loaded) => overview.set(Some(loaded)),
                Err(failure) => page.error.set(Some(failure.message)),
            }
        })
    };
    load();

    let start = change(page, move || async move {
        let started = api::json::<TotpSetup>("POST", "/account/security/totp", None).await?;
        code.set(String::new());
        setup.set(Some(started));
        Ok(())
    });
    let confirm = change(page, move || async move {
        let body = serde_json::json!({ "code": code.get_untracked() });
        let made = api::json::<RecoveryCodes>("POST", "/account/security/totp/confirm", Some(body)).await?;
        setup.set(None);
        if !made.codes.is_empty() {
            codes.set(Some(made.codes));
        }
        page.notice.set(Some(t("Two-step verification is on: signing in now asks for a code from your app.")));
        load();
        Ok(())
    });
    let turn_off = change(page, move || async move {
        api::call("DELETE", "/account/security/totp", None).await?;
        codes.set(None);
        page.notice.set(Some(t("Two-step verification is off: your password alone signs in.")));
        load();
        Ok(())
    });
    let new_codes = change(page, move || async move {
        let made = api::json::<RecoveryCodes>("POST", "/account/security/recovery-codes", None).await?;
        codes.set(Some(made.codes));
        load();
        Ok(())
    });
    let on_confirm = move |event: SubmitEvent| {
        event.prevent_default();
        run(confirm);
    };
    // Passkeys: the browser makes one for the options the server gives, the server checks it.
    let passkey_name = RwSignal::new(String::new());
    let adding = RwSignal::new(false);
    let add_passkey = change(page, move || async move {
        let setup = api::json::<PasskeySetup>("POST", "/account/security/passkeys", None).await?;
        adding.set(true);
        let made = crate::webauthn::create(&setup.options).await;
        adding.set(false);
        let credential = made.map_err(|refusal| Failure { code: "passkey".into(), message: refusal.describe() })?;
        let typed = passkey_name.get_untracked().trim().to_owned();
        let name = if typed.is_empty() { this_browser() } else { typed };
        let body = serde_json::json!({ "state": setup.state, "name": name, "credential": credential });
        let made = api::json::<RecoveryCodes>("POST", "/account/security/passkeys/finish", Some(body)).await?;
        passkey_name.set(String::new());
        if !made.codes.is_empty() {
            codes.set(Some(made.codes));
        }
        page.notice.set(Some(t("The passkey is added: after your password, signing in now offers it.")));
        load();
        Ok(())
    });
    let on_add_passkey = move |event: SubmitEvent| {
        event.prevent_default();
        run(add_passkey);
    };
    let remove_passkey = move |passkey: PasskeyInfo| {
        change(page, move || {
            let name = passkey.name.clone();
            async move {
                api::call("DELETE", &format!("/account/security/passkeys/{}", passkey.id), None).await?;
                page.notice.set(Some(tf("The passkey {name} is removed.", &[("name", &name)])));
                load();
                Ok(())
            }
        })
    };
    let cancel_reset = move || {
        leptos::task::spawn_local(async move {
            match api::call("DELETE", "/account/security/reset", None).await {
                Ok(_) => {
                    page.notice.set(Some(t("The reset is cancelled. Change your password if you did not ask for it.")));
                    load();
                }
                Err(failure) => page.error.set(Some(failure.message)),
            }
        });
    };
    let totp_on = move || overview.get().is_some_and(|overview| overview.totp_since.is_some());
    let on =
        move || overview.get().is_some_and(|overview| overview.totp_since.is_some() || !overview.passkeys.is_empty());
    let passkey_row = move |passkey: PasskeyInfo| {
        let label = tf("Remove the passkey {name}", &[("name", &passkey.name)]);
        let used = match passkey.last_used_at {
            Some(at) => tf("last used {time}", &[("time", &local_time(at))]),
            None => t("not used yet"),
        };
        let added = tf("added {time}", &[("time", &local_time(passkey.created_at))]);
        let remove = remove_passkey(passkey.clone());
        view! {
            <li class="passkey">
                <div>
                    <strong>{passkey.name.clone()}</strong>
                    <p class="muted">{added}" · "{used}</p>
                </div>
                <button type="button" class="button ghost remove-passkey" aria-label=label on:click=move |_| run(remove)>{t("Remove")}</button>
            </li>
        }
    };

    view! {
        <div class="panel" id="two-step">
            <h2>{t("Two-step verification")}</h2>
            <p class="muted">{t("After your password, signing in also asks for a second proof: a passkey or security key, or a code from an authenticator app on your phone (such as Aegis, FreeOTP or Google Authenticator). It protects your account's sessions; your mail stays locked by your password as before.")}</p>
            <p class="status" id="two-step-status">{move || match overview.get() {
                None => t("Loading…"),
                Some(overview) if overview.totp_since.is_some() || !overview.passkeys.is_empty() => {
                    tf("On. Recovery codes left: {count}", &[("count", &overview.recovery_codes_left.to_string())])
                }
                Some(_) => t("Off."),
            }}</p>
            {move || overview.get().and_then(|overview| overview.reset_ready_at).map(|ready_at| view! {
                <div class="warning" id="reset-pending" role="alert">
                    <p>{tf("Someone who knows your password asked to reset two-step verification. The code mailed to your recovery address works from {date}. If it was not you, cancel the reset and change your password.", &[("date", &local_time(ready_at))])}</p>
                    <button type="button" class="button danger" id="reset-cancel" on:click=move |_| cancel_reset()>{t("Cancel the reset")}</button>
                </div>
            })}
            <h3>{t("Authenticator app")}</h3>
            <div class="actions" hidden=move || totp_on() || setup.get().is_some()>
                <button type="button" class="button primary" id="totp-start" on:click=move |_| run(start)>{t("Set up an authenticator app")}</button>
            </div>
            {move || setup.get().map(|setup| view! {
                <form class="totp-setup" on:submit=on_confirm>
                    <p>{t("Scan this code with your authenticator app, or type the key into it. Then enter the 6-digit code the app shows.")}</p>
                    <div class="qr" aria-label=t("QR code for your authenticator app") inner_html=qr_svg(&setup.uri)></div>
                    <p class="secret">{t("Key:")}" "<code id="totp-secret">{grouped(&setup.secret)}</code></p>
                    <label for="totp-code">{t("Code from the app")}</label>
                    <input id="totp-code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="8"
                        prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                    <div class="actions">
                        <button type="submit" class="button primary" id="totp-confirm">{t("Turn on")}</button>
                    </div>
                </form>
            })}
            {move || codes.get().map(|list| {
                let for_download = list.clone();
                view! {
                    <div class="recovery-codes" id="recovery-codes">
                        <h3>{t("Your recovery codes")}</h3>
                        <p>{t("Keep these somewhere safe, apart from your phone. Each one signs you in once if you lose the app. They are shown only now.")}</p>
                        <ul class="codes">{list.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}</ul>
                        <div class="actions">
                            <button type="button" class="button secondary" on:click=move |_| download_codes(&for_download)>{t("Download")}</button>
                            <button type="button" class="button ghost" id="codes-saved" on:click=move |_| codes.set(None)>{t("I have saved them")}</button>
                        </div>
                    </div>
                }
            })}
            <div class="actions" hidden=move || !totp_on()>
                <button type="button" class="button danger-ghost" id="totp-off" on:click=move |_| run(turn_off)>{t("Turn off the authenticator app")}</button>
            </div>
            <h3>{t("Passkeys and security keys")}</h3>
            <p class="muted">{t("A passkey on this device (fingerprint, face or PIN) or a security key such as a YubiKey, in place of a code. Add one per device.")}</p>
            <ul class="passkeys" id="passkeys">{move || overview.get().map(|overview| overview.passkeys.into_iter().map(passkey_row).collect_view())}</ul>
            <form class="inline-form" id="passkey-add" on:submit=on_add_passkey>
                <label for="passkey-name">{t("Name")}</label>
                <input id="passkey-name" type="text" maxlength="64" placeholder=this_browser
                    prop:value=move || passkey_name.get() on:input=move |ev| passkey_name.set(event_target_value(&ev))/>
                <button type="submit" class="button secondary" id="passkey-start" disabled=move || adding.get()>
                    {move || if adding.get() { t("Waiting for the passkey…") } else { t("Add a passkey") }}
                </button>
            </form>
            <div class="actions" hidden=move || !on()>
                <button type="button" class="button secondary" id="recovery-new" on:click=move |_| run(new_codes)>{t("New recovery codes")}</button>
            </div>
        </div>
    }
}

#[component]
fn SessionsPanel(page: Page) -> impl IntoView {
    let sessions = RwSignal::new(None::<Sessions>);
    let load = move || {
        leptos::task::spawn_local(async move {
            match api::json::<Sessions>("GET", "/account/sessions", None).await {
                Ok(loaded) => sessions.set(Some(loaded)),
                Err(failure) => page.error.set(Some(failure.message)),
            }
        })
    };
    Effect::new(move |_| {
        page.sessions_changed.track();
        load();
    });
    let end = move |id: String| {
        leptos::task::spawn_local(async move {
            match api::call("DELETE", &format!("/account/sessions/{id}"), None).await {
                Ok(_) => {
                    page.notice.set(Some(t("That session is signed out. Its browser deletes what it kept of your mail at its next contact.")));
                    load();
                }
                Err(failure) => page.error.set(Some(failure.message)),
            }
        });
    };
    let end_others = change(page, move || async move {
        api::call("POST", "/account/sessions/revoke-others", None).await?;
        page.notice.set(Some(t("Every other session is signed out.")));
        load();
        Ok(())
    });
    let set_idle = move |minutes: u32| {
        leptos::task::spawn_local(async move {
            let body = serde_json::json!({ "idle_minutes": minutes });
            match api::json::<Sessions>("PUT", "/account/sessions/idle", Some(body)).await {
                Ok(loaded) => sessions.set(Some(loaded)),
                Err(failure) => page.error.set(Some(failure.message)),
            }
        });
    };
    let row = move |session: SessionInfo| {
        let id = session.id.clone();
        let browser = describe_user_agent(&session.user_agent);
        view! {
            <li class="session" class:current=session.current data-id=session.id.clone()>
                <div>
                    <strong>{browser.clone()}</strong>
                    {session.current.then(|| view! { <span class="badge">{t("This browser")}</span> })}
                    <p class="muted">{tf("{ip} · signed in {started} · last seen {seen}", &[
                        ("ip", &match &session.country {
                            Some(country) => format!("{} ({})", session.ip, crate::history::country_name(country)),
                            None => session.ip.clone(),
                        }),
                        ("started", &local_time(session.started_at)),
                        ("seen", &local_time(session.last_seen_at)),
                    ])}</p>
                </div>
                {(!session.current).then(|| {
                    let label = tf("Sign out this session: {browser}, {ip}", &[("browser", &browser), ("ip", &session.ip)]);
                    view! {
                        <button type="button" class="button ghost end-session" aria-label=label
                            on:click=move |_| end(id.clone())>{t("Sign out")}</button>
                    }
                })}
            </li>
        }
    };
    let idle_label = |minutes: u32| match minutes {
        0 => t("Never (only the lifetime)"),
        minutes if minutes % 60 == 0 => tf("{count} h", &[("count", &(minutes / 60).to_string())]),
        minutes => tf("{count} min", &[("count", &minutes.to_string())]),
    };
    view! {
        <div class="panel" id="sessions">
            <div class="panel-header">
                <h2>{t("Sessions")}</h2>
                <button type="button" class="button danger-ghost" id="end-others" on:click=move |_| run(end_others)>{t("Sign out everywhere else")}</button>
            </div>
            <p class="muted">{t("Every browser signed in to your account. Signing one out also deletes, at its next contact, the copy of your mail it kept.")}</p>
            <ul class="sessions">{move || sessions.get().map(|list| list.sessions.into_iter().map(row).collect_view())}</ul>
            {move || sessions.get().map(|list| {
                let current = list.idle_minutes;
                view! {
                    <label for="idle-minutes">{t("Sign out a browser that was not kept signed in after being idle for")}</label>
                    <select id="idle-minutes" on:change=move |ev| {
                        if let Ok(minutes) = event_target_value(&ev).parse() {
                            set_idle(minutes);
                        }
                    }>
                        {list.idle_choices.iter().map(|&minutes| view! {
                            <option value=minutes.to_string() selected=minutes == current>{idle_label(minutes)}</option>
                        }).collect_view()}
                    </select>
                    <p class="hint">{tf("Every session ends after {hours} hours in any case.", &[("hours", &list.lifetime_hours.to_string())])}</p>
                }
            })}
        </div>
    }
}
