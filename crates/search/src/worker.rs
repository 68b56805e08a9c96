//! The search worker's loop (wasm only): the index in memory, its segments sealed in IndexedDB.
//!
//! Adding documents batches them: a segment is written once [`flush_after`] documents wait,
//! or [`FLUSH_DELAY_MS`] after the last change, in one transaction with the manifest and relaxed
//! durability (the index can be rebuilt from the mail). When the log grows past
//! [`COMPACT_SEGMENTS`] segments, or a quarter of the indexed documents were removed, the next
//! flush writes a snapshot instead, in pieces of a few MiB (each its own transaction, while
//! changes wait), then the manifest naming only them with the old segments deleted.
//! When the browser refuses a write for lack of space, the segment stays in memory and the
//! status says so: the crypto worker stops feeding older mail, search goes on.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use plico_local::idb::{Database, Durability, IdbError};
use plico_local::LocalKey;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::index::Index;
use crate::protocol::{IndexStatus, SearchCommand, SearchOutcome, SearchReply, SearchRequest};
use crate::store::{self, Manifest};

/// The database the crypto worker's mailbox copy lives in: "forget this device" deletes it all.
pub const DATABASE: &str = "plico-local";
pub const FLUSH_DOCUMENTS: usize = 1_000;

/// Documents that may wait before a segment is written: at least [`FLUSH_DOCUMENTS`], and a
/// sixteenth of the index, so a build of 100,000 messages writes about 45 segments, not 100,
/// and never needs a compaction on the way.
pub fn flush_after(indexed: usize) -> usize {
    FLUSH_DOCUMENTS.max(indexed / 16)
}
const FLUSH_DELAY_MS: i32 = 1_000;
const COMPACT_SEGMENTS: usize = 64;
/// A compaction writes its snapshot in pieces of about this size, one transaction each.
const PIECE_BYTES: usize = 4 << 20;

/// An open index: in memory, and where it is stored.
pub struct Open {
    key: LocalKey,
    db: Rc<Database>,
    index: RefCell<Index>,
    manifest: RefCell<Manifest>,
    /// Segments the browser had no room for, oldest first: written before the next one.
    unsaved: RefCell<Vec<Vec<u8>>>,
    out_of_space: Cell<bool>,
    flush_scheduled: Cell<bool>,
    /// A snapshot failed to write: the next flush must write one.
    needs_snapshot: Cell<bool>,
    /// A compaction is writing its pieces: changes wait, so the pieces describe one index.
    compacting: Cell<bool>,
    /// (segments that start a compaction, bytes per piece); tests make them small.
    compaction: Cell<(usize, usize)>,
    /// One flush at a time: they must reach the store in order.
    flushing: Cell<bool>,
}

thread_local! {
    static OPEN: RefCell<Option<Rc<Open>>> = const { RefCell::new(None) };
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn reply(reply: &SearchReply) {
    let Ok(bytes) = postcard::to_allocvec(reply) else { return };
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    let transfer = js_sys::Array::of1(&array.buffer());
    let _ = scope().post_message_with_transfer(&array, &transfer);
}

fn open_index() -> Result<Rc<Open>, String> {
    OPEN.with(|slot| slot.borrow().clone()).ok_or_else(|| "The search index is not open; sign in again.".to_owned())
}

fn status(open: &Open) -> IndexStatus {
    let index = open.index.borrow();
    IndexStatus {
        documents: index.len() as u32,
        oldest: index.oldest(),
        stored_bytes: open.manifest.borrow().stored_bytes(),
        out_of_space: open.out_of_space.get(),
    }
}

fn is_quota(error: &IdbError) -> bool {
    matches!(error, IdbError::Failed(text) if text.contains("Quota"))
}

impl Open {
    /// The index in memory.
    pub fn index(&self) -> std::cell::RefMut<'_, Index> {
        self.index.borrow_mut()
    }

    pub fn status(&self) -> IndexStatus {
        status(self)
    }

    /// Compacts once the log has `segments` segments, writing pieces of `piece_bytes` (tests).
    pub fn set_compaction(&self, segments: usize, piece_bytes: usize) {
        self.compaction.set((segments, piece_bytes));
    }

    /// Segments the stored log holds.
    pub fn stored_segments(&self) -> usize {
        self.manifest.borrow().segments.len()
    }

    /// The IndexedDB connection (for tests that read it raw).
    pub fn database(&self) -> &Database {
        &self.db
    }
}

