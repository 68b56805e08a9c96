//! Issue 21's named threat: "a key silently changed by a compromised server or a spoofed sender
//! goes unnoticed". The key of each correspondent is kept the first time the account writes to
//! them; a key the directory gives later in its place is neither encrypted to nor trusted until
//! the user chooses it. Written to fail on 17ce67b, where the client took the directory's word
//! every time.

mod common;

use common::*;
use plico_api::mail::FolderRole;
use plico_api::worker::SignatureView;
use plico_client::keyring::KeySource;
use plico_client::mail::{open, opened_view, send, LocalRenderer, Outgoing};
use plico_client::FlowError;

fn to(address: &str, subject: &str) -> Outgoing {
    Outgoing { to: vec![address.into()], subject: subject.into(), text: "Hello.".into(), ..Default::default() }
}

#[tokio::test]
async fn a_key_the_directory_changes_after_first_use_is_neither_encrypted_to_nor_trusted() {
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.61");
    let bob_client = server.client("192.0.2.62");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    let alice_cert = plico_pgp::parse_cert(alice.account.public_cert.as_bytes()).expect("cert");
    let bob_cert = plico_pgp::parse_cert(bob.account.public_cert.as_bytes()).expect("cert");

    // Bob writes to Alice once: the key he used for her is kept.
    send(&bob_client, &LocalRenderer, &bob, &to("alice", "First"), START, &|_| {}).await.expect("sends");
    let (keyring, _) = plico_client::keyring::load(&bob_client, &bob).await.expect("keyring");
    let kept = keyring.find("alice@plico.test").expect("kept on first use").clone();
    assert_eq!(kept.fingerprint, plico_pgp::fingerprint_hex(&alice_cert));
    assert_eq!(kept.source, KeySource::Directory);
    // Bob compares the fingerprint with Alice in person and marks it verified; a stale
    // fingerprint marks nothing.
    let (keyring, marked) =
        plico_client::keyring::update(&bob_client, &bob, &|keyring| keyring.verify("alice@plico.test", "00"))
            .await
            .expect("keyring");
    assert!(!marked && !keyring.find("alice@plico.test").expect("kept").verified);
    let (keyring, marked) = plico_client::keyring::update(&bob_client, &bob, &|keyring| {
        keyring.verify("alice@plico.test", &kept.fingerprint)
    })
    .await
    .expect("keyring");
    assert!(marked && keyring.find("alice@plico.test").expect("kept").verified);

    // Someone who can change the database publishes their own key as Alice's.
    let attacker = plico_pgp::generate_cert("alice@plico.test").expect("generates");
    let attacker_cert = plico_pgp::parse_cert(&attacker.secret_key).expect("parses");
    let attacker_fingerprint = plico_pgp::fingerprint_hex(&attacker_cert);
    tamper(
        &server,
        "UPDATE accounts SET public_cert = ? WHERE name = 'alice'",
        &[attacker.public_cert_armored.as_bytes()],
    )
    .await;

    // Bob's next message is not encrypted to it (his verified key never changes without him):
    // nothing is sent, and he is told why.
    let refused = send(&bob_client, &LocalRenderer, &bob, &to("alice", "Second"), START, &|_| {}).await;
    match refused {
        Err(FlowError::Api { code, message, .. }) => {
            assert_eq!(code, "key_changed");
            assert!(message.contains(&plico_api::group_fingerprint(&kept.fingerprint)), "{message}");
            assert!(message.contains(&plico_api::group_fingerprint(&attacker_fingerprint)), "{message}");
            assert!(message.contains("Nothing was sent"), "{message}");
        }
        other => panic!("sent to a changed key: {other:?}"),
    }
    let alice_inbox = folder_messages(&alice_client, FolderRole::Inbox).await;
    assert_eq!(alice_inbox.len(), 1, "only the first message reached Alice");

    // Mail as Alice signed with the key the directory now gives is not "signed by Alice", and the
    // reader says her key changed in the directory.
    let forged = "From: alice@plico.test\r\nTo: bob@plico.test\r\nSubject: New bank details\r\n\r\nPay here.\r\n";
    send_raw(
        &alice_client,
        "bob@plico.test",
        &bob_cert,
        forged,
        Some(&attacker_cert),
        &summary_from("alice@plico.test", "New bank details"),
    )
    .await;
    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 1);
    let opened = open(&bob_client, &LocalRenderer, &bob, &inbox[0]).await.expect("opens");
    let view = opened_view("forged", &opened);
    assert!(!matches!(view.signature, SignatureView::Valid { .. }), "{:?}", view.signature);
    assert!(view.key_changed && view.directory_key_changed, "the reader says the key changed");
    let offered = opened.new_key.clone().expect("the directory's key is offered to choose");
    assert_eq!(offered.fingerprint, attacker_fingerprint);

    // Once Bob has checked the new fingerprint with Alice another way and chosen it (the
    // composer's "Use the new key"), mail to her goes again, encrypted to the chosen key.
    let chosen =
        plico_client::mail::use_directory_keys(&bob_client, &bob, &["alice".into(), "carol".into()], false, START)
            .await
            .expect("chosen");
    assert_eq!(chosen, ["alice@plico.test"], "only the changed key is replaced");
    let (keyring, _) = plico_client::keyring::load(&bob_client, &bob).await.expect("keyring");
    let now_kept = keyring.find("alice@plico.test").expect("kept");
    assert_eq!((now_kept.fingerprint.as_str(), now_kept.source), (offered.fingerprint.as_str(), KeySource::Imported));
    assert!(!now_kept.verified, "a new key is not verified until the user compares it");
    send(&bob_client, &LocalRenderer, &bob, &to("alice", "Third"), START, &|_| {}).await.expect("sends");
    assert_eq!(folder_messages(&alice_client, FolderRole::Inbox).await.len(), 2);
}

