//! The other apps' binaries as the mail app's shell loads them (Contacts, Settings): each is an
//! ES module trunk builds beside this one, imported the first time its page opens, kept for the
//! next visit, and asked to `mount` into the page and `unmount` when the user leaves.

use std::cell::RefCell;
use std::collections::HashMap;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(inline_js = "export function importModule(url) { return import(url); }")]
extern "C" {
    /// A dynamic `import()`, which Rust cannot write.
    #[wasm_bindgen(js_name = importModule)]
    fn import_module(url: &str) -> js_sys::Promise;
}

thread_local! {
    /// Each app's module once imported and started, by URL.
    static MODULES: RefCell<HashMap<&'static str, JsValue>> = RefCell::new(HashMap::new());
}

/// A thrown JavaScript value as text.
pub fn describe(error: JsValue) -> String {
    error
        .as_string()
        .or_else(|| error.dyn_ref::<js_sys::Error>().map(|error| String::from(error.message())))
        .unwrap_or_else(|| "unknown error".into())
}

/// The module's exported function `name`.
pub fn function(module: &JsValue, name: &str) -> Result<js_sys::Function, String> {
    js_sys::Reflect::get(module, &name.into())
        .ok()
        .and_then(|value| value.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| format!("the app has no {name}"))
}

/// The app at `url`, imported and its wasm started (once).
pub async fn module(url: &'static str) -> Result<JsValue, String> {
    if let Some(module) = MODULES.with(|modules| modules.borrow().get(url).cloned()) {
        return Ok(module);
    }
    let module = wasm_bindgen_futures::JsFuture::from(import_module(url)).await.map_err(describe)?;
    let init = function(&module, "default")?;
    let started = init.call0(&JsValue::NULL).map_err(describe)?;
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&started)).await.map_err(describe)?;
    MODULES.with(|modules| modules.borrow_mut().insert(url, module.clone()));
    Ok(module)
}

/// Takes the app at `url` out of the page, if it was loaded.
pub fn unmount(url: &'static str) {
    if let Some(module) = MODULES.with(|modules| modules.borrow().get(url).cloned()) {
        if let Ok(unmount) = function(&module, "unmount") {
            let _ = unmount.call0(&JsValue::NULL);
        }
    }
}
