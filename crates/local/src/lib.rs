//! The device's encrypted store: what Plico keeps in the browser between visits.
//!
//! Every record is sealed with XChaCha20-Poly1305 under a [`LocalKey`], which is derived (HKDF-
//! SHA256) from the user's secret key material and the account's address, so only the unlocked
//! worker can read it and nothing readable is on disk. A record's name is a keyed hash too
//! ([`LocalKey::name`]): the database shows neither words nor which account a record belongs to,
//! and a sealed record names itself in its associated data, so records cannot be swapped.
//!
//! The records live in IndexedDB ([`idb`], in the browser only).
//!
//! Architecture Invariant: nothing plaintext is written to IndexedDB. Everything goes through
//! [`LocalKey::seal`].

#[cfg(target_arch = "wasm32")]
pub mod idb;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use hkdf::Hkdf;
use sha2::Sha256;

/// The version byte that starts every sealed record.
const RECORD_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Why a record did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("the local record is truncated")]
    Truncated,
    #[error("the local record has unknown version {0}")]
    UnknownVersion(u8),
    #[error("the local record does not open with this key (another account, or tampered)")]
    WrongKey,
}

/// The keys of one account's local records.
#[derive(Clone)]
pub struct LocalKey {
    seal: XChaCha20Poly1305,
    names: Hkdf<Sha256>,
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalKey(..)")
    }
}

fn expand(hkdf: &Hkdf<Sha256>, info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit of 255 * 32, so expand cannot fail.
    if hkdf.expand(info, &mut out).is_err() {
        unreachable!("HKDF-SHA256 can always expand to 32 bytes");
    }
    out
}

impl LocalKey {
    /// Derives the local keys from `secret` (the user's secret key material) for `account`.
    /// The same secret and account give the same key on every visit and every device.
    pub fn derive(secret: &[u8], account: &str) -> LocalKey {
        let root = Hkdf::<Sha256>::new(Some(b"plico/v1/local"), secret);
        let mut info = b"plico/v1/local/seal/".to_vec();
        info.extend_from_slice(account.as_bytes());
        let seal_key = expand(&root, &info);
        let mut info = b"plico/v1/local/names/".to_vec();
        info.extend_from_slice(account.as_bytes());
        let names_key = expand(&root, &info);
        LocalKey {
            seal: XChaCha20Poly1305::new(&seal_key.into()),
            names: Hkdf::<Sha256>::from_prk(&names_key)
                .unwrap_or_else(|_| unreachable!("a 32-byte PRK is long enough")),
        }
    }

    /// The stored name of record `record`: 32 hex digits that reveal neither the record nor
    /// the account.
    pub fn name(&self, record: &str) -> String {
        let mut info = b"record/".to_vec();
        info.extend_from_slice(record.as_bytes());
        expand(&self.names, &info)[..16].iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// A 32-byte secret for another store of this account (the search index), derived from
    /// this key and `purpose`: handed to the worker that keeps that store, it opens nothing
    /// of this one.
    pub fn subkey(&self, purpose: &str) -> [u8; 32] {
        let mut info = b"subkey/".to_vec();
        info.extend_from_slice(purpose.as_bytes());
        expand(&self.names, &info)
    }

    /// Seals `plaintext` as record `record`. Layout: `version (1) || nonce (24) || ciphertext`.
    pub fn seal(&self, record: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .seal
            .encrypt(&nonce, Payload { msg: plaintext, aad: record.as_bytes() })
            // XChaCha20-Poly1305 fails only past 256 GiB per message.
            .unwrap_or_else(|_| unreachable!("a local record is far below the AEAD's limit"));
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(RECORD_VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    /// Opens record `record`. Fails on another key, another record's bytes, or any tampering.
    pub fn open(&self, record: &str, sealed: &[u8]) -> Result<Vec<u8>, RecordError> {
        let (&version, rest) = sealed.split_first().ok_or(RecordError::Truncated)?;
        if version != RECORD_VERSION {
            return Err(RecordError::UnknownVersion(version));
        }
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Err(RecordError::Truncated);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        self.seal
            .decrypt(nonce.into(), Payload { msg: ciphertext, aad: record.as_bytes() })
            .map_err(|_| RecordError::WrongKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_hide_their_contents_and_names() {
        let key = LocalKey::derive(&[7; 32], "alice@plico.test");
        let sealed = key.seal("mailbox/state", b"Quarterly figures from Alice");
        assert_eq!(key.open("mailbox/state", &sealed).expect("opens"), b"Quarterly figures from Alice");
        assert!(!sealed.windows(9).any(|w| w == b"Quarterly"));
        let name = key.name("mailbox/state");
        assert_eq!(name.len(), 32);
        assert!(!name.contains("mailbox") && !name.contains("alice"));
        assert_eq!(name, LocalKey::derive(&[7; 32], "alice@plico.test").name("mailbox/state"), "stable");
        assert_ne!(name, key.name("mailbox/head"));
        assert_ne!(name, LocalKey::derive(&[7; 32], "bob@plico.test").name("mailbox/state"), "per account");
    }

    #[test]
    fn subkeys_are_stable_and_open_nothing_of_their_parent() {
        let key = LocalKey::derive(&[7; 32], "alice@plico.test");
        let search = key.subkey("search");
        assert_eq!(search, LocalKey::derive(&[7; 32], "alice@plico.test").subkey("search"));
        assert_ne!(search, key.subkey("other"));
        let child = LocalKey::derive(&search, "alice@plico.test");
        let sealed = key.seal("a", b"payload");
        assert_eq!(child.open("a", &sealed), Err(RecordError::WrongKey));
        assert_ne!(child.name("a"), key.name("a"));
    }

    #[test]
    fn another_key_another_record_tampering_and_truncation_fail() {
        let key = LocalKey::derive(&[7; 32], "alice@plico.test");
        let sealed = key.seal("a", b"payload");
        assert_eq!(LocalKey::derive(&[8; 32], "alice@plico.test").open("a", &sealed), Err(RecordError::WrongKey));
        assert_eq!(LocalKey::derive(&[7; 32], "bob@plico.test").open("a", &sealed), Err(RecordError::WrongKey));
        assert_eq!(key.open("b", &sealed), Err(RecordError::WrongKey), "bound to its record");
        let mut tampered = sealed.clone();
        tampered[30] ^= 1;
        assert_eq!(key.open("a", &tampered), Err(RecordError::WrongKey));
        assert_eq!(key.open("a", &sealed[..20]), Err(RecordError::Truncated));
        assert_eq!(key.open("a", &[]), Err(RecordError::Truncated));
        assert_eq!(key.open("a", &[2, 0]), Err(RecordError::UnknownVersion(2)));
    }
}