/// The reader says a signature was checked with a key the user verified, and names its
/// fingerprint: verified only once the user marked the kept key.
#[tokio::test]
async fn a_signature_checked_with_a_verified_key_says_so() {
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.66");
    let bob_client = server.client("192.0.2.67");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    let alice_fingerprint =
        plico_pgp::fingerprint_hex(&plico_pgp::parse_cert(alice.account.public_cert.as_bytes()).expect("cert"));
    send(&bob_client, &LocalRenderer, &bob, &to("alice", "Hello"), START, &|_| {}).await.expect("sends");
    send(&alice_client, &LocalRenderer, &alice, &to("bob", "Hello back"), START, &|_| {}).await.expect("sends");
    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    let signature = |opened: &plico_client::mail::OpenedMessage| opened_view("m", opened).signature;

    let opened = open(&bob_client, &LocalRenderer, &bob, &inbox[0]).await.expect("opens");
    assert_eq!(signature(&opened), SignatureView::Valid { signer: alice_fingerprint.clone(), verified: false });
    plico_client::keyring::update(&bob_client, &bob, &|keyring| keyring.verify("alice@plico.test", &alice_fingerprint))
        .await
        .expect("marks");
    let opened = open(&bob_client, &LocalRenderer, &bob, &inbox[0]).await.expect("opens");
    assert_eq!(signature(&opened), SignatureView::Valid { signer: alice_fingerprint, verified: true });
}

/// A key kept for one correspondent changes nothing for another, and an unchanged key needs no
/// choice: sending twice to the same key works without a question.
#[tokio::test]
async fn an_unchanged_key_is_used_without_a_question() {
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.63");
    let bob_client = server.client("192.0.2.64");
    signup(&alice_client, "alice").await;
    signup(&server.client("192.0.2.65"), "carol").await;
    let bob = signup(&bob_client, "bob").await;
    for subject in ["One", "Two"] {
        let outgoing = Outgoing { cc: vec!["carol".into()], ..to("alice", subject) };
        send(&bob_client, &LocalRenderer, &bob, &outgoing, START, &|_| {}).await.expect("sends");
    }
    let (keyring, _) = plico_client::keyring::load(&bob_client, &bob).await.expect("keyring");
    let mut kept: Vec<_> = keyring.keys.iter().map(|key| (key.address.as_str(), key.source)).collect();
    kept.sort_by_key(|(address, _)| *address);
    assert_eq!(kept, [("alice@plico.test", KeySource::Directory), ("carol@plico.test", KeySource::Directory)]);
    assert_eq!(folder_messages(&alice_client, FolderRole::Inbox).await.len(), 2);
}

