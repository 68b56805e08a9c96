//! Plico's crypto worker: the second wasm binary. It receives [`WorkerRequest`]s from the UI as
//! postcard bytes, runs them with `plico-client`, and posts [`WorkerEvent`]s back. MIME work
//! goes to the render worker (the third binary), which this worker starts as a nested worker.
//!
//! Architecture Invariant: the secret key and the password live only in this worker's memory;
//! the UI thread only ever learns the address and the fingerprint, and the plaintext of what
//! the user reads or writes.

#[cfg(target_arch = "wasm32")]
mod mailbox;
#[cfg(target_arch = "wasm32")]
mod nested;
#[cfg(target_arch = "wasm32")]
mod offline;
#[cfg(target_arch = "wasm32")]
mod render;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod room;
#[cfg(target_arch = "wasm32")]
mod search;
#[cfg(target_arch = "wasm32")]
mod transfer;
#[cfg(target_arch = "wasm32")]
mod transport;

#[cfg(target_arch = "wasm32")]
mod worker {
    use std::cell::RefCell;
    use std::rc::Rc;

    use plico_api::worker::{
        OutgoingAttachment, UnlockedIdentity, WorkerCommand, WorkerEvent, WorkerOutcome, WorkerRequest, WorkerStage,
    };
    use plico_client::mail;
    use plico_client::{FlowError, UnlockedSession};
    use plico_mime::Attachment;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    use crate::mailbox;
    use crate::offline;
    use crate::render::{self, RenderWorker};
    use crate::search;
    use crate::transfer;
    use crate::transport::FetchTransport;

    thread_local! {
        /// Shared, so a mail command keeps its session while it runs; Lock drops the slot's copy
        /// at once and the last in-flight command drops the rest.
        static SESSION: RefCell<Option<Rc<UnlockedSession>>> = const { RefCell::new(None) };
        /// The attachments of the message opened last, for the UI to download, and the changed
        /// key it carries for its sender, for "Use the new key".
        static OPENED: RefCell<Option<OpenedLast>> = const { RefCell::new(None) };
    }

    /// What the worker keeps of the message opened last.
    struct OpenedLast {
        id: String,
        attachments: Vec<Attachment>,
        new_key: Option<plico_client::keyring::OutsideKey>,
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

    fn identity(session: &UnlockedSession, offline: bool) -> WorkerOutcome {
        WorkerOutcome::Unlocked(UnlockedIdentity {
            address: session.account.address.clone(),
            fingerprint: session.account.fingerprint.clone(),
            offline,
        })
    }

    /// Signs in with the server; without it, from this device's own way in if the user kept one.
    /// Returns the session and whether it was unlocked offline.
    async fn sign_in(
        address: String,
        password: String,
        reopen: bool,
        keep_offline: bool,
        progress: impl Fn(WorkerStage),
    ) -> Result<(UnlockedSession, bool), FlowError> {
        match plico_client::sign_in(&FetchTransport, &address, &password, reopen, &progress).await {
            Ok(signed_in) => {
                let session = signed_in.session;
                let account = session.account.clone();
                // After the answer, so sign-in does not wait on a second Argon2id.
                wasm_bindgen_futures::spawn_local(async move {
                    // Unticked, or a record that could not be made: this device keeps none.
                    let record = match keep_offline {
                        false => None,
                        true => match plico_client::device_unlock::record(&password, &signed_in.export_key, &account) {
                            Ok(record) => Some(record),
                            Err(error) => {
                                web_sys::console::warn_1(&format!("offline sign-in not kept: {error}").into());
                                None
                            }
                        },
                    };
                    offline::set_device_unlock(&account.address, record).await;
                });
                Ok((session, false))
            }
            Err(FlowError::Network(reason)) if !reopen => match offline::device_unlock(&address).await {
                Some(record) => {
                    progress(WorkerStage::StretchingPassword);
                    plico_client::device_unlock::unlock(&address, &password, &record).map(|session| (session, true))
                }
                None => Err(FlowError::Network(reason)),
            },
            Err(error) => Err(error),
        }
    }

