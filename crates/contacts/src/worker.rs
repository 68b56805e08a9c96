//! The contacts worker's loop (wasm only): it holds the account's item key and the opened
//! contacts, syncs them with the server's item store itself (`fetch`, same-origin), and answers
//! [`ContactsCommand`]s, which come through the crypto worker unread.
//!
//! The item key arrives first, from the crypto worker (a message that leads with id 0). Every
//! contact is sealed and opened here with it (`plico_client::items`): a contact the server
//! changed, or one sealed with another key, does not open and is reported, never shown.
//!
//! With them comes this device's key for a copy of the contacts in IndexedDB (one record in the
//! `plico-local` database, sealed with `LocalKey`, written 1.5 s after a change): the first
//! screen reads it before the network, a sync then asks only for what changed since, the
//! versions it holds make an older copy from the server a rollback, and contacts open without
//! the network. "Forget this device" deletes the database with the mailbox's copy.

use std::cell::RefCell;
use std::collections::BTreeMap;

use js_sys::{Array, Uint8Array};
use plico_api::contacts::{
    ContactFields, ContactRow, ContactsCommand, ContactsKey, ContactsOutcome, ContactsReply, ContactsRequest, Labeled,
    SuggestionView,
};
use plico_client::flows::{Transport, TransportBody, TransportResponse};
use plico_client::items::{self, ItemKey, Opened};
use plico_client::FlowError;
use plico_local::idb::{Database, Durability};
use plico_local::LocalKey;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::complete::{Completer, Suggestion};
use crate::Summary;
use crate::{edit, from_content, read_vcf, summary, to_content, write_vcf};

/// The kind of item a contact is (`/api/v1/items/contact`).
const KIND: &str = "contact";
/// The database this device's copies live in (the mailbox's and the index's too).
const DATABASE: &str = "plico-local";
/// The record of the contacts' copy.
const RECORD: &str = "contacts/book";

pub(crate) fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

struct Book {
    key: ItemKey,
    /// Every contact held, deleted ones included, by id.
    items: BTreeMap<String, Opened<Value>>,
    /// What the list and the autocomplete read of each contact, by id: its card parsed once, when
    /// it is opened (10,000 cards parse in a noticeable fraction of a second); `None` for a
    /// content that does not read as a card.
    summaries: BTreeMap<String, Option<Summary>>,
    /// Contacts that did not open, by id, with why.
    refused: BTreeMap<String, String>,
    cursor: i64,
    /// When the last sync ended (milliseconds), so the composer's keystrokes do not each sync.
    synced_at: f64,
    completer: Option<Completer>,
    /// This device's key for the copy in IndexedDB, when it keeps one.
    local: Option<LocalKey>,
    /// Whether the copy was read (once, before the first sync).
    loaded: bool,
    /// A write of the copy is due.
    persist_due: bool,
    /// The version of each contact this session put in the device's search index; `None` until
    /// the first `IndexDocs`, which clears the index's contacts and adds them all.
    indexed: Option<BTreeMap<String, i64>>,
}

/// How many contacts one search command adds: the search worker answers queries between them.
const INDEX_BATCH: usize = 1000;

thread_local! {
    static BOOK: RefCell<Option<Book>> = const { RefCell::new(None) };
    /// One sync at a time: the warm-up and the list's first sync arrive together, and the
    /// second must start from what the first read (the device's copy, the cursor).
    static SYNCING: std::rc::Rc<futures_util::lock::Mutex<()>> = std::rc::Rc::new(futures_util::lock::Mutex::new(()));
}

/// The API from this worker (`plico_client::web::fetch`).
pub(crate) struct Fetch;

