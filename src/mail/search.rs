//! Search: the box in the top bar, the results page, and the index build's progress.
//!
//! The index lives in this browser (the search worker, behind the crypto worker). After every
//! sync the UI asks the worker to index what is new ([`index_new_mail`]); the first build of a
//! big mailbox shows its progress here and can be paused.

use leptos::prelude::*;
use plico_api::worker::SearchCommand;
use plico_api::worker::{IndexProgress, IndexView, WorkerOutcome};

use crate::i18n::{n, t, tf, tp};
use crate::router::use_navigator;
use crate::session::{use_session, Session};

/// What the search page shows about the index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchState {
    pub query: String,
    pub index: IndexView,
    /// Set while a build runs.
    pub building: Option<IndexProgress>,
}

thread_local! {
    static BUILDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static ASKED_PERSIST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Asks the browser once per visit to keep this site's storage (the index) under pressure.
fn ask_persistent_storage() {
    if ASKED_PERSIST.with(|asked| asked.replace(true)) {
        return;
    }
    let storage = web_sys::window()
        .and_then(|window| js_sys::Reflect::get(&window, &"navigator".into()).ok())
        .and_then(|navigator| js_sys::Reflect::get(&navigator, &"storage".into()).ok())
        .filter(|storage| !storage.is_undefined());
    if let Some(storage) = storage {
        if let Ok(persist) = js_sys::Reflect::get(&storage, &"persist".into()) {
            if let Some(persist) = wasm_bindgen::JsCast::dyn_ref::<js_sys::Function>(&persist) {
                let _ = persist.call0(&storage);
            }
        }
    }
}

/// Indexes mail the index does not hold yet, unless a build is running or paused.
pub fn index_new_mail(session: Session, mail: super::Mail) {
    if mail.search.with_untracked(|state| state.index.paused) || BUILDING.with(|busy| busy.replace(true)) {
        return;
    }
    ask_persistent_storage();
    leptos::task::spawn_local(async move {
        if let Ok(worker) = session.worker.with_value(|worker| worker.clone()) {
            let progress = move |stage| {
                if let plico_api::worker::WorkerStage::Indexing(progress) = stage {
                    mail.search.update(|state| state.building = Some(progress));
                }
            };
            let outcome = worker.call(SearchCommand::BuildIndex, progress).await;
            mail.search.update(|state| {
                state.building = None;
                if let Ok(WorkerOutcome::Index(index)) = outcome {
                    state.index = index;
                }
            });
        }
        BUILDING.with(|busy| busy.set(false));
    });
}

fn pause(session: Session, mail: super::Mail) {
    leptos::task::spawn_local(async move {
        if let Ok(worker) = session.worker.with_value(|worker| worker.clone()) {
            if let Ok(WorkerOutcome::Index(index)) = worker.call(SearchCommand::PauseIndex, |_| {}).await {
                mail.search.update(|state| state.index.paused = index.paused);
            }
        }
    });
}

fn resume(session: Session, mail: super::Mail) {
    mail.search.update(|state| state.index.paused = false);
    index_new_mail(session, mail);
}

fn day(seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(seconds as f64 * 1000.0));
    String::from(date.to_locale_date_string(crate::i18n::lang().code(), &wasm_bindgen::JsValue::UNDEFINED))
}

fn duration(seconds: u32) -> String {
    match seconds {
        0..=59 => format!("{seconds} s"),
        60..=3599 => format!("{} min", seconds.div_ceil(60)),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

/// The search box in the top bar: typing goes to the results page.
#[component]
pub fn SearchBox() -> impl IntoView {
    let mail = crate::mail::use_mail();
    let navigator = use_navigator();
    let on_input = move |event| {
        let query = event_target_value(&event);
        mail.search.update(|state| state.query = query);
        if !navigator.is_current("/search") {
            navigator.go("/search");
        }
    };
    // The results page has a top bar of its own: the box the first letter went into is gone when
    // the next ones arrive, so the new box takes the focus, with the caret after the text.
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            if navigator.is_current("/search") {
                let end = input.value().encode_utf16().count() as u32;
                let _ = input.focus();
                let _ = input.set_selection_range(end, end);
            }
        }
    });
    view! {
        <form class="search-box" role="search" on:submit=move |event| event.prevent_default()>
            <label class="visually-hidden" for="search-input">{t("Search mail")}</label>
            <input node_ref=input id="search-input" type="search" autocomplete="off" spellcheck="false"
                placeholder=t("Search mail — from:, has:attachment, before:2026-01-31")
                prop:value=move || mail.search.with(|state| state.query.clone()) on:input=on_input/>
        </form>
    }
}

