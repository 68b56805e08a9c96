//! Issue 20, the security review's findings: each test here was written to fail on the code the
//! review saw (commit a693b3a) and passes once its finding is closed. `docs/SECURITY.md` names
//! the test that guards each class.

mod common;

use common::*;
use plico_api::mail::FolderRole;
use plico_api::worker::SignatureView;
use plico_client::mail::{open, opened_view, LocalRenderer};

/// What most of these tests send raw: to Bob.
async fn send_raw_to_bob(
    client: &TestClient,
    recipient: &plico_pgp::Certificate,
    inner: &str,
    signer: Option<&plico_pgp::Certificate>,
    summary: &plico_mime::Summary,
) {
    send_raw(client, "bob@plico.test", recipient, inner, signer, summary).await
}

/// A `multipart/signed` message from `from`, signed with `signer`, carrying `autocrypt`'s public
/// key in an Autocrypt header when given.
fn signed_mail(
    from: &str,
    subject: &str,
    signer: &plico_pgp::Certificate,
    autocrypt: Option<&plico_pgp::Certificate>,
) -> Vec<u8> {
    let draft = plico_mime::Draft {
        from: Some(plico_mime::Mailbox::new(None, from)),
        to: vec![plico_mime::Mailbox::new(None, "bob@plico.test")],
        subject: subject.into(),
        text: format!("{subject}: please pay the invoice."),
        message_id: format!("{}@bank.example", subject.replace(' ', ".")),
        date: START,
        ..Default::default()
    };
    let part = plico_mime::compose_signed_part(&draft).expect("composes");
    let signature = plico_pgp::sign_detached(&part, signer).expect("signs");
    let outer = plico_mime::OuterHeaders {
        from: draft.from.clone(),
        to: draft.to.clone(),
        message_id: draft.message_id.clone(),
        date: START,
        autocrypt: autocrypt
            .map(|cert| plico_mime::autocrypt_value(from, &plico_pgp::public_cert_bytes(cert).expect("public bytes"))),
        ..Default::default()
    };
    plico_mime::wrap_signed(&outer, subject, &part, std::str::from_utf8(&signature).expect("armor")).expect("wraps")
}

fn key_of(address: &str) -> plico_pgp::Certificate {
    let generated = plico_pgp::generate_cert(address).expect("generates");
    plico_pgp::parse_cert(&generated.secret_key).expect("parses")
}

/// The newest message in Bob's Inbox whose subject is `subject`.
async fn find(client: &TestClient, bob: &plico_client::UnlockedSession, subject: &str) -> plico_api::mail::MessageMeta {
    for meta in folder_messages(client, FolderRole::Inbox).await {
        let summary = plico_client::mail::open_summary(bob, &meta).expect("summary opens");
        if summary.subject == subject {
            return meta;
        }
    }
    panic!("no message {subject:?}");
}

/// Item 2: an Autocrypt key is for opportunistic encryption only. A signature checked with a key
/// the same message brought is never "valid"; a correspondent's changed key is never taken
/// silently; and keys are not learned from mail in Spam.
#[tokio::test]
async fn an_autocrypt_key_is_never_authentication() {
    let server = TestServer::start().await;
    let bob_client = server.client("192.0.2.90");
    let bob = signup(&bob_client, "bob").await;
    let address = listen(&server).await;
    let bank = key_of("ceo@bank.example");
    let attacker = key_of("ceo@bank.example");
    let mut smtp = SmtpClient::connect(address).await;
    smtp.say("EHLO mail.bank.example").await;

    // The bank's first mail brings its key: signed by it, but nothing vouches for that key.
    let first = signed_mail("ceo@bank.example", "First letter", &bank, Some(&bank));
    assert_eq!(smtp.mail("ceo@bank.example", &["bob@plico.test"], &first).await.0, 250);
    let meta = find(&bob_client, &bob, "First letter").await;
    let view = opened_view("1", &open(&bob_client, &LocalRenderer, &bob, &meta).await.expect("opens"));
    assert_eq!(view.signature, SignatureView::Unconfirmed { signer: bank.fingerprint().to_hex(), first_seen: true });
    assert!(!view.key_changed);
    let (keyring, _) = plico_client::keyring::load(&bob_client, &bob).await.expect("loads");
    assert_eq!(keyring.find("ceo@bank.example").expect("kept for encryption").fingerprint, bank.fingerprint().to_hex());

    // Later mail signed by the kept key: still not confirmed by anyone but earlier mail.
    let second = signed_mail("ceo@bank.example", "Second letter", &bank, None);
    assert_eq!(smtp.mail("ceo@bank.example", &["bob@plico.test"], &second).await.0, 250);
    let meta = find(&bob_client, &bob, "Second letter").await;
    let view = opened_view("2", &open(&bob_client, &LocalRenderer, &bob, &meta).await.expect("opens"));
    assert_eq!(view.signature, SignatureView::Unconfirmed { signer: bank.fingerprint().to_hex(), first_seen: false });

    // A day later, a spoofed From with the attacker's own key and signature: not valid, and the
    // key change is said, not taken (Autocrypt would take a newer message's key).
    server.clock.advance(86_400);
    let spoofed = signed_mail("ceo@bank.example", "Urgent wire", &attacker, Some(&attacker));
    assert_eq!(smtp.mail("ceo@bank.example", &["bob@plico.test"], &spoofed).await.0, 250);
    let meta = find(&bob_client, &bob, "Urgent wire").await;
    let view = opened_view("3", &open(&bob_client, &LocalRenderer, &bob, &meta).await.expect("opens"));
    assert!(!matches!(view.signature, SignatureView::Valid { .. }), "{:?}", view.signature);
    assert_eq!(view.signature, SignatureView::UnknownKey);
    assert!(view.key_changed, "the reader says the sender's key changed");
    let (keyring, _) = plico_client::keyring::load(&bob_client, &bob).await.expect("loads");
    assert_eq!(
        keyring.find("ceo@bank.example").expect("kept").fingerprint,
        bank.fingerprint().to_hex(),
        "the kept key was replaced silently"
    );

    // Mail in Spam teaches no key.
    let stranger = key_of("promo@spam.example");
    let junk = signed_mail("promo@spam.example", "Cheap pills", &stranger, Some(&stranger));
    assert_eq!(smtp.mail("promo@spam.example", &["bob@plico.test"], &junk).await.0, 250);
    let meta = find(&bob_client, &bob, "Cheap pills").await;
    let folders: Vec<plico_api::mail::Folder> =
        serde_json::from_value(bob_client.get("/api/v1/folders").await.json()).expect("folders");
    let spam = folders.iter().find(|folder| folder.role == Some(FolderRole::Spam)).expect("spam").id.clone();
    let moved = serde_json::json!({ "ids": [meta.id], "folder_id": spam });
    let request = bob_client
        .request("PATCH", "/api/v1/messages")
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(moved.to_string()))
        .expect("request");
    assert_eq!(bob_client.send(request).await.status, 204);
    let meta = folder_messages(&bob_client, FolderRole::Spam).await.into_iter().next().expect("in Spam");
    open(&bob_client, &LocalRenderer, &bob, &meta).await.expect("opens");
    let (keyring, _) = plico_client::keyring::load(&bob_client, &bob).await.expect("loads");
    assert!(keyring.find("promo@spam.example").is_none(), "a key was learned from Spam");
}

