//! The outbound queue's rows: who a queued message is for, when to try it next, and the message
//! itself, sealed by the server under its queue key (rows from before issue 22 name a sealed
//! file under `queue/` instead). Any node may deliver any row: a node claims due rows by moving
//! their next attempt a lease ahead, so that a node killed mid-delivery leaves them to be
//! tried again when the lease runs out.

use sqlx::Row;

use super::{Error, Store};

/// A message to queue, written in the send's own transaction.
pub struct NewOutbound<'a> {
    /// The queue id.
    pub id: &'a str,
    pub mail_from: &'a str,
    pub recipients: &'a [String],
    /// The message, sealed under the queue key (`QueueFiles::seal` in the server).
    pub sealed_message: &'a [u8],
}

/// A queued message, as the delivery task reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRow {
    pub id: String,
    pub account_id: i64,
    pub mail_from: String,
    pub recipients: Vec<String>,
    pub created_at: i64,
    pub next_attempt_at: i64,
    pub attempts: u32,
    pub last_error: Option<String>,
}

impl Store {
    /// How many messages wait for another server.
    pub async fn outbound_depth(&self) -> Result<u64, Error> {
        crate::engines::on_db!(self, |pool| {
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbound").fetch_one(pool).await?;
            Ok(count.max(0) as u64)
        })
    }

    /// Queues a message the server itself writes (a notice to a recovery address).
    pub async fn queue_outbound(&self, account_id: i64, package: &NewOutbound<'_>, now: i64) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            engine::insert(&mut transaction, account_id, package, now).await?;
            transaction.commit().await.map_err(Error::from)
        })
    }
}

const COLUMNS: &str = "id, account_id, mail_from, recipients, created_at, next_attempt_at, attempts, last_error";

impl Store {
    /// Claims up to `limit` queued messages whose next attempt is due by `now`, oldest first:
    /// their next attempt moves to `lease_until`, so no other node takes them meanwhile, and a
    /// delivery that never reports back is tried again then. The rows as they were.
    pub async fn claim_due_outbound(&self, now: i64, lease_until: i64, limit: u32) -> Result<Vec<OutboundRow>, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM outbound WHERE next_attempt_at <= $1 ORDER BY next_attempt_at, created_at LIMIT $2 {}",
                engine::SKIP_LOCKED
            ))
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&mut *transaction)
            .await?;
            let claimed: Vec<OutboundRow> = rows.iter().map(engine::from_row).collect();
            for row in &claimed {
                sqlx::query("UPDATE outbound SET next_attempt_at = $1 WHERE id = $2")
                    .bind(lease_until)
                    .bind(&row.id)
                    .execute(&mut *transaction)
                    .await?;
            }
            transaction.commit().await?;
            Ok(claimed)
        })
    }

    /// Every queued message, soonest next attempt first (for checks; delivery claims rows with
    /// [`Store::claim_due_outbound`]).
    pub async fn outbound_rows(&self) -> Result<Vec<OutboundRow>, Error> {
        crate::engines::on_db!(self, |pool| {
            let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM outbound ORDER BY next_attempt_at, created_at"))
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(engine::from_row).collect())
        })
    }

    /// Queued rows whose message is still a queue file (queued before messages moved into rows).
    pub async fn outbound_in_files(&self) -> Result<Vec<String>, Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query_scalar("SELECT id FROM outbound WHERE sealed_message IS NULL")
                .fetch_all(pool)
                .await
                .map_err(Error::from)
        })
    }

    /// Puts a queue file's sealed bytes into its row.
    pub async fn set_outbound_message(&self, id: &str, sealed: &[u8]) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("UPDATE outbound SET sealed_message = $1 WHERE id = $2 AND sealed_message IS NULL")
                .bind(sealed)
                .bind(id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// The sealed message of a queued row; `None` for a row whose message is a queue file.
    pub async fn outbound_message(&self, id: &str) -> Result<Option<Vec<u8>>, Error> {
        crate::engines::on_db!(self, |pool| {
            let sealed: Option<Option<Vec<u8>>> =
                sqlx::query_scalar("SELECT sealed_message FROM outbound WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?;
            Ok(sealed.flatten())
        })
    }

    /// The earliest next attempt in the queue, if anything is queued.
    pub async fn next_outbound_at(&self) -> Result<Option<i64>, Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM outbound").fetch_one(pool).await.map_err(Error::from)
        })
    }

    /// Every queued message of one account (newest first), for the sender's own view.
    pub async fn outbound_of(&self, account_id: i64) -> Result<Vec<OutboundRow>, Error> {
        crate::engines::on_db!(self, |pool| {
            let rows =
                sqlx::query(&format!("SELECT {COLUMNS} FROM outbound WHERE account_id = $1 ORDER BY created_at DESC"))
                    .bind(account_id)
                    .fetch_all(pool)
                    .await?;
            Ok(rows.iter().map(engine::from_row).collect())
        })
    }

    /// Every queue id, to find queue files nobody points at.
    pub async fn outbound_ids(&self) -> Result<Vec<String>, Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query_scalar("SELECT id FROM outbound").fetch_all(pool).await.map_err(Error::from)
        })
    }

    /// The message is delivered or bounced for every recipient: the row goes.
    pub async fn outbound_finished(&self, id: &str) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("DELETE FROM outbound WHERE id = $1").bind(id).execute(pool).await?;
            Ok(())
        })
    }

    /// Some recipients must be tried again later.
    pub async fn outbound_retry_later(
        &self,
        id: &str,
        remaining: &[String],
        attempts: u32,
        next_attempt_at: i64,
        last_error: &str,
    ) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            let recipients = serde_json::to_string(remaining).unwrap_or_else(|_| "[]".into());
            sqlx::query(
                "UPDATE outbound SET recipients = $1, attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $5",
            )
            .bind(recipients)
            .bind(i64::from(attempts))
            .bind(next_attempt_at)
            .bind(last_error)
            .bind(id)
            .execute(pool)
            .await?;
            Ok(())
        })
    }
}

crate::engines::per_engine! {
    pub(crate) async fn insert(
        transaction: &mut Tx<'_>,
        account_id: i64,
        package: &NewOutbound<'_>,
        now: i64,
    ) -> Result<(), Error> {
        let recipients = serde_json::to_string(package.recipients).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO outbound (id, account_id, mail_from, recipients, created_at, next_attempt_at, sealed_message)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(package.id)
        .bind(account_id)
        .bind(package.mail_from)
        .bind(recipients)
        .bind(now)
        .bind(now)
        .bind(package.sealed_message)
        .execute(&mut **transaction)
        .await?;
        Ok(())
    }

    pub(crate) fn from_row(row: &DbRow) -> OutboundRow {
        let recipients: String = row.get("recipients");
        OutboundRow {
            id: row.get("id"),
            account_id: row.get("account_id"),
            mail_from: row.get("mail_from"),
            recipients: serde_json::from_str(&recipients).unwrap_or_default(),
            created_at: row.get("created_at"),
            next_attempt_at: row.get("next_attempt_at"),
            attempts: row.get::<i64, _>("attempts").max(0) as u32,
            last_error: row.get("last_error"),
        }
    }
}
