//! An account's several keys: the keyring the client seals for itself (primary first, the
//! keys it replaced after it, so old mail stays readable), what a key is (for the key list),
//! revocation, and importing a key someone made elsewhere.

use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::Serialize;
use openpgp::types::{PublicKeyAlgorithm, ReasonForRevocation, RevocationStatus};
use openpgp::Cert;

use crate::{other, PgpError};

/// Reads a keyring: one or more certificates, binary or armored, one after the other.
pub fn parse_keyring(bytes: &[u8]) -> Result<Vec<Cert>, PgpError> {
    let certs = CertParser::from_bytes(bytes)
        .map_err(|e| PgpError::MalformedCert(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PgpError::MalformedCert(e.to_string()))?;
    if certs.is_empty() {
        return Err(PgpError::MalformedCert("no certificate in it".into()));
    }
    Ok(certs)
}

/// Serialises `certs` with their secret keys, binary and unprotected, one after the other: what
/// the client seals for itself ([`parse_keyring`] reads it back).
pub fn keyring_bytes(certs: &[Cert]) -> Result<Vec<u8>, PgpError> {
    let mut bytes = Vec::new();
    for cert in certs {
        cert.as_tsk().serialize(&mut bytes).map_err(other)?;
    }
    Ok(bytes)
}

/// Why a certificate says it is revoked, as RFC 9580 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    /// The secret key may be in someone else's hands.
    Compromised,
    /// A newer key replaces it.
    Superseded,
    /// It is no longer used.
    Retired,
    Unspecified,
}

impl RevocationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Compromised => "compromised",
            RevocationReason::Superseded => "superseded",
            RevocationReason::Retired => "retired",
            RevocationReason::Unspecified => "unspecified",
        }
    }

    pub fn parse(text: &str) -> Option<RevocationReason> {
        [Self::Compromised, Self::Superseded, Self::Retired, Self::Unspecified].into_iter().find(|r| r.as_str() == text)
    }

    fn to_sequoia(self) -> ReasonForRevocation {
        match self {
            RevocationReason::Compromised => ReasonForRevocation::KeyCompromised,
            RevocationReason::Superseded => ReasonForRevocation::KeySuperseded,
            RevocationReason::Retired => ReasonForRevocation::KeyRetired,
            RevocationReason::Unspecified => ReasonForRevocation::Unspecified,
        }
    }

    fn from_sequoia(reason: ReasonForRevocation) -> RevocationReason {
        match reason {
            ReasonForRevocation::KeyCompromised => RevocationReason::Compromised,
            ReasonForRevocation::KeySuperseded => RevocationReason::Superseded,
            ReasonForRevocation::KeyRetired => RevocationReason::Retired,
            _ => RevocationReason::Unspecified,
        }
    }
}

/// What the key list shows of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub fingerprint: String,
    /// The primary key's creation time (Unix seconds).
    pub created_at: i64,
    /// The OpenPGP key version (4, or 6 for RFC 9580 keys).
    pub version: u8,
    /// The primary key's algorithm, then each encryption subkey's ("Ed25519, X25519").
    pub algorithms: String,
    pub post_quantum: bool,
    /// Set when the certificate carries a valid revocation: the reason and its text.
    pub revocation: Option<(RevocationReason, String)>,
}

/// Describes `cert` for the key list.
pub fn describe_key(cert: &Cert) -> KeyInfo {
    let primary = cert.primary_key().key();
    let mut algorithms = vec![algorithm_name(primary.pk_algo(), primary.mpis())];
    for key in cert.keys().subkeys() {
        let name = algorithm_name(key.key().pk_algo(), key.key().mpis());
        if !algorithms.contains(&name) {
            algorithms.push(name);
        }
    }
    KeyInfo {
        fingerprint: cert.fingerprint().to_hex(),
        created_at: primary
            .creation_time()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default(),
        version: primary.version(),
        algorithms: algorithms.join(", "),
        post_quantum: crate::is_post_quantum(cert),
        revocation: revocation_of(cert),
    }
}

