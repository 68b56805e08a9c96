//! The UI's five languages, gettext-style: the English text in the code is the key, and each
//! other language is a catalog, `public/i18n/<code>.json`, mapping English to its translation.
//!
//! The catalogs are fetched, not compiled in: four languages of strings would cost the UI binary
//! more than its size budget allows, and a user needs one. The service worker precaches them
//! with the shell, so the app speaks the user's language offline too. English needs no catalog.
//!
//! `t` translates a fixed text, `tf` one with `{named}` holes, and `n` marks a text that is
//! translated later (a table's entry). A native test reads every `t`, `tf` and `n` in `src/`
//! and fails when a catalog lacks one, has one the code no longer uses, or drops a hole.
//!
//! Dates and numbers are formatted by the browser's `Intl` for the chosen language.

use leptos::prelude::*;

/// A language the UI speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
    De,
    Nl,
    Sv,
}

impl Lang {
    pub const ALL: [Lang; 5] = [Lang::En, Lang::Fr, Lang::De, Lang::Nl, Lang::Sv];

    /// The BCP 47 tag, and the catalog's name.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::De => "de",
            Lang::Nl => "nl",
            Lang::Sv => "sv",
        }
    }

    /// The language's own name, never translated: a user lost in a language finds theirs.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::De => "Deutsch",
            Lang::Nl => "Nederlands",
            Lang::Sv => "Svenska",
        }
    }

    /// The language of a tag such as `fr-CA` or `SV`; `None` for a language Plico lacks.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        Lang::ALL.into_iter().find(|lang| lang.code() == primary)
    }

    /// What separates a number's whole part from its decimals.
    pub fn decimal_separator(self) -> char {
        match self {
            Lang::En => '.',
            Lang::Fr | Lang::De | Lang::Nl | Lang::Sv => ',',
        }
    }
}

/// The first of the user's preferred languages that Plico speaks; English when none is.
pub fn negotiate<'a>(preferred: impl IntoIterator<Item = &'a str>) -> Lang {
    preferred.into_iter().find_map(Lang::parse).unwrap_or(Lang::En)
}

