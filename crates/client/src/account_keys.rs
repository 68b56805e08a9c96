//! The account's own keys (run in the keys worker): a new primary key (a post-quantum key kept
//! beside the classical one, a rotation, or a key imported from elsewhere) with the keyring
//! sealed anew under the export key a fresh proof of the password brings, and the revocation of
//! a key that is no longer primary. The server checks the certificates; what it stores of the
//! secrets is the sealed keyring it cannot open.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use plico_api::security::{AccountKeyState, AccountKeys, KeyRevocation, NewPrimaryKey};
use plico_pgp::Certificate;

use crate::flows::{post, reauthenticated_export_key};
use crate::seal::seal_secret_key;
use crate::{FlowError, Transport, UnlockedSession};

fn crypto(error: impl std::fmt::Display) -> FlowError {
    FlowError::Crypto(error.to_string())
}

/// What a new primary key leaves: the session with it (the keyring grown), the export key (for
/// this device's own way in offline) and the account's keys as the server lists them.
pub struct NewPrimary {
    pub session: UnlockedSession,
    pub export_key: Vec<u8>,
    pub keys: AccountKeys,
}

/// Makes `key` (with its secrets) the account's primary key after proving `password` again.
/// The key that was primary goes where `previous` says: `Published` (served beside the new
/// one, as the classical key next to a post-quantum one) or `Retired` (a rotation); either way
/// its secret stays in the keyring, so mail sent to it stays readable.
pub async fn add_primary_key<T: Transport>(
    transport: &T,
    session: &UnlockedSession,
    password: &str,
    key: Certificate,
    previous: AccountKeyState,
) -> Result<NewPrimary, FlowError> {
    let address = session.account.address.clone();
    let export_key = reauthenticated_export_key(transport, &address, password).await?;
    let mut keyring = Vec::with_capacity(session.keyring.len() + 1);
    keyring.push(key);
    keyring.extend(session.keyring.iter().cloned());
    let secret = plico_pgp::keyring_bytes(&keyring).map_err(crypto)?;
    let sealed = BASE64.encode(seal_secret_key(&export_key, &address, &secret).map_err(crypto)?);
    let public_cert = plico_pgp::armor_public_cert(&keyring[0]).map_err(crypto)?;
    let request = NewPrimaryKey { public_cert: public_cert.clone(), sealed_secret_key: sealed.clone(), previous };
    let keys: AccountKeys = post(transport, "/account/keys", &request).await?;
    let mut account = session.account.clone();
    account.fingerprint = plico_pgp::fingerprint_hex(&keyring[0]);
    account.public_cert = public_cert;
    account.sealed_secret_key = sealed;
    Ok(NewPrimary { session: UnlockedSession::new(account, keyring), export_key, keys })
}

/// Revokes the account's key `fingerprint` (not the primary) for `reason`, after proving
/// `password` again: the revocation is signed here with the key itself and published by WKD.
pub async fn revoke_key<T: Transport>(
    transport: &T,
    session: &UnlockedSession,
    password: &str,
    fingerprint: &str,
    reason: plico_pgp::RevocationReason,
    text: &str,
) -> Result<AccountKeys, FlowError> {
    let key = session
        .keyring
        .iter()
        .find(|key| key.fingerprint().to_hex().eq_ignore_ascii_case(fingerprint))
        .ok_or_else(|| FlowError::Invalid(format!("This device does not hold the key {fingerprint}.")))?;
    reauthenticated_export_key(transport, &session.account.address, password).await?;
    let revoked = plico_pgp::revoke(key, reason, text).map_err(crypto)?;
    let revoked_cert = plico_pgp::armor_public_cert(&revoked).map_err(crypto)?;
    post(transport, &format!("/account/keys/{}/revoke", key.fingerprint().to_hex()), &KeyRevocation { revoked_cert })
        .await
}
