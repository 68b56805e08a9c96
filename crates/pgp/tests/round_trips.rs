//! Round trips through Plico's OpenPGP helpers, on GnuPG-made fixtures in `tests/data`, and
//! against a live GnuPG when one is installed. Native only: they run GnuPG and read files.

#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

use plico_pgp::*;

use plico_test_support::fixture as data;

#[test]
fn generated_cert_encrypts_signs_decrypts_and_verifies() {
    let alice = generate_cert("alice@plico.test").expect("alice");
    let bob = generate_cert("bob@plico.test").expect("bob");
    let alice_secret = parse_cert(&alice.secret_key).expect("alice secret");
    let bob_secret = parse_cert(&bob.secret_key).expect("bob secret");
    let alice_public = parse_cert(alice.public_cert_armored.as_bytes()).expect("alice public");
    assert!(!alice_public.is_tsk(), "the armored public cert must carry no secret");

    let message = encrypt_and_sign(
        b"Subject: hi\r\n\r\nHello Bob",
        &[alice_public.clone(), parse_cert(bob.public_cert_armored.as_bytes()).expect("bob")],
        &alice_secret,
    )
    .expect("encrypts");
    assert!(message.starts_with(b"-----BEGIN PGP MESSAGE-----"));
    assert!(!message.windows(5).any(|w| w == b"Hello"), "ciphertext leaks plaintext");

    let for_bob = decrypt_and_verify(&message, &bob_secret, std::slice::from_ref(&alice_public)).expect("bob decrypts");
    assert_eq!(for_bob.plaintext, b"Subject: hi\r\n\r\nHello Bob");
    assert_eq!(for_bob.signature, SignatureStatus::Valid { signer: alice.fingerprint.clone() });

    // The sender can read her own copy; without her cert the signature is from an unknown key.
    let for_alice = decrypt_and_verify(&message, &alice_secret, &[]).expect("alice decrypts");
    assert_eq!(for_alice.signature, SignatureStatus::UnknownKey);

    let eve = parse_cert(&generate_cert("eve@plico.test").expect("eve").secret_key).expect("eve");
    assert!(matches!(decrypt_and_verify(&message, &eve, &[]), Err(PgpError::DecryptionFailed)));
}

#[test]
fn tampered_ciphertext_does_not_decrypt() {
    let alice = generate_cert("alice@plico.test").expect("alice");
    let secret = parse_cert(&alice.secret_key).expect("secret");
    let public = parse_cert(alice.public_cert_armored.as_bytes()).expect("public");
    let armored = encrypt_and_sign(b"integrity matters", std::slice::from_ref(&public), &secret).expect("encrypts");
    let mut binary = plico_pgp_dearmor(&armored);
    let middle = binary.len() / 2;
    binary[middle] ^= 0x01;
    assert!(decrypt_and_verify(&binary, &secret, &[public]).is_err());
}

fn plico_pgp_dearmor(armored: &[u8]) -> Vec<u8> {
    use sequoia_openpgp::armor::{Reader, ReaderMode};
    use std::io::Read;
    let mut reader = Reader::from_bytes(armored, ReaderMode::Tolerant(None));
    let mut out = Vec::new();
    reader.read_to_end(&mut out).expect("dearmors");
    out
}

#[test]
fn decrypts_and_verifies_a_gnupg_fixture() {
    let peer_secret = parse_cert(&data("gpg-peer.sec.asc")).expect("fixture secret");
    let peer_public = parse_cert(&data("gpg-peer.pub.asc")).expect("fixture public");
    let decrypted =
        decrypt_and_verify(&data("gpg-encrypted-signed.asc"), &peer_secret, std::slice::from_ref(&peer_public))
            .expect("decrypts");
    assert_eq!(decrypted.plaintext, data("gpg-message.txt"));
    assert_eq!(decrypted.signature, SignatureStatus::Valid { signer: fingerprint_hex(&peer_public) });
}

