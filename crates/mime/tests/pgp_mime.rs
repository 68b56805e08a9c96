//! Composing, wrapping, unwrapping and parsing Plico messages, and GnuPG reading them.

use plico_mime::*;

fn draft() -> Draft {
    // 1 MiB of bytes that are not text, so the attachment must survive base64 exactly.
    let attachment: Vec<u8> = (0..1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    Draft {
        from: Some(Mailbox::new(Some("Alice Doe"), "alice@plico.test")),
        to: vec![Mailbox::new(Some("Bob"), "bob@plico.test")],
        cc: vec![Mailbox::new(None, "carol@plico.test")],
        bcc: Vec::new(),
        subject: "Quarterly figures — Grüße ✓".into(),
        text: "Hi Bob,\n\nthe numbers are attached.\n\nAlice".into(),
        html: Some("<p>Hi Bob,</p><p>the numbers are <b>attached</b>.</p>".into()),
        attachments: vec![Attachment {
            file_name: "figures.bin".into(),
            content_type: "application/octet-stream".into(),
            content_id: None,
            data: attachment,
        }],
        message_id: "c0ffee.1@plico.test".into(),
        in_reply_to: Some("parent.0@plico.test".into()),
        references: vec!["root.0@plico.test".into(), "parent.0@plico.test".into()],
        date: 1_790_000_000,
    }
}

#[test]
fn the_inner_message_round_trips_every_field() {
    let original = draft();
    let bytes = compose_inner(&original).expect("composes");
    let parsed = parse(&bytes).expect("parses");
    assert_eq!(parsed.subject, original.subject);
    assert_eq!(parsed.from, original.from);
    assert_eq!(parsed.to, original.to);
    assert_eq!(parsed.cc, original.cc);
    assert_eq!(parsed.date, Some(original.date));
    assert_eq!(parsed.message_id.as_deref(), Some("c0ffee.1@plico.test"));
    assert_eq!(parsed.in_reply_to, vec!["parent.0@plico.test".to_owned()]);
    assert_eq!(parsed.references, original.references);
    assert_eq!(parsed.text.replace("\r\n", "\n"), original.text);
    assert!(parsed.html.as_deref().is_some_and(|html| html.contains("<b>attached</b>")));
    assert_eq!(parsed.attachments, original.attachments, "the attachment is byte-identical");
    assert!(parsed.protected_headers);

    let summary = parsed.summary();
    assert_eq!(summary.snippet, "Hi Bob, the numbers are attached. Alice");
    assert!(summary.has_attachments);
}

#[test]
fn bcc_is_written_only_in_saved_drafts() {
    let bytes = compose_inner(&draft()).expect("composes");
    let text = String::from_utf8_lossy(&bytes).to_lowercase();
    assert!(!text.contains("\nbcc:"), "a message being sent carries no Bcc");
    assert!(parse(&bytes).expect("parses").bcc.is_empty());

    let saved = Draft { bcc: vec![Mailbox::new(None, "dave@plico.test")], ..draft() };
    let bytes = compose_inner(&saved).expect("composes");
    assert!(String::from_utf8_lossy(&bytes).to_lowercase().contains("\nbcc: <dave@plico.test>"));
    assert_eq!(parse(&bytes).expect("parses").bcc, [Mailbox::new(None, "dave@plico.test")]);
}

use plico_test_support::fixture as data;

fn outer(draft: &Draft) -> OuterHeaders {
    OuterHeaders {
        from: draft.from.clone(),
        to: draft.to.clone(),
        cc: draft.cc.clone(),
        message_id: draft.message_id.clone(),
        date: draft.date,
        autocrypt: None,
    }
}

#[test]
fn pgp_mime_hides_everything_but_the_envelope_and_round_trips() {
    let alice = plico_pgp::generate_cert("alice@plico.test").expect("alice");
    let bob = plico_pgp::generate_cert("bob@plico.test").expect("bob");
    let alice_secret = plico_pgp::parse_cert(&alice.secret_key).expect("cert");
    let bob_secret = plico_pgp::parse_cert(&bob.secret_key).expect("cert");
    let recipients = [
        plico_pgp::parse_cert(bob.public_cert_armored.as_bytes()).expect("cert"),
        plico_pgp::parse_cert(alice.public_cert_armored.as_bytes()).expect("cert"),
    ];
    let original = draft();
    let inner = compose_inner(&original).expect("composes");
    let ciphertext = plico_pgp::encrypt_and_sign(&inner, &recipients, &alice_secret).expect("encrypts");
    let message = wrap_pgp_mime(&outer(&original), std::str::from_utf8(&ciphertext).expect("armored")).expect("wraps");

    let visible = parse(&message).expect("the outer layer parses");
    assert_eq!(visible.subject, PLACEHOLDER_SUBJECT);
    let text = String::from_utf8_lossy(&message);
    assert!(!text.contains("Quarterly") && !text.contains("numbers") && !text.contains("figures.bin"), "{text}");
    assert!(text.contains("multipart/encrypted") && text.contains("application/pgp-encrypted"));

    let unwrapped = unwrap_pgp_mime(&message).expect("unwraps");
    let opened = plico_pgp::decrypt_and_verify(&unwrapped, &bob_secret, std::slice::from_ref(&recipients[1]))
        .expect("bob decrypts");
    assert_eq!(opened.signature, plico_pgp::SignatureStatus::Valid { signer: alice.fingerprint.clone() });
    let parsed = parse(&opened.plaintext).expect("inner parses");
    assert_eq!(parsed.subject, original.subject);
    assert_eq!(parsed.attachments, original.attachments);
}

#[test]
fn unwrapping_refuses_what_is_not_pgp_mime() {
    let plain = compose_inner(&draft()).expect("composes");
    assert!(matches!(unwrap_pgp_mime(&plain), Err(MimeError::NotPgpMime(_))));
    assert!(unwrap_pgp_mime(b"").is_err());
    let no_payload = b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b--\r\n";
    assert!(matches!(unwrap_pgp_mime(no_payload), Err(MimeError::NotPgpMime(_))));
}

/// GnuPG decrypts and verifies a PGP/MIME message Plico produced, with the recipient's secret
/// key from a fixture, and the inner message it yields is the one Plico wrote.
#[test]
fn gnupg_decrypts_and_verifies_a_plico_pgp_mime_message() {
    if !plico_test_support::peer("gpg", &["--version"], "the GnuPG PGP/MIME test") {
        return;
    }
    let driver = plico_test_support::Gpg::new();
    let gpg = |args: &[&str], input: &[u8]| driver.try_run(args, input);
    assert!(gpg(&["--import"], &data("gpg-peer.sec.asc")).ok);
    let alice = plico_pgp::generate_cert("alice@plico.test").expect("alice");
    assert!(gpg(&["--import"], alice.public_cert_armored.as_bytes()).ok);

    let peer = plico_pgp::parse_cert(&data("gpg-peer.pub.asc")).expect("peer cert");
    let mut original = draft();
    original.to = vec![Mailbox::new(Some("GnuPG Peer"), "gpg-peer@example.org")];
    let inner = compose_inner(&original).expect("composes");
    let alice_secret = plico_pgp::parse_cert(&alice.secret_key).expect("cert");
    let ciphertext = plico_pgp::encrypt_and_sign(&inner, &[peer], &alice_secret).expect("encrypts");
    let message = wrap_pgp_mime(&outer(&original), std::str::from_utf8(&ciphertext).expect("armored")).expect("wraps");

    let decrypted = gpg(&["--decrypt"], &unwrap_pgp_mime(&message).expect("unwraps"));
    let status = &decrypted.status;
    assert!(decrypted.ok, "{status}");
    assert!(
        status.lines().any(|line| line.starts_with("[GNUPG:] VALIDSIG ") && line.ends_with(&alice.fingerprint)),
        "gpg did not report a valid signature by {}: {status}",
        alice.fingerprint
    );
    let parsed = parse(&decrypted.stdout).expect("gpg's output is the inner message");
    assert_eq!(parsed.subject, original.subject);
    assert_eq!(parsed.attachments, original.attachments);
}

#[test]
fn a_signed_wrapper_carries_the_part_byte_for_byte_and_the_real_subject() {
    let inner = plico_mime::compose_signed_part(&draft()).expect("composes");
    let text = String::from_utf8_lossy(&inner).into_owned();
    assert!(text.contains("hp=\"clear\"") && !text.contains("hp=\"cipher\""), "signed, not encrypted: {text}");
    let outer = plico_mime::OuterHeaders {
        autocrypt: Some(plico_mime::autocrypt_value("alice@plico.test", &[7u8; 200])),
        ..outer(&draft())
    };
    let message = plico_mime::wrap_signed(
        &outer,
        "Lunch on Friday?",
        &inner,
        "-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n",
    )
    .expect("wraps");
    let (part, signature) = plico_mime::unwrap_signed(&message).expect("unwraps");
    assert_eq!(part, inner, "the signed part is exactly what was signed");
    assert!(String::from_utf8_lossy(&signature).contains("BEGIN PGP SIGNATURE"));
    let text = String::from_utf8(message.clone()).expect("utf-8");
    assert!(text.contains("micalg=\"pgp-sha256\""), "{text}");
    assert!(text.contains("Subject: Lunch on Friday?"));
    let autocrypt = text
        .lines()
        .position(|line| line.starts_with("Autocrypt: addr=alice@plico.test; prefer-encrypt=mutual; keydata="))
        .expect("Autocrypt header");
    let folded: Vec<&str> = text.lines().skip(autocrypt + 1).take_while(|line| line.starts_with([' ', '\t'])).collect();
    assert_eq!(folded.len(), 3, "folded onto continuation lines: {text}");
    assert!(text.lines().all(|line| line.len() <= 998), "no line over RFC 5322's limit");
    let parsed = plico_mime::parse(&message).expect("parses");
    assert_eq!(parsed.subject, "Lunch on Friday?");
    assert!(plico_mime::wrap_signed(&outer, "x", "héllo".as_bytes(), "sig").is_err(), "8-bit would not survive relays");
}
