//! The contacts worker's loop (wasm only): it holds the account's item key and the opened
//! contacts, syncs them with the server's item store itself (`fetch`, same-origin), and answers
//! [`ContactsCommand`]s, which come through the crypto worker unread.
//!
//! The item key arrives first, from the crypto worker (a message that leads with id 0). Every
//! contact is sealed and opened here with it (`plico_client::items`): a contact the server
//! changed, or one sealed with another key, does not open and is reported, never shown.

use std::cell::RefCell;
use std::collections::BTreeMap;

use js_sys::{Array, Uint8Array};
use plico_api::contacts::{
    ContactFields, ContactRow, ContactsCommand, ContactsKey, ContactsOutcome, ContactsReply, ContactsRequest, Labeled,
    SuggestionView,
};
use plico_client::flows::{Transport, TransportBody, TransportResponse};
use plico_client::items::{self, ItemKey, Opened};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, Request, RequestCredentials, RequestInit, Response};

use crate::complete::{Completer, Suggestion};
use crate::{edit, from_content, read_vcf, summary, to_content, write_vcf};

/// The kind of item a contact is (`/api/v1/items/contact`).
const KIND: &str = "contact";

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

struct Book {
    key: ItemKey,
    /// Every contact held, deleted ones included, by id.
    items: BTreeMap<String, Opened<Value>>,
    /// Contacts that did not open, by id, with why.
    refused: BTreeMap<String, String>,
    cursor: i64,
    /// When the last sync ended (milliseconds), so the composer's keystrokes do not each sync.
    synced_at: f64,
    completer: Option<Completer>,
}

thread_local! {
    static BOOK: RefCell<Option<Book>> = const { RefCell::new(None) };
}

/// `fetch` from this worker, with the CSRF header the API asks for.
struct Fetch;

fn js_error(value: JsValue) -> String {
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

impl Transport for Fetch {
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<TransportBody>,
    ) -> Result<TransportResponse, String> {
        let init = RequestInit::new();
        init.set_method(method);
        init.set_credentials(RequestCredentials::SameOrigin);
        if let Some(body) = &body {
            init.set_body(&Uint8Array::from(body.bytes.as_slice()));
        }
        let request =
            Request::new_with_str_and_init(&format!("{}{path}", plico_api::API_PREFIX), &init).map_err(js_error)?;
        if let Some(body) = &body {
            request.headers().set("content-type", body.content_type).map_err(js_error)?;
        }
        if method != "GET" {
            request.headers().set(plico_api::CSRF_HEADER, "1").map_err(js_error)?;
        }
        let response: Response = wasm_bindgen_futures::JsFuture::from(scope().fetch_with_request(&request))
            .await
            .map_err(|_| "The server cannot be reached.".to_owned())?
            .unchecked_into();
        let buffer =
            wasm_bindgen_futures::JsFuture::from(response.array_buffer().map_err(js_error)?).await.map_err(js_error)?;
        Ok(TransportResponse { status: response.status(), body: Uint8Array::new(&buffer).to_vec() })
    }
}

fn send(reply: &ContactsReply) {
    let Ok(bytes) = postcard::to_allocvec(reply) else { return };
    let array = Uint8Array::from(bytes.as_slice());
    let transfer = Array::of1(&array.buffer());
    let _ = scope().post_message_with_transfer(&array, &transfer);
}

fn with_book<R>(f: impl FnOnce(&mut Book) -> R) -> Result<R, String> {
    BOOK.with(|book| book.borrow_mut().as_mut().map(f)).ok_or_else(|| "Contacts are locked: sign in again.".to_owned())
}

/// Brings the held contacts up to date with the server.
async fn sync() -> Result<(), String> {
    let (key, cursor, held) = with_book(|book| {
        let held: BTreeMap<String, i64> = book.items.iter().map(|(id, item)| (id.clone(), item.version)).collect();
        (book.key.clone(), book.cursor, held)
    })?;
    let synced = items::sync(&Fetch, &key, KIND, cursor, |id| held.get(id).copied().unwrap_or(0))
        .await
        .map_err(|error| error.to_string())?;
    with_book(|book| {
        let changed = !synced.opened.is_empty() || !synced.removed.is_empty();
        for opened in synced.opened {
            book.refused.remove(&opened.id);
            book.items.insert(opened.id.clone(), opened);
        }
        for (id, why) in synced.refused {
            book.refused.insert(id, why.to_string());
        }
        for id in synced.removed {
            book.items.remove(&id);
            book.refused.remove(&id);
        }
        book.cursor = synced.cursor;
        book.synced_at = js_sys::Date::now();
        if changed {
            book.completer = None;
        }
    })
}

