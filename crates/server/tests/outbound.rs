//! Mail to other servers: the outbound queue against a real SMTP server (aiosmtpd, with
//! STARTTLS and AUTH required) standing in for the smarthost, DKIM checked by dkimpy, delivery
//! status notifications, retries, giving up, and a queue that outlives a restart.

mod common;

use plico_test_support::{fixture, Gpg, GpgRun};
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::*;
use plico_api::mail::FolderRole;

/// A DKIM key: the PEM file and the public key as a DNS TXT record would publish it.
fn dkim_key(dir: &Path) -> (PathBuf, String) {
    let key = dir.join("dkim.pem");
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key.to_str().expect("path")]);
    let public = openssl(&["pkey", "-in", key.to_str().expect("path"), "-pubout", "-outform", "DER"]);
    (key, format!("v=DKIM1; k=rsa; p={}", BASE64.encode(public)))
}

/// Checks the DKIM signature of `message` with dkimpy, the record served from memory.
fn dkim_verifies(message: &[u8], record: &str, dir: &Path) -> bool {
    let path = dir.join("check.eml");
    std::fs::write(&path, message).expect("writes");
    let script = "import dkim, sys\n\
        record = sys.argv[2].encode()\n\
        def dns(name, timeout=5):\n    return record if name == b'plico._domainkey.plico.test.' else None\n\
        ok = dkim.verify(open(sys.argv[1], 'rb').read(), dnsfunc=dns)\n\
        print('pass' if ok else 'fail')\n";
    let output = Command::new(PYTHON)
        .args(["-c", script, path.to_str().expect("path"), record])
        .output()
        .expect("python3 runs (Debian python3-dkim)");
    assert!(output.status.success(), "dkimpy: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim() == "pass"
}

const MARKER: &str = "OUTBOUND-PLAINTEXT-MARKER";

fn outside_message(from: &str, to: &str, extra_headers: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Hello outside world\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\
         Message-ID: <outbound-test@plico.test>\r\nMIME-Version: 1.0\r\n{extra_headers}\
         Content-Type: text/plain; charset=utf-8\r\n\r\nThe body says {MARKER}.\r\n"
    )
    .into_bytes()
}

/// The queued messages' rows.
async fn queue_rows(server: &TestServer) -> Vec<plico_server::store::outbound::OutboundRow> {
    server.state.store.outbound_rows().await.expect("rows")
}

fn no_plaintext_on_disk(server: &TestServer) {
    for file in server.files_on_disk() {
        let bytes = std::fs::read(&file).expect("reads");
        assert!(!bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()), "plaintext in {}", file.display());
    }
}

