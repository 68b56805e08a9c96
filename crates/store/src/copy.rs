//! Moving an installation from SQLite to PostgreSQL (`plico migrate`): every table's rows, copied
//! in one PostgreSQL transaction in an order that keeps the foreign keys, then counted and
//! checksummed on both sides. What is only a moment's state (started sign-ins and sign-ups,
//! rate-limit windows) is not copied; it is gone after any restart too.

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Db, Error, Store};

/// The tables that move, parents before children.
pub const TABLES: &[&str] = &[
    "accounts",
    "sessions",
    "login_events",
    "folders",
    "blobs",
    "messages",
    "tombstones",
    "send_log",
    "outbound",
    "quarantined_names",
    "blob_claims",
    "idempotency_keys",
    "items",
    "item_tombstones",
    "job_runs",
    "node_secrets",
    "revoked_sessions",
    "second_factors",
    "recovery_codes",
    "passkeys",
    "factor_resets",
    "account_keys",
];

/// Tables whose `id` PostgreSQL numbers itself: its counter goes on from the highest copied.
const IDENTITY_TABLES: &[&str] = &["accounts", "login_events", "second_factors", "passkeys"];

/// Why a move could not be done.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the source must be a SQLite installation")]
    SourceNotSqlite,
    #[error("the target must be PostgreSQL")]
    TargetNotPostgres,
    #[error("the target database already holds {0} accounts; move into an empty database")]
    TargetNotEmpty(i64),
    #[error(transparent)]
    Database(#[from] Error),
}

impl From<sqlx::Error> for CopyError {
    fn from(error: sqlx::Error) -> Self {
        CopyError::Database(error.into())
    }
}

/// One table: its rows and a checksum of their contents that does not depend on their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSum {
    pub table: &'static str,
    pub rows: u64,
    pub checksum: [u8; 32],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Bytes,
    Text,
}

#[derive(Debug, Clone)]
enum Value {
    Null,
    Int(i64),
    Bytes(Vec<u8>),
    Text(String),
}

/// A table's columns and their kinds, as SQLite declares them.
async fn columns(pool: &sqlx::SqlitePool, table: &str) -> Result<Vec<(String, Kind)>, Error> {
    let rows =
        sqlx::query("SELECT name, type FROM pragma_table_info($1) ORDER BY cid").bind(table).fetch_all(pool).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let kind = match row.get::<String, _>("type").to_ascii_uppercase().as_str() {
                "BLOB" => Kind::Bytes,
                "TEXT" => Kind::Text,
                _ => Kind::Int,
            };
            (row.get("name"), kind)
        })
        .collect())
}

macro_rules! decode_row {
    ($row:expr, $columns:expr) => {
        $columns
            .iter()
            .enumerate()
            .map(|(index, (_, kind))| -> Result<Value, sqlx::Error> {
                Ok(match kind {
                    Kind::Int => $row.try_get::<Option<i64>, _>(index)?.map_or(Value::Null, Value::Int),
                    Kind::Bytes => $row.try_get::<Option<Vec<u8>>, _>(index)?.map_or(Value::Null, Value::Bytes),
                    Kind::Text => $row.try_get::<Option<String>, _>(index)?.map_or(Value::Null, Value::Text),
                })
            })
            .collect::<Result<Vec<Value>, sqlx::Error>>()
    };
}

/// Adds one row's hash into the running sum (mod 2^256), so that order does not matter.
fn add_row(sum: &mut [u8; 32], values: &[Value]) {
    let mut hash = Sha256::new();
    for value in values {
        match value {
            Value::Null => hash.update([0]),
            Value::Int(n) => {
                hash.update([1]);
                hash.update(n.to_be_bytes());
            }
            Value::Bytes(bytes) => {
                hash.update([2]);
                hash.update((bytes.len() as u64).to_be_bytes());
                hash.update(bytes);
            }
            Value::Text(text) => {
                hash.update([3]);
                hash.update((text.len() as u64).to_be_bytes());
                hash.update(text.as_bytes());
            }
        }
    }
    let row: [u8; 32] = hash.finalize().into();
    let mut carry = 0u16;
    for index in (0..32).rev() {
        let total = u16::from(sum[index]) + u16::from(row[index]) + carry;
        sum[index] = total as u8;
        carry = total >> 8;
    }
}

