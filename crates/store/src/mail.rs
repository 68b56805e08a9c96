//! Folders, messages, blobs and the change counter behind sync.
//!
//! Every method takes the account it acts for, and every statement filters on it: an account
//! can see and change only its own folders and messages. Multi-message changes are
//! all-or-nothing: one id that is not the caller's fails the whole request and changes nothing.

use std::collections::HashMap;

use plico_api::mail::{flags, Folder, FolderRole, MessageMeta, MessageUpdate, SyncChanges};
use rand::RngCore;
use sqlx::Row;

use super::{Error, Store};

/// Why a mail operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// The request is well-formed but conflicts with what is stored (a role folder, a blob's
    /// size, a message that is not a draft).
    #[error("{0}")]
    Conflict(String),
    /// The sending limit is reached; it frees up in `retry_after_seconds`.
    #[error("{message}")]
    SendLimit { message: String, retry_after_seconds: u64 },
    #[error(transparent)]
    Database(#[from] crate::Error),
}

impl From<sqlx::Error> for MailError {
    fn from(error: sqlx::Error) -> Self {
        MailError::Database(error.into())
    }
}

/// The sending limit: recipients per rolling day, as of `now`.
#[derive(Debug, Clone, Copy)]
pub struct SendBudget {
    pub now: i64,
    pub recipients_per_day: u32,
}

const DAY_SECONDS: i64 = 24 * 60 * 60;

/// A new random opaque id: 128 bits, hex.
/// Whether `id` has the shape [`new_id`] gives ids.
pub fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// System folders in the order the sidebar shows them, then user folders by age.
const FOLDER_ORDER: &str = "GROUP BY f.id ORDER BY CASE f.role WHEN 'inbox' THEN 0 WHEN 'drafts' THEN 1 \
    WHEN 'sent' THEN 2 WHEN 'archive' THEN 3 WHEN 'spam' THEN 4 WHEN 'trash' THEN 5 ELSE 6 END, f.created_at, f.id";

const FOLDER_QUERY: &str = "SELECT f.id, f.role, f.sealed_name,
        COUNT(m.id) AS total,
        CAST(COALESCE(SUM(CASE WHEN m.id IS NOT NULL AND (m.flags & 1) = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS unread
    FROM folders f LEFT JOIN messages m ON m.folder_id = f.id AND m.deleted_at IS NULL
    WHERE f.account_id = $1";

const MESSAGE_COLUMNS: &str = "id, folder_id, flags, size, received_at, blob_hash, sealed_summary, deleted_at, sender";

/// What sending a message needs besides the sender and the recipients.
#[derive(Clone, Copy)]
pub struct Delivery<'a> {
    pub blob_hash: &'a str,
    pub size: u64,
    pub sealed_summary: &'a [u8],
    pub received_at: i64,
    /// The Plico account that sent it, as this server authenticated it (internal mail only).
    pub sender: Option<&'a str>,
}

/// One message from outside, as the ingress's group commit files it: the blobs its copies
/// need and the copies.
pub struct InboundMessage<'a> {
    pub blobs: Vec<InboundBlob<'a>>,
    pub copies: Vec<(i64, FolderRole, Delivery<'a>)>,
    pub received_at: i64,
}

/// A blob of an inbound message: already durable as a file, or `inline`, written with its row.
pub struct InboundBlob<'a> {
    pub hash: &'a str,
    pub size: u64,
    pub inline: Option<&'a [u8]>,
}

/// What filing a message needs besides the account.
pub struct FileMessage<'a> {
    pub folder_id: &'a str,
    pub blob_hash: &'a str,
    pub size: u64,
    pub sealed_summary: &'a [u8],
    pub flags: u32,
    pub received_at: i64,
}

fn unknown_folder() -> MailError {
    MailError::NotFound("There is no folder with that id in your mailbox.".into())
}

fn unknown_messages() -> MailError {
    MailError::NotFound("One or more of those messages are not in your mailbox; nothing was changed.".into())
}

impl Store {
    /// The account's folders with their message and unread counts.
    pub async fn folders(&self, account_id: i64) -> Result<Vec<Folder>, Error> {
        crate::engines::on_db!(self, |pool| {
            let rows = sqlx::query(&format!("{FOLDER_QUERY} {FOLDER_ORDER}")).bind(account_id).fetch_all(pool).await?;
            Ok(rows.iter().map(engine::folder_from_row).collect())
        })
    }