#[test]
fn uploaded_cert_checks() {
    let alice = generate_cert("alice@plico.test").expect("alice");
    let checked =
        check_uploaded_public_cert(alice.public_cert_armored.as_bytes(), "alice@plico.test").expect("accepted");
    assert_eq!(checked.fingerprint, alice.fingerprint);
    assert!(matches!(
        check_uploaded_public_cert(&alice.secret_key, "alice@plico.test"),
        Err(PgpError::SecretKeyMaterial)
    ));
    assert!(matches!(
        check_uploaded_public_cert(alice.public_cert_armored.as_bytes(), "bob@plico.test"),
        Err(PgpError::MissingUserId(_))
    ));
    assert!(matches!(check_uploaded_public_cert(b"not a cert", "alice@plico.test"), Err(PgpError::MalformedCert(_))));
    // A GnuPG cert is public, valid and encryption-capable, but for another address.
    assert!(check_uploaded_public_cert(&data("gpg-peer.pub.asc"), "gpg-peer@example.org").is_ok());
}

/// GnuPG decrypts and verifies what Plico produces. Skipped, with a note, where gpg is absent;
/// the README's test command installs it, so CI always runs this.
#[test]
fn gnupg_reads_what_plico_writes() {
    if !plico_test_support::peer("gpg", &["--version"], "the live GnuPG interop test") {
        return;
    }
    let driver = plico_test_support::Gpg::new();
    let gpg = |args: &[&str], stdin: Option<&[u8]>| driver.try_run(args, stdin.unwrap_or_default());
    let imported = gpg(&["--import"], Some(&data("gpg-peer.sec.asc")));
    assert!(imported.ok, "{}", imported.status);

    let alice = generate_cert("alice@plico.test").expect("alice");
    let alice_secret = parse_cert(&alice.secret_key).expect("secret");
    let imported = gpg(&["--import"], Some(alice.public_cert_armored.as_bytes()));
    assert!(imported.ok, "{}", imported.status);

    let peer = parse_cert(&data("gpg-peer.pub.asc")).expect("peer");
    let sequoia_whole =
        encrypt_and_sign("Grüße aus Plico".as_bytes(), std::slice::from_ref(&peer), &alice_secret).expect("encrypts");
    // The split SEIPDv1 path (sequoia signs and wraps the session key; the cipher runs apart).
    let big = "Grüße aus Plico ".repeat(1_000);
    let plan = plan_seipdv1(big.as_bytes(), &[peer], &alice_secret).expect("plans");
    let split = finish_seipdv1(&plan.esks, &cfb_in_software(&plan)).expect("finishes");
    for (message, expected) in [(sequoia_whole, "Grüße aus Plico"), (split, big.as_str())] {
        let decrypted = gpg(&["--trust-model", "always", "--status-fd", "2", "--decrypt"], Some(&message));
        let status = &decrypted.status;
        assert!(decrypted.ok, "{status}");
        assert_eq!(decrypted.stdout, expected.as_bytes());
        assert!(status.contains("[GNUPG:] DECRYPTION_OKAY"), "{status}");
        assert!(status.contains("[GNUPG:] GOODMDC") || !status.contains("MDC"), "{status}");
        // VALIDSIG names the signing key first and the primary key last.
        let valid_by_alice =
            status.lines().any(|line| line.starts_with("[GNUPG:] VALIDSIG ") && line.ends_with(&alice.fingerprint));
        assert!(valid_by_alice, "gpg did not report a valid signature by {}: {status}", alice.fingerprint);
    }

    // GnuPG takes the secret key as Plico writes it (the secret-key packets are written by
    // hand, see keygen.rs) and decrypts with its encryption subkey.
    let imported = gpg(&["--import"], Some(&alice.secret_key));
    assert!(imported.ok, "{}", imported.status);
    // GnuPG 2.2 reads no SEIPDv2, so the peer's v1-only key is a recipient too (sequoia then
    // writes SEIPDv1), and the peer's secret key goes so that only Alice's can decrypt.
    let peer = parse_cert(&data("gpg-peer.pub.asc")).expect("peer");
    let deleted = gpg(&["--delete-secret-keys", &peer.fingerprint().to_hex()], None);
    assert!(deleted.ok, "{}", deleted.status);
    let alice_public = parse_cert(alice.public_cert_armored.as_bytes()).expect("public");
    let to_alice = encrypt_to(b"for alice's own GnuPG", &[alice_public, peer]).expect("encrypts");
    let decrypted = gpg(&["--decrypt"], Some(&to_alice));
    assert!(decrypted.ok, "{}", decrypted.status);
    assert_eq!(decrypted.stdout, b"for alice's own GnuPG");
}

