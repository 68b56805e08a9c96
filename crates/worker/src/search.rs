//! The search worker, seen from the crypto worker: opened with the index key after sign-in,
//! fed the text of every message this worker decrypts (newest first), told of moves, flag
//! changes and deletions after each sync, and asked the user's queries.
//!
//! The index key is `LocalKey::subkey("search")` of this device's key for the account: the
//! search worker can open its own records, not the mailbox copy, and never sees the secret key.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

use plico_api::mail::{FolderRole, MessageMeta};
use plico_api::worker::{IndexProgress, IndexView, WorkerOutcome};
use plico_client::{mail, FlowError, UnlockedSession};
use plico_search::protocol::{IndexStatus, SearchCommand, SearchOutcome, SearchReply, SearchRequest};

use crate::mailbox;
use crate::nested::Nested;
use crate::render::RenderWorker;
use crate::transport::FetchTransport;

/// trunk writes the search worker's loader under its binary name.
const SEARCH_URL: &str = "/plico-search_loader.js";
/// Messages fetched and decrypted at once while building.
const BATCH: usize = 8;

#[derive(Default)]
struct Build {
    running: bool,
    paused: bool,
    /// Messages that would not open this session (not retried until the next sign-in).
    failed: HashSet<String>,
}

thread_local! {
    static SEARCH: RefCell<Option<Rc<Nested>>> = const { RefCell::new(None) };
    static BUILD: RefCell<Build> = RefCell::new(Build::default());
    static STATUS: Cell<IndexStatus> = const { Cell::new(IndexStatus { documents: 0, oldest: None, stored_bytes: 0, out_of_space: false }) };
    static MISSING: Cell<u32> = const { Cell::new(0) };
}

fn crypto(message: String) -> FlowError {
    FlowError::Invalid(message)
}

fn worker() -> Option<Rc<Nested>> {
    SEARCH.with(|slot| slot.borrow().clone()).filter(|worker| !worker.stopped())
}

async fn ask_worker(worker: &Nested, command: SearchCommand) -> Result<SearchOutcome, String> {
    let id = worker.next_id();
    let bytes = postcard::to_allocvec(&SearchRequest { id, command }).map_err(|error| error.to_string())?;
    let answer = worker.ask(id, bytes).await?;
    let reply: SearchReply =
        postcard::from_bytes(&answer).map_err(|error| format!("The search worker answered unreadably: {error}"))?;
    let outcome = reply.result?;
    if let SearchOutcome::Status(status) = &outcome {
        STATUS.with(|cell| cell.set(status.clone()));
    }
    Ok(outcome)
}

/// Hands the search worker a command another worker wrote in postcard bytes (the contacts
/// worker's documents); its answer is not read.
pub async fn ask_raw(command: &[u8]) {
    let Some(worker) = worker() else { return };
    let id = worker.next_id();
    let mut bytes = postcard::to_allocvec(&id).unwrap_or_default();
    bytes.extend_from_slice(command);
    let _ = worker.ask(id, bytes).await;
}

async fn ask(command: SearchCommand) -> Result<SearchOutcome, String> {
    let worker = worker().ok_or_else(|| "Search is not ready on this device; sign in again.".to_owned())?;
    ask_worker(&worker, command).await
}

/// Starts the search worker and opens the account's index (after sign-in).
pub async fn open(session: &UnlockedSession) {
    let Some(key) = plico_client::cache::device_key(session) else { return };
    let worker = match Nested::spawn(SEARCH_URL, "plico-search", "search worker") {
        Ok(worker) => worker,
        Err(error) => {
            web_sys::console::warn_1(&error.into());
            return;
        }
    };
    SEARCH.with(|slot| *slot.borrow_mut() = Some(Rc::clone(&worker)));
    BUILD.with(|build| *build.borrow_mut() = Build::default());
    let command =
        SearchCommand::Open { secret: key.subkey("search").to_vec(), account: session.account.address.clone() };
    if let Err(error) = ask_worker(&worker, command).await {
        web_sys::console::warn_1(&format!("search index: {error}").into());
    }
}

