//! What this device keeps so that mail reads, and gets written, without the network: copies of
//! message blobs, and the Outbox. Both live in the mailbox's database, sealed with the device
//! key under keyed-hash names like every other record ([`plico_local`]).
//!
//! **Kept blobs.** A blob is what the server stores, PGP/MIME encrypted to the user's key; the
//! copy here is sealed once more, so the database shows neither which message it is nor whose.
//! Messages the user opens are kept, and messages the search index reads while there is room,
//! newest first. Room is [`MAX_KEPT`] bytes or a tenth of what the browser grants the origin,
//! whichever is smaller, so the search index keeps its room. When it runs out, copies of mail
//! only indexed go before copies of mail the user opened, and among each the oldest (or least
//! recently opened) first. After a sync that removed messages (or a whole one), the copies of
//! messages that left the mailbox are deleted: a purged message is purged on this device too.
//!
//! **The Outbox.** A message sent while the network is down waits here, sealed with its
//! attachments, and goes, oldest first, when the UI says the connection is back
//! (`WorkerCommand::SendOutbox`). Its records are written with strict durability: until it is
//! sent, this device holds the only copy.
//!
//! **The way in.** A device the user keeps usable offline holds a record that the password
//! opens without the server ([`plico_client::device_unlock`]); it lives in the same database,
//! under a hashed name, and goes with "forget this device".

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

use plico_api::worker::{OutboxItem, OutgoingMessage};
use plico_client::device_unlock;
use plico_client::flows::BlobUse;
use plico_client::FlowError;
use plico_local::idb::{Database, Durability};
use wasm_bindgen::JsCast;

use crate::mailbox;
use crate::room::{self, fit, Kept};

/// The most bytes of blobs a device keeps.
pub const MAX_KEPT: u64 = 64 << 20;
/// Kept blobs are saved this long after they were read, so an index build writes in batches.
const SAVE_DELAY_MS: i32 = 1_000;
const BLOB_INDEX: &str = "blobs/index";
const OUTBOX_INDEX: &str = "outbox/index";

fn blob_record(hash: &str) -> String {
    format!("blobs/{hash}")
}

fn outbox_record(id: &str) -> String {
    format!("outbox/{id}")
}

fn log(what: &str, error: impl std::fmt::Display) {
    web_sys::console::warn_1(&format!("offline copies: {what}: {error}").into());
}

fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// A blob read this session, not saved yet (`blob: None`: already kept, only opened again).
struct Pending {
    hash: String,
    blob: Option<Vec<u8>>,
    opened_at: i64,
    received_at: i64,
}

#[derive(Default)]
struct Blobs {
    /// The kept blobs as last read or written; `None` until read this unlock.
    index: Option<Vec<Kept>>,
    pending: Vec<Pending>,
    /// Hashes whose copies go at the next save.
    forget: HashSet<String>,
    save_scheduled: bool,
    budget: Option<u64>,
}

thread_local! {
    static BLOBS: RefCell<Blobs> = RefCell::new(Blobs::default());
    static SENDING: Cell<bool> = const { Cell::new(false) };
}

/// Sign-out: what is pending is saved by [`save`] first; then the state goes.
pub async fn lock() {
    save().await;
    BLOBS.with(|blobs| *blobs.borrow_mut() = Blobs::default());
}

/// The list sealed as `record` (the kept blobs' index, the Outbox's); empty when there is none
/// or it does not open.
fn read_list<T: serde::de::DeserializeOwned>(
    key: &plico_local::LocalKey,
    record: &str,
    sealed: Option<&Vec<u8>>,
) -> Vec<T> {
    sealed
        .and_then(|sealed| key.open(record, sealed).map_err(|error| log(record, error)).ok())
        .and_then(|plain| postcard::from_bytes(&plain).ok())
        .unwrap_or_default()
}