/// The index's state in words, with the build's progress bar and its pause/resume button.
#[component]
fn IndexStatus() -> impl IntoView {
    let session = use_session();
    let mail = crate::mail::use_mail();
    move || {
        let state = mail.search.get();
        let index = state.index;
        let back_to = state.building.and_then(|progress| progress.oldest).or(index.oldest).map(day);
        let searchable = back_to
            .map(|date| format!(" {}", tf("Searchable back to {date}.", &[("date", &date)])))
            .unwrap_or_default();
        let (percent, words, button) = match state.building {
            Some(progress) => (
                Some(u64::from(progress.done) * 100 / u64::from(progress.total.max(1))),
                tf(
                    "Indexing on this device: {done} of {total} messages, about {left} left.",
                    &[
                        ("done", &crate::i18n::number(progress.done.into())),
                        ("total", &crate::i18n::number(progress.total.into())),
                        ("left", &duration(progress.seconds_left)),
                    ],
                ) + &searchable,
                Some(true),
            ),
            None if index.out_of_space => (
                None,
                t("This browser has no more room for the search index: older mail is not searchable.") + &searchable,
                None,
            ),
            None if index.paused && index.missing > 0 => (
                None,
                tf(
                    "Indexing paused: {count} messages are not searchable yet.",
                    &[("count", &crate::i18n::number(index.missing.into()))],
                ) + &searchable,
                Some(false),
            ),
            None if index.documents == 0 => {
                (None, t("Your mail is indexed on this device, encrypted; search works offline too."), None)
            }
            None => (
                None,
                tf(
                    "{count} messages indexed on this device, encrypted.",
                    &[("count", &crate::i18n::number(index.documents.into()))],
                ) + &searchable,
                None,
            ),
        };
        view! {
            <div class="index-status" role="status" aria-live="polite" class:warning=index.out_of_space>
                {percent.map(|percent| view! { <progress max="100" value=percent.to_string() aria-label=t("Indexing progress")></progress> })}
                <span>{words}</span>
                {button.map(|pausing| view! {
                    <button type="button" class="button ghost small"
                        on:click=move |_| if pausing { pause(session, mail) } else { resume(session, mail) }>
                        {if pausing { t("Pause") } else { t("Resume") }}
                    </button>
                })}
            </div>
        }
    }
}

/// `/search`: the results of the query in the top bar.
#[component]
pub fn SearchPage() -> impl IntoView {
    let session = use_session();
    let mail = crate::mail::use_mail();
    let navigator = crate::router::use_navigator();
    let selected = RwSignal::new(None::<String>);
    // (the query they answer, total, shown, rows)
    let results = RwSignal::new(None::<(String, u32, u32, String)>);
    let (error, set_error) = signal(None::<String>);
    let asked = StoredValue::new(0u32);
    // The query runs again whenever it changes, and when a build adds to the index.
    Effect::new(move |_| {
        let query = mail.search.with(|state| state.query.clone());
        let _ = mail.search.with(|state| (state.index.documents, state.building.map(|p| p.done / 200)));
        if query.trim().is_empty() {
            results.set(None);
            set_error.set(None);
            return;
        }
        asked.update_value(|n| *n += 1);
        let ticket = asked.get_value();
        leptos::task::spawn_local(async move {
            let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
            let outcome = worker.call(SearchCommand::Search { query: query.clone(), limit: 50 }, |_| {}).await;
            if asked.try_get_value() != Some(ticket) {
                return;
            }
            match outcome {
                Ok(WorkerOutcome::Found { total, shown, rows_html, index }) => {
                    crate::ui::set_alive(set_error, None);
                    crate::ui::set_alive(results, Some((query, total, shown, rows_html)));
                    if mail.search.with_untracked(|state| state.building.is_none()) {
                        mail.search.update(|state| state.index = index);
                    }
                }
                Ok(_) => crate::ui::set_alive(set_error, Some(t("The worker answered something unexpected."))),
                Err(failure) => {
                    crate::ui::set_alive(results, None);
                    crate::ui::set_alive(set_error, Some(failure.message));
                }
            }
        });
    });
    // The rows are the worker's HTML (escaped there); a click finds its row's id.
    let on_pick = move |event: leptos::ev::MouseEvent| {
        use wasm_bindgen::JsCast;
        let row = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .and_then(|element| element.closest("[data-id]").ok().flatten());
        if let Some(id) = row.and_then(|row| row.get_attribute("data-id")) {
            // A contact (the index holds contacts too) opens in the Contacts app.
            match id.strip_prefix("contact:") {
                Some(contact) => navigator.go(&format!("/contacts/{contact}")),
                None => selected.set(Some(id)),
            }
        }
    };
    view! {
        <super::Shell>
            <div class="mail-columns">
                <section class="message-list search-results" aria-labelledby="search-title">
                    <div class="folder-header"><h1 id="search-title" class="folder-title">{t("Search")}</h1></div>
                    <IndexStatus/>
                    <crate::ui::ErrorText message=error/>
                    <p class="hint">{t("All words must match; the last one may be unfinished. \"Quoted phrases\", -exclude, from:, to:, subject:, has:attachment, in:folder, is:unread, is:starred, before:YYYY-MM-DD and after:YYYY-MM-DD narrow it down. Trash and Spam are searched with in:trash and in:spam.")}</p>
                    {move || results.get().map(|(query, total, shown, rows)| view! {
                        <p class="result-count" aria-live="polite" data-query=query>{match total {
                            0 => t("No messages match. Try fewer words, or check the spelling."),
                            _ if total > shown => tf("{total} messages (the best {shown} shown)", &[("total", &crate::i18n::number(total.into())), ("shown", &shown.to_string())]),
                            _ => tp(total.into(), n("1 message"), n("{count} messages")),
                        }}</p>
                        <ul class="messages" aria-label=t("Search results") inner_html=rows on:click=on_pick></ul>
                    })}
                </section>
                {move || selected.get().map(|id| view! { <super::reader::Reader id=id selected=selected/> })}
            </div>
        </super::Shell>
    }
}
