//! Plico's Calendar app: a Leptos binary of its own, which the mail app's shell imports at
//! `/calendar` and mounts into its page (`mount`), so the mail app does not carry it. It has no
//! secrets: each command goes as postcard bytes to the function the shell hands it, which passes
//! it through the crypto and contacts workers to the calendar worker (`plico_api::calendar`).

mod backend;
mod days;
// The Contacts app's, shared as source: both speak from the mail app's catalog.
#[path = "../../contacts-app/src/i18n.rs"]
#[allow(dead_code)]
mod i18n;
mod views;

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

thread_local! {
    /// The mounted app; dropping it unmounts.
    static MOUNTED: RefCell<Option<Box<dyn std::any::Any>>> = const { RefCell::new(None) };
}

/// Mounts the app into `root`. `call` takes a `CalendarCommand` as postcard bytes and returns a
/// promise of the `CalendarReply`'s bytes. `catalog` and `lang`: the mail app's texts in the
/// user's language, and its code.
#[wasm_bindgen]
pub fn mount(root: web_sys::HtmlElement, call: js_sys::Function, catalog: JsValue, lang: String) {
    console_error_panic_hook::set_once();
    unmount();
    i18n::set(catalog, lang.clone());
    let backend = backend::Backend::new(call);
    let handle = leptos::mount::mount_to(root, move || {
        leptos::view! { <views::CalendarApp backend=backend.clone() lang=lang.clone()/> }
    });
    MOUNTED.with(|mounted| *mounted.borrow_mut() = Some(Box::new(handle)));
}

/// Takes the app out of the page (the shell calls it when the user leaves the calendar).
#[wasm_bindgen]
pub fn unmount() {
    let handle = MOUNTED.with(|mounted| mounted.borrow_mut().take());
    drop(handle);
}

fn main() {}
