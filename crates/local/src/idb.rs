//! IndexedDB, as much as Plico needs: one object store of byte records, read and written in
//! batches, one transaction per batch (one transaction per record is 20-30x slower).
//!
//! The values are whatever the caller passes; callers pass only [`crate::LocalKey::seal`]ed
//! bytes. Works on a page and in a worker.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbFactory, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransaction};

const STORE: &str = "records";
const VERSION: u32 = 1;

/// Why IndexedDB did not do what was asked.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum IdbError {
    #[error("this browser offers no local storage (IndexedDB) here")]
    Unavailable,
    #[error("local storage failed: {0}")]
    Failed(String),
}

fn failed(value: JsValue) -> IdbError {
    let text = value
        .dyn_ref::<web_sys::DomException>()
        .map(|error| format!("{}: {}", error.name(), error.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"));
    IdbError::Failed(text)
}

/// How hard a write insists on reaching the disk before it counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Flushed before completion: for what cannot be rebuilt (drafts, the outbox).
    Strict,
    /// The browser may complete before the flush: for caches and indexes that can be rebuilt.
    Relaxed,
}

#[wasm_bindgen]
extern "C" {
    /// `IDBDatabase`, for the one call web-sys marks unstable.
    #[wasm_bindgen(js_name = IDBDatabase)]
    type DatabaseWithOptions;

    /// `IDBDatabase.transaction(store, mode, { durability })`.
    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with_options(
        this: &DatabaseWithOptions,
        store: &str,
        mode: &str,
        options: &JsValue,
    ) -> Result<IdbTransaction, JsValue>;
}

fn factory() -> Result<IdbFactory, IdbError> {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB"))
        .ok()
        .and_then(|value| value.dyn_into::<IdbFactory>().ok())
        .ok_or(IdbError::Unavailable)
}

/// Resolves with a request's result once it succeeds.
async fn settle(request: &IdbRequest) -> Result<JsValue, IdbError> {
    let promise = Promise::new(&mut |resolve, reject| {
        let done = request.clone();
        let on_success = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call1(&JsValue::NULL, &done.result().unwrap_or(JsValue::UNDEFINED));
        });
        let broken = request.clone();
        let on_error = Closure::once_into_js(move |_: web_sys::Event| {
            let error = broken.error().ok().flatten().map(JsValue::from).unwrap_or(JsValue::UNDEFINED);
            let _ = reject.call1(&JsValue::NULL, &error);
        });
        request.set_onsuccess(Some(on_success.unchecked_ref()));
        request.set_onerror(Some(on_error.unchecked_ref()));
    });
    JsFuture::from(promise).await.map_err(failed)
}

/// Resolves once a transaction has committed.
async fn committed(transaction: &IdbTransaction) -> Result<(), IdbError> {
    let promise = Promise::new(&mut |resolve, reject| {
        let on_complete = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let broken = transaction.clone();
        let reject_too = reject.clone();
        let broken_too = transaction.clone();
        let on_error = Closure::once_into_js(move |_: web_sys::Event| {
            let error = broken.error().map(JsValue::from).unwrap_or(JsValue::from_str("the write failed"));
            let _ = reject.call1(&JsValue::NULL, &error);
        });
        let on_abort = Closure::once_into_js(move |_: web_sys::Event| {
            let error = broken_too.error().map(JsValue::from).unwrap_or(JsValue::from_str("the write was aborted"));
            let _ = reject_too.call1(&JsValue::NULL, &error);
        });
        transaction.set_oncomplete(Some(on_complete.unchecked_ref()));
        transaction.set_onerror(Some(on_error.unchecked_ref()));
        transaction.set_onabort(Some(on_abort.unchecked_ref()));
    });
    JsFuture::from(promise).await.map(|_| ()).map_err(failed)
}

fn bytes(value: JsValue) -> Option<Vec<u8>> {
    if value.is_undefined() || value.is_null() {
        return None;
    }
    value.dyn_into::<Uint8Array>().ok().map(|array| array.to_vec())
}

/// An open IndexedDB database of byte records.
pub struct Database {
    db: IdbDatabase,
}

impl Database {
    /// Opens (creating if needed) database `name`. The connection closes itself when another
    /// tab deletes the database ("forget this device"), so it never blocks that.
    pub async fn open(name: &str) -> Result<Database, IdbError> {
        let request: IdbOpenDbRequest = factory()?.open_with_u32(name, VERSION).map_err(failed)?;
        let on_upgrade = Closure::once_into_js(move |event: web_sys::IdbVersionChangeEvent| {
            let Some(request) = event.target().and_then(|target| target.dyn_into::<IdbOpenDbRequest>().ok()) else {
                return;
            };
            if let Ok(db) = request.result().and_then(|db| db.dyn_into::<IdbDatabase>()) {
                if !db.object_store_names().contains(STORE) {
                    let _ = db.create_object_store(STORE);
                }
            }
        });
        request.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
        let db: IdbDatabase = settle(&request).await?.dyn_into().map_err(failed)?;
        let closing = db.clone();
        let on_version_change = Closure::once_into_js(move |_: web_sys::Event| closing.close());
        db.set_onversionchange(Some(on_version_change.unchecked_ref()));
        Ok(Database { db })
    }