    pub async fn create_folder(&self, account_id: i64, sealed_name: &[u8], now: i64) -> Result<Folder, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            let modseq = engine::next_modseq(&mut transaction, account_id).await?;
            let id = new_id();
            sqlx::query(
                "INSERT INTO folders (id, account_id, role, sealed_name, modseq, created_at) VALUES ($1, $2, NULL, $3, $4, $5)",
            )
            .bind(&id)
            .bind(account_id)
            .bind(sealed_name)
            .bind(modseq)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
            transaction.commit().await?;
            Ok(Folder { id, role: None, sealed_name: Some(base64(sealed_name)), total: 0, unread: 0 })
        })
    }

    pub async fn rename_folder(&self, account_id: i64, folder_id: &str, sealed_name: &[u8]) -> Result<(), MailError> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            match engine::folder_role(&mut transaction, account_id, folder_id).await? {
                None => return Err(unknown_folder()),
                Some(Some(role)) => {
                    return Err(MailError::Conflict(format!("The {} folder cannot be renamed.", role.as_str())))
                }
                Some(None) => {}
            }
            let modseq = engine::next_modseq(&mut transaction, account_id).await?;
            sqlx::query("UPDATE folders SET sealed_name = $1, modseq = $2 WHERE id = $3 AND account_id = $4")
                .bind(sealed_name)
                .bind(modseq)
                .bind(folder_id)
                .bind(account_id)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
            Ok(())
        })
    }

    /// Deletes a user folder; its messages move to Trash.
    pub async fn delete_folder(&self, account_id: i64, folder_id: &str) -> Result<(), MailError> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            match engine::folder_role(&mut transaction, account_id, folder_id).await? {
                None => return Err(unknown_folder()),
                Some(Some(role)) => {
                    return Err(MailError::Conflict(format!("The {} folder cannot be deleted.", role.as_str())))
                }
                Some(None) => {}
            }
            let trash = engine::role_folder(&mut transaction, account_id, FolderRole::Trash).await?;
            let modseq = engine::next_modseq(&mut transaction, account_id).await?;
            sqlx::query("UPDATE messages SET folder_id = $1, modseq = $2 WHERE folder_id = $3 AND account_id = $4")
                .bind(&trash)
                .bind(modseq)
                .bind(folder_id)
                .bind(account_id)
                .execute(&mut *transaction)
                .await?;
            sqlx::query("DELETE FROM folders WHERE id = $1 AND account_id = $2")
                .bind(folder_id)
                .bind(account_id)
                .execute(&mut *transaction)
                .await?;
            engine::insert_tombstone(&mut transaction, account_id, "folder", folder_id, modseq).await?;
            transaction.commit().await?;
            Ok(())
        })
    }

    /// Records a durable blob; called after the blob store has synced it to disk.
    /// The bytes of a blob kept in its row (`None` for one kept as a file, or none at all).
    pub async fn inline_blob(&self, hash: &str) -> Result<Option<Vec<u8>>, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query("SELECT data FROM blobs WHERE hash = $1 AND data IS NOT NULL")
                .bind(hash)
                .fetch_optional(pool)
                .await?;
            Ok(row.map(|row| row.get("data")))
        })
    }

    /// Records an uploaded blob and that `uploader` may file it.
    pub async fn record_blob(&self, hash: &str, size: u64, now: i64, uploader: i64) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[uploader]).await?;
            sqlx::query(
                "INSERT INTO blobs (hash, size, refcount, created_at) VALUES ($1, $2, 0, $3) ON CONFLICT DO NOTHING",
            )
            .bind(hash)
            .bind(size as i64)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
            sqlx::query("INSERT INTO blob_claims (hash, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(hash)
                .bind(uploader)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await.map_err(Error::from)
        })
    }

    /// Files a message whose blob is already stored.
    pub async fn file_message(&self, account_id: i64, message: &FileMessage<'_>) -> Result<MessageMeta, MailError> {
        crate::engines::on_db!(self, |pool| {
            if message.flags & !flags::ALL != 0 {
                return Err(MailError::Invalid(format!("Unknown flag bits {:#x}.", message.flags & !flags::ALL)));
            }
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            if engine::folder_role(&mut transaction, account_id, message.folder_id).await?.is_none() {
                return Err(unknown_folder());
            }
            engine::check_blob(&mut transaction, account_id, message.blob_hash, message.size).await?;
            let delivery = Delivery {
                blob_hash: message.blob_hash,
                size: message.size,
                sealed_summary: message.sealed_summary,
                received_at: message.received_at,
                sender: None,
            };
            let filed =
                engine::insert_message(&mut transaction, account_id, message.folder_id, message.flags, &delivery)
                    .await?;
            transaction.commit().await?;
            Ok(filed)
        })
    }

    /// Replaces a draft's blob and summary in place, keeping its id.
    pub async fn replace_draft(
        &self,
        account_id: i64,
        id: &str,
        version: &Delivery<'_>,
    ) -> Result<MessageMeta, MailError> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            let old_blob = engine::owned_draft(&mut transaction, account_id, id).await?;
            engine::check_blob(&mut transaction, account_id, version.blob_hash, version.size).await?;
            sqlx::query("UPDATE blobs SET refcount = refcount + 1 WHERE hash = $1")
                .bind(version.blob_hash)
                .execute(&mut *transaction)
                .await?;
            sqlx::query("UPDATE blobs SET refcount = refcount - 1 WHERE hash = $1")
                .bind(&old_blob)
                .execute(&mut *transaction)
                .await?;
            let modseq = engine::next_modseq(&mut transaction, account_id).await?;
            sqlx::query(
                "UPDATE messages SET blob_hash = $1, size = $2, sealed_summary = $3, received_at = $4, modseq = $5 WHERE id = $6",
            )
            .bind(version.blob_hash)
            .bind(version.size as i64)
            .bind(version.sealed_summary)
            .bind(version.received_at)
            .bind(modseq)
            .bind(id)
            .execute(&mut *transaction)
            .await?;
            let row = sqlx::query("SELECT * FROM messages WHERE id = $1").bind(id).fetch_one(&mut *transaction).await?;
            transaction.commit().await?;
            Ok(engine::message_from_row(&row))
        })
    }

    /// Discards a draft for good.
    pub async fn discard_draft(&self, account_id: i64, id: &str) -> Result<(), MailError> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            engine::remove_draft(&mut transaction, account_id, id).await?;
            transaction.commit().await?;
            Ok(())
        })
    }

    /// Files many messages sharing one stored blob into one folder, in one transaction (the
    /// `plico seed` tool's bulk path). Each entry is a sealed summary and a received time. The
    /// server wrote them, as it writes mail from the Internet, and flags them so: their
    /// summaries are unsigned, and only on such mail does the client believe an unsigned one.
    pub async fn file_many(
        &self,
        account_id: i64,
        role: FolderRole,
        blob_hash: &str,
        size: u64,
        entries: &[(Vec<u8>, i64)],
    ) -> Result<(), MailError> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            engine::check_blob(&mut transaction, account_id, blob_hash, size).await?;
            let folder = engine::role_folder(&mut transaction, account_id, role).await?;
            for (sealed_summary, received_at) in entries {
                let delivery = Delivery { blob_hash, size, sealed_summary, received_at: *received_at, sender: None };
                engine::insert_message(&mut transaction, account_id, &folder, flags::FROM_INTERNET, &delivery).await?;
            }
            transaction.commit().await?;
            Ok(())
        })
    }

    /// Files one stored blob as a message in the Sent folder of `sender` and in the Inbox of each
    /// recipient account, all in one transaction; the draft it was written in, if any, goes in
    /// the same transaction.
    /// Delivers a Plico user's message: a copy in each recipient's Inbox, stamped with the
    /// sender's address as this server authenticated it, and the Sent copy.
    #[allow(clippy::too_many_arguments)]
    pub async fn deliver(
        &self,
        sender: i64,
        sender_address: &str,
        recipients: &[i64],
        message: &Delivery<'_>,
        draft_id: Option<&str>,
        outbound: &[super::outbound::NewOutbound<'_>],
        budget: SendBudget,
    ) -> Result<MessageMeta, MailError> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            let mut accounts = recipients.to_vec();
            accounts.push(sender);
            engine::lock_accounts(&mut transaction, &accounts).await?;
            let external: usize = outbound.iter().map(|package| package.recipients.len()).sum();
            engine::spend_budget(&mut transaction, sender, (recipients.len() + external) as u32, budget).await?;
            engine::check_blob(&mut transaction, sender, message.blob_hash, message.size).await?;
            for package in outbound {
                engine::insert_outbound(&mut transaction, sender, package, budget.now).await?;
            }
            if let Some(draft) = draft_id {
                engine::remove_draft(&mut transaction, sender, draft).await?;
            }
            let stamped = Delivery { sender: Some(sender_address), ..*message };
            for &recipient in recipients {
                let inbox = engine::role_folder(&mut transaction, recipient, FolderRole::Inbox).await?;
                engine::insert_message(&mut transaction, recipient, &inbox, 0, &stamped).await?;
            }
            let sent_folder = engine::role_folder(&mut transaction, sender, FolderRole::Sent).await?;
            let sent = engine::insert_message(&mut transaction, sender, &sent_folder, flags::SEEN, message).await?;
            transaction.commit().await?;
            Ok(sent)
        })
    }

    /// Files a batch of messages from outside in one transaction (the ingress's group commit):
    /// each message records its blobs and files all its copies, or, when any of that fails,
    /// none of it (a savepoint per message), while the others of the batch are filed. Returns
    /// each message's filed copies or why it was not filed; an `Err` means the commit itself
    /// failed and nothing of the batch was filed.
    pub async fn deliver_inbound_batch(
        &self,
        messages: &[InboundMessage<'_>],
    ) -> Result<Vec<Result<Vec<MessageMeta>, MailError>>, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            let accounts: Vec<i64> =
                messages.iter().flat_map(|message| message.copies.iter().map(|copy| copy.0)).collect();
            engine::lock_accounts(&mut transaction, &accounts).await?;
            let mut outcomes = Vec::with_capacity(messages.len());
            let mut folders = HashMap::new();
            for message in messages {
                let mut savepoint = sqlx::Acquire::begin(&mut transaction).await?;
                match engine::file_inbound(&mut savepoint, message, &mut folders).await {
                    Ok(filed) => {
                        savepoint.commit().await?;
                        outcomes.push(Ok(filed));
                    }
                    Err(error) => {
                        savepoint.rollback().await?;
                        outcomes.push(Err(error));
                    }
                }
            }
            transaction.commit().await?;
            Ok(outcomes)
        })
    }

    /// Counts `recipients` against the account's sending limit on their own, for mail the server
    /// sends at the account's request outside a send (the recovery address's activation code).
    pub async fn spend_send_budget(
        &self,
        account_id: i64,
        recipients: u32,
        budget: SendBudget,
    ) -> Result<(), MailError> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            engine::spend_budget(&mut transaction, account_id, recipients, budget).await?;
            transaction.commit().await?;
            Ok(())
        })
    }

    /// Forgets sends older than a day: the sending limit looks back no further.
    pub async fn purge_send_log_before(&self, cutoff: i64) -> Result<u64, Error> {
        crate::engines::on_db!(self, |pool| {
            let done = sqlx::query("DELETE FROM send_log WHERE sent_at <= $1").bind(cutoff).execute(pool).await?;
            Ok(done.rows_affected())
        })
    }

    /// Moves and flags several messages at once.
    pub async fn update_messages(&self, account_id: i64, update: &MessageUpdate) -> Result<(), MailError> {
        crate::engines::on_db!(self, |pool| {
            let unknown_bits = (update.add_flags | update.remove_flags) & !flags::ALL;
            if unknown_bits != 0 {
                return Err(MailError::Invalid(format!("Unknown flag bits {unknown_bits:#x}.")));
            }
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            if let Some(folder_id) = &update.folder_id {
                if engine::folder_role(&mut transaction, account_id, folder_id).await?.is_none() {
                    return Err(unknown_folder());
                }
            }
            engine::owned_messages(&mut transaction, account_id, &update.ids).await?;
            let modseq = engine::next_modseq(&mut transaction, account_id).await?;
            for id in &update.ids {
                sqlx::query(
                    "UPDATE messages SET folder_id = COALESCE($1, folder_id), flags = (flags | $2) & ~$3, modseq = $4
                     WHERE id = $5 AND account_id = $6",
                )
                .bind(update.folder_id.as_deref())
                .bind(i64::from(update.add_flags))
                .bind(i64::from(update.remove_flags))
                .bind(modseq)
                .bind(id)
                .bind(account_id)
                .execute(&mut *transaction)
                .await?;
            }
            transaction.commit().await?;
            Ok(())
        })
    }

    /// Deletes messages: outside Trash they move to Trash; in Trash they leave it for the
    /// recovery area, from which the retention task purges them after 45 days.
    pub async fn delete_messages(&self, account_id: i64, ids: &[String], now: i64) -> Result<(), MailError> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            let found = engine::owned_messages(&mut transaction, account_id, ids).await?;
            let trash = engine::role_folder(&mut transaction, account_id, FolderRole::Trash).await?;
            let modseq = engine::next_modseq(&mut transaction, account_id).await?;
            for (id, folder_id, deleted_at) in found {
                if deleted_at.is_some() {
                    continue;
                }
                let query = if folder_id == trash {
                    sqlx::query("UPDATE messages SET deleted_at = $1, modseq = $2 WHERE id = $3 AND account_id = $4")
                        .bind(now)
                } else {
                    sqlx::query("UPDATE messages SET folder_id = $1, modseq = $2 WHERE id = $3 AND account_id = $4")
                        .bind(trash.clone())
                };
                query.bind(modseq).bind(&id).bind(account_id).execute(&mut *transaction).await?;
            }
            transaction.commit().await?;
            Ok(())
        })
    }

    /// Brings messages back from the recovery area into Trash.
    pub async fn recover_messages(&self, account_id: i64, ids: &[String]) -> Result<(), MailError> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            engine::owned_messages(&mut transaction, account_id, ids).await?;
            let modseq = engine::next_modseq(&mut transaction, account_id).await?;
            for id in ids {
                sqlx::query("UPDATE messages SET deleted_at = NULL, modseq = $1 WHERE id = $2 AND account_id = $3 AND deleted_at IS NOT NULL")
                    .bind(modseq)
                    .bind(id)
                    .bind(account_id)
                    .execute(&mut *transaction)
                    .await?;
            }
            transaction.commit().await?;
            Ok(())
        })
    }

    /// Everything that changed since `since`. Without `with_summaries`, messages carry an empty
    /// `sealed_summary` (a big mailbox syncs its metadata fast and fetches summaries as the list
    /// needs them, through [`Store::sealed_summaries`]).
    pub async fn changes_since(&self, account_id: i64, since: i64, with_summaries: bool) -> Result<SyncChanges, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::snapshot(pool).await?;
            let cursor: i64 = sqlx::query("SELECT modseq FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_one(&mut *transaction)
                .await?
                .get("modseq");
            let columns = if with_summaries {
                MESSAGE_COLUMNS.to_owned()
            } else {
                MESSAGE_COLUMNS.replace("sealed_summary", &format!("{} AS sealed_summary", engine::EMPTY_BYTES))
            };
            let messages = sqlx::query(&format!(
                "SELECT {columns} FROM messages WHERE account_id = $1 AND modseq > $2 ORDER BY received_at DESC, id"
            ))
            .bind(account_id)
            .bind(since)
            .fetch_all(&mut *transaction)
            .await?
            .iter()
            .map(engine::message_from_row)
            .collect();
            // Counts change with any message change, so every folder is sent whenever anything
            // changed, and always to a first sync (a new account's folders exist before any
            // change); there are few folders.
            let folders = if since == 0 || since < cursor {
                sqlx::query(&format!("{FOLDER_QUERY} {FOLDER_ORDER}"))
                    .bind(account_id)
                    .fetch_all(&mut *transaction)
                    .await?
                    .iter()
                    .map(engine::folder_from_row)
                    .collect()
            } else {
                Vec::new()
            };
            let tombstones = sqlx::query("SELECT kind, id FROM tombstones WHERE account_id = $1 AND modseq > $2")
                .bind(account_id)
                .bind(since)
                .fetch_all(&mut *transaction)
                .await?;
            let removed = |kind: &str| -> Vec<String> {
                tombstones.iter().filter(|row| row.get::<&str, _>("kind") == kind).map(|row| row.get("id")).collect()
            };
            transaction.commit().await?;
            Ok(SyncChanges {
                cursor,
                folders,
                messages,
                removed_messages: removed("message"),
                removed_folders: removed("folder"),
            })
        })
    }

    /// The sealed summaries of those of `ids` that are the account's messages, base64; ids that
    /// are not (another's, or purged since) are left out.
    pub async fn sealed_summaries(&self, account_id: i64, ids: &[String]) -> Result<Vec<(String, String)>, Error> {
        crate::engines::on_db!(self, |pool| {
            let rows = sqlx::query(&format!(
                "SELECT id, sealed_summary FROM messages WHERE account_id = $1 AND id IN ({})",
                engine::json_strings("$2")
            ))
            .bind(account_id)
            .bind(serde_json::to_string(ids).unwrap_or_default())
            .fetch_all(pool)
            .await?;
            Ok(rows.iter().map(|row| (row.get("id"), base64(&row.get::<Vec<u8>, _>("sealed_summary")))).collect())
        })
    }

    /// True when one of the account's messages, deleted or not, refers to the blob.
    pub async fn account_has_blob(&self, account_id: i64, hash: &str) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query("SELECT 1 FROM messages WHERE account_id = $1 AND blob_hash = $2 LIMIT 1")
                .bind(account_id)
                .bind(hash)
                .fetch_optional(pool)
                .await?;
            Ok(row.is_some())
        })
    }

    /// Purges messages deleted from Trash before `cutoff`. Returns the blobs no message refers
    /// to any more; the caller deletes their files, then calls [`Store::forget_blobs`].
    pub async fn purge_deleted_messages(&self, cutoff: i64) -> Result<(u64, Vec<String>), Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            let expired = sqlx::query(
                "SELECT id, account_id, blob_hash FROM messages WHERE deleted_at IS NOT NULL AND deleted_at < $1",
            )
            .bind(cutoff)
            .fetch_all(&mut *transaction)
            .await?;
            for row in &expired {
                let id: String = row.get("id");
                let account_id: i64 = row.get("account_id");
                let modseq = engine::next_modseq(&mut transaction, account_id).await?;
                sqlx::query("DELETE FROM messages WHERE id = $1").bind(&id).execute(&mut *transaction).await?;
                sqlx::query("UPDATE blobs SET refcount = refcount - 1 WHERE hash = $1")
                    .bind(row.get::<String, _>("blob_hash"))
                    .execute(&mut *transaction)
                    .await?;
                engine::insert_tombstone(&mut transaction, account_id, "message", &id, modseq).await?;
            }
            let orphans = sqlx::query(&format!(
                "SELECT hash FROM blobs WHERE refcount <= 0 AND hash IN ({})",
                engine::json_strings("$1")
            ))
            .bind(
                serde_json::to_string(&expired.iter().map(|row| row.get::<String, _>("blob_hash")).collect::<Vec<_>>())
                    .unwrap_or_default(),
            )
            .fetch_all(&mut *transaction)
            .await?
            .iter()
            .map(|row| row.get("hash"))
            .collect();
            transaction.commit().await?;
            Ok((expired.len() as u64, orphans))
        })
    }

    /// Blobs uploaded before `cutoff` that no message ever came to refer to.
    pub async fn unreferenced_blobs_before(&self, cutoff: i64) -> Result<Vec<String>, Error> {
        crate::engines::on_db!(self, |pool| {
            let rows = sqlx::query("SELECT hash FROM blobs WHERE refcount <= 0 AND created_at < $1")
                .bind(cutoff)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(|row| row.get("hash")).collect())
        })
    }

    /// Drops blob rows whose files are gone, if still unreferenced.
    pub async fn forget_blobs(&self, hashes: &[String]) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            for hash in hashes {
                sqlx::query("DELETE FROM blobs WHERE hash = $1 AND refcount <= 0").bind(hash).execute(pool).await?;
            }
            Ok(())
        })
    }
}

