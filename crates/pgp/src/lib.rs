//! Plico's OpenPGP operations over sequoia: generate a certificate, encrypt and sign, decrypt
//! and verify, armor, and check a certificate someone uploaded.
//!
//! Architecture Invariant: bytes in, bytes out. No IO, no clock reads beyond sequoia's own
//! "now" for policy checks, and no knowledge of HTTP or storage.

use std::io::Write;

mod armor;
mod keygen;
mod keyring;
mod sign;

pub use armor::{armor, Kind as ArmorKind};
pub use keyring::{
    check_revoked_cert, describe_key, import_secret_key, keyring_bytes, parse_keyring, pick_for_encryption, revoke,
    ImportRefusal, KeyInfo, RevocationReason,
};
pub use sign::{
    sign_detached_by, sign_inline, verify_detached_by, verify_inline, InlineForm, SignatureMode, Verification,
};
#[cfg(target_arch = "wasm32")]
pub mod web;

use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::crypto::SessionKey;
use openpgp::packet::{Signature, PKESK, SKESK};
use openpgp::parse::stream::{
    DecryptionHelper, DecryptorBuilder, MessageLayer, MessageStructure, VerificationError, VerificationHelper,
};
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Encryptor, LiteralWriter, Message, Signer};
use openpgp::serialize::SerializeInto;
use openpgp::types::SymmetricAlgorithm;
use openpgp::{Cert, KeyHandle};

pub use openpgp::Cert as Certificate;

/// Why an OpenPGP operation failed. The messages are meant for people.
#[derive(Debug, thiserror::Error)]
pub enum PgpError {
    #[error("the certificate could not be read: {0}")]
    MalformedCert(String),
    #[error("the certificate contains secret key material; only a public certificate may be uploaded")]
    SecretKeyMaterial,
    #[error("the certificate has no user ID for {0}")]
    MissingUserId(String),
    #[error("the certificate is not valid under the standard policy: {0}")]
    InvalidCert(String),
    #[error("{0} has no usable encryption key")]
    NoEncryptionKey(String),
    #[error("the certificate has no usable signing key with secret material")]
    NoSigningKey,
    #[error("the message could not be decrypted with this key")]
    DecryptionFailed,
    /// More plaintext than the caller allows (a decompression bomb, or simply too much).
    #[error("the message would decrypt to more than {} MiB, so it is not read", .0 >> 20)]
    TooLarge(usize),
    /// A compressed layer inside another: no honest sender does this, and each layer multiplies
    /// what a few bytes expand to.
    #[error("the message nests compression inside compression, so it is not read")]
    NestedCompression,
    #[error("OpenPGP error: {0}")]
    Other(String),
}

#[cfg(test)]
mod user_id_tests {
    use super::address_in_user_id;

    #[test]
    fn user_ids_name_their_address_in_brackets_or_bare() {
        assert_eq!(address_in_user_id("Dana <Dana@Example.org>").as_deref(), Some("dana@example.org"));
        assert_eq!(address_in_user_id(" dana@work.example ").as_deref(), Some("dana@work.example"));
        assert_eq!(address_in_user_id("<x@y.test>").as_deref(), Some("x@y.test"));
        assert_eq!(address_in_user_id("\"Dana, Q.\" <q@z.example>").as_deref(), Some("q@z.example"));
        for none in
            ["no address", "Dana <>", "a@b", "a b@c.example", "@c.example", "a@", "Dana <a@@b.example>", "a@.example"]
        {
            assert_eq!(address_in_user_id(none), None, "{none}");
        }
    }
}

fn other(error: impl std::fmt::Display) -> PgpError {
    PgpError::Other(error.to_string())
}

/// A newly generated key: the full transferable secret key and its public half.
pub struct GeneratedKey {
    /// The transferable secret key, binary. Seal it before it goes anywhere.
    pub secret_key: Vec<u8>,
    /// The public certificate, ASCII-armored.
    pub public_cert_armored: String,
    /// The primary key's fingerprint, uppercase hex without spaces.
    pub fingerprint: String,
}

/// Generates a Curve25519 certificate for `address`, as Plico makes at sign-up: an Ed25519
/// primary key that certifies and signs, one Cv25519 encryption subkey, a User ID binding that
/// carries the preferences (SEIPDv1 and SEIPDv2, AES-256/128, SHA-512/256) and a subkey
/// binding. No expiry: the account's key lives as long as the account.
///
/// Built packet by packet rather than with `CertBuilder::general_purpose`, which adds a separate
/// signing subkey (with its back-signature), a direct-key signature and a revocation
/// certificate that Plico discarded: eight Ed25519 operations where four do. The secrets stay
/// out of sequoia's protected memory while the certificate is made (`keygen.rs` says why).
pub fn generate_cert(address: &str) -> Result<GeneratedKey, PgpError> {
    keygen::generate_key(&[&format!("<{address}>")])
}

/// Generates a certificate of the same shape as [`generate_cert`] with these User IDs, as
/// written (`"Alice <alice@example.org>"`); the first is the primary one. With none, the key's
/// flags and preferences live on a direct-key signature. This is what `sop generate-key` makes.
pub fn generate_key(user_ids: &[&str]) -> Result<GeneratedKey, PgpError> {
    keygen::generate_key(user_ids)
}

