//! The account's life in SQL: closing, reopening, suspension for inactivity, the purge, the
//! quarantine of purged names, the recovery address and the sealed consent receipts.

use plico_api::privacy::AccountStatus;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Error, Store};

/// An account the inactivity rule or the purge acts on.
#[derive(Debug, Clone)]
pub struct LifecycleRow {
    pub id: i64,
    pub address: String,
    pub public_cert: Vec<u8>,
    /// Set and confirmed: notices go there too.
    pub recovery_address: Option<String>,
    pub last_login_at: i64,
    pub status_since: Option<i64>,
}

/// What a purge removed, for the caller to finish on disk.
#[derive(Debug, Default)]
pub struct Purged {
    pub messages: u64,
    /// Blobs no message refers to any more: delete their files, then `forget_blobs`.
    pub orphan_blobs: Vec<String>,
}

/// The quarantine keeps a hash of the name, not the name.
pub fn name_hash(name: &str) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(b"plico quarantined name\0");
    hasher.update(name.as_bytes());
    hasher.finalize().to_vec()
}

/// The activation code is kept as a hash too.
pub fn code_hash(account_id: i64, code: &str) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(b"plico recovery code\0");
    hasher.update(account_id.to_le_bytes());
    hasher.update(code.as_bytes());
    hasher.finalize().to_vec()
}

/// Why a code was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeCheck {
    Confirmed,
    Wrong { tries_left: u32 },
    Expired,
    NoneSent,
}

/// Wrong codes allowed before a new one must be asked for.
pub const CODE_TRIES: u32 = 5;

const LIFECYCLE_COLUMNS: &str =
    "id, address, public_cert, CASE WHEN recovery_confirmed = 1 THEN recovery_address END AS recovery, last_login_at, status_since";

