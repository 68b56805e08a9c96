//! Keys of the account's correspondents, which its devices share: the key of each Plico user and
//! each outside address the account wrote to, kept the first time it was used (Plico's
//! directory, or the recipient's domain through WKD), keys collected from the Autocrypt header of
//! mail the server took from the Internet, and keys the user imported or chose. A kept key is
//! what mail is encrypted to and signatures are checked with: a key the directory or the network
//! offers later in its place is refused until the user chooses it.
//! The keyring is stored on the server sealed to the account's own key, so the server learns
//! neither whom the user writes to nor their keys; every write names the version it replaces,
//! and a write that lost a race with another device is read again and reapplied.

use serde::{Deserialize, Serialize};

use crate::flows::{FlowError, Transport, UnlockedSession};

/// Where a key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    Autocrypt,
    Imported,
    /// Plico's key directory, kept the first time the account wrote to the address.
    Directory,
    /// The recipient's domain's key directory (WKD, asked through the server), kept the first
    /// time the account wrote to the address.
    Wkd,
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
    /// The user compared its fingerprint with the correspondent's another way and said so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verified: bool,
    /// Fingerprints of keys Plico's directory later gave for the address that the user refused
    /// ("Keep the old key"): mail to the address stays encrypted to this key, and only another
    /// new key is said again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
}

/// The decrypted keyring.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyring {
    pub keys: Vec<OutsideKey>,
    /// The account's item secret (base64 of 32 random bytes), made the first time an item is
    /// sealed ([`item_key`]). The keyring is encrypted to the account's key and signed by it, so
    /// the secret is the account's alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_secret: Option<String>,
}

impl Keyring {
    pub fn find(&self, address: &str) -> Option<&OutsideKey> {
        self.keys.iter().find(|key| key.address.eq_ignore_ascii_case(address.trim()))
    }

    /// Marks the key kept for `address` verified, if it is still the one with `fingerprint`
    /// (the one the user compared). Returns whether it was marked.
    pub fn verify(&mut self, address: &str, fingerprint: &str) -> bool {
        match self.keys.iter_mut().find(|key| key.address.eq_ignore_ascii_case(address.trim())) {
            Some(key) if key.fingerprint.eq_ignore_ascii_case(fingerprint) && !key.verified => {
                key.verified = true;
                true
            }
            _ => false,
        }
    }

    /// The user refused the key with `fingerprint` that Plico's directory now gives for `address`
    /// ("Keep the old key"): mail stays encrypted to the kept key, and that new key is not
    /// offered again.
    pub fn refuse(&mut self, address: &str, fingerprint: &str) {
        if let Some(key) = self.keys.iter_mut().find(|key| key.address.eq_ignore_ascii_case(address.trim())) {
            key.refused.push(fingerprint.to_owned());
        }
    }

    /// Adds or replaces `key`. Only a key the user imports or chooses replaces another: a
    /// correspondent's changed key is the user's to choose (the reader and the composer say it
    /// changed), since neither Autocrypt nor a directory the server answers for authenticates
    /// it. Returns whether anything changed.
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
                let replaces = key.source == KeySource::Imported;
                if replaces {
                    *known = key;
                }
                replaces
            }
        }
    }
}

/// Reads the keyring and its version.
pub async fn load<T: Transport>(transport: &T, session: &UnlockedSession) -> Result<(Keyring, i64), FlowError> {
    crate::sealed::load(transport, session, "/account/keyring", "The keyring").await
}

/// Applies `change` to the keyring and stores it when it changed (see [`crate::sealed::update`]);
/// returns the keyring as stored and whether it changed. (`change` is a `dyn`: every caller
/// shares one copy of the read-change-write code, which the browser's worker pays for in size.)
pub async fn update<T: Transport>(
    transport: &T,
    session: &UnlockedSession,
    change: &dyn Fn(&mut Keyring) -> bool,
) -> Result<(Keyring, bool), FlowError> {
    crate::sealed::update(transport, session, "/account/keyring", "The keyring", change).await
}

/// The key the account's items are sealed with ([`crate::items`]): the keyring's item secret,
/// made and stored on first use. Two devices making it at once both end with the one stored
/// first (the keyring's versioned write).
pub async fn item_key<T: Transport>(
    transport: &T,
    session: &UnlockedSession,
) -> Result<crate::items::ItemKey, FlowError> {
    Ok(crate::items::ItemKey::new(&item_secret(transport, session).await?, &session.account.address))
}

/// The item secret [`item_key`] derives the key from, for a worker that seals items itself
/// (the contacts worker).
pub async fn item_secret<T: Transport>(transport: &T, session: &UnlockedSession) -> Result<Vec<u8>, FlowError> {
    use base64::Engine;
    let base64 = base64::engine::general_purpose::STANDARD;
    let made = {
        use rand::RngCore;
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        base64.encode(secret)
    };
    let (keyring, _) = update(transport, session, &|keyring| {
        if keyring.item_secret.is_some() {
            return false;
        }
        keyring.item_secret = Some(made.clone());
        true
    })
    .await?;
    let secret = keyring
        .item_secret
        .as_deref()
        .and_then(|secret| base64.decode(secret).ok())
        .filter(|secret| secret.len() == 32)
        .ok_or_else(|| FlowError::Crypto("The keyring's item key is damaged.".into()))?;
    Ok(secret)
}

