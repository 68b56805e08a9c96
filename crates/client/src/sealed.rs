//! A JSON document the account's devices share through the server, sealed to the account's own
//! key (the keyring, the consent receipts): the server sees neither its content nor its size
//! beyond the ciphertext's. Every write names the version it replaces; a write that lost a race
//! with another device is read again and reapplied.
//!
//! Whoever can write the server's database can also encrypt to the account's public key, so
//! encryption alone proves nothing about who wrote a document. Each document is therefore signed
//! by the account's own key, with the version it becomes inside the signature, and opened only
//! when that signature checks out and names the version the server gives. A version lower than
//! one this device has seen is a rollback and is refused ([`Transport::seen_version`]).
//!
//! Documents written before they were signed (Plico before issue 20) are read once, on a device
//! that has never seen a signed version of them, and written back signed at once.

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

/// What is signed and encrypted: `plico-sealed <version>\n` and the document's JSON. A line of
/// its own rather than a JSON wrapper, so the worker carries no wrapper code per document type.
const SIGNED_PREFIX: &str = "plico-sealed ";

fn signed_plaintext(version: i64, json: &[u8]) -> Vec<u8> {
    let mut plaintext = format!("{SIGNED_PREFIX}{version}\n").into_bytes();
    plaintext.extend_from_slice(json);
    plaintext
}

/// The version and the JSON of a signed plaintext.
fn parse_signed(plaintext: &[u8]) -> Option<(i64, &[u8])> {
    let rest = plaintext.strip_prefix(SIGNED_PREFIX.as_bytes())?;
    let end = rest.iter().position(|&byte| byte == b'\n')?;
    let version = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
    Some((version, &rest[end + 1..]))
}

/// The most a sealed document may decrypt to: the server keeps at most 4 MiB of ciphertext.
const MAX_DOCUMENT_PLAINTEXT: usize = 16 << 20;

fn crypto(error: impl std::fmt::Display) -> FlowError {
    FlowError::Crypto(error.to_string())
}

/// A document as read, and how it was sealed.
struct Opened<D> {
    document: D,
    version: i64,
    /// Written before documents were signed: to be written back signed.
    legacy: bool,
}

/// The account's own certificate: the unlocked secret key itself (it encrypts and verifies as
/// its public part would), never the copy the server hands out.
fn own_cert(session: &UnlockedSession) -> plico_pgp::Certificate {
    session.secret_key.clone()
}

async fn read<T: Transport, D: DeserializeOwned + Default>(
    transport: &T,
    session: &UnlockedSession,
    path: &str,
    what: &str,
) -> Result<Opened<D>, FlowError> {
    let stored: Sealed = call_json::<T, (), _>(transport, "GET", path, None).await?;
    let seen = transport.seen_version(path).await;
    let forged = |why: &str| {
        FlowError::Protocol(format!(
            "{what} on the server {why}. Someone other than you changed it; Plico will not use it."
        ))
    };
    if stored.version < seen {
        return Err(forged(&format!(
            "is older (version {}) than one this device has already read (version {seen})",
            stored.version
        )));
    }
    let opened = match stored.sealed {
        None if seen > 0 => return Err(forged("is gone, though this device has read it before")),
        None => Opened { document: D::default(), version: stored.version, legacy: false },
        Some(sealed) => {
            let bytes = BASE64.decode(sealed).map_err(crypto)?;
            // Any key of the account's keyring: what an older key sealed stays its own.
            let opened =
                plico_pgp::decrypt_with_keys(&bytes, &session.keyring, &session.keyring, MAX_DOCUMENT_PLAINTEXT)
                    .map_err(crypto)?;
            match opened.signature {
                plico_pgp::SignatureStatus::Valid { signer } if session.is_own(&signer) => {
                    let (version, json) = parse_signed(&opened.plaintext)
                        .ok_or_else(|| FlowError::Protocol("a signed document without its version".into()))?;
                    if version != stored.version {
                        return Err(forged(&format!(
                            "was signed as version {version} but is served as version {}",
                            stored.version
                        )));
                    }
                    let document = serde_json::from_slice(json).map_err(|e| FlowError::Protocol(e.to_string()))?;
                    Opened { document, version: stored.version, legacy: false }
                }
                plico_pgp::SignatureStatus::Unsigned if seen == 0 => {
                    let document =
                        serde_json::from_slice(&opened.plaintext).map_err(|e| FlowError::Protocol(e.to_string()))?;
                    Opened { document, version: stored.version, legacy: true }
                }
                _ => return Err(forged("is not signed by your key")),
            }
        }
    };
    transport.saw_version(path, opened.version).await;
    Ok(opened)
}