/// Item 3: the certificate the server publishes for an account must be the public part of the
/// secret key the password unlocks; otherwise a changed database could have the account seal
/// its own documents (and its sent copies) to someone else's key.
#[tokio::test]
async fn the_published_certificate_must_be_the_unlocked_keys() {
    let server = TestServer::start().await;
    let client = server.client("192.0.2.91");
    signup(&client, "bob").await;
    let attacker = plico_pgp::generate_cert("bob@plico.test").expect("generates");
    tamper(
        &server,
        "UPDATE accounts SET public_cert = ? WHERE name = 'bob'",
        &[attacker.public_cert_armored.as_bytes()],
    )
    .await;
    let device = server.client("192.0.2.91");
    let refused = plico_client::sign_in(&device, "bob", PASSWORD, false, |_| {}).await;
    let error = refused.err().expect("sign-in refuses a published key that is not the account's");
    assert!(error.to_string().contains("not the public part of your secret key"), "{error}");
}

/// Item 3: the keyring and the consent receipts are signed by the account's own key with their
/// version inside; a document only encrypted to the account (which anyone can do), one signed
/// as another version, or an older one than the device has read, is refused.
#[tokio::test]
async fn a_sealed_document_someone_else_wrote_or_rolled_back_is_refused() {
    let server = TestServer::start().await;
    let client = server.client("192.0.2.92");
    let bob = signup(&client, "bob").await;
    let dana = plico_pgp::generate_cert("dana@example.org").expect("generates");
    let keys = plico_client::keyring::imported_keys(&dana.public_cert_armored, START).expect("a key");
    plico_client::keyring::update(&client, &bob, &|keyring| keyring.upsert(keys[0].clone())).await.expect("kept");
    let (keyring, version) = plico_client::keyring::load(&client, &bob).await.expect("loads");
    assert_eq!((keyring.keys.len(), version), (1, 1));
    let signed_v1: Vec<u8> = server.sql_bytes("SELECT sealed_keyring FROM accounts WHERE name = 'bob'", &[]).await;

    // A keyring naming the attacker's key for Dana, encrypted to Bob's public key: anyone can.
    let attacker = plico_pgp::generate_cert("dana@example.org").expect("generates");
    let mut forged = keys[0].clone();
    forged.cert = attacker.public_cert_armored.clone();
    forged.fingerprint = attacker.fingerprint.clone();
    let forged_json =
        serde_json::to_vec(&plico_client::keyring::Keyring { keys: vec![forged], item_secret: None }).expect("json");
    let bob_cert = plico_pgp::parse_cert(bob.account.public_cert.as_bytes()).expect("cert");
    let sealed = plico_pgp::encrypt_to(&forged_json, std::slice::from_ref(&bob_cert)).expect("encrypts");
    tamper(&server, "UPDATE accounts SET sealed_keyring = ?, keyring_version = 2 WHERE name = 'bob'", &[&sealed]).await;
    let error = plico_client::keyring::load(&client, &bob).await.expect_err("a forged keyring is refused");
    assert!(error.to_string().contains("not signed by your key"), "{error}");

    // The document Bob's key signed as version 1, served as version 3: refused.
    tamper(&server, "UPDATE accounts SET sealed_keyring = ?, keyring_version = 3 WHERE name = 'bob'", &[&signed_v1])
        .await;
    let error = plico_client::keyring::load(&client, &bob).await.expect_err("a replayed version is refused");
    assert!(error.to_string().contains("signed as version 1"), "{error}");

    // A keyring that vanishes after this device read one is refused too.
    tamper(&server, "UPDATE accounts SET sealed_keyring = NULL, keyring_version = 3 WHERE name = 'bob'", &[]).await;
    let error = plico_client::keyring::load(&client, &bob).await.expect_err("a vanished keyring is refused");
    assert!(error.to_string().contains("is gone"), "{error}");
    // A new device writes version 4; rolling it back to the signed version 1 is refused.
    let fresh = server.client("192.0.2.92");
    *fresh.cookie.lock().expect("cookie") = client.cookie.lock().expect("cookie").clone();
    plico_client::keyring::update(&fresh, &bob, &|keyring| keyring.upsert(keys[0].clone())).await.expect("written");
    tamper(&server, "UPDATE accounts SET sealed_keyring = ?, keyring_version = 1 WHERE name = 'bob'", &[&signed_v1])
        .await;
    let error = plico_client::keyring::load(&fresh, &bob).await.expect_err("a rollback is refused");
    assert!(
        error.to_string().contains("older (version 1) than one this device has already read (version 4)"),
        "{error}"
    );

    // The consent receipts alike.
    let receipts = vec![plico_api::privacy::ConsentReceipt {
        policy_version: 1,
        categories: vec![],
        at: START,
        method: plico_api::privacy::ConsentMethod::Banner,
    }];
    plico_client::privacy::sync(&client, &bob, &receipts).await.expect("stored");
    let forged_receipts = serde_json::to_vec(&Vec::<plico_api::privacy::ConsentReceipt>::new()).expect("json");
    let sealed = plico_pgp::encrypt_to(&forged_receipts, std::slice::from_ref(&bob_cert)).expect("encrypts");
    tamper(&server, "UPDATE accounts SET sealed_consent = ?, consent_version = 5 WHERE name = 'bob'", &[&sealed]).await;
    let error = plico_client::privacy::sync(&client, &bob, &receipts).await.expect_err("forged receipts are refused");
    assert!(error.to_string().contains("not signed by your key"), "{error}");
}

