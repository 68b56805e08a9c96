//! The composer's address fields: as the user types, contacts whose name, address or group
//! starts with the last address being written are offered below the field (the contacts
//! worker answers from its index, see `plico_contacts::complete`). Arrow keys move, Enter or Tab
//! takes one, Escape closes; a group puts in each member's address.

use leptos::prelude::*;
use plico_api::contacts::{MailContactsCommand, MailContactsOutcome, SuggestionView};

use crate::i18n::tf;
use crate::session::use_session;

/// The last address being typed: what follows the last comma or semicolon.
fn last_part(text: &str) -> &str {
    text.rsplit([',', ';']).next().unwrap_or_default().trim_start()
}

/// `text` with its last address replaced by `addresses`, ready for the next one.
fn with_chosen(text: &str, addresses: &[String]) -> String {
    let kept = match text.rfind([',', ';']) {
        Some(at) => format!("{}, ", text[..at].trim_end()),
        None => String::new(),
    };
    format!("{kept}{}, ", addresses.join(", "))
}

#[component]
pub fn RecipientInput(id: &'static str, value: RwSignal<String>) -> impl IntoView {
    let session = use_session();
    let suggestions = RwSignal::new(Vec::<SuggestionView>::new());
    let active = RwSignal::new(0usize);
    // Answers can arrive out of order; only the latest typing's answer shows.
    let asked = StoredValue::new(0u32);
    let list_id = format!("{id}-suggestions");
    let option_id = move |index: usize| format!("{id}-suggestion-{index}");
    let suggest = move |text: String| {
        let typed = last_part(&text).to_owned();
        asked.update_value(|n| *n += 1);
        let ticket = asked.get_value();
        if typed.is_empty() {
            suggestions.set(Vec::new());
            return;
        }
        leptos::task::spawn_local(async move {
            let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
            let found = worker.contacts(&MailContactsCommand::Complete { typed, limit: 8 }).await;
            if asked.try_get_value() != Some(ticket) {
                return;
            }
            let found = match found {
                Ok(MailContactsOutcome::Suggestions(found)) => found,
                _ => Vec::new(),
            };
            crate::ui::set_alive(active, 0);
            crate::ui::set_alive(suggestions, found);
        });
    };
    let choose = move |index: usize| {
        let Some(chosen) = suggestions.with_untracked(|list| list.get(index).cloned()) else { return };
        let addresses = match chosen {
            SuggestionView::Address { address, .. } => vec![address],
            SuggestionView::Group { addresses, .. } => addresses,
        };
        value.update(|text| *text = with_chosen(text, &addresses));
        suggestions.set(Vec::new());
    };
    let on_keydown = move |event: leptos::ev::KeyboardEvent| {
        let count = suggestions.with_untracked(Vec::len);
        if count == 0 {
            return;
        }
        match event.key().as_str() {
            "ArrowDown" => {
                event.prevent_default();
                active.update(|index| *index = (*index + 1) % count);
            }
            "ArrowUp" => {
                event.prevent_default();
                active.update(|index| *index = (*index + count - 1) % count);
            }
            "Enter" | "Tab" => {
                event.prevent_default();
                choose(active.get_untracked());
            }
            "Escape" => {
                event.prevent_default();
                suggestions.set(Vec::new());
            }
            _ => {}
        }
    };
    let list_id_for_input = list_id.clone();
    view! {
        <div class="recipient-field">
            <input id=id type="text" autocomplete="off" spellcheck="false" role="combobox"
                aria-autocomplete="list" aria-controls=list_id_for_input
                aria-expanded=move || if suggestions.with(Vec::is_empty) { "false" } else { "true" }
                aria-activedescendant=move || (!suggestions.with(Vec::is_empty)).then(|| option_id(active.get()))
                prop:value=move || value.get()
                on:input=move |event| { let text = event_target_value(&event); value.set(text.clone()); suggest(text) }
                on:keydown=on_keydown
                on:blur=move |_| suggestions.set(Vec::new())/>
            <ul id=list_id class="suggestions" role="listbox" hidden=move || suggestions.with(Vec::is_empty)>
                {move || {
                    let active = active.get();
                    suggestions.get().into_iter().enumerate().map(|(index, suggestion)| {
                        let (title, detail) = match suggestion {
                            SuggestionView::Address { name, address } => if name.is_empty() { (address, String::new()) } else { (name, address) },
                            SuggestionView::Group { name, addresses } => {
                                let count = addresses.len().to_string();
                                (name, tf("Group: {count} addresses", &[("count", &count)]))
                            }
                        };
                        view! {
                            <li id=option_id(index) role="option" class="suggestion" aria-selected=if active == index { "true" } else { "false" }
                                on:mousedown=move |event| { event.prevent_default(); choose(index) }>
                                <span class="suggestion-name">{title}</span>
                                <span class="suggestion-detail">{detail}</span>
                            </li>
                        }
                    }).collect_view()
                }}
            </ul>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_address_is_replaced_and_the_others_kept() {
        assert_eq!(last_part("ada@example.org, gr"), "gr");
        assert_eq!(last_part("gr"), "gr");
        assert_eq!(last_part("a@x.org;"), "");
        assert_eq!(
            with_chosen("ada@example.org, gr", &["grace@example.org".into()]),
            "ada@example.org, grace@example.org, "
        );
        assert_eq!(with_chosen("fri", &["a@x.org".into(), "b@x.org".into()]), "a@x.org, b@x.org, ");
    }
}
