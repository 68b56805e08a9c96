//! Gmail-like keyboard shortcuts, one listener on the window for the whole app.
//!
//! The keys act on what is on screen: `r`, `a`, `f`, `e` and `#` press the reader's button that
//! carries the same `data-shortcut`, so a shortcut can do nothing the page could not, and every
//! shortcut has a button to discover it by (its `aria-keyshortcuts` and title name the key).
//! `j` and `k` open the next and previous row of the list. Keys typed into a text field are the
//! field's; a key with Ctrl, Alt or Meta is the browser's. `?` opens the help, which also
//! switches them off; that choice stays on this device.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::i18n::{n, t};
use crate::router::Navigator;
use crate::session::Session;

/// Every shortcut and what it does, as the help lists them.
pub const SHORTCUTS: [(&str, &str); 11] = [
    ("c", n("Compose a new message")),
    ("r", n("Reply")),
    ("a", n("Reply all")),
    ("f", n("Forward")),
    ("j", n("Open the next message")),
    ("k", n("Open the previous message")),
    ("e", n("Archive the open message")),
    ("#", n("Delete the open message")),
    ("/", n("Search")),
    ("?", n("Show the keyboard shortcuts")),
    ("Esc", n("Close this help")),
];

use crate::consent::SHORTCUTS_OFF_KEY as OFF_KEY;

/// Whether shortcuts are on, and whether the help shows.
#[derive(Clone, Copy)]
pub struct Shortcuts {
    pub enabled: RwSignal<bool>,
    pub help_open: RwSignal<bool>,
}

pub fn use_shortcuts() -> Shortcuts {
    use_context::<Shortcuts>().unwrap_or_else(|| panic!("Shortcuts context is provided by App"))
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|window| window.local_storage().ok().flatten())
}

/// Switches shortcuts on or off; the choice outlives the page with the Preferences consent.
pub fn set_enabled(shortcuts: Shortcuts, consent: crate::consent::Consent, on: bool) {
    shortcuts.enabled.set(on);
    consent.remember(OFF_KEY, (!on).then_some("off"));
}

/// What a key press does, from the key alone; `None` for keys that are not shortcuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    Compose,
    Search,
    Help,
    Next,
    Previous,
    /// Presses the button whose `data-shortcut` is this key.
    Press(&'static str),
}

pub fn action_for(key: &str) -> Option<KeyAction> {
    Some(match key {
        "c" => KeyAction::Compose,
        "/" => KeyAction::Search,
        "?" => KeyAction::Help,
        "j" => KeyAction::Next,
        "k" => KeyAction::Previous,
        "r" => KeyAction::Press("r"),
        "a" => KeyAction::Press("a"),
        "f" => KeyAction::Press("f"),
        "e" => KeyAction::Press("e"),
        "#" => KeyAction::Press("#"),
        _ => return None,
    })
}

/// True when the key belongs to what has focus: text fields, lists, editable content.
fn typing(target: Option<web_sys::EventTarget>) -> bool {
    let Some(element) = target.and_then(|target| target.dyn_into::<web_sys::HtmlElement>().ok()) else {
        return false;
    };
    if element.is_content_editable() {
        return true;
    }
    match element.tag_name().as_str() {
        "TEXTAREA" | "SELECT" => true,
        "INPUT" => !matches!(
            element.get_attribute("type").unwrap_or_default().as_str(),
            "checkbox" | "radio" | "button" | "submit" | "reset"
        ),
        _ => false,
    }
}

/// Opens the row `step` rows away from the open one (the first row when none is open).
fn step_row(document: &web_sys::Document, step: i32) {
    let Ok(rows) = document.query_selector_all(".message-row") else { return };
    let count = rows.length() as i32;
    if count == 0 {
        return;
    }
    let current = (0..count).find(|&index| {
        rows.item(index as u32)
            .and_then(|node| node.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|row| row.class_list().contains("selected"))
    });
    let next = match current {
        Some(index) => (index + step).clamp(0, count - 1),
        None => 0,
    };
    if let Some(row) = rows.item(next as u32).and_then(|node| node.dyn_into::<web_sys::HtmlElement>().ok()) {
        row.click();
        let _ = row.focus();
    }
}

