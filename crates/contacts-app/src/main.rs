//! Plico's Contacts app: a Leptos binary of its own, which the mail app's shell imports at
//! `/contacts` and mounts into its page (`mount`), so the mail app does not carry it and the
//! user does not unlock twice. It has no secrets: each command goes as postcard bytes to the
//! function the shell hands it, which passes it through the crypto worker to the contacts worker
//! (`plico_api::contacts`).

mod backend;
mod i18n;
mod model;
mod views;

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

thread_local! {
    /// The mounted app; dropping it unmounts.
    static MOUNTED: RefCell<Option<Box<dyn std::any::Any>>> = const { RefCell::new(None) };
}

/// Mounts the app into `root`. `call` takes a `ContactsCommand` as postcard bytes and returns a
/// promise of the `ContactsReply`'s bytes. `compose` opens the mail composer to an address.
/// `catalog` and `lang`: the mail app's texts in the user's language, and its code.
#[wasm_bindgen]
pub fn mount(
    root: web_sys::HtmlElement,
    call: js_sys::Function,
    compose: js_sys::Function,
    catalog: JsValue,
    lang: String,
) {
    console_error_panic_hook::set_once();
    unmount();
    i18n::set(catalog, lang);
    let backend = backend::Backend::new(call, compose);
    let handle = leptos::mount::mount_to(root, move || leptos::view! { <views::ContactsApp backend=backend.clone()/> });
    MOUNTED.with(|mounted| *mounted.borrow_mut() = Some(Box::new(handle)));
}

/// Takes the app out of the page (the shell calls it when the user leaves Contacts).
#[wasm_bindgen]
pub fn unmount() {
    let handle = MOUNTED.with(|mounted| mounted.borrow_mut().take());
    drop(handle);
}

fn main() {}