impl Store {
    /// Is `name` a purged account's, still in quarantine at `now`?
    pub async fn name_quarantined(&self, name: &str, now: i64) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query("SELECT 1 FROM quarantined_names WHERE name_hash = $1 AND until > $2")
                .bind(name_hash(name))
                .bind(now)
                .fetch_optional(pool)
                .await?;
            Ok(row.is_some())
        })
    }

    /// A sign-in: the inactivity clock starts again, a suspended account is active again.
    pub async fn record_activity(&self, account_id: i64, now: i64) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query(
                "UPDATE accounts SET last_login_at = $1, inactivity_notices = 0, inactivity_notice_at = NULL,
                     status_since = CASE WHEN status = 'suspended' THEN NULL ELSE status_since END,
                     status = CASE WHEN status = 'suspended' THEN 'active' ELSE status END
                 WHERE id = $2",
            )
            .bind(now)
            .bind(account_id)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// The account's status and since when.
    pub async fn account_status(&self, account_id: i64) -> Result<Option<(AccountStatus, Option<i64>)>, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query("SELECT status, status_since FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(pool)
                .await?;
            Ok(row.map(|row| {
                (
                    AccountStatus::parse(row.get::<&str, _>("status")).unwrap_or(AccountStatus::Active),
                    row.get("status_since"),
                )
            }))
        })
    }

    /// Closes the account and ends every session of it, in one transaction.
    pub async fn close_account(&self, account_id: i64, now: i64) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            sqlx::query("UPDATE accounts SET status = 'closed', status_since = $1 WHERE id = $2")
                .bind(now)
                .bind(account_id)
                .execute(&mut *transaction)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await.map_err(Error::from)
        })
    }

    pub async fn reopen_account(&self, account_id: i64) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query(
                "UPDATE accounts SET status = 'active', status_since = NULL WHERE id = $1 AND status = 'closed'",
            )
            .bind(account_id)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// Marks an account paid (or free again): paid accounts are not suspended for inactivity.
    pub async fn set_paid(&self, account_id: i64, paid: bool) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("UPDATE accounts SET paid = $1 WHERE id = $2")
                .bind(i64::from(paid))
                .bind(account_id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Closed accounts whose reopening period ended before `cutoff`'s purge delay.
    pub async fn closed_before(&self, cutoff: i64) -> Result<Vec<LifecycleRow>, Error> {
        crate::engines::on_db!(self, |pool| {
            let rows = sqlx::query(&format!(
                "SELECT {LIFECYCLE_COLUMNS} FROM accounts WHERE status = 'closed' AND status_since < $1 ORDER BY id"
            ))
            .bind(cutoff)
            .fetch_all(pool)
            .await?;
            Ok(rows.iter().map(engine::lifecycle_row).collect())
        })
    }

    /// Free accounts in `status` whose inactivity clock (the last sign-in for active ones, the
    /// suspension for suspended ones) started before `since`, with exactly `notices` notices
    /// sent, the last of them before `noticed_before`.
    pub async fn inactive(
        &self,
        status: AccountStatus,
        since: i64,
        notices: i64,
        noticed_before: i64,
    ) -> Result<Vec<LifecycleRow>, Error> {
        crate::engines::on_db!(self, |pool| {
            let clock = if status == AccountStatus::Suspended { "status_since" } else { "last_login_at" };
            let rows = sqlx::query(&format!(
                "SELECT {LIFECYCLE_COLUMNS} FROM accounts
                 WHERE status = $1 AND paid = 0 AND {clock} < $2 AND inactivity_notices = $3
                   AND COALESCE(inactivity_notice_at, 0) < $4
                 ORDER BY id"
            ))
            .bind(status.as_str())
            .bind(since)
            .bind(notices)
            .bind(noticed_before)
            .fetch_all(pool)
            .await?;
            Ok(rows.iter().map(engine::lifecycle_row).collect())
        })
    }

    pub async fn set_inactivity_notices(&self, account_id: i64, notices: i64, now: i64) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("UPDATE accounts SET inactivity_notices = $1, inactivity_notice_at = $2 WHERE id = $3")
                .bind(notices)
                .bind(now)
                .bind(account_id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    pub async fn suspend_account(&self, account_id: i64, now: i64) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            sqlx::query(
                "UPDATE accounts SET status = 'suspended', status_since = $1 WHERE id = $2 AND status = 'active'",
            )
            .bind(now)
            .bind(account_id)
            .execute(&mut *transaction)
            .await?;
            sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await.map_err(Error::from)
        })
    }

    /// Deletes the account and everything of it from the database (messages, folders,
    /// tombstones, sessions, login history, keys, the directory entry, the outbound queue's
    /// rows), and quarantines its name until `quarantine_until`, in one transaction.
    pub async fn purge_account(&self, account_id: i64, quarantine_until: i64) -> Result<Purged, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            let Some(name) = sqlx::query("SELECT name FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(&mut *transaction)
                .await?
                .map(|row| row.get::<String, _>("name"))
            else {
                return Ok(Purged::default());
            };
            let hashes: Vec<String> = sqlx::query("SELECT blob_hash FROM messages WHERE account_id = $1")
                .bind(account_id)
                .fetch_all(&mut *transaction)
                .await?
                .iter()
                .map(|row| row.get("blob_hash"))
                .collect();
            for hash in &hashes {
                sqlx::query("UPDATE blobs SET refcount = refcount - 1 WHERE hash = $1")
                    .bind(hash)
                    .execute(&mut *transaction)
                    .await?;
            }
            sqlx::query("DELETE FROM messages WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *transaction)
                .await?;
            sqlx::query("DELETE FROM accounts WHERE id = $1").bind(account_id).execute(&mut *transaction).await?;
            sqlx::query(
                "INSERT INTO quarantined_names (name_hash, until) VALUES ($1, $2)
                 ON CONFLICT (name_hash) DO UPDATE SET until =
                     CASE WHEN excluded.until > quarantined_names.until THEN excluded.until ELSE quarantined_names.until END",
            )
            .bind(name_hash(&name))
            .bind(quarantine_until)
            .execute(&mut *transaction)
            .await?;
            let orphan_blobs = sqlx::query(&format!(
                "SELECT hash FROM blobs WHERE refcount <= 0 AND hash IN ({})",
                engine::json_strings("$1")
            ))
            .bind(serde_json::to_string(&hashes).unwrap_or_default())
            .fetch_all(&mut *transaction)
            .await?
            .iter()
            .map(|row| row.get("hash"))
            .collect();
            transaction.commit().await?;
            Ok(Purged { messages: hashes.len() as u64, orphan_blobs })
        })
    }

    /// Forgets quarantine entries that ended.
    pub async fn purge_quarantine_before(&self, now: i64) -> Result<u64, Error> {
        crate::engines::on_db!(self, |pool| {
            let done = sqlx::query("DELETE FROM quarantined_names WHERE until <= $1").bind(now).execute(pool).await?;
            Ok(done.rows_affected())
        })
    }

    /// The recovery address: (address, confirmed).
    pub async fn recovery_address(&self, account_id: i64) -> Result<(Option<String>, bool), Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query("SELECT recovery_address, recovery_confirmed FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_one(pool)
                .await?;
            Ok((row.get("recovery_address"), row.get::<i64, _>("recovery_confirmed") != 0))
        })
    }

    /// Sets the recovery address, unconfirmed, with the hash of the code sent to it (or
    /// removes it, with `None`).
    pub async fn set_recovery_address(
        &self,
        account_id: i64,
        address: Option<&str>,
        code_hash: Option<&[u8]>,
        expires_at: i64,
    ) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query(
                "UPDATE accounts SET recovery_address = $1, recovery_confirmed = 0, recovery_code_hash = $2,
                     recovery_code_expires_at = $3, recovery_code_tries = 0
                 WHERE id = $4",
            )
            .bind(address)
            .bind(code_hash)
            .bind(code_hash.map(|_| expires_at))
            .bind(account_id)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// Checks an activation code, counting wrong tries, in one transaction.
    pub async fn confirm_recovery_code(&self, account_id: i64, code: &str, now: i64) -> Result<CodeCheck, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            let row = sqlx::query(
                "SELECT recovery_code_hash, recovery_code_expires_at, recovery_code_tries FROM accounts WHERE id = $1",
            )
            .bind(account_id)
            .fetch_one(&mut *transaction)
            .await?;
            let stored: Option<Vec<u8>> = row.get("recovery_code_hash");
            let Some(stored) = stored else { return Ok(CodeCheck::NoneSent) };
            let expires_at: i64 = row.get::<Option<i64>, _>("recovery_code_expires_at").unwrap_or(0);
            let tries = row.get::<i64, _>("recovery_code_tries") as u32;
            if now >= expires_at || tries >= CODE_TRIES {
                return Ok(CodeCheck::Expired);
            }
            let verdict = if stored == code_hash(account_id, code.trim()) {
                sqlx::query(
                    "UPDATE accounts SET recovery_confirmed = 1, recovery_code_hash = NULL,
                         recovery_code_expires_at = NULL, recovery_code_tries = 0 WHERE id = $1",
                )
                .bind(account_id)
                .execute(&mut *transaction)
                .await?;
                CodeCheck::Confirmed
            } else {
                sqlx::query("UPDATE accounts SET recovery_code_tries = recovery_code_tries + 1 WHERE id = $1")
                    .bind(account_id)
                    .execute(&mut *transaction)
                    .await?;
                CodeCheck::Wrong { tries_left: CODE_TRIES - tries - 1 }
            };
            transaction.commit().await?;
            Ok(verdict)
        })
    }

    /// Counts for "what Plico holds", all for this account, in one statement.
    pub async fn holdings(&self, account_id: i64) -> Result<Holdings, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query(
                "SELECT a.last_login_at, a.terms_version, a.terms_accepted_at, CAST(CASE WHEN a.recovery_address IS NOT NULL THEN 1 ELSE 0 END AS BIGINT) AS recovery,
                        CAST(length(a.sealed_keyring) AS BIGINT) AS keyring, CAST(length(a.sealed_consent) AS BIGINT) AS consent,
                        (SELECT COUNT(*) FROM login_events WHERE account_id = a.id) AS logins,
                        (SELECT MIN(at) FROM login_events WHERE account_id = a.id) AS oldest_login,
                        (SELECT COUNT(*) FROM messages WHERE account_id = a.id AND deleted_at IS NULL) AS messages,
                        (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM messages WHERE account_id = a.id AND deleted_at IS NULL) AS message_bytes,
                        (SELECT COUNT(*) FROM messages WHERE account_id = a.id AND deleted_at IS NOT NULL) AS deleted,
                        (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM messages WHERE account_id = a.id AND deleted_at IS NOT NULL) AS deleted_bytes,
                        (SELECT MIN(deleted_at) FROM messages WHERE account_id = a.id) AS oldest_deleted,
                        (SELECT COUNT(*) FROM sessions WHERE account_id = a.id) AS sessions,
                        (SELECT MIN(expires_at) FROM sessions WHERE account_id = a.id) AS first_expiry,
                        (SELECT COUNT(*) FROM folders WHERE account_id = a.id AND role IS NULL) AS folders,
                        (SELECT COUNT(*) FROM send_log WHERE account_id = a.id) AS sends,
                        (SELECT MIN(sent_at) FROM send_log WHERE account_id = a.id) AS oldest_send,
                        (SELECT COUNT(*) FROM outbound WHERE account_id = a.id) AS queued,
                        (SELECT COUNT(*) FROM items WHERE account_id = a.id AND deleted_at IS NULL) AS items,
                        (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM items WHERE account_id = a.id AND deleted_at IS NULL) AS item_bytes,
                        (SELECT COUNT(*) FROM items WHERE account_id = a.id AND deleted_at IS NOT NULL) AS deleted_items,
                        (SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM items WHERE account_id = a.id AND deleted_at IS NOT NULL) AS deleted_item_bytes,
                        (SELECT MIN(deleted_at) FROM items WHERE account_id = a.id) AS oldest_deleted_item
                 FROM accounts a WHERE a.id = $1",
            )
            .bind(account_id)
            .fetch_one(pool)
            .await?;
            let count = |name: &str| row.get::<i64, _>(name) as u64;
            Ok(Holdings {
                last_login_at: row.get("last_login_at"),
                terms: row
                    .get::<Option<i64>, _>("terms_version")
                    .zip(row.get::<Option<i64>, _>("terms_accepted_at"))
                    .map(|(version, at)| (version as u32, at)),
                recovery_address: row.get::<i64, _>("recovery") != 0,
                keyring_bytes: row.get::<Option<i64>, _>("keyring").map(|n| n as u64),
                consent_bytes: row.get::<Option<i64>, _>("consent").map(|n| n as u64),
                login_events: count("logins"),
                oldest_login: row.get("oldest_login"),
                messages: count("messages"),
                message_bytes: count("message_bytes"),
                deleted_messages: count("deleted"),
                deleted_bytes: count("deleted_bytes"),
                oldest_deleted: row.get("oldest_deleted"),
                sessions: count("sessions"),
                first_session_expiry: row.get("first_expiry"),
                user_folders: count("folders"),
                sends: count("sends"),
                oldest_send: row.get("oldest_send"),
                queued: count("queued"),
                items: count("items"),
                item_bytes: count("item_bytes"),
                deleted_items: count("deleted_items"),
                deleted_item_bytes: count("deleted_item_bytes"),
                oldest_deleted_item: row.get("oldest_deleted_item"),
            })
        })
    }
}