/// Reads the stored index of the account `secret` belongs to, from IndexedDB database
/// `database`. What does not open with this key (another account's, or damaged) is ignored:
/// the index starts empty and is rebuilt from the mail.
pub async fn load(database: &str, secret: &[u8], account: &str) -> Result<Rc<Open>, String> {
    let key = LocalKey::derive(secret, account);
    let db = Rc::new(Database::open(database).await.map_err(|error| error.to_string())?);
    let mut index = Index::new();
    let mut manifest = Manifest::default();
    let stored = db.get(&[store::manifest_name(&key)]).await.map_err(|error| error.to_string())?;
    if let Some(Some(sealed)) = stored.first() {
        match store::open_manifest(&key, sealed) {
            Ok(found) => manifest = found,
            Err(error) => {
                // Another account's index, or damage: start afresh (it is rebuilt from mail).
                web_sys::console::warn_1(&format!("search index: {error}; rebuilding").into());
            }
        }
    }
    for &(number, chunks, _) in &manifest.segments {
        let names = store::chunk_names(&key, number, chunks);
        let sealed = db.get(&names).await.map_err(|error| error.to_string())?;
        let applied = store::open_segment(&key, number, &sealed)
            .and_then(|bytes| index.apply_segment(&bytes).map_err(|error| error.to_string()));
        if let Err(error) = applied {
            web_sys::console::warn_1(&format!("search index: {error}; rebuilding").into());
            index = Index::new();
            manifest = Manifest { next: manifest.next, segments: Vec::new() };
            break;
        }
    }
    Ok(Rc::new(Open {
        key,
        db,
        index: RefCell::new(index),
        manifest: RefCell::new(manifest),
        unsaved: RefCell::new(Vec::new()),
        out_of_space: Cell::new(false),
        flush_scheduled: Cell::new(false),
        needs_snapshot: Cell::new(false),
        compacting: Cell::new(false),
        compaction: Cell::new((COMPACT_SEGMENTS, PIECE_BYTES)),
        flushing: Cell::new(false),
    }))
}

fn sleep(ms: i32) -> wasm_bindgen_futures::JsFuture {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    wasm_bindgen_futures::JsFuture::from(promise)
}

/// Waits until no compaction is writing (changes to the index wait for it).
async fn settle(open: &Open) {
    while open.compacting.get() {
        let _ = sleep(20).await;
    }
}

/// Writes what changed as a segment (or everything as a snapshot). Flushes run one after the
/// other: they must reach the store in order.
pub async fn flush(open: &Open) -> Result<(), String> {
    while open.flushing.replace(true) {
        let _ = sleep(20).await;
    }
    let result = flush_now(open).await;
    open.flushing.set(false);
    result
}

/// Replaces the stored log by a snapshot, written in pieces (one transaction each, under new
/// segment numbers), then the manifest naming only them with the old chunks deleted, in one
/// transaction. Until that last one, the old log is what a reload reads; a failure leaves it.
async fn compact_now(open: &Open) -> Result<(), String> {
    let old = open.manifest.borrow().clone();
    let piece_bytes = open.compaction.get().1;
    let mut snapshot = open.index.borrow_mut().begin_snapshot();
    let mut number = old.next;
    let mut segments = Vec::new();
    let failed = |error: IdbError| {
        // Memory thinks everything is written and the store has the old log: only another
        // snapshot can follow. Pieces already written are overwritten by the next attempt.
        open.needs_snapshot.set(true);
        open.out_of_space.set(is_quota(&error));
        error.to_string()
    };
    loop {
        let piece = open.index.borrow_mut().snapshot_piece(&mut snapshot, piece_bytes);
        let Some(piece) = piece else { break };
        let (records, entry) = store::seal_segment(&open.key, number, &piece);
        drop(piece);
        open.db.write(records, &[], Durability::Relaxed).await.map_err(failed)?;
        segments.push(entry);
        number += 1;
    }
    let manifest = Manifest { next: number, segments };
    let mut deleted = Vec::new();
    for &(number, chunks, _) in &old.segments {
        deleted.extend(store::chunk_names(&open.key, number, chunks));
    }
    open.db
        .write(vec![store::seal_manifest(&open.key, &manifest)], &deleted, Durability::Relaxed)
        .await
        .map_err(failed)?;
    open.unsaved.borrow_mut().clear();
    *open.manifest.borrow_mut() = manifest;
    open.out_of_space.set(false);
    open.needs_snapshot.set(false);
    Ok(())
}

async fn flush_now(open: &Open) -> Result<(), String> {
    let compact = {
        let index = open.index.borrow();
        let segments = open.manifest.borrow().segments.len() + open.unsaved.borrow().len();
        open.needs_snapshot.get()
            || segments >= open.compaction.get().0
            || (index.removed_share() > 0.25 && index.has_pending())
    };
    if compact {
        open.compacting.set(true);
        let result = compact_now(open).await;
        open.compacting.set(false);
        return result;
    }
    let manifest = open.manifest.borrow().clone();
    let Some(bytes) = open.index.borrow_mut().take_segment() else {
        if open.unsaved.borrow().is_empty() {
            return Ok(());
        }
        return write_unsaved(open, manifest).await;
    };
    open.unsaved.borrow_mut().push(bytes);
    write_unsaved(open, manifest).await
}

