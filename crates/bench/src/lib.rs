//! What `cargo xtask bench` measures in headless Chromium, next to OpenPGP.js in the same page:
//! Cv25519 key generation, and encrypt+sign / decrypt+verify, with Plico's own code; and the
//! same with a post-quantum key (RFC 9980, which OpenPGP.js 6 lacks) beside the classical figures
//! (`plico-pgp`, which is what the worker runs) built with the release profile the worker uses.
//!
//! Two certificate kinds, to compare like with like: Plico's keys (v4, advertising SEIPDv2, so
//! sequoia encrypts with AEAD: AES-OCB) and keys that advertise only SEIPDv1 (AES-CFB with an
//! MDC), which is what OpenPGP.js produces by default.

#[cfg(target_arch = "wasm32")]
pub mod contacts;
#[cfg(target_arch = "wasm32")]
pub mod pow;
#[cfg(target_arch = "wasm32")]
pub mod search;

use std::cell::RefCell;

use openpgp::cert::prelude::*;
use openpgp::types::Features;
use sequoia_openpgp as openpgp;
use wasm_bindgen::prelude::*;

thread_local! {
    /// The certificates the encrypt and decrypt calls use: (AEAD, SEIPDv1).
    static CERTS: RefCell<Option<(openpgp::Cert, openpgp::Cert)>> = const { RefCell::new(None) };
    /// The post-quantum certificate (RFC 9980) the `_pq` calls use.
    static PQ_CERT: RefCell<Option<openpgp::Cert>> = const { RefCell::new(None) };
}

fn fail(error: impl std::fmt::Display) -> JsError {
    JsError::new(&error.to_string())
}

/// One Cv25519 certificate as Plico makes it at sign-up; returns the fingerprint.
#[wasm_bindgen]
pub fn generate() -> Result<String, JsError> {
    plico_pgp::generate_cert("bench@plico.test").map(|key| key.fingerprint).map_err(fail)
}

fn seipdv1_cert() -> Result<openpgp::Cert, JsError> {
    let (cert, _) = CertBuilder::general_purpose(Some("<bench-v1@plico.test>"))
        .set_cipher_suite(CipherSuite::Cv25519)
        .set_features(Features::empty().set_seipdv1())
        .map_err(fail)?
        .generate()
        .map_err(fail)?;
    Ok(cert)
}

/// Makes the two certificates the other calls use.
#[wasm_bindgen]
pub fn setup() -> Result<(), JsError> {
    let aead =
        plico_pgp::parse_cert(&plico_pgp::generate_cert("bench@plico.test").map_err(fail)?.secret_key).map_err(fail)?;
    let v1 = seipdv1_cert()?;
    CERTS.with(|certs| *certs.borrow_mut() = Some((aead, v1)));
    let pq = plico_pgp::parse_cert(&plico_pgp::generate_pq_cert("bench-pq@plico.test").map_err(fail)?.secret_key)
        .map_err(fail)?;
    PQ_CERT.with(|cert| *cert.borrow_mut() = Some(pq));
    Ok(())
}

/// One post-quantum certificate (v6, ML-DSA-65+Ed25519 and ML-KEM-768+X25519), as the keys
/// worker makes it when a user opts in; returns the fingerprint.
#[wasm_bindgen]
pub fn generate_pq() -> Result<String, JsError> {
    plico_pgp::generate_pq_cert("bench-pq@plico.test").map(|key| key.fingerprint).map_err(fail)
}

fn pq_cert() -> Result<openpgp::Cert, JsError> {
    PQ_CERT.with(|cert| cert.borrow().clone().ok_or_else(|| JsError::new("call setup() first")))
}

/// Encrypts `plaintext` to the post-quantum certificate and signs it with the same (ML-KEM and
/// ML-DSA, AEAD); returns the armored message.
#[wasm_bindgen]
pub async fn encrypt_pq(plaintext: Vec<u8>) -> Result<Vec<u8>, JsError> {
    let cert = pq_cert()?;
    plico_pgp::encrypt_and_sign(&plaintext, std::slice::from_ref(&cert), &cert).map_err(fail)
}

/// Decrypts and verifies what [`encrypt_pq`] made; returns the plaintext's length.
#[wasm_bindgen]
pub async fn decrypt_pq(ciphertext: Vec<u8>) -> Result<usize, JsError> {
    let cert = pq_cert()?;
    let opened = plico_pgp::decrypt_and_verify(&ciphertext, &cert, std::slice::from_ref(&cert)).map_err(fail)?;
    match opened.signature {
        plico_pgp::SignatureStatus::Valid { .. } => Ok(opened.plaintext.len()),
        other => Err(JsError::new(&format!("signature: {other:?}"))),
    }
}

fn cert(aead: bool) -> Result<openpgp::Cert, JsError> {
    CERTS.with(|certs| {
        certs
            .borrow()
            .as_ref()
            .map(|(with_aead, v1)| if aead { with_aead.clone() } else { v1.clone() })
            .ok_or_else(|| JsError::new("call setup() first"))
    })
}

/// Encrypts `plaintext` to the certificate of the chosen kind and signs it with the same one,
/// as the worker does (SEIPDv1's cipher through WebCrypto); returns the armored message.
#[wasm_bindgen]
pub async fn encrypt(plaintext: Vec<u8>, aead: bool) -> Result<Vec<u8>, JsError> {
    let cert = cert(aead)?;
    #[cfg(target_arch = "wasm32")]
    let encrypted = plico_pgp::web::encrypt_and_sign(&plaintext, std::slice::from_ref(&cert), &cert).await;
    #[cfg(not(target_arch = "wasm32"))]
    let encrypted = plico_pgp::encrypt_and_sign(&plaintext, std::slice::from_ref(&cert), &cert);
    encrypted.map_err(fail)
}

/// Decrypts and verifies what [`encrypt`] made, as the worker does (SEIPDv1's MDC through
/// WebCrypto); returns the plaintext's length, and fails unless the signature is valid.
#[wasm_bindgen]
pub async fn decrypt(ciphertext: Vec<u8>, aead: bool) -> Result<usize, JsError> {
    let cert = cert(aead)?;
    #[cfg(target_arch = "wasm32")]
    let opened =
        plico_pgp::web::decrypt_and_verify(&ciphertext, std::slice::from_ref(&cert), std::slice::from_ref(&cert)).await;
    #[cfg(not(target_arch = "wasm32"))]
    let opened = plico_pgp::decrypt_and_verify(&ciphertext, &cert, std::slice::from_ref(&cert));
    let opened = opened.map_err(fail)?;
    match opened.signature {
        plico_pgp::SignatureStatus::Valid { .. } => Ok(opened.plaintext.len()),
        other => Err(JsError::new(&format!("signature: {other:?}"))),
    }
}

/// Whether the message [`encrypt`] makes for this kind uses SEIPDv2 (AEAD).
#[wasm_bindgen]
pub fn uses_aead(ciphertext: &[u8]) -> bool {
    use openpgp::parse::{PacketParser, PacketParserResult, Parse};
    let Ok(mut result) = PacketParser::from_bytes(ciphertext) else { return false };
    while let PacketParserResult::Some(parser) = result {
        if let openpgp::Packet::SEIP(seip) = &parser.packet {
            return seip.version() == 2;
        }
        match parser.next() {
            Ok((_, next)) => result = next,
            Err(_) => return false,
        }
    }
    false
}