/// Generates a post-quantum certificate for `address` (RFC 9980): a v6 ML-DSA-65+Ed25519 primary
/// key that certifies and signs, and an ML-KEM-768+X25519 encryption subkey, both composite, so
/// that breaking it takes breaking the classical and the post-quantum half. Preferences: SEIPDv2
/// only, as v6 keys ask. The certificate is 13.7 KB (0.5 KB for Curve25519: the ML-DSA public key
/// is 1,952 bytes, ML-KEM's 1,184, each signature 3.3 KB), and it is an opt-in: OpenPGP software
/// that does not know RFC 9980 cannot encrypt to it.
pub fn generate_pq_cert(address: &str) -> Result<GeneratedKey, PgpError> {
    use openpgp::cert::{CertBuilder, CipherSuite};
    let (cert, _revocation) = CertBuilder::new()
        // Now, not sequoia's default of a minute ago: the key list shows when it was made. Its
        // clock, not std's, which has none in the browser.
        .set_creation_time(std::time::SystemTime::from(openpgp::types::Timestamp::now()))
        .add_userid(format!("<{address}>"))
        .set_cipher_suite(CipherSuite::MLDSA65_Ed25519)
        .set_profile(openpgp::Profile::RFC9580)
        .map_err(other)?
        .set_primary_key_flags(openpgp::types::KeyFlags::empty().set_certification().set_signing())
        .add_subkey(openpgp::types::KeyFlags::empty().set_transport_encryption().set_storage_encryption(), None, None)
        .generate()
        .map_err(other)?;
    Ok(GeneratedKey {
        secret_key: secret_cert_bytes(&cert)?,
        public_cert_armored: armor_public_cert(&cert)?,
        fingerprint: fingerprint_hex(&cert),
    })
}

/// Whether `cert` can receive post-quantum encryption: a valid ML-KEM encryption (sub)key.
pub fn is_post_quantum(cert: &Cert) -> bool {
    use openpgp::types::PublicKeyAlgorithm;
    let policy = openpgp::policy::StandardPolicy::new();
    cert.keys().with_policy(&policy, None).supported().alive().revoked(false).for_transport_encryption().any(|key| {
        matches!(key.key().pk_algo(), PublicKeyAlgorithm::MLKEM768_X25519 | PublicKeyAlgorithm::MLKEM1024_X448)
    })
}

/// Reads a certificate, public or secret, binary or armored.
pub fn parse_cert(bytes: &[u8]) -> Result<Cert, PgpError> {
    Cert::from_bytes(bytes).map_err(|e| PgpError::MalformedCert(e.to_string()))
}

/// Serialises only the public parts of `cert`, ASCII-armored.
pub fn armor_public_cert(cert: &Cert) -> Result<String, PgpError> {
    let bytes = cert.armored().to_vec().map_err(other)?;
    String::from_utf8(bytes).map_err(other)
}

/// The shortest passphrase [`armor_protected_secret_key`] takes, in characters.
pub const MIN_EXPORT_PASSPHRASE_CHARS: usize = 10;

/// `cert` with every secret key encrypted under `passphrase` (OpenPGP's iterated and salted
/// S2K), armored as a private key block: the form an export carries, which GnuPG and other
/// OpenPGP software import by asking for the passphrase. The secret stays unencrypted nowhere
/// in the output.
pub fn armor_protected_secret_key(cert: &Cert, passphrase: &str) -> Result<String, PgpError> {
    if passphrase.chars().count() < MIN_EXPORT_PASSPHRASE_CHARS {
        return Err(PgpError::Other(format!(
            "the passphrase for the exported secret key needs at least {MIN_EXPORT_PASSPHRASE_CHARS} characters"
        )));
    }
    let password: openpgp::crypto::Password = passphrase.into();
    let mut packets: Vec<openpgp::Packet> = Vec::new();
    for key in cert.keys().secret() {
        let protected = key.key().clone().encrypt_secret(&password).map_err(other)?;
        packets.push(if key.primary() {
            protected.role_into_primary().into()
        } else {
            protected.role_into_subordinate().into()
        });
    }
    if packets.is_empty() {
        return Err(PgpError::NoSigningKey);
    }
    let (protected, _) = cert.clone().insert_packets(packets).map_err(other)?;
    let bytes = protected.as_tsk().to_vec().map_err(other)?;
    String::from_utf8(armor::armor(armor::Kind::SecretKey, &bytes, true)).map_err(other)
}

/// Serialises `cert` with its secret keys, binary and unprotected (for handing an unlocked key
/// from one worker to another; [`parse_cert`] reads it back).
pub fn secret_cert_bytes(cert: &Cert) -> Result<Vec<u8>, PgpError> {
    cert.as_tsk().to_vec().map_err(other)
}

/// Serialises only the public parts of `cert`, binary (as Web Key Directory serves it).
pub fn public_cert_bytes(cert: &Cert) -> Result<Vec<u8>, PgpError> {
    cert.to_vec().map_err(other)
}

/// What the server learns from a certificate a browser uploaded.
#[derive(Debug, Clone)]
pub struct CheckedPublicCert {
    pub cert: Cert,
    pub fingerprint: String,
}

/// Checks an uploaded certificate: it parses, holds no secret key material, is valid under the
/// standard policy, binds a user ID with `address`, and can receive encrypted mail.
pub fn check_uploaded_public_cert(bytes: &[u8], address: &str) -> Result<CheckedPublicCert, PgpError> {
    let cert = parse_cert(bytes)?;
    if cert.is_tsk() {
        return Err(PgpError::SecretKeyMaterial);
    }
    let policy = StandardPolicy::new();
    let valid = cert.with_policy(&policy, None).map_err(|e| PgpError::InvalidCert(e.to_string()))?;
    let has_address = valid
        .userids()
        .any(|uid| uid.userid().email().ok().flatten().is_some_and(|email| email.eq_ignore_ascii_case(address)));
    if !has_address {
        return Err(PgpError::MissingUserId(address.to_owned()));
    }
    if valid.keys().supported().alive().revoked(false).for_transport_encryption().next().is_none() {
        return Err(PgpError::NoEncryptionKey(address.to_owned()));
    }
    Ok(CheckedPublicCert { fingerprint: cert.fingerprint().to_hex(), cert })
}