/// `cert` as the key kept for `address` from `source`, at `at` (Unix seconds).
pub fn kept_key(
    address: &str,
    cert: &plico_pgp::Certificate,
    source: KeySource,
    at: i64,
) -> Result<OutsideKey, FlowError> {
    Ok(OutsideKey {
        address: address.trim().to_ascii_lowercase(),
        cert: plico_pgp::armor_public_cert(cert).map_err(|error| FlowError::Crypto(error.to_string()))?,
        fingerprint: plico_pgp::fingerprint_hex(cert),
        source,
        updated_at: at,
        verified: false,
        refused: Vec::new(),
    })
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
        verified: false,
        refused: Vec::new(),
    })
}

/// The largest key the user may paste: certificates with many signatures run to some hundred KB.
pub const MAX_IMPORTED_KEY_BYTES: usize = 512 * 1024;

/// The keys a public key the user pasted gives: one entry per e-mail address in its User IDs.
/// The sentence of an error says what is wrong with what was pasted.
pub fn imported_keys(pasted: &str, now: i64) -> Result<Vec<OutsideKey>, String> {
    let pasted = pasted.trim();
    if pasted.is_empty() {
        return Err("Paste a public key first.".into());
    }
    if pasted.len() > MAX_IMPORTED_KEY_BYTES {
        return Err(format!(
            "That is larger than a public key can be here ({} KB at most).",
            MAX_IMPORTED_KEY_BYTES / 1024
        ));
    }
    let cert = plico_pgp::parse_cert(pasted.as_bytes())
        .map_err(|_| "That is not an OpenPGP public key. Paste the whole block, from -----BEGIN PGP PUBLIC KEY BLOCK----- to its END line.".to_owned())?;
    if cert.is_tsk() {
        return Err("That is a secret key. Paste only its public part (the PUBLIC KEY BLOCK); nobody should hand out their secret key.".into());
    }
    // Usable: it must encrypt under today's policy (not expired, not revoked, a valid subkey).
    plico_pgp::encrypt_to(b"probe", std::slice::from_ref(&cert)).map_err(|_| {
        "That key cannot encrypt: it has no valid encryption key, or it expired or was revoked.".to_owned()
    })?;
    let addresses = plico_pgp::user_id_addresses(&cert);
    if addresses.is_empty() {
        return Err("That key names no e-mail address in its User IDs, so it cannot be matched to anyone.".into());
    }
    let armored = plico_pgp::armor_public_cert(&cert).map_err(|e| e.to_string())?;
    let fingerprint = plico_pgp::fingerprint_hex(&cert);
    Ok(addresses
        .into_iter()
        .map(|address| OutsideKey {
            address,
            cert: armored.clone(),
            fingerprint: fingerprint.clone(),
            source: KeySource::Imported,
            updated_at: now,
            verified: false,
            refused: Vec::new(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_public_key_gives_an_entry_per_address_and_bad_pastes_say_why() {
        let generated = plico_pgp::generate_key(&["Dana <Dana@Example.org>", "dana@work.example", "no address"])
            .expect("generates");
        let keys = imported_keys(&format!("\n  {}  \n", generated.public_cert_armored), 77).expect("imports");
        let addresses: Vec<&str> = keys.iter().map(|key| key.address.as_str()).collect();
        assert_eq!(addresses, ["dana@example.org", "dana@work.example"]);
        assert!(keys.iter().all(|key| key.source == KeySource::Imported && key.updated_at == 77));
        assert!(keys.iter().all(|key| key.fingerprint == generated.fingerprint));

        let secret = plico_pgp::armor(plico_pgp::ArmorKind::SecretKey, &generated.secret_key, true);
        let refusals = [
            (String::new(), "Paste a public key first."),
            ("hello".to_owned(), "not an OpenPGP public key"),
            (String::from_utf8(secret).expect("ascii"), "That is a secret key"),
            ("x".repeat(MAX_IMPORTED_KEY_BYTES + 1), "larger than a public key"),
        ];
        for (pasted, expected) in refusals {
            let error = imported_keys(&pasted, 0).expect_err("refused");
            assert!(error.contains(expected), "{error}");
        }
        let nameless = plico_pgp::generate_key(&["no address here"]).expect("generates");
        let error = imported_keys(&nameless.public_cert_armored, 0).expect_err("refused");
        assert!(error.contains("names no e-mail address"), "{error}");
    }

    fn key(fingerprint: &str, source: KeySource, at: i64) -> OutsideKey {
        OutsideKey {
            address: "dana@example.org".into(),
            cert: String::new(),
            fingerprint: fingerprint.into(),
            source,
            updated_at: at,
            verified: false,
            refused: Vec::new(),
        }
    }

    #[test]
    fn an_autocrypt_key_never_replaces_a_kept_one_and_the_users_choice_replaces_any() {
        let mut keyring = Keyring::default();
        assert!(keyring.upsert(key("A", KeySource::Autocrypt, 10)));
        assert!(!keyring.upsert(key("A", KeySource::Autocrypt, 10)), "nothing new");
        assert!(keyring.upsert(key("A", KeySource::Autocrypt, 20)), "the same key, seen in newer mail");
        assert!(!keyring.upsert(key("B", KeySource::Autocrypt, 30)), "a changed key is not taken silently");
        assert_eq!(keyring.find("DANA@example.org").map(|k| k.fingerprint.as_str()), Some("A"));
        assert!(keyring.upsert(key("C", KeySource::Imported, 1)), "the user's choice wins");
        assert!(!keyring.upsert(key("D", KeySource::Autocrypt, 99)), "and stays");
        assert_eq!(keyring.keys.len(), 1);
        assert_eq!(keyring.find("dana@example.org").map(|k| k.fingerprint.as_str()), Some("C"));
    }
}