/// `template` with each `{name}` replaced by its value.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Marks `english` for the catalogs where it is not translated at once: `t(value)` later.
pub const fn n(english: &'static str) -> &'static str {
    english
}

/// `english` in the current language; English itself when the catalog lacks it.
pub fn t(english: &str) -> String {
    #[cfg(target_arch = "wasm32")]
    if let Some(translated) = runtime::lookup(english) {
        return translated;
    }
    english.to_owned()
}

/// `t` with holes: `tf("{count} selected", &[("count", &count)])`.
pub fn tf(english: &str, args: &[(&str, &str)]) -> String {
    fill(&t(english), args)
}

/// `one` or `other` by the current language's plural rule (French counts 0 as one), with
/// `{count}` filled. Both are marked with `n` for the catalogs.
pub fn tp(count: u64, one: &str, other: &str) -> String {
    let singular = match lang() {
        Lang::Fr => count <= 1,
        _ => count == 1,
    };
    tf(if singular { one } else { other }, &[("count", &number(count))])
}

/// The current catalog, for the Contacts app (`crate::contacts`); undefined for English.
pub fn catalog() -> wasm_bindgen::JsValue {
    #[cfg(target_arch = "wasm32")]
    return runtime::catalog();
    #[cfg(not(target_arch = "wasm32"))]
    wasm_bindgen::JsValue::UNDEFINED
}

/// The current language.
pub fn lang() -> Lang {
    #[cfg(target_arch = "wasm32")]
    return runtime::CURRENT.with(std::cell::Cell::get);
    #[cfg(not(target_arch = "wasm32"))]
    Lang::En
}

/// A whole number as the current language writes it ("10,000", "10 000", "10.000").
pub fn number(value: u64) -> String {
    #[cfg(target_arch = "wasm32")]
    return String::from(js_sys::Number::from(value as f64).to_locale_string(lang().code()));
    #[cfg(not(target_arch = "wasm32"))]
    value.to_string()
}

/// The language as a signal: the app renders again when it changes.
#[derive(Clone, Copy)]
pub struct I18n {
    pub lang: RwSignal<Lang>,
}

pub fn use_i18n() -> I18n {
    use_context::<I18n>().unwrap_or_else(|| panic!("I18n context is provided by App"))
}

/// Where the user's choice is kept on this device, with the Preferences consent only
/// ([`crate::consent::PREFERENCE_KEYS`]).
pub const CHOICE_KEY: &str = "plico.lang";

/// Picks the language (the user's earlier choice, else the browser's) and loads its catalog.
/// Runs before the app mounts, so the first screen is already in the user's language.
pub async fn start() {
    #[cfg(target_arch = "wasm32")]
    {
        let chosen =
            runtime::storage().and_then(|s| s.get_item(CHOICE_KEY).ok().flatten()).and_then(|tag| Lang::parse(&tag));
        let lang = chosen.unwrap_or_else(runtime::browser_lang);
        if runtime::load(lang).await.is_err() {
            // Without its catalog the app still works, in English.
            let _ = runtime::load(Lang::En).await;
        }
    }
}

/// Switches to `lang`, its catalog loaded first. Remembering the choice on this device is the
/// caller's, under the Preferences consent ([`CHOICE_KEY`]).
pub async fn switch(i18n: I18n, lang: Lang) -> Result<(), String> {
    #[cfg(target_arch = "wasm32")]
    runtime::load(lang).await?;
    i18n.lang.set(lang);
    Ok(())
}

#[cfg(target_arch = "wasm32")]
mod runtime {
    use std::cell::{Cell, RefCell};

    use wasm_bindgen::{JsCast, JsValue};

    use super::Lang;

    thread_local! {
        pub static CURRENT: Cell<Lang> = const { Cell::new(Lang::En) };
        static CATALOG: RefCell<JsValue> = const { RefCell::new(JsValue::UNDEFINED) };
    }

    /// The current catalog (undefined for English), for the Contacts app, which speaks the
    /// same language from the same catalog.
    pub fn catalog() -> JsValue {
        CATALOG.with(|catalog| catalog.borrow().clone())
    }

    pub fn lookup(english: &str) -> Option<String> {
        CATALOG.with(|catalog| {
            let catalog = catalog.borrow();
            if !catalog.is_object() {
                return None;
            }
            js_sys::Reflect::get(&catalog, &JsValue::from_str(english)).ok().and_then(|value| value.as_string())
        })
    }

    pub fn storage() -> Option<web_sys::Storage> {
        web_sys::window().and_then(|window| window.local_storage().ok().flatten())
    }

    pub fn browser_lang() -> Lang {
        let Some(window) = web_sys::window() else { return Lang::En };
        let languages: Vec<String> =
            window.navigator().languages().iter().filter_map(|value| value.as_string()).collect();
        super::negotiate(languages.iter().map(String::as_str))
    }

    /// Fetches `lang`'s catalog and makes it current.
    pub async fn load(lang: Lang) -> Result<(), String> {
        let catalog = if lang == Lang::En { JsValue::UNDEFINED } else { fetch_catalog(lang).await? };
        CATALOG.with(|current| *current.borrow_mut() = catalog);
        CURRENT.with(|current| current.set(lang));
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("lang", lang.code());
        }
        Ok(())
    }

    async fn fetch_catalog(lang: Lang) -> Result<JsValue, String> {
        let failed = || super::tf("The texts for {language} could not be loaded.", &[("language", lang.name())]);
        let window = web_sys::window().ok_or_else(failed)?;
        let response =
            wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(&format!("/i18n/{}.json", lang.code())))
                .await
                .map_err(|_| failed())?;
        let response: web_sys::Response = response.dyn_into().map_err(|_| failed())?;
        if !response.ok() {
            return Err(failed());
        }
        let text =
            wasm_bindgen_futures::JsFuture::from(response.text().map_err(|_| failed())?).await.map_err(|_| failed())?;
        let text = text.as_string().ok_or_else(failed)?;
        js_sys::JSON::parse(&text).map_err(|_| failed())
    }
}