/// Record `record` of the unlocked account, opened.
async fn read_one(record: &str) -> Option<Vec<u8>> {
    let (key, db) = mailbox::store().await?;
    let found = db.get(&[key.name(record)]).await.map_err(|error| log("cannot read", error)).ok()?;
    let sealed = found.into_iter().next().flatten()?;
    // A record that does not open (damaged) is as good as none.
    key.open(record, &sealed).map_err(|error| log("a record does not open", error)).ok()
}

async fn load_index() {
    if BLOBS.with(|blobs| blobs.borrow().index.is_some()) {
        return;
    }
    let index: Vec<Kept> =
        read_one(BLOB_INDEX).await.and_then(|plain| postcard::from_bytes(&plain).ok()).unwrap_or_default();
    BLOBS.with(|blobs| {
        let mut blobs = blobs.borrow_mut();
        if blobs.index.is_none() {
            blobs.index = Some(index);
        }
    });
}

/// The copy of blob `hash` this device kept.
pub async fn kept(hash: &str) -> Option<Vec<u8>> {
    load_index().await;
    let known = BLOBS.with(|blobs| {
        let blobs = blobs.borrow();
        if let Some(pending) = blobs.pending.iter().find(|pending| pending.hash == hash && pending.blob.is_some()) {
            return Err(pending.blob.clone());
        }
        Ok(blobs.index.as_ref().is_some_and(|index| index.iter().any(|kept| kept.hash == hash)))
    });
    match known {
        Err(pending) => pending,
        Ok(false) => None,
        // The server still has the blob when the copy is gone or damaged.
        Ok(true) => read_one(&blob_record(hash)).await,
    }
}

/// Blob `hash` was read for `why`: keep it (or note that it was opened again).
pub fn keep(hash: &str, blob: &[u8], why: BlobUse) {
    let (opened_at, received_at) = match why {
        BlobUse::Once => return,
        BlobUse::Read => (now(), 0),
        BlobUse::Indexed { received_at } => (0, received_at),
    };
    let wanted = BLOBS.with(|blobs| {
        let mut guard = blobs.borrow_mut();
        let blobs = &mut *guard;
        let budget = blobs.budget.unwrap_or(MAX_KEPT);
        let index = blobs.index.get_or_insert_with(Vec::new);
        let pending = &mut blobs.pending;
        if let Some(kept) = index.iter().find(|kept| kept.hash == hash) {
            if opened_at > kept.opened_at {
                let received_at = kept.received_at;
                pending.push(Pending { hash: hash.to_owned(), blob: None, opened_at, received_at });
                return true;
            }
            return false;
        }
        if pending.iter().any(|pending| pending.hash == hash) {
            return false;
        }
        let used: u64 = index.iter().map(|kept| kept.size).sum::<u64>()
            + pending.iter().filter_map(|pending| pending.blob.as_ref()).map(|blob| blob.len() as u64).sum::<u64>();
        if !room::admits(index, used, budget, blob.len() as u64, opened_at, received_at) {
            return false;
        }
        pending.push(Pending { hash: hash.to_owned(), blob: Some(blob.to_vec()), opened_at, received_at });
        true
    });
    if wanted {
        schedule_save();
    }
}

/// After a sync: copies of blobs no message of the mailbox names any more are deleted.
pub async fn prune(live: HashSet<String>) {
    load_index().await;
    let any = BLOBS.with(|blobs| {
        let mut blobs = blobs.borrow_mut();
        let gone: Vec<String> = blobs
            .index
            .iter()
            .flatten()
            .map(|kept| kept.hash.clone())
            .chain(blobs.pending.iter().map(|pending| pending.hash.clone()))
            .filter(|hash| !live.contains(hash))
            .collect();
        blobs.pending.retain(|pending| live.contains(&pending.hash));
        let any = !gone.is_empty();
        blobs.forget.extend(gone);
        any
    });
    if any {
        schedule_save();
    }
}

