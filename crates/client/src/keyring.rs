//! Keys of people on other servers, which the account's devices share: collected from the
//! Autocrypt header of mail the server took from the Internet, and used to encrypt mail to them.
//! The keyring is stored on the server sealed to the account's own key, so the server learns
//! neither whom the user writes to nor their keys; every write names the version it replaces,
//! and a write that lost a race with another device is read again and reapplied.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use plico_api::SealedKeyring;
use serde::{Deserialize, Serialize};

use crate::flows::{call_json, FlowError, Transport, UnlockedSession};

/// Where a key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    Autocrypt,
    Imported,
}

/// One correspondent's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutsideKey {
    /// Lowercase.
    pub address: String,
    /// The armored public certificate.
    pub cert: String,
    pub fingerprint: String,
    pub source: KeySource,
    /// The date of the message that carried it (Autocrypt), or of the import; Unix seconds.
    pub updated_at: i64,
}

/// The decrypted keyring.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyring {
    pub keys: Vec<OutsideKey>,
}

impl Keyring {
    pub fn find(&self, address: &str) -> Option<&OutsideKey> {
        self.keys.iter().find(|key| key.address.eq_ignore_ascii_case(address.trim()))
    }

    /// Adds or replaces `key`. An Autocrypt key replaces only an older Autocrypt key (by the
    /// date of the message that carried it) and never one the user imported. Returns whether
    /// anything changed.
    pub fn upsert(&mut self, key: OutsideKey) -> bool {
        match self.keys.iter_mut().find(|known| known.address == key.address) {
            None => {
                self.keys.push(key);
                true
            }
            Some(known) if known.fingerprint == key.fingerprint => {
                let newer = key.updated_at > known.updated_at && known.source == key.source;
                if newer {
                    known.updated_at = key.updated_at;
                }
                newer
            }
            Some(known) => {
                let replaces = match (known.source, key.source) {
                    (KeySource::Imported, KeySource::Autocrypt) => false,
                    (KeySource::Autocrypt, KeySource::Autocrypt) => key.updated_at > known.updated_at,
                    (_, KeySource::Imported) => true,
                };
                if replaces {
                    *known = key;
                }
                replaces
            }
        }
    }
}

fn crypto(error: impl std::fmt::Display) -> FlowError {
    FlowError::Crypto(error.to_string())
}

/// Reads the keyring and its version.
pub async fn load<T: Transport>(transport: &T, session: &UnlockedSession) -> Result<(Keyring, i64), FlowError> {
    let stored: SealedKeyring = call_json::<T, (), _>(transport, "GET", "/account/keyring", None).await?;
    let keyring = match stored.sealed {
        None => Keyring::default(),
        Some(sealed) => {
            let bytes = BASE64.decode(sealed).map_err(crypto)?;
            let opened = plico_pgp::decrypt_and_verify(&bytes, &session.secret_key, &[]).map_err(crypto)?;
            serde_json::from_slice(&opened.plaintext).map_err(|e| FlowError::Protocol(e.to_string()))?
        }
    };
    Ok((keyring, stored.version))
}

/// Applies `change` to the keyring and stores it when it changed; reads again and reapplies
/// when another device wrote in between.
pub async fn update<T: Transport>(
    transport: &T,
    session: &UnlockedSession,
    change: impl Fn(&mut Keyring) -> bool,
) -> Result<bool, FlowError> {
    let own = plico_pgp::parse_cert(session.account.public_cert.as_bytes()).map_err(crypto)?;
    for _ in 0..3 {
        let (mut keyring, version) = load(transport, session).await?;
        if !change(&mut keyring) {
            return Ok(false);
        }
        let json = serde_json::to_vec(&keyring).map_err(|e| FlowError::Protocol(e.to_string()))?;
        let sealed = plico_pgp::encrypt_to(&json, std::slice::from_ref(&own)).map_err(crypto)?;
        let write = SealedKeyring { sealed: Some(BASE64.encode(sealed)), version };
        match call_json::<T, _, SealedKeyring>(transport, "PUT", "/account/keyring", Some(&write)).await {
            Ok(_) => return Ok(true),
            Err(FlowError::Api { status: 409, .. }) => continue,
            Err(error) => return Err(error),
        }
    }
    Err(FlowError::Protocol("The keyring kept changing on another device; try again.".into()))
}

/// The key an Autocrypt header carries for `from`, when it is a usable key for that address.
pub fn autocrypt_key(from: &str, header: &plico_mime::AutocryptKey, date: i64) -> Option<OutsideKey> {
    if !header.address.trim().eq_ignore_ascii_case(from.trim()) {
        return None;
    }
    let cert = plico_pgp::parse_cert(&header.keydata).ok()?;
    let fingerprint = plico_pgp::fingerprint_hex(&cert);
    // Usable: it must encrypt (the keyring exists for that).
    plico_pgp::encrypt_to(b"probe", std::slice::from_ref(&cert)).ok()?;
    let armored = plico_pgp::armor_public_cert(&cert).ok()?;
    Some(OutsideKey {
        address: from.trim().to_ascii_lowercase(),
        cert: armored,
        fingerprint,
        source: KeySource::Autocrypt,
        updated_at: date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(fingerprint: &str, source: KeySource, at: i64) -> OutsideKey {
        OutsideKey {
            address: "dana@example.org".into(),
            cert: String::new(),
            fingerprint: fingerprint.into(),
            source,
            updated_at: at,
        }
    }

    #[test]
    fn newer_autocrypt_keys_replace_older_ones_but_never_an_imported_key() {
        let mut keyring = Keyring::default();
        assert!(keyring.upsert(key("A", KeySource::Autocrypt, 10)));
        assert!(!keyring.upsert(key("A", KeySource::Autocrypt, 10)), "nothing new");
        assert!(!keyring.upsert(key("B", KeySource::Autocrypt, 5)), "an older message does not win");
        assert!(keyring.upsert(key("B", KeySource::Autocrypt, 20)));
        assert_eq!(keyring.find("DANA@example.org").map(|k| k.fingerprint.as_str()), Some("B"));
        assert!(keyring.upsert(key("C", KeySource::Imported, 1)), "the user's import wins");
        assert!(!keyring.upsert(key("D", KeySource::Autocrypt, 99)), "and stays");
        assert_eq!(keyring.keys.len(), 1);
        assert_eq!(keyring.find("dana@example.org").map(|k| k.fingerprint.as_str()), Some("C"));
    }
}
