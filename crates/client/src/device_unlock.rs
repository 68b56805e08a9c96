//! A device's own way in, for when the server cannot be reached: "keep this device usable
//! offline" at sign-in.
//!
//! Signing in needs the server (OPAQUE), and the secret key is sealed under OPAQUE's export key,
//! which only a run of OPAQUE gives. So a device the user chose to keep keeps a record of its
//! own: the account as the server last answered it (address, certificate, the sealed secret key)
//! and the export key, sealed under Argon2id of the password with a salt of this record's own
//! (Plico's OPAQUE parameters: 64 MiB, three passes). Offline, the password opens the export
//! key, the export key the secret key, and the secret key must match the account's fingerprint.
//!
//! What it costs: a stolen device's record can be attacked offline, one Argon2id per guess,
//! as a stolen password file could be without OPAQUE. That is why it is the user's choice, made
//! per sign-in, and why forgetting the device deletes it.
//!
//! Architecture Invariant: the record holds nothing the server does not already hold but the
//! export key, and that only sealed under the password.

use plico_api::Account;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::flows::{unlock_account, FlowError, UnlockedSession};
use crate::seal::{open_secret_key, seal_secret_key, SealError};

/// Bumped when the record's layout changes; an old record is ignored (sign in online once).
const FORMAT: u8 = 1;
const SALT_LEN: usize = 16;

/// The record as stored: only the format and the salt are in the clear.
#[derive(Serialize, Deserialize)]
struct Record {
    format: u8,
    salt: [u8; SALT_LEN],
    /// [`Inside`], sealed with [`seal_secret_key`] under the stretched password, bound to the
    /// account's name.
    sealed: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Inside {
    account: Account,
    export_key: Vec<u8>,
}

/// The account's name as the record knows it: the local part, lowercase. One origin is one
/// server, so it is unique there, and the user may type it without the domain.
fn local_part(address: &str) -> String {
    address.trim().split('@').next().unwrap_or_default().to_ascii_lowercase()
}

/// The name of the record for `address` in the device's store: a hash, so the store does not
/// list who signed in on this device.
pub fn record_name(address: &str) -> String {
    let digest = Sha256::digest(format!("plico/device-unlock/{}", local_part(address)).as_bytes());
    let hex: String = digest[..16].iter().map(|byte| format!("{byte:02x}")).collect();
    format!("device-unlock/{hex}")
}

/// Makes the record for a sign-in that just succeeded: one Argon2id.
pub fn record(password: &str, export_key: &[u8], account: &Account) -> Result<Vec<u8>, FlowError> {
    let mut salt = [0u8; SALT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let key = plico_opaque::stretch_password(password.as_bytes(), &salt)?;
    let inside = Inside { account: account.clone(), export_key: export_key.to_vec() };
    let plain = postcard::to_allocvec(&inside).map_err(|error| FlowError::Protocol(error.to_string()))?;
    let sealed = seal_secret_key(&key, &local_part(&account.address), &plain)
        .map_err(|error| FlowError::Crypto(error.to_string()))?;
    postcard::to_allocvec(&Record { format: FORMAT, salt, sealed })
        .map_err(|error| FlowError::Protocol(error.to_string()))
}

/// Unlocks from the device's record without the server. A wrong password (or a record kept for
/// another name) is [`FlowError::InvalidLogin`], as online; a record that does not read asks
/// for the network.
pub fn unlock(address: &str, password: &str, record: &[u8]) -> Result<UnlockedSession, FlowError> {
    let unreadable = || {
        FlowError::Invalid("This device's offline sign-in could not be read. Sign in once with a connection.".into())
    };
    let record: Record = postcard::from_bytes(record).map_err(|_| unreadable())?;
    if record.format != FORMAT {
        return Err(unreadable());
    }
    let key = plico_opaque::stretch_password(password.as_bytes(), &record.salt)?;
    let plain = match open_secret_key(&key, &local_part(address), &record.sealed) {
        Ok(plain) => plain,
        Err(SealError::WrongKey) => return Err(FlowError::InvalidLogin),
        Err(_) => return Err(unreadable()),
    };
    let inside: Inside = postcard::from_bytes(&plain).map_err(|_| unreadable())?;
    if local_part(&inside.account.address) != local_part(address) {
        return Err(FlowError::InvalidLogin);
    }
    unlock_account(inside.account, &inside.export_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn account_and_export_key() -> (Account, Vec<u8>) {
        let generated = plico_pgp::generate_cert("alice@plico.test").expect("cert");
        let export_key = vec![42u8; 64];
        let sealed = seal_secret_key(&export_key, "alice@plico.test", &generated.secret_key).expect("seals");
        let secret = plico_pgp::parse_cert(&generated.secret_key).expect("parses");
        let account = Account {
            address: "alice@plico.test".into(),
            fingerprint: plico_pgp::fingerprint_hex(&secret),
            public_cert: generated.public_cert_armored,
            sealed_secret_key: base64::engine::general_purpose::STANDARD.encode(sealed),
            created_at: 1_700_000_000,
            mail_analysis: false,
        };
        (account, export_key)
    }

    #[test]
    fn the_password_unlocks_offline_and_nothing_else_does() {
        let (account, export_key) = account_and_export_key();
        let kept = record("a long passphrase", &export_key, &account).expect("record");
        let unlocked = unlock("Alice", "a long passphrase", &kept).expect("unlocks by the name alone");
        assert_eq!(unlocked.account, account);
        assert_eq!(plico_pgp::fingerprint_hex(&unlocked.secret_key), account.fingerprint);
        assert!(unlock("alice@plico.test", "a long passphrase", &kept).is_ok());

        assert!(matches!(unlock("alice@plico.test", "a long passphrasf", &kept), Err(FlowError::InvalidLogin)));
        assert!(matches!(unlock("bob@plico.test", "a long passphrase", &kept), Err(FlowError::InvalidLogin)));
        // Neither the export key nor the address is there in the clear, and the salt is the
        // record's own.
        assert!(!kept.windows(export_key.len()).any(|window| window == export_key.as_slice()));
        assert!(!kept.windows(5).any(|window| window == b"alice"));
        assert_ne!(kept, record("a long passphrase", &export_key, &account).expect("record"));
    }

    #[test]
    fn a_damaged_or_foreign_record_asks_for_the_network() {
        let (account, export_key) = account_and_export_key();
        let kept = record("a long passphrase", &export_key, &account).expect("record");
        for damaged in [Vec::new(), kept[..kept.len() / 2].to_vec(), {
            let mut other = kept.clone();
            other[0] = FORMAT + 1;
            other
        }] {
            assert!(matches!(unlock("alice", "a long passphrase", &damaged), Err(FlowError::Invalid(_))));
        }
        // A record whose account's key does not match its fingerprint is refused.
        let mut forged = account.clone();
        forged.fingerprint = "0".repeat(40);
        let kept = record("a long passphrase", &export_key, &forged).expect("record");
        assert!(matches!(unlock("alice", "a long passphrase", &kept), Err(FlowError::Crypto(_))));
        assert_eq!(record_name(" Alice@Plico.test "), record_name("alice"));
        assert_ne!(record_name("alice"), record_name("bob"));
        assert!(!record_name("alice").contains("alice"));
    }
}