/// Item 3: a keyring written before documents were signed is read on a device that never saw a
/// signed one, and written back signed, without losing a key.
#[tokio::test]
async fn an_unsigned_keyring_from_before_migrates_signed_without_loss() {
    let server = TestServer::start().await;
    let client = server.client("192.0.2.93");
    let bob = signup(&client, "bob").await;
    let dana = plico_pgp::generate_cert("dana@example.org").expect("generates");
    let keys = plico_client::keyring::imported_keys(&dana.public_cert_armored, START).expect("a key");
    let legacy =
        serde_json::to_vec(&plico_client::keyring::Keyring { keys: keys.clone(), item_secret: None }).expect("json");
    let bob_cert = plico_pgp::parse_cert(bob.account.public_cert.as_bytes()).expect("cert");
    let sealed = plico_pgp::encrypt_to(&legacy, std::slice::from_ref(&bob_cert)).expect("encrypts");
    tamper(&server, "UPDATE accounts SET sealed_keyring = ?, keyring_version = 4 WHERE name = 'bob'", &[&sealed]).await;

    let (keyring, version) = plico_client::keyring::load(&client, &bob).await.expect("the old keyring reads");
    assert_eq!(keyring.keys, keys);
    assert_eq!(version, 5, "written back at once");
    let stored: Vec<u8> = server.sql_bytes("SELECT sealed_keyring FROM accounts WHERE name = 'bob'", &[]).await;
    let own = bob.secret_key.clone().strip_secret_key_material();
    let opened = plico_pgp::decrypt_and_verify(&stored, &bob.secret_key, std::slice::from_ref(&own)).expect("opens");
    assert!(matches!(opened.signature, plico_pgp::SignatureStatus::Valid { .. }), "signed now");
    // Another device reads it as before.
    let other = server.client("192.0.2.94");
    *other.cookie.lock().expect("cookie") = client.cookie.lock().expect("cookie").clone();
    assert_eq!(plico_client::keyring::load(&other, &bob).await.expect("loads").0.keys, keys);
}

/// Item 3: the list shows a summary only when someone it can trust wrote it: the account's own
/// key, a Plico sender's key, or the server for mail from the Internet. A summary only encrypted
/// to the account, or moved onto another message, is not shown.
#[tokio::test]
async fn a_summary_nobody_vouches_for_is_not_listed() {
    use plico_client::mail::{listed_summaries, send, LocalRenderer, Outgoing};
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.95");
    let bob_client = server.client("192.0.2.96");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    for subject in ["One", "Two"] {
        let outgoing =
            Outgoing { to: vec!["bob".into()], subject: subject.into(), text: "Hi".into(), ..Default::default() };
        send(&alice_client, &LocalRenderer, &alice, &outgoing, START, &|_| {}).await.expect("sends");
    }
    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    let pairs: Vec<_> = inbox.iter().map(|meta| (meta, meta.sealed_summary.as_str())).collect();
    let listed = listed_summaries(&bob_client, &bob, &pairs).await;
    assert!(listed.iter().all(|summary| summary.as_ref().is_some_and(|s| s.sender_mismatch.is_none())), "{listed:?}");

    // Someone who can write the database puts in a summary only encrypted to Bob, and clears the
    // sender the server recorded.
    let bob_cert = plico_pgp::parse_cert(bob.account.public_cert.as_bytes()).expect("cert");
    let forged = serde_json::to_vec(&summary_from("ceo@bank.example", "Wire the money")).expect("json");
    let sealed = plico_pgp::encrypt_to(&forged, std::slice::from_ref(&bob_cert)).expect("encrypts");
    let forged_row = format!("UPDATE messages SET sealed_summary = ?, sender = NULL WHERE id = '{}'", inbox[0].id);
    tamper(&server, &forged_row, &[&sealed]).await;
    // And moves the second message's summary (Alice's, signed, sealed to both) onto Alice's Sent
    // copy of the other message.
    let second: Vec<u8> =
        server.sql_bytes("SELECT sealed_summary FROM messages WHERE id = ?", &[Bind::from(&inbox[1].id)]).await;
    let sent = folder_messages(&alice_client, FolderRole::Sent).await;
    let other = sent.iter().find(|meta| meta.blob_hash != inbox[1].blob_hash).expect("the other Sent copy").id.clone();
    tamper(&server, &format!("UPDATE messages SET sealed_summary = ? WHERE id = '{other}'"), &[&second]).await;

    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    let pairs: Vec<_> = inbox.iter().map(|meta| (meta, meta.sealed_summary.as_str())).collect();
    let listed = listed_summaries(&bob_client, &bob, &pairs).await;
    let shown: Vec<String> = listed.iter().flatten().map(|summary| summary.subject.clone()).collect();
    assert!(!shown.contains(&"Wire the money".to_owned()), "a forged summary is listed: {shown:?}");
    assert_eq!(listed.iter().filter(|summary| summary.is_none()).count(), 1);
    // Alice's Sent copy now carries the summary of another message (another blob): not shown.
    let sent = folder_messages(&alice_client, FolderRole::Sent).await;
    let moved = sent.iter().find(|meta| meta.id == other).expect("sent copy");
    let listed = listed_summaries(&alice_client, &alice, &[(moved, moved.sealed_summary.as_str())]).await;
    assert_eq!(listed, vec![None], "a summary moved onto another message is shown");
}

