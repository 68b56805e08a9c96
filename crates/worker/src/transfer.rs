//! Export everything, and import mail, in the crypto worker.
//!
//! Export streams: each message is downloaded, decrypted and written into the archive one at a
//! time, and what is written moves out of wasm memory into a browser Blob (which Chromium keeps
//! in its blob storage, on disk when large), folded every [`FOLD_BYTES`]. The worker holds one
//! message and at most that much of the archive at once, whatever the mailbox's size. The
//! finished Blob's URL goes to the page, which downloads it.
//!
//! Import is driven by the page, one piece of the file at a time ([`chunk`]): the messages a
//! piece completes are encrypted and uploaded before the answer, so pausing is the page not
//! sending the next piece, and memory holds one piece and one message.

use std::cell::RefCell;

use js_sys::{Array, Uint8Array};
use plico_api::privacy::ConsentReceipt;
use plico_api::worker::{ExportView, ImportFailure, ImportView, WorkerOutcome};
use plico_client::archive::{crc32, mbox_record, MboxReader, MboxRecord, ZipWriter};
use plico_client::{export, mail, FlowError, UnlockedSession};
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, Url};

use crate::mailbox;
use crate::render::RenderWorker;
use crate::transport::FetchTransport;

/// The archive's bytes gathered in JS memory before they fold into its Blob.
const FOLD_BYTES: usize = 8 << 20;

fn js_error(what: &str) -> impl Fn(wasm_bindgen::JsValue) -> FlowError + '_ {
    move |error| FlowError::Protocol(format!("{what}: {}", error.as_string().unwrap_or_else(|| format!("{error:?}"))))
}

/// The wasm memory's size, in bytes.
fn memory_bytes() -> u64 {
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as u64
}