/// The transport-encryption keys of every recipient; a recipient without one is an error.
fn encryption_keys<'a>(
    policy: &'a StandardPolicy<'a>,
    recipients: &'a [Cert],
) -> Result<Vec<ValidErasedKeyAmalgamation<'a, openpgp::packet::key::PublicParts>>, PgpError> {
    let mut keys = Vec::new();
    for cert in recipients {
        let valid = cert.with_policy(policy, None).map_err(|e| PgpError::InvalidCert(e.to_string()))?;
        let before = keys.len();
        keys.extend(valid.keys().supported().alive().revoked(false).for_transport_encryption());
        if keys.len() == before {
            return Err(PgpError::NoEncryptionKey(cert.fingerprint().to_hex()));
        }
    }
    Ok(keys)
}

/// `signer`'s secret signing key, ready to sign.
fn signing_keypair(policy: &StandardPolicy, signer: &Cert) -> Result<openpgp::crypto::KeyPair, PgpError> {
    signer
        .keys()
        .with_policy(policy, None)
        .supported()
        .alive()
        .revoked(false)
        .for_signing()
        .unencrypted_secret()
        .next()
        .ok_or(PgpError::NoSigningKey)?
        .key()
        .clone()
        .into_keypair()
        .map_err(other)
}

/// Whether a message to `recipients` is SEIPDv2 (AEAD) when sequoia encrypts it: when every
/// recipient's certificate advertises it, as Plico's own keys do.
pub fn all_support_aead(recipients: &[Cert]) -> bool {
    let policy = StandardPolicy::new();
    !recipients.is_empty()
        && recipients.iter().all(|cert| {
            cert.with_policy(&policy, None)
                .ok()
                .and_then(|valid| valid.features())
                .is_some_and(|f| f.supports_seipdv2())
        })
}

/// A signed SEIPDv1 message (AES-256-CFB with a SHA-1 MDC, RFC 4880 5.13) prepared up to its
/// bulk cipher, so the cipher and the MDC hash can run elsewhere: in the browser, the worker
/// runs them through WebCrypto, which is several times faster than AES in wasm.
///
/// To finish: `mdc = SHA-1(plaintext)`, `ciphertext = AES-256-CFB(session_key, IV = 0,
/// plaintext || mdc)`, then [`finish_seipdv1`].
pub struct SeipdV1Plan {
    /// The AES-256 session key.
    pub session_key: SessionKey,
    /// The public-key encrypted session key packets, serialised.
    pub esks: Vec<u8>,
    /// The random prefix (16 bytes and its last two again), the signed literal message, and
    /// the MDC packet's header (0xD3 0x14): exactly what the MDC hashes.
    pub plaintext: Vec<u8>,
}

/// Prepares `plaintext`, signed by `signer`, for SEIPDv1 encryption to every recipient.
pub fn plan_seipdv1(plaintext: &[u8], recipients: &[Cert], signer: &Cert) -> Result<SeipdV1Plan, PgpError> {
    use openpgp::packet::pkesk::PKESK3;
    use openpgp::serialize::Serialize;
    let policy = StandardPolicy::new();
    let encryption_keys = encryption_keys(&policy, recipients)?;
    let signing_keypair = signing_keypair(&policy, signer)?;
    let session_key = SessionKey::new(32).map_err(other)?;
    let mut esks = Vec::new();
    for key in &encryption_keys {
        let pkesk = PKESK3::for_recipient(SymmetricAlgorithm::AES256, &session_key, key.key()).map_err(other)?;
        openpgp::Packet::PKESK(pkesk.into()).serialize(&mut esks).map_err(other)?;
    }
    let mut body = Vec::with_capacity(plaintext.len() + 512);
    let mut prefix = [0u8; 18];
    openpgp::crypto::random(&mut prefix[..16]).map_err(other)?;
    prefix[16] = prefix[14];
    prefix[17] = prefix[15];
    body.extend_from_slice(&prefix);
    let message = Message::new(&mut body);
    let message = Signer::new(message, signing_keypair).map_err(other)?.build().map_err(other)?;
    let mut literal = LiteralWriter::new(message).build().map_err(other)?;
    literal.write_all(plaintext).map_err(other)?;
    literal.finalize().map_err(other)?;
    body.extend_from_slice(&[0xD3, 0x14]);
    Ok(SeipdV1Plan { session_key, esks, plaintext: body })
}

