//! Signatures with their details: detached and inline signing by several keys, in binary or
//! text mode, and verification that says which key made each good signature and when. This is
//! what the Stateless OpenPGP command line (`crates/sop`) is built on; the mail paths use the
//! simpler [`crate::sign_detached`] and [`crate::verify_detached`].

use std::io::Write;
use std::time::SystemTime;

use sequoia_openpgp as openpgp;

use openpgp::packet::signature::SignatureBuilder;
use openpgp::parse::stream::{
    DetachedVerifierBuilder, MessageLayer, MessageStructure, VerificationHelper, VerifierBuilder,
};
use openpgp::parse::Parse;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{LiteralWriter, Message, Signer};
use openpgp::types::{DataFormat, SignatureType};
use openpgp::{Cert, KeyHandle};

use crate::{other, signing_keypair, PgpError};

/// Binary or text signatures (RFC 9580 section 5.2.1: type 0x00 or 0x01). A text signature is
/// made over the data with its line endings as CRLF, so it survives a change of line endings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMode {
    Binary,
    Text,
}

impl SignatureMode {
    fn signature_type(self) -> SignatureType {
        match self {
            SignatureMode::Binary => SignatureType::Binary,
            SignatureMode::Text => SignatureType::Text,
        }
    }

    pub(crate) fn literal_format(self) -> DataFormat {
        match self {
            SignatureMode::Binary => DataFormat::Binary,
            SignatureMode::Text => DataFormat::Unicode,
        }
    }
}

/// A signature that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// When the signature says it was made.
    pub created: SystemTime,
    /// The fingerprint of the key (primary or subkey) that made it, uppercase hex.
    pub signing_key: String,
    /// The fingerprint of that key's certificate, uppercase hex.
    pub signer: String,
    pub mode: SignatureMode,
}

/// Collects the good signatures of a message; bad ones and unknown signers are left out.
pub(crate) struct Verifications<'a> {
    pub(crate) certs: &'a [Cert],
    pub(crate) good: Vec<Verification>,
}

impl Verifications<'_> {
    pub(crate) fn collect(&mut self, structure: &MessageStructure) {
        for layer in structure.iter() {
            if let MessageLayer::SignatureGroup { results } = layer {
                for good in results.iter().flatten() {
                    self.good.push(Verification {
                        created: good.sig.signature_creation_time().unwrap_or(SystemTime::UNIX_EPOCH),
                        signing_key: good.ka.key().fingerprint().to_hex(),
                        signer: good.ka.cert().fingerprint().to_hex(),
                        mode: match good.sig.typ() {
                            SignatureType::Text => SignatureMode::Text,
                            _ => SignatureMode::Binary,
                        },
                    });
                }
            }
        }
    }
}

impl VerificationHelper for Verifications<'_> {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.certs.to_vec())
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        self.collect(&structure);
        Ok(())
    }
}

/// A signer for each certificate, each with its signing key's secret; a certificate without one
/// is [`PgpError::NoSigningKey`].
fn signers(policy: &StandardPolicy, certs: &[Cert]) -> Result<Vec<openpgp::crypto::KeyPair>, PgpError> {
    if certs.is_empty() {
        return Err(PgpError::NoSigningKey);
    }
    certs.iter().map(|cert| signing_keypair(policy, cert)).collect()
}

/// Wraps `message` in one-pass signatures by every key of `signers`.
pub(crate) fn signing_layer<'a>(
    message: Message<'a>,
    signers: Vec<openpgp::crypto::KeyPair>,
    mode: SignatureMode,
    detached: bool,
    cleartext: bool,
) -> Result<Message<'a>, PgpError> {
    let mut signers = signers.into_iter();
    let first = signers.next().ok_or(PgpError::NoSigningKey)?;
    let mut signer =
        Signer::with_template(message, first, SignatureBuilder::new(mode.signature_type())).map_err(other)?;
    for next in signers {
        signer = signer.add_signer(next).map_err(other)?;
    }
    if detached {
        signer = signer.detached();
    }
    if cleartext {
        signer = signer.cleartext();
    }
    signer.build().map_err(other)
}