    /// Runs a mail command with the unlocked session.
    async fn mail_command(id: u32, command: WorkerCommand) -> Result<WorkerOutcome, FlowError> {
        let Some(session) = SESSION.with(|slot| slot.borrow().clone()) else { return Err(locked()) };
        run_mail_command(id, &session, command).await
    }

    /// Fetches and opens the summaries of `ids` into the mailbox.
    async fn open_summaries(
        session: &UnlockedSession,
        ids: &[String],
    ) -> Result<Vec<(String, Option<plico_api::worker::ListedSummary>)>, FlowError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let fetched = mail::fetch_summaries(&FetchTransport, ids).await?;
        let known: Vec<(plico_api::mail::MessageMeta, String)> = fetched
            .into_iter()
            .filter_map(|sealed| {
                mailbox::with(|mailbox| mailbox.meta(&sealed.id).cloned()).map(|meta| (meta, sealed.sealed_summary))
            })
            .collect();
        let pairs: Vec<(&plico_api::mail::MessageMeta, &str)> =
            known.iter().map(|(meta, sealed)| (meta, sealed.as_str())).collect();
        let summaries = mail::listed_summaries(&FetchTransport, session, &pairs).await;
        let opened: Vec<_> = known
            .iter()
            .zip(summaries)
            .map(|((meta, _), summary)| {
                mailbox::with(|mailbox| mailbox.set_summary(&meta.id, summary.clone()));
                (meta.id.clone(), summary)
            })
            .collect();
        mailbox::changed();
        Ok(opened)
    }

