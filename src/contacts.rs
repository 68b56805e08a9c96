//! The Contacts app's place in the mail app: the `/contacts` page inside the shell, which
//! imports the Contacts app's own binary (`crates/contacts-app`, built by trunk beside this one)
//! the first time it is opened, and mounts it. The mail app carries this loader and nothing of
//! contacts; the Contacts app reaches the contacts worker through the crypto worker this page
//! already holds, so there is no second unlock.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

use crate::apps;
use crate::i18n::t;
use crate::session::use_session;

/// trunk writes the Contacts app's module (wasm-bindgen's `web` target) under its binary name.
const CONTACTS_APP_URL: &str = "/plico-contacts-app.js";

/// `MailContactsCommand::Complete { typed: "", limit: 0 }` in postcard bytes, written out so that
/// the warm-up costs the mail app no serde code (a test holds it equal).
const WARM_UP: &[u8] = &[0, 0, 0];

/// Mounts the Contacts app into `host`, handing it the way to the contacts worker and to the
/// composer.
async fn mount(
    host: web_sys::HtmlElement,
    session: crate::session::Session,
    navigator: crate::router::Navigator,
    mail: crate::mail::Mail,
) -> Result<(), String> {
    let worker = session.worker.with_value(|worker| worker.clone())?;
    // The contacts worker starts and syncs while the app's module loads (nothing typed asks
    // for nothing else).
    let warm = worker.clone();
    leptos::task::spawn_local(async move {
        let _ = warm.contacts_bytes(WARM_UP.to_vec()).await;
    });
    let module = apps::module(CONTACTS_APP_URL).await?;
    let call = Closure::<dyn Fn(js_sys::Uint8Array) -> js_sys::Promise>::new(move |bytes: js_sys::Uint8Array| {
        let worker = worker.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            worker
                .contacts_bytes(bytes.to_vec())
                .await
                .map(|reply| js_sys::Uint8Array::from(reply.as_slice()).into())
                .map_err(|message| JsValue::from_str(&message))
        })
    });
    let compose = Closure::<dyn Fn(String)>::new(move |address: String| {
        mail.compose_seed.set(Some(crate::mail::ComposeSeed { to: address, ..Default::default() }));
        navigator.go("/compose");
    });
    let args = js_sys::Array::of5(
        &host,
        call.as_ref(),
        compose.as_ref(),
        &crate::i18n::catalog(),
        &JsValue::from_str(crate::i18n::lang().code()),
    );
    apps::function(&module, "mount")?.apply(&JsValue::NULL, &args).map_err(apps::describe)?;
    // The app keeps both for as long as it is mounted; it is mounted again on each visit, so
    // each visit leaks two small closures (a few hundred bytes).
    call.forget();
    compose.forget();
    Ok(())
}

/// `/contacts`.
#[component]
pub fn ContactsPage() -> impl IntoView {
    let host = NodeRef::<leptos::html::Div>::new();
    let (error, set_error) = signal(None::<String>);
    let (loading, set_loading) = signal(true);
    // Contexts are read here: the mount runs after an await, outside the component.
    let (session, navigator, mail) = (use_session(), crate::router::use_navigator(), crate::mail::use_mail());
    Effect::new(move |_| {
        if let Some(element) = host.get() {
            let element: web_sys::HtmlElement = element.into();
            leptos::task::spawn_local(async move {
                if let Err(message) = mount(element, session, navigator, mail).await {
                    set_error.set(Some(format!("{} {message}", t("The Contacts app could not be loaded:"))));
                }
                set_loading.set(false);
            });
        }
    });
    on_cleanup(|| apps::unmount(CONTACTS_APP_URL));
    view! {
        <crate::mail::Shell apps_only=true current="contacts">
            {move || loading.get().then(|| view! { <p class="hint contacts-loading" role="status">{t("Opening your contacts…")}</p> })}
            <crate::ui::ErrorText message=error/>
            <div class="contacts-host" node_ref=host></div>
        </crate::mail::Shell>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_warm_up_is_an_empty_completion() {
        let command = plico_api::contacts::MailContactsCommand::Complete { typed: String::new(), limit: 0 };
        assert_eq!(plico_api::worker::encode(&command).expect("encodes"), super::WARM_UP);
    }
}
