//! The Contacts app's texts in the user's language: the mail app hands over the catalog it
//! loaded (`public/i18n/<code>.json`, English text → translation) and the language's code when it
//! mounts this app, so nothing is fetched twice. The mail app's catalog test reads the texts
//! marked here too (`t`, `tf`, `n`), and fails when a catalog lacks one.

use std::cell::RefCell;

use wasm_bindgen::JsValue;

thread_local! {
    static CATALOG: RefCell<JsValue> = const { RefCell::new(JsValue::UNDEFINED) };
    static LANG: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The catalog (an object, or undefined for English) and the language's code.
pub fn set(catalog: JsValue, lang: String) {
    CATALOG.with(|current| *current.borrow_mut() = catalog);
    LANG.with(|current| *current.borrow_mut() = lang);
}

/// `english` in the user's language; English itself when the catalog lacks it.
pub fn t(english: &str) -> String {
    CATALOG
        .with(|catalog| {
            let catalog = catalog.borrow();
            if !catalog.is_object() {
                return None;
            }
            js_sys::Reflect::get(&catalog, &JsValue::from_str(english)).ok().and_then(|value| value.as_string())
        })
        .unwrap_or_else(|| english.to_owned())
}

/// Marks a text for the catalogs that is translated later, with `t`.
pub const fn n(english: &'static str) -> &'static str {
    english
}

/// `t` with `{named}` holes filled.
pub fn tf(english: &str, args: &[(&str, &str)]) -> String {
    let mut text = t(english);
    for (name, value) in args {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

/// `one` or `other` by the language's plural rule (French counts 0 as one), `{count}` filled.
pub fn tp(count: usize, one: &str, other: &str) -> String {
    let french = LANG.with(|lang| lang.borrow().as_str() == "fr");
    let singular = if french { count <= 1 } else { count == 1 };
    tf(if singular { one } else { other }, &[("count", &count.to_string())])
}