/// Syncs unless the last sync is younger than `fresh_ms`.
async fn sync_within(fresh_ms: f64) -> Result<(), String> {
    if with_book(|book| js_sys::Date::now() - book.synced_at > fresh_ms)? {
        sync().await?;
    }
    Ok(())
}

fn row(item: &Opened<Value>) -> Option<ContactRow> {
    let card = from_content(&item.content).ok()?;
    let summary = summary(&card);
    Some(ContactRow {
        id: item.id.clone(),
        name: summary.name,
        emails: summary.emails,
        phones: summary.phones,
        organization: summary.organization,
        groups: summary.groups,
        has_photo: item.content.get("vcard").and_then(|v| v.get("PHOTO")).is_some(),
        deleted_at: item.deleted_at,
    })
}

fn sort_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Saves `content` as contact `id` over what this worker holds of it.
async fn save(id: &str, content: &Value) -> Result<(), String> {
    let (key, base) =
        with_book(|book| (book.key.clone(), book.items.get(id).map(|item| (item.version, item.content.clone()))))?;
    let saved =
        items::save(&Fetch, &key, KIND, id, base.as_ref().map(|(version, content)| (*version, content)), content)
            .await
            .map_err(|error| error.to_string())?;
    with_book(|book| {
        book.items.insert(id.to_owned(), saved);
        book.completer = None;
    })
}

fn content_of(id: &str) -> Result<Value, String> {
    with_book(|book| book.items.get(id).map(|item| item.content.clone()))?
        .ok_or_else(|| "This contact no longer exists.".to_owned())
}