/// Frames what [`plan_seipdv1`] prepared, once encrypted, as an armored OpenPGP message.
pub fn finish_seipdv1(esks: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, PgpError> {
    let mut binary = Vec::with_capacity(esks.len() + ciphertext.len() + 8);
    binary.extend_from_slice(esks);
    // A new-format packet header: tag 18 (SEIPD), then the body length (RFC 4880 4.2.2).
    let length = ciphertext.len() + 1;
    binary.push(0xC0 | 18);
    match length {
        0..=191 => binary.push(length as u8),
        192..=8383 => binary.extend_from_slice(&[(((length - 192) >> 8) + 192) as u8, ((length - 192) & 0xFF) as u8]),
        _ => {
            let length = u32::try_from(length).map_err(|_| PgpError::Other("the message is too large".into()))?;
            binary.push(0xFF);
            binary.extend_from_slice(&length.to_be_bytes());
        }
    }
    binary.push(1); // SEIPD version 1
    binary.extend_from_slice(ciphertext);
    Ok(armor::armor_message(&binary, true))
}

/// Encrypts `plaintext` to every recipient and signs it with `signer`'s secret signing key.
/// Returns an ASCII-armored OpenPGP message.
pub fn encrypt_and_sign(plaintext: &[u8], recipients: &[Cert], signer: &Cert) -> Result<Vec<u8>, PgpError> {
    let policy = StandardPolicy::new();
    let encryption_keys = encryption_keys(&policy, recipients)?;
    let signing_keypair = signing_keypair(&policy, signer)?;

    let mut sink = Vec::with_capacity(plaintext.len() + 1024);
    let message = Message::new(&mut sink);
    let message = Encryptor::for_recipients(message, encryption_keys).build().map_err(other)?;
    let message = Signer::new(message, signing_keypair).map_err(other)?.build().map_err(other)?;
    let mut literal = LiteralWriter::new(message).build().map_err(other)?;
    literal.write_all(plaintext).map_err(other)?;
    literal.finalize().map_err(other)?;
    Ok(armor::armor_message(&sink, !all_support_aead(recipients)))
}

/// A detached signature over `data` (a binary-mode signature, SHA-256), armored: the second part
/// of a PGP/MIME `multipart/signed` message (RFC 3156, `micalg=pgp-sha256`), which is what mail
/// to someone whose key is unknown carries.
pub fn sign_detached(data: &[u8], signer: &Cert) -> Result<Vec<u8>, PgpError> {
    let policy = StandardPolicy::new();
    let keypair = signing_keypair(&policy, signer)?;
    let mut sink = Vec::with_capacity(256);
    let message = Message::new(&mut sink);
    let mut writer = Signer::new(message, keypair)
        .map_err(other)?
        .detached()
        .hash_algo(openpgp::types::HashAlgorithm::SHA256)
        .map_err(other)?
        .build()
        .map_err(other)?;
    writer.write_all(data).map_err(other)?;
    writer.finalize().map_err(other)?;
    Ok(armor::armor(armor::Kind::Signature, &sink, true))
}

/// Whether `cert` has a User ID whose address is `address` (ASCII case ignored).
pub fn has_user_id_address(cert: &Cert, address: &str) -> bool {
    cert.userids()
        .any(|uid| uid.userid().email().ok().flatten().is_some_and(|email| email.eq_ignore_ascii_case(address)))
}

/// The e-mail addresses among `cert`'s User IDs, lowercase, each once, in order: the part in
/// angle brackets (`Dana <dana@example.org>`), or the whole User ID when it is a bare address.
///
/// Read here rather than with sequoia's `UserID::email`, whose RFC 2822 grammar (a generated
/// parser) cost the browser's crypto worker about 170 KB brotli.
pub fn user_id_addresses(cert: &Cert) -> Vec<String> {
    let mut addresses: Vec<String> = Vec::new();
    for uid in cert.userids() {
        let Ok(text) = std::str::from_utf8(uid.userid().value()) else { continue };
        if let Some(address) = address_in_user_id(text) {
            if !addresses.contains(&address) {
                addresses.push(address);
            }
        }
    }
    addresses
}

/// The address a User ID names, lowercase, when it names one.
fn address_in_user_id(text: &str) -> Option<String> {
    let text = text.trim();
    let candidate = match (text.rfind('<'), text.ends_with('>')) {
        (Some(open), true) => &text[open + 1..text.len() - 1],
        _ => text,
    };
    let (local, domain) = candidate.split_once('@')?;
    let plain = |part: &str| {
        !part.is_empty() && part.chars().all(|c| !c.is_whitespace() && !c.is_control() && !"<>@,;\"".contains(c))
    };
    (plain(local) && plain(domain) && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'))
        .then(|| candidate.to_ascii_lowercase())
}

/// Checks a detached signature over `data` by `cert`.
pub fn verify_detached(data: &[u8], armored_signature: &[u8], cert: &Cert) -> SignatureStatus {
    use openpgp::parse::stream::DetachedVerifierBuilder;
    let policy = StandardPolicy::new();
    let helper = DetachedHelper { cert, good: false, bad: false };
    let verified = DetachedVerifierBuilder::from_bytes(armored_signature)
        .and_then(|builder| builder.with_policy(&policy, None, helper))
        .and_then(|mut verifier| verifier.verify_bytes(data).map(|()| verifier.into_helper()));
    match verified {
        Ok(DetachedHelper { bad: true, .. }) | Err(_) => SignatureStatus::Bad,
        Ok(DetachedHelper { good: true, .. }) => SignatureStatus::Valid { signer: fingerprint_hex(cert) },
        // Only signatures by other keys: not wrong, just not by this one.
        Ok(_) => SignatureStatus::UnknownKey,
    }
}

struct DetachedHelper<'a> {
    cert: &'a Cert,
    good: bool,
    /// A signature by `cert` that does not check: the data or the signature was changed.
    bad: bool,
}

impl VerificationHelper for DetachedHelper<'_> {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(vec![self.cert.clone()])
    }
    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure {
            if let MessageLayer::SignatureGroup { results } = layer {
                for result in results {
                    match result {
                        Ok(_) => self.good = true,
                        Err(VerificationError::MissingKey { .. }) => {}
                        Err(_) => self.bad = true,
                    }
                }
            }
        }
        Ok(())
    }
}

/// Encrypts `plaintext` to every recipient without signing (what a server does for mail that
/// arrives in plaintext: it holds no signing key of the user's). Returns an armored message.
pub fn encrypt_to(plaintext: &[u8], recipients: &[Cert]) -> Result<Vec<u8>, PgpError> {
    let policy = StandardPolicy::new();
    let encryption_keys = encryption_keys(&policy, recipients)?;
    let mut sink = Vec::with_capacity(plaintext.len() + 1024);
    let message = Message::new(&mut sink);
    let message = Encryptor::for_recipients(message, encryption_keys).build().map_err(other)?;
    let mut literal = LiteralWriter::new(message).build().map_err(other)?;
    literal.write_all(plaintext).map_err(other)?;
    literal.finalize().map_err(other)?;
    Ok(armor::armor_message(&sink, !all_support_aead(recipients)))
}

/// The signature on a decrypted message, in the words the reader shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureStatus {
    /// Signed by this certificate, and the signature checks out.
    Valid { signer: String },
    /// Signed, but by a key we do not have.
    UnknownKey,
    /// A signature is there and it is wrong: the message or signature was altered.
    Bad,
    /// No signature at all.
    Unsigned,
}

/// A decrypted message.
#[derive(Debug, Clone)]
pub struct Decrypted {
    pub plaintext: Vec<u8>,
    pub signature: SignatureStatus,
    /// Signatures by keys that were not among the verifiers: [`verify_with`] checks them once
    /// the signer's certificate is found, without decrypting again.
    pub unchecked: Vec<Signature>,
    /// Each good signature by a verifier: which key made it, and when.
    pub verifications: Vec<Verification>,
}

