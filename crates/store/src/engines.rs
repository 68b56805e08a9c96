//! The two database engines, SQLite and PostgreSQL, and what differs between them.
//!
//! The store writes each query once where the SQL is the same on both (most of it: numbered
//! parameters, `ON CONFLICT`, `RETURNING`, `CAST(… AS BIGINT)`) and asks this module for the
//! pieces that differ. Its methods run one body on whichever pool the store has ([`on_db!`]);
//! helpers that take a transaction or a row are written once in [`per_engine!`] and compiled
//! for each engine, so every query keeps sqlx's concrete, checked types (no `Any` driver).

/// Compiles `items` twice, as modules `on_sqlite` and `on_postgres` of the calling module, each
/// seeing `DB`, `Tx`, `DbRow` and the dialect's helpers for its engine.
macro_rules! per_engine {
    ($($item:item)*) => {
        #[allow(dead_code, unused_imports)]
        pub(crate) mod on_sqlite {
            use super::*;
            pub(crate) use $crate::engines::sqlite::*;
            $($item)*
        }
        #[allow(dead_code, unused_imports)]
        pub(crate) mod on_postgres {
            use super::*;
            pub(crate) use $crate::engines::postgres::*;
            $($item)*
        }
    };
}

/// Runs `$body` with `$pool` bound to the store's pool, and `engine` naming the calling
/// module's per-engine helpers (see [`per_engine!`]).
macro_rules! on_db {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite($pool) => {
                #[allow(unused_imports)]
                use self::on_sqlite as engine;
                $body
            }
            $crate::Db::Postgres($pool) => {
                #[allow(unused_imports)]
                use self::on_postgres as engine;
                $body
            }
        }
    };
}

pub(crate) use {on_db, per_engine};

/// SQLite: one writer at a time, taken at `BEGIN IMMEDIATE`.
pub(crate) mod sqlite {
    pub(crate) type DB = sqlx::Sqlite;
    pub(crate) type Tx<'a> = sqlx::Transaction<'a, DB>;
    pub(crate) type DbRow = sqlx::sqlite::SqliteRow;

    pub(crate) use crate::mail::on_sqlite::{create_system_folders, next_modseq};
    pub(crate) use crate::outbound::on_sqlite::insert as insert_outbound;

    /// An empty byte string in a select list.
    pub(crate) const EMPTY_BYTES: &str = "X''";

    /// The rows of a JSON array of strings bound as parameter `param`, for `IN (…)`.
    pub(crate) fn json_strings(param: &str) -> String {
        format!("SELECT value FROM json_each({param})")
    }

    /// Starts a write transaction. `BEGIN IMMEDIATE` takes SQLite's write lock at the start, so
    /// concurrent writers wait their turn (up to the busy timeout); a deferred transaction
    /// whose first read turns into a write fails at once with "database is locked" when
    /// another writer is active, which under parallel SMTP deliveries refused about 40% of them.
    pub(crate) async fn write(pool: &sqlx::SqlitePool) -> Result<Tx<'static>, sqlx::Error> {
        pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Starts a read-only transaction whose statements all see one snapshot (sync reads a
    /// cursor and then what changed up to it).
    pub(crate) async fn snapshot(pool: &sqlx::SqlitePool) -> Result<Tx<'static>, sqlx::Error> {
        pool.begin().await
    }

    /// Serialises this transaction with every other one that locks `key` of `class` until it
    /// ends. On SQLite the write transaction already holds the only write lock.
    pub(crate) async fn lock_key(_transaction: &mut Tx<'_>, _class: i32, _key: &str) -> Result<(), sqlx::Error> {
        Ok(())
    }

    /// What a select that claims rows adds so that two claimers never take the same row (SQLite's
    /// one writer already sees to that).
    pub(crate) const SKIP_LOCKED: &str = "";

    /// Serialises this transaction with every other one that locks one of `accounts` until it
    /// ends. On SQLite the write transaction already holds the only write lock.
    pub(crate) async fn lock_accounts(_transaction: &mut Tx<'_>, _accounts: &[i64]) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

/// PostgreSQL: many writers at once under READ COMMITTED; what reads and then writes on the
/// strength of what it read takes the account's advisory lock first.
pub(crate) mod postgres {
    pub(crate) type DB = sqlx::Postgres;
    pub(crate) type Tx<'a> = sqlx::Transaction<'a, DB>;
    pub(crate) type DbRow = sqlx::postgres::PgRow;

    pub(crate) use crate::mail::on_postgres::{create_system_folders, next_modseq};
    pub(crate) use crate::outbound::on_postgres::insert as insert_outbound;

    pub(crate) const EMPTY_BYTES: &str = "''::bytea";

    pub(crate) fn json_strings(param: &str) -> String {
        format!("SELECT json_array_elements_text({param}::json)")
    }

    pub(crate) async fn write(pool: &sqlx::PgPool) -> Result<Tx<'static>, sqlx::Error> {
        pool.begin().await
    }

    pub(crate) async fn snapshot(pool: &sqlx::PgPool) -> Result<Tx<'static>, sqlx::Error> {
        pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await
    }

    /// The advisory lock of `key` in `class` (the two-key form, apart from the accounts'
    /// one-key locks), held until the transaction ends.
    pub(crate) async fn lock_key(transaction: &mut Tx<'_>, class: i32, key: &str) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(class)
            .bind(key)
            .execute(&mut **transaction)
            .await?;
        Ok(())
    }

    pub(crate) const SKIP_LOCKED: &str = "FOR UPDATE SKIP LOCKED";

    /// Each account's transaction-scoped advisory lock (keyed by the account id; jobs use
    /// negative keys), held until commit or rollback, on whichever node takes it. Taken in
    /// ascending order, so two transactions that want the same accounts cannot deadlock.
    pub(crate) async fn lock_accounts(transaction: &mut Tx<'_>, accounts: &[i64]) -> Result<(), sqlx::Error> {
        let mut accounts = accounts.to_vec();
        accounts.sort_unstable();
        accounts.dedup();
        for account in accounts {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(account).execute(&mut **transaction).await?;
        }
        Ok(())
    }
}