    async fn run_mail_command(
        id: u32,
        session: &UnlockedSession,
        command: WorkerCommand,
    ) -> Result<WorkerOutcome, FlowError> {
        match command {
            WorkerCommand::SyncMailbox { since } => {
                // This device's saved copy first, so only what changed since comes over the
                // network; metadata for everything, summaries only for the newest of each folder
                // not opened yet (the rest come through `OpenSummaries`).
                mailbox::ensure_loaded().await;
                let from = if since == 0 { mailbox::with(|mailbox| mailbox.cursor()) } else { since };
                let changes = match mail::sync(&FetchTransport, from, false).await {
                    Ok(changes) => changes,
                    // No network at sign-in: the saved copy is the mailbox until it returns (and
                    // the next sync continues from its cursor).
                    Err(FlowError::Network(_)) if since == 0 && mailbox::with(|mailbox| !mailbox.is_empty()) => {
                        let (cursor, folders, messages) =
                            mailbox::with(|mailbox| (mailbox.cursor(), mailbox.folders().to_vec(), mailbox.listed()));
                        return Ok(WorkerOutcome::Mailbox {
                            cursor,
                            folders,
                            messages,
                            removed: Vec::new(),
                            removed_folders: Vec::new(),
                        });
                    }
                    Err(error) => return Err(error),
                };
                let folders: Vec<_> = changes.folders.iter().map(|folder| mail::folder_view(session, folder)).collect();
                let changed_metas = changes.messages.clone();
                let changed = mailbox::with(|mailbox| {
                    mailbox.apply(
                        changes.cursor,
                        folders.clone(),
                        changes.messages,
                        &changes.removed_messages,
                        &changes.removed_folders,
                    )
                });
                // Moves, flags and deletions reach the search index; new mail is indexed by
                // the next BuildIndex, which the UI asks for after each sync.
                search::synced(&changed_metas, &changes.removed_messages).await;
                // Copies kept for reading offline follow the mailbox: a purged message's goes. Only
                // a sync that removed messages, or a whole one (no saved cursor), can leave some.
                if from == 0 || !changes.removed_messages.is_empty() {
                    let live = mailbox::with(|mailbox| mailbox.metas().map(|meta| meta.blob_hash.clone()).collect());
                    offline::prune(live).await;
                }
                let first = mailbox::with(|mailbox| mailbox.first_unopened(mail::FIRST_SUMMARIES_PER_FOLDER));
                open_summaries(session, &first).await?;
                mailbox::changed();
                let (cursor, folders, messages) = mailbox::with(|mailbox| {
                    if since == 0 {
                        (mailbox.cursor(), mailbox.folders().to_vec(), mailbox.listed())
                    } else {
                        let messages = changed.iter().filter_map(|listed| mailbox.listed_one(&listed.id)).collect();
                        (changes.cursor, folders, messages)
                    }
                });
                Ok(WorkerOutcome::Mailbox {
                    cursor,
                    folders,
                    messages,
                    removed: changes.removed_messages,
                    removed_folders: changes.removed_folders,
                })
            }
            WorkerCommand::BuildIndex => {
                mailbox::ensure_loaded().await;
                search::build(session, |progress| {
                    post(&WorkerEvent::Progress { id, stage: WorkerStage::Indexing(progress) })
                })
                .await
            }
            WorkerCommand::PauseIndex => Ok(search::pause()),
            WorkerCommand::Search { query, limit } => search::search(query, limit.min(500)).await,
            WorkerCommand::CachedMailbox => {
                let head = mailbox::head().await;
                let (folders, messages) = head.map(|head| (head.folders, head.messages)).unwrap_or_default();
                Ok(WorkerOutcome::Mailbox {
                    cursor: 0,
                    folders,
                    messages,
                    removed: Vec::new(),
                    removed_folders: Vec::new(),
                })
            }
            WorkerCommand::OpenSummaries { ids } => Ok(WorkerOutcome::Summaries(open_summaries(session, &ids).await?)),
            WorkerCommand::OpenMessage { id: message_id } => {
                let meta = mailbox::with(|mailbox| mailbox.meta(&message_id).cloned())
                    .ok_or_else(|| FlowError::Protocol("That message is not in this mailbox; sync first.".into()))?;
                let opened = mail::open(&FetchTransport, &RenderWorker, session, &meta).await?;
                let view = mail::opened_view(&message_id, &opened);
                OPENED.with(|slot| {
                    *slot.borrow_mut() = Some(OpenedLast {
                        id: message_id,
                        attachments: opened.message.attachments,
                        new_key: opened.new_key,
                    })
                });
                Ok(WorkerOutcome::Opened(Box::new(view)))
            }
            WorkerCommand::Attachment { message_id, index } => OPENED.with(|slot| {
                let slot = slot.borrow();
                let attachment = slot
                    .as_ref()
                    .filter(|opened| opened.id == message_id)
                    .and_then(|opened| opened.attachments.get(index as usize))
                    .ok_or_else(|| FlowError::Protocol("Open the message again to download its attachments.".into()))?;
                Ok(WorkerOutcome::File(OutgoingAttachment {
                    file_name: attachment.file_name.clone(),
                    content_type: attachment.content_type.clone(),
                    data: attachment.data.clone(),
                }))
            }),
            WorkerCommand::Send(message) => {
                let mut outgoing = outgoing(message)?;
                let key = mail::new_idempotency_key();
                outgoing.idempotency_key = Some(key.clone());
                // Each stage once, and each upload percent once.
                let last = std::cell::Cell::new(None);
                let progress = |stage: WorkerStage| {
                    if last.replace(Some(stage)) != Some(stage) {
                        post(&WorkerEvent::Progress { id, stage });
                    }
                };
                match mail::send(&FetchTransport, &RenderWorker, session, &outgoing, now(), &progress).await {
                    Ok(_) => Ok(WorkerOutcome::Sent),
                    // No network: the message waits in the Outbox, sealed on this device.
                    Err(FlowError::Network(_)) => {
                        Ok(WorkerOutcome::Queued(offline::queue(queued(outgoing), key).await?))
                    }
                    Err(error) => Err(error),
                }
            }
            WorkerCommand::Outbox => Ok(WorkerOutcome::Outbox(offline::outbox().await)),
            WorkerCommand::DeleteOutbox { id: item } => Ok(WorkerOutcome::Outbox(offline::remove(&item).await)),
            WorkerCommand::SendOutbox { again } => {
                let left = offline::send_all(again.as_deref(), |id, message| async move {
                    let mut outgoing = outgoing(message)?;
                    outgoing.idempotency_key = Some(id);
                    mail::send(&FetchTransport, &RenderWorker, session, &outgoing, now(), &|_| {}).await.map(|_| ())
                })
                .await;
                Ok(WorkerOutcome::Outbox(left))
            }
            WorkerCommand::SaveDraft(message) => {
                let outgoing = outgoing(message)?;
                let saved = mail::save_draft(&FetchTransport, &RenderWorker, session, &outgoing, now()).await?;
                Ok(WorkerOutcome::DraftSaved { id: saved.id })
            }
            WorkerCommand::KnownKeys { addresses } => {
                let (keyring, _) = plico_client::keyring::load(&FetchTransport, session).await?;
                let mut known = Vec::new();
                for address in addresses {
                    let found = keyring.find(&address).is_some()
                        || mail::fetch_outside_cert(&FetchTransport, &address).await.ok().flatten().is_some();
                    if found {
                        known.push(address);
                    }
                }
                Ok(WorkerOutcome::KnownKeys(known))
            }
            WorkerCommand::SyncConsent { receipts } => {
                let all = plico_client::privacy::sync(&FetchTransport, session, &receipts).await?;
                Ok(WorkerOutcome::Consent(all))
            }
            WorkerCommand::Keyring => {
                let (keyring, _) = plico_client::keyring::load(&FetchTransport, session).await?;
                let mut entries: Vec<plico_api::worker::KeyringEntry> = keyring
                    .keys
                    .into_iter()
                    .map(|key| plico_api::worker::KeyringEntry {
                        address: key.address,
                        fingerprint: key.fingerprint,
                        imported: key.source == plico_client::keyring::KeySource::Imported,
                        updated_at: key.updated_at,
                    })
                    .collect();
                entries.sort_by(|a, b| a.address.cmp(&b.address));
                Ok(WorkerOutcome::Keyring(entries))
            }
            WorkerCommand::ImportKey { armored } => {
                let keys = plico_client::keyring::imported_keys(&armored, now()).map_err(FlowError::Invalid)?;
                plico_client::keyring::update(&FetchTransport, session, |keyring| {
                    // Every key is applied: no short circuit.
                    let mut changed = false;
                    for key in &keys {
                        changed |= keyring.upsert(key.clone());
                    }
                    changed
                })
                .await?;
                Ok(WorkerOutcome::KeyImported(keys.into_iter().map(|key| key.address).collect()))
            }
            WorkerCommand::RemoveKey { address } => {
                plico_client::keyring::update(&FetchTransport, session, |keyring| {
                    let before = keyring.keys.len();
                    keyring.keys.retain(|key| !key.address.eq_ignore_ascii_case(&address));
                    keyring.keys.len() != before
                })
                .await?;
                Ok(WorkerOutcome::KeyRemoved)
            }
            WorkerCommand::UseNewKey { message_id } => {
                let chosen = OPENED.with(|slot| {
                    slot.borrow()
                        .as_ref()
                        .filter(|opened| opened.id == message_id)
                        .and_then(|opened| opened.new_key.clone())
                });
                let mut key =
                    chosen.ok_or_else(|| FlowError::Protocol("Open the message again to choose its key.".into()))?;
                // The user's choice: kept as imported, so no Autocrypt header replaces it.
                key.source = plico_client::keyring::KeySource::Imported;
                key.updated_at = now();
                let address = key.address.clone();
                plico_client::keyring::update(&FetchTransport, session, |keyring| keyring.upsert(key.clone())).await?;
                Ok(WorkerOutcome::KeyImported(vec![address]))
            }
            WorkerCommand::Export { passphrase, receipts } => {
                transfer::export(session, &passphrase, &receipts, now(), |done, total| {
                    post(&WorkerEvent::Progress { id, stage: WorkerStage::Exporting { done, total } })
                })
                .await
            }
            WorkerCommand::ImportBegin { folder_id, file_name, eml } => Ok(transfer::begin(folder_id, file_name, eml)),
            WorkerCommand::ImportChunk { bytes, last } => transfer::chunk(session, bytes, last, now()).await,
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

    /// What the Outbox keeps of a message that could not go: the composed message with its
    /// forwarded attachments in it, since the message they came from may not be open later.
    fn queued(outgoing: mail::Outgoing) -> plico_api::worker::OutgoingMessage {
        plico_api::worker::OutgoingMessage {
            to: outgoing.to,
            cc: outgoing.cc,
            bcc: outgoing.bcc,
            subject: outgoing.subject,
            text: outgoing.text,
            in_reply_to: outgoing.in_reply_to,
            references: outgoing.references,
            attachments: outgoing
                .attachments
                .into_iter()
                .map(|attachment| OutgoingAttachment {
                    file_name: attachment.file_name,
                    content_type: attachment.content_type,
                    data: attachment.data,
                })
                .collect(),
            forward_attachments_of: None,
            draft_id: outgoing.draft_id,
            send_unencrypted: outgoing.send_unencrypted,
        }
    }

    /// The client's form of a composed message; a forward's attachments come from the message
    /// opened last.
    fn outgoing(message: plico_api::worker::OutgoingMessage) -> Result<mail::Outgoing, FlowError> {
        let forwarded: Vec<Attachment> = match &message.forward_attachments_of {
            Some(original) => OPENED.with(|slot| {
                slot.borrow()
                    .as_ref()
                    .filter(|opened| opened.id == *original)
                    .map(|opened| opened.attachments.clone())
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
            send_unencrypted: message.send_unencrypted,
            idempotency_key: None,
        })
    }

    async fn handle(request: WorkerRequest) {
        let id = request.id;
        let progress = move |stage| post(&WorkerEvent::Progress { id, stage });
        let result = match request.command {
            WorkerCommand::Signup { name, password, recovery_address } => {
                plico_client::signup_with_recovery(&FetchTransport, &name, &password, recovery_address, progress)
                    .await
                    .map(|session| (session, false))
            }
            WorkerCommand::Login { address, password, reopen, keep_offline } => {
                sign_in(address, password, reopen, keep_offline, progress).await
            }
            WorkerCommand::DeviceKept { address } => {
                let kept = offline::device_unlock(&address).await.is_some();
                post(&WorkerEvent::Done { id, outcome: WorkerOutcome::DeviceKept(kept) });
                return;
            }
            WorkerCommand::VerifyCanary { statement, service_key, max_age_days, now } => {
                let view = plico_client::privacy::check_canary(&statement, &service_key, max_age_days, now);
                post(&WorkerEvent::Done { id, outcome: WorkerOutcome::Canary(view) });
                return;
            }
            WorkerCommand::Lock => {
                SESSION.with(|session| session.borrow_mut().take());
                OPENED.with(|slot| slot.borrow_mut().take());
                transfer::forget();
                crate::transport::forget();
                search::close().await;
                offline::lock().await;
                mailbox::lock().await;
                post(&WorkerEvent::Done { id, outcome: WorkerOutcome::Locked });
                return;
            }
            WorkerCommand::ForgetDevice => {
                SESSION.with(|session| session.borrow_mut().take());
                OPENED.with(|slot| slot.borrow_mut().take());
                transfer::forget();
                crate::transport::forget();
                offline::lock().await;
                // The index lives in the database `forget` deletes; its worker lets go first.
                search::close().await;
                match mailbox::forget().await {
                    Ok(()) => post(&WorkerEvent::Done { id, outcome: WorkerOutcome::Locked }),
                    Err(message) => post(&WorkerEvent::Failed { id, code: "local_storage".into(), message }),
                }
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
            Ok((session, offline)) => {
                let outcome = identity(&session, offline);
                mailbox::unlocked(plico_client::cache::device_key(&session));
                let session = Rc::new(session);
                SESSION.with(|slot| *slot.borrow_mut() = Some(Rc::clone(&session)));
                post(&WorkerEvent::Done { id, outcome });
                // The search index opens while the first screen loads.
                wasm_bindgen_futures::spawn_local(async move { search::open(&session).await });
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