/// RNP, the OpenPGP engine inside Thunderbird (Debian's `rnp` 0.16), decrypts and verifies
/// what Plico sends to a GnuPG-made key, whole and through the split SEIPDv1 path, and reads
/// Plico's public certificate. Skipped, with a note, where rnp is absent; the README's test
/// command installs it.
#[test]
fn thunderbirds_engine_rnp_reads_what_plico_writes() {
    if !plico_test_support::peer("rnp", &["--version"], "the RNP interop test") {
        return;
    }
    let home = plico_test_support::scratch_dir("plico-rnp");
    let run = |program: &str, args: &[&str], stdin: Option<&[u8]>| {
        let mut child = Command::new(program)
            .arg("--homedir")
            .arg(&home)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("rnp runs");
        {
            use std::io::Write;
            let mut input = child.stdin.take().expect("stdin");
            if let Some(bytes) = stdin {
                input.write_all(bytes).expect("writes");
            }
        }
        child.wait_with_output().expect("rnp finishes")
    };
    let alice = generate_cert("alice@plico.test").expect("alice");
    let alice_secret = parse_cert(&alice.secret_key).expect("secret");
    let key_files =
        [("peer.sec.asc", data("gpg-peer.sec.asc")), ("alice.pub.asc", alice.public_cert_armored.clone().into_bytes())];
    for (name, bytes) in key_files {
        let path = home.join(name);
        std::fs::write(&path, bytes).expect("writes key");
        let imported = run("rnpkeys", &["--import", path.to_str().expect("utf-8 path")], None);
        assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    }

    let peer = parse_cert(&data("gpg-peer.pub.asc")).expect("peer");
    let whole =
        encrypt_and_sign("Grüße aus Plico".as_bytes(), std::slice::from_ref(&peer), &alice_secret).expect("encrypts");
    let big = "Grüße aus Plico ".repeat(1_000);
    let plan = plan_seipdv1(big.as_bytes(), &[peer], &alice_secret).expect("plans");
    let split = finish_seipdv1(&plan.esks, &cfb_in_software(&plan)).expect("finishes");
    let alice_key_id = &alice.fingerprint[alice.fingerprint.len() - 16..].to_ascii_lowercase();
    for (message, expected) in [(whole, "Grüße aus Plico"), (split, big.as_str())] {
        let decrypted = run("rnp", &["--decrypt", "--password", "", "--output", "-"], Some(&message));
        let report = String::from_utf8_lossy(&decrypted.stderr);
        assert!(decrypted.status.success(), "{report}");
        assert_eq!(decrypted.stdout, expected.as_bytes());
        assert!(report.contains("Signature(s) verified successfully"), "{report}");
        assert!(report.contains(&format!("using EdDSA key {alice_key_id}")), "{report}");
    }
    let _ = std::fs::remove_dir_all(&home);
}

/// Finishes a SEIPDv1 plan in software: the MDC is SHA-1 of the plan's plaintext, then all of
/// it is AES-256-CFB encrypted with a zero IV.
fn cfb_in_software(plan: &SeipdV1Plan) -> Vec<u8> {
    use aes::cipher::{AsyncStreamCipher, KeyIvInit};
    use sha1::Digest;
    let mut data = plan.plaintext.clone();
    data.extend_from_slice(&sha1::Sha1::digest(&plan.plaintext));
    cfb_mode::Encryptor::<aes::Aes256>::new_from_slices(&plan.session_key, &[0u8; 16]).expect("key").encrypt(&mut data);
    data
}