#[tokio::test]
async fn outside_mail_leaves_signed_with_dkim_bounces_what_fails_and_retries_the_rest_until_it_gives_up() {
    let sink = start_sink();
    let (dkim, record) = dkim_key(sink.dir.path());
    let server = TestServer::start_with(|config| with_smarthost(config, sink.port, Some(&dkim))).await;
    let alice = server.client("10.0.0.1");
    let session = signup(&alice, "alice").await;
    let message = outside_message("Alice <alice@plico.test>", "bob@example.org", "");

    let response =
        send_outside(&alice, &session, &["bob@example.org", "reject@example.org", "later@example.org"], &message).await;
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
    assert_eq!(response.json()["queued"], 3);
    assert_eq!(response.json()["delivered"], 0);
    assert_eq!(folder_messages(&alice, FolderRole::Sent).await.len(), 1, "the Sent copy is filed at once");
    assert_eq!(queue_rows(&server).await.len(), 1);
    server.checkpoint().await;
    no_plaintext_on_disk(&server);

    // One pass: bob gets it, reject@ is refused for good, later@ must wait. Issue 20, item 20:
    // the remote replies name the recipients; the logs must not.
    let (guard, logs) = capture_logs();
    let report = plico_server::outbound::run_due(&server.state).await.expect("runs");
    drop(guard);
    let logs = String::from_utf8(logs.lock().expect("logs").clone()).expect("utf-8");
    assert!(logs.contains("will try again"), "the retry is logged: {logs}");
    for person in ["later@example.org", "reject@example.org", "bob@example.org", "alice@plico.test"] {
        assert!(!logs.contains(person), "the log names {person}: {logs}");
    }
    assert_eq!((report.delivered, report.bounced, report.deferred), (1, 1, 1), "{report:?}");
    let received = sink.received();
    assert_eq!(received.len(), 1);
    let (eml, envelope) = &received[0];
    assert_eq!(envelope["mail_from"], "alice@plico.test");
    assert_eq!(envelope["rcpt_tos"], serde_json::json!(["bob@example.org"]));
    assert_eq!(envelope["user"], "relay", "it authenticated");
    assert_eq!(envelope["tls"], true, "over STARTTLS");
    assert!(eml.starts_with(b"DKIM-Signature:"), "signed: {}", String::from_utf8_lossy(&eml[..200.min(eml.len())]));
    assert!(eml.ends_with(&message), "the message leaves byte for byte under its signature");
    assert!(dkim_verifies(eml, &record, sink.dir.path()), "dkimpy verifies the DKIM signature");
    let mut tampered = eml.clone();
    let at = tampered.windows(MARKER.len()).position(|w| w == MARKER.as_bytes()).expect("marker");
    tampered[at] = b'X';
    assert!(!dkim_verifies(&tampered, &record, sink.dir.path()), "and fails it when the body changes");
    // Issue 20, item 9: From is over-signed, so a From added above the signed one (which some
    // readers show) breaks the signature instead of riding on it.
    let header = String::from_utf8_lossy(&eml[..eml.windows(4).position(|w| w == b"\r\n\r\n").expect("headers")]);
    let signed: String =
        header.split("h=").nth(1).expect("h= tag").split(';').next().expect("h=").split_whitespace().collect();
    let froms = signed.split(':').filter(|name| name.eq_ignore_ascii_case("from")).count();
    assert_eq!(froms, 2, "From is signed once more than it appears (over-signed): h={signed}");
    let from_at = eml.windows(7).position(|w| w == b"\r\nFrom:").expect("the From") + 2;
    let added = [&eml[..from_at], b"From: ceo@plico.test\r\n", &eml[from_at..]].concat();
    assert!(!dkim_verifies(&added, &record, sink.dir.path()), "a From added after signing keeps the signature");

    // The bounce for reject@ is in Alice's Inbox, encrypted to her.
    let inbox = folder_messages(&alice, FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 1, "one delivery status notification");
    let report_text = inner_of(&server, &session, &inbox[0]).await;
    assert!(report_text.contains("multipart/report; report-type=delivery-status"), "{report_text}");
    assert!(report_text.contains("Final-Recipient: rfc822; reject@example.org"));
    assert!(report_text.contains("Status: 5.1.1"));
    assert!(report_text.contains("no such user here"), "the smarthost's words reach the sender");
    assert!(!report_text.contains("later@example.org"), "only the failed recipient is reported");

    // later@ is tried again after a minute, not before.
    let rows = queue_rows(&server).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].recipients, vec!["later@example.org".to_owned()]);
    assert_eq!(rows[0].attempts, 1);
    assert_eq!(rows[0].next_attempt_at, START + 60);
    assert!(rows[0].last_error.as_deref().unwrap_or_default().contains("451"), "{:?}", rows[0].last_error);
    let report = plico_server::outbound::run_due(&server.state).await.expect("runs");
    assert_eq!(report, Default::default(), "nothing is due yet");
    server.clock.advance(61);
    let report = plico_server::outbound::run_due(&server.state).await.expect("runs");
    assert_eq!(report.deferred, 1);
    let rows = queue_rows(&server).await;
    assert_eq!((rows[0].attempts, rows[0].next_attempt_at), (2, START + 61 + 300), "the wait grows");

    // After the give-up time, it bounces and the queue is empty.
    server.clock.advance(120 * 3600);
    let report = plico_server::outbound::run_due(&server.state).await.expect("runs");
    assert_eq!(report.bounced, 1);
    assert!(queue_rows(&server).await.is_empty());
    assert!(queue_rows(&server).await.is_empty(), "the queued message is gone");
    let inbox = folder_messages(&alice, FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 2);
    let texts: Vec<String> = inners_of(&server, &session, inbox.iter()).await;
    let gave_up = texts.iter().find(|text| text.contains("later@example.org")).expect("the second report");
    assert!(gave_up.contains("Gave up after 120 hours") && gave_up.contains("Status: 4.4.7"), "{gave_up}");
    assert_eq!(sink.received().len(), 1, "nothing else left");
    server.checkpoint().await;
    no_plaintext_on_disk(&server);
}