crate::engines::per_engine! {
    /// Counts this send against the account's sending limit, in the send's own transaction (which
    /// `BEGIN IMMEDIATE` serialises, so two sends at once cannot both slip under it).
    pub(crate) async fn spend_budget(
        transaction: &mut Tx<'_>,
        account_id: i64,
        recipients: u32,
        budget: SendBudget,
    ) -> Result<(), MailError> {
        let since = budget.now - DAY_SECONDS;
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(recipients), 0) AS BIGINT) AS used, MIN(sent_at) AS oldest FROM send_log
             WHERE account_id = $1 AND sent_at > $2",
        )
        .bind(account_id)
        .bind(since)
        .fetch_one(&mut **transaction)
        .await?;
        let used = row.get::<i64, _>("used") as u64;
        if used + u64::from(recipients) > u64::from(budget.recipients_per_day) {
            let oldest: Option<i64> = row.get("oldest");
            let retry_after_seconds = oldest.map_or(DAY_SECONDS, |oldest| oldest + DAY_SECONDS - budget.now).max(1) as u64;
            let hours = retry_after_seconds.div_ceil(3600);
            return Err(MailError::SendLimit {
                message: format!(
                    "Sending limit reached: you have sent to {used} recipients in the last 24 hours, and the limit is {} \
                     (it protects everyone from mass mailing). This message to {recipients} would go over it; \
                     try again in {hours} hour{}.",
                    budget.recipients_per_day,
                    if hours == 1 { "" } else { "s" }
                ),
                retry_after_seconds,
            });
        }
        sqlx::query("INSERT INTO send_log (account_id, sent_at, recipients) VALUES ($1, $2, $3)")
            .bind(account_id)
            .bind(budget.now)
            .bind(i64::from(recipients))
            .execute(&mut **transaction)
            .await?;
        Ok(())
    }

    /// Takes the account's next change number.
    pub(crate) async fn next_modseq(transaction: &mut Tx<'_>, account_id: i64) -> Result<i64, Error> {
        let row = sqlx::query("UPDATE accounts SET modseq = modseq + 1 WHERE id = $1 RETURNING modseq")
            .bind(account_id)
            .fetch_one(&mut **transaction)
            .await?;
        Ok(row.get("modseq"))
    }

    /// Makes Inbox, Drafts, Sent, Archive, Spam and Trash for a new account.
    pub(crate) async fn create_system_folders(
        transaction: &mut Tx<'_>,
        account_id: i64,
        now: i64,
    ) -> Result<(), Error> {
        for role in FolderRole::ALL {
            sqlx::query(
                "INSERT INTO folders (id, account_id, role, sealed_name, modseq, created_at) VALUES ($1, $2, $3, NULL, 0, $4)",
            )
            .bind(new_id())
            .bind(account_id)
            .bind(role.as_str())
            .bind(now)
            .execute(&mut **transaction)
            .await?;
        }
        Ok(())
    }

    pub(crate) fn folder_from_row(row: &DbRow) -> Folder {
        Folder {
            id: row.get("id"),
            role: row.get::<Option<String>, _>("role").as_deref().and_then(FolderRole::parse),
            sealed_name: row.get::<Option<Vec<u8>>, _>("sealed_name").map(|name| base64(&name)),
            total: row.get::<i64, _>("total") as u32,
            unread: row.get::<i64, _>("unread") as u32,
        }
    }

    pub(crate) fn message_from_row(row: &DbRow) -> MessageMeta {
        MessageMeta {
            id: row.get("id"),
            folder_id: row.get("folder_id"),
            flags: row.get::<i64, _>("flags") as u32,
            size: row.get::<i64, _>("size") as u64,
            received_at: row.get("received_at"),
            blob_hash: row.get("blob_hash"),
            sealed_summary: base64(&row.get::<Vec<u8>, _>("sealed_summary")),
            deleted_at: row.get("deleted_at"),
            sender: row.get("sender"),
        }
    }

    /// Checks that `account_id` may file the blob, which has the size the client declares: it
    /// uploaded it, or already holds a message of it. A hash alone is no key to anyone's blob; a
    /// blob the account may not use reads as missing.
    pub(crate) async fn check_blob(
        transaction: &mut Tx<'_>,
        account_id: i64,
        hash: &str,
        declared_size: u64,
    ) -> Result<(), MailError> {
        let blob = sqlx::query(
            "SELECT size FROM blobs WHERE hash = $1 AND (
                 EXISTS (SELECT 1 FROM blob_claims WHERE hash = $1 AND account_id = $2)
                 OR EXISTS (SELECT 1 FROM messages WHERE blob_hash = $1 AND account_id = $2))",
        )
        .bind(hash)
        .bind(account_id)
        .fetch_optional(&mut **transaction)
        .await?
        .ok_or_else(|| MailError::NotFound("You uploaded no blob with that hash; upload it first.".into()))?;
        let stored_size = blob.get::<i64, _>("size") as u64;
        if stored_size != declared_size {
            return Err(MailError::Conflict(format!(
                "The size {declared_size} does not match the uploaded blob's {stored_size} bytes."
            )));
        }
        Ok(())
    }

    /// Adds one message row for `account_id` and counts the reference to its blob.
    pub(crate) async fn insert_message(
        transaction: &mut Tx<'_>,
        account_id: i64,
        folder_id: &str,
        message_flags: u32,
        message: &Delivery<'_>,
    ) -> Result<MessageMeta, Error> {
        sqlx::query("UPDATE blobs SET refcount = refcount + 1 WHERE hash = $1")
            .bind(message.blob_hash)
            .execute(&mut **transaction)
            .await?;
        insert_message_row(transaction, account_id, folder_id, message_flags, message).await
    }

    /// Adds one message row for `account_id`; the caller has counted the reference to its blob.
    pub(crate) async fn insert_message_row(
        transaction: &mut Tx<'_>,
        account_id: i64,
        folder_id: &str,
        message_flags: u32,
        message: &Delivery<'_>,
    ) -> Result<MessageMeta, Error> {
        let modseq = next_modseq(transaction, account_id).await?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO messages (id, account_id, folder_id, flags, size, received_at, blob_hash, sealed_summary, deleted_at, modseq, sender)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10)",
        )
        .bind(&id)
        .bind(account_id)
        .bind(folder_id)
        .bind(i64::from(message_flags))
        .bind(message.size as i64)
        .bind(message.received_at)
        .bind(message.blob_hash)
        .bind(message.sealed_summary)
        .bind(modseq)
        .bind(message.sender)
        .execute(&mut **transaction)
        .await?;
        Ok(MessageMeta {
            id,
            folder_id: folder_id.to_owned(),
            flags: message_flags,
            size: message.size,
            received_at: message.received_at,
            blob_hash: message.blob_hash.to_owned(),
            sealed_summary: base64(message.sealed_summary),
            deleted_at: None,
            sender: message.sender.map(str::to_owned),
        })
    }

    /// Records that a message or folder is gone for good, for other devices' next sync.
    pub(crate) async fn insert_tombstone(
        transaction: &mut Tx<'_>,
        account_id: i64,
        kind: &str,
        id: &str,
        modseq: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO tombstones (account_id, kind, id, modseq) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account_id, kind, id) DO UPDATE SET modseq = excluded.modseq",
        )
        .bind(account_id)
        .bind(kind)
        .bind(id)
        .bind(modseq)
        .execute(&mut **transaction)
        .await?;
        Ok(())
    }

    pub(crate) async fn folder_role(
        transaction: &mut Tx<'_>,
        account_id: i64,
        folder_id: &str,
    ) -> Result<Option<Option<FolderRole>>, Error> {
        let row = sqlx::query("SELECT role FROM folders WHERE id = $1 AND account_id = $2")
            .bind(folder_id)
            .bind(account_id)
            .fetch_optional(&mut **transaction)
            .await?;
        Ok(row.map(|row| row.get::<Option<String>, _>("role").as_deref().and_then(FolderRole::parse)))
    }

    /// The id of the account's system folder with `role`.
    pub(crate) async fn role_folder(
        transaction: &mut Tx<'_>,
        account_id: i64,
        role: FolderRole,
    ) -> Result<String, Error> {
        let row = sqlx::query("SELECT id FROM folders WHERE account_id = $1 AND role = $2")
            .bind(account_id)
            .bind(role.as_str())
            .fetch_one(&mut **transaction)
            .await?;
        Ok(row.get("id"))
    }

    /// The blob of `id` when it is one of the account's drafts (in Drafts, not deleted).
    pub(crate) async fn owned_draft(
        transaction: &mut Tx<'_>,
        account_id: i64,
        id: &str,
    ) -> Result<String, MailError> {
        let row = sqlx::query(
            "SELECT m.blob_hash, f.role FROM messages m JOIN folders f ON f.id = m.folder_id
             WHERE m.id = $1 AND m.account_id = $2 AND m.deleted_at IS NULL",
        )
        .bind(id)
        .bind(account_id)
        .fetch_optional(&mut **transaction)
        .await?
        .ok_or_else(|| MailError::NotFound("There is no draft with that id in your mailbox.".into()))?;
        if row.get::<Option<String>, _>("role").as_deref() != Some(FolderRole::Drafts.as_str()) {
            return Err(MailError::Conflict("That message is not in Drafts; only drafts change in place.".into()));
        }
        Ok(row.get("blob_hash"))
    }

    /// Removes a draft for good (sent, or discarded): no recovery area for work in progress.
    pub(crate) async fn remove_draft(
        transaction: &mut Tx<'_>,
        account_id: i64,
        id: &str,
    ) -> Result<(), MailError> {
        let blob = owned_draft(transaction, account_id, id).await?;
        let modseq = next_modseq(transaction, account_id).await?;
        sqlx::query("DELETE FROM messages WHERE id = $1").bind(id).execute(&mut **transaction).await?;
        sqlx::query("UPDATE blobs SET refcount = refcount - 1 WHERE hash = $1")
            .bind(&blob)
            .execute(&mut **transaction)
            .await?;
        insert_tombstone(transaction, account_id, "message", id, modseq).await?;
        Ok(())
    }

    /// One message of a batch: its blobs recorded with their references counted (one statement
    /// each), then a row per copy. `folders` remembers each account's system folders for the
    /// batch, so a busy mailbox looks its Inbox up once per batch, not once per message.
    pub(crate) async fn file_inbound(
        transaction: &mut Tx<'_>,
        message: &InboundMessage<'_>,
        folders: &mut HashMap<(i64, FolderRole), String>,
    ) -> Result<Vec<MessageMeta>, MailError> {
        for blob in &message.blobs {
            let references = message.copies.iter().filter(|(_, _, delivery)| delivery.blob_hash == blob.hash).count();
            sqlx::query(
                "INSERT INTO blobs (hash, size, refcount, created_at, data) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (hash) DO UPDATE SET refcount = blobs.refcount + excluded.refcount",
            )
            .bind(blob.hash)
            .bind(blob.size as i64)
            .bind(references as i64)
            .bind(message.received_at)
            .bind(blob.inline)
            .execute(&mut **transaction)
            .await?;
        }
        let mut filed = Vec::with_capacity(message.copies.len());
        for (account_id, role, delivery) in &message.copies {
            if !message.blobs.iter().any(|blob| blob.hash == delivery.blob_hash && blob.size == delivery.size) {
                return Err(MailError::Invalid("A copy names a blob its message does not carry.".into()));
            }
            let folder = match folders.get(&(*account_id, *role)) {
                Some(folder) => folder.clone(),
                None => {
                    let folder = role_folder(transaction, *account_id, *role).await?;
                    folders.insert((*account_id, *role), folder.clone());
                    folder
                }
            };
            filed.push(insert_message_row(transaction, *account_id, &folder, flags::FROM_INTERNET, delivery).await?);
        }
        Ok(filed)
    }

    /// Checks that every id is one of the account's messages; returns their folder ids.
    pub(crate) async fn owned_messages(
        transaction: &mut Tx<'_>,
        account_id: i64,
        ids: &[String],
    ) -> Result<Vec<(String, String, Option<i64>)>, MailError> {
        if ids.is_empty() {
            return Err(MailError::Invalid("Name at least one message.".into()));
        }
        if ids.len() > 1000 {
            return Err(MailError::Invalid("Change at most 1000 messages at once.".into()));
        }
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query("SELECT folder_id, deleted_at FROM messages WHERE id = $1 AND account_id = $2")
                .bind(id)
                .bind(account_id)
                .fetch_optional(&mut **transaction)
                .await?
                .ok_or_else(unknown_messages)?;
            found.push((id.clone(), row.get("folder_id"), row.get("deleted_at")));
        }
        Ok(found)
    }
}