/// Writes what is unwritten and stops the search worker (sign-out). "Forget this device"
/// deletes the database it wrote to with the mailbox copy.
pub async fn close() {
    BUILD.with(|build| build.borrow_mut().paused = true);
    if let Some(worker) = SEARCH.with(|slot| slot.borrow_mut().take()) {
        let _ = ask_worker(&worker, SearchCommand::Close).await;
        worker.terminate();
    }
    STATUS.with(|cell| cell.set(IndexStatus::default()));
}

/// The search worker's last status.
fn last_status() -> IndexStatus {
    STATUS.with(|cell| {
        let status = cell.take();
        cell.set(status.clone());
        status
    })
}

fn view() -> IndexView {
    let status = last_status();
    IndexView {
        documents: status.documents,
        oldest: status.oldest,
        missing: MISSING.with(Cell::get),
        stored_bytes: status.stored_bytes,
        paused: BUILD.with(|build| build.borrow().paused),
        out_of_space: status.out_of_space,
    }
}

/// Messages the index should hold, newest first: everything not deleted.
fn wanted() -> Vec<(String, i64)> {
    let mut ids: Vec<(String, i64)> = mailbox::with(|mailbox| {
        mailbox
            .metas()
            .filter(|meta| meta.deleted_at.is_none())
            .map(|meta| (meta.id.clone(), meta.received_at))
            .collect()
    });
    ids.sort_unstable_by_key(|entry| std::cmp::Reverse(entry.1));
    ids
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Indexes every message not indexed yet, newest first, reporting progress.
pub async fn build(session: &UnlockedSession, progress: impl Fn(IndexProgress)) -> Result<WorkerOutcome, FlowError> {
    if worker().is_none() {
        return Err(FlowError::Invalid("Search is not ready on this device; sign in again.".into()));
    }
    let started = BUILD.with(|build| {
        let mut build = build.borrow_mut();
        if build.running {
            return false;
        }
        build.running = true;
        build.paused = false;
        true
    });
    if !started {
        return Ok(WorkerOutcome::Index(view()));
    }
    let result = build_now(session, progress).await;
    BUILD.with(|build| build.borrow_mut().running = false);
    result
}

async fn build_now(session: &UnlockedSession, progress: impl Fn(IndexProgress)) -> Result<WorkerOutcome, FlowError> {
    let wanted = wanted();
    let failed: HashSet<String> = BUILD.with(|build| build.borrow().failed.clone());
    let ids: Vec<String> = wanted.into_iter().map(|(id, _)| id).filter(|id| !failed.contains(id)).collect();
    let missing = match ask(SearchCommand::Missing(ids)).await.map_err(crypto)? {
        SearchOutcome::Missing(missing) => missing,
        _ => return Err(FlowError::Protocol("the search worker answered out of turn".into())),
    };
    let total = missing.len() as u32;
    MISSING.with(|cell| cell.set(total));
    let start = now_ms();
    let mut done = 0u32;
    for batch in missing.chunks(BATCH) {
        if BUILD.with(|build| build.borrow().paused) {
            break;
        }
        let metas: Vec<MessageMeta> =
            batch.iter().filter_map(|id| mailbox::with(|mailbox| mailbox.meta(id).cloned())).collect();
        let opened = futures_util::future::join_all(
            metas.iter().map(|meta| mail::search_document(&FetchTransport, &RenderWorker, session, meta)),
        )
        .await;
        let mut documents = Vec::with_capacity(opened.len());
        for (meta, result) in metas.iter().zip(opened) {
            match result {
                Ok(document) => documents.push(document),
                Err(FlowError::Network(message)) => return Err(FlowError::Network(message)),
                Err(_) => {
                    BUILD.with(|build| build.borrow_mut().failed.insert(meta.id.clone()));
                }
            }
        }
        ask(SearchCommand::Add(documents)).await.map_err(crypto)?;
        done += batch.len() as u32;
        MISSING.with(|cell| cell.set(total - done));
        let status = last_status();
        let elapsed = (now_ms() - start) / 1000.0;
        let seconds_left = (elapsed / f64::from(done) * f64::from(total - done)).ceil() as u32;
        progress(IndexProgress { done, total, seconds_left, oldest: status.oldest });
        if status.out_of_space {
            break;
        }
    }
    let _ = ask(SearchCommand::Flush).await;
    Ok(WorkerOutcome::Index(view()))
}

/// Stops a running build after its current batch.
pub fn pause() -> WorkerOutcome {
    BUILD.with(|build| {
        let mut build = build.borrow_mut();
        if build.running {
            build.paused = true;
        }
    });
    WorkerOutcome::Index(view())
}

/// Tells the index what a sync changed: moves and flags of known messages, and removals.
pub async fn synced(changed: &[MessageMeta], removed: &[String]) {
    if worker().is_none() {
        return;
    }
    let mut gone: Vec<String> = removed.to_vec();
    let mut updates = Vec::new();
    for meta in changed {
        if meta.deleted_at.is_some() {
            gone.push(meta.id.clone());
        } else {
            updates.push((meta.id.clone(), meta.folder_id.clone(), mail::search_flags(meta.flags)));
        }
    }
    if !gone.is_empty() {
        let _ = ask(SearchCommand::Remove(gone)).await;
    }
    if !updates.is_empty() {
        let _ = ask(SearchCommand::Update(updates)).await;
    }
}

/// A folder's name as the sidebar shows it.
fn folder_label(folders: &[(String, String, bool)], id: &str) -> String {
    match folders.iter().find(|(folder, _, _)| folder == id) {
        Some((_, name, true)) => {
            let mut label = name.clone();
            if let Some(first) = label.get_mut(..1) {
                first.make_ascii_uppercase();
            }
            label
        }
        Some((_, name, false)) => name.clone(),
        // The contacts the index holds beside mail (`plico_contacts::SEARCH_FOLDER`).
        None if id == "contacts" => "Contacts".into(),
        None => String::new(),
    }
}

fn local_date(seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(seconds as f64 * 1000.0));
    String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}