#[tokio::test]
async fn the_queue_survives_a_restart_and_sends_when_the_smarthost_comes_back() {
    let sink = start_sink();
    // First the smarthost is down: a port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("binds").local_addr().expect("addr").port();
    let server = TestServer::start_with(|config| with_smarthost(config, dead, None)).await;
    let alice = server.client("10.0.0.1");
    let session = signup(&alice, "alice").await;
    let message = outside_message("alice@plico.test", "carol@example.net", "");
    assert_eq!(send_outside(&alice, &session, &["carol@example.net"], &message).await.status, 200);
    let report = plico_server::outbound::run_due(&server.state).await.expect("runs");
    assert_eq!(report.deferred, 1, "no connection is a reason to wait, not to bounce");
    assert!(sink.received().is_empty());

    // The server stops; it starts again on the same data directory, the smarthost now up.
    let mut config = (*server.state.config).clone();
    with_smarthost(&mut config, sink.port, None);
    let data_dir = config.data_dir.clone();
    drop(server.router);
    let state = plico_server::AppState::open(config, server.clock.clone()).await.expect("restarts");
    server.clock.advance(60);
    let report = plico_server::outbound::run_due(&state).await.expect("runs");
    assert_eq!(report.delivered, 1, "{report:?}");
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].0, message, "unsigned without a DKIM key, and otherwise as it was sent");
    assert!(state.store.outbound_rows().await.expect("rows").is_empty());
    assert!(all_files(&data_dir.join("queue")).is_empty(), "no queue file was ever needed");
    drop(state);
}

#[tokio::test]
async fn outside_packages_that_are_wrong_are_refused_by_name_and_nothing_is_queued() {
    let sink = start_sink();
    let server = TestServer::start_with(|config| with_smarthost(config, sink.port, None)).await;
    let alice = server.client("10.0.0.1");
    let session = signup(&alice, "alice").await;
    let good = outside_message("alice@plico.test", "bob@example.org", "");
    let cases: Vec<(&str, Vec<&str>, Vec<u8>)> = vec![
        ("wrong_sender", vec!["bob@example.org"], outside_message("mallory@plico.test", "bob@example.org", "")),
        ("wrong_sender", vec!["bob@example.org"], outside_message("ceo@bank.example", "bob@example.org", "")),
        (
            "bcc_header",
            vec!["bob@example.org"],
            outside_message("alice@plico.test", "x@example.org", "Bcc: eve@example.org\r\n"),
        ),
        ("bad_recipient", vec!["bob@example.org\r\nRCPT TO:<x@y.org>"], good.clone()),
        ("bad_recipient", vec!["bob"], good.clone()),
        ("bad_recipient", vec!["carol@plico.test"], good.clone()),
        ("wrong_sender", vec!["bob@example.org"], b"\x00\x01 not mail".to_vec()),
        // Issue 20, item 9: a second From (readers show the first, the old check read the last)
        // and a From naming two mailboxes are refused.
        (
            "wrong_sender",
            vec!["bob@example.org"],
            [&b"From: carol@plico.test\r\n"[..], &outside_message("alice@plico.test", "bob@example.org", "")].concat(),
        ),
        (
            "wrong_sender",
            vec!["bob@example.org"],
            outside_message("carol@plico.test, alice@plico.test", "bob@example.org", ""),
        ),
        (
            "wrong_sender",
            vec!["bob@example.org"],
            outside_message("alice@plico.test", "bob@example.org", "Sender: carol@plico.test\r\n"),
        ),
    ];
    for (code, recipients, message) in cases {
        let response = send_outside(&alice, &session, &recipients, &message).await;
        assert_eq!(response.status, 422, "{code}: {}", String::from_utf8_lossy(&response.body));
        assert_eq!(response.error_code(), code, "{}", response.json());
        assert!(!response.json()["error"]["message"].as_str().unwrap_or_default().is_empty());
    }
    assert!(queue_rows(&server).await.is_empty(), "nothing was queued");
    assert!(folder_messages(&alice, FolderRole::Sent).await.is_empty(), "and nothing was filed as sent");

    // Without a smarthost, the server says it sends only at home.
    let home = TestServer::start().await;
    let bob = home.client("10.0.0.2");
    let bob_session = signup(&bob, "bob").await;
    let response =
        send_outside(&bob, &bob_session, &["x@example.org"], &outside_message("bob@plico.test", "x@example.org", ""))
            .await;
    assert_eq!(response.status, 403);
    assert_eq!(response.error_code(), "no_outside_mail");
    assert!(response.json()["error"]["message"].as_str().unwrap_or_default().contains("smarthost"));
}

