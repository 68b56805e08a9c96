//! The mailbox in the worker: the synced cache in memory ([`MailboxCache`]), saved sealed to
//! IndexedDB so the next visit shows the Inbox before the network answers.
//!
//! Saving is best effort: the cache can always be synced again, so a browser without IndexedDB
//! (or out of space) only loses the head start, never mail. Writes use relaxed durability.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use plico_client::cache::{self, Head, MailboxCache};
use plico_local::idb::{Database, Durability};
use plico_local::LocalKey;
use wasm_bindgen::JsCast;

/// The one IndexedDB database Plico keeps on a device, for every account that signed in here.
pub const DATABASE: &str = "plico-local";
/// A change is saved this long after it happened, so a burst of changes is one write.
const SAVE_DELAY_MS: i32 = 1_500;
const HEAD_PER_FOLDER: usize = plico_client::mail::FIRST_SUMMARIES_PER_FOLDER;

struct Device {
    key: LocalKey,
    db: RefCell<Option<Rc<Database>>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Load {
    NotYet,
    Loading,
    Done,
}

thread_local! {
    static MAILBOX: RefCell<MailboxCache> = RefCell::new(MailboxCache::default());
    static DEVICE: RefCell<Option<Rc<Device>>> = const { RefCell::new(None) };
    static LOAD: Cell<Load> = const { Cell::new(Load::NotYet) };
    static SAVE_PENDING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` on the mailbox.
pub fn with<T>(f: impl FnOnce(&mut MailboxCache) -> T) -> T {
    MAILBOX.with(|mailbox| f(&mut mailbox.borrow_mut()))
}

fn log(what: &str, error: impl std::fmt::Display) {
    web_sys::console::warn_1(&format!("local mailbox copy: {what}: {error}").into());
}

/// The keys are unlocked: the mailbox starts empty, and this device's copy will be read with
/// `key` (`None`: no copy is kept).
pub fn unlocked(key: Option<LocalKey>) {
    with(|mailbox| *mailbox = MailboxCache::default());
    LOAD.with(|load| load.set(Load::NotYet));
    let device = key.map(|key| Rc::new(Device { key, db: RefCell::new(None) }));
    DEVICE.with(|slot| *slot.borrow_mut() = device.clone());
    // Opening the database takes a few milliseconds; do it while the UI changes screens.
    if let Some(device) = device {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = database(&device).await;
        });
    }
}

/// The unlocked account's device key and this device's database, for the other stores kept
/// beside the mailbox (the Outbox, the kept blobs).
pub async fn store() -> Option<(LocalKey, Rc<Database>)> {
    let device = device()?;
    let db = database(&device).await?;
    Some((device.key.clone(), db))
}

fn device() -> Option<Rc<Device>> {
    DEVICE.with(|slot| slot.borrow().clone())
}

async fn database(device: &Device) -> Option<Rc<Database>> {
    if let Some(db) = device.db.borrow().clone() {
        return Some(db);
    }
    match Database::open(DATABASE).await {
        Ok(db) => {
            let db = Rc::new(db);
            // Two opens racing: keep the first.
            Some(device.db.borrow_mut().get_or_insert(db).clone())
        }
        Err(error) => {
            log("cannot open", error);
            None
        }
    }
}

/// The first screen as saved at the last visit.
pub async fn head() -> Option<Head> {
    let device = device()?;
    let db = database(&device).await?;
    let found = db.get(&[device.key.name(cache::HEAD_RECORD)]).await.map_err(|error| log("cannot read", error)).ok()?;
    let sealed = found.into_iter().next().flatten()?;
    let plain =
        device.key.open(cache::HEAD_RECORD, &sealed).map_err(|error| log("cannot open the head", error)).ok()?;
    MailboxCache::read_head(&plain)
}

/// Reads the saved mailbox into memory, once per unlock, before the first sync uses it.
pub async fn ensure_loaded() {
    loop {
        match LOAD.with(Cell::get) {
            Load::Done => return,
            Load::Loading => sleep(10).await,
            Load::NotYet => break,
        }
    }
    LOAD.with(|load| load.set(Load::Loading));
    if let Some(loaded) = read_saved().await {
        with(|mailbox| {
            // Nothing else fills the mailbox before the first sync, which waits for this.
            if mailbox.is_empty() {
                *mailbox = loaded;
            }
        });
    }
    LOAD.with(|load| load.set(Load::Done));
}

async fn read_saved() -> Option<MailboxCache> {
    let device = device()?;
    let db = database(&device).await?;
    let records: Vec<String> =
        std::iter::once(cache::STATE_RECORD.to_owned()).chain((0..cache::BUCKETS).map(cache::bucket_record)).collect();
    let names: Vec<String> = records.iter().map(|record| device.key.name(record)).collect();
    let found = db.get(&names).await.map_err(|error| log("cannot read", error)).ok()?;
    let mut opened = Vec::with_capacity(found.len());
    for (record, sealed) in records.iter().zip(found) {
        match sealed.map(|sealed| device.key.open(record, &sealed)).transpose() {
            Ok(plain) => opened.push(plain),
            Err(error) => {
                log("a record does not open; syncing afresh", error);
                return None;
            }
        }
    }
    let (state, buckets) = opened.split_first()?;
    Some(MailboxCache::load(state.as_deref(), buckets))
}

/// Something changed: save it soon.
pub fn changed() {
    if SAVE_PENDING.with(|pending| pending.replace(true)) {
        return;
    }
    wasm_bindgen_futures::spawn_local(async {
        sleep(SAVE_DELAY_MS).await;
        SAVE_PENDING.with(|pending| pending.set(false));
        save().await;
    });
}

/// Writes what changed since the last save, unless another tab already saved a newer mailbox.
async fn save() {
    let Some(device) = device() else { return };
    let Some(dirty) = with(|mailbox| mailbox.take_dirty(HEAD_PER_FOLDER)) else { return };
    let Some(db) = database(&device).await else {
        with(|mailbox| mailbox.unsaved(&dirty));
        return;
    };
    let sealed: Vec<(String, Vec<u8>)> =
        dirty.records.iter().map(|(record, plain)| (device.key.name(record), device.key.seal(record, plain))).collect();
    let state_name = device.key.name(cache::STATE_RECORD);
    let ours = dirty.cursor;
    let result = db
        .update(&[state_name], Durability::Relaxed, |current| {
            let stored = current
                .into_iter()
                .next()
                .flatten()
                .and_then(|sealed| device.key.open(cache::STATE_RECORD, &sealed).ok())
                .and_then(|plain| MailboxCache::stored_cursor(&plain));
            if stored.is_some_and(|stored| stored > ours) {
                Vec::new()
            } else {
                sealed
            }
        })
        .await;
    match result {
        Ok(true) => {}
        Ok(false) => with(|mailbox| mailbox.unsaved(&dirty)),
        Err(error) => {
            log("cannot save", error);
            with(|mailbox| mailbox.unsaved(&dirty));
        }
    }
}

/// Saves what is unsaved, then forgets the mailbox and the device key (sign-out).
pub async fn lock() {
    if device().is_some() && LOAD.with(Cell::get) == Load::Done {
        save().await;
    }
    DEVICE.with(|slot| slot.borrow_mut().take());
    with(|mailbox| *mailbox = MailboxCache::default());
    LOAD.with(|load| load.set(Load::NotYet));
}

/// Deletes this device's copy of every account's mailbox ("forget this device").
pub async fn forget() -> Result<(), String> {
    if let Some(device) = device() {
        if let Some(db) = device.db.borrow_mut().take() {
            db.close();
        }
    }
    DEVICE.with(|slot| slot.borrow_mut().take());
    with(|mailbox| *mailbox = MailboxCache::default());
    LOAD.with(|load| load.set(Load::NotYet));
    Database::delete(DATABASE).await.map_err(|error| error.to_string())
}

/// Resolves after `millis` milliseconds.
pub async fn sleep(millis: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let _ = scope.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, millis);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
