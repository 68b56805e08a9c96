//! The Contacts app's screens: groups and actions on the side, the list with search and the
//! alphabet jump, and a contact's page or its editor.

use leptos::prelude::*;
use plico_api::contacts::{ContactFields, ContactRow, ContactsCommand, ContactsOutcome, Labeled, PostalAddress};
use plico_api::worker::{KeyringEntry, KeyringSource};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::backend::Backend;
use crate::i18n::{n, t, tf, tp};
use crate::model;

/// How many rows the list renders before "Show more": 10,000 rows at once would hold the first
/// screen up for the whole list.
const PAGE: usize = 200;

/// What the right-hand side shows.
#[derive(Clone, PartialEq)]
enum Pane {
    Empty,
    /// A contact's page: its id, fields, and since when it is in the recovery area.
    Contact {
        id: String,
        fields: ContactFields,
        deleted_at: Option<i64>,
    },
    /// The editor: the contact's id (`None` for a new one) and the fields it started from.
    Edit {
        id: Option<String>,
        fields: ContactFields,
    },
}

#[derive(Clone, Copy)]
struct State {
    rows: RwSignal<Vec<ContactRow>>,
    refused: RwSignal<Vec<String>>,
    loaded: RwSignal<bool>,
    deleted_view: RwSignal<bool>,
    query: RwSignal<String>,
    group: RwSignal<Option<String>>,
    shown: RwSignal<usize>,
    checked: RwSignal<Vec<String>>,
    pane: RwSignal<Pane>,
    notice: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
    report: RwSignal<Option<(u32, Vec<String>)>>,
    busy: RwSignal<bool>,
    backend: StoredValue<Backend, LocalStorage>,
}

impl State {
    fn backend(&self) -> Backend {
        self.backend.get_value()
    }

    fn say(&self, notice: Option<String>, error: Option<String>) {
        self.notice.set(notice);
        self.error.set(error);
    }

    fn reload(self) {
        leptos::task::spawn_local(async move {
            let deleted = self.deleted_view.get_untracked();
            match self.backend().ask(ContactsCommand::List { deleted }).await {
                Ok(ContactsOutcome::Rows { rows, refused }) => {
                    self.rows.set(rows);
                    self.refused.set(refused);
                    self.loaded.set(true);
                    let alive = self.rows.with_untracked(|rows| rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>());
                    self.checked.update(|checked| checked.retain(|id| alive.contains(id)));
                }
                Ok(_) => self.error.set(Some(t(UNEXPECTED))),
                Err(message) => {
                    self.loaded.set(true);
                    self.error.set(Some(message));
                }
            }
        });
    }

    fn open(self, id: String) {
        leptos::task::spawn_local(async move {
            match self.backend().ask(ContactsCommand::Get { id }).await {
                Ok(ContactsOutcome::Contact { id, fields, deleted_at, .. }) => {
                    self.pane.set(Pane::Contact { id, fields: *fields, deleted_at })
                }
                Ok(_) => self.error.set(Some(t(UNEXPECTED))),
                Err(message) => self.error.set(Some(message)),
            }
        });
    }

    fn delete(self, ids: Vec<String>, recover: bool) {
        let count = ids.len();
        leptos::task::spawn_local(async move {
            match self.backend().ask(ContactsCommand::Delete { ids, recover }).await {
                Ok(_) => {
                    self.say(
                        Some(if recover {
                            tp(count, n("Restored {count} contact."), n("Restored {count} contacts."))
                        } else {
                            tp(
                                count,
                                n("Moved {count} contact to Recently deleted, where you can restore it for 45 days."),
                                n("Moved {count} contacts to Recently deleted, where you can restore them for 45 days."),
                            )
                        }),
                        None,
                    );
                    self.checked.set(Vec::new());
                    self.pane.set(Pane::Empty);
                    self.reload();
                }
                Err(message) => self.error.set(Some(message)),
            }
        });
    }
}

/// The labels (vCard `TYPE`) the editor offers.
const EMAIL_LABELS: &[&str] = &["", n("home"), n("work"), n("other")];
const PHONE_LABELS: &[&str] = &["", n("cell"), n("home"), n("work"), n("fax"), n("other")];

const UNEXPECTED: &str = n("The contacts worker answered something unexpected.");