struct Helper<'a> {
    policy: &'a StandardPolicy<'a>,
    secrets: &'a [Cert],
    /// Session keys to try before any secret key: (algorithm if known, key).
    session_keys: &'a [(Option<u8>, Vec<u8>)],
    verifiers: &'a [Cert],
    signature: SignatureStatus,
    unchecked: Vec<Signature>,
    verifications: sign::Verifications<'a>,
    /// The session key that opened the message, and its algorithm.
    opened_with: Option<(Option<SymmetricAlgorithm>, SessionKey)>,
    /// The message had a compressed layer inside a compressed layer (refused in `check`).
    nested_compression: bool,
}

impl<'a> Helper<'a> {
    fn new(
        policy: &'a StandardPolicy<'a>,
        secrets: &'a [Cert],
        session_keys: &'a [(Option<u8>, Vec<u8>)],
        verifiers: &'a [Cert],
    ) -> Self {
        Helper {
            policy,
            secrets,
            session_keys,
            verifiers,
            signature: SignatureStatus::Unsigned,
            unchecked: Vec::new(),
            verifications: sign::Verifications { certs: verifiers, good: Vec::new() },
            opened_with: None,
            nested_compression: false,
        }
    }

    fn finish(self, plaintext: Vec<u8>) -> Decrypted {
        Decrypted {
            plaintext,
            signature: self.signature,
            unchecked: self.unchecked,
            verifications: self.verifications.good,
        }
    }
}

impl VerificationHelper for Helper<'_> {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.verifiers.to_vec())
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        let compressed_layers =
            structure.iter().filter(|layer| matches!(layer, MessageLayer::Compression { .. })).count();
        if compressed_layers > 1 {
            self.nested_compression = true;
            return Err(openpgp::Error::InvalidOperation(NESTED_COMPRESSION.into()).into());
        }
        self.verifications.collect(&structure);
        for layer in structure {
            if let MessageLayer::SignatureGroup { results } = layer {
                for result in results {
                    let status = match result {
                        Ok(good) => SignatureStatus::Valid { signer: good.ka.cert().fingerprint().to_hex() },
                        Err(VerificationError::MissingKey { sig }) => {
                            self.unchecked.push(sig.clone());
                            SignatureStatus::UnknownKey
                        }
                        Err(_) => SignatureStatus::Bad,
                    };
                    // A bad signature outweighs everything; a valid one outweighs an unknown one.
                    self.signature = match (&self.signature, status) {
                        (SignatureStatus::Bad, _) | (_, SignatureStatus::Bad) => SignatureStatus::Bad,
                        (SignatureStatus::Valid { .. }, SignatureStatus::UnknownKey) => self.signature.clone(),
                        (_, status) => status,
                    };
                }
            }
        }
        Ok(())
    }
}

impl DecryptionHelper for Helper<'_> {
    fn decrypt(
        &mut self,
        pkesks: &[PKESK],
        _skesks: &[SKESK],
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> openpgp::Result<Option<Cert>> {
        for (algo, key) in self.session_keys {
            let algo = algo.map(SymmetricAlgorithm::from).or(sym_algo);
            let session_key = SessionKey::from(&key[..]);
            if decrypt(algo, &session_key) {
                self.opened_with = Some((algo, session_key));
                return Ok(None);
            }
        }
        for secret in self.secrets {
            let keys = secret
                .keys()
                .with_policy(self.policy, None)
                .supported()
                .unencrypted_secret()
                .for_transport_encryption()
                .for_storage_encryption();
            for key in keys {
                let mut keypair = key.key().clone().into_keypair()?;
                for pkesk in pkesks {
                    if let Some((algo, session_key)) = pkesk.decrypt(&mut keypair, sym_algo) {
                        if decrypt(algo, &session_key) {
                            self.opened_with = Some((algo.or(sym_algo), session_key));
                            return Ok(Some(secret.clone()));
                        }
                    }
                }
            }
        }
        Err(openpgp::Error::MissingSessionKey("no key of ours opens this message".into()).into())
    }
}

/// A SEIPDv1 message (public-key encrypted session keys, then one SEIPD packet) whose session
/// key is open and whose body is still encrypted: [`Envelope::decrypt`] runs the CFB here, the
/// caller hashes the MDC (in the browser, WebCrypto's SHA-1 is far faster than sequoia's
/// collision-detecting SHA-1 in wasm), and [`Envelope::finish`] checks it and verifies.
pub struct Envelope {
    algo: SymmetricAlgorithm,
    session_key: SessionKey,
    body: Vec<u8>,
}

/// Opens the session key of `message` (armored or binary) when it is a SEIPDv1 message;
/// `Ok(None)` for any other shape (SEIPDv2, passwords, compression outside, …), which
/// [`decrypt_and_verify`] handles whole.
pub fn open_seipdv1_envelope(message: &[u8], secrets: &[Cert]) -> Result<Option<Envelope>, PgpError> {
    use openpgp::parse::{PacketParser, PacketParserResult};
    use openpgp::Packet;
    let mut pkesks = Vec::new();
    let mut body = None;
    let binary = armor::dearmor_message(message);
    let mut result =
        PacketParser::from_bytes(binary.as_deref().unwrap_or(message)).map_err(|_| PgpError::DecryptionFailed)?;
    while let PacketParserResult::Some(mut parser) = result {
        match &parser.packet {
            Packet::PKESK(pkesk) if body.is_none() => pkesks.push(pkesk.clone()),
            Packet::SEIP(seip) if seip.version() == 1 && body.is_none() => {
                body = Some(parser.buffer_unread_content().map_err(|_| PgpError::DecryptionFailed)?.to_vec());
            }
            _ => return Ok(None),
        }
        // `next`, not `recurse`: the SEIPD's contents stay encrypted.
        result = parser.next().map_err(|_| PgpError::DecryptionFailed)?.1;
    }
    let Some(body) = body else { return Ok(None) };
    let policy = StandardPolicy::new();
    let keys = secrets.iter().flat_map(|secret| {
        secret
            .keys()
            .with_policy(&policy, None)
            .supported()
            .unencrypted_secret()
            .for_transport_encryption()
            .for_storage_encryption()
    });
    for key in keys {
        let mut keypair = key.key().clone().into_keypair().map_err(other)?;
        for pkesk in &pkesks {
            if let Some((Some(algo), session_key)) = pkesk.decrypt(&mut keypair, None) {
                return Ok(Some(Envelope { algo, session_key, body }));
            }
        }
    }
    Err(PgpError::DecryptionFailed)
}