/// The reason and text of `cert`'s valid revocation, if it has one.
fn revocation_of(cert: &Cert) -> Option<(RevocationReason, String)> {
    let policy = StandardPolicy::new();
    match cert.revocation_status(&policy, None) {
        RevocationStatus::Revoked(signatures) => {
            let (reason, text) = signatures.first()?.reason_for_revocation()?;
            Some((RevocationReason::from_sequoia(reason), String::from_utf8_lossy(text).into_owned()))
        }
        _ => None,
    }
}

fn algorithm_name(algorithm: PublicKeyAlgorithm, mpis: &openpgp::crypto::mpi::PublicKey) -> String {
    use openpgp::crypto::mpi::PublicKey as Mpi;
    match (algorithm, mpis) {
        (PublicKeyAlgorithm::MLDSA65_Ed25519, _) => "ML-DSA-65+Ed25519".into(),
        (PublicKeyAlgorithm::MLDSA87_Ed448, _) => "ML-DSA-87+Ed448".into(),
        (PublicKeyAlgorithm::MLKEM768_X25519, _) => "ML-KEM-768+X25519".into(),
        (PublicKeyAlgorithm::MLKEM1024_X448, _) => "ML-KEM-1024+X448".into(),
        (PublicKeyAlgorithm::Ed25519, _) | (PublicKeyAlgorithm::EdDSA, _) => "Ed25519".into(),
        (PublicKeyAlgorithm::X25519, _) => "X25519".into(),
        (PublicKeyAlgorithm::ECDH, Mpi::ECDH { curve, .. }) if curve.to_string().contains("25519") => "X25519".into(),
        (PublicKeyAlgorithm::ECDH, Mpi::ECDH { curve, .. }) | (PublicKeyAlgorithm::ECDSA, Mpi::ECDSA { curve, .. }) => {
            format!("{algorithm} {curve}")
        }
        (_, mpis) => match mpis.bits() {
            Some(bits) if algorithm == PublicKeyAlgorithm::RSAEncryptSign => {
                format!("RSA-{bits}")
            }
            _ => algorithm.to_string(),
        },
    }
}

/// `cert` (with its secret primary key) revoked for `reason`, with `text` saying more: the
/// certificate to publish so that correspondents stop encrypting to it.
pub fn revoke(cert: &Cert, reason: RevocationReason, text: &str) -> Result<Cert, PgpError> {
    let mut signer = cert
        .primary_key()
        .key()
        .clone()
        .parts_into_secret()
        .map_err(|_| PgpError::NoSigningKey)?
        .into_keypair()
        .map_err(other)?;
    let signature = CertRevocationBuilder::new()
        .set_reason_for_revocation(reason.to_sequoia(), text.as_bytes())
        .map_err(other)?
        .build(&mut signer, cert, None)
        .map_err(other)?;
    let (revoked, _) = cert.clone().insert_packets(signature).map_err(other)?;
    Ok(revoked)
}

/// Checks a revoked certificate someone uploaded for key `fingerprint`: public only, that key,
/// and a valid revocation signature by it. Gives the certificate and its reason.
pub fn check_revoked_cert(bytes: &[u8], fingerprint: &str) -> Result<(Cert, RevocationReason, String), PgpError> {
    let cert = crate::parse_cert(bytes)?;
    if cert.is_tsk() {
        return Err(PgpError::SecretKeyMaterial);
    }
    if !cert.fingerprint().to_hex().eq_ignore_ascii_case(fingerprint) {
        return Err(PgpError::InvalidCert(format!("it is key {}, not {fingerprint}", cert.fingerprint().to_hex())));
    }
    let (reason, text) =
        revocation_of(&cert).ok_or_else(|| PgpError::InvalidCert("it carries no valid revocation signature".into()))?;
    Ok((cert, reason, text))
}

/// Why an imported secret key was refused. The messages are sentences, shown as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportRefusal {
    #[error("This is not an OpenPGP key: {0}.")]
    NotAKey(String),
    #[error("This is a public key; import the secret key (\"PRIVATE KEY BLOCK\").")]
    PublicOnly,
    #[error("This file holds {0} keys; import one at a time.")]
    Several(usize),
    #[error("The passphrase does not unlock this key.")]
    WrongPassphrase,
    #[error("This key has no User ID for {0}; add one with the software that made it, then import it again.")]
    OtherAddress(String),
    #[error("This key is not valid: {0}.")]
    Invalid(String),
    #[error("This key is revoked.")]
    Revoked,
    #[error("This key has expired.")]
    Expired,
    #[error("This key cannot sign (its signing key is missing, expired or revoked).")]
    CannotSign,
    #[error("This key cannot receive encrypted mail (no valid encryption subkey with its secret).")]
    CannotDecrypt,
    #[error("A secret part of this key is missing or stored on a smartcard (gnu-dummy), so it cannot be used here.")]
    SecretMissing,
}