/// The list checks a summary's signature with the kept key too: after the directory changed,
/// Alice's real mail lists as hers, and mail signed with the directory's new key does not.
#[tokio::test]
async fn the_list_checks_summaries_with_the_kept_key() {
    use plico_client::mail::listed_summaries;
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.66");
    let bob_client = server.client("192.0.2.67");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    let bob_cert = plico_pgp::parse_cert(bob.account.public_cert.as_bytes()).expect("cert");
    send(&bob_client, &LocalRenderer, &bob, &to("alice", "First"), START, &|_| {}).await.expect("sends");

    let attacker = plico_pgp::generate_cert("alice@plico.test").expect("generates");
    let attacker_cert = plico_pgp::parse_cert(&attacker.secret_key).expect("parses");
    tamper(
        &server,
        "UPDATE accounts SET public_cert = ? WHERE name = 'alice'",
        &[attacker.public_cert_armored.as_bytes()],
    )
    .await;
    let inner =
        |subject: &str| format!("From: alice@plico.test\r\nTo: bob@plico.test\r\nSubject: {subject}\r\n\r\nHi.\r\n");
    send_raw(
        &alice_client,
        "bob@plico.test",
        &bob_cert,
        &inner("Real"),
        Some(&alice.secret_key),
        &summary_from("alice@plico.test", "Real"),
    )
    .await;
    send_raw(
        &alice_client,
        "bob@plico.test",
        &bob_cert,
        &inner("Forged"),
        Some(&attacker_cert),
        &summary_from("alice@plico.test", "Forged"),
    )
    .await;
    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    let pairs: Vec<_> = inbox.iter().map(|meta| (meta, meta.sealed_summary.as_str())).collect();
    let mut listed: Vec<(String, bool)> = listed_summaries(&bob_client, &bob, &pairs)
        .await
        .into_iter()
        .map(|summary| summary.expect("listed, the server vouching for the sender"))
        .map(|summary| (summary.subject, summary.sender_mismatch.is_some()))
        .collect();
    listed.sort();
    assert_eq!(listed, [("Forged".to_owned(), true), ("Real".to_owned(), false)]);
}

#[tokio::test]
async fn looking_a_key_up_keeps_it_as_first_seen_and_never_replaces_a_kept_one() {
    use plico_client::mail::known_keys;
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.65");
    let bob_client = server.client("192.0.2.66");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    let alice_fingerprint =
        plico_pgp::fingerprint_hex(&plico_pgp::parse_cert(alice.account.public_cert.as_bytes()).expect("cert"));
    let ask = |addresses: &[&str]| addresses.iter().map(|address| address.to_string()).collect::<Vec<_>>();

    // Nothing is published for an address without an account, or for something that is no
    // address: neither is known, nothing is kept.
    let known =
        known_keys(&bob_client, &bob, &ask(&["nobody@plico.test", "not an address"]), START).await.expect("asks");
    assert!(known.is_empty(), "{known:?}");
    let (keyring, _) = plico_client::keyring::load(&bob_client, &bob).await.expect("keyring");
    assert!(keyring.keys.is_empty());

    // Bob asks for Alice's key before writing to her: the directory's is kept, as first seen.
    let known = known_keys(&bob_client, &bob, &ask(&["alice@plico.test"]), START).await.expect("asks");
    assert_eq!(known, ["alice@plico.test"]);
    let (keyring, _) = plico_client::keyring::load(&bob_client, &bob).await.expect("keyring");
    let kept = keyring.find("alice@plico.test").expect("kept").clone();
    assert_eq!(
        (kept.fingerprint.as_str(), kept.source, kept.verified),
        (alice_fingerprint.as_str(), KeySource::Directory, false)
    );

    // Asked again after the directory changed, the kept key stays: only the user replaces it.
    let attacker = plico_pgp::generate_cert("alice@plico.test").expect("generates");
    tamper(
        &server,
        "UPDATE accounts SET public_cert = ? WHERE name = 'alice'",
        &[attacker.public_cert_armored.as_bytes()],
    )
    .await;
    let known = known_keys(&bob_client, &bob, &ask(&["alice@plico.test"]), START + 60).await.expect("asks");
    assert_eq!(known, ["alice@plico.test"]);
    let (keyring, _) = plico_client::keyring::load(&bob_client, &bob).await.expect("keyring");
    assert_eq!(keyring.find("alice@plico.test").expect("kept").fingerprint, alice_fingerprint);
}

