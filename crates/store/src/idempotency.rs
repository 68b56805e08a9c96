//! Idempotency keys: the first answer to a request that created something, kept a day for a
//! repeat of the same request (`http::idempotent`).

use sqlx::Row;

use super::{Error, Store};

/// What a key says about a request arriving with it.
#[derive(Debug, PartialEq, Eq)]
pub enum Begin {
    /// First seen: the request runs, and [`Store::finish_idempotent`] or
    /// [`Store::abandon_idempotent`] follows.
    Run,
    /// The same request ran before: its answer.
    Replay { status: u16, body: Vec<u8> },
    /// The same request is running now.
    Running,
    /// The key was used for another request.
    Reused,
}

impl Store {
    /// Claims `key` for the request with `fingerprint`, or says what it was used for.
    pub async fn begin_idempotent(
        &self,
        account_id: i64,
        key: &str,
        fingerprint: &[u8],
        now: i64,
    ) -> Result<Begin, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            let row = sqlx::query(
                "SELECT fingerprint, status, body FROM idempotency_keys WHERE account_id = $1 AND key = $2",
            )
            .bind(account_id)
            .bind(key)
            .fetch_optional(&mut *transaction)
            .await?;
            let begin = match row {
                None => {
                    sqlx::query(
                        "INSERT INTO idempotency_keys (account_id, key, fingerprint, created_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(account_id)
                    .bind(key)
                    .bind(fingerprint)
                    .bind(now)
                    .execute(&mut *transaction)
                    .await?;
                    Begin::Run
                }
                Some(row) if row.get::<Vec<u8>, _>("fingerprint") != fingerprint => Begin::Reused,
                Some(row) => match row.get::<Option<i64>, _>("status") {
                    None => Begin::Running,
                    Some(status) => Begin::Replay {
                        status: u16::try_from(status).unwrap_or(500),
                        body: row.get::<Option<Vec<u8>>, _>("body").unwrap_or_default(),
                    },
                },
            };
            transaction.commit().await?;
            Ok(begin)
        })
    }

    /// Keeps the answer a request under `key` got.
    pub async fn finish_idempotent(&self, account_id: i64, key: &str, status: u16, body: &[u8]) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("UPDATE idempotency_keys SET status = $1, body = $2 WHERE account_id = $3 AND key = $4")
                .bind(i64::from(status))
                .bind(body)
                .bind(account_id)
                .bind(key)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Lets `key` go: the request failed, and may be tried again under it.
    pub async fn abandon_idempotent(&self, account_id: i64, key: &str) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2")
                .bind(account_id)
                .bind(key)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Forgets keys older than `cutoff`.
    pub async fn purge_idempotency_keys_before(&self, cutoff: i64) -> Result<u64, Error> {
        crate::engines::on_db!(self, |pool| {
            let done =
                sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1").bind(cutoff).execute(pool).await?;
            Ok(done.rows_affected())
        })
    }
}

crate::engines::per_engine! {}