impl Store {
    /// Copies every table of this SQLite installation into `target`, an empty PostgreSQL
    /// database, in one transaction: all of it or none. Returns the source's sums.
    pub async fn copy_to(&self, target: &Store) -> Result<Vec<TableSum>, CopyError> {
        let Db::Sqlite(source) = &self.db else { return Err(CopyError::SourceNotSqlite) };
        let Db::Postgres(pool) = &target.db else { return Err(CopyError::TargetNotPostgres) };
        let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(pool).await?;
        if accounts > 0 {
            return Err(CopyError::TargetNotEmpty(accounts));
        }
        let mut transaction = pool.begin().await?;
        // What an earlier start of the target wrote (its node secrets' fingerprints) gives way
        // to the source's.
        sqlx::query("DELETE FROM node_secrets").execute(&mut *transaction).await?;
        sqlx::query("DELETE FROM job_runs").execute(&mut *transaction).await?;
        let mut sums = Vec::with_capacity(TABLES.len());
        for &table in TABLES {
            let columns = columns(source, table).await?;
            let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
            let select = format!("SELECT {} FROM {table}", names.join(", "));
            // Rows go in batches of one statement each, under PostgreSQL's limit of parameters.
            let per_batch = (8_000 / columns.len().max(1)).max(1);
            let mut sum = [0u8; 32];
            let mut count = 0u64;
            let mut batch: Vec<Vec<Value>> = Vec::with_capacity(per_batch);
            let mut rows = sqlx::query(&select).fetch(source);
            while let Some(row) = rows.try_next().await? {
                let values = decode_row!(row, columns)?;
                add_row(&mut sum, &values);
                count += 1;
                batch.push(values);
                if batch.len() == per_batch {
                    insert_batch(&mut transaction, table, &columns, std::mem::take(&mut batch)).await?;
                }
            }
            drop(rows);
            if !batch.is_empty() {
                insert_batch(&mut transaction, table, &columns, batch).await?;
            }
            if IDENTITY_TABLES.contains(&table) {
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                ))
                .execute(&mut *transaction)
                .await?;
            }
            sums.push(TableSum { table, rows: count, checksum: sum });
        }
        // PostgreSQL's usage triggers counted every copied message and item on top of the
        // copied totals: the source's figures stand.
        let mut usage = sqlx::query("SELECT id, used_bytes FROM accounts").fetch(source);
        let mut totals = Vec::new();
        while let Some(row) = usage.try_next().await? {
            totals.push((row.get::<i64, _>("id"), row.get::<i64, _>("used_bytes")));
        }
        drop(usage);
        for (id, used) in totals {
            sqlx::query("UPDATE accounts SET used_bytes = $1 WHERE id = $2")
                .bind(used)
                .bind(id)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(sums)
    }

    /// Every moved table's row count and checksum, read from this store; `layout` is a SQLite
    /// installation that names the columns (the two schemas have the same ones).
    pub async fn table_sums(&self, layout: &Store) -> Result<Vec<TableSum>, CopyError> {
        let Db::Sqlite(layout) = &layout.db else { return Err(CopyError::SourceNotSqlite) };
        let mut sums = Vec::with_capacity(TABLES.len());
        for &table in TABLES {
            let columns = columns(layout, table).await?;
            let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
            let select = format!("SELECT {} FROM {table}", names.join(", "));
            let mut sum = [0u8; 32];
            let mut count = 0u64;
            crate::engines::on_db!(self, |pool| {
                let mut rows = sqlx::query(&select).fetch(pool);
                while let Some(row) = rows.try_next().await? {
                    add_row(&mut sum, &decode_row!(row, columns)?);
                    count += 1;
                }
                Ok::<(), CopyError>(())
            })?;
            sums.push(TableSum { table, rows: count, checksum: sum });
        }
        Ok(sums)
    }

    /// The blobs kept in the blob store rather than in their row.
    pub async fn stored_blob_hashes(&self) -> Result<Vec<String>, Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query_scalar("SELECT hash FROM blobs WHERE data IS NULL ORDER BY hash")
                .fetch_all(pool)
                .await
                .map_err(Error::from)
        })
    }
}

async fn insert_batch(
    transaction: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    table: &str,
    columns: &[(String, Kind)],
    rows: Vec<Vec<Value>>,
) -> Result<(), sqlx::Error> {
    let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
    let width = names.len();
    let tuples: Vec<String> = (0..rows.len())
        .map(|row| {
            let places: Vec<String> = (1..=width).map(|column| format!("${}", row * width + column)).collect();
            format!("({})", places.join(", "))
        })
        .collect();
    let sql = format!("INSERT INTO {table} ({}) VALUES {}", names.join(", "), tuples.join(", "));
    let mut query = sqlx::query(&sql);
    for (value, (_, kind)) in rows.into_iter().flat_map(|row| row.into_iter().zip(columns)) {
        // A NULL is bound with its column's type, which PostgreSQL checks.
        query = match value {
            Value::Null => match kind {
                Kind::Int => query.bind(None::<i64>),
                Kind::Bytes => query.bind(None::<Vec<u8>>),
                Kind::Text => query.bind(None::<String>),
            },
            Value::Int(n) => query.bind(n),
            Value::Bytes(bytes) => query.bind(bytes),
            Value::Text(text) => query.bind(text),
        };
    }
    query.execute(&mut **transaction).await?;
    Ok(())
}

crate::engines::per_engine! {}
