//! The search index as the search worker runs it (`plico_search::worker`: segments sealed with
//! XChaCha20-Poly1305 and written to IndexedDB in batches), exported for the benchmark against
//! MiniSearch (`tests/e2e/bench-search.mjs`). Runs in a dedicated worker, like the real one.

use std::rc::Rc;

use plico_search::index::{flags, Document};
use plico_search::worker::{self, Open};
use wasm_bindgen::prelude::*;

fn fail(error: impl std::fmt::Display) -> JsError {
    JsError::new(&error.to_string())
}

/// An open index in IndexedDB database `database`.
#[wasm_bindgen]
pub struct SearchBench {
    open: Rc<Open>,
    adding_ms: std::cell::Cell<f64>,
    flushing_ms: std::cell::Cell<f64>,
}

fn now() -> f64 {
    js_sys::Date::now()
}

fn split_list(text: &str) -> Vec<String> {
    text.split(", ").filter(|part| !part.is_empty()).map(str::to_owned).collect()
}

#[wasm_bindgen]
impl SearchBench {
    /// Opens (or creates) the index, reading what is stored.
    pub async fn open(database: String) -> Result<SearchBench, JsError> {
        let open = worker::load(&database, &[42; 32], "bench@plico.test").await.map_err(fail)?;
        Ok(SearchBench { open, adding_ms: Default::default(), flushing_ms: Default::default() })
    }

    /// Adds a batch of messages, as the crypto worker hands them over, and writes a segment
    /// whenever enough wait (as the search worker does).
    #[allow(clippy::too_many_arguments)]
    pub async fn add(
        &self,
        ids: Vec<String>,
        dates: Vec<f64>,
        subjects: Vec<String>,
        froms: Vec<String>,
        tos: Vec<String>,
        bodies: Vec<String>,
        attachments: Vec<String>,
    ) -> Result<(), JsError> {
        let started = now();
        let (waiting, indexed) = {
            let mut index = self.open.index();
            for (i, id) in ids.into_iter().enumerate() {
                let attachment = attachments.get(i).cloned().unwrap_or_default();
                index.add(&Document {
                    id,
                    date: dates.get(i).copied().unwrap_or(0.0) as i64,
                    folder: "inbox".into(),
                    flags: if i % 3 == 0 { flags::UNREAD } else { 0 },
                    subject: subjects.get(i).cloned().unwrap_or_default(),
                    from: froms.get(i).map(|from| split_list(from)).unwrap_or_default(),
                    to: tos.get(i).map(|to| split_list(to)).unwrap_or_default(),
                    body: bodies.get(i).cloned().unwrap_or_default(),
                    attachments: if attachment.is_empty() { Vec::new() } else { vec![attachment] },
                });
            }
            (index.pending_documents(), index.len())
        };
        self.adding_ms.set(self.adding_ms.get() + now() - started);
        if waiting >= worker::flush_after(indexed) {
            let started = now();
            worker::flush(&self.open).await.map_err(fail)?;
            self.flushing_ms.set(self.flushing_ms.get() + now() - started);
        }
        Ok(())
    }

    /// Writes what waits.
    pub async fn flush(&self) -> Result<(), JsError> {
        worker::flush(&self.open).await.map_err(fail)
    }

    /// Runs a query with the result list's limit (20, with snippets); returns how many matched.
    pub fn search(&self, query: &str) -> Result<u32, JsError> {
        let results = self.open.index().search_text(query, &|_: &str| Vec::new(), 20).map_err(fail)?;
        Ok(results.total)
    }

    pub fn documents(&self) -> u32 {
        self.open.status().documents
    }

    /// Bytes of sealed records in IndexedDB.
    pub fn stored_bytes(&self) -> f64 {
        self.open.status().stored_bytes as f64
    }

    /// Where the time and bytes went, as JSON.
    pub fn breakdown(&self) -> String {
        let (postings, positions, docs, texts) = self.open.index().stats();
        let terms = self.open.index().term_count();
        format!(
            r#"{{"adding_ms":{},"flushing_ms":{},"postings":{postings},"positions":{positions},"docs":{docs},"term_texts":{texts},"terms":{terms}}}"#,
            self.adding_ms.get(),
            self.flushing_ms.get()
        )
    }

    pub fn close(&self) {
        self.open.database().close();
    }
}

/// The wasm linear memory's size: its peak, since it never shrinks.
#[wasm_bindgen]
pub fn memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}
