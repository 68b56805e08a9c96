//! WebCrypto under sequoia, in headless Chromium (in a dedicated worker, where Plico runs it):
//! what the browser's AES-CBC makes of SEIPDv1 must be what sequoia's own CFB reads back.

#![cfg(target_arch = "wasm32")]

use plico_pgp::*;
use sequoia_openpgp::cert::prelude::*;
use sequoia_openpgp::types::Features;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn v1_only(address: &str) -> Certificate {
    CertBuilder::general_purpose(Some(format!("<{address}>")))
        .set_cipher_suite(CipherSuite::Cv25519)
        .set_features(Features::empty().set_seipdv1())
        .expect("features")
        .generate()
        .expect("generates")
        .0
}

#[wasm_bindgen_test]
async fn seipdv1_through_webcrypto_decrypts_and_verifies_in_sequoia() {
    let peer = v1_only("peer@example.org");
    let alice = parse_cert(&generate_cert("alice@plico.test").expect("alice").secret_key).expect("parses");
    assert!(!all_support_aead(&[peer.clone(), alice.clone()]));
    for size in [0usize, 1, 15, 16, 17, 4_095, 100_003] {
        let text: Vec<u8> = (0..size).map(|n| (n % 253) as u8).collect();
        let message = web::encrypt_and_sign(&text, &[peer.clone(), alice.clone()], &alice).await.expect("encrypts");
        for reader in [&peer, &alice] {
            let opened = decrypt_and_verify(&message, reader, std::slice::from_ref(&alice)).expect("decrypts");
            assert_eq!(opened.plaintext, text, "size {size}");
            assert_eq!(opened.signature, SignatureStatus::Valid { signer: alice.fingerprint().to_hex() });
            // And back through WebCrypto's SHA-1 for the MDC.
            let opened = web::decrypt_and_verify(&message, std::slice::from_ref(reader), std::slice::from_ref(&alice))
                .await
                .expect("opens");
            assert_eq!(opened.plaintext, text, "size {size}");
            assert_eq!(opened.signature, SignatureStatus::Valid { signer: alice.fingerprint().to_hex() });
        }
        // A flipped bit is refused, whichever path reads it.
        if size > 0 {
            let mut tampered = message.clone();
            let at = tampered.len() / 2;
            tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
            assert!(web::decrypt_and_verify(&tampered, std::slice::from_ref(&peer), &[]).await.is_err(), "size {size}");
        }
    }
}

#[wasm_bindgen_test]
async fn webcrypto_cfb_is_cfb() {
    // AES-256-CFB, zero IV, against sequoia reading it: a one-block and a ragged input.
    let key = [7u8; 32];
    let one = web::aes256_cfb_encrypt(&key, &[0u8; 16]).await.expect("encrypts");
    let again = web::aes256_cfb_encrypt(&key, &[0u8; 16]).await.expect("encrypts");
    assert_eq!(one, again, "deterministic for the same key and IV");
    let ragged = web::aes256_cfb_encrypt(&key, &[0u8; 37]).await.expect("encrypts");
    assert_eq!(ragged.len(), 37);
    assert_eq!(&ragged[..16], &one[..], "the first block is E(0) either way");
    assert_eq!(web::sha1(b"abc").await.expect("digest")[..4], [0xa9, 0x99, 0x3e, 0x36]);
    // With AEAD on every side the message is SEIPDv2, from sequoia alone.
    let alice = parse_cert(&generate_cert("alice@plico.test").expect("alice").secret_key).expect("parses");
    let message = web::encrypt_and_sign(b"hi", std::slice::from_ref(&alice), &alice).await.expect("encrypts");
    assert!(all_support_aead(std::slice::from_ref(&alice)));
    assert_eq!(decrypt_and_verify(&message, &alice, &[]).expect("decrypts").plaintext, b"hi");
}
