//! Post-quantum keys (RFC 9980): what Plico makes, that mail to a post-quantum and a classical
//! recipient reaches each with their own algorithm, and the round trip both ways with another
//! implementation: rsop (rPGP's Stateless OpenPGP command line, `cargo install rsop`), whose
//! `security` profile makes the same kind of key.

use std::io::Write;
use std::process::{Command, Stdio};

use openpgp::parse::{PacketParser, PacketParserResult, Parse};
use openpgp::types::PublicKeyAlgorithm;
use sequoia_openpgp as openpgp;

/// The public-key algorithm of each session-key packet of `message` (armored or binary).
fn pkesk_algorithms(message: &[u8]) -> Vec<PublicKeyAlgorithm> {
    let mut found = Vec::new();
    let mut result = PacketParser::from_bytes(message).expect("a message");
    while let PacketParserResult::Some(parser) = result {
        if let openpgp::Packet::PKESK(pkesk) = &parser.packet {
            found.push(pkesk.pk_algo());
        }
        result = parser.next().expect("parses").1;
    }
    found
}

#[test]
fn a_post_quantum_key_is_v6_with_composite_keys_and_the_server_takes_it() {
    let key = plico_pgp::generate_pq_cert("quinn@plico.test").expect("generates");
    let cert = plico_pgp::parse_cert(&key.secret_key).expect("parses");
    assert_eq!(cert.primary_key().key().version(), 6);
    let algorithms: Vec<_> = cert.keys().map(|key| key.key().pk_algo()).collect();
    assert_eq!(algorithms, [PublicKeyAlgorithm::MLDSA65_Ed25519, PublicKeyAlgorithm::MLKEM768_X25519]);
    assert!(plico_pgp::is_post_quantum(&cert));
    let classical = plico_pgp::generate_cert("cara@plico.test").expect("classical");
    assert!(!plico_pgp::is_post_quantum(&plico_pgp::parse_cert(&classical.secret_key).expect("parses")));
    // What sign-up and the key pages send the server: public only, for the address.
    let checked = plico_pgp::check_uploaded_public_cert(key.public_cert_armored.as_bytes(), "quinn@plico.test")
        .expect("the server accepts it");
    assert_eq!(checked.fingerprint, key.fingerprint);
    assert_eq!(key.fingerprint.len(), 64, "a v6 fingerprint is SHA-256");
    assert!(plico_pgp::check_uploaded_public_cert(&key.secret_key, "quinn@plico.test").is_err(), "no secret keys");
}

#[test]
fn one_message_reaches_a_post_quantum_and_a_classical_recipient_each_with_their_own_algorithm() {
    let pq = plico_pgp::generate_pq_cert("quinn@plico.test").expect("pq");
    let pq_secret = plico_pgp::parse_cert(&pq.secret_key).expect("pq secret");
    let pq_public = plico_pgp::parse_cert(pq.public_cert_armored.as_bytes()).expect("pq public");
    let classical = plico_pgp::generate_cert("cara@plico.test").expect("classical");
    let classical_secret = plico_pgp::parse_cert(&classical.secret_key).expect("classical secret");
    let classical_public = plico_pgp::parse_cert(classical.public_cert_armored.as_bytes()).expect("public");

    // From the post-quantum sender (signed with ML-DSA-65+Ed25519) to both.
    let message =
        plico_pgp::encrypt_and_sign(b"the same words", &[classical_public.clone(), pq_public.clone()], &pq_secret)
            .expect("encrypts");
    let mut algorithms = pkesk_algorithms(&message);
    algorithms.sort_by_key(|algo| u8::from(*algo));
    assert_eq!(algorithms, [PublicKeyAlgorithm::ECDH, PublicKeyAlgorithm::MLKEM768_X25519], "one per recipient");
    for (secret, who) in [(&classical_secret, "classical"), (&pq_secret, "post-quantum")] {
        let opened = plico_pgp::decrypt_and_verify(&message, secret, std::slice::from_ref(&pq_public))
            .unwrap_or_else(|e| panic!("the {who} recipient opens it: {e}"));
        assert_eq!(opened.plaintext, b"the same words");
        assert!(matches!(opened.signature, plico_pgp::SignatureStatus::Valid { .. }), "{who}: {:?}", opened.signature);
    }
    // A classical sender's mail to the post-quantum user opens too (and says who signed).
    let back =
        plico_pgp::encrypt_and_sign(b"reply", std::slice::from_ref(&pq_public), &classical_secret).expect("replies");
    let opened =
        plico_pgp::decrypt_and_verify(&back, &pq_secret, std::slice::from_ref(&classical_public)).expect("opens");
    assert!(matches!(opened.signature, plico_pgp::SignatureStatus::Valid { .. }));
    // Someone else's post-quantum key opens nothing.
    let stranger =
        plico_pgp::parse_cert(&plico_pgp::generate_pq_cert("x@plico.test").expect("pq").secret_key).expect("p");
    assert!(plico_pgp::decrypt_and_verify(&message, &stranger, &[]).is_err());
}