/// Installs the listener. Shortcuts work only while signed in.
pub fn provide_shortcuts(session: Session, navigator: Navigator) {
    let enabled = storage().and_then(|storage| storage.get_item(OFF_KEY).ok().flatten()).is_none();
    let shortcuts = Shortcuts { enabled: RwSignal::new(enabled), help_open: RwSignal::new(false) };
    provide_context(shortcuts);
    let Some(window) = web_sys::window() else { return };
    let listener =
        wasm_bindgen::closure::Closure::<dyn Fn(web_sys::KeyboardEvent)>::new(move |event: web_sys::KeyboardEvent| {
            if event.default_prevented() || event.ctrl_key() || event.alt_key() || event.meta_key() {
                return;
            }
            if !shortcuts.enabled.get_untracked()
                || shortcuts.help_open.get_untracked()
                || session.identity.with_untracked(Option::is_none)
                || typing(event.target())
            {
                return;
            }
            let Some(action) = action_for(&event.key()) else { return };
            let Some(document) = web_sys::window().and_then(|window| window.document()) else { return };
            event.prevent_default();
            match action {
                KeyAction::Compose => navigator.go("/compose"),
                KeyAction::Help => shortcuts.help_open.set(true),
                KeyAction::Search => {
                    if let Some(input) = document
                        .get_element_by_id("search-input")
                        .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok())
                    {
                        let _ = input.focus();
                    }
                }
                KeyAction::Next => step_row(&document, 1),
                KeyAction::Previous => step_row(&document, -1),
                KeyAction::Press(key) => {
                    if let Some(button) = document
                        .query_selector(&format!("[data-shortcut=\"{key}\"]:not([disabled])"))
                        .ok()
                        .flatten()
                        .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok())
                    {
                        button.click();
                    }
                }
            }
        });
    let _ = window.add_event_listener_with_callback("keydown", listener.as_ref().unchecked_ref());
    listener.forget();
}

/// The help: every shortcut, and the switch. A modal `<dialog>`: it keeps focus inside, closes
/// on Esc, and gives focus back to where it was.
#[component]
pub fn ShortcutHelp() -> impl IntoView {
    let shortcuts = use_shortcuts();
    let consent = crate::consent::use_consent();
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        let open = shortcuts.help_open.get();
        if let Some(dialog) = dialog.get() {
            if open && !dialog.open() {
                let _ = dialog.show_modal();
            } else if !open && dialog.open() {
                dialog.close();
            }
        }
    });
    view! {
        <dialog node_ref=dialog class="shortcut-help" aria-labelledby="shortcut-help-title"
            on:close=move |_| shortcuts.help_open.set(false)>
            <h2 id="shortcut-help-title">{t("Keyboard shortcuts")}</h2>
            <label class="check">
                <input type="checkbox" prop:checked=move || shortcuts.enabled.get()
                    on:change=move |event| set_enabled(shortcuts, consent, event_target_checked(&event))/>
                <span>{t("Use keyboard shortcuts")}</span>
            </label>
            <dl class="shortcut-list" class:off=move || !shortcuts.enabled.get()>
                {SHORTCUTS.iter().map(|(key, what)| view! {
                    <div><dt><kbd>{*key}</kbd></dt><dd>{t(what)}</dd></div>
                }).collect_view()}
            </dl>
            <p class="hint">{t("Shortcuts do nothing while you type in a field.")}</p>
            {move || (!consent.granted(plico_api::privacy::ConsentCategory::Preferences)).then(|| view! {
                <p class="hint">{t("Switching them off lasts until the page closes. To keep such choices, allow Preferences in the cookie settings.")}</p>
            })}
            <button type="button" class="button primary" on:click=move |_| shortcuts.help_open.set(false)>{t("Close")}</button>
        </dialog>
    }
}

/// The topbar's way to the help, for those who do not know `?`.
#[component]
pub fn ShortcutButton() -> impl IntoView {
    let shortcuts = use_shortcuts();
    view! {
        <button type="button" class="button ghost small shortcut-button" aria-keyshortcuts="?"
            title=move || t("Keyboard shortcuts (?)") on:click=move |_| shortcuts.help_open.set(true)>
            <span aria-hidden="true">"⌨"</span>
            <span class="visually-hidden">{t("Keyboard shortcuts")}</span>
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::{action_for, KeyAction, SHORTCUTS};

    #[test]
    fn every_listed_key_but_escape_does_something() {
        for (key, _) in SHORTCUTS {
            if key != "Esc" {
                assert!(action_for(key).is_some(), "{key} is listed but does nothing");
            }
        }
        assert_eq!(action_for("#"), Some(KeyAction::Press("#")));
        assert_eq!(action_for("x"), None);
        assert_eq!(action_for("C"), None, "Shift+c is not c");
    }
}
