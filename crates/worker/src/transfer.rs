//! Export everything and import mail, seen from the crypto worker: the work is the transfer
//! worker's (`plico-transfer`, started on the first export or import); this module gathers what
//! it needs and answers its asks with what only this worker can do: decrypt one message, and
//! encrypt and store one imported message.

use std::cell::RefCell;
use std::rc::Rc;

use plico_api::privacy::ConsentReceipt;
use plico_api::worker::{TransferCommand, WorkerEvent, WorkerOutcome, WorkerStage};
use plico_client::{export, mail, FlowError, UnlockedSession};
use plico_transfer::protocol::{
    Answer, Ask, ExportJob, TransferJob, TransferOutcome, TransferReply, TransferRequest, Up,
};
use wasm_bindgen::JsCast;

use crate::nested::Nested;
use crate::render::RenderWorker;
use crate::transport::FetchTransport;
use crate::{mailbox, session};

/// trunk writes the transfer worker's loader under its binary name.
const TRANSFER_URL: &str = "/plico-transfer_loader.js";

thread_local! {
    static TRANSFER: RefCell<Option<Rc<Nested>>> = const { RefCell::new(None) };
}

fn running() -> Result<Rc<Nested>, FlowError> {
    TRANSFER.with(|slot| {
        if let Some(inner) = slot.borrow().as_ref().filter(|inner| !inner.stopped()) {
            return Ok(Rc::clone(inner));
        }
        let inner = Nested::spawn(TRANSFER_URL, "plico-transfer", "transfer worker").map_err(FlowError::Protocol)?;
        inner.on_ask(heard);
        *slot.borrow_mut() = Some(Rc::clone(&inner));
        Ok(inner)
    })
}

/// Signing out: the transfer worker stops, so the last archive (decrypted mail) is let go with
/// its URL, and an import in progress stops.
pub fn forget() {
    if let Some(inner) = TRANSFER.with(|slot| slot.borrow_mut().take()) {
        inner.terminate();
    }
}

/// The wasm memory's size, in bytes.
fn memory_bytes() -> u64 {
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as u64
}

/// A message from the transfer worker that is not an answer: an ask, or progress.
fn heard(bytes: Vec<u8>) {
    let Ok(TransferReply { up, .. }) = postcard::from_bytes::<TransferReply>(&bytes) else { return };
    match up {
        Up::Progress { request, done, total } => {
            crate::post(&WorkerEvent::Progress { id: request, stage: WorkerStage::Exporting { done, total } })
        }
        Up::Ask { call, ask } => wasm_bindgen_futures::spawn_local(async move {
            let result = match session::current() {
                Some(session) => answer(&session, ask).await,
                None => Err(session::locked().to_string()),
            };
            let told = TransferRequest { id: 0, job: TransferJob::Answer { call, result } };
            let worker = TRANSFER.with(|slot| slot.borrow().clone());
            if let (Some(worker), Ok(bytes)) = (worker, postcard::to_allocvec(&told)) {
                worker.tell(bytes);
            }
        }),
        Up::Done(_) => {}
    }
}

/// Does what the transfer worker asks.
async fn answer(session: &UnlockedSession, ask: Ask) -> Result<Answer, String> {
    match ask {
        Ask::Message { id } => {
            let meta = mailbox::with(|mailbox| mailbox.meta(&id).cloned())
                .ok_or_else(|| "It is no longer in the mailbox.".to_owned())?;
            let (sender, subject) = export::envelope(session, &meta);
            let raw = mail::message_bytes(&FetchTransport, &RenderWorker, session, &meta)
                .await
                .map_err(|error| error.to_string())?;
            Ok(Answer::Message { sender, subject, raw })
        }
        Ask::Import { folder_id, raw } => {
            mail::import_message(&FetchTransport, &RenderWorker, session, &folder_id, &raw, crate::now())
                .await
                .map(|_| Answer::Imported)
                .map_err(|error| error.to_string())
        }
    }
}

/// What an export needs before any message: the keys first (a short passphrase fails before
/// any work), the account's documents, and the mailbox's list. `receipts`: this browser's
/// consent receipts, merged with the account's as [`plico_api::worker::PrivacyCommand::SyncConsent`] does.
async fn export_job(
    request: u32,
    session: &UnlockedSession,
    passphrase: &str,
    receipts: &[ConsentReceipt],
    contacts_vcf: String,
) -> Result<ExportJob, FlowError> {
    let (public_key, secret_key) = export::keys(session, passphrase)?;
    mailbox::ensure_loaded().await;
    let receipts = plico_client::privacy::sync(&FetchTransport, session, receipts).await?;
    let consent_receipts = serde_json::to_vec(&receipts).map_err(|e| FlowError::Protocol(e.to_string()))?;
    let login_history = export::login_history(&FetchTransport).await?;
    let (folders, messages) = mailbox::with(|mailbox| (mailbox.folders().to_vec(), mailbox.metas().cloned().collect()));
    Ok(ExportJob {
        request,
        address: session.account.address.clone(),
        now: crate::now(),
        public_key,
        secret_key,
        consent_receipts,
        login_history,
        folders,
        messages,
        contacts_vcf,
    })
}

/// Exporting everything and importing mail ([`TransferCommand`]).
pub async fn handle(id: u32, session: &UnlockedSession, command: TransferCommand) -> Result<WorkerOutcome, FlowError> {
    let memory_before = memory_bytes();
    let job = match command {
        TransferCommand::Export { passphrase, receipts, contacts_vcf } => {
            TransferJob::Export(Box::new(export_job(id, session, &passphrase, &receipts, contacts_vcf).await?))
        }
        TransferCommand::ImportBegin { folder_id, file_name, eml } => {
            TransferJob::ImportBegin { folder_id, file_name, eml }
        }
        TransferCommand::ImportChunk { bytes, last } => TransferJob::ImportChunk { bytes, last },
    };
    let worker = running()?;
    let request = worker.next_id();
    let bytes = postcard::to_allocvec(&TransferRequest { id: request, job })
        .map_err(|error| FlowError::Protocol(error.to_string()))?;
    let answer = worker.ask(request, bytes).await.map_err(FlowError::Protocol)?;
    let reply: TransferReply = postcard::from_bytes(&answer)
        .map_err(|error| FlowError::Protocol(format!("The transfer worker answered unreadably: {error}")))?;
    match reply.up {
        Up::Done(Ok(TransferOutcome::Exported(mut view))) => {
            view.memory_grown += memory_bytes().saturating_sub(memory_before);
            Ok(WorkerOutcome::Exported(view))
        }
        Up::Done(Ok(TransferOutcome::Imported(view))) => Ok(WorkerOutcome::Imported(view)),
        Up::Done(Err(message)) => Err(FlowError::Protocol(message)),
        _ => Err(FlowError::Protocol("The transfer worker answered out of turn.".into())),
    }
}