/// Runs `rsop` with `args`, `input` on standard input; its standard output.
fn rsop(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("rsop")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rsop runs");
    child.stdin.take().expect("stdin").write_all(input).expect("writes");
    let output = child.wait_with_output().expect("rsop finishes");
    assert!(output.status.success(), "rsop {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

#[test]
fn the_post_quantum_round_trip_works_both_ways_with_rpgp() {
    if !plico_test_support::peer("rsop", &["version"], "the RFC 9980 interop test") {
        return;
    }
    let dir = plico_test_support::scratch_dir("plico-rsop");
    let file = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("writes");
        path.to_string_lossy().into_owned()
    };

    // rPGP's post-quantum key (`security`: v6, ML-DSA-65+Ed25519 and ML-KEM-768+X25519).
    let their_key = rsop(&["generate-key", "--profile", "security", "<riley@example.org>"], b"");
    let their_cert = rsop(&["extract-cert"], &their_key);
    let theirs = plico_pgp::parse_cert(&their_cert).expect("Plico reads rPGP's certificate");
    assert!(plico_pgp::is_post_quantum(&theirs), "rPGP made an ML-KEM subkey");
    assert_eq!(theirs.primary_key().key().pk_algo(), PublicKeyAlgorithm::MLDSA65_Ed25519);

    // Plico → rPGP: encrypted to their ML-KEM subkey, signed with Plico's ML-DSA key.
    let ours = plico_pgp::generate_pq_cert("quinn@plico.test").expect("generates");
    let our_secret = plico_pgp::parse_cert(&ours.secret_key).expect("parses");
    let message = plico_pgp::encrypt_and_sign(b"from Plico, post-quantum", std::slice::from_ref(&theirs), &our_secret)
        .expect("encrypts");
    assert_eq!(pkesk_algorithms(&message), [PublicKeyAlgorithm::MLKEM768_X25519]);
    let our_cert_path = file("ours.cert", ours.public_cert_armored.as_bytes());
    let verified_path = dir.join("verified.txt");
    let plaintext = rsop(
        &[
            "decrypt",
            "--verifications-out",
            &verified_path.to_string_lossy(),
            "--verify-with",
            &our_cert_path,
            &file("theirs.key", &their_key),
        ],
        &message,
    );
    assert_eq!(plaintext, b"from Plico, post-quantum");
    let verifications = std::fs::read_to_string(&verified_path).expect("verifications");
    assert!(
        verifications.to_uppercase().contains(&ours.fingerprint),
        "rPGP verified Plico's ML-DSA signature: {verifications}"
    );

    // rPGP → Plico: encrypted to Plico's ML-KEM subkey, signed with theirs.
    let message = rsop(
        &["encrypt", "--profile", "rfc9580", "--sign-with", &file("theirs2.key", &their_key), &our_cert_path],
        b"from rPGP, post-quantum",
    );
    let opened =
        plico_pgp::decrypt_and_verify(&message, &our_secret, std::slice::from_ref(&theirs)).expect("Plico opens it");
    assert_eq!(opened.plaintext, b"from rPGP, post-quantum");
    assert!(matches!(opened.signature, plico_pgp::SignatureStatus::Valid { .. }), "{:?}", opened.signature);
    std::fs::remove_dir_all(&dir).ok();
}
