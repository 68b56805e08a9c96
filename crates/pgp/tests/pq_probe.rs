//! Probe (issue 23 planning): does plico-pgp encrypt to, decrypt with, sign with and verify a
//! post-quantum v6 key (ML-KEM-768+X25519, ML-DSA-65+Ed25519) as it is today?

use openpgp::cert::{CertBuilder, CipherSuite};
use openpgp::serialize::SerializeInto;
use sequoia_openpgp as openpgp;

#[test]
fn a_post_quantum_key_round_trips() {
    let started = std::time::Instant::now();
    let (cert, _) = CertBuilder::general_purpose(Some("<pq@example.org>"))
        .set_cipher_suite(CipherSuite::MLDSA65_Ed25519)
        .set_profile(openpgp::Profile::RFC9580)
        .expect("v6")
        .generate()
        .expect("generates");
    eprintln!("keygen {:?}, version {}", started.elapsed(), cert.primary_key().key().version());
    for key in cert.keys() {
        eprintln!("  {:?}", key.key().pk_algo());
    }
    let public =
        plico_pgp::parse_cert(&cert.clone().strip_secret_key_material().to_vec().expect("bytes")).expect("parses");
    let started = std::time::Instant::now();
    let message = plico_pgp::encrypt_to(&vec![b'x'; 10 * 1024], std::slice::from_ref(&public)).expect("encrypts");
    eprintln!("encrypt 10 KiB {:?}", started.elapsed());
    let started = std::time::Instant::now();
    let opened = plico_pgp::decrypt_and_verify(&message, &cert, &[]).expect("decrypts");
    eprintln!("decrypt 10 KiB {:?}", started.elapsed());
    assert_eq!(opened.plaintext.len(), 10 * 1024);

    // Signed by the PQ key, to a classical recipient and to itself; verified.
    let classical = plico_pgp::generate_cert("classic@example.org").expect("classical");
    let classical_secret = plico_pgp::parse_cert(&classical.secret_key).expect("secret");
    let classical_public = plico_pgp::parse_cert(classical.public_cert_armored.as_bytes()).expect("public");
    let started = std::time::Instant::now();
    let signed =
        plico_pgp::encrypt_and_sign(b"hello", &[classical_public.clone(), public.clone()], &cert).expect("signs");
    eprintln!("encrypt and sign (ML-DSA-65) to one classical and one PQ recipient {:?}", started.elapsed());
    let opened =
        plico_pgp::decrypt_and_verify(&signed, &classical_secret, std::slice::from_ref(&public)).expect("opens");
    eprintln!("classical recipient sees {:?}", opened.signature);
    let opened = plico_pgp::decrypt_and_verify(&signed, &cert, std::slice::from_ref(&public)).expect("opens");
    eprintln!("PQ recipient sees {:?}", opened.signature);
    assert!(matches!(opened.signature, plico_pgp::SignatureStatus::Valid { .. }));
    let detached = plico_pgp::sign_detached(b"data", &cert).expect("detached");
    assert!(matches!(
        plico_pgp::verify_detached(b"data", &detached, &public),
        plico_pgp::SignatureStatus::Valid { .. }
    ));
    eprintln!("message with PQ recipient is {} bytes armored (classical-only: compare)", signed.len());
    let only_classical = plico_pgp::encrypt_and_sign(b"hello", &[classical_public], &classical_secret).expect("signs");
    eprintln!("classical only: {} bytes", only_classical.len());
}