/// Item 10: the server stamps internal mail with the Plico account that sent it; the list and the
/// reader show a From that differs, and an unsigned internal message is suspicious.
#[tokio::test]
async fn mail_between_plico_users_names_its_real_sender() {
    use plico_client::mail::listed_summaries;
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.97");
    let bob_client = server.client("192.0.2.98");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    signup(&server.client("192.0.2.99"), "carol").await;
    let bob_cert = plico_pgp::parse_cert(bob.account.public_cert.as_bytes()).expect("cert");

    // Alice writes as Carol, signing with her own key.
    let as_carol =
        "From: Carol <carol@plico.test>\r\nTo: bob@plico.test\r\nSubject: From Carol, honestly\r\n\r\nHi.\r\n";
    send_raw_to_bob(
        &alice_client,
        &bob_cert,
        as_carol,
        Some(&alice.secret_key),
        &summary_from("carol@plico.test", "From Carol, honestly"),
    )
    .await;
    // And sends an unsigned message as herself.
    let unsigned = "From: alice@plico.test\r\nTo: bob@plico.test\r\nSubject: Unsigned\r\n\r\nHi.\r\n";
    send_raw_to_bob(&alice_client, &bob_cert, unsigned, None, &summary_from("alice@plico.test", "Unsigned")).await;

    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    assert!(inbox.iter().all(|meta| meta.sender.as_deref() == Some("alice@plico.test")), "{inbox:?}");
    let pairs: Vec<_> = inbox.iter().map(|meta| (meta, meta.sealed_summary.as_str())).collect();
    for summary in listed_summaries(&bob_client, &bob, &pairs).await {
        let summary = summary.expect("shown, with the real sender");
        assert_eq!(summary.sender_mismatch.as_deref(), Some("alice@plico.test"), "{}", summary.subject);
    }
    for meta in &inbox {
        let opened = open(&bob_client, &LocalRenderer, &bob, meta).await.expect("opens");
        let view = opened_view("x", &opened);
        let checks = view.sender_checks.expect("the reader warns");
        assert!(checks.failed);
        if view.subject == "Unsigned" {
            assert!(checks.words.contains("not signed with its key"), "{}", checks.words);
        } else {
            assert!(checks.words.contains("Sent by the Plico user alice@plico.test"), "{}", checks.words);
            assert!(checks.words.contains("carol@plico.test"), "{}", checks.words);
        }
    }
    // Alice's ordinary mail raises nothing.
    let outgoing = plico_client::mail::Outgoing {
        to: vec!["bob".into()],
        subject: "Plain".into(),
        text: "Hi".into(),
        ..Default::default()
    };
    plico_client::mail::send(&alice_client, &LocalRenderer, &alice, &outgoing, START, &|_| {}).await.expect("sends");
    let plain = find(&bob_client, &bob, "Plain").await;
    let view = opened_view("p", &open(&bob_client, &LocalRenderer, &bob, &plain).await.expect("opens"));
    assert_eq!(view.sender_checks, None);
    assert!(matches!(view.signature, SignatureView::Valid { .. }));
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pgp/tests/data").join(name))
        .expect("fixture")
}

/// Item 4: a sealed summary that is a decompression bomb (any Plico user can send one), and mail
/// from anyone that is one, are shown as unreadable while the rest of the mailbox works.
#[tokio::test]
async fn a_decompression_bomb_is_unreadable_and_the_rest_of_the_mailbox_works() {
    use base64::Engine;
    use plico_client::mail::listed_summaries;
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.100");
    let bob_client = server.client("192.0.2.101");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    let bob_cert = plico_pgp::parse_cert(bob.account.public_cert.as_bytes()).expect("cert");
    let address = listen(&server).await;
    let mut smtp = SmtpClient::connect(address).await;
    smtp.say("EHLO mail.example.org").await;

    let plain = "From: dana@example.org\r\nTo: bob@plico.test\r\nSubject: Ordinary\r\n\r\nHello.\r\n";
    assert_eq!(smtp.mail("dana@example.org", &["bob@plico.test"], plain.as_bytes()).await.0, 250);
    let bomb = plico_pgp::encrypt_packets(&fixture("bomb-flat.bin"), std::slice::from_ref(&bob_cert)).expect("bomb");
    let armored = String::from_utf8(plico_pgp::armor(plico_pgp::ArmorKind::Message, &bomb, false)).expect("ascii");
    let outer = plico_mime::OuterHeaders {
        from: Some(plico_mime::Mailbox::new(None, "eve@example.org")),
        to: vec![plico_mime::Mailbox::new(None, "bob@plico.test")],
        message_id: "bomb@example.org".into(),
        date: START,
        ..Default::default()
    };
    let wrapped = plico_mime::wrap_pgp_mime(&outer, &armored).expect("wraps");
    assert_eq!(smtp.mail("eve@example.org", &["bob@plico.test"], &wrapped).await.0, 250);

    // Alice's message carries a summary that expands to a GiB.
    let summary_bomb =
        plico_pgp::encrypt_packets(&fixture("bomb-nested.bin"), std::slice::from_ref(&bob_cert)).expect("bomb");
    let inner = "From: alice@plico.test\r\nTo: bob@plico.test\r\nSubject: Innocent\r\n\r\nHi.\r\n";
    let body = plico_pgp::encrypt_and_sign(inner.as_bytes(), std::slice::from_ref(&bob_cert), &alice.secret_key)
        .expect("encrypts");
    let outer =
        plico_mime::OuterHeaders { message_id: "innocent@plico.test".into(), date: START, ..Default::default() };
    let blob = plico_mime::wrap_pgp_mime(&outer, std::str::from_utf8(&body).expect("ascii")).expect("wraps");
    let stored = alice_client.upload_blob(blob).await.json();
    let send = serde_json::json!({ "recipients": ["bob@plico.test"], "blob_hash": stored["hash"], "size": stored["size"],
        "sealed_summary": base64::engine::general_purpose::STANDARD.encode(&summary_bomb) });
    assert_eq!(alice_client.post_raw("/api/v1/messages/send", send.to_string()).await.status, 200);

    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 3);
    let pairs: Vec<_> = inbox.iter().map(|meta| (meta, meta.sealed_summary.as_str())).collect();
    let listed = listed_summaries(&bob_client, &bob, &pairs).await;
    let subjects: Vec<Option<String>> = listed.iter().map(|s| s.as_ref().map(|s| s.subject.clone())).collect();
    assert_eq!(subjects.iter().filter(|s| s.is_none()).count(), 1, "{subjects:?}");
    assert!(subjects.contains(&Some("Ordinary".into())), "{subjects:?}");
    let mut errors = Vec::new();
    for meta in &inbox {
        match open(&bob_client, &LocalRenderer, &bob, meta).await {
            Ok(opened) => assert!(["Ordinary", "Innocent"].contains(&opened.message.subject.as_str())),
            Err(error) => errors.push(error.to_string()),
        }
    }
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("more than 80 MiB"), "{errors:?}");
}