impl Envelope {
    /// Decrypts the body (CFB with a zero IV, in parallel blocks): the random prefix, the
    /// message's packets and the MDC packet. Still unauthenticated until [`Envelope::finish`].
    pub fn decrypt(self) -> Result<Vec<u8>, PgpError> {
        use aes::cipher::{AsyncStreamCipher, KeyIvInit};
        let Envelope { algo, session_key, mut body } = self;
        let iv = [0u8; 16];
        let bad_key = |_| PgpError::DecryptionFailed;
        match algo {
            SymmetricAlgorithm::AES256 => cfb_mode::Decryptor::<aes::Aes256>::new_from_slices(&session_key, &iv)
                .map_err(bad_key)?
                .decrypt(&mut body),
            SymmetricAlgorithm::AES192 => cfb_mode::Decryptor::<aes::Aes192>::new_from_slices(&session_key, &iv)
                .map_err(bad_key)?
                .decrypt(&mut body),
            SymmetricAlgorithm::AES128 => cfb_mode::Decryptor::<aes::Aes128>::new_from_slices(&session_key, &iv)
                .map_err(bad_key)?
                .decrypt(&mut body),
            other => return Err(PgpError::Other(format!("{other} is not supported for SEIPDv1 here"))),
        }
        // The prefix's last two bytes repeat: a wrong session key shows here.
        if body.len() < 18 + 22 || body[14..16] != body[16..18] {
            return Err(PgpError::DecryptionFailed);
        }
        Ok(body)
    }

    /// What the MDC hashes: everything [`Envelope::decrypt`] returned but the last 20 bytes.
    pub fn hashed(plaintext: &[u8]) -> &[u8] {
        &plaintext[..plaintext.len().saturating_sub(20)]
    }

    /// Checks the MDC against `sha1` (the SHA-1 of [`Envelope::hashed`]), then parses the
    /// message inside and checks its signatures against `verifiers`. A wrong MDC is
    /// [`PgpError::DecryptionFailed`]: nothing of a tampered message is returned.
    pub fn finish(plaintext: &[u8], sha1: &[u8], secrets: &[Cert], verifiers: &[Cert]) -> Result<Decrypted, PgpError> {
        use openpgp::parse::stream::VerifierBuilder;
        let length = plaintext.len();
        if length < 18 + 22 || plaintext[length - 22..length - 20] != [0xD3, 0x14] || sha1.len() != 20 {
            return Err(PgpError::DecryptionFailed);
        }
        // Constant time: compare every byte whatever the first difference.
        let differences = plaintext[length - 20..].iter().zip(sha1).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if differences != 0 {
            return Err(PgpError::DecryptionFailed);
        }
        let inner = &plaintext[18..length - 22];
        let policy = StandardPolicy::new();
        let helper = Helper::new(&policy, secrets, &[], verifiers);
        let limit = MAX_PLAINTEXT_BYTES;
        let mut verifier = VerifierBuilder::from_bytes(inner)
            .map_err(|_| PgpError::DecryptionFailed)?
            .buffer_size(VERIFY_BUFFER_BYTES)
            .with_policy(&policy, None, helper)
            .map_err(build_error)?;
        let opened = match read_capped(&mut verifier, limit) {
            Err(PgpError::DecryptionFailed) if verifier.helper_ref().nested_compression => {
                Err(PgpError::NestedCompression)
            }
            other => other,
        }?;
        Ok(verifier.into_helper().finish(opened))
    }
}

/// The most a message may decrypt to unless the caller says otherwise: twice the largest
/// message Plico takes (40 MiB over SMTP, by import or by upload). A decompression bomb stops here.
pub const MAX_PLAINTEXT_BYTES: usize = 80 << 20;

/// How much plaintext sequoia holds back to check signatures before handing it over; what a
/// message expands to is read through a cap, so this bounds the rest.
const VERIFY_BUFFER_BYTES: usize = 4 << 20;

/// Decrypts `ciphertext` (armored or binary) with `secret`'s keys, and checks signatures
/// against `verifiers`; at most [`MAX_PLAINTEXT_BYTES`] of plaintext.
pub fn decrypt_and_verify(ciphertext: &[u8], secret: &Cert, verifiers: &[Cert]) -> Result<Decrypted, PgpError> {
    decrypt_and_verify_within(ciphertext, secret, verifiers, MAX_PLAINTEXT_BYTES)
}

/// [`decrypt_and_verify`] for something small (a summary, a sealed document): at most
/// `max_plaintext` bytes of plaintext, else [`PgpError::TooLarge`].
pub fn decrypt_and_verify_within(
    ciphertext: &[u8],
    secret: &Cert,
    verifiers: &[Cert],
    max_plaintext: usize,
) -> Result<Decrypted, PgpError> {
    decrypt_with_keys(ciphertext, std::slice::from_ref(secret), verifiers, max_plaintext)
}

