//! Account security: sessions as their owner sees and ends them (idle timeouts, revocation,
//! re-authentication), second factors, recovery codes, and the half-signed-in step of a sign-in.
//! Secrets arrive sealed or hashed by the server; the store keeps bytes.

use sqlx::Row;

use super::{Error, Store};

/// A session about to open.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub token_hash: &'a [u8],
    pub public_id: &'a str,
    pub account_id: i64,
    pub now: i64,
    pub expires_at: i64,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub keep_signed_in: bool,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub account_id: i64,
    pub public_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ip: String,
    pub user_agent: String,
    pub keep_signed_in: bool,
    pub reauth_until: i64,
}

/// The account's authenticator, confirmed or waiting for its first code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    pub id: i64,
    pub sealed_secret: Vec<u8>,
    /// The last step used (-1: none yet).
    pub counter: i64,
    pub confirmed: bool,
    pub created_at: i64,
}

/// A sign-in whose password is proven, waiting for its second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSecondFactor {
    pub account_id: i64,
    pub started_at: i64,
    pub keep_signed_in: bool,
    /// The sign-in reopens the account its owner closed.
    pub reopen: bool,
    pub tries: i64,
    /// The passkey challenge this sign-in was given (sealed), when the account has passkeys.
    pub passkey_state: Option<Vec<u8>>,
}

/// A second-factor reset waiting for its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactorReset {
    pub requested_at: i64,
    /// The code works from then on (the waiting period is over).
    pub ready_at: i64,
    pub expires_at: i64,
}

/// How a reset code fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetCheck {
    /// Every second factor and recovery code of the account is gone.
    Done,
    /// Right or wrong, the waiting period is not over (nothing is counted).
    NotReady {
        ready_at: i64,
    },
    Wrong {
        tries_left: i64,
    },
    /// No reset is waiting (none asked, expired, cancelled, or tried too often).
    Nothing,
}

/// Wrong reset codes after which the reset is gone.
pub const RESET_TRIES: i64 = 5;

/// A passkey of an account, as stored.
#[derive(Debug, Clone)]
pub struct PasskeyRow {
    pub id: i64,
    pub credential_id: Vec<u8>,
    pub name: String,
    /// The webauthn-rs credential, sealed under the node key.
    pub sealed_credential: Vec<u8>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// The live sessions whose `key` column is `$1` at `$2`: not expired, and not idle past the
/// account's choice or `$3` (the operator's default; 0: none). Kept-signed-in sessions have no
/// idle timeout.
fn live(key: &str) -> String {
    format!(
        "s.{key} = $1 AND s.expires_at > $2
         AND (s.keep_signed_in = 1 OR COALESCE(a.idle_minutes, $3) = 0
              OR s.last_seen_at + COALESCE(a.idle_minutes, $3) * 60 > $2)"
    )
}

/// Any second factor of account `$1`: a confirmed authenticator or a passkey.
const ANY_FACTOR: &str = "SELECT 1 FROM second_factors WHERE account_id = $1 AND confirmed = 1
     UNION ALL SELECT 1 FROM passkeys WHERE account_id = $1 LIMIT 1";

const SESSION_COLUMNS: &str = "s.account_id, s.public_id, s.created_at, s.last_seen_at, s.expires_at, s.ip, \
     s.user_agent, s.keep_signed_in, s.reauth_until";

crate::engines::per_engine! {
    pub(crate) fn session_from_row(row: &DbRow) -> SessionRow {
        SessionRow {
            account_id: row.get("account_id"),
            public_id: row.get("public_id"),
            created_at: row.get("created_at"),
            last_seen_at: row.get("last_seen_at"),
            expires_at: row.get("expires_at"),
            ip: row.get("ip"),
            user_agent: row.get("user_agent"),
            keep_signed_in: row.get::<i64, _>("keep_signed_in") != 0,
            reauth_until: row.get("reauth_until"),
        }
    }

    /// Moves the account's session rows `condition` picks (`$1` is the account, `$2` a cookie
    /// hash) to the revoked list.
    pub(crate) async fn revoke_where(
        transaction: &mut Tx<'_>,
        condition: &str,
        account_id: i64,
        second: &[u8],
    ) -> Result<u64, sqlx::Error> {
        let revoked = sqlx::query(&format!(
            "INSERT INTO revoked_sessions (token_hash, account_id, until)
             SELECT token_hash, account_id, expires_at FROM sessions WHERE account_id = $1 AND {condition}
             ON CONFLICT (token_hash) DO NOTHING"
        ))
        .bind(account_id)
        .bind(second)
        .execute(&mut **transaction)
        .await?;
        sqlx::query(&format!("DELETE FROM sessions WHERE account_id = $1 AND {condition}"))
            .bind(account_id)
            .bind(second)
            .execute(&mut **transaction)
            .await?;
        Ok(revoked.rows_affected())
    }

    pub(crate) async fn replace_codes(
        transaction: &mut Tx<'_>,
        account_id: i64,
        hashes: &[Vec<u8>],
    ) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut **transaction)
            .await?;
        for hash in hashes {
            sqlx::query("INSERT INTO recovery_codes (account_id, code_hash, used_at) VALUES ($1, $2, NULL)")
                .bind(account_id)
                .bind(hash)
                .execute(&mut **transaction)
                .await?;
        }
        Ok(())
    }

    /// A factor turned on stores `hashes` as the recovery codes unless unused ones exist
    /// already; whether it did.
    pub(crate) async fn codes_for_first_factor(
        transaction: &mut Tx<'_>,
        account_id: i64,
        hashes: &[Vec<u8>],
    ) -> Result<bool, sqlx::Error> {
        let unused: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL")
                .bind(account_id)
                .fetch_one(&mut **transaction)
                .await?
                .get("n");
        if unused == 0 {
            replace_codes(transaction, account_id, hashes).await?;
        }
        Ok(unused == 0)
    }

    /// Recovery codes stand in for a second factor: with none left, they go.
    pub(crate) async fn forget_codes_without_factor(transaction: &mut Tx<'_>, account_id: i64) -> Result<(), sqlx::Error> {
        let left = sqlx::query(ANY_FACTOR).bind(account_id).fetch_optional(&mut **transaction).await?;
        if left.is_none() {
            sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut **transaction)
                .await?;
        }
        Ok(())
    }
}

