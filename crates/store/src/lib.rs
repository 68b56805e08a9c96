//! `plico-store`: where Plico's rows and blobs live. Rows: one SQLite file (WAL, foreign keys
//! on), with migrations embedded in the binary. Blobs: files (`blobs.rs`).
//!
//! Architecture Invariant: only this crate depends on sqlx or knows where a blob is kept. The
//! server's handlers, jobs and SMTP flows call its methods and see [`Error`], never the engine's
//! own error type.

pub mod blobs;
pub mod copy;
mod engines;
pub mod idempotency;
pub mod items;
pub mod keys;
pub mod lifecycle;
pub mod mail;
pub mod nodes;
pub mod outbound;
pub mod postgres;
pub mod s3;
pub mod security;

use std::path::Path;
use std::str::FromStr;

use plico_api::{LoginEvent, LoginKind};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

/// A database failure the caller cannot act on except by failing: which engine answered, and
/// how, stays inside the store (the message says it, for the logs).
#[derive(Debug, thiserror::Error)]
#[error("database: {0}")]
pub struct Error(#[from] sqlx::Error);

/// The database.
#[derive(Clone)]
pub struct Store {
    db: Db,
}

/// The engine that keeps the rows, and its pool.
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(sqlx::PgPool),
}

/// An account row, as handlers need it.
#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub opaque_password_file: Vec<u8>,
    pub public_cert: Vec<u8>,
    pub fingerprint: String,
    pub sealed_secret_key: Vec<u8>,
    pub created_at: i64,
    /// The account lets the server score incoming mail for spam.
    pub mail_analysis: bool,
    pub status: plico_api::privacy::AccountStatus,
    /// When the account was closed or suspended.
    pub status_since: Option<i64>,
    /// The bytes its messages take (kept by triggers, migration 0010).
    pub used_bytes: u64,
    /// Its own storage quota, when the operator set one.
    pub quota_bytes: Option<u64>,
}

impl AccountRow {
    /// Takes mail, publishes its key, can sign in.
    pub fn is_active(&self) -> bool {
        self.status == plico_api::privacy::AccountStatus::Active
    }

    /// Would `adding` more bytes pass its quota (its own, else `default_quota`)?
    pub fn would_pass_quota(&self, adding: u64, default_quota: u64) -> bool {
        Usage { used: self.used_bytes, quota: self.quota_bytes.unwrap_or(default_quota) }.would_pass(adding)
    }
}

/// What an account's mail and items take, and its quota: the one definition of "full" that SMTP
/// ingest, the API's uploads and the item writes share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub used: u64,
    pub quota: u64,
}

impl Usage {
    /// Would `adding` more bytes take it past its quota?
    pub fn would_pass(&self, adding: u64) -> bool {
        self.used.saturating_add(adding) > self.quota
    }
}

/// A document the client sealed to the account's own key, kept in the account's row with a
/// version so that two devices never lose each other's writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedDocument {
    /// Outside correspondents' keys.
    Keyring,
    /// The cookie-consent receipts.
    Consent,
}

impl SealedDocument {
    /// Its data and version columns.
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            SealedDocument::Keyring => ("sealed_keyring", "keyring_version"),
            SealedDocument::Consent => ("sealed_consent", "consent_version"),
        }
    }
}

/// What sign-up writes.
pub struct NewAccount<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub opaque_password_file: &'a [u8],
    pub public_cert: &'a [u8],
    pub fingerprint: &'a str,
    pub wkd_hash: &'a str,
    pub sealed_secret_key: &'a [u8],
    pub created_at: i64,
    /// The version of the terms the user accepted at sign-up (`None` only for accounts made
    /// outside sign-up, such as the benchmarks').
    pub terms_version: Option<u32>,
}

/// A login history entry to record.
pub struct NewLoginEvent<'a> {
    pub account_id: i64,
    pub at: i64,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub kind: LoginKind,
}

/// Why an insert failed in a way the caller must tell apart.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("that name is taken")]
    NameTaken,
    #[error(transparent)]
    Database(#[from] Error),
}

