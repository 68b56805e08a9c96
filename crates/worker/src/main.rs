//! Plico's crypto worker: the second wasm binary. It receives [`WorkerRequest`]s from the UI as
//! postcard bytes, runs them with `plico-client`, and posts [`WorkerEvent`]s back. MIME work
//! goes to the render worker (the third binary), which this worker starts as a nested worker.
//!
//! Architecture Invariant: the secret key and the password live only in this worker's memory;
//! the UI thread only ever learns the address and the fingerprint, and the plaintext of what
//! the user reads or writes.

#[cfg(target_arch = "wasm32")]
mod render;
#[cfg(target_arch = "wasm32")]
mod transport;

#[cfg(target_arch = "wasm32")]
mod worker {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    use plico_api::mail::MessageMeta;
    use plico_api::worker::{
        OutgoingAttachment, UnlockedIdentity, WorkerCommand, WorkerEvent, WorkerOutcome, WorkerRequest, WorkerStage,
    };
    use plico_client::mail;
    use plico_client::{FlowError, UnlockedSession};
    use plico_mime::Attachment;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    use crate::render::{self, RenderWorker};
    use crate::transport::FetchTransport;

    thread_local! {
        /// Shared, so a mail command keeps its session while it runs; Lock drops the slot's copy
        /// at once and the last in-flight command drops the rest.
        static SESSION: RefCell<Option<Rc<UnlockedSession>>> = const { RefCell::new(None) };
        /// The metadata of every synced message, by id, so the UI can name messages by id.
        static MESSAGES: RefCell<HashMap<String, MessageMeta>> = RefCell::new(HashMap::new());
        /// Opened summaries by message id, with the blob of the message they summarise.
        static SUMMARIES: RefCell<HashMap<String, (String, Option<plico_api::worker::ListedSummary>)>> =
            RefCell::new(HashMap::new());
        /// The attachments of the message opened last, for the UI to download.
        static OPENED: RefCell<Option<(String, Vec<Attachment>)>> = const { RefCell::new(None) };
    }

    fn scope() -> DedicatedWorkerGlobalScope {
        js_sys::global().unchecked_into()
    }

    fn post(event: &WorkerEvent) {
        let Ok(bytes) = plico_api::worker::encode(event) else { return };
        let array = js_sys::Uint8Array::from(bytes.as_slice());
        let transfer = js_sys::Array::of1(&array.buffer());
        let _ = scope().post_message_with_transfer(&array, &transfer);
    }

    fn locked() -> FlowError {
        FlowError::Crypto("Your keys are locked; sign in again.".into())
    }

    fn identity(session: &UnlockedSession) -> WorkerOutcome {
        WorkerOutcome::Unlocked(UnlockedIdentity {
            address: session.account.address.clone(),
            fingerprint: session.account.fingerprint.clone(),
        })
    }

    /// Runs a mail command with the unlocked session.
    async fn mail_command(id: u32, command: WorkerCommand) -> Result<WorkerOutcome, FlowError> {
        let Some(session) = SESSION.with(|slot| slot.borrow().clone()) else { return Err(locked()) };
        run_mail_command(id, &session, command).await
    }

