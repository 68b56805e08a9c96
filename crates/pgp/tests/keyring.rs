//! An account's keyring: sealed with the primary first and read back whole, the key list's
//! description of each key, revocation the server can check (and refuses when forged), a key
//! made by GnuPG imported with its passphrase (and each refusal named), and the pick among the
//! several keys a directory serves.

use plico_pgp::{
    check_revoked_cert, describe_key, generate_cert, generate_pq_cert, import_secret_key, keyring_bytes, parse_cert,
    parse_keyring, pick_for_encryption, revoke, ImportRefusal, RevocationReason,
};

#[test]
fn a_keyring_reads_back_in_order_with_its_secrets() {
    let classical = parse_cert(&generate_cert("kim@plico.test").expect("classical").secret_key).expect("parses");
    let pq = parse_cert(&generate_pq_cert("kim@plico.test").expect("pq").secret_key).expect("parses");
    let ring = keyring_bytes(&[pq.clone(), classical.clone()]).expect("serialises");
    let back = parse_keyring(&ring).expect("reads");
    assert_eq!(back.len(), 2);
    assert_eq!(back[0].fingerprint(), pq.fingerprint(), "the primary first");
    assert_eq!(back[1].fingerprint(), classical.fingerprint());
    assert!(back.iter().all(|cert| cert.is_tsk()), "the secrets travel with it");
    // One key alone is a keyring of one: what accounts made before keyrings sealed.
    assert_eq!(parse_keyring(&classical.as_tsk_bytes()).expect("one").len(), 1);
    assert!(parse_keyring(b"").is_err());
    assert!(parse_keyring(b"not a key").is_err());
    assert!(parse_keyring(&ring[..ring.len() - 20]).is_err(), "a truncated keyring is refused, not half read");
}

trait TskBytes {
    fn as_tsk_bytes(&self) -> Vec<u8>;
}

impl TskBytes for sequoia_openpgp::Cert {
    fn as_tsk_bytes(&self) -> Vec<u8> {
        plico_pgp::secret_cert_bytes(self).expect("serialises")
    }
}

#[test]
fn the_key_list_names_version_algorithms_and_post_quantum() {
    let classical = parse_cert(&generate_cert("kim@plico.test").expect("classical").secret_key).expect("parses");
    let info = describe_key(&classical);
    assert_eq!(info.fingerprint, classical.fingerprint().to_hex());
    assert_eq!(info.version, 4);
    assert_eq!(info.algorithms, "Ed25519, X25519");
    assert!(!info.post_quantum);
    assert!(info.revocation.is_none());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    assert!((now - info.created_at).abs() < 120, "created just now: {}", info.created_at);

    let pq = parse_cert(&generate_pq_cert("kim@plico.test").expect("pq").secret_key).expect("parses");
    let info = describe_key(&pq);
    assert_eq!(info.version, 6);
    assert_eq!(info.algorithms, "ML-DSA-65+Ed25519, ML-KEM-768+X25519");
    assert!(info.post_quantum);
}

#[test]
fn a_revocation_is_checked_before_it_is_published() {
    let key = parse_cert(&generate_cert("kim@plico.test").expect("key").secret_key).expect("parses");
    let revoked = revoke(&key, RevocationReason::Compromised, "laptop stolen").expect("revokes");
    let public = plico_pgp::public_cert_bytes(&revoked).expect("public");
    let (cert, reason, text) = check_revoked_cert(&public, &key.fingerprint().to_hex()).expect("a valid revocation");
    assert_eq!((reason, text.as_str()), (RevocationReason::Compromised, "laptop stolen"));
    assert_eq!(describe_key(&cert).revocation, Some((RevocationReason::Compromised, "laptop stolen".into())));
    // The revoked key is no longer picked for encryption.
    assert!(pick_for_encryption(vec![cert], "kim@plico.test").is_none());

    // Not revoked at all.
    let plain = plico_pgp::public_cert_bytes(&key).expect("public");
    assert!(check_revoked_cert(&plain, &key.fingerprint().to_hex()).is_err());
    // Another key's revocation offered for this key.
    let other = parse_cert(&generate_cert("kim@plico.test").expect("other").secret_key).expect("parses");
    let other_revoked = revoke(&other, RevocationReason::Retired, "").expect("revokes");
    let error =
        check_revoked_cert(&plico_pgp::public_cert_bytes(&other_revoked).expect("public"), &key.fingerprint().to_hex())
            .expect_err("another key");
    assert!(error.to_string().contains("not"), "{error}");
    // A revocation signed by someone else, grafted onto this key, does not count.
    let forged_signature = {
        use sequoia_openpgp::cert::prelude::*;
        let mut signer =
            other.primary_key().key().clone().parts_into_secret().expect("secret").into_keypair().expect("pair");
        CertRevocationBuilder::new()
            .set_reason_for_revocation(sequoia_openpgp::types::ReasonForRevocation::KeyCompromised, b"forged")
            .expect("reason")
            .build(&mut signer, &key, None)
            .expect("signs")
    };
    let (grafted, _) = key.clone().strip_secret_key_material().insert_packets(forged_signature).expect("grafts");
    let grafted = plico_pgp::public_cert_bytes(&grafted).expect("public");
    assert!(check_revoked_cert(&grafted, &key.fingerprint().to_hex()).is_err(), "only the key itself revokes it");
    // Secret material is never taken.
    assert!(check_revoked_cert(&revoked.as_tsk_bytes(), &key.fingerprint().to_hex()).is_err());
}