/// Item 5: `signup/finish` must name a `signup/start` for the same name, once: one registration
/// upload cannot be replayed into any number of accounts.
#[tokio::test]
async fn a_sign_up_finishes_only_the_start_it_names_and_only_once() {
    use base64::Engine;
    let base64 = base64::engine::general_purpose::STANDARD;
    let server = TestServer::start().await;
    let client = server.client("192.0.2.102");
    let (state, request) = plico_opaque::client_registration_start(PASSWORD.as_bytes()).expect("starts");
    let start = serde_json::json!({ "name": "mallory", "registration_request": base64.encode(request) });
    let started = client.post_raw("/api/v1/signup/start", start.to_string()).await.json();
    let response = base64.decode(started["registration_response"].as_str().expect("response")).expect("base64");
    let (upload, _) =
        plico_opaque::client_registration_finish(state, PASSWORD.as_bytes(), &response).expect("finishes");
    // Each finish brings the proof of work the named start asked for (solved once).
    let pow = solved_pow(&started);
    let finish = |name: &str, signup_id: &serde_json::Value| {
        let cert = plico_pgp::generate_cert(&format!("{name}@plico.test")).expect("cert");
        serde_json::json!({ "signup_id": signup_id, "name": name, "registration_upload": base64.encode(&upload),
            "public_cert": cert.public_cert_armored, "sealed_secret_key": base64.encode([7u8; 64]), "pow": pow,
            "terms_version": started["terms_version"] })
        .to_string()
    };
    let id = started["signup_id"].clone();
    // A made-up start (no such sign-up: 404), and none at all (not a string: 422): refused.
    for (body, status) in [
        (finish("victim1", &serde_json::json!("bm90IGEgc3RhcnQ=")), 404),
        (finish("victim2", &serde_json::Value::Null), 422),
    ] {
        let response = client.post_raw("/api/v1/signup/finish", body).await;
        assert_eq!(response.status, status, "{}", String::from_utf8_lossy(&response.body));
    }
    // A start for one name does not finish another.
    let (_, other) = plico_opaque::client_registration_start(PASSWORD.as_bytes()).expect("starts");
    let start = serde_json::json!({ "name": "mallory3", "registration_request": base64.encode(other) });
    let other_id = client.post_raw("/api/v1/signup/start", start.to_string()).await.json()["signup_id"].clone();
    let response = client.post_raw("/api/v1/signup/finish", finish("victim3", &other_id)).await;
    assert_eq!(response.status, 404, "{}", String::from_utf8_lossy(&response.body));
    let response = client.post_raw("/api/v1/signup/finish", finish("mallory", &id)).await;
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    // The same start again: refused.
    let again = client.post_raw("/api/v1/signup/finish", finish("mallory2", &id)).await;
    assert_eq!(again.status, 404, "{}", String::from_utf8_lossy(&again.body));
    assert_eq!(again.error_code(), "signup_expired");
    let accounts: i64 = server.sql_int("SELECT COUNT(*) FROM accounts", &[]).await;
    assert_eq!(accounts, 1, "one start, one account");
}

/// Item 6: setting a recovery address mails it a code; that is limited per day and counted
/// against the sending limit, so the account page cannot be used to flood outside addresses.
#[tokio::test]
async fn recovery_codes_are_limited_and_count_against_the_sending_limit() {
    let sink = start_sink();
    let put = async |client: &TestClient, n: u32| {
        let body = serde_json::json!({ "address": format!("target{n}@example.org") });
        let request = client
            .request("PUT", "/api/v1/account/recovery")
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .expect("request");
        client.send(request).await
    };
    let server = TestServer::start_with(|config| with_smarthost(config, sink.port, None)).await;
    let client = server.client("192.0.2.103");
    signup(&client, "alice").await;
    plico_client::flows::reauthenticate(&client, "alice", PASSWORD).await.expect("re-authenticates");
    for n in 0..plico_server::http::rate_limit::RECOVERY_CODES_PER_DAY {
        assert_eq!(put(&client, n).await.status, 200);
    }
    let refused = put(&client, 99).await;
    assert_eq!(refused.status, 429, "{}", String::from_utf8_lossy(&refused.body));
    assert_eq!(refused.error_code(), "recovery_limit");

    let small = TestServer::start_with(|config| {
        with_smarthost(config, sink.port, None);
        config.send_limit_per_day = 2;
    })
    .await;
    let client = small.client("192.0.2.104");
    signup(&client, "bob").await;
    plico_client::flows::reauthenticate(&client, "bob", PASSWORD).await.expect("re-authenticates");
    assert_eq!(put(&client, 0).await.status, 200);
    assert_eq!(put(&client, 1).await.status, 200);
    let refused = put(&client, 2).await;
    assert_eq!(refused.status, 429, "{}", String::from_utf8_lossy(&refused.body));
    assert_eq!(refused.error_code(), "send_limit");
}