#[test]
fn encrypted_messages_are_told_from_everything_else() {
    let alice = generate_cert("alice@plico.test").expect("alice");
    let secret = parse_cert(&alice.secret_key).expect("secret");
    let public = parse_cert(alice.public_cert_armored.as_bytes()).expect("public");
    let armored = encrypt_and_sign(b"hello", std::slice::from_ref(&public), &secret).expect("encrypts");
    check_encrypted_message(&armored).expect("armored ciphertext is accepted");
    check_encrypted_message(&plico_pgp_dearmor(&armored)).expect("binary ciphertext is accepted");
    check_encrypted_message(&data("gpg-encrypted-signed.asc")).expect("GnuPG's ciphertext is accepted");

    for (what, bytes) in [
        ("plaintext", b"Subject: hi\r\n\r\nplain text".to_vec()),
        ("empty", Vec::new()),
        ("a public certificate", alice.public_cert_armored.clone().into_bytes()),
        ("a secret key", alice.secret_key.clone()),
    ] {
        assert!(check_encrypted_message(&bytes).is_err(), "{what} was accepted as ciphertext");
    }
    let binary = plico_pgp_dearmor(&armored);
    assert!(check_encrypted_message(&binary[..binary.len() / 2]).is_err(), "a truncated message was accepted");

    // Issue 20, item 21: no text may sit beside the ciphertext.
    let text = std::str::from_utf8(&armored).expect("ascii");
    let beside = [
        ("text before the armor", format!("The secret is 42.\n{text}")),
        ("text after the armor", format!("{text}The secret is 42.\n")),
        ("an armor header", text.replacen("-----\n", "-----\nComment: The secret is 42.\n", 1)),
        ("text inside the armor", text.replacen("\n\n", "\n\nThe secret is 42.\n", 1)),
    ];
    for (what, bytes) in beside {
        assert!(check_encrypted_message(bytes.as_bytes()).is_err(), "{what} was accepted as ciphertext");
    }
    assert!(check_encrypted_message(format!("{text}\r\n\r\n").as_bytes()).is_ok(), "white space after END");
    // Mail from others may carry armor headers, and still nothing around the armor.
    let headed = text.replacen("-----\n", "-----\nVersion: GnuPG v2\n", 1);
    assert!(check_encrypted_message_from_others(headed.as_bytes()).is_ok());
    assert!(check_encrypted_message_from_others(format!("hi\n{headed}").as_bytes()).is_err());
}

#[test]
fn a_signature_by_an_unknown_key_is_checked_later_without_decrypting_again() {
    let alice = generate_cert("alice@plico.test").expect("alice");
    let bob = generate_cert("bob@plico.test").expect("bob");
    let alice_secret = parse_cert(&alice.secret_key).expect("alice secret");
    let alice_public = parse_cert(alice.public_cert_armored.as_bytes()).expect("alice public");
    let bob_secret = parse_cert(&bob.secret_key).expect("bob secret");
    let bob_public = parse_cert(bob.public_cert_armored.as_bytes()).expect("bob public");
    let message =
        encrypt_and_sign(b"the plaintext", std::slice::from_ref(&bob_public), &alice_secret).expect("encrypts");

    // Bob decrypts once, knowing nobody's key yet.
    let opened = decrypt_and_verify(&message, &bob_secret, &[]).expect("decrypts");
    assert_eq!(opened.signature, SignatureStatus::UnknownKey);
    assert_eq!(opened.unchecked.len(), 1);
    // The From address names Alice; her published cert confirms the signature.
    assert_eq!(verify_with(&opened, &alice_public), SignatureStatus::Valid { signer: alice.fingerprint.clone() });
    // Someone else's cert confirms nothing.
    assert_eq!(verify_with(&opened, &bob_public), SignatureStatus::UnknownKey);
    // Altered plaintext makes the same signature bad.
    let mut altered = opened.clone();
    altered.plaintext = b"the plaintexT".to_vec();
    assert_eq!(verify_with(&altered, &alice_public), SignatureStatus::Bad);
    // A status that is not "unknown key" is kept.
    let known = decrypt_and_verify(&message, &bob_secret, std::slice::from_ref(&alice_public)).expect("decrypts");
    assert_eq!(verify_with(&known, &bob_public), SignatureStatus::Valid { signer: alice.fingerprint });
}

