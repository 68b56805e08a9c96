//! Key generation, with the secret keys kept out of sequoia's protected memory.
//!
//! Sequoia keeps every secret key encrypted in memory and unseals it for each use: a SHA-256
//! over a 16 KiB pre-key and an AES pass, about 0.12 ms in wasm each time. Making a certificate
//! with sequoia's key types paid that seven times (two keys sealed, two signatures, two keys
//! unsealed to write them out, plus the signer's copy), most of the 1.6 ms that made key
//! generation slower than OpenPGP.js.
//!
//! Here the two secrets live in plain buffers for the few microseconds the certificate takes
//! and are wiped on drop: the Ed25519 seed in ed25519-dalek's `SigningKey`, the X25519 scalar
//! in a `Zeroizing` array. Sequoia still builds everything public (key packets, User ID,
//! signatures and their subpackets); the signatures go through [`Signer`], and only the two
//! secret-key packets are written here, which is a public-key body followed by three fields
//! (RFC 9580 section 5.5.3). The same curve crates sequoia's backend uses do the arithmetic.

use sequoia_openpgp as openpgp;

use openpgp::crypto::mpi;
use openpgp::packet::key::{Key4, PrimaryRole, PublicParts, SubordinateRole, UnspecifiedRole};
use openpgp::packet::signature::SignatureBuilder;
use openpgp::packet::{Key, UserID};
use openpgp::serialize::Marshal;
use openpgp::types::{Features, HashAlgorithm, KeyFlags, SignatureType, SymmetricAlgorithm};
use openpgp::Packet;
use zeroize::Zeroizing;

use crate::{armor, other, GeneratedKey, PgpError};

/// Packet tags (RFC 9580 section 5).
const SECRET_KEY_TAG: u8 = 5;
const SECRET_SUBKEY_TAG: u8 = 7;

/// Signs with an Ed25519 key held by ed25519-dalek rather than by sequoia.
struct Ed25519Signer {
    public: Key<PublicParts, UnspecifiedRole>,
    secret: ed25519_dalek::SigningKey,
}

impl openpgp::crypto::Signer for Ed25519Signer {
    fn public(&self) -> &Key<PublicParts, UnspecifiedRole> {
        &self.public
    }

    fn sign(&mut self, _hash_algo: HashAlgorithm, digest: &[u8]) -> openpgp::Result<mpi::Signature> {
        use ed25519_dalek::Signer;
        let signature = self.secret.sign(digest).to_bytes();
        Ok(mpi::Signature::EdDSA { r: mpi::MPI::new(&signature[..32]), s: mpi::MPI::new(&signature[32..]) })
    }
}

/// Appends `value` as an OpenPGP MPI: a two-octet bit count, then the big-endian value without
/// leading zero octets.
fn push_mpi(out: &mut Vec<u8>, value: &[u8]) {
    let value = &value[value.iter().position(|&byte| byte != 0).unwrap_or(value.len())..];
    let bits = match value.first() {
        Some(&first) => value.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    };
    out.extend_from_slice(&(bits as u16).to_be_bytes());
    out.extend_from_slice(value);
}

/// Writes a version 4 secret-key packet, unprotected: the public key's body, S2K usage 0, the
/// secret MPI and its two-octet checksum (the sum of the MPI's octets, modulo 65536). The
/// packet is sealed as a whole by the caller before it leaves the browser.
fn write_secret_key_packet<R: openpgp::packet::key::KeyRole>(
    out: &mut Vec<u8>,
    tag: u8,
    public: &Key<PublicParts, R>,
    secret: &[u8],
) -> Result<(), PgpError> {
    let mut body = Zeroizing::new(Vec::with_capacity(128));
    public.serialize(&mut *body).map_err(other)?;
    body.push(0);
    let start = body.len();
    push_mpi(&mut body, secret);
    let checksum = body[start..].iter().fold(0u16, |sum, &byte| sum.wrapping_add(u16::from(byte)));
    body.extend_from_slice(&checksum.to_be_bytes());
    // New-format header; the body is always under 192 octets for these curves, but write the
    // two-octet length form too rather than assume it.
    out.push(0xC0 | tag);
    match body.len() {
        len @ 0..=191 => out.push(len as u8),
        len @ 192..=8383 => {
            let len = len - 192;
            out.push((len >> 8) as u8 + 192);
            out.push((len & 0xFF) as u8);
        }
        _ => return Err(PgpError::Other("secret key packet too long".into())),
    }
    out.extend_from_slice(&body);
    Ok(())
}