fn schedule_save() {
    if BLOBS.with(|blobs| std::mem::replace(&mut blobs.borrow_mut().save_scheduled, true)) {
        return;
    }
    wasm_bindgen_futures::spawn_local(async {
        mailbox::sleep(SAVE_DELAY_MS).await;
        save().await;
    });
}

/// A tenth of the origin's quota, at most [`MAX_KEPT`]; `MAX_KEPT` when the browser does not say.
async fn budget() -> u64 {
    if let Some(budget) = BLOBS.with(|blobs| blobs.borrow().budget) {
        return budget;
    }
    let quota = async {
        let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
        let storage = js_sys::Reflect::get(&navigator, &"storage".into()).ok().filter(|value| value.is_object())?;
        let estimate: js_sys::Function = js_sys::Reflect::get(&storage, &"estimate".into()).ok()?.dyn_into().ok()?;
        let promise: js_sys::Promise = estimate.call0(&storage).ok()?.dyn_into().ok()?;
        let answer = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
        js_sys::Reflect::get(&answer, &"quota".into()).ok()?.as_f64()
    }
    .await;
    let budget = quota.map_or(MAX_KEPT, |quota| ((quota / 10.0) as u64).min(MAX_KEPT));
    BLOBS.with(|blobs| blobs.borrow_mut().budget = Some(budget));
    budget
}

/// Writes what is pending and deletes what is forgotten, in one transaction that merges with
/// what another tab wrote.
async fn save() {
    let (pending, forget) = BLOBS.with(|blobs| {
        let mut blobs = blobs.borrow_mut();
        blobs.save_scheduled = false;
        (std::mem::take(&mut blobs.pending), std::mem::take(&mut blobs.forget))
    });
    if pending.is_empty() && forget.is_empty() {
        return;
    }
    let Some((key, db)) = mailbox::store().await else { return };
    let budget = budget().await;
    let index_name = key.name(BLOB_INDEX);
    let mut written = None;
    let result = db
        .update_deleting(std::slice::from_ref(&index_name), Durability::Relaxed, |current| {
            let mut index: Vec<Kept> = read_list(&key, BLOB_INDEX, current.first().and_then(Option::as_ref));
            let mut deleted = Vec::new();
            index.retain(|kept| {
                let gone = forget.contains(&kept.hash);
                if gone {
                    deleted.push(key.name(&blob_record(&kept.hash)));
                }
                !gone
            });
            let mut fresh: HashMap<String, Vec<u8>> = HashMap::new();
            for pending in pending {
                match index.iter_mut().find(|kept| kept.hash == pending.hash) {
                    Some(kept) => kept.opened_at = kept.opened_at.max(pending.opened_at),
                    None => {
                        if let Some(blob) = pending.blob {
                            index.push(Kept {
                                hash: pending.hash.clone(),
                                size: blob.len() as u64,
                                opened_at: pending.opened_at,
                                received_at: pending.received_at,
                            });
                            fresh.insert(pending.hash, blob);
                        }
                    }
                }
            }
            let (index, out) = fit(index, budget);
            for hash in out {
                if fresh.remove(&hash).is_none() {
                    deleted.push(key.name(&blob_record(&hash)));
                }
            }
            let mut records: Vec<(String, Vec<u8>)> = fresh
                .into_iter()
                .map(|(hash, blob)| {
                    let record = blob_record(&hash);
                    (key.name(&record), key.seal(&record, &blob))
                })
                .collect();
            let plain = postcard::to_allocvec(&index).unwrap_or_default();
            records.push((index_name.clone(), key.seal(BLOB_INDEX, &plain)));
            written = Some(index);
            (records, deleted)
        })
        .await;
    match result {
        Ok(_) => BLOBS.with(|blobs| blobs.borrow_mut().index = written),
        // Out of room, most likely: these copies are not kept; the server still has the mail.
        Err(error) => {
            log("cannot save", error);
            BLOBS.with(|blobs| blobs.borrow_mut().index = None);
        }
    }
}