impl From<sqlx::Error> for InsertError {
    fn from(error: sqlx::Error) -> Self {
        InsertError::Database(error.into())
    }
}

/// Each kind as the `login_events.kind` column holds it (a match, so that a new kind cannot be
/// forgotten here: one was once written as "password" for want of an entry).
fn kind_to_str(kind: LoginKind) -> &'static str {
    match kind {
        LoginKind::Signup => "signup",
        LoginKind::Password => "password",
        LoginKind::Totp => "totp",
        LoginKind::RecoveryCode => "recovery_code",
        LoginKind::Passkey => "passkey",
        LoginKind::FactorReset => "factor_reset",
        LoginKind::FailedPassword => "failed_password",
        LoginKind::FailedSecondFactor => "failed_second_factor",
    }
}

fn kind_from_str(kind: &str) -> LoginKind {
    const KINDS: [LoginKind; 8] = [
        LoginKind::Signup,
        LoginKind::Password,
        LoginKind::Totp,
        LoginKind::RecoveryCode,
        LoginKind::Passkey,
        LoginKind::FactorReset,
        LoginKind::FailedPassword,
        LoginKind::FailedSecondFactor,
    ];
    KINDS.into_iter().find(|each| kind_to_str(*each) == kind).unwrap_or(LoginKind::Password)
}

const ACCOUNT_COLUMNS: &str =
    "id, name, address, opaque_password_file, public_cert, fingerprint, sealed_secret_key, created_at, mail_analysis, status, status_since, used_bytes, quota_bytes";

impl Store {
    /// Opens (creating if needed) `plico.sqlite` in `data_dir` and runs the migrations.
    pub async fn open(data_dir: &Path) -> Result<Store, Error> {
        let path = data_dir.join("plico.sqlite");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed row survives power loss, which mail will need.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Deleted rows (purged mail kept inline among them) are overwritten, not just freed.
            .pragma("secure_delete", "ON")
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await.map_err(sqlx::Error::from)?;
        Ok(Store { db: Db::Sqlite(pool) })
    }

    /// Connects to PostgreSQL at `url` and brings its schema up to date (see [`postgres`]).
    pub async fn connect_postgres(url: &str, max_connections: u32) -> Result<Store, postgres::ConnectError> {
        Ok(Store { db: Db::Postgres(postgres::connect(url, max_connections).await?) })
    }