#[test]
fn the_local_store_secret_is_stable_per_key_and_needs_the_secret_key() {
    let alice = generate_cert("alice@plico.test").expect("alice");
    let bob = generate_cert("bob@plico.test").expect("bob");
    let once = primary_secret_material(&parse_cert(&alice.secret_key).expect("parses")).expect("secret");
    let again = primary_secret_material(&parse_cert(&alice.secret_key).expect("parses")).expect("secret");
    assert_eq!(once, again, "the same on every sign-in");
    assert!(once.len() >= 32);
    let other = primary_secret_material(&parse_cert(&bob.secret_key).expect("parses")).expect("secret");
    assert_ne!(once, other);
    let public = parse_cert(alice.public_cert_armored.as_bytes()).expect("public");
    assert!(primary_secret_material(&public).is_err(), "a public certificate has none");
}

#[test]
fn a_generated_key_is_one_signing_primary_and_one_encryption_subkey_without_expiry() {
    use sequoia_openpgp::cert::Preferences;
    use sequoia_openpgp::policy::StandardPolicy;
    let generated = generate_cert("alice@plico.test").expect("generates");
    let cert = parse_cert(&generated.secret_key).expect("parses");
    let policy = StandardPolicy::new();
    let valid = cert.with_policy(&policy, None).expect("valid under the standard policy");
    assert_eq!(cert.keys().count(), 2);
    let primary = valid.primary_key();
    assert!(primary.for_certification() && primary.for_signing());
    let subkeys: Vec<_> = valid.keys().subkeys().collect();
    assert_eq!(subkeys.len(), 1);
    assert!(subkeys[0].for_transport_encryption() && subkeys[0].for_storage_encryption());
    assert!(!subkeys[0].for_signing());
    assert_eq!(primary.key_expiration_time(), None, "the account's key does not expire");
    let features = valid.features().expect("features");
    assert!(features.supports_seipdv1() && features.supports_seipdv2());
    assert_eq!(valid.primary_userid().expect("user id").userid().value(), b"<alice@plico.test>");
    assert!(check_uploaded_public_cert(generated.public_cert_armored.as_bytes(), "alice@plico.test").is_ok());
    assert_eq!(generated.fingerprint, fingerprint_hex(&cert));
}

#[test]
fn the_split_seipdv1_path_decrypts_verifies_and_fails_when_tampered() {
    let alice = generate_cert("alice@plico.test").expect("alice");
    let alice_secret = parse_cert(&alice.secret_key).expect("secret");
    let alice_public = parse_cert(alice.public_cert_armored.as_bytes()).expect("public");
    for size in [0usize, 1, 15, 16, 17, 191, 192, 8383, 8384, 100_000] {
        let text: Vec<u8> = (0..size).map(|n| (n % 251) as u8).collect();
        let plan = plan_seipdv1(&text, std::slice::from_ref(&alice_public), &alice_secret).expect("plans");
        let message = finish_seipdv1(&plan.esks, &cfb_in_software(&plan)).expect("finishes");
        check_encrypted_message(&message).expect("an encrypted message");
        let opened =
            decrypt_and_verify(&message, &alice_secret, std::slice::from_ref(&alice_public)).expect("decrypts");
        assert_eq!(opened.plaintext, text, "size {size}");
        assert_eq!(opened.signature, SignatureStatus::Valid { signer: alice.fingerprint.clone() });
    }
    // A flipped bit in the ciphertext fails the MDC (or the parse): never silently accepted.
    let plan = plan_seipdv1(b"do not alter", std::slice::from_ref(&alice_public), &alice_secret).expect("plans");
    let mut ciphertext = cfb_in_software(&plan);
    let middle = ciphertext.len() / 2;
    ciphertext[middle] ^= 1;
    let message = finish_seipdv1(&plan.esks, &ciphertext).expect("finishes");
    assert!(decrypt_and_verify(&message, &alice_secret, &[alice_public]).is_err());
    assert!(!all_support_aead(&[]));
    assert!(all_support_aead(&[alice_secret]), "Plico's keys advertise SEIPDv2");
}