fn blob_of(parts: &Array) -> Result<Blob, FlowError> {
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

    fn bytes(&mut self, bytes: &[u8]) -> Result<(), FlowError> {
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

    fn fold(&mut self) -> Result<(), FlowError> {
        let all = match self.blob.take() {
            Some(blob) => Array::of1(&blob).concat(&self.parts),
            None => self.parts.clone(),
        };
        self.blob = Some(blob_of(&all)?);
        self.parts = Array::new();
        self.pending = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<Blob, FlowError> {
        self.fold()?;
        self.blob.ok_or_else(|| FlowError::Protocol("the archive is empty".into()))
    }
}

/// One .eml entry, written after its folder's mbox: its bytes wait in a Blob.
struct Eml {
    name: String,
    crc: u32,
    len: u64,
    blob: Blob,
}

/// Exports everything ([`plico_api::worker::WorkerCommand::Export`]). `receipts`: this browser's
/// consent receipts, merged with the account's first.
pub async fn export(
    session: &UnlockedSession,
    passphrase: &str,
    receipts: &[ConsentReceipt],
    now: i64,
    progress: impl Fn(u32, u32),
) -> Result<WorkerOutcome, FlowError> {
    let memory_before = memory_bytes();
    // The passphrase first: a short one fails before any work.
    let (public_key, secret_key) = export::keys(session, passphrase)?;
    mailbox::ensure_loaded().await;
    let folders = mailbox::with(|mailbox| export::folders(mailbox.folders(), mailbox.metas()));
    let total: u32 = folders.iter().map(|folder| folder.messages.len() as u32).sum();
    let mut zip = ZipWriter::new();
    let mut out = BlobWriter::new();
    let mut failures = Vec::new();
    let mut done = 0;
    progress(0, total);
    for folder in &folders {
        out.bytes(&zip.begin_streamed(&export::mbox_name(folder)))?;
        let mut emls = Vec::new();
        for (n, meta) in folder.messages.iter().enumerate() {
            let (sender, date, subject) = export::envelope(session, meta);
            match mail::message_bytes(&FetchTransport, &RenderWorker, session, meta).await {
                Ok(raw) => {
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
                Err(error) => failures.push(format!("{}, message {} (received {date}): {error}", folder.label, n + 1)),
            }
            done += 1;
            progress(done, total);
        }
        out.bytes(&zip.end_streamed())?;
        for eml in emls {
            out.bytes(&zip.entry_header(&eml.name, eml.crc, eml.len))?;
            out.blob(&eml.blob);
        }
    }
    out.bytes(&zip.entry("keys/public-key.asc", public_key.as_bytes()))?;
    out.bytes(&zip.entry("keys/secret-key.asc", secret_key.as_bytes()))?;
    drop(secret_key);
    let receipts = plico_client::privacy::sync(&FetchTransport, session, receipts).await?;
    let receipts = serde_json::to_vec(&receipts).map_err(|e| FlowError::Protocol(e.to_string()))?;
    out.bytes(&zip.entry("privacy/consent-receipts.json", &receipts))?;
    out.bytes(&zip.entry("account/login-history.json", &export::login_history(&FetchTransport).await?))?;
    let readme = export::readme(&session.account.address, now, &folders, &failures);
    out.bytes(&zip.entry("README.txt", readme.as_bytes()))?;
    out.bytes(&zip.finish())?;
    let bytes = out.written;
    let blob = out.finish()?;
    let url = Url::create_object_url_with_blob(&blob).map_err(js_error("The browser could not offer the archive"))?;
    // One archive at a time: the last one's bytes are let go.
    if let Some(last) = LAST_ARCHIVE.with(|slot| slot.replace(Some(url.clone()))) {
        let _ = Url::revoke_object_url(&last);
    }
    Ok(WorkerOutcome::Exported(ExportView {
        url,
        file_name: export::file_name(&session.account.address, now),
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

thread_local! {
    static IMPORT: RefCell<Option<Import>> = const { RefCell::new(None) };
    /// The URL of the last archive made, revoked when the next one is.
    static LAST_ARCHIVE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Signing out: the last archive (decrypted mail) is let go, and an import in progress stops.
pub fn forget() {
    if let Some(last) = LAST_ARCHIVE.with(|slot| slot.take()) {
        let _ = Url::revoke_object_url(&last);
    }
    IMPORT.with(|slot| slot.borrow_mut().take());
}

/// Starts an import ([`plico_api::worker::WorkerCommand::ImportBegin`]); one that was running
/// is dropped.
pub fn begin(folder_id: String, file_name: String, eml: bool) -> WorkerOutcome {
    let source =
        if eml { Source::Eml(Some(Vec::new())) } else { Source::Mbox(MboxReader::new(mail::MAX_IMPORT_MESSAGE_BYTES)) };
    IMPORT.with(|slot| *slot.borrow_mut() = Some(Import { folder_id, file_name, source }));
    WorkerOutcome::Imported(ImportView::default())
}

/// Reads the next piece of the file and imports the messages it completes.
pub async fn chunk(
    session: &UnlockedSession,
    bytes: Vec<u8>,
    last: bool,
    now: i64,
) -> Result<WorkerOutcome, FlowError> {
    let too_large = format!("It is larger than {} MB.", mail::MAX_IMPORT_MESSAGE_BYTES / 1_000_000);
    let (folder_id, file_name, eml, records) = IMPORT.with(|slot| {
        let mut slot = slot.borrow_mut();
        let import = slot.as_mut().ok_or_else(|| FlowError::Protocol("No import was started.".into()))?;
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
                    if message.len() > mail::MAX_IMPORT_MESSAGE_BYTES {
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
        Ok::<_, FlowError>(named)
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
            Ok(raw) => mail::import_message(&FetchTransport, &RenderWorker, session, &folder_id, &raw, now)
                .await
                .map(|_| ())
                .map_err(|error| error.to_string()),
            Err(reason) => Err(reason),
        };
        match result {
            Ok(()) => view.imported += 1,
            Err(reason) => view.failures.push(ImportFailure { item, reason }),
        }
    }
    Ok(WorkerOutcome::Imported(view))
}

/// Exporting everything and importing mail ([`TransferCommand`]).
pub async fn handle(
    id: u32,
    session: &UnlockedSession,
    command: plico_api::worker::TransferCommand,
) -> Result<WorkerOutcome, FlowError> {
    use plico_api::worker::{TransferCommand, WorkerEvent, WorkerStage};
    match command {
        TransferCommand::Export { passphrase, receipts } => {
            export(session, &passphrase, &receipts, crate::now(), |done, total| {
                crate::post(&WorkerEvent::Progress { id, stage: WorkerStage::Exporting { done, total } })
            })
            .await
        }
        TransferCommand::ImportBegin { folder_id, file_name, eml } => Ok(begin(folder_id, file_name, eml)),
        TransferCommand::ImportChunk { bytes, last } => chunk(session, bytes, last, crate::now()).await,
    }
}