fn append_packet(out: &mut Vec<u8>, packet: Packet) -> Result<(), PgpError> {
    packet.serialize(out).map_err(other)
}

/// See [`crate::generate_key`]: the first User ID is the primary one; with none, the key's
/// flags and preferences go on a direct-key signature instead (RFC 9580 section 5.2.3.10).
pub(crate) fn generate_key(user_ids: &[&str]) -> Result<GeneratedKey, PgpError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    openpgp::crypto::random(&mut *seed).map_err(other)?;
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    // No creation time given: sequoia's clock, which works in the browser too.
    let primary: Key<PublicParts, PrimaryRole> =
        Key4::import_public_ed25519(signing.verifying_key().as_bytes(), None).map_err(other)?.into();
    let created = primary.creation_time();

    // X25519 keeps the scalar little-endian and clamps it when used; OpenPGP stores it clamped
    // and big-endian (sequoia and GnuPG do the same).
    let mut scalar = Zeroizing::new([0u8; 32]);
    openpgp::crypto::random(&mut *scalar).map_err(other)?;
    scalar[0] &= 248;
    scalar[31] &= 127;
    scalar[31] |= 64;
    let encryption_public = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*scalar));
    let subkey: Key<PublicParts, SubordinateRole> =
        Key4::import_public_cv25519(encryption_public.as_bytes(), None, None, created).map_err(other)?.into();
    let mut scalar_be = Zeroizing::new(*scalar);
    scalar_be.reverse();

    let mut signer = Ed25519Signer { public: primary.clone().role_into_unspecified(), secret: signing };
    // The self-signature that carries the key's flags and preferences: on each User ID's
    // binding (the first marked primary), or on the key itself when it has no User ID.
    let preferences = |typ: SignatureType| -> Result<SignatureBuilder, PgpError> {
        SignatureBuilder::new(typ)
            .set_hash_algo(HashAlgorithm::SHA512)
            .set_signature_creation_time(created)
            .and_then(|sig| sig.set_key_flags(KeyFlags::empty().set_certification().set_signing()))
            .and_then(|sig| sig.set_features(Features::sequoia()))
            .and_then(|sig| sig.set_preferred_hash_algorithms(vec![HashAlgorithm::SHA512, HashAlgorithm::SHA256]))
            .and_then(|sig| {
                sig.set_preferred_symmetric_algorithms(vec![SymmetricAlgorithm::AES256, SymmetricAlgorithm::AES128])
            })
            .map_err(other)
    };
    let mut bindings: Vec<Packet> = Vec::with_capacity(2 * user_ids.len().max(1));
    if user_ids.is_empty() {
        let direct = preferences(SignatureType::DirectKey)?.sign_direct_key(&mut signer, &primary).map_err(other)?;
        bindings.push(direct.into());
    }
    for (index, user_id) in user_ids.iter().enumerate() {
        let userid = UserID::from(*user_id);
        let binding = preferences(SignatureType::PositiveCertification)?
            .set_primary_userid(index == 0)
            .and_then(|sig| sig.sign_userid_binding(&mut signer, &primary, &userid))
            .map_err(other)?;
        bindings.push(userid.into());
        bindings.push(binding.into());
    }
    let subkey_binding = SignatureBuilder::new(SignatureType::SubkeyBinding)
        .set_hash_algo(HashAlgorithm::SHA512)
        .set_signature_creation_time(created)
        .and_then(|sig| sig.set_key_flags(KeyFlags::empty().set_transport_encryption().set_storage_encryption()))
        .and_then(|sig| sig.sign_subkey_binding(&mut signer, &primary, &subkey))
        .map_err(other)?;
    let fingerprint = primary.fingerprint().to_hex();

    let mut public = Vec::with_capacity(512);
    let mut secret = Vec::with_capacity(640);
    write_secret_key_packet(&mut secret, SECRET_KEY_TAG, &primary, &seed[..])?;
    append_packet(&mut public, Packet::PublicKey(primary))?;
    for packet in bindings {
        append_packet(&mut secret, packet.clone())?;
        append_packet(&mut public, packet)?;
    }
    write_secret_key_packet(&mut secret, SECRET_SUBKEY_TAG, &subkey, &scalar_be[..])?;
    append_packet(&mut public, Packet::PublicSubkey(subkey))?;
    append_packet(&mut secret, subkey_binding.clone().into())?;
    append_packet(&mut public, subkey_binding.into())?;

    let public_cert_armored = String::from_utf8(armor::armor(armor::Kind::PublicKey, &public, true)).map_err(other)?;
    Ok(GeneratedKey { secret_key: secret, public_cert_armored, fingerprint })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpis_drop_leading_zeros_and_count_bits() {
        let mut out = Vec::new();
        push_mpi(&mut out, &[0, 0, 0x01, 0xFF]);
        assert_eq!(out, [0, 9, 0x01, 0xFF]);
        out.clear();
        push_mpi(&mut out, &[0x40; 32]);
        assert_eq!(&out[..3], &[0, 0xFF, 0x40]);
        assert_eq!(out.len(), 34);
        out.clear();
        push_mpi(&mut out, &[0, 0]);
        assert_eq!(out, [0, 0]);
    }

    /// The packets written by hand are byte for byte what sequoia writes for the same keys, the
    /// signatures verify, and the keys do their jobs.
    #[test]
    fn the_certificate_is_what_sequoia_would_write_and_it_works() {
        use openpgp::parse::Parse;
        use openpgp::policy::StandardPolicy;
        use openpgp::serialize::SerializeInto;

        for _ in 0..16 {
            let generated = generate_key(&["<alice@plico.test>"]).expect("generates");
            let tsk = openpgp::Cert::from_bytes(&generated.secret_key).expect("parses");
            assert_eq!(tsk.as_tsk().to_vec().expect("serialises"), generated.secret_key);
            let public = openpgp::Cert::from_bytes(generated.public_cert_armored.as_bytes()).expect("parses");
            assert!(!public.is_tsk());
            assert_eq!(public.fingerprint().to_hex(), generated.fingerprint);
            assert_eq!(
                armor::armor(armor::Kind::PublicKey, &public.to_vec().expect("serialises"), true),
                generated.public_cert_armored.as_bytes()
            );

            let policy = StandardPolicy::new();
            let valid = tsk.with_policy(&policy, None).expect("valid under the standard policy");
            assert_eq!(valid.primary_userid().expect("bound user ID").userid().value(), b"<alice@plico.test>");
            assert!(valid.primary_key().for_certification() && valid.primary_key().for_signing());
            let subkeys: Vec<_> = valid.keys().subkeys().for_storage_encryption().secret().collect();
            assert_eq!(subkeys.len(), 1);
            // Both secrets are the ones the public keys belong to.
            let mut keypair = valid
                .primary_key()
                .key()
                .clone()
                .parts_into_secret()
                .expect("secret")
                .into_keypair()
                .expect("primary keypair");
            let signature = openpgp::packet::signature::SignatureBuilder::new(SignatureType::Binary)
                .sign_message(&mut keypair, b"hello")
                .expect("signs");
            signature.verify_message(valid.primary_key().key(), b"hello").expect("verifies");
            let message = crate::encrypt_and_sign(b"to myself", std::slice::from_ref(&public), &tsk).expect("encrypts");
            let opened = crate::decrypt_and_verify(&message, &tsk, std::slice::from_ref(&public)).expect("decrypts");
            assert_eq!(opened.plaintext, b"to myself");
        }
    }
}