#[component]
pub fn ContactsApp(backend: Backend) -> impl IntoView {
    let state = State {
        rows: RwSignal::new(Vec::new()),
        refused: RwSignal::new(Vec::new()),
        loaded: RwSignal::new(false),
        deleted_view: RwSignal::new(false),
        query: RwSignal::new(String::new()),
        group: RwSignal::new(None),
        shown: RwSignal::new(PAGE),
        checked: RwSignal::new(Vec::new()),
        pane: RwSignal::new(Pane::Empty),
        notice: RwSignal::new(None),
        error: RwSignal::new(None),
        report: RwSignal::new(None),
        busy: RwSignal::new(false),
        backend: StoredValue::new_local(backend),
    };
    state.reload();
    // `/contacts/<id>` (a search result) opens that contact.
    let asked = web_sys::window().and_then(|window| window.location().pathname().ok());
    if let Some(id) = asked.as_deref().and_then(model::contact_in_path) {
        state.open(id);
    }
    view! {
        <div class="contacts-app">
            <Side state/>
            <List state/>
            <section class="contact-pane" aria-label=t("Contact")>
                {move || state.notice.get().map(|notice| view! { <p class="notice" role="status">{notice}</p> })}
                {move || state.error.get().map(|error| view! { <p class="error" role="alert">{error}</p> })}
                <Report state/>
                {move || match state.pane.get() {
                    Pane::Empty => view! {
                        <div class="empty-state contact-empty">
                            <p>{move || if state.rows.with(Vec::is_empty) && state.loaded.get() && !state.deleted_view.get() {
                                t("No contacts yet. Create one, import a .vcf file, or add a sender from a message.")
                            } else {
                                t("Choose a contact to see it here.")
                            }}</p>
                        </div>
                    }.into_any(),
                    Pane::Contact { id, fields, deleted_at } => view! { <ContactPage state id fields deleted_at/> }.into_any(),
                    Pane::Edit { id, fields } => view! { <Editor state id fields/> }.into_any(),
                }}
            </section>
        </div>
    }
}

