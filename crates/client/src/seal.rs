//! Sealing the OpenPGP secret key under OPAQUE's export key, so one password unlocks both.
//!
//! The sealing key is HKDF-SHA256 of the export key; the cipher is XChaCha20-Poly1305 with a
//! random 24-byte nonce, and the account's address is bound in as associated data, so a sealed
//! key cannot be swapped between accounts. Layout: `version (1) || nonce (24) || ciphertext`.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use hkdf::Hkdf;
use sha2::Sha256;

const SEAL_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const HKDF_INFO: &[u8] = b"plico/v1/secret-key-seal";

/// Why a sealed key did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the sealed key is truncated")]
    Truncated,
    #[error("the sealed key has unknown version {0}")]
    UnknownVersion(u8),
    #[error("the sealed key does not open with this password")]
    WrongKey,
    #[error("sealing failed")]
    Seal,
}

fn cipher(export_key: &[u8]) -> XChaCha20Poly1305 {
    let hkdf = Hkdf::<Sha256>::new(None, export_key);
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit of 255 * 32, so expand cannot fail.
    if hkdf.expand(HKDF_INFO, &mut key).is_err() {
        unreachable!("HKDF-SHA256 can always expand to 32 bytes");
    }
    XChaCha20Poly1305::new(&key.into())
}

/// Seals `secret_key` for `address` under `export_key`.
pub fn seal_secret_key(export_key: &[u8], address: &str, secret_key: &[u8]) -> Result<Vec<u8>, SealError> {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ciphertext = cipher(export_key)
        .encrypt(&nonce, Payload { msg: secret_key, aad: address.as_bytes() })
        .map_err(|_| SealError::Seal)?;
    let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    sealed.push(SEAL_VERSION);
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ciphertext);
    Ok(sealed)
}

/// Opens a sealed secret key. Fails on a wrong export key, another address, or any tampering.
pub fn open_secret_key(export_key: &[u8], address: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    let (&version, rest) = sealed.split_first().ok_or(SealError::Truncated)?;
    if version != SEAL_VERSION {
        return Err(SealError::UnknownVersion(version));
    }
    if rest.len() < NONCE_LEN + 16 {
        return Err(SealError::Truncated);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    cipher(export_key)
        .decrypt(nonce.into(), Payload { msg: ciphertext, aad: address.as_bytes() })
        .map_err(|_| SealError::WrongKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens() {
        let sealed = seal_secret_key(&[7; 64], "alice@plico.test", b"secret key bytes").expect("seals");
        assert_eq!(open_secret_key(&[7; 64], "alice@plico.test", &sealed).expect("opens"), b"secret key bytes");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
    }

    #[test]
    fn wrong_key_other_address_tampering_and_truncation_fail() {
        let sealed = seal_secret_key(&[7; 64], "alice@plico.test", b"secret key bytes").expect("seals");
        assert_eq!(open_secret_key(&[8; 64], "alice@plico.test", &sealed), Err(SealError::WrongKey));
        assert_eq!(open_secret_key(&[7; 64], "bob@plico.test", &sealed), Err(SealError::WrongKey));
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(open_secret_key(&[7; 64], "alice@plico.test", &tampered), Err(SealError::WrongKey));
        assert_eq!(open_secret_key(&[7; 64], "alice@plico.test", &sealed[..10]), Err(SealError::Truncated));
        assert_eq!(open_secret_key(&[7; 64], "alice@plico.test", &[]), Err(SealError::Truncated));
        assert_eq!(open_secret_key(&[7; 64], "alice@plico.test", &[9, 0, 0]), Err(SealError::UnknownVersion(9)));
    }
}