#[tokio::test]
async fn plico_mail_to_the_outside_is_encrypted_to_known_keys_signed_otherwise_and_gnupg_reads_both() {
    use plico_client::mail::{send, LocalRenderer, Outgoing};
    let sink = start_sink();
    let server = TestServer::start_with(|config| with_smarthost(config, sink.port, None)).await;
    let alice_client = server.client("10.0.0.1");
    let bob_client = server.client("10.0.0.2");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;

    // The outside peer: GnuPG with its own key, which Alice's keyring holds as imported.
    let gpg = Gpg::new();
    gpg.run(&["--import"], &fixture("gpg-peer.sec.asc"));
    gpg.run(&["--import"], alice.account.public_cert.as_bytes());
    let GpgRun { stdout: peer_key, status: _, .. } = gpg.run(&["--armor", "--export", "gpg-peer@example.org"], b"");
    let peer_key = String::from_utf8(peer_key).expect("armored");
    let peer_cert = plico_pgp::parse_cert(peer_key.as_bytes()).expect("cert");
    let imported = plico_client::keyring::OutsideKey {
        address: "gpg-peer@example.org".into(),
        cert: peer_key,
        fingerprint: plico_pgp::fingerprint_hex(&peer_cert),
        source: plico_client::keyring::KeySource::Imported,
        updated_at: START,
        verified: false,
        refused: Vec::new(),
    };
    plico_client::keyring::update(&alice_client, &alice, &|keyring| keyring.upsert(imported.clone()))
        .await
        .expect("kept");

    let outgoing = Outgoing {
        to: vec!["bob".into(), "gpg-peer@example.org".into()],
        cc: vec!["plain@example.net".into()],
        subject: "Quarterly figures".into(),
        text: format!("The body says {MARKER}."),
        ..Outgoing::default()
    };

    // Until the user has seen the notice, a recipient without a key stops the send.
    let refused = send(&alice_client, &LocalRenderer, &alice, &outgoing, START, &|_| {}).await.expect_err("refused");
    assert!(
        refused.to_string().contains("Not end-to-end encrypted") && refused.to_string().contains("plain@example.net"),
        "{refused}"
    );
    assert!(queue_rows(&server).await.is_empty());

    let confirmed = Outgoing { send_unencrypted: true, ..outgoing };
    let receipt = send(&alice_client, &LocalRenderer, &alice, &confirmed, START, &|_| {}).await.expect("sends");
    assert_eq!((receipt.delivered, receipt.queued), (1, 2));
    let bob_inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    assert_eq!(bob_inbox.len(), 1, "bob got it inside Plico");
    assert!(inner_of(&server, &bob, &bob_inbox[0]).await.contains("Quarterly figures"), "and it opens with his key");
    server.checkpoint().await;
    no_plaintext_on_disk(&server);

    let report = plico_server::outbound::run_due(&server.state).await.expect("runs");
    assert_eq!(report.delivered, 2, "{report:?}");
    let received = sink.received();
    assert_eq!(received.len(), 2);
    let by_recipient = |address: &str| {
        received
            .iter()
            .find(|(_, envelope)| envelope["rcpt_tos"] == serde_json::json!([address]))
            .expect("delivered")
            .0
            .clone()
    };

    // The encrypted copy: GnuPG decrypts it and finds Alice's good signature.
    let encrypted = by_recipient("gpg-peer@example.org");
    let text = String::from_utf8_lossy(&encrypted).into_owned();
    assert!(!text.contains(MARKER) && !text.contains("Quarterly figures"), "nothing readable outside the encryption");
    assert!(text.contains("multipart/encrypted"));
    // A Bcc header line, not the letters "Bcc", which the armored ciphertext's base64 holds by
    // chance about once in fifty messages (it did once, failing a CI run).
    assert!(!text.lines().any(|line| line.to_ascii_lowercase().starts_with("bcc:")), "no Bcc leaves");
    let ciphertext = plico_mime::unwrap_pgp_mime(&encrypted).expect("PGP/MIME");
    let GpgRun { stdout: plaintext, status, .. } = gpg.run(&["--decrypt"], &ciphertext);
    let fingerprint =
        plico_pgp::fingerprint_hex(&plico_pgp::parse_cert(alice.account.public_cert.as_bytes()).expect("cert"));
    assert!(status.contains("GOODSIG") && status.contains("VALIDSIG"), "{status}");
    assert!(status.to_ascii_uppercase().contains(&fingerprint.to_ascii_uppercase()), "signed by Alice's key: {status}");
    let plaintext = String::from_utf8(plaintext).expect("utf-8");
    assert!(plaintext.contains("Quarterly figures") && plaintext.contains(MARKER), "{plaintext}");

    // The signed copy: readable, and GnuPG verifies its detached signature.
    let signed = by_recipient("plain@example.net");
    let text = String::from_utf8_lossy(&signed).into_owned();
    assert!(text.contains("multipart/signed") && text.contains("Subject: Quarterly figures"), "{text}");
    let (part, signature) = plico_mime::unwrap_signed(&signed).expect("multipart/signed");
    assert!(String::from_utf8_lossy(&part).contains("hp=\"clear\""), "headers protected by the signature only");
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("part"), &part).expect("part");
    std::fs::write(dir.path().join("part.asc"), &signature).expect("signature");
    let GpgRun { status, .. } = gpg.run(
        &[
            "--verify",
            dir.path().join("part.asc").to_str().expect("path"),
            dir.path().join("part").to_str().expect("path"),
        ],
        b"",
    );
    assert!(status.contains("GOODSIG") && status.contains("VALIDSIG"), "{status}");
    let mut altered = part.clone();
    let at = altered.windows(MARKER.len()).position(|w| w == MARKER.as_bytes()).expect("marker in the signed part");
    altered[at] = b'X';
    let own = plico_pgp::parse_cert(alice.account.public_cert.as_bytes()).expect("cert");
    assert!(matches!(plico_pgp::verify_detached(&part, &signature, &own), plico_pgp::SignatureStatus::Valid { .. }));
    assert_eq!(plico_pgp::verify_detached(&altered, &signature, &own), plico_pgp::SignatureStatus::Bad);

    // Both carry Alice's key in an Autocrypt header that GnuPG can import.
    for message in [&encrypted, &signed] {
        let headers = mail_parser::MessageParser::new().parse_headers(message.as_slice()).expect("headers");
        let autocrypt = headers.header_raw("Autocrypt").expect("an Autocrypt header");
        let keydata: String = autocrypt.split("keydata=").nth(1).expect("keydata").split_whitespace().collect();
        assert!(autocrypt.contains("addr=alice@plico.test"), "{autocrypt}");
        let key = plico_pgp::parse_cert(&BASE64.decode(keydata).expect("base64")).expect("a certificate");
        assert_eq!(plico_pgp::fingerprint_hex(&key), fingerprint);
    }
}