/// Signs, encrypts and stores `document` over `version`; the new version, or `None` when another
/// device wrote first.
async fn write<T: Transport, D: Serialize>(
    transport: &T,
    session: &UnlockedSession,
    path: &str,
    document: &D,
    version: i64,
) -> Result<Option<i64>, FlowError> {
    let json = serde_json::to_vec(document).map_err(|e| FlowError::Protocol(e.to_string()))?;
    let own = own_cert(session);
    let plaintext = signed_plaintext(version + 1, &json);
    let sealed =
        plico_pgp::encrypt_and_sign(&plaintext, std::slice::from_ref(&own), &session.secret_key).map_err(crypto)?;
    let write = Sealed { sealed: Some(BASE64.encode(sealed)), version };
    match call_json::<T, _, Sealed>(transport, "PUT", path, Some(&write)).await {
        Ok(stored) => {
            transport.saw_version(path, stored.version).await;
            Ok(Some(stored.version))
        }
        Err(FlowError::Api { status: 409, .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// Reads the document at `path` (`what` names it in errors) and its version; the default before
/// the first write. A document written before documents were signed is written back signed.
pub async fn load<T: Transport, D: Serialize + DeserializeOwned + Default>(
    transport: &T,
    session: &UnlockedSession,
    path: &str,
    what: &str,
) -> Result<(D, i64), FlowError> {
    let opened = read::<T, D>(transport, session, path, what).await?;
    if opened.legacy {
        // Losing the race means another device migrated it already.
        if let Some(version) = write(transport, session, path, &opened.document, opened.version).await? {
            return Ok((opened.document, version));
        }
        let again = read::<T, D>(transport, session, path, what).await?;
        return Ok((again.document, again.version));
    }
    Ok((opened.document, opened.version))
}

/// Applies `change` to the document (`what` names it in the error) and stores it when `change`
/// says it changed; reads again and reapplies when another device wrote in between. Returns the
/// document and whether it changed.
pub async fn update<T: Transport, D: Serialize + DeserializeOwned + Default>(
    transport: &T,
    session: &UnlockedSession,
    path: &str,
    what: &str,
    change: impl Fn(&mut D) -> bool,
) -> Result<(D, bool), FlowError> {
    for _ in 0..3 {
        let (mut document, version) = load::<T, D>(transport, session, path, what).await?;
        if !change(&mut document) {
            return Ok((document, false));
        }
        if write(transport, session, path, &document, version).await?.is_some() {
            return Ok((document, true));
        }
    }
    Err(FlowError::Protocol(format!("{what} kept changing on another device; try again.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_rides_in_front_of_the_document() {
        let plaintext = signed_plaintext(7, br#"{"keys":[]}"#);
        assert_eq!(plaintext, b"plico-sealed 7\n{\"keys\":[]}");
        assert_eq!(parse_signed(&plaintext), Some((7, &br#"{"keys":[]}"#[..])));
        assert_eq!(parse_signed(br#"{"keys":[]}"#), None, "an unsigned document from before");
        assert_eq!(parse_signed(b"plico-sealed x\n{}"), None);
    }
}