/// Item 7: a stranger who tries a name over and over locks out only themselves; the owner, on a
/// device they signed in from before, still gets in, even while guessing comes from many places.
#[tokio::test]
async fn a_stranger_cannot_lock_a_user_out() {
    use base64::Engine;
    let server = TestServer::start().await;
    let owner = server.client("192.0.2.105");
    signup(&owner, "bob").await;
    let (_, request) = plico_opaque::client_login_start(b"guess").expect("starts");
    let guess = serde_json::json!({ "address": "bob@plico.test",
        "credential_request": base64::engine::general_purpose::STANDARD.encode(request) })
    .to_string();
    let stranger = server.client("203.0.113.50");
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(stranger.post_raw("/api/v1/login/start", guess.clone()).await.status);
    }
    assert_eq!(statuses.iter().filter(|status| **status == 429).count(), 2, "{statuses:?}");
    // Guessing from a hundred other places too.
    for n in 0..100u32 {
        let elsewhere = server.client(&format!("198.18.{}.{}", n / 250, n % 250 + 1));
        elsewhere.post_raw("/api/v1/login/start", guess.clone()).await;
    }
    let another = server.client("198.19.0.1");
    assert_eq!(another.post_raw("/api/v1/login/start", guess.clone()).await.status, 429, "many places are held back");
    // The owner, from the device they signed up on, signs in.
    let device = server.client("192.0.2.105");
    plico_client::login(&device, "bob", PASSWORD, |_| {}).await.expect("the owner is not locked out");
}

/// Item 8: behind a proxy, the client's address is the right-most X-Forwarded-For entry (the one
/// the proxy saw), not the left-most, which the client writes.
#[tokio::test]
async fn the_client_cannot_choose_its_address_through_x_forwarded_for() {
    let server = TestServer::start_with(|config| config.trust_forwarded_for = true).await;
    let client = server.client("10.0.0.9");
    client.headers.lock().expect("headers").push(("x-forwarded-for".into(), "203.0.113.9, 198.51.100.7".into()));
    signup(&client, "bob").await;
    let history = client.get("/api/v1/account/logins").await.json();
    let ip = history["events"][0]["ip"].as_str().expect("an ip").to_owned();
    assert_eq!(ip, "198.51.100.7", "{history}");
}

/// Item 19: a blob's hash is no key to it. Someone who learns the hash of another account's
/// message cannot file it into their own mailbox, and so cannot keep it past the owner's purge.
#[tokio::test]
async fn a_blob_hash_is_not_a_capability() {
    use plico_client::mail::{save_draft, LocalRenderer, Outgoing};
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.106");
    let mallory_client = server.client("192.0.2.107");
    let alice = signup(&alice_client, "alice").await;
    let mallory = signup(&mallory_client, "mallory").await;
    let outgoing = Outgoing {
        to: vec!["bob@example.org".into()],
        subject: "Private".into(),
        text: "x".into(),
        ..Default::default()
    };
    let draft = save_draft(&alice_client, &LocalRenderer, &alice, &outgoing, START).await.expect("saves");
    let drafts = folder_messages(&alice_client, FolderRole::Drafts).await;
    let meta = drafts.iter().find(|meta| meta.id == draft.id).expect("the draft");

    let folders: Vec<plico_api::mail::Folder> =
        serde_json::from_value(mallory_client.get("/api/v1/folders").await.json()).expect("folders");
    let inbox = folders.iter().find(|folder| folder.role == Some(FolderRole::Inbox)).expect("inbox");
    let mallory_cert = plico_pgp::parse_cert(mallory.account.public_cert.as_bytes()).expect("cert");
    let summary = plico_pgp::encrypt_to(b"{}", std::slice::from_ref(&mallory_cert)).expect("summary");
    use base64::Engine;
    let file = serde_json::json!({ "folder_id": inbox.id, "blob_hash": meta.blob_hash, "size": meta.size,
        "sealed_summary": base64::engine::general_purpose::STANDARD.encode(summary) });
    let response = mallory_client.post_raw("/api/v1/messages", file.to_string()).await;
    assert_eq!(response.status, 404, "{}", String::from_utf8_lossy(&response.body));

    // Alice deletes her draft for good: after the recovery period, its blob is gone from disk.
    let discard = alice_client.delete(&format!("/api/v1/drafts/{}", draft.id)).await;
    assert_eq!(discard.status, 204, "{}", String::from_utf8_lossy(&discard.body));
    server.clock.advance(46 * 86_400);
    plico_server::jobs::retention::run_once(&server.state).await.expect("retention");
    assert!(!server.state.blobs.contains(&meta.blob_hash), "the blob outlived its owner's purge");
}

