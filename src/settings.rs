//! The Settings app's place in the mail app: `/settings`, inside the shell, which imports the
//! Settings app's own binary (`crates/settings-app`) the first time it opens and mounts it, as
//! Contacts is loaded. The mail app carries this loader and what the Settings app needs of the
//! crypto worker: proving the password again (re-authentication) and changing it.

use leptos::prelude::*;
use plico_api::worker::{SessionCommand, WorkerOutcome};
use wasm_bindgen::prelude::*;

use crate::apps;
use crate::i18n::t;
use crate::session::use_session;

/// trunk writes the Settings app's module (wasm-bindgen's `web` target) under its binary name.
const SETTINGS_APP_URL: &str = "/plico-settings-app.js";

async fn mount(host: web_sys::HtmlElement, session: crate::session::Session) -> Result<(), String> {
    let worker = session.worker.with_value(|worker| worker.clone())?;
    let module = apps::module(SETTINGS_APP_URL).await?;
    // The password goes to the crypto worker, which proves it to the server (OPAQUE); the
    // Settings app only learns whether it was right.
    // Changing the password goes the same way: the keys worker seals the key anew. So does a
    // change to the account's keys (a `KeyCommand`, postcard, passed on unread). Each answers
    // with the error's code and message, "code: message".
    let worker_call = Closure::<dyn Fn(String, Option<bool>, JsValue) -> js_sys::Promise>::new(
        move |password: String, sign_out_others: Option<bool>, keys: JsValue| {
            let worker = worker.clone();
            wasm_bindgen_futures::future_to_promise(async move {
                let command = match (sign_out_others, keys.dyn_ref::<js_sys::Uint8Array>()) {
                    (_, Some(keys)) => SessionCommand::AccountKeys(keys.to_vec()),
                    (None, None) => SessionCommand::Reauthenticate { password },
                    (Some(sign_out_others), None) => SessionCommand::ChangePassword { password, sign_out_others },
                };
                match worker.call(command, |_| {}).await {
                    Ok(WorkerOutcome::Reauthenticated) => Ok(JsValue::UNDEFINED),
                    Ok(_) => Err(JsValue::from_str(&t("The worker answered something unexpected."))),
                    Err(failure) => Err(JsValue::from_str(&format!("{}: {}", failure.code, failure.message))),
                }
            })
        },
    );
    let args = js_sys::Array::of4(
        &host,
        worker_call.as_ref(),
        &crate::i18n::catalog(),
        &JsValue::from_str(crate::i18n::lang().code()),
    );
    apps::function(&module, "mount")?.apply(&JsValue::NULL, &args).map_err(apps::describe)?;
    // Kept while mounted; each visit leaks one small closure.
    worker_call.forget();
    Ok(())
}

/// `/settings`.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let host = NodeRef::<leptos::html::Div>::new();
    let (error, set_error) = signal(None::<String>);
    let session = use_session();
    Effect::new(move |_| {
        if let Some(element) = host.get() {
            let element: web_sys::HtmlElement = element.into();
            leptos::task::spawn_local(async move {
                if let Err(message) = mount(element, session).await {
                    set_error.set(Some(format!("{} {message}", t("The Settings app could not be loaded:"))));
                }
            });
        }
    });
    on_cleanup(|| apps::unmount(SETTINGS_APP_URL));
    view! {
        <crate::mail::Shell apps_only=true>
            <crate::ui::ErrorText message=error/>
            <div class="settings-host" node_ref=host></div>
        </crate::mail::Shell>
    }
}