/// A key someone publishes as Alice's: its fingerprint and its armored certificate.
fn forgery() -> (String, String) {
    let attacker = plico_pgp::generate_cert("alice@plico.test").expect("generates");
    let cert = plico_pgp::parse_cert(attacker.public_cert_armored.as_bytes()).expect("cert");
    (plico_pgp::fingerprint_hex(&cert), attacker.public_cert_armored)
}

/// "Keep the old key": the user refuses the key the directory now gives. Mail goes on encrypted
/// to the kept key (which only the real Alice holds), the refused key is not offered again by the
/// composer or the reader, and a further new key is said again.
#[tokio::test]
async fn a_refused_new_key_keeps_mail_encrypted_to_the_kept_one_and_another_new_key_is_said_again() {
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.68");
    let bob_client = server.client("192.0.2.69");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    let alice_fingerprint =
        plico_pgp::fingerprint_hex(&plico_pgp::parse_cert(alice.account.public_cert.as_bytes()).expect("cert"));
    send(&bob_client, &LocalRenderer, &bob, &to("alice", "First"), START, &|_| {}).await.expect("sends");

    let (first_forgery, forged) = forgery();
    tamper(&server, "UPDATE accounts SET public_cert = ? WHERE name = 'alice'", &[forged.as_bytes()]).await;
    let refused = send(&bob_client, &LocalRenderer, &bob, &to("alice", "Held"), START, &|_| {}).await;
    assert!(matches!(refused, Err(FlowError::Api { ref code, .. }) if code == "key_changed"), "{refused:?}");

    let kept_old = plico_client::mail::use_directory_keys(&bob_client, &bob, &["alice".into()], true, START)
        .await
        .expect("refused");
    assert_eq!(kept_old, ["alice@plico.test"]);
    let (keyring, _) = plico_client::keyring::load(&bob_client, &bob).await.expect("keyring");
    let kept = keyring.find("alice@plico.test").expect("kept");
    assert_eq!(kept.fingerprint, alice_fingerprint, "the kept key stays");
    assert_eq!(kept.refused, std::slice::from_ref(&first_forgery));
    // Asked again, nothing more is refused.
    let again =
        plico_client::mail::use_directory_keys(&bob_client, &bob, &["alice".into()], true, START).await.expect("asks");
    assert!(again.is_empty(), "{again:?}");

    // Mail to Alice goes out, encrypted to the key she holds: she opens it.
    send(&bob_client, &LocalRenderer, &bob, &to("alice", "Kept"), START, &|_| {}).await.expect("sends");
    let inbox = folder_messages(&alice_client, FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 2);
    for meta in &inbox {
        open(&alice_client, &LocalRenderer, &alice, meta).await.expect("Alice reads what Bob sent her");
    }
    // Her own mail still checks with the kept key, and the reader offers the refused key no more.
    send(&alice_client, &LocalRenderer, &alice, &to("bob", "From Alice"), START, &|_| {}).await.expect("sends");
    let bob_inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    let opened = open(&bob_client, &LocalRenderer, &bob, &bob_inbox[0]).await.expect("opens");
    let view = opened_view("from alice", &opened);
    assert!(matches!(view.signature, SignatureView::Valid { .. }), "{:?}", view.signature);
    assert!(!view.directory_key_changed, "the refused key is not offered again");

    // Another key in the directory is said again.
    let (second_forgery, forged) = forgery();
    tamper(&server, "UPDATE accounts SET public_cert = ? WHERE name = 'alice'", &[forged.as_bytes()]).await;
    match send(&bob_client, &LocalRenderer, &bob, &to("alice", "Held again"), START, &|_| {}).await {
        Err(FlowError::Api { code, message, .. }) => {
            assert_eq!(code, "key_changed");
            assert!(message.contains(&plico_api::group_fingerprint(&second_forgery)), "{message}");
        }
        other => panic!("sent to another new key: {other:?}"),
    }
}