    /// Which engine keeps the rows: `"sqlite"` or `"postgres"`.
    pub fn engine(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn name_exists(&self, name: &str) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query("SELECT 1 FROM accounts WHERE name = $1").bind(name).fetch_optional(pool).await?;
            Ok(row.is_some())
        })
    }

    /// Creates the account with its system folders, in one transaction.
    pub async fn insert_account(&self, account: &NewAccount<'_>) -> Result<i64, InsertError> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            let result = sqlx::query(
                "INSERT INTO accounts (name, address, opaque_password_file, public_cert, fingerprint, wkd_hash, sealed_secret_key, created_at, last_login_at,
                                       terms_version, terms_accepted_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(account.name)
            .bind(account.address)
            .bind(account.opaque_password_file)
            .bind(account.public_cert)
            .bind(account.fingerprint)
            .bind(account.wkd_hash)
            .bind(account.sealed_secret_key)
            .bind(account.created_at)
            .bind(account.created_at)
            .bind(account.terms_version.map(i64::from))
            .bind(account.terms_version.map(|_| account.created_at))
            .fetch_one(&mut *transaction)
            .await;
            let account_id: i64 = match result {
                Ok(row) => row.get("id"),
                Err(sqlx::Error::Database(error)) if error.is_unique_violation() => return Err(InsertError::NameTaken),
                Err(error) => return Err(error.into()),
            };
            engine::create_system_folders(&mut transaction, account_id, account.created_at).await?;
            transaction.commit().await?;
            Ok(account_id)
        })
    }

    pub async fn account_by_name(&self, name: &str) -> Result<Option<AccountRow>, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE name = $1"))
                .bind(name)
                .fetch_optional(pool)
                .await?;
            Ok(row.as_ref().map(engine::account_from_row))
        })
    }

    pub async fn account_by_id(&self, id: i64) -> Result<Option<AccountRow>, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?;
            Ok(row.as_ref().map(engine::account_from_row))
        })
    }

    pub async fn account_by_wkd_hash(&self, wkd_hash: &str) -> Result<Option<AccountRow>, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE wkd_hash = $1"))
                .bind(wkd_hash)
                .fetch_optional(pool)
                .await?;
            Ok(row.as_ref().map(engine::account_from_row))
        })
    }

    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn insert_login_event(&self, event: &NewLoginEvent<'_>) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("INSERT INTO login_events (account_id, at, ip, user_agent, kind) VALUES ($1, $2, $3, $4, $5)")
                .bind(event.account_id)
                .bind(event.at)
                .bind(event.ip)
                .bind(event.user_agent)
                .bind(kind_to_str(event.kind))
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// The account's login history, newest first.
    pub async fn login_events(&self, account_id: i64) -> Result<Vec<LoginEvent>, Error> {
        crate::engines::on_db!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, at, ip, user_agent, kind FROM login_events WHERE account_id = $1 ORDER BY at DESC, id DESC",
            )
            .bind(account_id)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .iter()
                .map(|row| LoginEvent {
                    id: row.get("id"),
                    at: row.get("at"),
                    ip: row.get("ip"),
                    user_agent: row.get("user_agent"),
                    kind: kind_from_str(row.get::<&str, _>("kind")),
                })
                .collect())
        })
    }

    /// Deletes one entry of this account's history; false when there was none with that id.
    pub async fn delete_login_event(&self, account_id: i64, id: i64) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let done = sqlx::query("DELETE FROM login_events WHERE account_id = $1 AND id = $2")
                .bind(account_id)
                .bind(id)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    pub async fn delete_all_login_events(&self, account_id: i64) -> Result<u64, Error> {
        crate::engines::on_db!(self, |pool| {
            let done =
                sqlx::query("DELETE FROM login_events WHERE account_id = $1").bind(account_id).execute(pool).await?;
            Ok(done.rows_affected())
        })
    }

    /// Deletes login history recorded before `cutoff`; returns how many entries went.
    /// Whether the account lets the server analyse incoming mail (the spam score).
    pub async fn mail_analysis(&self, account_id: i64) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query("SELECT mail_analysis FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_one(pool)
                .await?;
            Ok(row.get::<i64, _>("mail_analysis") != 0)
        })
    }

    /// A sealed document and its version.
    pub async fn sealed_document(
        &self,
        account_id: i64,
        document: SealedDocument,
    ) -> Result<(Option<Vec<u8>>, i64), Error> {
        crate::engines::on_db!(self, |pool| {
            let (data, version) = document.columns();
            let row = sqlx::query(&format!("SELECT {data} AS data, {version} AS version FROM accounts WHERE id = $1"))
                .bind(account_id)
                .fetch_one(pool)
                .await?;
            Ok((row.get("data"), row.get("version")))
        })
    }

    /// Replaces a sealed document if it is still at `version`; returns the new version, or
    /// `None` when another device wrote first.
    pub async fn replace_sealed_document(
        &self,
        account_id: i64,
        document: SealedDocument,
        sealed: &[u8],
        version: i64,
    ) -> Result<Option<i64>, Error> {
        crate::engines::on_db!(self, |pool| {
            let (data, version_column) = document.columns();
            let row = sqlx::query(&format!(
                "UPDATE accounts SET {data} = $1, {version_column} = {version_column} + 1
                 WHERE id = $2 AND {version_column} = $3 RETURNING {version_column} AS version"
            ))
            .bind(sealed)
            .bind(account_id)
            .bind(version)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(|row| row.get("version")))
        })
    }

    pub async fn set_mail_analysis(&self, account_id: i64, on: bool) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("UPDATE accounts SET mail_analysis = $1 WHERE id = $2")
                .bind(i64::from(on))
                .bind(account_id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// The bytes the account's messages (every folder, Trash and the recovery area) and items
    /// take, and its quota: its own, else `default_quota`.
    pub async fn storage(&self, account_id: i64, default_quota: u64) -> Result<(u64, u64), Error> {
        crate::engines::on_db!(self, |pool| {
            // `used_bytes` is kept by triggers on `messages` (migration 0010).
            let row = sqlx::query(
                "SELECT used_bytes AS used, COALESCE(quota_bytes, $2) AS quota FROM accounts WHERE id = $1",
            )
            .bind(account_id)
            .bind(i64::try_from(default_quota).unwrap_or(i64::MAX))
            .fetch_optional(pool)
            .await?;
            Ok(row.map_or((0, default_quota), |row| {
                (row.get::<i64, _>("used").max(0) as u64, row.get::<i64, _>("quota").max(0) as u64)
            }))
        })
    }

    /// Sets the account's own quota in bytes, or `None` for the operator's default.
    pub async fn set_quota(&self, account_id: i64, quota_bytes: Option<u64>) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("UPDATE accounts SET quota_bytes = $1 WHERE id = $2")
                .bind(quota_bytes.map(|bytes| i64::try_from(bytes).unwrap_or(i64::MAX)))
                .bind(account_id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Has the account signed in from `ip` (within the login history's month)? Such a device is
    /// not held back by the account-wide limit on guessing.
    pub async fn signed_in_from(&self, account_id: i64, ip: &str) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query("SELECT 1 FROM login_events WHERE account_id = $1 AND ip = $2 LIMIT 1")
                .bind(account_id)
                .bind(ip)
                .fetch_optional(pool)
                .await?;
            Ok(row.is_some())
        })
    }

    pub async fn purge_login_events_before(&self, cutoff: i64) -> Result<u64, Error> {
        crate::engines::on_db!(self, |pool| {
            let done = sqlx::query("DELETE FROM login_events WHERE at < $1").bind(cutoff).execute(pool).await?;
            Ok(done.rows_affected())
        })
    }

    /// Deletes sessions that expired at or before `now`.
    pub async fn purge_expired_sessions(&self, now: i64) -> Result<u64, Error> {
        crate::engines::on_db!(self, |pool| {
            let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(pool).await?;
            Ok(done.rows_affected())
        })
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
            Ok(())
        })
    }

    /// For tests that play a server whose database was changed: the SQLite pool, when the
    /// rows are in SQLite.
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.db {
            Db::Sqlite(pool) => Some(pool),
            Db::Postgres(_) => None,
        }
    }

    /// The same, when the rows are in PostgreSQL.
    pub fn postgres_pool(&self) -> Option<&sqlx::PgPool> {
        match &self.db {
            Db::Postgres(pool) => Some(pool),
            Db::Sqlite(_) => None,
        }
    }
}

crate::engines::per_engine! {
    pub(crate) fn account_from_row(row: &DbRow) -> AccountRow {
        AccountRow {
            id: row.get("id"),
            name: row.get("name"),
            address: row.get("address"),
            opaque_password_file: row.get("opaque_password_file"),
            public_cert: row.get("public_cert"),
            fingerprint: row.get("fingerprint"),
            sealed_secret_key: row.get("sealed_secret_key"),
            created_at: row.get("created_at"),
            mail_analysis: row.get::<i64, _>("mail_analysis") != 0,
            status: plico_api::privacy::AccountStatus::parse(row.get::<&str, _>("status"))
                .unwrap_or(plico_api::privacy::AccountStatus::Active),
            status_since: row.get("status_since"),
            used_bytes: row.get::<i64, _>("used_bytes").max(0) as u64,
            quota_bytes: row.get::<Option<i64>, _>("quota_bytes").map(|bytes| bytes.max(0) as u64),
        }
    }
}