#[tokio::test]
async fn a_key_from_an_autocrypt_header_is_kept_sealed_and_the_reply_goes_out_encrypted() {
    use plico_client::mail::{open, send, LocalRenderer, Outgoing};
    let sink = start_sink();
    let server = TestServer::start_with(|config| with_smarthost(config, sink.port, None)).await;
    let bob_client = server.client("10.0.0.2");
    let bob = signup(&bob_client, "bob").await;
    let smtp = listen(&server).await;

    // The GnuPG user writes to Bob in the clear, with their key in an Autocrypt header.
    let gpg = Gpg::new();
    gpg.run(&["--import"], &fixture("gpg-peer.sec.asc"));
    gpg.run(&["--import"], bob.account.public_cert.as_bytes());
    let GpgRun { stdout: peer_key, status: _, .. } = gpg.run(&["--export", "gpg-peer@example.org"], b"");
    let autocrypt = plico_mime::autocrypt_value("gpg-peer@example.org", &peer_key);
    let letter = format!(
        "From: GnuPG Peer <gpg-peer@example.org>\r\nTo: bob@plico.test\r\nSubject: Hello Bob\r\n\
         Date: Tue, 24 Nov 2026 09:00:00 +0000\r\nMessage-ID: <hello@example.org>\r\nAutocrypt: {autocrypt}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nWrite back, encrypted if you can.\r\n"
    );
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("letter.eml"), &letter).expect("writes");
    // swaks blocks; the listener runs on this test's runtime, so swaks gets its own thread.
    let data = format!("@{}", dir.path().join("letter.eml").display());
    let swaks = tokio::task::spawn_blocking(move || {
        Command::new("swaks")
            .args(["--server", &smtp.to_string(), "--from", "gpg-peer@example.org", "--to", "bob@plico.test"])
            .args(["--data", &data])
            .output()
            .expect("swaks runs")
    })
    .await
    .expect("joins");
    assert!(swaks.status.success(), "{}", String::from_utf8_lossy(&swaks.stdout));

    // Before Bob opens it, his device knows no key: a reply would be signed only.
    let (keyring, version) = plico_client::keyring::load(&bob_client, &bob).await.expect("loads");
    assert!(keyring.keys.is_empty() && version == 0);
    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    open(&bob_client, &LocalRenderer, &bob, &inbox[0]).await.expect("opens");
    let (keyring, version) = plico_client::keyring::load(&bob_client, &bob).await.expect("loads");
    assert_eq!(version, 1);
    let kept = keyring.find("gpg-peer@example.org").expect("the key was kept");
    assert_eq!(kept.source, plico_client::keyring::KeySource::Autocrypt);
    // Opening it again changes nothing.
    open(&bob_client, &LocalRenderer, &bob, &inbox[0]).await.expect("opens");
    assert_eq!(plico_client::keyring::load(&bob_client, &bob).await.expect("loads").1, 1);

    // The keyring on the server names nobody.
    let sealed: Vec<u8> = server.sql_bytes("SELECT sealed_keyring FROM accounts WHERE name = 'bob'", &[]).await;
    assert!(plico_pgp::check_encrypted_message(&sealed).is_ok());
    assert!(!sealed.windows(8).any(|w| w == b"gpg-peer"), "the address is sealed");
    // A device writing over a newer keyring is refused.
    let stale = serde_json::json!({ "sealed": BASE64.encode(&sealed), "version": 0 });
    let request = bob_client
        .request("PUT", "/api/v1/account/keyring")
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(stale.to_string()))
        .expect("request");
    let response = bob_client.send(request).await;
    assert_eq!(response.status, 409);
    assert_eq!(response.error_code(), "keyring_changed");

    // Bob's reply needs no confirmation: it leaves encrypted, and GnuPG reads it.
    let reply = Outgoing {
        to: vec!["gpg-peer@example.org".into()],
        subject: "Re: Hello Bob".into(),
        text: format!("Encrypted, as you asked. {MARKER}"),
        ..Outgoing::default()
    };
    let receipt =
        send(&bob_client, &LocalRenderer, &bob, &reply, START, &|_| {}).await.expect("sends without a notice");
    assert_eq!(receipt.queued, 1);
    assert_eq!(plico_server::outbound::run_due(&server.state).await.expect("runs").delivered, 1);
    let (eml, _) = sink.received().into_iter().next().expect("received");
    assert!(String::from_utf8_lossy(&eml).contains("multipart/encrypted"));
    let GpgRun { stdout: plaintext, status, .. } =
        gpg.run(&["--decrypt"], &plico_mime::unwrap_pgp_mime(&eml).expect("PGP/MIME"));
    assert!(status.contains("GOODSIG"), "{status}");
    assert!(String::from_utf8_lossy(&plaintext).contains(MARKER));
}