/// [`decrypt_and_verify_within`] with any of `secrets` (an account's keyring: the primary and
/// the keys it replaced).
pub fn decrypt_with_keys(
    ciphertext: &[u8],
    secrets: &[Cert],
    verifiers: &[Cert],
    max_plaintext: usize,
) -> Result<Decrypted, PgpError> {
    let decryption = Decryption { secrets, session_keys: &[], verifiers, max_plaintext };
    decrypt(ciphertext, &decryption).map(|(decrypted, _)| decrypted)
}

/// Reads `reader` to its end into a buffer of at most `limit` bytes: [`PgpError::TooLarge`]
/// beyond it, [`PgpError::DecryptionFailed`] when reading fails.
fn read_capped(reader: impl std::io::Read, limit: usize) -> Result<Vec<u8>, PgpError> {
    use std::io::Read;
    let mut plaintext = Vec::new();
    match reader.take(limit as u64 + 1).read_to_end(&mut plaintext) {
        Ok(read) if read > limit => Err(PgpError::TooLarge(limit)),
        Ok(_) => Ok(plaintext),
        Err(_) => Err(PgpError::DecryptionFailed),
    }
}

/// A sequoia error from building a decryptor or verifier: the helper's refusal of nested
/// compression keeps its name; anything else is a failure to decrypt.
fn build_error(error: openpgp::anyhow::Error) -> PgpError {
    match error.downcast_ref::<openpgp::Error>() {
        Some(openpgp::Error::InvalidOperation(why)) if why == NESTED_COMPRESSION => PgpError::NestedCompression,
        _ => PgpError::DecryptionFailed,
    }
}

const NESTED_COMPRESSION: &str = "nested compression";

/// What may open a message, and whose signatures count.
pub struct Decryption<'a> {
    /// Secret keys to try.
    pub secrets: &'a [Cert],
    /// Session keys to try first: the algorithm's RFC 9580 number when known, and the key.
    pub session_keys: &'a [(Option<u8>, Vec<u8>)],
    /// Certificates whose signatures are checked.
    pub verifiers: &'a [Cert],
    /// The most plaintext to read ([`MAX_PLAINTEXT_BYTES`] for a message).
    pub max_plaintext: usize,
}

/// The session key that opened a message: the algorithm's RFC 9580 number (when the message
/// says) and the key.
pub type OpenedSessionKey = (Option<u8>, Vec<u8>);

/// Decrypts `ciphertext` (armored or binary) with a session key or a secret key of
/// `decryption`, checks signatures against its verifiers, and says which session key opened it.
pub fn decrypt(ciphertext: &[u8], decryption: &Decryption<'_>) -> Result<(Decrypted, OpenedSessionKey), PgpError> {
    let policy = StandardPolicy::new();
    let helper = Helper::new(&policy, decryption.secrets, decryption.session_keys, decryption.verifiers);
    let binary = armor::dearmor_message(ciphertext);
    let limit = decryption.max_plaintext;
    let mut decryptor = DecryptorBuilder::from_bytes(binary.as_deref().unwrap_or(ciphertext))
        .map_err(|_| PgpError::DecryptionFailed)?
        .buffer_size(VERIFY_BUFFER_BYTES.min(limit))
        .with_policy(&policy, None, helper)
        .map_err(build_error)?;
    let plaintext = match read_capped(&mut decryptor, limit) {
        Err(PgpError::DecryptionFailed) if decryptor.helper_ref().nested_compression => {
            Err(PgpError::NestedCompression)
        }
        other => other,
    }?;
    let mut helper = decryptor.into_helper();
    let (algo, session_key) = helper.opened_with.take().ok_or(PgpError::DecryptionFailed)?;
    Ok((helper.finish(plaintext), (algo.map(u8::from), session_key.to_vec())))
}

/// Encrypts `plaintext` to every recipient, signed by every key of `signers` (none: unsigned),
/// as binary OpenPGP packets: SEIPDv2 when every recipient supports it, SEIPDv1 otherwise.
/// In text mode the literal data is marked UTF-8 and the signatures are text signatures.
pub fn encrypt_message(
    plaintext: &[u8],
    recipients: &[Cert],
    signers: &[Cert],
    mode: SignatureMode,
) -> Result<Vec<u8>, PgpError> {
    let policy = StandardPolicy::new();
    let encryption_keys = encryption_keys(&policy, recipients)?;
    if encryption_keys.is_empty() {
        return Err(PgpError::NoEncryptionKey("no recipient".into()));
    }
    let signing_keys = if signers.is_empty() { Vec::new() } else { sign::signing_keys(signers)? };
    let mut sink = Vec::with_capacity(plaintext.len() + 1024);
    let mut message = Encryptor::for_recipients(Message::new(&mut sink), encryption_keys).build().map_err(other)?;
    if !signing_keys.is_empty() {
        message = sign::signing_layer(message, signing_keys, mode, false, false)?;
    }
    let mut literal = LiteralWriter::new(message).format(mode.literal_format()).build().map_err(other)?;
    literal.write_all(plaintext).map_err(other)?;
    literal.finalize().map_err(other)?;
    Ok(sink)
}

/// Encrypts `packets`, already serialised OpenPGP packets (a literal data packet, compressed
/// data, anything), to `recipients` as they are: what a sender's own software could put inside
/// an encrypted message. Plico writes its messages with [`encrypt_message`]; this is for tests of
/// hostile messages (`tests/data/bomb-*.bin`).
pub fn encrypt_packets(packets: &[u8], recipients: &[Cert]) -> Result<Vec<u8>, PgpError> {
    let policy = StandardPolicy::new();
    let encryption_keys = encryption_keys(&policy, recipients)?;
    let mut sink = Vec::with_capacity(packets.len() + 1024);
    let mut message = Encryptor::for_recipients(Message::new(&mut sink), encryption_keys).build().map_err(other)?;
    message.write_all(packets).map_err(other)?;
    message.finalize().map_err(other)?;
    Ok(sink)
}