async fn run(command: ContactsCommand) -> Result<ContactsOutcome, String> {
    match command {
        ContactsCommand::List { deleted } => {
            sync().await?;
            with_book(|book| {
                let mut rows: Vec<ContactRow> =
                    book.items.values().filter(|item| item.deleted_at.is_some() == deleted).filter_map(row).collect();
                rows.sort_by_cached_key(|row| (sort_key(&row.name), row.id.clone()));
                let refused =
                    book.refused.iter().map(|(id, why)| format!("Contact {id} was not shown: {why}.")).collect();
                ContactsOutcome::Rows { rows, refused }
            })
        }
        ContactsCommand::Get { id } => {
            if with_book(|book| !book.items.contains_key(&id))? {
                sync().await?;
            }
            let (content, updated_at, deleted_at) = with_book(|book| {
                book.items.get(&id).map(|item| (item.content.clone(), item.updated_at, item.deleted_at))
            })?
            .ok_or("This contact no longer exists.")?;
            Ok(ContactsOutcome::Contact { fields: Box::new(edit::fields(&content)?), id, updated_at, deleted_at })
        }
        ContactsCommand::Save { id, fields } => {
            let id = id.unwrap_or_else(items::new_id);
            if !plico_api::items::is_item_id(&id) {
                return Err("That is not a contact's id.".into());
            }
            let base = with_book(|book| book.items.get(&id).map(|item| item.content.clone()))?;
            let content = edit::apply(&base.unwrap_or_else(|| json!({})), &fields)?;
            save(&id, &content).await?;
            Ok(ContactsOutcome::Saved { id })
        }
        ContactsCommand::Delete { ids, recover } => {
            items::set_deleted(&Fetch, KIND, &ids, recover).await.map_err(|error| error.to_string())?;
            sync().await?;
            Ok(ContactsOutcome::Done)
        }
        ContactsCommand::Import { vcf } => {
            let import = read_vcf(&vcf);
            let mut problems: Vec<String> = import.problems.iter().map(ToString::to_string).collect();
            let mut saved = 0;
            // Eight writes in flight: the server takes them one at a time, but the round trips
            // overlap.
            for batch in import.cards.chunks(8) {
                let results = futures_util::future::join_all(
                    batch.iter().map(|card| async move { save(&items::new_id(), &to_content(card)).await }),
                )
                .await;
                for (card, result) in batch.iter().zip(results) {
                    match result {
                        Ok(()) => saved += 1,
                        Err(why) => problems.push(format!("{} was not saved: {why}", summary(card).name)),
                    }
                }
            }
            Ok(ContactsOutcome::Imported { saved, problems })
        }
        ContactsCommand::Export { ids } => {
            sync().await?;
            let cards = with_book(|book| {
                let mut chosen: Vec<&Opened<Value>> = book
                    .items
                    .values()
                    .filter(|item| item.deleted_at.is_none() && (ids.is_empty() || ids.contains(&item.id)))
                    .collect();
                chosen.sort_by_cached_key(|item| row(item).map(|row| sort_key(&row.name)));
                chosen.into_iter().filter_map(|item| edit::card(&item.content)).collect::<Vec<_>>()
            })?;
            Ok(ContactsOutcome::Exported { count: cards.len() as u32, vcf: write_vcf(&cards) })
        }
        ContactsCommand::Merge { ids } => {
            if ids.len() < 2 {
                return Err("Choose at least two contacts to merge.".into());
            }
            let contents = ids.iter().map(|id| content_of(id)).collect::<Result<Vec<_>, _>>()?;
            let merged = edit::merge(&contents)?;
            save(&ids[0], &merged).await?;
            items::set_deleted(&Fetch, KIND, &ids[1..], false).await.map_err(|error| error.to_string())?;
            sync().await?;
            Ok(ContactsOutcome::Saved { id: ids[0].clone() })
        }
        ContactsCommand::Complete { typed, limit } => {
            // The composer asks on each keystroke: a sync a minute is enough for suggestions.
            sync_within(60_000.0).await.ok();
            with_book(|book| {
                let completer = book.completer.get_or_insert_with(|| {
                    Completer::new(
                        book.items
                            .values()
                            .filter(|item| item.deleted_at.is_none())
                            .filter_map(|item| from_content(&item.content).ok())
                            .map(|card| summary(&card))
                            .collect(),
                    )
                });
                let found = completer.complete(&typed, limit.min(50) as usize);
                ContactsOutcome::Suggestions(
                    found
                        .into_iter()
                        .map(|suggestion| match suggestion {
                            Suggestion::Address { name, address } => SuggestionView::Address { name, address },
                            Suggestion::Group { name, addresses } => SuggestionView::Group { name, addresses },
                        })
                        .collect(),
                )
            })
        }
        ContactsCommand::AddAddress { name, address } => {
            sync().await?;
            let address = address.trim().to_owned();
            let found = with_book(|book| {
                book.items
                    .values()
                    .filter(|item| item.deleted_at.is_none())
                    .find(|item| {
                        row(item).is_some_and(|row| row.emails.iter().any(|e| e.eq_ignore_ascii_case(&address)))
                    })
                    .map(|item| item.id.clone())
            })?;
            if let Some(id) = found {
                return Ok(ContactsOutcome::Added { id, created: false });
            }
            let fields = ContactFields {
                name: name.trim().to_owned(),
                emails: vec![Labeled { label: String::new(), value: address }],
                ..ContactFields::default()
            };
            let content = edit::apply(&json!({}), &fields)?;
            let id = items::new_id();
            save(&id, &content).await?;
            Ok(ContactsOutcome::Added { id, created: true })
        }
    }
}

pub fn start() {
    console_error_panic_hook::set_once();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(|event: MessageEvent| {
        let Ok(array) = event.data().dyn_into::<Uint8Array>() else { return };
        let bytes = array.to_vec();
        if bytes.first() == Some(&0) {
            match postcard::from_bytes::<ContactsKey>(&bytes) {
                Ok(key) => BOOK.with(|book| {
                    *book.borrow_mut() = Some(Book {
                        key: ItemKey::new(&key.secret, &key.account),
                        items: BTreeMap::new(),
                        refused: BTreeMap::new(),
                        cursor: 0,
                        synced_at: 0.0,
                        completer: None,
                    })
                }),
                Err(error) => web_sys::console::error_1(&format!("contacts: unreadable key: {error}").into()),
            }
            return;
        }
        match postcard::from_bytes::<ContactsRequest>(&bytes) {
            Ok(ContactsRequest { id, command }) => wasm_bindgen_futures::spawn_local(async move {
                send(&ContactsReply { id, result: run(command).await });
            }),
            Err(error) => web_sys::console::error_1(&format!("contacts: unreadable request: {error}").into()),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    // A zero-length message says "loaded": requests sent before it were queued by the caller.
    let _ = scope().post_message(&Uint8Array::new_with_length(0));
}