pub(crate) fn signing_keys(certs: &[Cert]) -> Result<Vec<openpgp::crypto::KeyPair>, PgpError> {
    let policy = StandardPolicy::new();
    signers(&policy, certs)
}

/// Detached signatures over `data`, one by each of `signers`, binary (armor them with
/// [`crate::armor`]).
pub fn sign_detached_by(data: &[u8], signers: &[Cert], mode: SignatureMode) -> Result<Vec<u8>, PgpError> {
    let keys = signing_keys(signers)?;
    let mut sink = Vec::with_capacity(128 * signers.len());
    let mut message = signing_layer(Message::new(&mut sink), keys, mode, true, false)?;
    message.write_all(data).map_err(other)?;
    message.finalize().map_err(other)?;
    Ok(sink)
}

/// The signatures in `signatures` (armored or binary) over `data` that a key of `certs` made and
/// that check out under the standard policy now. Bad or unverifiable ones are left out; an
/// unreadable signature block is an error.
pub fn verify_detached_by(data: &[u8], signatures: &[u8], certs: &[Cert]) -> Result<Vec<Verification>, PgpError> {
    let policy = StandardPolicy::new();
    let helper = Verifications { certs, good: Vec::new() };
    let mut verifier = DetachedVerifierBuilder::from_bytes(signatures)
        .map_err(|e| PgpError::Other(format!("the signatures could not be read: {e}")))?
        .with_policy(&policy, None, helper)
        .map_err(|e| PgpError::Other(format!("the signatures could not be read: {e}")))?;
    // A verifier whose helper returns Ok never fails for bad signatures, only for broken input.
    verifier.verify_bytes(data).map_err(|e| PgpError::Other(format!("the signatures could not be checked: {e}")))?;
    Ok(verifier.into_helper().good)
}

/// How an inline-signed message is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InlineForm {
    /// One-pass signatures around a literal data packet (binary; armor it for text).
    Packets(SignatureMode),
    /// The Cleartext Signature Framework (RFC 9580 section 7): readable text, then the
    /// signatures armored. Always text mode.
    Cleartext,
}

/// `data` signed inline by every key of `signers`.
pub fn sign_inline(data: &[u8], signers: &[Cert], form: InlineForm) -> Result<Vec<u8>, PgpError> {
    let keys = signing_keys(signers)?;
    let mut sink = Vec::with_capacity(data.len() + 256 * signers.len());
    match form {
        InlineForm::Packets(mode) => {
            let message = signing_layer(Message::new(&mut sink), keys, mode, false, false)?;
            let mut literal = LiteralWriter::new(message).format(mode.literal_format()).build().map_err(other)?;
            literal.write_all(data).map_err(other)?;
            literal.finalize().map_err(other)?;
        }
        InlineForm::Cleartext => {
            let mut message = signing_layer(Message::new(&mut sink), keys, SignatureMode::Text, false, true)?;
            message.write_all(data).map_err(other)?;
            message.finalize().map_err(other)?;
        }
    }
    Ok(sink)
}

/// The data inside an inline-signed message (one-pass signed packets, armored or binary, or a
/// cleartext-signed text) and the signatures on it that a key of `certs` made and that check out.
pub fn verify_inline(message: &[u8], certs: &[Cert]) -> Result<(Vec<u8>, Vec<Verification>), PgpError> {
    let policy = StandardPolicy::new();
    let helper = Verifications { certs, good: Vec::new() };
    let unreadable = |e: openpgp::anyhow::Error| PgpError::Other(format!("the signed message could not be read: {e}"));
    let mut verifier = VerifierBuilder::from_bytes(message)
        .map_err(unreadable)?
        .with_policy(&policy, None, helper)
        .map_err(unreadable)?;
    let mut data = Vec::with_capacity(message.len());
    std::io::copy(&mut verifier, &mut data)
        .map_err(|e| PgpError::Other(format!("the signed message could not be read: {e}")))?;
    Ok((data, verifier.into_helper().good))
}