/// Reads an armored (or binary) secret key someone made elsewhere, unlocks each of its secret
/// keys with `passphrase` (an unprotected key needs none), and checks it can be an account's
/// key for `address`: valid, not revoked or expired, a User ID for the address, and usable
/// secret keys that sign and decrypt. Gives the key with its secrets unlocked.
pub fn import_secret_key(bytes: &[u8], passphrase: &str, address: &str) -> Result<Cert, ImportRefusal> {
    let mut certs = parse_keyring(bytes).map_err(|e| ImportRefusal::NotAKey(e.to_string()))?;
    if certs.len() > 1 {
        return Err(ImportRefusal::Several(certs.len()));
    }
    let cert = certs.remove(0);
    if !cert.is_tsk() {
        return Err(ImportRefusal::PublicOnly);
    }
    let password: openpgp::crypto::Password = passphrase.into();
    let mut unlocked = Vec::new();
    for key in cert.keys().secret() {
        let secret = key.key().clone();
        if secret.has_unencrypted_secret() {
            continue;
        }
        let decrypted = secret.decrypt_secret(&password).map_err(|_| {
            let dummy = matches!(
                key.key().optional_secret(),
                Some(openpgp::packet::key::SecretKeyMaterial::Encrypted(e)) if matches!(e.s2k(), openpgp::crypto::S2K::Private { .. })
            );
            if dummy {
                ImportRefusal::SecretMissing
            } else {
                ImportRefusal::WrongPassphrase
            }
        })?;
        unlocked.push(if key.primary() {
            openpgp::Packet::from(decrypted.role_into_primary())
        } else {
            openpgp::Packet::from(decrypted.role_into_subordinate())
        });
    }
    let (cert, _) = cert.insert_packets(unlocked).map_err(|e| ImportRefusal::Invalid(e.to_string()))?;
    let policy = StandardPolicy::new();
    if let RevocationStatus::Revoked(_) = cert.revocation_status(&policy, None) {
        return Err(ImportRefusal::Revoked);
    }
    let valid = cert.with_policy(&policy, None).map_err(|e| ImportRefusal::Invalid(e.to_string()))?;
    if valid.alive().is_err() {
        return Err(ImportRefusal::Expired);
    }
    let names_address = valid
        .userids()
        .any(|uid| uid.userid().email().ok().flatten().is_some_and(|email| email.eq_ignore_ascii_case(address)));
    if !names_address {
        return Err(ImportRefusal::OtherAddress(address.to_owned()));
    }
    let usable = |keys: ValidKeyAmalgamationIter<'_, _, _>| {
        keys.supported().alive().revoked(false).unencrypted_secret().next().is_some()
    };
    if !usable(valid.keys().for_signing()) {
        return Err(ImportRefusal::CannotSign);
    }
    if !usable(valid.keys().for_transport_encryption()) {
        return Err(ImportRefusal::CannotDecrypt);
    }
    Ok(cert)
}

/// Of the certificates a key directory serves for `address` (several when its owner keeps a
/// post-quantum key beside a classical one), the one to encrypt to: valid, not revoked, naming
/// the address and able to receive mail; a post-quantum one before a classical one.
pub fn pick_for_encryption(certs: Vec<Cert>, address: &str) -> Option<Cert> {
    let policy = StandardPolicy::new();
    let usable = |cert: &Cert| {
        let Ok(valid) = cert.with_policy(&policy, None) else { return false };
        !matches!(cert.revocation_status(&policy, None), RevocationStatus::Revoked(_))
            && crate::has_user_id_address(cert, address)
            && valid.keys().supported().alive().revoked(false).for_transport_encryption().next().is_some()
    };
    let mut usable: Vec<Cert> = certs.into_iter().filter(usable).collect();
    let pq = usable.iter().position(crate::is_post_quantum).unwrap_or(0);
    (!usable.is_empty()).then(|| usable.swap_remove(pq))
}
