//! The browser's own AES and SHA-1 (WebCrypto) under sequoia, where sequoia's pure-Rust cipher
//! in wasm is the slow part: SEIPDv1's AES-256-CFB and its SHA-1 MDC. Sequoia still does
//! everything else (keys, the session key's encryption, the signature, the packet framing),
//! through [`crate::plan_seipdv1`] and [`crate::finish_seipdv1`].
//!
//! CFB encryption is sequential, but WebCrypto's AES-CBC computes it in one call: with a zero
//! IV, CBC over the blocks `0, P1, P2, …, Pn-1` outputs `E(0), E(C1), …, E(Cn-1)`, which is
//! exactly CFB's keystream, so `C = P xor CBC(0 || P[..n-1])` (OpenPGP.js does the same).

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesCbcParams, CryptoKey, SubtleCrypto};

use crate::{Cert, PgpError};

const BLOCK: usize = 16;

fn failed(what: &str, error: JsValue) -> PgpError {
    PgpError::Other(format!("WebCrypto {what}: {}", error.as_string().unwrap_or_else(|| format!("{error:?}"))))
}

fn subtle() -> Result<SubtleCrypto, PgpError> {
    Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .ok()
        .and_then(|crypto| crypto.dyn_into::<web_sys::Crypto>().ok())
        .map(|crypto| crypto.subtle())
        .ok_or_else(|| PgpError::Other("this browser offers no WebCrypto here".into()))
}

/// SHA-1 of `data`, by WebCrypto.
pub async fn sha1(data: &[u8]) -> Result<Vec<u8>, PgpError> {
    let promise = subtle()?.digest_with_str_and_u8_array("SHA-1", data).map_err(|error| failed("SHA-1", error))?;
    let digest = JsFuture::from(promise).await.map_err(|error| failed("SHA-1", error))?;
    Ok(Uint8Array::new(&digest).to_vec())
}

/// AES-256-CFB with a zero IV (OpenPGP's SEIPD), by WebCrypto's AES-CBC.
pub async fn aes256_cfb_encrypt(key: &[u8], data: &[u8]) -> Result<Vec<u8>, PgpError> {
    let subtle = subtle()?;
    let usages = js_sys::Array::of1(&JsValue::from_str("encrypt"));
    let algorithm = Object::new();
    let _ = Reflect::set(&algorithm, &JsValue::from_str("name"), &JsValue::from_str("AES-CBC"));
    let key_bytes = Uint8Array::from(key);
    let import = subtle
        .import_key_with_object("raw", &key_bytes, &algorithm, false, &usages)
        .map_err(|error| failed("key import", error))?;
    let key: CryptoKey = JsFuture::from(import).await.map_err(|error| failed("key import", error))?.unchecked_into();

    let blocks = data.len().div_ceil(BLOCK);
    if blocks == 0 {
        return Ok(Vec::new());
    }
    // 0 || P1 … Pn-1: every block but the last, shifted one block along.
    let mut shifted = vec![0u8; blocks * BLOCK];
    shifted[BLOCK..].copy_from_slice(&data[..(blocks - 1) * BLOCK]);
    let iv = Uint8Array::from(&[0u8; BLOCK][..]);
    let params = AesCbcParams::new("AES-CBC", &iv);
    let encrypt =
        subtle.encrypt_with_object_and_u8_array(&params, &key, &shifted).map_err(|error| failed("AES-CBC", error))?;
    let keystream = JsFuture::from(encrypt).await.map_err(|error| failed("AES-CBC", error))?;
    let mut out = Uint8Array::new(&keystream).to_vec();
    out.truncate(data.len());
    for (byte, plain) in out.iter_mut().zip(data) {
        *byte ^= plain;
    }
    Ok(out)
}

/// [`crate::encrypt_and_sign`], with the bulk cipher in WebCrypto where that is faster: SEIPDv1
/// (a recipient without AEAD) goes through [`aes256_cfb_encrypt`]; SEIPDv2 (AES-OCB, which
/// WebCrypto lacks) stays in sequoia, where it is already several times faster than OpenPGP.js.
pub async fn encrypt_and_sign(plaintext: &[u8], recipients: &[Cert], signer: &Cert) -> Result<Vec<u8>, PgpError> {
    if crate::all_support_aead(recipients) {
        return crate::encrypt_and_sign(plaintext, recipients, signer);
    }
    let mut plan = crate::plan_seipdv1(plaintext, recipients, signer)?;
    let mdc = sha1(&plan.plaintext).await?;
    plan.plaintext.extend_from_slice(&mdc);
    let ciphertext = aes256_cfb_encrypt(&plan.session_key, &plan.plaintext).await?;
    crate::finish_seipdv1(&plan.esks, &ciphertext)
}

/// [`crate::decrypt_and_verify`], with SEIPDv1's MDC hashed by WebCrypto (sequoia hashes it
/// with collision-detecting SHA-1, slow in wasm); everything else goes to sequoia whole.
pub async fn decrypt_and_verify(
    message: &[u8],
    secrets: &[Cert],
    verifiers: &[Cert],
) -> Result<crate::Decrypted, PgpError> {
    let Some(envelope) = crate::open_seipdv1_envelope(message, secrets)? else {
        return crate::decrypt_with_keys(message, secrets, verifiers, crate::MAX_PLAINTEXT_BYTES);
    };
    let plaintext = envelope.decrypt()?;
    let mdc = sha1(crate::Envelope::hashed(&plaintext)).await?;
    crate::Envelope::finish(&plaintext, &mdc, secrets, verifiers)
}
