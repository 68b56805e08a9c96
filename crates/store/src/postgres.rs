//! PostgreSQL, for installations that outgrow one machine: connecting, and the migrations in
//! `migrations/postgres`, which reach the same tables and columns as SQLite's (held together by
//! `tests/schemas.rs`). The store's queries run on either engine (see `engines.rs`).

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

/// Why the store could not start on PostgreSQL, in words an operator can act on. The caller
/// names the flag or variable the URL came from.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("is not a PostgreSQL URL (postgres://user:password@host:port/database): {0}")]
    Url(String),
    #[error("cannot reach the database server at {target}: {reason}")]
    Unreachable { target: String, reason: String },
    #[error("the database server at {target} refused the connection: {reason}")]
    Refused { target: String, reason: String },
    #[error(
        "the database has not got Plico's tables, and the user may not create them ({reason}); \
         run `plico serve` once as a user who owns the database, or grant this one CREATE on it"
    )]
    NoPermission { reason: String },
    #[error("could not bring the database's schema up to date: {0}")]
    Migration(String),
}

/// Connects to `url` (`postgres://user@host:port/database`) and brings its schema up to date.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, ConnectError> {
    let options: PgConnectOptions = url.parse().map_err(|error: sqlx::Error| ConnectError::Url(error.to_string()))?;
    let target = format!("{}:{}", options.get_host(), options.get_port());
    let failed = |error: sqlx::Error| match error {
        sqlx::Error::Database(error) => ConnectError::Refused { target: target.clone(), reason: error.to_string() },
        other => ConnectError::Unreachable { target: target.clone(), reason: other.to_string() },
    };
    // One connection first, so that a server that is not there fails at once with its reason
    // rather than after the pool's acquire timeout.
    let first = tokio::time::timeout(Duration::from_secs(10), sqlx::ConnectOptions::connect(&options))
        .await
        .map_err(|_| ConnectError::Unreachable { target: target.clone(), reason: "no answer in 10 s".into() })?
        .map_err(failed)?;
    sqlx::Connection::close(first).await.map_err(failed)?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(failed)?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Runs the PostgreSQL migrations not yet run.
pub async fn migrate(pool: &PgPool) -> Result<(), ConnectError> {
    match sqlx::migrate!("./migrations/postgres").run(pool).await {
        Ok(()) => Ok(()),
        Err(sqlx::migrate::MigrateError::Execute(sqlx::Error::Database(error)))
            if error.code().as_deref() == Some("42501") =>
        {
            Err(ConnectError::NoPermission { reason: error.message().to_owned() })
        }
        Err(sqlx::migrate::MigrateError::ExecuteMigration(sqlx::Error::Database(error), _))
            if error.code().as_deref() == Some("42501") =>
        {
            Err(ConnectError::NoPermission { reason: error.message().to_owned() })
        }
        Err(error) => Err(ConnectError::Migration(error.to_string())),
    }
}
