//! The transfer worker's loop (wasm only).
//!
//! Export streams: each message comes decrypted from the crypto worker, is written into the
//! archive, and what is written moves out of wasm memory into a browser Blob (which Chromium
//! keeps in its blob storage, on disk when large), folded every [`FOLD_BYTES`]. Each worker
//! holds one message and at most that much of the archive at once, whatever the mailbox's size.
//! The finished Blob's URL goes to the page, which downloads it; it lives as long as this worker
//! (the crypto worker stops it at sign-out).
//!
//! Import is driven by the page, one piece of the file at a time: the messages a piece completes
//! are stored (by the crypto worker) before the answer, so pausing is the page not sending the
//! next piece, and memory holds one piece and one message.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use futures_channel::oneshot;
use js_sys::{Array, Uint8Array};
use plico_api::mail::MAX_IMPORT_MESSAGE_BYTES;
use plico_api::worker::{ExportView, ImportFailure, ImportView};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, DedicatedWorkerGlobalScope, MessageEvent, Url};

use crate::archive::{asctime, crc32, mbox_record, MboxReader, MboxRecord, ZipWriter};
use crate::export;
use crate::protocol::{Answer, Ask, ExportJob, TransferJob, TransferOutcome, TransferReply, TransferRequest, Up};

/// The archive's bytes gathered in JS memory before they fold into its Blob.
const FOLD_BYTES: usize = 8 << 20;

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn send(reply: &TransferReply) {
    let Ok(bytes) = postcard::to_allocvec(reply) else { return };
    let array = Uint8Array::from(bytes.as_slice());
    drop(bytes);
    let transfer = Array::of1(&array.buffer());
    let _ = scope().post_message_with_transfer(&array, &transfer);
}

fn js_error(what: &str) -> impl Fn(JsValue) -> String + '_ {
    move |error| format!("{what}: {}", error.as_string().unwrap_or_else(|| format!("{error:?}")))
}

