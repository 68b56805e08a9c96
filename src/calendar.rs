//! The Calendar app's place in the mail app: `/calendar`, inside the shell, which imports the
//! Calendar app's own binary (`crates/calendar-app`) the first time it opens and mounts it, as
//! Contacts is loaded. Its commands go as bytes through the crypto worker and the contacts worker
//! (which keeps the item key and starts the calendar worker) to the calendar worker.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

use crate::apps;
use crate::i18n::t;
use crate::session::use_session;

/// trunk writes the Calendar app's module (wasm-bindgen's `web` target) under its binary name.
const CALENDAR_APP_URL: &str = "/plico-calendar-app.js";

/// `ContactsCommand::Calendar(bytes)`, written by hand so that the mail app carries none of the
/// contacts protocol's serde code: its tag, the length as postcard's varint, the bytes. The
/// contacts worker passes them on to the calendar worker.
fn through_contacts(bytes: Vec<u8>) -> Vec<u8> {
    let mut command = vec![plico_api::contacts::CALENDAR_TAG];
    let mut length = bytes.len();
    while length >= 0x80 {
        command.push(length as u8 | 0x80);
        length >>= 7;
    }
    command.push(length as u8);
    command.extend(bytes);
    command
}

async fn mount(host: web_sys::HtmlElement, session: crate::session::Session) -> Result<(), String> {
    let worker = session.worker.with_value(|worker| worker.clone())?;
    let module = apps::module(CALENDAR_APP_URL).await?;
    let call = Closure::<dyn Fn(js_sys::Uint8Array) -> js_sys::Promise>::new(move |bytes: js_sys::Uint8Array| {
        let worker = worker.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            worker
                .contacts_bytes(through_contacts(bytes.to_vec()))
                .await
                .map(|reply| js_sys::Uint8Array::from(reply.as_slice()).into())
                .map_err(|message| JsValue::from_str(&message))
        })
    });
    let args = js_sys::Array::of4(
        &host,
        call.as_ref(),
        &crate::i18n::catalog(),
        &JsValue::from_str(crate::i18n::lang().code()),
    );
    apps::function(&module, "mount")?.apply(&JsValue::NULL, &args).map_err(apps::describe)?;
    // Kept while mounted; each visit leaks one small closure.
    call.forget();
    Ok(())
}

/// `/calendar`.
#[component]
pub fn CalendarPage() -> impl IntoView {
    let host = NodeRef::<leptos::html::Div>::new();
    let (error, set_error) = signal(None::<String>);
    let session = use_session();
    Effect::new(move |_| {
        if let Some(element) = host.get() {
            let element: web_sys::HtmlElement = element.into();
            leptos::task::spawn_local(async move {
                if let Err(message) = mount(element, session).await {
                    set_error.set(Some(format!("{} {message}", t("The Calendar app could not be loaded:"))));
                }
            });
        }
    });
    on_cleanup(|| apps::unmount(CALENDAR_APP_URL));
    view! {
        <crate::mail::Shell apps_only=true current="calendar">
            <crate::ui::ErrorText message=error/>
            <div class="calendar-host" node_ref=host></div>
        </crate::mail::Shell>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_calendar_command_goes_as_the_contacts_protocol_writes_it() {
        for length in [0, 5, 127, 128, 300, 70_000] {
            let bytes = vec![3u8; length];
            let written = plico_api::worker::encode(&plico_api::contacts::ContactsCommand::Calendar(bytes.clone()))
                .expect("encodes");
            assert_eq!(super::through_contacts(bytes), written, "{length} bytes");
        }
    }
}