/// The split SEIPDv1 decryption, finished with a software SHA-1 as the browser finishes it with
/// WebCrypto's.
fn open_in_software(message: &[u8], secret: &Certificate, verifiers: &[Certificate]) -> Result<Decrypted, PgpError> {
    use sha1::Digest;
    let envelope = open_seipdv1_envelope(message, std::slice::from_ref(secret))?.expect("a SEIPDv1 message");
    let plaintext = envelope.decrypt()?;
    let digest = sha1::Sha1::digest(Envelope::hashed(&plaintext));
    Envelope::finish(&plaintext, &digest, std::slice::from_ref(secret), verifiers)
}

#[test]
fn seipdv1_opens_apart_from_sequoia_for_plico_and_gnupg_messages_and_refuses_tampering() {
    let alice = generate_cert("alice@plico.test").expect("alice");
    let alice_secret = parse_cert(&alice.secret_key).expect("secret");
    let alice_public = parse_cert(alice.public_cert_armored.as_bytes()).expect("public");
    for size in [0usize, 1, 16, 8_384, 100_000] {
        let text: Vec<u8> = (0..size).map(|n| (n % 249) as u8).collect();
        let plan = plan_seipdv1(&text, std::slice::from_ref(&alice_public), &alice_secret).expect("plans");
        let message = finish_seipdv1(&plan.esks, &cfb_in_software(&plan)).expect("finishes");
        let opened = open_in_software(&message, &alice_secret, std::slice::from_ref(&alice_public)).expect("opens");
        assert_eq!(opened.plaintext, text);
        assert_eq!(opened.signature, SignatureStatus::Valid { signer: alice.fingerprint.clone() });
    }
    // Tampering anywhere in the encrypted body fails, never returns altered plaintext.
    let plan = plan_seipdv1(b"pay 10 EUR to Bob", std::slice::from_ref(&alice_public), &alice_secret).expect("plans");
    let ciphertext = cfb_in_software(&plan);
    for position in [0, 17, 20, ciphertext.len() / 2, ciphertext.len() - 21, ciphertext.len() - 1] {
        let mut tampered = ciphertext.clone();
        tampered[position] ^= 0x01;
        let message = finish_seipdv1(&plan.esks, &tampered).expect("finishes");
        assert!(open_in_software(&message, &alice_secret, &[]).is_err(), "tampering at {position} went unnoticed");
    }
    // Someone else's key opens nothing.
    let mallory = parse_cert(&generate_cert("mallory@plico.test").expect("m").secret_key).expect("parses");
    let message = finish_seipdv1(&plan.esks, &ciphertext).expect("finishes");
    assert!(matches!(open_seipdv1_envelope(&message, std::slice::from_ref(&mallory)), Err(PgpError::DecryptionFailed)));
    // Plico's own AEAD messages are not SEIPDv1: the caller falls back to sequoia whole.
    let aead = encrypt_and_sign(b"x", std::slice::from_ref(&alice_public), &alice_secret).expect("encrypts");
    assert!(open_seipdv1_envelope(&aead, std::slice::from_ref(&alice_secret)).expect("parses").is_none());
    // GnuPG's own message (SEIPDv1, compressed and signed inside) opens the same way.
    let peer_secret = parse_cert(&data("gpg-peer.sec.asc")).expect("peer secret");
    let peer_public = parse_cert(&data("gpg-peer.pub.asc")).expect("peer public");
    let gpg_message = data("gpg-encrypted-signed.asc");
    assert!(
        open_seipdv1_envelope(&gpg_message, std::slice::from_ref(&peer_secret)).expect("parses").is_some(),
        "GnuPG wrote SEIPDv1"
    );
    let apart = open_in_software(&gpg_message, &peer_secret, std::slice::from_ref(&peer_public)).expect("opens");
    assert_eq!(apart.plaintext, data("gpg-message.txt"));
    assert_eq!(apart.signature, SignatureStatus::Valid { signer: fingerprint_hex(&peer_public) });
}

