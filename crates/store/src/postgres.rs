//! PostgreSQL, for installations that outgrow one machine: connecting, and the migrations in
//! `migrations/postgres`, which reach the same tables and columns as SQLite's (held together by
//! `tests/schemas.rs`). The store's queries run on it as the scale-out work moves them over.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::Error;

/// Connects to `url` (`postgres://user@host:port/database`) and brings its schema up to date.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, Error> {
    let options: PgConnectOptions = url.parse()?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Runs the PostgreSQL migrations not yet run.
pub async fn migrate(pool: &PgPool) -> Result<(), Error> {
    sqlx::migrate!("./migrations/postgres").run(pool).await.map_err(sqlx::Error::from)?;
    Ok(())
}