impl Store {
    pub async fn insert_session(&self, session: &NewSession<'_>) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query(
                "INSERT INTO sessions (token_hash, account_id, created_at, expires_at, public_id, last_seen_at, ip,
                     user_agent, keep_signed_in, reauth_until)
                 VALUES ($1, $2, $3, $4, $5, $3, $6, $7, $8, 0)",
            )
            .bind(session.token_hash)
            .bind(session.account_id)
            .bind(session.now)
            .bind(session.expires_at)
            .bind(session.public_id)
            .bind(session.ip)
            .bind(session.user_agent)
            .bind(i64::from(session.keep_signed_in))
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// The live session whose cookie hashes to `token_hash`: not expired, and not idle longer
    /// than its account allows (`default_idle_minutes` where the account chose nothing). Marks
    /// it seen when it was last seen over a minute ago.
    pub async fn live_session(
        &self,
        token_hash: &[u8],
        now: i64,
        default_idle_minutes: u32,
    ) -> Result<Option<SessionRow>, Error> {
        let session = crate::engines::on_db!(self, |pool| {
            let row = sqlx::query(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE {}",
                live("token_hash")
            ))
            .bind(token_hash)
            .bind(now)
            .bind(i64::from(default_idle_minutes))
            .fetch_optional(pool)
            .await?;
            row.as_ref().map(engine::session_from_row)
        });
        if let Some(session) = &session {
            if session.last_seen_at <= now - 60 {
                crate::engines::on_db!(self, |pool| {
                    sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2")
                        .bind(token_hash)
                        .bind(now)
                        .execute(pool)
                        .await?;
                });
            }
        }
        Ok(session)
    }

    /// Whether the cookie hashing to `token_hash` belonged to a session its owner revoked (and
    /// would not have expired by `now` anyway).
    pub async fn session_was_revoked(&self, token_hash: &[u8], now: i64) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query("SELECT 1 FROM revoked_sessions WHERE token_hash = $1 AND until > $2")
                .bind(token_hash)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            Ok(row.is_some())
        })
    }

    /// The account's live sessions, newest first.
    pub async fn sessions(
        &self,
        account_id: i64,
        now: i64,
        default_idle_minutes: u32,
    ) -> Result<Vec<SessionRow>, Error> {
        crate::engines::on_db!(self, |pool| {
            let rows = sqlx::query(&format!(
                "SELECT {SESSION_COLUMNS} FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE {}
                 ORDER BY s.created_at DESC, s.public_id",
                live("account_id")
            ))
            .bind(account_id)
            .bind(now)
            .bind(i64::from(default_idle_minutes))
            .fetch_all(pool)
            .await?;
            Ok(rows.iter().map(engine::session_from_row).collect())
        })
    }

    /// Ends the account's session `public_id`, keeping its cookie's hash on the revoked list.
    /// False when the account has no such session.
    pub async fn revoke_session(&self, account_id: i64, public_id: &str) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            let row = sqlx::query("SELECT token_hash FROM sessions WHERE account_id = $1 AND public_id = $2")
                .bind(account_id)
                .bind(public_id)
                .fetch_optional(&mut *transaction)
                .await?;
            let Some(row) = row else { return Ok(false) };
            let token_hash: Vec<u8> = row.get("token_hash");
            engine::revoke_where(&mut transaction, "token_hash = $2", account_id, &token_hash).await?;
            transaction.commit().await?;
            Ok(true)
        })
    }

    /// Ends every session of the account but the one whose cookie hashes to `keep`.
    pub async fn revoke_other_sessions(&self, account_id: i64, keep: &[u8]) -> Result<u64, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            let revoked = engine::revoke_where(&mut transaction, "token_hash <> $2", account_id, keep).await?;
            transaction.commit().await?;
            Ok(revoked)
        })
    }

    /// Lets the session make changes that ask for the password until `until`.
    pub async fn set_reauthenticated(&self, token_hash: &[u8], until: i64) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("UPDATE sessions SET reauth_until = $2 WHERE token_hash = $1")
                .bind(token_hash)
                .bind(until)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Swaps the account's OPAQUE password file and its sealed secret key together (a password
    /// change).
    pub async fn set_password(
        &self,
        account_id: i64,
        password_file: &[u8],
        sealed_secret_key: &[u8],
    ) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let done =
                sqlx::query("UPDATE accounts SET opaque_password_file = $2, sealed_secret_key = $3 WHERE id = $1")
                    .bind(account_id)
                    .bind(password_file)
                    .bind(sealed_secret_key)
                    .execute(pool)
                    .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// The account's idle timeout choice (`None`: the operator's default).
    pub async fn idle_minutes(&self, account_id: i64) -> Result<Option<u32>, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query("SELECT idle_minutes FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(pool)
                .await?;
            let minutes: Option<i64> = row.and_then(|row| row.get("idle_minutes"));
            Ok(minutes.and_then(|minutes| u32::try_from(minutes).ok()))
        })
    }

    pub async fn set_idle_minutes(&self, account_id: i64, minutes: u32) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("UPDATE accounts SET idle_minutes = $2 WHERE id = $1")
                .bind(account_id)
                .bind(i64::from(minutes))
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// The account's authenticator: the confirmed one, or else the setup waiting for a code.
    pub async fn totp_factor(&self, account_id: i64) -> Result<Option<TotpFactor>, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query(
                "SELECT id, sealed_secret, counter, confirmed, created_at FROM second_factors
                 WHERE account_id = $1 AND kind = 'totp' ORDER BY confirmed DESC, id DESC LIMIT 1",
            )
            .bind(account_id)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(|row| TotpFactor {
                id: row.get("id"),
                sealed_secret: row.get("sealed_secret"),
                counter: row.get("counter"),
                confirmed: row.get::<i64, _>("confirmed") != 0,
                created_at: row.get("created_at"),
            }))
        })
    }

    /// Starts setting up an authenticator (replacing a setup that was never confirmed). False
    /// when one is on already.
    pub async fn start_totp(&self, account_id: i64, sealed_secret: &[u8], now: i64) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            let on =
                sqlx::query("SELECT 1 FROM second_factors WHERE account_id = $1 AND kind = 'totp' AND confirmed = 1")
                    .bind(account_id)
                    .fetch_optional(&mut *transaction)
                    .await?;
            if on.is_some() {
                return Ok(false);
            }
            sqlx::query("DELETE FROM second_factors WHERE account_id = $1 AND kind = 'totp'")
                .bind(account_id)
                .execute(&mut *transaction)
                .await?;
            sqlx::query(
                "INSERT INTO second_factors (account_id, kind, sealed_secret, counter, confirmed, created_at)
                 VALUES ($1, 'totp', $2, -1, 0, $3)",
            )
            .bind(account_id)
            .bind(sealed_secret)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
            transaction.commit().await?;
            Ok(true)
        })
    }

    /// Turns the waiting setup `id` on, its first code having been of `step`; `recovery_hashes`
    /// become the account's recovery codes when it has no unused ones. False when that setup is
    /// no longer waiting. Returns whether the codes were stored.
    pub async fn confirm_totp(
        &self,
        account_id: i64,
        id: i64,
        step: i64,
        now: i64,
        recovery_hashes: &[Vec<u8>],
    ) -> Result<Option<bool>, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::lock_accounts(&mut transaction, &[account_id]).await?;
            let done = sqlx::query(
                "UPDATE second_factors SET confirmed = 1, counter = $3, created_at = $4
                 WHERE id = $1 AND account_id = $2 AND confirmed = 0",
            )
            .bind(id)
            .bind(account_id)
            .bind(step)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(None);
            }
            let store_codes = engine::codes_for_first_factor(&mut transaction, account_id, recovery_hashes).await?;
            transaction.commit().await?;
            Ok(Some(store_codes))
        })
    }

    /// Uses `step` of the authenticator `id` if no later or equal step was used: true once per
    /// step, on whichever node asks first.
    pub async fn use_totp_step(&self, id: i64, step: i64) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let done =
                sqlx::query("UPDATE second_factors SET counter = $2 WHERE id = $1 AND confirmed = 1 AND counter < $2")
                    .bind(id)
                    .bind(step)
                    .execute(pool)
                    .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Turns the authenticator off; with no second factor left, the recovery codes go too.
    pub async fn delete_totp(&self, account_id: i64) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            let done = sqlx::query("DELETE FROM second_factors WHERE account_id = $1 AND kind = 'totp'")
                .bind(account_id)
                .execute(&mut *transaction)
                .await?;
            engine::forget_codes_without_factor(&mut transaction, account_id).await?;
            transaction.commit().await?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// Whether the account signs in with a second factor.
    pub async fn has_second_factor(&self, account_id: i64) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query(ANY_FACTOR).bind(account_id).fetch_optional(pool).await?;
            Ok(row.is_some())
        })
    }

    /// Unused recovery codes.
    pub async fn recovery_codes_left(&self, account_id: i64) -> Result<u32, Error> {
        crate::engines::on_db!(self, |pool| {
            let count: i64 =
                sqlx::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL")
                    .bind(account_id)
                    .fetch_one(pool)
                    .await?
                    .get("n");
            Ok(u32::try_from(count).unwrap_or(0))
        })
    }

    /// Replaces every recovery code of the account with `hashes`.
    pub async fn replace_recovery_codes(&self, account_id: i64, hashes: &[Vec<u8>]) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            engine::replace_codes(&mut transaction, account_id, hashes).await?;
            transaction.commit().await?;
            Ok(())
        })
    }

    /// Uses the recovery code hashing to `hash`: true once.
    pub async fn use_recovery_code(&self, account_id: i64, hash: &[u8], now: i64) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let done = sqlx::query(
                "UPDATE recovery_codes SET used_at = $3 WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL",
            )
            .bind(account_id)
            .bind(hash)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    pub async fn insert_pending_second_factor(&self, id: &str, pending: &PendingSecondFactor) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query(
                "INSERT INTO pending_second_factors (id, account_id, started_at, keep_signed_in, reopen, tries, passkey_state)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(pending.account_id)
            .bind(pending.started_at)
            .bind(i64::from(pending.keep_signed_in))
            .bind(i64::from(pending.reopen))
            .bind(pending.tries)
            .bind(pending.passkey_state.as_deref())
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// Takes the pending sign-in `id` (once: a wrong try puts it back with one more try
    /// counted), if it started at or after `not_before`.
    pub async fn take_pending_second_factor(
        &self,
        id: &str,
        not_before: i64,
    ) -> Result<Option<PendingSecondFactor>, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query(
                "DELETE FROM pending_second_factors WHERE id = $1
                 RETURNING account_id, started_at, keep_signed_in, reopen, tries, passkey_state",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?;
            Ok(row.filter(|row| row.get::<i64, _>("started_at") >= not_before).map(|row| PendingSecondFactor {
                account_id: row.get("account_id"),
                started_at: row.get("started_at"),
                keep_signed_in: row.get::<i64, _>("keep_signed_in") != 0,
                reopen: row.get::<i64, _>("reopen") != 0,
                tries: row.get("tries"),
                passkey_state: row.get("passkey_state"),
            }))
        })
    }

    /// The account's passkeys, oldest first.
    pub async fn passkeys(&self, account_id: i64) -> Result<Vec<PasskeyRow>, Error> {
        crate::engines::on_db!(self, |pool| {
            let rows = sqlx::query(
                "SELECT id, credential_id, name, sealed_credential, created_at, last_used_at FROM passkeys
                 WHERE account_id = $1 ORDER BY id",
            )
            .bind(account_id)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|row| PasskeyRow {
                    id: row.get("id"),
                    credential_id: row.get("credential_id"),
                    name: row.get("name"),
                    sealed_credential: row.get("sealed_credential"),
                    created_at: row.get("created_at"),
                    last_used_at: row.get("last_used_at"),
                })
                .collect())
        })
    }

    /// Adds a passkey, and the recovery codes when it is the account's first second factor (and
    /// no unused codes exist). `None` when the same authenticator is registered already; else
    /// whether the codes were stored.
    pub async fn add_passkey(
        &self,
        account_id: i64,
        credential_id: &[u8],
        name: &str,
        sealed_credential: &[u8],
        now: i64,
        code_hashes: &[Vec<u8>],
    ) -> Result<Option<bool>, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            let inserted = sqlx::query(
                "INSERT INTO passkeys (account_id, credential_id, name, sealed_credential, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, credential_id) DO NOTHING",
            )
            .bind(account_id)
            .bind(credential_id)
            .bind(name)
            .bind(sealed_credential)
            .bind(now)
            .execute(&mut *transaction)
            .await?;
            if inserted.rows_affected() == 0 {
                return Ok(None);
            }
            let store_codes = engine::codes_for_first_factor(&mut transaction, account_id, code_hashes).await?;
            transaction.commit().await?;
            Ok(Some(store_codes))
        })
    }

    /// Keeps a passkey's credential as it is after a sign-in (its sign counter moves on).
    pub async fn passkey_used(&self, id: i64, sealed_credential: &[u8], now: i64) -> Result<(), Error> {
        crate::engines::on_db!(self, |pool| {
            sqlx::query("UPDATE passkeys SET sealed_credential = $1, last_used_at = $2 WHERE id = $3")
                .bind(sealed_credential)
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    /// Removes a passkey of the account; with no second factor left, the recovery codes go too.
    pub async fn delete_passkey(&self, account_id: i64, id: i64) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            let done = sqlx::query("DELETE FROM passkeys WHERE account_id = $1 AND id = $2")
                .bind(account_id)
                .bind(id)
                .execute(&mut *transaction)
                .await?;
            engine::forget_codes_without_factor(&mut transaction, account_id).await?;
            transaction.commit().await?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// Starts a second-factor reset (replacing none: an existing one that has not expired is
    /// kept and returned, so asking again does not move its waiting period). `Err` is the one
    /// already waiting.
    pub async fn start_factor_reset(
        &self,
        account_id: i64,
        code_hash: &[u8],
        reset: FactorReset,
    ) -> Result<Result<(), FactorReset>, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            sqlx::query("DELETE FROM factor_resets WHERE account_id = $1 AND expires_at <= $2")
                .bind(account_id)
                .bind(reset.requested_at)
                .execute(&mut *transaction)
                .await?;
            let inserted = sqlx::query(
                "INSERT INTO factor_resets (account_id, code_hash, requested_at, ready_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id) DO NOTHING",
            )
            .bind(account_id)
            .bind(code_hash)
            .bind(reset.requested_at)
            .bind(reset.ready_at)
            .bind(reset.expires_at)
            .execute(&mut *transaction)
            .await?;
            let outcome = if inserted.rows_affected() == 1 {
                Ok(())
            } else {
                let row =
                    sqlx::query("SELECT requested_at, ready_at, expires_at FROM factor_resets WHERE account_id = $1")
                        .bind(account_id)
                        .fetch_one(&mut *transaction)
                        .await?;
                Err(FactorReset {
                    requested_at: row.get("requested_at"),
                    ready_at: row.get("ready_at"),
                    expires_at: row.get("expires_at"),
                })
            };
            transaction.commit().await?;
            Ok(outcome)
        })
    }

    /// The reset waiting for the account, if one has not expired at `now`.
    pub async fn factor_reset(&self, account_id: i64, now: i64) -> Result<Option<FactorReset>, Error> {
        crate::engines::on_db!(self, |pool| {
            let row = sqlx::query(
                "SELECT requested_at, ready_at, expires_at FROM factor_resets WHERE account_id = $1 AND expires_at > $2",
            )
            .bind(account_id)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(|row| FactorReset {
                requested_at: row.get("requested_at"),
                ready_at: row.get("ready_at"),
                expires_at: row.get("expires_at"),
            }))
        })
    }

    /// Cancels the account's reset; whether one was waiting.
    pub async fn cancel_factor_reset(&self, account_id: i64) -> Result<bool, Error> {
        crate::engines::on_db!(self, |pool| {
            let done =
                sqlx::query("DELETE FROM factor_resets WHERE account_id = $1").bind(account_id).execute(pool).await?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// Checks a reset code at `now`; the right one, once ready, removes every second factor and
    /// recovery code of the account with the reset, in one transaction.
    pub async fn finish_factor_reset(&self, account_id: i64, code_hash: &[u8], now: i64) -> Result<ResetCheck, Error> {
        crate::engines::on_db!(self, |pool| {
            let mut transaction = engine::write(pool).await?;
            let Some(row) = sqlx::query(
                "SELECT code_hash, ready_at, tries FROM factor_resets WHERE account_id = $1 AND expires_at > $2",
            )
            .bind(account_id)
            .bind(now)
            .fetch_optional(&mut *transaction)
            .await?
            else {
                return Ok(ResetCheck::Nothing);
            };
            let ready_at: i64 = row.get("ready_at");
            if ready_at > now {
                return Ok(ResetCheck::NotReady { ready_at });
            }
            let stored: Vec<u8> = row.get("code_hash");
            let verdict = if stored.as_slice() == code_hash {
                for table in ["second_factors", "passkeys", "recovery_codes", "factor_resets"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE account_id = $1"))
                        .bind(account_id)
                        .execute(&mut *transaction)
                        .await?;
                }
                ResetCheck::Done
            } else {
                let tries = row.get::<i64, _>("tries") + 1;
                if tries >= RESET_TRIES {
                    sqlx::query("DELETE FROM factor_resets WHERE account_id = $1")
                        .bind(account_id)
                        .execute(&mut *transaction)
                        .await?;
                } else {
                    sqlx::query("UPDATE factor_resets SET tries = $2 WHERE account_id = $1")
                        .bind(account_id)
                        .bind(tries)
                        .execute(&mut *transaction)
                        .await?;
                }
                ResetCheck::Wrong { tries_left: RESET_TRIES - tries }
            };
            transaction.commit().await?;
            Ok(verdict)
        })
    }

    /// Forgets revoked cookies that would have expired by `now` and second-factor steps started
    /// before `pending_before`.
    pub async fn purge_security(&self, now: i64, pending_before: i64) -> Result<u64, Error> {
        crate::engines::on_db!(self, |pool| {
            let revoked = sqlx::query("DELETE FROM revoked_sessions WHERE until <= $1").bind(now).execute(pool).await?;
            let pending = sqlx::query("DELETE FROM pending_second_factors WHERE started_at < $1")
                .bind(pending_before)
                .execute(pool)
                .await?;
            let resets =
                sqlx::query("DELETE FROM factor_resets WHERE expires_at <= $1").bind(now).execute(pool).await?;
            Ok(revoked.rows_affected() + pending.rows_affected() + resets.rows_affected())
        })
    }
}