#[test]
fn a_directory_serving_two_keys_gives_the_post_quantum_one() {
    let classical = parse_cert(&generate_cert("kim@plico.test").expect("classical").secret_key).expect("parses");
    let pq = parse_cert(&generate_pq_cert("kim@plico.test").expect("pq").secret_key).expect("parses");
    let picked = pick_for_encryption(vec![classical.clone(), pq.clone()], "kim@plico.test").expect("one");
    assert_eq!(picked.fingerprint(), pq.fingerprint());
    let picked = pick_for_encryption(vec![classical.clone()], "kim@plico.test").expect("one");
    assert_eq!(picked.fingerprint(), classical.fingerprint());
    assert!(pick_for_encryption(vec![classical, pq], "someone@else.test").is_none(), "the address must be named");
}

#[test]
fn a_key_with_its_passphrase_imports_and_each_refusal_says_why() {
    let made = plico_pgp::generate_key(&["Kim <kim@plico.test>"]).expect("generates");
    let key = parse_cert(&made.secret_key).expect("parses");
    let protected = plico_pgp::armor_protected_secret_key(&key, "correct horse battery").expect("protects");
    let imported = import_secret_key(protected.as_bytes(), "correct horse battery", "kim@plico.test").expect("imports");
    assert_eq!(imported.fingerprint(), key.fingerprint());
    assert!(imported.keys().all(|k| k.key().has_unencrypted_secret()), "unlocked for the keyring");

    let refusal = |bytes: &[u8], passphrase: &str, address: &str| {
        import_secret_key(bytes, passphrase, address).expect_err("refused")
    };
    assert_eq!(refusal(protected.as_bytes(), "wrong horse", "kim@plico.test"), ImportRefusal::WrongPassphrase);
    assert_eq!(
        refusal(protected.as_bytes(), "correct horse battery", "other@plico.test"),
        ImportRefusal::OtherAddress("other@plico.test".into())
    );
    assert_eq!(refusal(made.public_cert_armored.as_bytes(), "", "kim@plico.test"), ImportRefusal::PublicOnly);
    assert!(matches!(refusal(b"hello", "", "kim@plico.test"), ImportRefusal::NotAKey(_)));
    let two = keyring_bytes(&[key.clone(), key.clone()]).expect("two");
    let other = parse_cert(&generate_cert("kim@plico.test").expect("other").secret_key).expect("other");
    let two = [two.as_slice(), &keyring_bytes(&[other]).expect("other")].concat();
    assert!(
        matches!(refusal(&two, "", "kim@plico.test"), ImportRefusal::Several(_)),
        "{:?}",
        refusal(&two, "", "kim@plico.test")
    );
    let revoked = revoke(&key, RevocationReason::Retired, "").expect("revokes");
    assert_eq!(refusal(&revoked.as_tsk_bytes(), "", "kim@plico.test"), ImportRefusal::Revoked);
    // Every refusal reads as a sentence for the Settings page.
    assert!(ImportRefusal::WrongPassphrase.to_string().contains("passphrase"));
}

/// A key GnuPG made and protected with a passphrase, exported as GnuPG exports it, imports.
#[test]
fn a_key_gnupg_made_imports_with_its_passphrase() {
    if !plico_test_support::peer("gpg", &["--version"], "the GnuPG key import test") {
        return;
    }
    let gpg = plico_test_support::Gpg::new();
    let made = gpg.try_run_with(
        "a gnupg passphrase",
        &["--quick-generate-key", "Gee <gee@plico.test>", "ed25519", "sign,cert", "never"],
        b"",
    );
    assert!(made.ok, "{}", made.status);
    let fingerprint = made
        .status
        .lines()
        .find_map(|line| line.strip_prefix("[GNUPG:] KEY_CREATED P "))
        .expect("gpg names the key")
        .trim()
        .to_owned();
    let sub =
        gpg.try_run_with("a gnupg passphrase", &["--quick-add-key", &fingerprint, "cv25519", "encr", "never"], b"");
    assert!(sub.ok, "{}", sub.status);
    let exported = gpg.try_run_with("a gnupg passphrase", &["--armor", "--export-secret-keys", &fingerprint], b"");
    assert!(exported.ok, "{}", exported.status);
    assert!(String::from_utf8_lossy(&exported.stdout).contains("PRIVATE KEY BLOCK"));
    assert_eq!(
        import_secret_key(&exported.stdout, "not it", "gee@plico.test").expect_err("wrong"),
        ImportRefusal::WrongPassphrase
    );
    let imported = import_secret_key(&exported.stdout, "a gnupg passphrase", "gee@plico.test").expect("imports");
    assert_eq!(imported.fingerprint().to_hex(), fingerprint);
    // And it works as an account key: a message to it opens with it.
    let message = plico_pgp::encrypt_and_sign(b"hello", std::slice::from_ref(&imported), &imported).expect("encrypts");
    let opened = plico_pgp::decrypt_and_verify(&message, &imported, std::slice::from_ref(&imported)).expect("opens");
    assert_eq!(opened.plaintext, b"hello");
}
