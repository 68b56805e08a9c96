//! What several `plico serve` nodes on one database share through it, so that none of it lives
//! in one process's memory: started sign-ins and sign-ups, rate-limit windows, when each timed
//! job last ran, and the fingerprints of the secrets every node must hold alike.

use sqlx::Row;

use super::{Error, Store};

/// A started sign-in, as `login/finish` needs it on whichever node it arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// The OPAQUE server state, sealed by the server (the store keeps it as bytes).
    pub sealed_state: Vec<u8>,
    /// `None` for an unknown name: the fake login can never finish.
    pub account_id: Option<i64>,
    pub name: String,
    pub started_at: i64,
    /// Who started it, for the login history should it never finish.
    pub ip: String,
    pub user_agent: String,
}

/// One key's rate-limit window: when it started, the attempts in it, how many windows in a row
/// it filled (the backoff's step), and when the row may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    pub start: i64,
    pub count: i64,
    pub steps: i64,
    pub expires_at: i64,
}

/// Advisory-lock classes on PostgreSQL (two-key form, apart from the accounts' one-key locks).
const LOCK_RATE_WINDOW: i32 = 1;
const LOCK_JOB: i32 = 2;

impl Store {
    pub async fn insert_pending_login(&self, id: &str, login: &PendingLogin) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query(
                "INSERT INTO pending_logins (id, sealed_state, account_id, name, started_at, ip, user_agent)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(&login.sealed_state)
            .bind(login.account_id)
            .bind(&login.name)
            .bind(login.started_at)
            .bind(&login.ip)
            .bind(&login.user_agent)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// Takes the started sign-in `id` (it can be taken once), if it started at or after
    /// `not_before`.
    pub async fn take_pending_login(&self, id: &str, not_before: i64) -> Result<Option<PendingLogin>, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query(
                "DELETE FROM pending_logins WHERE id = $1 RETURNING sealed_state, account_id, name, started_at, ip, user_agent",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?;
            Ok(row
                .map(|row| PendingLogin {
                    sealed_state: row.get("sealed_state"),
                    account_id: row.get("account_id"),
                    name: row.get("name"),
                    started_at: row.get("started_at"),
                    ip: row.get("ip"),
                    user_agent: row.get("user_agent"),
                })
                .filter(|login| login.started_at >= not_before))
        })
    }

    /// Records a started sign-up unless `max_pending` started at or after `not_before` are
    /// still waiting; false then.
    pub async fn insert_pending_signup(
        &self,
        id: &str,
        name: &str,
        now: i64,
        not_before: i64,
        max_pending: u64,
    ) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_key(&mut transaction, LOCK_RATE_WINDOW, "pending_signups").await?;
            let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pending_signups WHERE started_at >= $1")
                .bind(not_before)
                .fetch_one(&mut *transaction)
                .await?;
            if waiting.max(0) as u64 >= max_pending {
                return Ok(false);
            }
            sqlx::query("INSERT INTO pending_signups (id, name, started_at) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(name)
                .bind(now)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
            Ok(true)
        })
    }

    /// Takes the started sign-up `id` (once): its name, if it started at or after `not_before`.
    pub async fn take_pending_signup(&self, id: &str, not_before: i64) -> Result<Option<String>, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query("DELETE FROM pending_signups WHERE id = $1 RETURNING name, started_at")
                .bind(id)
                .fetch_optional(pool)
                .await?;
            Ok(row.filter(|row| row.get::<i64, _>("started_at") >= not_before).map(|row| row.get("name")))
        })
    }

    /// Forgets sign-ins started before `logins_before` and sign-ups before `signups_before`.
    pub async fn purge_pending(&self, logins_before: i64, signups_before: i64) -> Result<u64, Error> {
        let logins = self.settle_pending_logins(logins_before, None).await?;
        crate::engines::on_db!(self, |pool| {
            let signups = sqlx::query("DELETE FROM pending_signups WHERE started_at < $1")
                .bind(signups_before)
                .execute(pool)
                .await?;
            Ok(logins + signups.rows_affected())
        })
    }

    /// Ends the sign-ins started before `before` (of `account_id` only, when given) that never
    /// finished: those of an account enter its login history as failed, since with OPAQUE a
    /// wrong password is found out in the browser, which then never finishes.
    pub async fn settle_pending_logins(&self, before: i64, account_id: Option<i64>) -> Result<u64, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            let which = "started_at < $1 AND ($2 IS NULL OR account_id = $2)";
            sqlx::query(&format!(
                "INSERT INTO login_events (account_id, at, ip, user_agent, kind)
                 SELECT account_id, started_at, ip, user_agent, 'failed_password' FROM pending_logins
                 WHERE {which} AND account_id IN (SELECT id FROM accounts)"
            ))
            .bind(before)
            .bind(account_id)
            .execute(&mut *transaction)
            .await?;
            let done = sqlx::query(&format!("DELETE FROM pending_logins WHERE {which}"))
                .bind(before)
                .bind(account_id)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
            Ok(done.rows_affected())
        })
    }

    /// Reads `limiter`'s window for `key_hash`, lets `update` decide, and writes what it returns
    /// (`None` removes the window), all while no other node can touch the same window.
    pub async fn rate_window<R>(
        &self,
        limiter: &str,
        key_hash: &[u8],
        update: impl FnOnce(Option<RateWindow>) -> (Option<RateWindow>, R),
    ) -> Result<R, Error> {
        let lock = format!("{limiter}:{}", hex(key_hash));
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_key(&mut transaction, LOCK_RATE_WINDOW, &lock).await?;
            let row = sqlx::query(
                "SELECT start, count, steps, expires_at FROM rate_windows WHERE limiter = $1 AND key_hash = $2",
            )
            .bind(limiter)
            .bind(key_hash)
            .fetch_optional(&mut *transaction)
            .await?;
            let old = row.map(|row| RateWindow {
                start: row.get("start"),
                count: row.get("count"),
                steps: row.get("steps"),
                expires_at: row.get("expires_at"),
            });
            let (new, answer) = update(old);
            match new {
                Some(window) if Some(window) != old => {
                    sqlx::query(
                        "INSERT INTO rate_windows (limiter, key_hash, start, count, steps, expires_at)
                         VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (limiter, key_hash) DO UPDATE SET start = excluded.start, count = excluded.count,
                             steps = excluded.steps, expires_at = excluded.expires_at",
                    )
                    .bind(limiter)
                    .bind(key_hash)
                    .bind(window.start)
                    .bind(window.count)
                    .bind(window.steps)
                    .bind(window.expires_at)
                    .execute(&mut *transaction)
                    .await?;
                }
                Some(_) => {}
                None if old.is_some() => {
                    sqlx::query("DELETE FROM rate_windows WHERE limiter = $1 AND key_hash = $2")
                        .bind(limiter)
                        .bind(key_hash)
                        .execute(&mut *transaction)
                        .await?;
                }
                None => {}
            }
            transaction.commit().await?;
            Ok(answer)
        })
    }

    /// Forgets windows that mean nothing any more.
    pub async fn purge_rate_windows(&self, now: i64) -> Result<u64, Error> {
        crate::engines::on_db!(self, |pool| {
            let done = sqlx::query("DELETE FROM rate_windows WHERE expires_at <= $1").bind(now).execute(pool).await?;
            Ok(done.rows_affected())
        })
    }

    /// Claims this period's run of `job`: true (and the run recorded) when it last ran
    /// `period` seconds or more before `now`, or never; false when another node (or this one)
    /// ran it since. Two nodes asking at once get one true between them.
    pub async fn claim_job(&self, job: &str, now: i64, period: i64) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_key(&mut transaction, LOCK_JOB, job).await?;
            let last: Option<i64> = sqlx::query_scalar("SELECT last_run_at FROM job_runs WHERE job = $1")
                .bind(job)
                .fetch_optional(&mut *transaction)
                .await?;
            if last.is_some_and(|last| now - last < period) {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO job_runs (job, last_run_at) VALUES ($1, $2)
                 ON CONFLICT (job) DO UPDATE SET last_run_at = excluded.last_run_at",
            )
            .bind(job)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
            transaction.commit().await?;
            Ok(true)
        })
    }

    /// Records `fingerprint` for the node secret `name` if none is recorded; true when the
    /// recorded one is this one (the first node's secret is every node's).
    pub async fn same_node_secret(&self, name: &str, fingerprint: &[u8]) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("INSERT INTO node_secrets (name, fingerprint) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(fingerprint)
                .execute(pool)
                .await?;
            let recorded: Vec<u8> = sqlx::query_scalar("SELECT fingerprint FROM node_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?;
            Ok(recorded == fingerprint)
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

crate::engines::per_engine! {}