/// The Outbox's list, oldest first.
pub async fn outbox() -> Vec<OutboxItem> {
    read_one(OUTBOX_INDEX).await.and_then(|plain| postcard::from_bytes(&plain).ok()).unwrap_or_default()
}

fn unkept(error: impl std::fmt::Display) -> FlowError {
    FlowError::Invalid(format!(
        "You are offline, and this browser could not keep the message to send it later ({error}). \
         It is still here: try again when the connection is back."
    ))
}

/// Changes the Outbox's list with `change` and writes `written` and deletes `deleted` with it,
/// in one strict transaction that merges with what another tab wrote; answers the new list.
async fn change_outbox(
    written: Vec<(String, Vec<u8>)>,
    deleted: Vec<String>,
    change: impl FnOnce(&mut Vec<OutboxItem>),
) -> Result<Vec<OutboxItem>, String> {
    let (key, db) = mailbox::store().await.ok_or("no storage on this device")?;
    let index_name = key.name(OUTBOX_INDEX);
    let mut list = Vec::new();
    db.update_deleting(std::slice::from_ref(&index_name), Durability::Strict, |current| {
        list = read_list(&key, OUTBOX_INDEX, current.first().and_then(Option::as_ref));
        change(&mut list);
        let plain = postcard::to_allocvec(&list).unwrap_or_default();
        let mut written = written;
        written.push((index_name.clone(), key.seal(OUTBOX_INDEX, &plain)));
        (written, deleted)
    })
    .await
    .map_err(|error| error.to_string())?;
    Ok(list)
}

/// [`change_outbox`] where a failure is only logged: the list as it was answers.
async fn change_outbox_or_log(deleted: Vec<String>, change: impl FnOnce(&mut Vec<OutboxItem>)) -> Vec<OutboxItem> {
    match change_outbox(Vec::new(), deleted, change).await {
        Ok(list) => list,
        Err(error) => {
            log("cannot change the outbox", error);
            outbox().await
        }
    }
}

/// Puts `message` (its forwarded attachments already in it) in the Outbox.
/// `id` names the item, and is the idempotency key its sends go under: the one the first try
/// used, so a send whose answer was lost is not sent twice when the Outbox tries again.
pub async fn queue(message: OutgoingMessage, id: String) -> Result<Vec<OutboxItem>, FlowError> {
    let (key, _) = mailbox::store().await.ok_or_else(|| unkept("no storage on this device"))?;
    let item = OutboxItem {
        id: id.clone(),
        recipients: message.to.iter().chain(&message.cc).chain(&message.bcc).cloned().collect(),
        subject: message.subject.clone(),
        queued_at: now(),
        error: None,
    };
    let plain = postcard::to_allocvec(&message).map_err(unkept)?;
    let record = outbox_record(&id);
    let sealed = (key.name(&record), key.seal(&record, &plain));
    drop(plain);
    change_outbox(vec![sealed], Vec::new(), |list| list.push(item)).await.map_err(unkept)
}

/// Deletes item `id` (sent, or deleted by the user); answers what is left.
pub async fn remove(id: &str) -> Vec<OutboxItem> {
    let Some((key, _)) = mailbox::store().await else { return Vec::new() };
    change_outbox_or_log(vec![key.name(&outbox_record(id))], |list| list.retain(|item| item.id != id)).await
}