/// Item 12: of a `multipart/signed` message the reader shows only what the signature covers: the
/// signed part (a part appended after it is dropped), its protected headers over the outer ones,
/// and, when it has none, a note that Subject, From, To and Date are not signed.
#[tokio::test]
async fn only_what_the_signature_covers_reads_as_signed() {
    let server = TestServer::start().await;
    let bob_client = server.client("192.0.2.108");
    let bob = signup(&bob_client, "bob").await;
    let address = listen(&server).await;
    let dana = key_of("dana@example.org");
    let mut smtp = SmtpClient::connect(address).await;
    smtp.say("EHLO mail.example.org").await;

    // Signed with protected headers; then someone rewrites the outer Subject and appends a part.
    let signed =
        String::from_utf8(signed_mail("dana@example.org", "Lunch on Friday", &dana, Some(&dana))).expect("ascii");
    let boundary_at = signed.find("boundary=\"").expect("boundary") + 10;
    let boundary = &signed[boundary_at..boundary_at + signed[boundary_at..].find('"').expect("end")];
    let appended = format!(
        "--{boundary}\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"invoice.txt\"\r\n\r\n\
         Pay 9,800 EUR to IBAN XX00 0000 today.\r\n--{boundary}--"
    );
    let tampered = signed.replacen("Subject: Lunch on Friday", "Subject: URGENT invoice", 1).replacen(
        &format!("--{boundary}--"),
        &appended,
        1,
    );
    assert_eq!(smtp.mail("dana@example.org", &["bob@plico.test"], tampered.as_bytes()).await.0, 250);
    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    let view = opened_view("1", &open(&bob_client, &LocalRenderer, &bob, &inbox[0]).await.expect("opens"));
    assert!(matches!(view.signature, SignatureView::Unconfirmed { .. }), "{:?}", view.signature);
    assert_eq!(view.subject, "Lunch on Friday", "the signed Subject, not the rewritten one");
    assert!(!view.text.contains("IBAN") && view.attachments.iter().all(|a| a.file_name != "invoice.txt"), "{view:?}");
    assert!(!view.unsigned_headers);

    // Signed without protected headers (as GnuPG signs a part): the headers are marked unsigned.
    let part = "Content-Type: text/plain; charset=utf-8\r\n\r\nSee you at noon.\r\n";
    let signature = plico_pgp::sign_detached(part.as_bytes(), &dana).expect("signs");
    let outer = plico_mime::OuterHeaders {
        from: Some(plico_mime::Mailbox::new(None, "dana@example.org")),
        to: vec![plico_mime::Mailbox::new(None, "bob@plico.test")],
        message_id: "plain-part@example.org".into(),
        date: START,
        ..Default::default()
    };
    let message =
        plico_mime::wrap_signed(&outer, "Noon", part.as_bytes(), std::str::from_utf8(&signature).expect("armor"))
            .expect("wraps");
    assert_eq!(smtp.mail("dana@example.org", &["bob@plico.test"], &message).await.0, 250);
    let meta = find(&bob_client, &bob, "Noon").await;
    let view = opened_view("2", &open(&bob_client, &LocalRenderer, &bob, &meta).await.expect("opens"));
    assert!(view.text.contains("See you at noon."));
    assert!(view.unsigned_headers, "Subject, To and Date are outside the signature");
}

/// Item 16: a send whose answer was lost, tried again under its idempotency key, is answered as
/// the first time and delivered once; the key cannot be reused for another request.
#[tokio::test]
async fn a_send_tried_again_under_its_key_is_delivered_once() {
    use plico_client::mail::{send, LocalRenderer, Outgoing};
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.109");
    let bob_client = server.client("192.0.2.110");
    let alice = signup(&alice_client, "alice").await;
    signup(&bob_client, "bob").await;
    let outgoing = Outgoing {
        to: vec!["bob".into()],
        subject: "Once".into(),
        text: "Only once, please.".into(),
        idempotency_key: Some("2b1f0c9e-send-once".into()),
        ..Default::default()
    };
    let first = send(&alice_client, &LocalRenderer, &alice, &outgoing, START, &|_| {}).await.expect("sends");
    // The answer was lost; the device sends the same message again (encrypted anew, same key):
    // the first answer comes back, and Bob has it once.
    let again = send(&alice_client, &LocalRenderer, &alice, &outgoing, START, &|_| {}).await.expect("answered");
    assert_eq!(again.sent.id, first.sent.id);
    assert_eq!(folder_messages(&bob_client, FolderRole::Inbox).await.len(), 1);
    assert_eq!(folder_messages(&alice_client, FolderRole::Sent).await.len(), 1);

    // The same request repeated byte for byte: the first answer, and nothing sent twice.
    let messages = folder_messages(&alice_client, FolderRole::Sent).await;
    let sent = &messages[0];
    assert_eq!(sent.id, first.sent.id);
    let body = serde_json::json!({ "recipients": ["bob@plico.test"], "blob_hash": sent.blob_hash, "size": sent.size,
        "sealed_summary": sent.sealed_summary });
    let post = async |key: &str| {
        let request = alice_client
            .request("POST", "/api/v1/messages/send")
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", key)
            .body(axum::body::Body::from(body.to_string()))
            .expect("request");
        alice_client.send(request).await
    };
    let one = post("repeat-me").await;
    let two = post("repeat-me").await;
    assert_eq!((one.status, two.status), (200, 200));
    assert_eq!(one.body, two.body, "the same answer");
    assert_eq!(two.headers.get("idempotent-replayed").map(|v| v.to_str().expect("ascii")), Some("true"));
    assert_eq!(folder_messages(&bob_client, FolderRole::Inbox).await.len(), 2, "one more message, not two");
    // The key on another endpoint is another request: refused.
    let folder = alice_client
        .request("POST", "/api/v1/folders")
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", "repeat-me")
        .body(axum::body::Body::from(serde_json::json!({ "sealed_name": sent.sealed_summary }).to_string()))
        .expect("request");
    let reused = alice_client.send(folder).await;
    assert_eq!(reused.status, 409, "{}", String::from_utf8_lossy(&reused.body));
    assert_eq!(reused.error_code(), "idempotency_key_reused");
    // A day later the key is forgotten.
    server.clock.advance(2 * 86_400);
    plico_server::jobs::retention::run_once(&server.state).await.expect("retention");
    let keys: i64 = server.sql_int("SELECT COUNT(*) FROM idempotency_keys", &[]).await;
    assert_eq!(keys, 0);
}