    fn transaction(&self, write: Option<Durability>) -> Result<(IdbTransaction, IdbObjectStore), IdbError> {
        let transaction = match write {
            None => self.db.transaction_with_str(STORE).map_err(failed)?,
            Some(durability) => {
                let options = js_sys::Object::new();
                let value = match durability {
                    Durability::Strict => "strict",
                    Durability::Relaxed => "relaxed",
                };
                let _ = js_sys::Reflect::set(&options, &JsValue::from_str("durability"), &JsValue::from_str(value));
                self.db
                    .unchecked_ref::<DatabaseWithOptions>()
                    .transaction_with_options(STORE, "readwrite", &options)
                    .map_err(failed)?
            }
        };
        let store = transaction.object_store(STORE).map_err(failed)?;
        Ok((transaction, store))
    }

    /// The records named `keys`, in order; `None` where there is none.
    pub async fn get(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, IdbError> {
        let (_transaction, store) = self.transaction(None)?;
        read(&store, keys).await
    }

    /// Writes `records` in one transaction and waits until it has committed.
    pub async fn put(&self, records: Vec<(String, Vec<u8>)>, durability: Durability) -> Result<(), IdbError> {
        let (transaction, store) = self.transaction(Some(durability))?;
        write(&store, records)?;
        committed(&transaction).await
    }

    /// Writes `records` and deletes `deleted` in one transaction: all of it happens, or none.
    pub async fn write(
        &self,
        records: Vec<(String, Vec<u8>)>,
        deleted: &[String],
        durability: Durability,
    ) -> Result<(), IdbError> {
        let (transaction, store) = self.transaction(Some(durability))?;
        write(&store, records)?;
        for key in deleted {
            store.delete(&JsValue::from_str(key)).map_err(failed)?;
        }
        committed(&transaction).await
    }

    /// Reads `keys`, lets `decide` choose what to write from what it read, and writes that, all
    /// in one transaction: no other tab writes in between. Returns whether anything was written.
    pub async fn update(
        &self,
        keys: &[String],
        durability: Durability,
        decide: impl FnOnce(Vec<Option<Vec<u8>>>) -> Vec<(String, Vec<u8>)>,
    ) -> Result<bool, IdbError> {
        self.update_deleting(keys, durability, |current| (decide(current), Vec::new())).await
    }

    /// [`Database::update`] where `decide` also names records to delete, in the same
    /// transaction. Returns whether anything was written or deleted.
    pub async fn update_deleting(
        &self,
        keys: &[String],
        durability: Durability,
        decide: impl FnOnce(Vec<Option<Vec<u8>>>) -> (Vec<(String, Vec<u8>)>, Vec<String>),
    ) -> Result<bool, IdbError> {
        let (transaction, store) = self.transaction(Some(durability))?;
        let current = read(&store, keys).await?;
        let (records, deleted) = decide(current);
        let wrote = !records.is_empty() || !deleted.is_empty();
        write(&store, records)?;
        for key in &deleted {
            store.delete(&JsValue::from_str(key)).map_err(failed)?;
        }
        committed(&transaction).await?;
        Ok(wrote)
    }

    /// Every record as stored, raw: for tests that check nothing readable is on disk.
    pub async fn raw_records(&self) -> Result<Vec<(String, Vec<u8>)>, IdbError> {
        let (_transaction, store) = self.transaction(None)?;
        let keys = store.get_all_keys().map_err(failed)?;
        let values = store.get_all().map_err(failed)?;
        let keys: js_sys::Array = settle(&keys).await?.unchecked_into();
        let values: js_sys::Array = settle(&values).await?.unchecked_into();
        Ok(keys
            .iter()
            .zip(values.iter())
            .map(|(key, value)| (key.as_string().unwrap_or_default(), bytes(value).unwrap_or_default()))
            .collect())
    }

    /// Closes this connection.
    pub fn close(&self) {
        self.db.close();
    }

    /// Deletes database `name` and everything in it. Open connections in other tabs close
    /// themselves first (see [`Database::open`]).
    pub async fn delete(name: &str) -> Result<(), IdbError> {
        let request = factory()?.delete_database(name).map_err(failed)?;
        settle(&request).await.map(|_| ())
    }
}

async fn read(store: &IdbObjectStore, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, IdbError> {
    // All requests first, then the answers: one round through the database, not one per key.
    let requests = keys
        .iter()
        .map(|key| store.get(&JsValue::from_str(key)).map_err(failed))
        .collect::<Result<Vec<IdbRequest>, IdbError>>()?;
    let mut found = Vec::with_capacity(requests.len());
    for request in &requests {
        found.push(bytes(settle(request).await?));
    }
    Ok(found)
}

fn write(store: &IdbObjectStore, records: Vec<(String, Vec<u8>)>) -> Result<(), IdbError> {
    for (key, value) in records {
        let value = Uint8Array::from(value.as_slice());
        store.put_with_key(&value, &JsValue::from_str(&key)).map_err(failed)?;
    }
    Ok(())
}