/// Runs a query on the index.
pub async fn search(query: String, limit: u32) -> Result<WorkerOutcome, FlowError> {
    let folders: Vec<(String, String)> = mailbox::with(|mailbox| {
        mailbox
            .folders()
            .iter()
            .map(|folder| {
                let name = match (folder.role, &folder.name) {
                    (Some(role), _) => role.as_str().to_owned(),
                    (None, Some(name)) => name.clone(),
                    (None, None) => folder.id.clone(),
                };
                (folder.id.clone(), name)
            })
            .collect()
    });
    let hidden: Vec<String> = mailbox::with(|mailbox| {
        mailbox
            .folders()
            .iter()
            .filter(|folder| matches!(folder.role, Some(FolderRole::Trash | FolderRole::Spam)))
            .map(|folder| folder.id.clone())
            .collect()
    });
    let results = match ask(SearchCommand::Query { text: query, folders, hidden, limit }).await {
        Ok(SearchOutcome::Results(results)) => results,
        Ok(_) => return Err(FlowError::Protocol("the search worker answered out of turn".into())),
        Err(message) => return Err(FlowError::Invalid(message)),
    };
    let labels: Vec<(String, String, bool)> = mailbox::with(|mailbox| {
        mailbox
            .folders()
            .iter()
            .map(|folder| match (folder.role, &folder.name) {
                (Some(role), _) => (folder.id.clone(), role.as_str().to_owned(), true),
                (None, name) => (folder.id.clone(), name.clone().unwrap_or_default(), false),
            })
            .collect()
    });
    let rows_html = plico_search::rows::result_rows(&results.hits, &|id: &str| folder_label(&labels, id), &local_date);
    let shown = results.hits.len() as u32;
    Ok(WorkerOutcome::Found { total: results.total, shown, rows_html, index: view() })
}

/// This device's search index ([`SearchCommand`]).
pub async fn handle(
    id: u32,
    session: &UnlockedSession,
    command: plico_api::worker::SearchCommand,
) -> Result<WorkerOutcome, FlowError> {
    use plico_api::worker::{SearchCommand, WorkerEvent, WorkerStage};
    match command {
        SearchCommand::BuildIndex => {
            crate::mailbox::ensure_loaded().await;
            build(session, |progress| {
                crate::post(&WorkerEvent::Progress { id, stage: WorkerStage::Indexing(progress) })
            })
            .await
        }
        SearchCommand::PauseIndex => Ok(pause()),
        SearchCommand::Search { query, limit } => {
            // Contacts are found beside mail: the index learns what changed in them first.
            crate::contacts::index(session).await;
            search(query, limit.min(500)).await
        }
    }
}