thread_local! {
    static CALLS: RefCell<HashMap<u32, oneshot::Sender<Result<Answer, String>>>> = RefCell::new(HashMap::new());
    static NEXT_CALL: Cell<u32> = const { Cell::new(1) };
    static IMPORT: RefCell<Option<Import>> = const { RefCell::new(None) };
    /// The URL of the last archive made, revoked when the next one is.
    static LAST_ARCHIVE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Asks the crypto worker, and waits for its answer.
async fn ask(ask: Ask) -> Result<Answer, String> {
    let call = NEXT_CALL.with(|next| next.replace(next.get().wrapping_add(1)));
    let (done, answer) = oneshot::channel();
    CALLS.with(|calls| calls.borrow_mut().insert(call, done));
    send(&TransferReply { id: 0, up: Up::Ask { call, ask } });
    answer.await.unwrap_or_else(|_| Err("The crypto worker did not answer.".into()))
}

/// The wasm memory's size, in bytes.
fn memory_bytes() -> u64 {
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as u64
}

fn blob_of(parts: &Array) -> Result<Blob, String> {
    let options = BlobPropertyBag::new();
    options.set_type("application/zip");
    Blob::new_with_blob_sequence_and_options(parts, &options)
        .map_err(js_error("The browser refused to store the archive"))
}

/// The archive, appended to and kept outside wasm memory.
struct BlobWriter {
    parts: Array,
    pending: usize,
    blob: Option<Blob>,
    written: u64,
}

impl BlobWriter {
    fn new() -> Self {
        Self { parts: Array::new(), pending: 0, blob: None, written: 0 }
    }

    fn bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.parts.push(&Uint8Array::from(bytes));
        self.pending += bytes.len();
        self.written += bytes.len() as u64;
        if self.pending >= FOLD_BYTES {
            self.fold()?;
        }
        Ok(())
    }

    fn blob(&mut self, blob: &Blob) {
        self.parts.push(blob);
        self.written += blob.size() as u64;
    }

    fn fold(&mut self) -> Result<(), String> {
        let all = match self.blob.take() {
            Some(blob) => Array::of1(&blob).concat(&self.parts),
            None => self.parts.clone(),
        };
        self.blob = Some(blob_of(&all)?);
        self.parts = Array::new();
        self.pending = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<Blob, String> {
        self.fold()?;
        self.blob.ok_or_else(|| "the archive is empty".into())
    }
}

/// One .eml entry, written after its folder's mbox: its bytes wait in a Blob.
struct Eml {
    name: String,
    crc: u32,
    len: u64,
    blob: Blob,
}

/// Writes the archive of everything ([`TransferJob::Export`]).
async fn export(job: ExportJob) -> Result<TransferOutcome, String> {
    let memory_before = memory_bytes();
    let ExportJob {
        request,
        address,
        now,
        public_key,
        secret_key,
        consent_receipts,
        login_history,
        folders,
        messages,
        contacts_vcf,
    } = job;
    let folders = export::folders(&folders, messages.iter());
    drop(messages);
    let total: u32 = folders.iter().map(|folder| folder.messages.len() as u32).sum();
    let progress = |done| send(&TransferReply { id: 0, up: Up::Progress { request, done, total } });
    let mut zip = ZipWriter::new();
    let mut out = BlobWriter::new();
    let mut failures = Vec::new();
    let mut done = 0;
    progress(0);
    for folder in &folders {
        out.bytes(&zip.begin_streamed(&export::mbox_name(folder)))?;
        let mut emls = Vec::new();
        for (n, meta) in folder.messages.iter().enumerate() {
            let date = asctime(meta.received_at);
            match ask(Ask::Message { id: meta.id.clone() }).await {
                Ok(Answer::Message { sender, subject, raw }) => {
                    let record = mbox_record(&sender, &date, &raw);
                    zip.stream(&record);
                    out.bytes(&record)?;
                    drop(record);
                    let blob = blob_of(&Array::of1(&Uint8Array::from(raw.as_slice())))?;
                    emls.push(Eml {
                        name: export::eml_name(folder, n + 1, &subject),
                        crc: crc32(&raw),
                        len: raw.len() as u64,
                        blob,
                    });
                }
                Ok(Answer::Imported) => return Err("The crypto worker answered out of turn.".into()),
                Err(error) => failures.push(format!("{}, message {} (received {date}): {error}", folder.label, n + 1)),
            }
            done += 1;
            progress(done);
        }
        out.bytes(&zip.end_streamed())?;
        for eml in emls {
            out.bytes(&zip.entry_header(&eml.name, eml.crc, eml.len))?;
            out.blob(&eml.blob);
        }
    }
    out.bytes(&zip.entry("contacts/contacts.vcf", contacts_vcf.as_bytes()))?;
    drop(contacts_vcf);
    out.bytes(&zip.entry("keys/public-key.asc", public_key.as_bytes()))?;
    out.bytes(&zip.entry("keys/secret-key.asc", secret_key.as_bytes()))?;
    drop(secret_key);
    out.bytes(&zip.entry("privacy/consent-receipts.json", &consent_receipts))?;
    out.bytes(&zip.entry("account/login-history.json", &login_history))?;
    let readme = export::readme(&address, now, &folders, &failures);
    out.bytes(&zip.entry("README.txt", readme.as_bytes()))?;
    out.bytes(&zip.finish())?;
    let bytes = out.written;
    let blob = out.finish()?;
    let url = Url::create_object_url_with_blob(&blob).map_err(js_error("The browser could not offer the archive"))?;
    // One archive at a time: the last one's bytes are let go.
    if let Some(last) = LAST_ARCHIVE.with(|slot| slot.replace(Some(url.clone()))) {
        let _ = Url::revoke_object_url(&last);
    }
    Ok(TransferOutcome::Exported(ExportView {
        url,
        file_name: export::file_name(&address, now),
        bytes,
        messages: total - failures.len() as u32,
        failures,
        memory_grown: memory_bytes().saturating_sub(memory_before),
    }))
}

/// The import in progress: where to, the file's name, and its reader.
struct Import {
    folder_id: String,
    file_name: String,
    source: Source,
}

enum Source {
    Mbox(MboxReader),
    /// One message; `None` once it grew past the limit.
    Eml(Option<Vec<u8>>),
}

/// Starts an import; one that was running is dropped.
fn begin(folder_id: String, file_name: String, eml: bool) -> TransferOutcome {
    let source =
        if eml { Source::Eml(Some(Vec::new())) } else { Source::Mbox(MboxReader::new(MAX_IMPORT_MESSAGE_BYTES)) };
    IMPORT.with(|slot| *slot.borrow_mut() = Some(Import { folder_id, file_name, source }));
    TransferOutcome::Imported(ImportView::default())
}

/// Reads the next piece of the file and has the messages it completes stored.
async fn chunk(bytes: Vec<u8>, last: bool) -> Result<TransferOutcome, String> {
    let too_large = format!("It is larger than {} MB.", MAX_IMPORT_MESSAGE_BYTES / 1_000_000);
    let (folder_id, file_name, eml, records) = IMPORT.with(|slot| {
        let mut slot = slot.borrow_mut();
        let import = slot.as_mut().ok_or_else(|| "No import was started.".to_owned())?;
        let mut records = Vec::new();
        match &mut import.source {
            Source::Mbox(reader) => {
                records = reader.push(&bytes);
                if last {
                    let reader = std::mem::replace(reader, MboxReader::new(0));
                    records.extend(reader.finish());
                }
            }
            Source::Eml(buffer) => {
                if let Some(message) = buffer {
                    message.extend_from_slice(&bytes);
                    if message.len() > MAX_IMPORT_MESSAGE_BYTES {
                        *buffer = None;
                    }
                }
                if last {
                    let message = buffer.take().ok_or(too_large.clone());
                    records.push(MboxRecord { number: 1, line: 1, message });
                }
            }
        }
        let eml = matches!(import.source, Source::Eml(_));
        let named = (import.folder_id.clone(), import.file_name.clone(), eml, records);
        if last {
            *slot = None;
        }
        Ok::<_, String>(named)
    })?;
    drop(bytes);
    let mut view = ImportView::default();
    for record in records {
        let item = match (eml, record.number) {
            (true, _) => file_name.clone(),
            (false, 0) => format!("{file_name}, line {}", record.line),
            (false, number) => format!("{file_name}, message {number} (line {})", record.line),
        };
        let result = match record.message {
            Ok(raw) => ask(Ask::Import { folder_id: folder_id.clone(), raw }).await.map(|_| ()),
            Err(reason) => Err(reason),
        };
        match result {
            Ok(()) => view.imported += 1,
            Err(reason) => view.failures.push(ImportFailure { item, reason }),
        }
    }
    Ok(TransferOutcome::Imported(view))
}

async fn run(job: TransferJob) -> Result<TransferOutcome, String> {
    match job {
        TransferJob::Export(job) => export(*job).await,
        TransferJob::ImportBegin { folder_id, file_name, eml } => Ok(begin(folder_id, file_name, eml)),
        TransferJob::ImportChunk { bytes, last } => chunk(bytes, last).await,
        TransferJob::Answer { .. } => Err("An answer is not a job.".into()),
    }
}

pub fn start() {
    console_error_panic_hook::set_once();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(|event: MessageEvent| {
        let Ok(array) = event.data().dyn_into::<Uint8Array>() else { return };
        match postcard::from_bytes::<TransferRequest>(&array.to_vec()) {
            Ok(TransferRequest { job: TransferJob::Answer { call, result }, .. }) => {
                if let Some(done) = CALLS.with(|calls| calls.borrow_mut().remove(&call)) {
                    let _ = done.send(result);
                }
            }
            Ok(TransferRequest { id, job }) => wasm_bindgen_futures::spawn_local(async move {
                let result = run(job).await;
                send(&TransferReply { id, up: Up::Done(result) });
            }),
            Err(error) => web_sys::console::error_1(&format!("transfer: unreadable request: {error}").into()),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    // A zero-length message says "loaded": requests sent before it were queued by the caller.
    let _ = scope().post_message(&Uint8Array::new_with_length(0));
}