    /// Fetches and opens the summaries of `ids`, caching them by message and blob.
    async fn open_summaries(
        session: &UnlockedSession,
        ids: &[String],
    ) -> Result<Vec<(String, Option<plico_api::worker::ListedSummary>)>, FlowError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let fetched = mail::fetch_summaries(&FetchTransport, ids).await?;
        Ok(fetched
            .into_iter()
            .filter_map(|sealed| {
                let blob = MESSAGES.with(|cache| cache.borrow().get(&sealed.id).map(|meta| meta.blob_hash.clone()))?;
                let summary = mail::listed_summary(session, &sealed.sealed_summary);
                SUMMARIES.with(|cache| cache.borrow_mut().insert(sealed.id.clone(), (blob, summary.clone())));
                Some((sealed.id, summary))
            })
            .collect())
    }

    async fn run_mail_command(
        id: u32,
        session: &UnlockedSession,
        command: WorkerCommand,
    ) -> Result<WorkerOutcome, FlowError> {
        match command {
            WorkerCommand::SyncMailbox { since } => {
                // Metadata for everything, summaries only for the newest of each folder: a big
                // mailbox shows its first page fast and the rest fills in (`OpenSummaries`). A
                // summary already opened stays cached while its message's blob is the same.
                let changes = mail::sync(&FetchTransport, since, false).await?;
                let known = |meta: &MessageMeta| {
                    SUMMARIES.with(|cache| {
                        cache.borrow().get(&meta.id).filter(|(blob, _)| *blob == meta.blob_hash).map(|(_, s)| s.clone())
                    })
                };
                let newest = mail::first_to_open(&changes.messages);
                let first: Vec<String> = changes
                    .messages
                    .iter()
                    .filter(|meta| newest.contains(&meta.id) && known(meta).is_none())
                    .map(|meta| meta.id.clone())
                    .collect();
                MESSAGES.with(|cache| {
                    let mut cache = cache.borrow_mut();
                    for meta in &changes.messages {
                        cache.insert(meta.id.clone(), meta.clone());
                    }
                    for removed in &changes.removed_messages {
                        cache.remove(removed);
                    }
                });
                open_summaries(session, &first).await?;
                let messages = changes.messages.iter().map(|meta| mail::listed_message(meta, known(meta))).collect();
                Ok(WorkerOutcome::Mailbox {
                    cursor: changes.cursor,
                    folders: changes.folders.iter().map(|folder| mail::folder_view(session, folder)).collect(),
                    messages,
                    removed: changes.removed_messages,
                    removed_folders: changes.removed_folders,
                })
            }
            WorkerCommand::OpenSummaries { ids } => Ok(WorkerOutcome::Summaries(open_summaries(session, &ids).await?)),
            WorkerCommand::OpenMessage { id: message_id } => {
                let meta = MESSAGES
                    .with(|cache| cache.borrow().get(&message_id).cloned())
                    .ok_or_else(|| FlowError::Protocol("That message is not in this mailbox; sync first.".into()))?;
                let opened = mail::open(&FetchTransport, &RenderWorker, session, &meta).await?;
                let view = mail::opened_view(&message_id, &opened);
                OPENED.with(|slot| *slot.borrow_mut() = Some((message_id, opened.message.attachments)));
                Ok(WorkerOutcome::Opened(Box::new(view)))
            }
            WorkerCommand::Attachment { message_id, index } => OPENED.with(|slot| {
                let slot = slot.borrow();
                let attachment = slot
                    .as_ref()
                    .filter(|(opened, _)| *opened == message_id)
                    .and_then(|(_, attachments)| attachments.get(index as usize))
                    .ok_or_else(|| FlowError::Protocol("Open the message again to download its attachments.".into()))?;
                Ok(WorkerOutcome::File(OutgoingAttachment {
                    file_name: attachment.file_name.clone(),
                    content_type: attachment.content_type.clone(),
                    data: attachment.data.clone(),
                }))
            }),
            WorkerCommand::Send(message) => {
                let outgoing = outgoing(message)?;
                // Each stage once, and each upload percent once.
                let last = std::cell::Cell::new(None);
                let progress = |stage: WorkerStage| {
                    if last.replace(Some(stage)) != Some(stage) {
                        post(&WorkerEvent::Progress { id, stage });
                    }
                };
                mail::send(&FetchTransport, &RenderWorker, session, &outgoing, now(), &progress).await?;
                Ok(WorkerOutcome::Sent)
            }
            WorkerCommand::SaveDraft(message) => {
                let outgoing = outgoing(message)?;
                let saved = mail::save_draft(&FetchTransport, &RenderWorker, session, &outgoing, now()).await?;
                Ok(WorkerOutcome::DraftSaved { id: saved.id })
            }
            WorkerCommand::CreateFolder { name } => {
                mail::create_folder(&FetchTransport, session, &name).await?;
                Ok(WorkerOutcome::FolderSaved)
            }
            WorkerCommand::RenameFolder { folder_id, name } => {
                mail::rename_folder(&FetchTransport, session, &folder_id, &name).await?;
                Ok(WorkerOutcome::FolderSaved)
            }
            _ => Err(FlowError::Protocol("not a mail command".into())),
        }
    }

    fn now() -> i64 {
        (js_sys::Date::now() / 1000.0) as i64
    }

    /// The client's form of a composed message; a forward's attachments come from the message
    /// opened last.
    fn outgoing(message: plico_api::worker::OutgoingMessage) -> Result<mail::Outgoing, FlowError> {
        let forwarded: Vec<Attachment> = match &message.forward_attachments_of {
            Some(original) => OPENED.with(|slot| {
                slot.borrow()
                    .as_ref()
                    .filter(|(opened, _)| opened == original)
                    .map(|(_, attachments)| attachments.clone())
                    .ok_or_else(|| {
                        FlowError::Protocol("Open the forwarded message again to include its attachments.".into())
                    })
            })?,
            None => Vec::new(),
        };
        Ok(mail::Outgoing {
            to: message.to,
            cc: message.cc,
            bcc: message.bcc,
            subject: message.subject,
            text: message.text,
            attachments: message
                .attachments
                .into_iter()
                .map(|file| Attachment {
                    file_name: file.file_name,
                    content_type: file.content_type,
                    content_id: None,
                    data: file.data,
                })
                .chain(forwarded)
                .collect(),
            in_reply_to: message.in_reply_to,
            references: message.references,
            draft_id: message.draft_id,
        })
    }

    async fn handle(request: WorkerRequest) {
        let id = request.id;
        let progress = move |stage| post(&WorkerEvent::Progress { id, stage });
        let result = match request.command {
            WorkerCommand::Signup { name, password } => {
                plico_client::signup(&FetchTransport, &name, &password, progress).await
            }
            WorkerCommand::Login { address, password } => {
                plico_client::login(&FetchTransport, &address, &password, progress).await
            }
            WorkerCommand::Lock => {
                SESSION.with(|session| session.borrow_mut().take());
                MESSAGES.with(|cache| cache.borrow_mut().clear());
                SUMMARIES.with(|cache| cache.borrow_mut().clear());
                OPENED.with(|slot| slot.borrow_mut().take());
                post(&WorkerEvent::Done { id, outcome: WorkerOutcome::Locked });
                return;
            }
            mail => {
                match mail_command(id, mail).await {
                    Ok(outcome) => post(&WorkerEvent::Done { id, outcome }),
                    Err(error) => post(&WorkerEvent::Failed { id, code: error.code(), message: error.to_string() }),
                }
                return;
            }
        };
        match result {
            Ok(session) => {
                let outcome = identity(&session);
                SESSION.with(|slot| *slot.borrow_mut() = Some(Rc::new(session)));
                post(&WorkerEvent::Done { id, outcome });
                // Signed in: mail is next, so the render worker starts loading now.
                render::warm_up();
            }
            Err(error) => post(&WorkerEvent::Failed { id, code: error.code(), message: error.to_string() }),
        }
    }

    pub fn start() {
        console_error_panic_hook::set_once();
        let on_message = Closure::<dyn Fn(MessageEvent)>::new(|event: MessageEvent| {
            let Ok(array) = event.data().dyn_into::<js_sys::Uint8Array>() else { return };
            match plico_api::worker::decode::<WorkerRequest>(&array.to_vec()) {
                Ok(request) => wasm_bindgen_futures::spawn_local(handle(request)),
                Err(error) => web_sys::console::error_1(&format!("worker: unreadable request: {error}").into()),
            }
        });
        scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        // Messages sent before the wasm loaded were dropped; the UI waits for this.
        post(&WorkerEvent::Ready);
    }
}

fn main() {
    #[cfg(target_arch = "wasm32")]
    worker::start();
}