/// Writes the waiting segments after the stored ones.
async fn write_unsaved(open: &Open, mut manifest: Manifest) -> Result<(), String> {
    let mut records = Vec::new();
    for bytes in open.unsaved.borrow().iter() {
        let (sealed, entry) = store::seal_segment(&open.key, manifest.next, bytes);
        manifest.next += 1;
        manifest.segments.push(entry);
        records.extend(sealed);
    }
    records.push(store::seal_manifest(&open.key, &manifest));
    match open.db.write(records, &[], Durability::Relaxed).await {
        Ok(()) => {
            open.unsaved.borrow_mut().clear();
            *open.manifest.borrow_mut() = manifest;
            open.out_of_space.set(false);
            Ok(())
        }
        Err(error) => {
            open.out_of_space.set(is_quota(&error));
            Err(error.to_string())
        }
    }
}

fn schedule_flush(open: &Rc<Open>) {
    if open.flush_scheduled.replace(true) {
        return;
    }
    let open = Rc::clone(open);
    let callback = Closure::once_into_js(move || {
        open.flush_scheduled.set(false);
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(error) = flush(&open).await {
                web_sys::console::warn_1(&format!("search index: not saved: {error}").into());
            }
        });
    });
    let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), FLUSH_DELAY_MS);
}

async fn run(command: SearchCommand) -> Result<SearchOutcome, String> {
    match command {
        SearchCommand::Open { secret, account } => {
            let open = load(DATABASE, &secret, &account).await?;
            let status = status(&open);
            OPEN.with(|slot| *slot.borrow_mut() = Some(open));
            Ok(SearchOutcome::Status(status))
        }
        SearchCommand::Add(documents) => {
            let open = open_index()?;
            settle(&open).await;
            let (waiting, indexed) = {
                let mut index = open.index.borrow_mut();
                for document in &documents {
                    index.add(document);
                }
                (index.pending_documents(), index.len())
            };
            if waiting >= flush_after(indexed) {
                // Not fatal: the documents are searchable, and the write is retried.
                let _ = flush(&open).await;
            } else {
                schedule_flush(&open);
            }
            Ok(SearchOutcome::Status(status(&open)))
        }
        SearchCommand::Remove(_) | SearchCommand::RemoveFolder(_) => {
            let open = open_index()?;
            settle(&open).await;
            {
                let mut index = open.index.borrow_mut();
                let ids = match command {
                    SearchCommand::RemoveFolder(folder) => index.ids_in(&folder),
                    SearchCommand::Remove(ids) => ids,
                    _ => Vec::new(),
                };
                for id in &ids {
                    index.remove(id);
                }
            }
            schedule_flush(&open);
            Ok(SearchOutcome::Status(status(&open)))
        }
        SearchCommand::Update(changes) => {
            let open = open_index()?;
            settle(&open).await;
            {
                let mut index = open.index.borrow_mut();
                for (id, folder, flags) in &changes {
                    index.update(id, folder, *flags);
                }
            }
            schedule_flush(&open);
            Ok(SearchOutcome::Status(status(&open)))
        }
        SearchCommand::Missing(ids) => {
            let open = open_index()?;
            let index = open.index.borrow();
            Ok(SearchOutcome::Missing(ids.into_iter().filter(|id| !index.contains(id)).collect()))
        }
        SearchCommand::Query { text, folders, hidden, limit } => {
            let open = open_index()?;
            let lookup = |name: &str| -> Vec<String> {
                folders
                    .iter()
                    .filter(|(id, shown)| shown.eq_ignore_ascii_case(name) || id.eq_ignore_ascii_case(name))
                    .map(|(id, _)| id.clone())
                    .collect()
            };
            let mut query = crate::query::parse(&text).map_err(|error| error.to_string())?;
            query.hide_unless_named(&hidden);
            let results = open.index.borrow_mut().search(&query, &lookup, limit as usize);
            Ok(SearchOutcome::Results(results))
        }
        SearchCommand::Flush => {
            let open = open_index()?;
            flush(&open).await?;
            Ok(SearchOutcome::Status(status(&open)))
        }
        SearchCommand::Close => {
            if let Some(open) = OPEN.with(|slot| slot.borrow_mut().take()) {
                let _ = flush(&open).await;
                open.db.close();
            }
            Ok(SearchOutcome::Status(IndexStatus::default()))
        }
    }
}

/// Starts the loop: requests are postcard [`SearchRequest`]s, answered in arrival order for
/// each kind of work (a query never waits for a flush).
pub fn start() {
    console_error_panic_hook::set_once();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(|event: MessageEvent| {
        let Ok(array) = event.data().dyn_into::<js_sys::Uint8Array>() else { return };
        match postcard::from_bytes::<SearchRequest>(&array.to_vec()) {
            Ok(request) => wasm_bindgen_futures::spawn_local(async move {
                let result = run(request.command).await;
                reply(&SearchReply { id: request.id, result });
            }),
            Err(error) => web_sys::console::error_1(&format!("search: unreadable request: {error}").into()),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    // A zero-length message says "loaded": requests sent before it were queued by the caller.
    let _ = scope().post_message(&js_sys::Uint8Array::new_with_length(0));
}
