//! An account's keys beside the primary one (the primary is the account row's `public_cert`
//! and `fingerprint`): published next to it, retired by a rotation, or revoked. The server
//! stores public certificates; the secret keys travel only in the sealed keyring.

use sqlx::Row;

use super::{Error, Store};

/// Where a key other than the primary stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Served by WKD beside the primary (a classical key next to a post-quantum primary).
    Published,
    /// Rotated out: not served, kept so the owner sees it (its secret stays in the keyring).
    Retired,
    /// Revoked: the certificate carries the revocation and WKD serves it so others learn.
    Revoked,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Published => "published",
            KeyState::Retired => "retired",
            KeyState::Revoked => "revoked",
        }
    }

    fn parse(text: &str) -> Option<KeyState> {
        match text {
            "published" => Some(KeyState::Published),
            "retired" => Some(KeyState::Retired),
            "revoked" => Some(KeyState::Revoked),
            _ => None,
        }
    }
}

/// A key of the account that is not its primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherKey {
    pub fingerprint: String,
    pub public_cert: Vec<u8>,
    pub state: KeyState,
    pub added_at: i64,
    pub revocation_reason: Option<String>,
    pub revoked_at: Option<i64>,
}

/// A new primary key: its certificate, and the keyring sealed anew with it first.
#[derive(Debug, Clone, Copy)]
pub struct NewPrimary<'a> {
    pub fingerprint: &'a str,
    pub public_cert: &'a [u8],
    pub sealed_keyring: &'a [u8],
    /// Where the key that was primary goes.
    pub previous: KeyState,
    pub now: i64,
}

/// Why a new primary was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewPrimaryRefused {
    /// The account has this key already.
    Known,
    NoAccount,
}

crate::engines::per_engine! {}

impl Store {
    /// The account's keys other than the primary, oldest first.
    pub async fn other_keys(&self, account_id: i64) -> Result<Vec<OtherKey>, Error> {
        crate::engines::on_db!(self, |pool| {
            let rows = sqlx::query(
                "SELECT fingerprint, public_cert, state, added_at, revocation_reason, revoked_at FROM account_keys
                 WHERE account_id = $1 ORDER BY added_at, fingerprint",
            )
            .bind(account_id)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .iter()
                .filter_map(|row| {
                    Some(OtherKey {
                        fingerprint: row.get("fingerprint"),
                        public_cert: row.get("public_cert"),
                        state: KeyState::parse(row.get::<String, _>("state").as_str())?,
                        added_at: row.get("added_at"),
                        revocation_reason: row.get("revocation_reason"),
                        revoked_at: row.get("revoked_at"),
                    })
                })
                .collect())
        })
    }

    /// Makes `key` the account's primary in one transaction: the primary before it moves to
    /// the other keys as `key.previous` says, and the sealed keyring is swapped with it.
    pub async fn set_primary_key(
        &self,
        account_id: i64,
        key: NewPrimary<'_>,
    ) -> Result<Result<(), NewPrimaryRefused>, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            let Some(current) = sqlx::query("SELECT fingerprint, public_cert FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(&mut *transaction)
                .await?
            else {
                return Ok(Err(NewPrimaryRefused::NoAccount));
            };
            let current_fingerprint: String = current.get("fingerprint");
            let known = sqlx::query("SELECT 1 FROM account_keys WHERE account_id = $1 AND fingerprint = $2")
                .bind(account_id)
                .bind(key.fingerprint)
                .fetch_optional(&mut *transaction)
                .await?;
            if known.is_some() || current_fingerprint == key.fingerprint {
                return Ok(Err(NewPrimaryRefused::Known));
            }
            sqlx::query(
                "INSERT INTO account_keys (account_id, fingerprint, public_cert, state, added_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(account_id)
            .bind(&current_fingerprint)
            .bind(current.get::<Vec<u8>, _>("public_cert"))
            .bind(key.previous.as_str())
            .bind(key.now)
            .execute(&mut *transaction)
            .await?;
            sqlx::query("UPDATE accounts SET fingerprint = $2, public_cert = $3, sealed_secret_key = $4 WHERE id = $1")
                .bind(account_id)
                .bind(key.fingerprint)
                .bind(key.public_cert)
                .bind(key.sealed_keyring)
                .execute(&mut *transaction)
                .await?;
            transaction.commit().await?;
            Ok(Ok(()))
        })
    }

    /// Records the revocation of one of the account's other keys: its certificate with the
    /// revocation signature, and the reason. False when the account has no such other key.
    pub async fn revoke_other_key(
        &self,
        account_id: i64,
        fingerprint: &str,
        revoked_cert: &[u8],
        reason: &str,
        now: i64,
    ) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let done = sqlx::query(
                "UPDATE account_keys SET state = 'revoked', public_cert = $3, revocation_reason = $4, revoked_at = $5
                 WHERE account_id = $1 AND fingerprint = $2",
            )
            .bind(account_id)
            .bind(fingerprint)
            .bind(revoked_cert)
            .bind(reason)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}