/// The signature status of `decrypted` once the signer's certificate `cert` is known: checks the
/// signatures that were by unknown keys against `cert`'s signing keys (valid, not revoked and
/// alive when the signature was made), over the plaintext already decrypted. A status other than
/// "unknown key" stays as it was.
pub fn verify_with(decrypted: &Decrypted, cert: &Cert) -> SignatureStatus {
    if decrypted.signature != SignatureStatus::UnknownKey {
        return decrypted.signature.clone();
    }
    use openpgp::policy::{HashAlgoSecurity, Policy};
    let policy = StandardPolicy::new();
    let mut status = SignatureStatus::UnknownKey;
    for signature in &decrypted.unchecked {
        let issuers = signature.get_issuers();
        // The policy that sequoia's verifier applies to signatures it checks itself: a weak hash
        // (SHA-1, MD5) or a signature the policy rejects is no good.
        let acceptable = policy.signature(signature, HashAlgoSecurity::CollisionResistance).is_ok();
        let Ok(valid) = cert.with_policy(&policy, signature.signature_creation_time()) else { continue };
        for key in valid.keys().for_signing().alive().revoked(false) {
            if !issuers.iter().any(|issuer| issuer.aliases(key.key().key_handle())) {
                continue;
            }
            match signature.verify_message(key.key(), &decrypted.plaintext) {
                Ok(()) if acceptable => status = SignatureStatus::Valid { signer: cert.fingerprint().to_hex() },
                Ok(()) | Err(_) => return SignatureStatus::Bad,
            }
        }
    }
    status
}

/// The primary key's secret material, serialised: the input from which the device's local
/// store derives its key (`plico_local::LocalKey`). Stable for the life of the certificate, and
/// nothing without the unlocked secret key.
pub fn primary_secret_material(cert: &Cert) -> Result<Vec<u8>, PgpError> {
    use openpgp::packet::key::SecretKeyMaterial;
    use openpgp::serialize::MarshalInto;
    match cert.primary_key().key().optional_secret() {
        Some(SecretKeyMaterial::Unencrypted(secret)) => secret.map(|mpis| mpis.to_vec()).map_err(other),
        Some(SecretKeyMaterial::Encrypted(_)) => Err(PgpError::Other("the secret key is still locked".into())),
        None => Err(PgpError::NoSigningKey),
    }
}

/// The fingerprints of every key of a certificate, primary and subkeys, sorted: two
/// certificates with the same set hold the same keys whatever their signatures say.
pub fn key_fingerprints(cert: &Cert) -> Vec<String> {
    let mut fingerprints: Vec<String> = cert.keys().map(|key| key.key().fingerprint().to_hex()).collect();
    fingerprints.sort();
    fingerprints
}

/// The fingerprint of a certificate, uppercase hex.
pub fn fingerprint_hex(cert: &Cert) -> String {
    cert.fingerprint().to_hex()
}

/// Checks, without decrypting, that `bytes` (armored or binary) is an OpenPGP encrypted message
/// and nothing else: one or more public-key or password-encrypted session keys followed by an
/// encrypted container; armored, with nothing before the BEGIN line, no armor headers, and
/// nothing after the END line but white space. The server uses it to refuse plaintext or junk
/// where only ciphertext belongs, and to keep any text from sitting beside ciphertext.
pub fn check_encrypted_message(bytes: &[u8]) -> Result<(), PgpError> {
    check_encrypted(bytes, false)
}

/// [`check_encrypted_message`] for what other OpenPGP software writes (the payload of PGP/MIME
/// mail from the Internet): armor headers such as `Version:` are allowed.
pub fn check_encrypted_message_from_others(bytes: &[u8]) -> Result<(), PgpError> {
    check_encrypted(bytes, true)
}

fn check_encrypted(bytes: &[u8], armor_headers: bool) -> Result<(), PgpError> {
    use openpgp::parse::{PacketParser, PacketParserResult};
    use openpgp::Packet;

    let malformed = |why: &str| PgpError::Other(format!("not an encrypted OpenPGP message: {why}"));
    let trimmed = &bytes[bytes.iter().position(|byte| !byte.is_ascii_whitespace()).unwrap_or(bytes.len())..];
    let binary = if trimmed.starts_with(b"-----BEGIN") {
        if armor_headers {
            armor::dearmor_message_strict(trimmed, true)
        } else {
            armor::dearmor_message_strict(bytes, false)
        }
        .map_err(malformed)?
    } else if bytes.first().is_some_and(|byte| byte & 0x80 != 0) {
        bytes.to_vec()
    } else if bytes.is_empty() {
        return Err(malformed("it is empty"));
    } else {
        return Err(malformed("it is neither OpenPGP packets nor an armored message"));
    };
    let mut parser = match PacketParser::from_bytes(&binary) {
        Ok(PacketParserResult::Some(parser)) => parser,
        Ok(PacketParserResult::EOF(_)) => return Err(malformed("it is empty")),
        Err(error) => return Err(malformed(&error.to_string())),
    };
    let mut session_keys = 0;
    loop {
        match &parser.packet {
            Packet::PKESK(_) | Packet::SKESK(_) => session_keys += 1,
            Packet::SEIP(_) if session_keys > 0 => break,
            Packet::SEIP(_) => return Err(malformed("it has no session key")),
            other => return Err(malformed(&format!("unexpected {} packet", other.tag()))),
        }
        // `next` skips the container's body: we never try to decrypt it.
        parser = match parser.next() {
            Ok((_, PacketParserResult::Some(next))) => next,
            Ok((_, PacketParserResult::EOF(_))) => return Err(malformed("it ends before the encrypted data")),
            Err(error) => return Err(malformed(&error.to_string())),
        };
    }
    // The encrypted container must reach the end of the input: nothing may trail it.
    let end = match parser.next() {
        Ok((_, PacketParserResult::EOF(_))) => Ok(()),
        Ok((_, PacketParserResult::Some(_))) => Err(malformed("data follows the encrypted container")),
        Err(error) => Err(malformed(&error.to_string())),
    };
    end
}
