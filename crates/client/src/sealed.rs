//! A JSON document the account's devices share through the server, sealed to the account's own
//! key (the keyring, the consent receipts): the server sees neither its content nor its size
//! beyond the ciphertext's. Every write names the version it replaces; a write that lost a race
//! with another device is read again and reapplied.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::flows::{call_json, FlowError, Transport, UnlockedSession};

/// The wire shape of every sealed document (`SealedKeyring`, `SealedConsent`).
#[derive(Serialize, Deserialize)]
struct Sealed {
    sealed: Option<String>,
    version: i64,
}

fn crypto(error: impl std::fmt::Display) -> FlowError {
    FlowError::Crypto(error.to_string())
}

/// Reads the document at `path` and its version; the default before the first write.
pub async fn load<T: Transport, D: DeserializeOwned + Default>(
    transport: &T,
    session: &UnlockedSession,
    path: &str,
) -> Result<(D, i64), FlowError> {
    let stored: Sealed = call_json::<T, (), _>(transport, "GET", path, None).await?;
    let document = match stored.sealed {
        None => D::default(),
        Some(sealed) => {
            let bytes = BASE64.decode(sealed).map_err(crypto)?;
            let opened = plico_pgp::decrypt_and_verify(&bytes, &session.secret_key, &[]).map_err(crypto)?;
            serde_json::from_slice(&opened.plaintext).map_err(|e| FlowError::Protocol(e.to_string()))?
        }
    };
    Ok((document, stored.version))
}

/// Applies `change` to the document (`what` names it in the error) and stores it when `change` says it changed; reads again
/// and reapplies when another device wrote in between. Returns the document and whether it
/// changed.
pub async fn update<T: Transport, D: Serialize + DeserializeOwned + Default>(
    transport: &T,
    session: &UnlockedSession,
    path: &str,
    what: &str,
    change: impl Fn(&mut D) -> bool,
) -> Result<(D, bool), FlowError> {
    let own = plico_pgp::parse_cert(session.account.public_cert.as_bytes()).map_err(crypto)?;
    for _ in 0..3 {
        let (mut document, version) = load::<T, D>(transport, session, path).await?;
        if !change(&mut document) {
            return Ok((document, false));
        }
        let json = serde_json::to_vec(&document).map_err(|e| FlowError::Protocol(e.to_string()))?;
        let sealed = plico_pgp::encrypt_to(&json, std::slice::from_ref(&own)).map_err(crypto)?;
        let write = Sealed { sealed: Some(BASE64.encode(sealed)), version };
        match call_json::<T, _, Sealed>(transport, "PUT", path, Some(&write)).await {
            Ok(_) => return Ok((document, true)),
            Err(FlowError::Api { status: 409, .. }) => continue,
            Err(error) => return Err(error),
        }
    }
    Err(FlowError::Protocol(format!("{what} kept changing on another device; try again.")))
}
