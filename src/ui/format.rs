//! How the UI writes dates and fingerprints, the same on every page.

/// Unix seconds as a local date.
pub fn local_date(seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(seconds as f64 * 1000.0));
    String::from(date.to_locale_date_string(crate::i18n::lang().code(), &wasm_bindgen::JsValue::UNDEFINED))
}

/// Groups a hex fingerprint for reading aloud (shared with the Contacts app and the worker).
pub use plico_api::group_fingerprint;
