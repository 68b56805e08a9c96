//! Plico's Settings app: a Leptos binary of its own, which the mail app's shell imports at
//! `/settings` and mounts into its page (`mount`), so the mail app does not carry it. Security
//! today (issue 23): the authenticator app as a second factor, recovery codes, and the sessions
//! that hold the account. It talks to the API itself (same-origin, the session cookie) and to
//! the crypto worker only through the one function the shell hands it: proving the password
//! again, which the worker does with OPAQUE, so the password never reaches this app's requests.

mod api;
mod history;
// The Contacts app's, shared as source: both speak from the mail app's catalog.
#[path = "../../contacts-app/src/i18n.rs"]
#[allow(dead_code)]
mod i18n;
mod keys;
mod recovery;
mod views;
// The mail app's passkey ceremonies (it signs in with them; this app registers them).
#[path = "../../../src/webauthn.rs"]
#[allow(dead_code)]
mod webauthn;

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

thread_local! {
    /// The mounted app; dropping it unmounts.
    static MOUNTED: RefCell<Option<Box<dyn std::any::Any>>> = const { RefCell::new(None) };
}

/// Mounts the app into `root`. `worker(password)` returns a promise that resolves when the
/// password was proven again, `worker(password, sign_out_others)` when it was changed to
/// `password`; each rejects with "code: message" otherwise. `catalog` and `lang`: the
/// mail app's texts in the user's language, and its code.
#[wasm_bindgen]
pub fn mount(root: web_sys::HtmlElement, worker: js_sys::Function, catalog: JsValue, lang: String) {
    console_error_panic_hook::set_once();
    unmount();
    i18n::set(catalog, lang);
    let worker = views::WorkerCalls::new(worker);
    let handle = leptos::mount::mount_to(root, move || leptos::view! { <views::SettingsApp worker=worker.clone()/> });
    MOUNTED.with(|mounted| *mounted.borrow_mut() = Some(Box::new(handle)));
}

/// Takes the app out of the page (the shell calls it when the user leaves Settings).
#[wasm_bindgen]
pub fn unmount() {
    let handle = MOUNTED.with(|mounted| mounted.borrow_mut().take());
    drop(handle);
}

fn main() {}