/// Sends every item not refused before (and item `again`, refused or not), oldest first, with
/// `send`; stops at the first network failure, and marks an item the server refused with the
/// reason. Answers what is left. One run at a time: a second call answers the list as it is.
pub async fn send_all<F, Fut>(again: Option<&str>, send: F) -> Vec<OutboxItem>
where
    F: Fn(String, OutgoingMessage) -> Fut,
    Fut: std::future::Future<Output = Result<(), FlowError>>,
{
    if SENDING.with(|sending| sending.replace(true)) {
        return outbox().await;
    }
    let mut list = outbox().await;
    for item in list.clone().into_iter().filter(|item| item.error.is_none() || again == Some(item.id.as_str())) {
        let Some(message) = message(&item.id).await else {
            list = change_outbox_or_log(Vec::new(), |list| {
                mark(list, &item.id, "This device could not read the message back.")
            })
            .await;
            continue;
        };
        match send(item.id.clone(), message).await {
            Ok(()) => list = remove(&item.id).await,
            Err(FlowError::Network(_)) => break,
            Err(error) => {
                let reason = error.to_string();
                list = change_outbox_or_log(Vec::new(), |list| mark(list, &item.id, &reason)).await;
            }
        }
    }
    SENDING.with(|sending| sending.set(false));
    list
}

fn mark(list: &mut [OutboxItem], id: &str, reason: &str) {
    if let Some(item) = list.iter_mut().find(|item| item.id == id) {
        item.error = Some(reason.to_owned());
    }
}

/// The message of Outbox item `id`.
async fn message(id: &str) -> Option<OutgoingMessage> {
    read_one(&outbox_record(id)).await.and_then(|plain| postcard::from_bytes(&plain).ok())
}

/// This device's way in for `address`, if the user chose to keep one. Read before any key is
/// unlocked, so through a connection of its own.
pub async fn device_unlock(address: &str) -> Option<Vec<u8>> {
    let db = Database::open(mailbox::DATABASE).await.map_err(|error| log("cannot open", error)).ok()?;
    let found = db.get(&[device_unlock::record_name(address)]).await;
    db.close();
    found.map_err(|error| log("cannot read the way in", error)).ok()?.into_iter().next().flatten()
}

/// Keeps (`Some`) or deletes (`None`) this device's way in for `address`.
pub async fn set_device_unlock(address: &str, record: Option<Vec<u8>>) {
    let db = match Database::open(mailbox::DATABASE).await {
        Ok(db) => db,
        Err(error) => return log("cannot open", error),
    };
    let name = device_unlock::record_name(address);
    let written = match record {
        Some(record) => db.put(vec![(name, record)], Durability::Strict).await,
        None => db.write(Vec::new(), &[name], Durability::Strict).await,
    };
    db.close();
    if let Err(error) = written {
        log("cannot keep the way in", error);
    }
}

/// The highest version of each sealed document this device has read or written, sealed like
/// every record: a server that serves an older one is rolling it back (`plico_client::sealed`).
const SEEN_VERSIONS: &str = "sealed/versions";

/// The highest version of the sealed document at `path` this device has seen; 0 when none.
pub async fn seen_version(path: &str) -> i64 {
    let versions: Vec<(String, i64)> =
        read_one(SEEN_VERSIONS).await.and_then(|plain| postcard::from_bytes(&plain).ok()).unwrap_or_default();
    versions.into_iter().find(|(seen, _)| seen == path).map_or(0, |(_, version)| version)
}

/// Remembers that the sealed document at `path` was seen at `version`, in one transaction that
/// keeps the highest of this tab's and another's.
pub async fn saw_version(path: &str, version: i64) {
    let Some((key, db)) = mailbox::store().await else { return };
    let name = key.name(SEEN_VERSIONS);
    let written = db
        .update_deleting(std::slice::from_ref(&name), Durability::Strict, |current| {
            let mut versions: Vec<(String, i64)> =
                read_list(&key, SEEN_VERSIONS, current.first().and_then(Option::as_ref));
            match versions.iter_mut().find(|(seen, _)| seen == path) {
                Some((_, seen)) if *seen >= version => return (Vec::new(), Vec::new()),
                Some((_, seen)) => *seen = version,
                None => versions.push((path.to_owned(), version)),
            }
            let plain = postcard::to_allocvec(&versions).unwrap_or_default();
            (vec![(name.clone(), key.seal(SEEN_VERSIONS, &plain))], Vec::new())
        })
        .await;
    if let Err(error) = written {
        log("cannot remember a document's version", error);
    }
}
