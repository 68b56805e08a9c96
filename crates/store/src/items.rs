//! Sealed items of every kind (`plico_api::items`): one table for all kinds, the account's change
//! counter for sync, tombstones for what was purged, the 45-day recovery area and the quota.
//!
//! Every statement filters on the account: another account's item, whatever its id, is not
//! found, and nothing of it changes.

use plico_api::items::{Item, ItemChanges, ItemSaved};
use sqlx::Row;

use super::{Error, Store};

/// Why an item operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    /// No such item of this kind in the account.
    #[error("No {kind} with this id.")]
    NotFound { kind: String },
    /// A new item's id is taken, the version written over is not the stored one, or the item is
    /// in the recovery area.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The write would pass the account's quota.
    #[error("the quota is full")]
    Full { used: u64, quota: u64, adding: u64 },
    #[error(transparent)]
    Database(#[from] crate::Error),
}

impl From<sqlx::Error> for ItemError {
    fn from(error: sqlx::Error) -> Self {
        ItemError::Database(error.into())
    }
}

/// A write of an item's sealed content over `version` (0 makes the item).
pub struct PutItem<'a> {
    pub kind: &'a str,
    pub id: &'a str,
    pub sealed: &'a [u8],
    pub version: i64,
}

impl Store {
    /// Writes an item's sealed content. The quota is checked in the same transaction, against
    /// what the write adds (a smaller rewrite always passes).
    pub async fn put_item(
        &self,
        account_id: i64,
        put: &PutItem<'_>,
        now: i64,
        default_quota: u64,
    ) -> Result<ItemSaved, ItemError> {
        crate::engines::on_db!(self, |pool| {
            let PutItem { kind, id, sealed, version } = *put;
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            let stored = sqlx::query(
                "SELECT version, size, deleted_at FROM items WHERE account_id = $1 AND kind = $2 AND id = $3",
            )
            .bind(account_id)
            .bind(kind)
            .bind(id)
            .fetch_optional(&mut *transaction)
            .await?;
            let old_size = match (&stored, version) {
                (None, 0) => 0,
                (None, _) => return Err(ItemError::NotFound { kind: kind.to_owned() }),
                (Some(_), 0) => {
                    return Err(ItemError::Conflict {
                        code: "item_exists",
                        message: format!("A {kind} with this id exists already; write over its version to change it."),
                    })
                }
                (Some(row), _) => {
                    let current: i64 = row.get("version");
                    if row.get::<Option<i64>, _>("deleted_at").is_some() {
                        return Err(ItemError::Conflict {
                            code: "item_deleted",
                            message: format!("This {kind} was deleted; recover it before changing it."),
                        });
                    }
                    if current != version {
                        return Err(ItemError::Conflict {
                            code: "stale_version",
                            message: format!(
                                "This {kind} changed on another device (it is at version {current}, this write replaces \
                                 version {version}); read it again and reapply the change."
                            ),
                        });
                    }
                    row.get::<i64, _>("size").max(0) as u64
                }
            };
            let adding = (sealed.len() as u64).saturating_sub(old_size);
            if adding > 0 {
                let row =
                    sqlx::query("SELECT used_bytes, COALESCE(quota_bytes, $1) AS quota FROM accounts WHERE id = $2")
                        .bind(i64::try_from(default_quota).unwrap_or(i64::MAX))
                        .bind(account_id)
                        .fetch_one(&mut *transaction)
                        .await?;
                let usage = super::Usage {
                    used: row.get::<i64, _>("used_bytes").max(0) as u64,
                    quota: row.get::<i64, _>("quota").max(0) as u64,
                };
                if usage.would_pass(adding) {
                    return Err(ItemError::Full { used: usage.used, quota: usage.quota, adding });
                }
            }
            let modseq = engine::next_modseq(&mut transaction, account_id).await?;
            let new_version = version + 1;
            if stored.is_none() {
                sqlx::query(
                    "INSERT INTO items (account_id, kind, id, sealed, size, version, modseq, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(account_id)
                .bind(kind)
                .bind(id)
                .bind(sealed)
                .bind(sealed.len() as i64)
                .bind(new_version)
                .bind(modseq)
                .bind(now)
                .bind(now)
                .execute(&mut *transaction)
                .await?;
                // An id used again after its purge: its tombstone must not remove it on other devices.
                sqlx::query("DELETE FROM item_tombstones WHERE account_id = $1 AND kind = $2 AND id = $3")
                    .bind(account_id)
                    .bind(kind)
                    .bind(id)
                    .execute(&mut *transaction)
                    .await?;
            } else {
                sqlx::query(
                    "UPDATE items SET sealed = $1, size = $2, version = $3, modseq = $4, updated_at = $5
                     WHERE account_id = $6 AND kind = $7 AND id = $8",
                )
                .bind(sealed)
                .bind(sealed.len() as i64)
                .bind(new_version)
                .bind(modseq)
                .bind(now)
                .bind(account_id)
                .bind(kind)
                .bind(id)
                .execute(&mut *transaction)
                .await?;
            }
            transaction.commit().await?;
            Ok(ItemSaved { id: id.to_owned(), version: new_version, updated_at: now })
        })
    }

    /// One item, deleted or not.
    pub async fn item(&self, account_id: i64, kind: &str, id: &str) -> Result<Item, ItemError> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query(
                "SELECT id, version, sealed, updated_at, deleted_at FROM items WHERE account_id = $1 AND kind = $2 AND id = $3",
            )
            .bind(account_id)
            .bind(kind)
            .bind(id)
            .fetch_optional(pool)
            .await?
            .as_ref()
            .map(engine::item_from_row)
            .ok_or_else(|| ItemError::NotFound { kind: kind.to_owned() })
        })
    }

    /// Moves items to the recovery area (`deleted = Some(now)`) or brings them back (`None`), all
    /// or nothing: one id that is not the account's item of this kind refuses the whole request.
    /// Content and version stay as they are; the change counter moves, so other devices learn of
    /// it. Deleting a deleted item, or recovering a live one, changes nothing.
    pub async fn set_items_deleted(
        &self,
        account_id: i64,
        kind: &str,
        ids: &[String],
        deleted: Option<i64>,
    ) -> Result<(), ItemError> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            let mut changing = Vec::with_capacity(ids.len());
            for id in ids {
                let row = sqlx::query("SELECT deleted_at FROM items WHERE account_id = $1 AND kind = $2 AND id = $3")
                    .bind(account_id)
                    .bind(kind)
                    .bind(id)
                    .fetch_optional(&mut *transaction)
                    .await?
                    .ok_or_else(|| ItemError::NotFound { kind: kind.to_owned() })?;
                if row.get::<Option<i64>, _>("deleted_at").is_some() != deleted.is_some() {
                    changing.push(id);
                }
            }
            for id in changing {
                let modseq = engine::next_modseq(&mut transaction, account_id).await?;
                sqlx::query(
                    "UPDATE items SET deleted_at = $1, modseq = $2 WHERE account_id = $3 AND kind = $4 AND id = $5",
                )
                .bind(deleted)
                .bind(modseq)
                .bind(account_id)
                .bind(kind)
                .bind(id)
                .execute(&mut *transaction)
                .await?;
            }
            transaction.commit().await?;
            Ok(())
        })
    }

    /// The items of `kind` changed since `since`, oldest change first, at most `limit` of them;
    /// and the ids purged in the same span.
    pub async fn item_changes(
        &self,
        account_id: i64,
        kind: &str,
        since: i64,
        limit: u32,
    ) -> Result<ItemChanges, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::snapshot(pool).await?;
            let counter: i64 = sqlx::query("SELECT modseq FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(&mut *transaction)
                .await?
                .map_or(0, |row| row.get("modseq"));
            let rows = sqlx::query(
                "SELECT id, version, sealed, updated_at, deleted_at, modseq FROM items
                 WHERE account_id = $1 AND kind = $2 AND modseq > $3 ORDER BY modseq LIMIT $4",
            )
            .bind(account_id)
            .bind(kind)
            .bind(since)
            .bind(i64::from(limit) + 1)
            .fetch_all(&mut *transaction)
            .await?;
            let more = rows.len() > limit as usize;
            let rows = &rows[..rows.len().min(limit as usize)];
            // Every write takes a change number of its own, so a page ends exactly at its last item.
            let cursor = if more { rows.last().map_or(counter, |row| row.get("modseq")) } else { counter.max(since) };
            let removed = sqlx::query(
                "SELECT id FROM item_tombstones WHERE account_id = $1 AND kind = $2 AND modseq > $3 AND modseq <= $4
                 ORDER BY modseq",
            )
            .bind(account_id)
            .bind(kind)
            .bind(since)
            .bind(cursor)
            .fetch_all(&mut *transaction)
            .await?
            .iter()
            .map(|row| row.get("id"))
            .collect();
            transaction.commit().await?;
            Ok(ItemChanges { cursor, more, items: rows.iter().map(engine::item_from_row).collect(), removed })
        })
    }

    /// Purges items deleted before `cutoff`, leaving tombstones for other devices' sync.
    pub async fn purge_deleted_items(&self, cutoff: i64) -> Result<u64, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            let expired =
                sqlx::query("SELECT account_id, kind, id FROM items WHERE deleted_at IS NOT NULL AND deleted_at < $1")
                    .bind(cutoff)
                    .fetch_all(&mut *transaction)
                    .await?;
            for row in &expired {
                let account_id: i64 = row.get("account_id");
                let kind: String = row.get("kind");
                let id: String = row.get("id");
                let modseq = engine::next_modseq(&mut transaction, account_id).await?;
                sqlx::query("DELETE FROM items WHERE account_id = $1 AND kind = $2 AND id = $3")
                    .bind(account_id)
                    .bind(&kind)
                    .bind(&id)
                    .execute(&mut *transaction)
                    .await?;
                sqlx::query(
                    "INSERT INTO item_tombstones (account_id, kind, id, modseq) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (account_id, kind, id) DO UPDATE SET modseq = excluded.modseq",
                )
                .bind(account_id)
                .bind(&kind)
                .bind(&id)
                .bind(modseq)
                .execute(&mut *transaction)
                .await?;
            }
            transaction.commit().await?;
            Ok(expired.len() as u64)
        })
    }
}

crate::engines::per_engine! {
    pub(crate) fn item_from_row(row: &DbRow) -> Item {
        use base64::Engine;
        let sealed: Vec<u8> = row.get("sealed");
        Item {
            id: row.get("id"),
            version: row.get("version"),
            size: sealed.len() as u64,
            sealed: base64::engine::general_purpose::STANDARD.encode(&sealed),
            updated_at: row.get("updated_at"),
            deleted_at: row.get("deleted_at"),
        }
    }
}