/// Item 15: every account has a storage quota (the operator's default, or its own); uploads,
/// filing, sends and SMTP delivery stop at it with an answer that says so, and the account can
/// see how much it uses.
#[tokio::test]
async fn the_storage_quota_holds_on_every_way_in() {
    use base64::Engine;
    use plico_client::mail::{send, LocalRenderer, Outgoing};
    let server = TestServer::start_with(|config| config.quota_mb = 1).await;
    let alice_client = server.client("192.0.2.111");
    let bob_client = server.client("192.0.2.112");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    let usage = bob_client.get("/api/v1/account/usage").await.json();
    assert_eq!((usage["used_bytes"].as_u64(), usage["quota_bytes"].as_u64()), (Some(0), Some(1_000_000)));

    // Bob files 700 KB (an import); the next 700 KB upload does not fit.
    let bob_cert = plico_pgp::parse_cert(bob.account.public_cert.as_bytes()).expect("cert");
    let big = |seed: u8| {
        let text: String =
            (0..500_000u32).map(|n| char::from(b'a' + ((n.wrapping_mul(7) as u8) ^ seed) % 26)).collect();
        plico_pgp::encrypt_to(text.as_bytes(), std::slice::from_ref(&bob_cert)).expect("encrypts")
    };
    let upload = async |bytes: Vec<u8>| {
        let request = bob_client
            .request("POST", "/api/v1/blobs")
            .header(axum::http::header::CONTENT_TYPE, "application/octet-stream")
            .body(axum::body::Body::from(bytes))
            .expect("request");
        bob_client.send(request).await
    };
    let first = upload(big(1)).await;
    assert_eq!(first.status, 200, "{}", String::from_utf8_lossy(&first.body));
    let folders: Vec<plico_api::mail::Folder> =
        serde_json::from_value(bob_client.get("/api/v1/folders").await.json()).expect("folders");
    let archive = folders.iter().find(|folder| folder.role == Some(FolderRole::Archive)).expect("archive");
    let summary = base64::engine::general_purpose::STANDARD
        .encode(plico_pgp::encrypt_to(b"{}", std::slice::from_ref(&bob_cert)).expect("seals"));
    let file = serde_json::json!({ "folder_id": archive.id, "blob_hash": first.json()["hash"], "size": first.json()["size"], "sealed_summary": summary });
    assert_eq!(bob_client.post_raw("/api/v1/messages", file.to_string()).await.status, 200);
    let refused = upload(big(2)).await;
    assert_eq!(refused.status, 507, "{}", String::from_utf8_lossy(&refused.body));
    assert_eq!(refused.error_code(), "quota_exceeded");
    let message = refused.json()["error"]["message"].as_str().expect("message").to_owned();
    assert!(message.contains("Your mailbox is full") && message.contains("1 MB"), "{message}");

    // Alice's mail to Bob does not fit either: the send says whose mailbox is full.
    let outgoing =
        Outgoing { to: vec!["bob".into()], subject: "Photos".into(), text: "x".repeat(400_000), ..Default::default() };
    let error = send(&alice_client, &LocalRenderer, &alice, &outgoing, START, &|_| {}).await.expect_err("bob is full");
    assert!(error.to_string().contains("bob@plico.test (the mailbox is full)"), "{error}");

    // Over SMTP: a full mailbox answers 452 4.2.2 at RCPT, so the sender tries again later.
    server.state.store.set_quota(bob_id(&server).await, Some(100_000)).await.expect("quota");
    let address = listen(&server).await;
    let mut smtp = SmtpClient::connect(address).await;
    smtp.say("EHLO mail.example.org").await;
    assert_eq!(smtp.say("MAIL FROM:<dana@example.org>").await.0, 250);
    let (code, text) = smtp.say("RCPT TO:<bob@plico.test>").await;
    assert_eq!(code, 452, "{text}");
    assert!(text.contains("4.2.2"), "{text}");
    // An account of its own quota: Bob's raised, the upload fits.
    server.state.store.set_quota(bob_id(&server).await, Some(5_000_000)).await.expect("quota");
    assert_eq!(upload(big(3)).await.status, 200);
}

async fn bob_id(server: &TestServer) -> i64 {
    server.state.store.account_by_name("bob").await.expect("reads").expect("bob").id
}

/// The bytes the quota reads are kept by triggers (migration 0010), not summed per message: after
/// deliveries, a deletion, its purge and the account's own purge, they are still the sum of the
/// account's messages.
#[tokio::test]
async fn the_used_bytes_follow_every_change_to_the_mailbox() {
    let server = TestServer::start().await;
    let bob_client = server.client("192.0.2.113");
    signup(&bob_client, "bob").await;
    let bob = bob_id(&server).await;
    let summed = async || -> u64 {
        let sum: i64 = server
            .sql_int(
                "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM messages WHERE account_id = ?",
                &[Bind::from(bob)],
            )
            .await;
        sum as u64
    };
    let used = async || server.state.store.storage(bob, u64::MAX).await.expect("reads").0;
    assert_eq!((used().await, summed().await), (0, 0));

    let address = listen(&server).await;
    let mut smtp = SmtpClient::connect(address).await;
    smtp.say("EHLO mail.example.org").await;
    for n in 0..3 {
        let mail = format!(
            "From: dana@example.org\r\nTo: bob@plico.test\r\nSubject: Note {n}\r\nMessage-ID: <n{n}@example.org>\r\n\r\n{}\r\n",
            "words ".repeat(200 * (n + 1))
        );
        assert_eq!(smtp.mail("dana@example.org", &["bob@plico.test"], mail.as_bytes()).await.0, 250);
    }
    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 3);
    assert!(summed().await > 0);
    assert_eq!(used().await, summed().await);

    // Deleted mail counts until it is purged; purged, it counts no more.
    let store = &server.state.store;
    // Deleted twice: to Trash, then from Trash into the recovery area.
    for _ in 0..2 {
        store.delete_messages(bob, &[inbox[0].id.clone()], START).await.expect("deletes");
        assert_eq!(used().await, summed().await);
    }
    let (purged, _) = store.purge_deleted_messages(START + 1).await.expect("purges");
    assert_eq!(purged, 1);
    let after_purge = summed().await;
    assert_eq!(used().await, after_purge);
    assert!(after_purge < inbox.iter().map(|meta| meta.size).sum::<u64>());

    // The account's purge takes its messages and the account row with them.
    store.purge_account(bob, START).await.expect("purges the account");
    assert_eq!(summed().await, 0);
    assert_eq!(store.storage(bob, 7).await.expect("reads"), (0, 7));
}