/// Issue 20, item 22: a send declares its length, as browsers do, and mail to other servers
/// travels inside it; a message with a 20 MiB attachment to an outside address goes out (the
/// declared length used to be held to the 1 MiB limit of small requests).
#[tokio::test]
async fn a_20_mib_attachment_reaches_an_outside_address() {
    use plico_client::mail::{send, LocalRenderer, Outgoing};
    let sink = start_sink();
    let server = TestServer::start_with(|config| with_smarthost(config, sink.port, None)).await;
    let alice = server.client("10.0.0.5");
    let session = signup(&alice, "alice").await;
    let data: Vec<u8> = (0..20 * 1024 * 1024u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let outgoing = Outgoing {
        to: vec!["erin@example.org".into()],
        subject: "The recording".into(),
        text: "Here it is.".into(),
        attachments: vec![plico_mime::Attachment {
            file_name: "recording.bin".into(),
            content_type: "application/octet-stream".into(),
            content_id: None,
            data: data.clone(),
        }],
        send_unencrypted: true,
        ..Outgoing::default()
    };
    let receipt = send(&alice, &LocalRenderer, &session, &outgoing, START, &|_| {}).await.expect("sends");
    assert_eq!(receipt.queued, 1);
    assert_eq!(plico_server::outbound::run_due(&server.state).await.expect("runs").delivered, 1);
    let (eml, _) = sink.received().into_iter().next().expect("received");
    assert!(eml.len() > 20 * 1024 * 1024, "{} bytes", eml.len());
    let parsed = plico_mime::parse(&eml).expect("parses");
    let recording = parsed.attachments.iter().find(|a| a.file_name == "recording.bin").expect("the attachment");
    assert_eq!(recording.data, data, "the attachment arrives whole");
}

/// Several nodes share the queue: a node claims due messages for a lease, so no other node
/// takes them meanwhile; a node that dies mid-delivery (it claimed, and never reported back)
/// leaves them to be tried again when the lease runs out, by any node.
#[tokio::test]
async fn a_claimed_message_is_left_alone_until_its_lease_runs_out_then_any_node_sends_it() {
    let sink = start_sink();
    let server = TestServer::start_with(|config| with_smarthost(config, sink.port, None)).await;
    let alice = server.client("10.0.0.1");
    let session = signup(&alice, "alice").await;
    let message = outside_message("alice@plico.test", "dora@example.net", "");
    assert_eq!(send_outside(&alice, &session, &["dora@example.net"], &message).await.status, 200);

    // Another node claims it, and dies before it reports back.
    let now = plico_server::clock::Clock::now(server.clock.as_ref());
    let lease = plico_server::outbound::DELIVERY_LEASE_SECONDS;
    let claimed = server.state.store.claim_due_outbound(now, now + lease, 20).await.expect("claims");
    assert_eq!(claimed.len(), 1);
    assert!(server.state.store.claim_due_outbound(now, now + lease, 20).await.expect("claims").is_empty(), "once");
    let report = plico_server::outbound::run_due(&server.state).await.expect("runs");
    assert_eq!(report, Default::default(), "nobody else takes a claimed message");
    server.clock.advance(lease - 1);
    assert_eq!(plico_server::outbound::run_due(&server.state).await.expect("runs"), Default::default());
    assert!(sink.received().is_empty());

    // The lease runs out: this node sends it, once.
    server.clock.advance(1);
    let report = plico_server::outbound::run_due(&server.state).await.expect("runs");
    assert_eq!(report.delivered, 1, "{report:?}");
    assert_eq!(sink.received().len(), 1);
    assert!(queue_rows(&server).await.is_empty());
    assert_eq!(plico_server::outbound::run_due(&server.state).await.expect("runs"), Default::default());
    assert_eq!(sink.received().len(), 1, "exactly once");
}