impl Transport for Fetch {
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<TransportBody>,
    ) -> Result<TransportResponse, String> {
        plico_client::web::fetch(method, path, body).await.map_err(|_| "The server cannot be reached.".to_owned())
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

/// Reads this device's copy, once.
async fn load_local() {
    let Ok(Some(local)) = with_book(|book| {
        if book.loaded {
            None
        } else {
            book.loaded = true;
            book.local.clone()
        }
    }) else {
        return;
    };
    let Ok(db) = Database::open(DATABASE).await else { return };
    let found = db.get(&[local.name(RECORD)]).await;
    db.close();
    let Some(sealed) = found.ok().and_then(|found| found.into_iter().next().flatten()) else { return };
    let saved = match local.open(RECORD, &sealed).map(|plain| serde_json::from_slice::<Value>(&plain)) {
        Ok(Ok(saved)) => saved,
        _ => {
            web_sys::console::warn_1(
                &"contacts: this device's copy does not open; it is read again from the server".into(),
            );
            return;
        }
    };
    let _ = with_book(|book| {
        if book.cursor != 0 {
            return;
        }
        for item in saved["items"].as_array().into_iter().flatten() {
            let (Some(id), Some(version)) = (item["id"].as_str(), item["version"].as_i64()) else { continue };
            let opened = Opened {
                id: id.to_owned(),
                version,
                updated_at: item["updated_at"].as_i64().unwrap_or(0),
                deleted_at: item["deleted_at"].as_i64(),
                content: item["content"].clone(),
            };
            // The list's summary as it was written, so 10,000 cards are not parsed again.
            match summary_of_json(&item["summary"]) {
                Some(summary) => {
                    book.summaries.insert(opened.id.clone(), Some(summary));
                    book.items.insert(opened.id.clone(), opened);
                }
                None => hold(book, opened),
            }
        }
        book.cursor = saved["cursor"].as_i64().unwrap_or(0);
    });
}

/// A summary as [`persist`] writes it.
fn summary_of_json(value: &Value) -> Option<Summary> {
    let texts = |name: &str| -> Option<Vec<String>> {
        value.get(name)?.as_array()?.iter().map(|text| text.as_str().map(str::to_owned)).collect()
    };
    Some(Summary {
        name: value.get("name")?.as_str()?.to_owned(),
        emails: texts("emails")?,
        phones: texts("phones")?,
        organization: value.get("organization").and_then(Value::as_str).map(str::to_owned),
        groups: texts("groups")?,
    })
}

/// Writes this device's copy 1.5 s from now (once for many changes: an import saves thousands).
fn persist_later() {
    let due = with_book(|book| {
        let first = book.local.is_some() && !book.persist_due;
        book.persist_due = true;
        first
    });
    if due != Ok(true) {
        return;
    }
    let write = Closure::once_into_js(|| wasm_bindgen_futures::spawn_local(persist()));
    let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(write.unchecked_ref(), 1500);
}

async fn persist() {
    let Ok(Some((local, json))) = with_book(|book| {
        book.persist_due = false;
        let items: Vec<Value> = book
            .items
            .values()
            .map(|item| {
                let summary = book.summaries.get(&item.id).cloned().flatten().map(|summary| {
                    json!({"name": summary.name, "emails": summary.emails, "phones": summary.phones,
                           "organization": summary.organization, "groups": summary.groups})
                });
                json!({"id": item.id, "version": item.version, "updated_at": item.updated_at,
                       "deleted_at": item.deleted_at, "content": item.content, "summary": summary})
            })
            .collect();
        let json = serde_json::to_vec(&json!({"cursor": book.cursor, "items": items})).ok()?;
        Some((book.local.clone()?, json))
    }) else {
        return;
    };
    let sealed = local.seal(RECORD, &json);
    drop(json);
    match Database::open(DATABASE).await {
        Ok(db) => {
            if let Err(error) = db.put(vec![(local.name(RECORD), sealed)], Durability::Relaxed).await {
                web_sys::console::warn_1(&format!("contacts: the copy on this device was not written: {error}").into());
            }
            db.close();
        }
        Err(error) => web_sys::console::warn_1(&format!("contacts: no device storage: {error}").into()),
    }
}

/// Brings the held contacts up to date with the server. Without the network, what this
/// device's copy holds is what there is.
async fn sync() -> Result<(), String> {
    let lock = SYNCING.with(std::rc::Rc::clone);
    let _one_at_a_time = lock.lock().await;
    load_local().await;
    match sync_network().await {
        Err(FlowError::Network(_)) if with_book(|book| !book.items.is_empty()).unwrap_or(false) => Ok(()),
        other => other.map_err(|error| error.to_string()),
    }
}

async fn sync_network() -> Result<(), FlowError> {
    let (key, cursor, held) = with_book(|book| {
        let held: BTreeMap<String, i64> = book.items.iter().map(|(id, item)| (id.clone(), item.version)).collect();
        (book.key.clone(), book.cursor, held)
    })
    .map_err(FlowError::Protocol)?;
    let synced = items::sync(&Fetch, &key, KIND, cursor, |id| held.get(id).copied().unwrap_or(0)).await?;
    with_book(|book| {
        let changed = !synced.opened.is_empty() || !synced.removed.is_empty();
        for opened in synced.opened {
            book.refused.remove(&opened.id);
            hold(book, opened);
        }
        for (id, why) in synced.refused {
            book.refused.insert(id, why.to_string());
        }
        for id in synced.removed {
            book.items.remove(&id);
            book.summaries.remove(&id);
            book.refused.remove(&id);
        }
        book.cursor = synced.cursor;
        book.synced_at = js_sys::Date::now();
        if changed {
            book.completer = None;
        }
        changed
    })
    .map(|changed| {
        if changed {
            persist_later();
        }
    })
    .map_err(FlowError::Protocol)
}

/// Syncs unless the last sync is younger than `fresh_ms`.
async fn sync_within(fresh_ms: f64) -> Result<(), String> {
    if with_book(|book| js_sys::Date::now() - book.synced_at > fresh_ms)? {
        sync().await?;
    }
    Ok(())
}

/// Keeps an opened contact, and what the list reads of it.
fn hold(book: &mut Book, opened: Opened<Value>) {
    let summary = from_content(&opened.content).ok().map(|card| summary(&card));
    book.summaries.insert(opened.id.clone(), summary);
    book.items.insert(opened.id.clone(), opened);
}

fn row(book: &Book, item: &Opened<Value>) -> Option<ContactRow> {
    let summary = book.summaries.get(&item.id)?.clone()?;
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
        hold(book, saved);
        book.completer = None;
    })?;
    persist_later();
    Ok(())
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
                let mut rows: Vec<ContactRow> = book
                    .items
                    .values()
                    .filter(|item| item.deleted_at.is_some() == deleted)
                    .filter_map(|item| row(book, item))
                    .collect();
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
        ContactsCommand::Save { id, fields, original } => {
            let id = id.unwrap_or_else(items::new_id);
            if !plico_api::items::is_item_id(&id) {
                return Err("That is not a contact's id.".into());
            }
            let base = with_book(|book| book.items.get(&id).map(|item| item.content.clone()))?;
            // What the user changed, over the contact as it is now: a field another device
            // changed since the editor opened keeps that change unless the user changed it too.
            let fields = match (&base, original) {
                (Some(base), Some(original)) => {
                    let current = edit::fields(base)?;
                    Box::new(edit::rebase(&original, &fields, &current))
                }
                _ => fields,
            };
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
        ContactsCommand::Export { ids } => export(ids, &[]).await,
        ContactsCommand::ExportWithKeys { ids, keyring } => {
            let keys = serde_json::from_str::<plico_api::contacts::KeptKeys>(&keyring)
                .map_err(|error| format!("The keyring could not be read: {error}"))?;
            export(ids, &keys.keys).await
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
        ContactsCommand::IndexDocs => {
            // A search asks before each query: the server is asked at most once a minute.
            sync_within(60_000.0).await.ok();
            with_book(index_commands)?.map(ContactsOutcome::IndexDocs)
        }
        ContactsCommand::LookUpKey { address } => {
            crate::lookup::look_up(&address).await.map(|key| ContactsOutcome::LookedUp(key.map(Into::into)))
        }
        ContactsCommand::Keys | ContactsCommand::VerifyKey { .. } | ContactsCommand::FindKey { .. } => {
            Err("The crypto worker answers for keys, and did not.".to_owned())
        }
        ContactsCommand::Calendar(_) => Err("The calendar worker answers calendar commands.".to_owned()),
        ContactsCommand::Complete { typed, limit } => {
            // The composer asks on each keystroke: a sync a minute is enough for suggestions.
            sync_within(60_000.0).await.ok();
            if typed.trim().is_empty() {
                // Nothing typed: the page only wanted the worker started and synced.
                return Ok(ContactsOutcome::Suggestions(Vec::new()));
            }
            with_book(|book| {
                if book.completer.is_none() {
                    let summaries = book
                        .items
                        .values()
                        .filter(|item| item.deleted_at.is_none())
                        .filter_map(|item| book.summaries.get(&item.id).cloned().flatten())
                        .collect();
                    book.completer = Some(Completer::new(summaries));
                }
                let Some(completer) = book.completer.as_ref() else { return ContactsOutcome::Suggestions(Vec::new()) };
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
                        book.summaries.get(&item.id).cloned().flatten().is_some_and(|summary| {
                            summary.emails.iter().any(|email| email.eq_ignore_ascii_case(&address))
                        })
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
                    crate::calendar::keep_key(&key);
                    *book.borrow_mut() = Some(Book {
                        local: key.device.as_ref().map(|device| LocalKey::derive(device, &key.account)),
                        loaded: false,
                        persist_due: false,
                        indexed: None,
                        key: ItemKey::new(&key.secret, &key.account),
                        items: BTreeMap::new(),
                        summaries: BTreeMap::new(),
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
            Ok(ContactsRequest { id, command: ContactsCommand::Calendar(command) }) => {
                crate::calendar::forward(id, command)
            }
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

/// The contacts (all when `ids` is empty) as one vCard 4 file, each with the keyring's keys for
/// its addresses as `KEY`s.
async fn export(ids: Vec<String>, keys: &[plico_api::contacts::KeptKey]) -> Result<ContactsOutcome, String> {
    sync().await?;

    let cards = with_book(|book| {
        let mut chosen: Vec<&Opened<Value>> = book
            .items
            .values()
            .filter(|item| item.deleted_at.is_none() && (ids.is_empty() || ids.contains(&item.id)))
            .collect();
        chosen.sort_by_cached_key(|item| {
            book.summaries.get(&item.id).cloned().flatten().map(|summary| sort_key(&summary.name))
        });
        chosen
            .into_iter()
            .filter_map(|item| edit::card(&item.content))
            .map(|card| crate::trust::with_keys(&card, keys))
            .collect::<Vec<_>>()
    })?;
    Ok(ContactsOutcome::Exported { count: cards.len() as u32, vcf: write_vcf(&cards) })
}

/// The search commands that bring the device's search index to the contacts held now, and
/// what the book remembers of it.
fn index_commands(book: &mut Book) -> Result<Vec<serde_bytes::ByteBuf>, String> {
    use plico_search::protocol::SearchCommand;
    let encode = |command: &SearchCommand| {
        postcard::to_allocvec(command).map(serde_bytes::ByteBuf::from).map_err(|e| e.to_string())
    };
    let mut commands = Vec::new();
    let indexed = match book.indexed.take() {
        Some(indexed) => indexed,
        None => {
            commands.push(encode(&SearchCommand::RemoveFolder(crate::SEARCH_FOLDER.to_owned()))?);
            BTreeMap::new()
        }
    };
    let mut now = BTreeMap::new();
    let mut added = Vec::new();
    for item in book.items.values().filter(|item| item.deleted_at.is_none()) {
        if indexed.get(&item.id) != Some(&item.version) {
            added.extend(crate::search_document(&item.id, item.updated_at, &item.content));
        }
        now.insert(item.id.clone(), item.version);
    }
    let gone: Vec<String> = indexed.keys().filter(|id| !now.contains_key(*id)).map(|id| crate::search_id(id)).collect();
    if !gone.is_empty() {
        commands.push(encode(&SearchCommand::Remove(gone))?);
    }
    for batch in added.chunks(INDEX_BATCH) {
        commands.push(encode(&SearchCommand::Add(batch.to_vec()))?);
    }
    book.indexed = Some(now);
    Ok(commands)
}
