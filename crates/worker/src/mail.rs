//! The mailbox's commands ([`MailCommand`]): sync, summaries, opening, sending, drafts,
//! folders and the Outbox; and the message opened last (its attachments, the changed key it
//! carries), which the keys and the composer use.

use std::cell::RefCell;

use plico_api::worker::{MailCommand, OutgoingAttachment, WorkerEvent, WorkerOutcome, WorkerStage};
use plico_client::mail;
use plico_client::{FlowError, UnlockedSession};
use plico_mime::Attachment;

use crate::render::RenderWorker;
use crate::transport::FetchTransport;
use crate::{mailbox, now, offline, post, search};

thread_local! {
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

/// Forgets the message opened last (at sign-out).
pub fn forget() {
    OPENED.with(|slot| slot.borrow_mut().take());
}

/// The changed key the message `message_id` carries, if it is the one opened last.
pub fn new_key_of(message_id: &str) -> Option<plico_client::keyring::OutsideKey> {
    OPENED.with(|slot| {
        slot.borrow().as_ref().filter(|opened| opened.id == message_id).and_then(|opened| opened.new_key.clone())
    })
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

pub async fn handle(id: u32, session: &UnlockedSession, command: MailCommand) -> Result<WorkerOutcome, FlowError> {
    match command {
        MailCommand::SyncMailbox { since } => {
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
        MailCommand::CachedMailbox => {
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
        MailCommand::OpenSummaries { ids } => Ok(WorkerOutcome::Summaries(open_summaries(session, &ids).await?)),
        MailCommand::OpenMessage { id: message_id } => {
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
        MailCommand::Attachment { message_id, index } => OPENED.with(|slot| {
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
        MailCommand::Send(message) => {
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
                Err(FlowError::Network(_)) => Ok(WorkerOutcome::Queued(offline::queue(queued(outgoing), key).await?)),
                Err(error) => Err(error),
            }
        }
        MailCommand::Outbox => Ok(WorkerOutcome::Outbox(offline::outbox().await)),
        MailCommand::DeleteOutbox { id: item } => Ok(WorkerOutcome::Outbox(offline::remove(&item).await)),
        MailCommand::SendOutbox { again } => {
            let left = offline::send_all(again.as_deref(), |id, message| async move {
                let mut outgoing = outgoing(message)?;
                outgoing.idempotency_key = Some(id);
                mail::send(&FetchTransport, &RenderWorker, session, &outgoing, now(), &|_| {}).await.map(|_| ())
            })
            .await;
            Ok(WorkerOutcome::Outbox(left))
        }
        MailCommand::SaveDraft(message) => {
            let outgoing = outgoing(message)?;
            let saved = mail::save_draft(&FetchTransport, &RenderWorker, session, &outgoing, now()).await?;
            Ok(WorkerOutcome::DraftSaved { id: saved.id })
        }
        MailCommand::CreateFolder { name } => {
            mail::create_folder(&FetchTransport, session, &name).await?;
            Ok(WorkerOutcome::FolderSaved)
        }
        MailCommand::RenameFolder { folder_id, name } => {
            mail::rename_folder(&FetchTransport, session, &folder_id, &name).await?;
            Ok(WorkerOutcome::FolderSaved)
        }
    }
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
