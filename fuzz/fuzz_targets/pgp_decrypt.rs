//! Arbitrary bytes through the decryption every sealed summary, sealed document and message
//! takes (issue 20, item 4): as a whole message, and as the body of a message encrypted to the
//! key the fuzzer holds, so that what lies inside the encryption (compression, literal data,
//! signatures) is reached too. Nothing may panic, no plaintext may pass the cap, and the
//! ciphertext check must never accept what it calls ciphertext and then fail to parse.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// The cap the fuzzer holds decryption to: small, so that a bomb shows quickly.
const CAP: usize = 1 << 20;

fn key() -> &'static (plico_pgp::Certificate, plico_pgp::Certificate) {
    static KEY: OnceLock<(plico_pgp::Certificate, plico_pgp::Certificate)> = OnceLock::new();
    KEY.get_or_init(|| {
        let generated = plico_pgp::generate_cert("fuzz@plico.test").expect("a key");
        let secret = plico_pgp::parse_cert(&generated.secret_key).expect("parses");
        let public = secret.clone().strip_secret_key_material();
        (secret, public)
    })
}

fuzz_target!(|data: &[u8]| {
    let (secret, public) = key();
    let _ = plico_pgp::check_encrypted_message(data);
    if let Ok(opened) = plico_pgp::decrypt_and_verify_within(data, secret, std::slice::from_ref(public), CAP) {
        assert!(opened.plaintext.len() <= CAP);
    }
    // The same bytes as the packets inside an encryption to our key.
    if let Ok(sealed) = plico_pgp::encrypt_packets(data, std::slice::from_ref(public)) {
        match plico_pgp::decrypt_and_verify_within(&sealed, secret, std::slice::from_ref(public), CAP) {
            Ok(opened) => {
                assert!(opened.plaintext.len() <= CAP);
                let _ = plico_pgp::verify_with(&opened, public);
            }
            Err(_) => {}
        }
    }
});