/// Groups, the recovery area, and the app's actions.
#[component]
fn Side(state: State) -> impl IntoView {
    let import = move |event: leptos::ev::Event| {
        let Some(input) = event.target().and_then(|target| target.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
        input.set_value("");
        state.say(None, None);
        state.report.set(None);
        state.busy.set(true);
        leptos::task::spawn_local(async move {
            let text = wasm_bindgen_futures::JsFuture::from(file.text()).await.ok().and_then(|text| text.as_string());
            let result = match text {
                None => Err(tf("{file} could not be read as text.", &[("file", &file.name())])),
                Some(vcf) => state.backend().ask(ContactsCommand::Import { vcf }).await,
            };
            match result {
                Ok(ContactsOutcome::Imported { saved, problems }) => {
                    state.report.set(Some((saved, problems)));
                    state.reload();
                }
                Ok(_) => state.error.set(Some(t(UNEXPECTED))),
                Err(message) => state.error.set(Some(message)),
            }
            state.busy.set(false);
        });
    };
    let export = move |_| {
        state.say(None, None);
        leptos::task::spawn_local(async move {
            let ids = state.checked.get_untracked();
            match state.backend().ask(ContactsCommand::Export { ids }).await {
                Ok(ContactsOutcome::Exported { vcf, count }) => match download("contacts.vcf", &vcf) {
                    Ok(()) => state.notice.set(Some(tp(
                        count as usize,
                        n("Exported {count} contact as contacts.vcf (vCard 4)."),
                        n("Exported {count} contacts as contacts.vcf (vCard 4)."),
                    ))),
                    Err(message) => state.error.set(Some(message)),
                },
                Ok(_) => state.error.set(Some(t(UNEXPECTED))),
                Err(message) => state.error.set(Some(message)),
            }
        });
    };
    let choose = move |group: Option<String>, deleted: bool| {
        state.group.set(group);
        state.shown.set(PAGE);
        if state.deleted_view.get_untracked() != deleted {
            state.deleted_view.set(deleted);
            state.checked.set(Vec::new());
            state.pane.set(Pane::Empty);
            state.reload();
        }
    };
    view! {
        <nav class="contacts-side" aria-label=t("Contact groups")>
            <button type="button" class="button primary" on:click=move |_| {
                state.say(None, None);
                state.pane.set(Pane::Edit { id: None, fields: ContactFields::default() });
            }>{t("New contact")}</button>
            <ul>
                <li><button type="button" class="folder-link" aria-current=move || (!state.deleted_view.get() && state.group.get().is_none()).then_some("page")
                    on:click=move |_| choose(None, false)>
                    <span>{t("All contacts")}</span>
                    <span class="count">{move || if state.deleted_view.get() { String::new() } else { state.rows.with(Vec::len).to_string() }}</span>
                </button></li>
                {move || (!state.deleted_view.get()).then(|| state.rows.with(|rows| model::groups(rows)).into_iter().map(|(group, count)| {
                    let current = group.clone();
                    let chosen = group.clone();
                    view! {
                        <li><button type="button" class="folder-link group-link" aria-current=move || (state.group.get().as_deref() == Some(current.as_str())).then_some("page")
                            on:click=move |_| choose(Some(chosen.clone()), false)>
                            <span>{group}</span><span class="count">{count}</span>
                        </button></li>
                    }
                }).collect_view())}
                <li><button type="button" class="folder-link" aria-current=move || state.deleted_view.get().then_some("page")
                    on:click=move |_| choose(None, true)><span>{t("Recently deleted")}</span></button></li>
            </ul>
            <div class="contacts-actions">
                <label class="button ghost file-button">
                    {t("Import .vcf")}
                    <input type="file" accept=".vcf,text/vcard,text/x-vcard" class="visually-hidden" on:change=import/>
                </label>
                <button type="button" class="button ghost" on:click=export disabled=move || state.deleted_view.get()>
                    {move || if state.checked.with(Vec::is_empty) { t("Export all") } else { tf("Export {count} selected", &[("count", &state.checked.with(Vec::len).to_string())]) }}
                </button>
                {move || state.busy.get().then(|| view! { <p class="hint" role="status">{t("Importing…")}</p> })}
            </div>
        </nav>
    }
}

/// The import report: how many cards were saved, and each one that was not, with why.
#[component]
fn Report(state: State) -> impl IntoView {
    move || {
        state.report.get().map(|(saved, problems)| {
            let summary = match (saved, problems.len()) {
                (saved, 0) => tp(saved as usize, n("Imported {count} contact."), n("Imported {count} contacts.")),
                (saved, failed) => format!(
                    "{} {}",
                    tp(saved as usize, n("Imported {count} contact."), n("Imported {count} contacts.")),
                    tp(failed, n("{count} card could not be read:"), n("{count} cards could not be read:"))
                ),
            };
            view! {
                <div class="import-report" role="status">
                    <p>{summary}</p>
                    <ul>{problems.into_iter().map(|problem| view! { <li>{problem}</li> }).collect_view()}</ul>
                    <button type="button" class="button ghost small" on:click=move |_| state.report.set(None)>{t("Close")}</button>
                </div>
            }
        })
    }
}

/// A contact's initial, or its photo.
fn avatar(name: &str, photo: Option<String>) -> AnyView {
    match photo.filter(|photo| !photo.is_empty()) {
        Some(photo) => view! { <img class="contact-avatar" src=photo alt=""/> }.into_any(),
        None => {
            let letter = model::letter(name);
            view! { <span class="contact-avatar" aria-hidden="true">{letter.to_string()}</span> }.into_any()
        }
    }
}

#[component]
fn List(state: State) -> impl IntoView {
    let visible = Memo::new(move |_| {
        let query = state.query.get();
        let group = state.group.get();
        state.rows.with(|rows| model::visible(rows, &query, group.as_deref()).into_iter().cloned().collect::<Vec<_>>())
    });
    let jump = move |letter: char| {
        let index = visible.with_untracked(|rows| rows.iter().position(|row| model::letter(&row.name) == letter));
        if let Some(index) = index {
            if index >= state.shown.get_untracked() {
                state.shown.set(index + PAGE);
            }
            // After the rows render.
            leptos::task::spawn_local(async move {
                let element = web_sys::window()
                    .and_then(|window| window.document())
                    .and_then(|document| document.get_element_by_id(&format!("contacts-letter-{letter}")));
                if let Some(element) = element {
                    let options = web_sys::ScrollIntoViewOptions::new();
                    options.set_block(web_sys::ScrollLogicalPosition::Start);
                    element.scroll_into_view_with_scroll_into_view_options(&options);
                }
            });
        }
    };
    let merge = move |_| {
        let ids = state.checked.get_untracked();
        state.say(None, None);
        leptos::task::spawn_local(async move {
            let count = ids.len();
            match state.backend().ask(ContactsCommand::Merge { ids }).await {
                Ok(ContactsOutcome::Saved { id }) => {
                    state.say(Some(tf("Merged {count} contacts into one.", &[("count", &count.to_string())])), None);
                    state.checked.set(Vec::new());
                    state.reload();
                    state.open(id);
                }
                Ok(_) => state.error.set(Some(t(UNEXPECTED))),
                Err(message) => state.error.set(Some(message)),
            }
        });
    };
    view! {
        <section class="contacts-list" aria-label=t("Contact list")>
            <div class="contacts-search">
                <label class="visually-hidden" for="contacts-search">{t("Search contacts")}</label>
                <input id="contacts-search" type="search" placeholder=t("Search contacts") autocomplete="off"
                    prop:value=move || state.query.get()
                    on:input=move |event| { state.query.set(event_target_value(&event)); state.shown.set(PAGE); }/>
            </div>
            {move || {
                let checked = state.checked.with(Vec::len);
                (checked > 0).then(|| view! {
                    <div class="selection-bar" role="toolbar" aria-label=t("Selected contacts")>
                        <span>{tf("{count} selected", &[("count", &checked.to_string())])}</span>
                        {move || (!state.deleted_view.get() && checked >= 2).then(|| view! {
                            <button type="button" class="button ghost small" on:click=merge>{t("Merge")}</button>
                        })}
                        {move || if state.deleted_view.get() {
                            view! { <button type="button" class="button ghost small" on:click=move |_| state.delete(state.checked.get_untracked(), true)>{t("Restore")}</button> }.into_any()
                        } else {
                            view! { <button type="button" class="button danger-ghost small" on:click=move |_| state.delete(state.checked.get_untracked(), false)>{t("Delete")}</button> }.into_any()
                        }}
                        <button type="button" class="button ghost small" on:click=move |_| state.checked.set(Vec::new())>{t("Clear")}</button>
                    </div>
                })
            }}
            <div class="contacts-columns">
                <ul class="contact-rows">
                    {move || {
                        if !state.loaded.get() {
                            return view! { <li class="hint">{t("Opening your contacts…")}</li> }.into_any();
                        }
                        let rows = visible.get();
                        if rows.is_empty() {
                            let text = if state.deleted_view.get() {
                                n("Nothing was deleted in the last 45 days.")
                            } else if state.query.with(|q| q.trim().is_empty()) {
                                n("No contacts here.")
                            } else {
                                n("No contact matches.")
                            };
                            return view! { <li class="hint">{t(text)}</li> }.into_any();
                        }
                        let shown = state.shown.get().min(rows.len());
                        let total = rows.len();
                        let mut last = None;
                        let now = (js_sys::Date::now() / 1000.0) as i64;
                        let items = rows.into_iter().take(shown).map(|row| {
                            let letter = model::letter(&row.name);
                            let anchor = (last != Some(letter)).then(|| format!("contacts-letter-{letter}"));
                            last = Some(letter);
                            let id = row.id.clone();
                            let id_check = row.id.clone();
                            let id_checked = row.id.clone();
                            let id_current = row.id.clone();
                            let name = if row.name.is_empty() { row.emails.first().cloned().unwrap_or_default() } else { row.name.clone() };
                            let second = match row.deleted_at {
                                Some(at) => {
                                    let days = model::days_left(at, now) as usize;
                                    tp(days, n("{count} day left to restore"), n("{count} days left to restore"))
                                }
                                None => row.emails.first().cloned().or_else(|| row.phones.first().cloned()).unwrap_or_default(),
                            };
                            let label = tf("Select {name}", &[("name", &name)]);
                            view! {
                                <li class="contact-row" id=anchor class:selected=move || matches!(state.pane.get(), Pane::Contact { ref id, .. } | Pane::Edit { id: Some(ref id), .. } if *id == id_current)>
                                    <input type="checkbox" aria-label=label
                                        prop:checked=move || state.checked.with(|checked| checked.contains(&id_checked))
                                        on:change=move |_| state.checked.update(|checked| {
                                            match checked.iter().position(|c| *c == id_check) {
                                                Some(index) => { checked.remove(index); }
                                                None => checked.push(id_check.clone()),
                                            }
                                        })/>
                                    <button type="button" class="contact-open" on:click=move |_| { state.say(None, None); state.open(id.clone()) }>
                                        {avatar(&name, None)}
                                        <span class="contact-names">
                                            <span class="contact-name">{name.clone()}</span>
                                            <span class="contact-second">{second}</span>
                                        </span>
                                    </button>
                                </li>
                            }
                        }).collect_view();
                        view! {
                            {items}
                            {(shown < total).then(|| view! {
                                <li><button type="button" class="button ghost small show-more" on:click=move |_| state.shown.update(|shown| *shown += PAGE)>
                                    {tf("Show more ({shown} of {total} shown)", &[("shown", &shown.to_string()), ("total", &total.to_string())])}
                                </button></li>
                            })}
                        }.into_any()
                    }}
                </ul>
                <nav class="alphabet" aria-label=t("Jump to a letter")>
                    {move || {
                        let letters = visible.with(|rows| model::letters(&rows.iter().collect::<Vec<_>>()));
                        letters.into_iter().map(|letter| view! {
                            <button type="button" aria-label=tf("Jump to {letter}", &[("letter", &letter.to_string())]) on:click=move |_| jump(letter)>{letter.to_string()}</button>
                        }).collect_view()
                    }}
                </nav>
            </div>
            {move || state.refused.with(|refused| (!refused.is_empty()).then(|| view! {
                <div class="error refused" role="alert">
                    <p>{t("Some contacts were not shown: they did not open with your key, so they were changed on the server or written by someone else.")}</p>
                    <ul>{refused.iter().map(|why| view! { <li>{why.clone()}</li> }).collect_view()}</ul>
                </div>
            }))}
        </section>
    }
}

fn labeled_list(title: &'static str, items: Vec<Labeled>, link: fn(&str) -> String) -> impl IntoView {
    (!items.is_empty()).then(|| {
        view! {
            <div class="contact-field">
                <h3>{t(title)}</h3>
                <ul>{items.into_iter().map(|item| {
                    let href = link(&item.value);
                    view! {
                        <li>
                            <a href=href>{item.value.clone()}</a>
                            {(!item.label.is_empty()).then(|| view! { <span class="label-chip">{t(&item.label)}</span> })}
                        </li>
                    }
                }).collect_view()}</ul>
            </div>
        }
    })
}

fn postal(address: &PostalAddress) -> String {
    let locality = [address.postcode.as_str(), address.locality.as_str()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    [address.street.as_str(), locality.as_str(), address.region.as_str(), address.country.as_str()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[component]
fn ContactPage(state: State, id: String, fields: ContactFields, deleted_at: Option<i64>) -> impl IntoView {
    let backend = state.backend();
    let edit_fields = fields.clone();
    let edit_id = id.clone();
    let delete_id = id.clone();
    let subtitle = [fields.title.as_str(), fields.organization.as_str()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let emails = fields.emails.clone();
    view! {
        <article class="contact-page">
            <header class="contact-header">
                {avatar(&fields.name, Some(fields.photo.clone()))}
                <div>
                    <h2>{fields.name.clone()}</h2>
                    {(!subtitle.is_empty()).then(|| view! { <p class="hint">{subtitle}</p> })}
                </div>
            </header>
            <div class="contact-buttons">
                {match deleted_at {
                    Some(_) => view! {
                        <button type="button" class="button primary" on:click=move |_| state.delete(vec![delete_id.clone()], true)>{t("Restore")}</button>
                    }.into_any(),
                    None => view! {
                        {emails.first().map(|email| {
                            let address = email.value.clone();
                            view! { <button type="button" class="button primary" on:click=move |_| backend.compose(&address)>{t("Write")}</button> }
                        })}
                        <button type="button" class="button ghost" on:click=move |_| {
                            state.say(None, None);
                            state.pane.set(Pane::Edit { id: Some(edit_id.clone()), fields: edit_fields.clone() });
                        }>{t("Edit")}</button>
                        <button type="button" class="button danger-ghost" on:click=move |_| state.delete(vec![delete_id.clone()], false)>{t("Delete")}</button>
                    }.into_any(),
                }}
            </div>
            {labeled_list(n("Email"), fields.emails.clone(), |value| format!("mailto:{value}"))}
            {labeled_list(n("Phone"), fields.phones.clone(), |value| format!("tel:{}", value.replace(' ', "")))}
            {(!fields.addresses.is_empty()).then(|| view! {
                <div class="contact-field">
                    <h3>{t("Address")}</h3>
                    <ul>{fields.addresses.iter().map(|address| view! {
                        <li><span class="postal">{postal(address)}</span>
                            {(!address.label.is_empty()).then(|| view! { <span class="label-chip">{t(&address.label)}</span> })}</li>
                    }).collect_view()}</ul>
                </div>
            })}
            {(!fields.birthday.is_empty()).then(|| view! {
                <div class="contact-field"><h3>{t("Birthday")}</h3><p>{fields.birthday.trim_start_matches("--").to_owned()}</p></div>
            })}
            {(!fields.groups.is_empty()).then(|| view! {
                <div class="contact-field"><h3>{t("Groups")}</h3>
                    <p>{fields.groups.iter().map(|group| view! { <span class="label-chip">{group.clone()}</span> }).collect_view()}</p></div>
            })}
            {(!fields.note.is_empty()).then(|| view! {
                <div class="contact-field"><h3>{t("Note")}</h3><p class="note">{fields.note.clone()}</p></div>
            })}
            {(!fields.emails.is_empty() && deleted_at.is_none()).then(|| view! {
                <Keys state addresses=fields.emails.iter().map(|email| email.value.clone()).collect()/>
            })}
            <p class="hint contact-sealed">{t("Encrypted with your key before it left this browser. The server holds only ciphertext.")}</p>
        </article>
    }
}

/// What the user asked of a key on a contact's page.
#[derive(Clone, Copy)]
enum KeyAction {
    Verify,
    Find,
}

/// The keys Plico keeps for a contact's addresses (the account's keyring, which the crypto
/// worker reads): each fingerprint to compare, where the key came from, how far it is trusted,
/// and "Mark verified" once the user compared it with its owner.
#[component]
fn Keys(state: State, addresses: Vec<String>) -> impl IntoView {
    let keyring = RwSignal::new(None::<Result<Vec<KeyringEntry>, String>>);
    // `asked`: the address a "Mark verified" or a "Look up key" was for, and which.
    let ask = move |command: ContactsCommand, asked: Option<(String, KeyAction)>| {
        leptos::task::spawn_local(async move {
            let answer = match state.backend().ask(command).await {
                Ok(ContactsOutcome::Keys(entries)) => Ok(entries),
                Ok(_) => Err(t("The contacts worker answered unreadably.")),
                Err(message) => Err(message),
            };
            if let (Some((address, action)), Ok(entries)) = (asked, &answer) {
                let kept = entries.iter().find(|entry| entry.address.eq_ignore_ascii_case(&address));
                let vars = [("address", address.as_str())];
                match (action, kept) {
                    // Marked only if the key is still the one the user compared.
                    (KeyAction::Verify, Some(entry)) if entry.verified => {
                        state.say(Some(tf("The key for {address} is marked verified.", &vars)), None)
                    }
                    (KeyAction::Verify, _) => state.say(
                        None,
                        Some(tf("The key for {address} changed before it was marked: compare the new fingerprint.", &vars)),
                    ),
                    (KeyAction::Find, Some(_)) => state.say(
                        Some(tf("Found and kept the key for {address}. Compare its fingerprint with theirs before you mark it verified.", &vars)),
                        None,
                    ),
                    (KeyAction::Find, None) => state.say(
                        None,
                        Some(tf("No key is published for {address}: neither Plico's directory nor their domain has one. Mail to them leaves signed, not end-to-end encrypted.", &vars)),
                    ),
                }
            }
            let _ = keyring.try_set(Some(answer));
        });
    };
    ask(ContactsCommand::Keys, None);
    view! {
        <div class="contact-field contact-keys">
            <h3>{t("Encryption keys")}</h3>
            {move || match keyring.get() {
                None => view! { <p class="hint">{t("Loading…")}</p> }.into_any(),
                Some(Err(message)) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
                Some(Ok(entries)) => {
                    let keys = model::keys_of(addresses.iter().map(String::as_str), &entries);
                    let to_compare = keys.iter().any(|(_, kept)| kept.as_ref().is_some_and(|kept| !kept.verified));
                    view! {
                    <ul>{keys.into_iter().map(|(address, kept)| match kept {
                        None => {
                            let find_label = tf("Look up the key for {address}", &[("address", &address)]);
                            let to_find = address.clone();
                            view! {
                            <li class="contact-key"><span class="key-address">{address}</span>
                                <span class="hint">{t("No key kept yet: Plico looks one up the first time you write to this address.")}</span>
                                <span class="key-facts">
                                    <button type="button" class="button small ghost" aria-label=find_label
                                        on:click=move |_| {
                                            state.say(None, None);
                                            let address = to_find.clone();
                                            ask(ContactsCommand::FindKey { address: address.clone() }, Some((address, KeyAction::Find)));
                                        }>{t("Look up key")}</button>
                                </span></li>
                            }.into_any()
                        }
                        Some(entry) => {
                            let trust = if entry.verified {
                                t("Verified")
                            } else {
                                match entry.source {
                                    KeyringSource::Autocrypt => t("Unconfirmed"),
                                    KeyringSource::Imported => t("Chosen by you"),
                                    KeyringSource::Directory | KeyringSource::Wkd => t("Kept on first use"),
                                }
                            };
                            let source = match entry.source {
                                KeyringSource::Imported => t("Imported"),
                                KeyringSource::Autocrypt => t("Their mail"),
                                KeyringSource::Directory => t("Plico directory"),
                                KeyringSource::Wkd => t("Their domain (WKD)"),
                            };
                            let verify_label = tf("Mark verified the key for {address}: you compared its fingerprint with theirs", &[("address", &address)]);
                            let to_verify = (address.clone(), entry.fingerprint.clone());
                            view! {
                                <li class="contact-key">
                                    <span class="key-address">{address}</span>
                                    <code class="mono fingerprint">{model::group_fingerprint(&entry.fingerprint)}</code>
                                    <span class="key-facts">
                                        <span class="label-chip">{source}</span>
                                        <span class="key-trust" class:verified=entry.verified>{trust}</span>
                                        {(!entry.verified).then(|| view! {
                                            <button type="button" class="button small ghost" aria-label=verify_label
                                                on:click=move |_| {
                                                    state.say(None, None);
                                                    let (address, fingerprint) = to_verify.clone();
                                                    ask(ContactsCommand::VerifyKey { address: address.clone(), fingerprint }, Some((address, KeyAction::Verify)));
                                                }>{t("Mark verified")}</button>
                                        })}
                                    </span>
                                </li>
                            }.into_any()
                        }
                    }).collect_view()}</ul>
                    {to_compare.then(|| view! {
                        <p class="hint">{t("Compare a fingerprint with the one your correspondent sees on their account page, in person or by phone, then mark it verified.")}</p>
                    })}
                }.into_any()
                }
            }}
        </div>
    }
}

fn input_value(event: &leptos::ev::Event) -> String {
    event_target_value(event)
}

/// One editable list (addresses or phones): a label and a value per line, add and remove.
#[component]
fn LabeledEditor(
    form: RwSignal<ContactFields>,
    title: &'static str,
    add: &'static str,
    kind: &'static str,
    labels: &'static [&'static str],
    get: fn(&ContactFields) -> &Vec<Labeled>,
    get_mut: fn(&mut ContactFields) -> &mut Vec<Labeled>,
) -> impl IntoView {
    let count = Memo::new(move |_| form.with(|fields| get(fields).len()));
    view! {
        <fieldset class="editor-list">
            <legend>{t(title)}</legend>
            {move || (0..count.get()).map(|index| {
                let item = form.with_untracked(|fields| get(fields).get(index).cloned().unwrap_or_default());
                let value_id = format!("contact-{kind}-{index}");
                view! {
                    <div class="editor-line">
                        <select aria-label=tf("{field} {number}: label", &[("field", &t(title)), ("number", &(index + 1).to_string())])
                            on:change=move |event| { let label = input_value(&event); form.update(|fields| if let Some(item) = get_mut(fields).get_mut(index) { item.label = label }) }>
                            {labels.iter().map(|label| view! {
                                <option value=*label selected=item.label == *label>{if label.is_empty() { "—".to_owned() } else { t(label) }}</option>
                            }).collect_view()}
                        </select>
                        <label class="visually-hidden" for=value_id.clone()>{tf("{field} {number}", &[("field", &t(title)), ("number", &(index + 1).to_string())])}</label>
                        <input id=value_id type=if kind == "email" { "email" } else { "tel" } prop:value=item.value.clone()
                            on:input=move |event| { let value = input_value(&event); form.update(|fields| if let Some(item) = get_mut(fields).get_mut(index) { item.value = value }) }/>
                        <button type="button" class="button ghost small" aria-label=tf("Remove {field} {number}", &[("field", &t(title)), ("number", &(index + 1).to_string())])
                            on:click=move |_| form.update(|fields| { if index < get(fields).len() { get_mut(fields).remove(index); } })>"×"</button>
                    </div>
                }
            }).collect_view()}
            <button type="button" class="link-button" on:click=move |_| form.update(|fields| get_mut(fields).push(Labeled::default()))>{t(add)}</button>
        </fieldset>
    }
}

/// A text field of the form, bound to one string of the fields.
fn text_field(
    form: RwSignal<ContactFields>,
    id: &'static str,
    label: &'static str,
    field: fn(&mut ContactFields) -> &mut String,
    placeholder: &'static str,
) -> impl IntoView {
    let value = form.with_untracked(|fields| field(&mut fields.clone()).clone());
    view! {
        <label for=id>{t(label)}</label>
        <input id=id type="text" prop:value=value placeholder=t(placeholder)
            on:input=move |event| { let value = input_value(&event); form.update(|fields| *field(fields) = value) }/>
    }
}

#[component]
fn Editor(state: State, id: Option<String>, fields: ContactFields) -> impl IntoView {
    let creating = id.is_none();
    let form = RwSignal::new(fields.clone());
    if creating {
        form.update(|fields| {
            fields.emails.push(Labeled::default());
        });
    }
    let groups_text = RwSignal::new(fields.groups.join(", "));
    // What the editor opened with: only what the user changes is written over a newer contact.
    let original = StoredValue::new((!creating).then(|| Box::new(fields.clone())));
    let (saving, set_saving) = signal(false);
    let (problem, set_problem) = signal(None::<String>);
    let cancel_id = id.clone();
    let save = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let mut fields = form.get_untracked();
        fields.groups = model::parse_groups(&groups_text.get_untracked());
        let id = id.clone();
        set_saving.set(true);
        set_problem.set(None);
        leptos::task::spawn_local(async move {
            let original = original.get_value();
            match state.backend().ask(ContactsCommand::Save { id, fields: Box::new(fields), original }).await {
                Ok(ContactsOutcome::Saved { id }) => {
                    state.say(Some(if creating { t("Contact created.") } else { t("Contact saved.") }), None);
                    state.reload();
                    state.open(id);
                }
                Ok(_) => set_problem.set(Some(t(UNEXPECTED))),
                Err(message) => set_problem.set(Some(message)),
            }
            set_saving.set(false);
        });
    };
    let pick_photo = move |event: leptos::ev::Event| {
        let Some(input) = event.target().and_then(|target| target.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
        leptos::task::spawn_local(async move {
            match resize_photo(&file).await {
                Ok(url) => form.update(|fields| fields.photo = url),
                Err(message) => set_problem.set(Some(message)),
            }
        });
    };
    let address_count = Memo::new(move |_| form.with(|fields| fields.addresses.len()));
    view! {
        <form class="contact-editor" on:submit=save novalidate>
            <h2>{if creating { t("New contact") } else { t("Edit contact") }}</h2>
            <div class="editor-photo">
                {move || avatar(&form.with(|f| f.name.clone()), Some(form.with(|f| f.photo.clone())))}
                <label class="button ghost small file-button">{t("Choose a photo")}
                    <input type="file" accept="image/*" class="visually-hidden" on:change=pick_photo/></label>
                {move || form.with(|f| !f.photo.is_empty()).then(|| view! {
                    <button type="button" class="button ghost small" on:click=move |_| form.update(|f| f.photo.clear())>{t("Remove the photo")}</button>
                })}
            </div>
            <div class="editor-grid">
                {text_field(form, "contact-name", n("Display name"), |f| &mut f.name, "Ada Lovelace")}
                {text_field(form, "contact-given", n("First name"), |f| &mut f.given, "")}
                {text_field(form, "contact-family", n("Last name"), |f| &mut f.family, "")}
                {text_field(form, "contact-organization", n("Organisation"), |f| &mut f.organization, "")}
                {text_field(form, "contact-title", n("Job title"), |f| &mut f.title, "")}
                {text_field(form, "contact-birthday", n("Birthday"), |f| &mut f.birthday, n("1815-12-10 or --12-10"))}
            </div>
            <LabeledEditor form title=n("Email") add=n("+ Add an email address") kind="email" labels=EMAIL_LABELS
                get=|f| &f.emails get_mut=|f| &mut f.emails/>
            <LabeledEditor form title=n("Phone") add=n("+ Add a phone number") kind="phone" labels=PHONE_LABELS
                get=|f| &f.phones get_mut=|f| &mut f.phones/>
            <fieldset class="editor-list">
                <legend>{t("Address")}</legend>
                {move || (0..address_count.get()).map(|index| {
                    let address = form.with_untracked(|f| f.addresses.get(index).cloned().unwrap_or_default());
                    let part = move |name: &'static str, value: String, set: fn(&mut PostalAddress, String)| {
                        let id = format!("contact-address-{index}-{name}");
                        view! {
                            <label for=id.clone()>{t(name)}</label>
                            <input id=id type="text" prop:value=value on:input=move |event| {
                                let value = input_value(&event);
                                form.update(|f| if let Some(address) = f.addresses.get_mut(index) { set(address, value) })
                            }/>
                        }
                    };
                    view! {
                        <div class="editor-address">
                            {part(n("Street"), address.street.clone(), |a, v| a.street = v)}
                            {part(n("City"), address.locality.clone(), |a, v| a.locality = v)}
                            {part(n("Region"), address.region.clone(), |a, v| a.region = v)}
                            {part(n("Postcode"), address.postcode.clone(), |a, v| a.postcode = v)}
                            {part(n("Country"), address.country.clone(), |a, v| a.country = v)}
                            <button type="button" class="button ghost small" on:click=move |_| form.update(|f| { if index < f.addresses.len() { f.addresses.remove(index); } })>{t("Remove this address")}</button>
                        </div>
                    }
                }).collect_view()}
                <button type="button" class="link-button" on:click=move |_| form.update(|f| f.addresses.push(PostalAddress::default()))>{t("+ Add an address")}</button>
            </fieldset>
            <label for="contact-groups">{t("Groups")}</label>
            <input id="contact-groups" type="text" placeholder=t("Family, Work") prop:value=groups_text.get_untracked()
                on:input=move |event| groups_text.set(input_value(&event))/>
            <p class="hint">{t("Separate groups with commas. Writing to a group in the composer writes to each of its members.")}</p>
            <label for="contact-note">{t("Note")}</label>
            <textarea id="contact-note" rows="3" prop:value=fields.note.clone()
                on:input=move |event| { let value = input_value(&event); form.update(|f| f.note = value) }></textarea>
            {move || problem.get().map(|problem| view! { <p class="error" role="alert">{problem}</p> })}
            <div class="contact-buttons">
                <button type="submit" class="button primary" disabled=move || saving.get()>{move || if saving.get() { t("Saving…") } else { t("Save") }}</button>
                <button type="button" class="button ghost" on:click=move |_| match cancel_id.clone() {
                    Some(id) => state.open(id),
                    None => state.pane.set(Pane::Empty),
                }>{t("Cancel")}</button>
            </div>
        </form>
    }
}

/// The picked image, resized in this browser to at most 256 pixels a side, as a JPEG `data:` URL:
/// a phone's 5 MB photo becomes about 15 KB before it is sealed.
async fn resize_photo(file: &web_sys::File) -> Result<String, String> {
    const SIDE: f64 = 256.0;
    if !file.type_().starts_with("image/") {
        return Err(tf("{file} is not an image.", &[("file", &file.name())]));
    }
    let url = web_sys::Url::create_object_url_with_blob(file).map_err(|_| t("The photo could not be read."))?;
    let image = web_sys::HtmlImageElement::new().map_err(|_| t("The photo could not be read."))?;
    let loaded = js_sys::Promise::new(&mut |resolve, reject| {
        image.set_onload(Some(&resolve));
        image.set_onerror(Some(&reject));
    });
    image.set_src(&url);
    let result = wasm_bindgen_futures::JsFuture::from(loaded).await;
    let _ = web_sys::Url::revoke_object_url(&url);
    result.map_err(|_| tf("{file} could not be read as a picture.", &[("file", &file.name())]))?;
    let (width, height) = (f64::from(image.natural_width()), f64::from(image.natural_height()));
    if width < 1.0 || height < 1.0 {
        return Err(tf("{file} is empty.", &[("file", &file.name())]));
    }
    let scale = (SIDE / width.max(height)).min(1.0);
    let (out_width, out_height) = ((width * scale).round().max(1.0), (height * scale).round().max(1.0));
    let document = web_sys::window().and_then(|window| window.document()).ok_or("No document.")?;
    let canvas: web_sys::HtmlCanvasElement =
        document.create_element("canvas").map_err(|_| "No canvas.")?.dyn_into().map_err(|_| "No canvas.")?;
    canvas.set_width(out_width as u32);
    canvas.set_height(out_height as u32);
    let context: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").ok().flatten().and_then(|context| context.dyn_into().ok()).ok_or("No canvas.")?;
    context
        .draw_image_with_html_image_element_and_dw_and_dh(&image, 0.0, 0.0, out_width, out_height)
        .map_err(|_| t("The photo could not be drawn."))?;
    canvas
        .to_data_url_with_type_and_encoder_options("image/jpeg", &JsValue::from_f64(0.85))
        .map_err(|_| t("The photo could not be encoded."))
}

/// Offers `text` as a file download.
fn download(name: &str, text: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/vcard");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|_| t("The file could not be made."))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| t("The file could not be made."))?;
    let document = web_sys::window().and_then(|window| window.document()).ok_or("No document.")?;
    let link: web_sys::HtmlAnchorElement =
        document.create_element("a").map_err(|_| "No link.")?.dyn_into().map_err(|_| "No link.")?;
    link.set_href(&url);
    link.set_download(name);
    link.click();
    // The download reads the URL after this returns: let it go a minute later.
    let revoke = Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 60_000);
    }
    Ok(())
}