/// The raw counts behind "what Plico holds".
#[derive(Debug, Clone)]
pub struct Holdings {
    pub last_login_at: i64,
    /// The terms accepted at sign-up: their version, and when.
    pub terms: Option<(u32, i64)>,
    pub recovery_address: bool,
    pub keyring_bytes: Option<u64>,
    pub consent_bytes: Option<u64>,
    pub login_events: u64,
    pub oldest_login: Option<i64>,
    pub messages: u64,
    pub message_bytes: u64,
    pub deleted_messages: u64,
    pub deleted_bytes: u64,
    pub oldest_deleted: Option<i64>,
    pub sessions: u64,
    pub first_session_expiry: Option<i64>,
    pub user_folders: u64,
    pub sends: u64,
    pub oldest_send: Option<i64>,
    pub queued: u64,
    /// Sealed items (contacts, groups…) and those in the recovery area.
    pub items: u64,
    pub item_bytes: u64,
    pub deleted_items: u64,
    pub deleted_item_bytes: u64,
    pub oldest_deleted_item: Option<i64>,
}

crate::engines::per_engine! {
    pub(crate) fn lifecycle_row(row: &DbRow) -> LifecycleRow {
        LifecycleRow {
            id: row.get("id"),
            address: row.get("address"),
            public_cert: row.get("public_cert"),
            recovery_address: row.get("recovery"),
            last_login_at: row.get("last_login_at"),
            status_since: row.get("status_since"),
        }
    }
}