/// Every text the code marks for translation, from Rust source: the first argument of each
/// `t("…")`, `tf("…"` and `n("…")`, wherever rustfmt breaks the line. Plain string literals only.
#[cfg(test)]
pub fn marked_texts(source: &str) -> Vec<String> {
    let bytes = source.as_bytes();
    let mut found = Vec::new();
    for marker in ["t(", "tf(", "n("] {
        let mut from = 0;
        while let Some(at) = source[from..].find(marker).map(|offset| from + offset) {
            from = at + marker.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || b"_.\"".contains(&bytes[at - 1])) {
                continue;
            }
            let rest = source[from..].trim_start();
            let Some(literal) = rest.strip_prefix('"') else { continue };
            from = source.len() - literal.len();
            let mut text = String::new();
            let mut chars = literal.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => text.push('\n'),
                        Some('\n') => {
                            // A continued line: the next line's indentation is not part of it.
                            let rest: String = chars.clone().collect();
                            let skipped = rest.len() - rest.trim_start().len();
                            for _ in 0..rest[..skipped].chars().count() {
                                chars.next();
                            }
                        }
                        Some(other) => text.push(other),
                        None => break,
                    },
                    c => text.push(c),
                }
            }
            found.push(text);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::{fill, marked_texts, negotiate, Lang};
    use std::collections::BTreeSet;

    fn sources(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                out.push(std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }

    /// Every text the UI shows: the marked ones in `src/`, and the worker's stage sentences.
    fn every_text() -> BTreeSet<String> {
        let mut files = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        sources(&root.join("src"), &mut files);
        // The Contacts app speaks from the same catalogs.
        sources(&root.join("crates/contacts-app/src"), &mut files);
        sources(&root.join("crates/settings-app/src"), &mut files);
        sources(&root.join("crates/calendar-app/src"), &mut files);
        let mut texts: BTreeSet<String> = files.iter().flat_map(|source| marked_texts(source)).collect();
        use plico_api::worker::{IndexProgress, WorkerStage};
        let progress = IndexProgress { done: 0, total: 0, seconds_left: 0, oldest: None };
        for stage in [
            WorkerStage::StretchingPassword,
            WorkerStage::GeneratingKeys,
            WorkerStage::SealingKeys,
            WorkerStage::Uploading,
            WorkerStage::UnlockingKeys,
            WorkerStage::Encrypting,
            WorkerStage::UploadingMessage(0),
            WorkerStage::Sending,
            WorkerStage::Indexing(progress),
            WorkerStage::Exporting { done: 0, total: 0 },
            WorkerStage::ProvingWork { done: 0, total: 0 },
        ] {
            texts.insert(stage.describe().to_owned());
        }
        texts
    }

    fn holes(text: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let Some(end) = rest[start..].find('}') else { break };
            found.insert(rest[start..start + end + 1].to_owned());
            rest = &rest[start + end + 1..];
        }
        found
    }

    #[test]
    fn the_extractor_reads_the_markers_as_the_code_writes_them() {
        let source =
            "t(\"One\") tf(\"Two {x}\", &[]) n(\"Th\\\"ree\") format!(\"no\") at(\"no\") t(\"Four \\\n      five\")";
        assert_eq!(marked_texts(source), ["One", "Four five", "Two {x}", "Th\"ree"]);
    }

    #[test]
    fn every_catalog_has_every_text_and_nothing_else() {
        let texts = every_text();
        assert!(texts.len() > 300, "only {} texts found: is the extractor broken?", texts.len());
        let mut problems = Vec::new();
        for lang in Lang::ALL.into_iter().filter(|lang| *lang != Lang::En) {
            let path =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("public/i18n/{}.json", lang.code()));
            let catalog: std::collections::BTreeMap<String, String> =
                match std::fs::read_to_string(&path).map(|text| serde_json::from_str(&text)) {
                    Ok(Ok(catalog)) => catalog,
                    other => panic!("{}: {other:?}", path.display()),
                };
            for text in &texts {
                match catalog.get(text) {
                    None => problems.push(format!("{}: missing {text:?}", lang.code())),
                    Some(translated) if translated.trim().is_empty() => {
                        problems.push(format!("{}: empty {text:?}", lang.code()))
                    }
                    Some(translated) if holes(translated) != holes(text) => {
                        problems.push(format!("{}: {translated:?} has not the holes of {text:?}", lang.code()))
                    }
                    Some(_) => {}
                }
            }
            for key in catalog.keys().filter(|key| !texts.contains(*key)) {
                problems.push(format!("{}: {key:?} is not used by the code", lang.code()));
            }
        }
        assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    }

    #[test]
    fn the_browser_languages_pick_the_first_plico_speaks() {
        assert_eq!(negotiate(["ja", "fr-CA", "de"]), Lang::Fr);
        assert_eq!(negotiate(["SV-se"]), Lang::Sv);
        assert_eq!(negotiate(["nl_BE"]), Lang::Nl);
        assert_eq!(negotiate(["ja", "zh"]), Lang::En);
        assert_eq!(negotiate([]), Lang::En);
        assert_eq!(Lang::parse("english"), None);
    }

    #[test]
    fn holes_are_filled_by_name() {
        assert_eq!(fill("{count} of {total}", &[("total", "9"), ("count", "3")]), "3 of 9");
        assert_eq!(fill("no holes", &[("count", "3")]), "no holes");
    }
}