/// The secret key of an export: every secret key is encrypted under the passphrase, and GnuPG
/// imports it and decrypts with it given that passphrase, and with no other.
#[test]
fn the_exported_secret_key_needs_its_passphrase_in_gnupg() {
    let alice = generate_cert("alice@plico.test").expect("alice");
    let secret = parse_cert(&alice.secret_key).expect("secret");
    assert!(armor_protected_secret_key(&secret, "short").is_err(), "a short passphrase is refused");
    let passphrase = "correct horse battery";
    let armored = armor_protected_secret_key(&secret, passphrase).expect("protects");
    assert!(armored.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----\n"), "{armored}");
    let back = parse_cert(armored.as_bytes()).expect("reads back");
    assert_eq!(back.fingerprint(), secret.fingerprint());
    let keys: Vec<_> = back.keys().secret().collect();
    assert_eq!(keys.len(), 2, "primary and encryption subkey, both secret");
    for key in &keys {
        assert!(!key.key().has_unencrypted_secret(), "every secret is encrypted");
        assert!(key.key().clone().decrypt_secret(&"wrong passphrase".into()).is_err());
        assert!(key.key().clone().decrypt_secret(&passphrase.into()).is_ok());
    }
    if !plico_test_support::peer("gpg", &["--version"], "the GnuPG half of the export test") {
        return;
    }
    // The driver's agent remembers no passphrase between calls, so the wrong one must fail.
    let driver = plico_test_support::Gpg::new();
    let gpg = |passphrase: &str, args: &[&str], stdin: &[u8]| driver.try_run_with(passphrase, args, stdin);
    let imported = gpg(passphrase, &["--import"], armored.as_bytes());
    assert!(imported.ok, "{}", imported.status);
    let public = parse_cert(alice.public_cert_armored.as_bytes()).expect("public");
    let peer = parse_cert(&data("gpg-peer.pub.asc")).expect("peer");
    // GnuPG 2.2 reads no SEIPDv2: the v1-only peer makes sequoia write SEIPDv1.
    let message = encrypt_to(b"only with the passphrase", &[public, peer]).expect("encrypts");
    let wrong = gpg("not the passphrase", &["--decrypt"], &message);
    assert!(!wrong.ok, "a wrong passphrase must not decrypt");
    let right = gpg(passphrase, &["--decrypt"], &message);
    assert!(right.ok, "{}", right.status);
    assert_eq!(right.stdout, b"only with the passphrase");
}

/// Issue 20, item 4: a few KB that expand to a GiB through nested compression, and 200 KB that
/// expand to 200 MiB, are refused without holding more than the cap, on both decryption paths
/// (sequoia's, and the split SEIPDv1 one the browser uses). Fixtures: `tests/data/make_bombs.py`.
#[test]
fn decompression_bombs_are_refused_within_the_cap() {
    let plico = parse_cert(&generate_cert("bob@plico.test").expect("bob").secret_key).expect("secret");
    // GnuPG's key takes the SEIPDv1 path; Plico's own takes SEIPDv2.
    let gnupg = parse_cert(&data("gpg-peer.sec.asc")).expect("fixture");
    type Open = fn(&[u8], &Certificate, &[Certificate]) -> Result<Decrypted, PgpError>;
    let paths: [(&Certificate, &[Open]); 2] =
        [(&plico, &[decrypt_and_verify]), (&gnupg, &[decrypt_and_verify, open_in_software])];
    for (secret, opens) in paths {
        let public = secret.clone().strip_secret_key_material();
        let nested = encrypt_packets(&data("bomb-nested.bin"), std::slice::from_ref(&public)).expect("encrypts");
        assert!(nested.len() < 64 * 1024, "fits a sealed summary: {} bytes", nested.len());
        let flat = encrypt_packets(&data("bomb-flat.bin"), std::slice::from_ref(&public)).expect("encrypts");
        for open in opens {
            match open(&nested, secret, &[]) {
                Err(PgpError::NestedCompression | PgpError::TooLarge(_)) => {}
                other => panic!("a nested bomb: {:?}", other.map(|d| d.plaintext.len())),
            }
            match open(&flat, secret, &[]) {
                Err(PgpError::TooLarge(MAX_PLAINTEXT_BYTES)) => {}
                other => panic!("200 MiB: {:?}", other.map(|d| d.plaintext.len())),
            }
        }
        let small = decrypt_and_verify_within(&flat, secret, &[], 1 << 20);
        assert!(matches!(small, Err(PgpError::TooLarge(1_048_576))), "{:?}", small.map(|d| d.plaintext.len()));
    }
}

/// Nested compression is refused even when what it expands to is tiny.
#[test]
fn nested_compression_is_refused_however_small() {
    let secret = parse_cert(&generate_cert("bob@plico.test").expect("bob").secret_key).expect("secret");
    let public = secret.clone().strip_secret_key_material();
    // Literal "hello" (tag 11: 'b', no name, no date), compressed twice without deflating
    // (algorithm 0, uncompressed, still a compressed data packet each).
    let literal = b"\xcb\x0bb\x00\x00\x00\x00\x00hello";
    let once = [&[0xc8, literal.len() as u8 + 1, 0x00][..], literal].concat();
    let twice = [&[0xc8, once.len() as u8 + 1, 0x00][..], &once].concat();
    let single = encrypt_packets(&once, std::slice::from_ref(&public)).expect("encrypts");
    assert_eq!(decrypt_and_verify(&single, &secret, &[]).expect("one layer is fine").plaintext, b"hello");
    let nested = encrypt_packets(&twice, std::slice::from_ref(&public)).expect("encrypts");
    assert!(matches!(decrypt_and_verify(&nested, &secret, &[]), Err(PgpError::NestedCompression)));
}

/// Issue 20, item 18: a signature checked after decryption, once the signer's key is found, is
/// held to the standard policy like any other: SHA-1 makes it invalid.
#[test]
fn a_sha1_signature_checked_after_decryption_is_not_valid() {
    use sequoia_openpgp::policy::StandardPolicy;
    use sequoia_openpgp::serialize::stream::{Encryptor, LiteralWriter, Message, Signer};
    use sequoia_openpgp::types::HashAlgorithm;
    use std::io::Write;
    let alice = parse_cert(&generate_cert("alice@plico.test").expect("alice").secret_key).expect("alice");
    let bob = parse_cert(&generate_cert("bob@plico.test").expect("bob").secret_key).expect("bob");
    let policy = StandardPolicy::new();
    let signing = alice
        .keys()
        .with_policy(&policy, None)
        .for_signing()
        .secret()
        .next()
        .expect("a signing key")
        .key()
        .clone()
        .into_keypair()
        .expect("keypair");
    let recipients: Vec<_> = bob.keys().with_policy(&policy, None).for_transport_encryption().collect();
    let mut sink = Vec::new();
    let message = Encryptor::for_recipients(Message::new(&mut sink), recipients).build().expect("encryptor");
    let message = Signer::new(message, signing)
        .expect("signer")
        .hash_algo(HashAlgorithm::SHA1)
        .expect("sha1")
        .build()
        .expect("signs");
    let mut literal = LiteralWriter::new(message).build().expect("literal");
    literal.write_all(b"signed with SHA-1").expect("writes");
    literal.finalize().expect("finishes");

    let alice_public = alice.clone().strip_secret_key_material();
    let decrypted = decrypt_and_verify(&sink, &bob, &[]).expect("decrypts");
    assert_eq!(decrypted.signature, SignatureStatus::UnknownKey);
    assert_eq!(verify_with(&decrypted, &alice_public), SignatureStatus::Bad, "a SHA-1 signature read as valid");
    let at_once = decrypt_and_verify(&sink, &bob, std::slice::from_ref(&alice_public)).expect("decrypts");
    assert!(!matches!(at_once.signature, SignatureStatus::Valid { .. }), "{:?}", at_once.signature);
}
