//! Mail from the Internet over a real SMTP socket: the listener, the ingest path and the client
//! code that reads what it stored. swaks drives the same listener in the end-to-end tests.

mod common;

use common::*;
use plico_api::mail::{FolderRole, MessageMeta};
use plico_client::mail::{open, open_summary, LocalRenderer};
use plico_pgp::SignatureStatus;
use plico_test_support::engines::free_port;

use common::SmtpClient as Client;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

async fn inbox_messages(client: &TestClient) -> Vec<MessageMeta> {
    folder_messages(client, FolderRole::Inbox).await
}

async fn message_count(server: &TestServer) -> i64 {
    server.sql_int("SELECT COUNT(*) FROM messages", &[]).await
}

const PLAIN: &str = "From: Dana Sender <dana@example.org>\r\n\
To: bob@plico.test\r\n\
Subject: SMTP-SUBJECT-9f2 quarterly numbers\r\n\
Message-ID: <q3.numbers@example.org>\r\n\
Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n\
\r\n\
SMTP-BODY-51c The numbers are in.\r\n\
.A line that starts with a dot.\r\n";

#[tokio::test]
async fn plaintext_mail_is_encrypted_to_the_recipient_before_250_and_reads_in_the_client() {
    let server = TestServer::start().await;
    let bob_client = server.client("192.0.2.60");
    let bob = signup(&bob_client, "bob").await;
    let address = listen(&server).await;

    let mut smtp = Client::connect(address).await;
    let (code, ehlo) = smtp.say("EHLO sender.example.org").await;
    assert_eq!(code, 250);
    for extension in ["SIZE", "8BITMIME", "PIPELINING"] {
        assert!(ehlo.contains(extension), "{ehlo}");
    }
    let (code, text) = smtp.mail("dana@example.org", &["BOB@plico.test"], PLAIN.as_bytes()).await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(smtp.say("QUIT").await.0, 221);

    let inbox = inbox_messages(&bob_client).await;
    assert_eq!(inbox.len(), 1);
    let summary = open_summary(&bob, &inbox[0]).expect("the summary opens");
    assert_eq!(summary.subject, "SMTP-SUBJECT-9f2 quarterly numbers");
    assert_eq!(summary.from.as_ref().map(|from| from.address.as_str()), Some("dana@example.org"));
    assert!(summary.snippet.starts_with("SMTP-BODY-51c The numbers are in."));
    let opened = open(&bob_client, &LocalRenderer, &bob, &inbox[0]).await.expect("opens");
    assert_eq!(opened.message.subject, "SMTP-SUBJECT-9f2 quarterly numbers");
    assert!(opened.message.text.contains(".A line that starts with a dot."), "dot-stuffing undone once");
    assert_eq!(opened.message.message_id.as_deref(), Some("q3.numbers@example.org"));
    assert_eq!(opened.signature, SignatureStatus::Unsigned);

    // The stored blob is PGP/MIME with a placeholder subject; nothing on disk holds the subject
    // or the body.
    let blob = server.state.read_blob(&inbox[0].blob_hash).await.expect("blob");
    let text = String::from_utf8_lossy(&blob);
    assert!(text.contains("multipart/encrypted"), "{text}");
    server.checkpoint().await;
    for path in server.files_on_disk() {
        let bytes = std::fs::read(&path).expect("reads");
        for needle in [&b"SMTP-SUBJECT-9f2"[..], b"SMTP-BODY-51c", b"quarterly"] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{} holds plaintext", path.display());
        }
    }
}

#[tokio::test]
async fn html_attachments_and_8bit_text_arrive_whole() {
    let server = TestServer::start().await;
    let bob_client = server.client("192.0.2.61");
    let bob = signup(&bob_client, "bob").await;
    let address = listen(&server).await;
    let message = "From: shop@example.org\r\n\
To: bob@plico.test\r\n\
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
<p>Smörgåsbord <b>für alle</b></p>\r\n\
--b1\r\n\
Content-Type: application/pdf; name=\"invoice.pdf\"\r\n\
Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQKJcOkw7zDtsOfCg==\r\n\
--b1--\r\n";
    let mut smtp = Client::connect(address).await;
    smtp.say("EHLO shop.example.org").await;
    assert_eq!(smtp.say("MAIL FROM:<shop@example.org> BODY=8BITMIME").await.0, 250);
    assert_eq!(smtp.say("RSET").await.0, 250);
    let (code, text) = smtp.mail("shop@example.org", &["bob@plico.test"], message.as_bytes()).await;
    assert_eq!(code, 250, "{text}");

    let inbox = inbox_messages(&bob_client).await;
    let opened = open(&bob_client, &LocalRenderer, &bob, &inbox[0]).await.expect("opens");
    assert_eq!(opened.message.subject, "Grüße");
    assert!(opened.message.text.contains("Smörgåsbord für alle"), "{:?}", opened.message.text);
    // The HTML part itself (this test's renderer has no sanitiser, so it drops HTML): decrypt
    // the stored copy by hand.
    let blob = server.state.read_blob(&inbox[0].blob_hash).await.expect("blob");
    let ciphertext = plico_mime::unwrap_pgp_mime(&blob).expect("PGP/MIME");
    let inner = plico_pgp::decrypt_and_verify(&ciphertext, &bob.secret_key, &[]).expect("decrypts").plaintext;
    assert!(inner.starts_with(b"Received: from shop.example.org ([127.0.0.1])\r\n"), "a trace line first");
    let parsed = plico_mime::parse(&inner).expect("parses");
    assert_eq!(parsed.html.as_deref(), Some("<p>Smörgåsbord <b>für alle</b></p>"));
    assert_eq!(opened.message.attachments.len(), 1);
    assert_eq!(opened.message.attachments[0].file_name, "invoice.pdf");
    assert_eq!(opened.message.attachments[0].data, b"%PDF-1.4\n%\xc3\xa4\xc3\xbc\xc3\xb6\xc3\x9f\n");
    assert!(open_summary(&bob, &inbox[0]).expect("summary").has_attachments);
}

#[tokio::test]
async fn refusals_unknown_users_relaying_size_and_malformed_mail_store_nothing() {
    let server = TestServer::start_with(|config| config.smtp_max_message_bytes = 4096).await;
    let bob_client = server.client("192.0.2.62");
    signup(&bob_client, "bob").await;
    let address = listen(&server).await;
    let mut smtp = Client::connect(address).await;
    smtp.say("EHLO sender.example.org").await;

    assert_eq!(smtp.say("MAIL FROM:<dana@example.org>").await.0, 250);
    let (code, text) = smtp.say("RCPT TO:<nobody@plico.test>").await;
    assert_eq!((code, text.contains("5.1.1")), (550, true), "{text}");
    let (code, text) = smtp.say("RCPT TO:<victim@elsewhere.example>").await;
    assert_eq!((code, text.contains("relay")), (550, true), "{text}");
    assert_eq!(smtp.say("DATA").await.0, 554, "no valid recipient");
    assert_eq!(smtp.say("RSET").await.0, 250);

    assert_eq!(smtp.say("MAIL FROM:<dana@example.org> SIZE=999999").await.0, 552);
    let big = format!("Subject: big\r\n\r\n{}\r\n", "x".repeat(5000));
    let (code, text) = smtp.mail("dana@example.org", &["bob@plico.test"], big.as_bytes()).await;
    assert_eq!(code, 552, "{text}");

    let (code, text) = smtp.mail("dana@example.org", &["bob@plico.test"], b"this is not a mail message\r\n").await;
    assert_eq!(code, 554, "{text}");
    assert!(text.contains("header"), "the refusal says what is wrong: {text}");

    assert_eq!(message_count(&server).await, 0);
    let blobs = server.state.blobs.list().expect("lists the blobs");
    assert!(blobs.is_empty(), "{blobs:?}");
    // The session is still usable after all that.
    let (code, text) = smtp.mail("dana@example.org", &["bob@plico.test"], PLAIN.as_bytes()).await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(message_count(&server).await, 1);
}

#[tokio::test]
async fn pipelined_commands_get_their_replies_in_order_and_each_recipient_gets_a_copy() {
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.63");
    let bob_client = server.client("192.0.2.64");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    let address = listen(&server).await;
    let mut smtp = Client::connect(address).await;
    smtp.say("EHLO pipe.example.org").await;
    let mut batch = b"MAIL FROM:<dana@example.org>\r\nRCPT TO:<alice@plico.test>\r\nRCPT TO:<nobody@plico.test>\r\n\
RCPT TO:<bob@plico.test>\r\nDATA\r\n"
        .to_vec();
    smtp.send(&batch).await;
    let codes = [smtp.reply().await.0, smtp.reply().await.0, smtp.reply().await.0, smtp.reply().await.0];
    assert_eq!(codes, [250, 250, 550, 250]);
    assert_eq!(smtp.reply().await.0, 354);
    batch = PLAIN.as_bytes().to_vec();
    batch.extend_from_slice(b".\r\nQUIT\r\n");
    // PLAIN has a line starting with a dot: stuff it as a client must.
    let stuffed = String::from_utf8(batch).expect("utf-8").replace("\r\n.A line", "\r\n..A line");
    smtp.send(stuffed.as_bytes()).await;
    assert_eq!(smtp.reply().await.0, 250);
    assert_eq!(smtp.reply().await.0, 221);

    for (client, session) in [(&alice_client, &alice), (&bob_client, &bob)] {
        let inbox = inbox_messages(client).await;
        assert_eq!(inbox.len(), 1);
        let opened = open(client, &LocalRenderer, session, &inbox[0]).await.expect("opens for each recipient");
        assert!(opened.message.text.contains("SMTP-BODY-51c"));
    }
    // One copy per recipient, each encrypted to that recipient alone.
    let inbox = inbox_messages(&alice_client).await;
    assert!(open(&bob_client, &LocalRenderer, &bob, &inbox[0]).await.is_err(), "bob cannot read alice's copy");
}

#[tokio::test]
async fn mail_already_encrypted_as_pgp_mime_is_stored_as_it_came() {
    let server = TestServer::start().await;
    let bob_client = server.client("192.0.2.65");
    let bob = signup(&bob_client, "bob").await;
    let address = listen(&server).await;
    let cert = plico_pgp::parse_cert(bob.account.public_cert.as_bytes()).expect("bob's cert");
    let inner = b"Subject: ENCRYPTED-SUBJECT-3b\r\nFrom: dana@example.org\r\n\r\nsecret words\r\n";
    let armored = String::from_utf8(plico_pgp::encrypt_to(inner, &[cert]).expect("encrypts")).expect("armor");
    let outer = plico_mime::OuterHeaders {
        from: Some(plico_mime::Mailbox::new(None, "dana@example.org")),
        to: vec![plico_mime::Mailbox::new(None, "bob@plico.test")],
        cc: Vec::new(),
        message_id: "pgp.mime@example.org".into(),
        date: START,
        autocrypt: None,
    };
    let message = plico_mime::wrap_pgp_mime(&outer, &armored).expect("wraps");
    let mut smtp = Client::connect(address).await;
    smtp.say("EHLO sender.example.org").await;
    let (code, text) = smtp.mail("dana@example.org", &["bob@plico.test"], &message).await;
    assert_eq!(code, 250, "{text}");

    let inbox = inbox_messages(&bob_client).await;
    let stored = server.state.read_blob(&inbox[0].blob_hash).await.expect("blob");
    assert_eq!(stored, message, "stored byte for byte");
    let opened = open(&bob_client, &LocalRenderer, &bob, &inbox[0]).await.expect("opens");
    assert_eq!(opened.message.subject, "ENCRYPTED-SUBJECT-3b");
}

/// GnuPG encrypts and signs a PGP/MIME message to a Plico user; sent in over SMTP, it is stored
/// as it came, decrypts with the user's key, and its signature verifies with the sender's key.
/// Skipped, with a note, where gpg is absent; the README's test command installs it.
#[tokio::test]
async fn a_gnupg_encrypted_and_signed_pgp_mime_message_decrypts_and_verifies() {
    if !plico_test_support::peer("gpg", &["--version"], "the GnuPG ingress test") {
        return;
    }
    let server = TestServer::start().await;
    let bob_client = server.client("192.0.2.66");
    let bob = signup(&bob_client, "bob").await;
    let address = listen(&server).await;

    let driver = plico_test_support::Gpg::new();
    let gpg = |args: &[&str], stdin: &[u8]| driver.run(args, stdin).stdout;
    gpg(&["--import"], &plico_test_support::fixture("gpg-peer.sec.asc"));
    gpg(&["--import"], bob.account.public_cert.as_bytes());
    let inner = "Content-Type: text/plain; charset=utf-8\r\nSubject: GPG-INGRESS-SUBJECT\r\n\
From: GnuPG Peer <gpg-peer@example.org>\r\n\r\nHello from GnuPG over SMTP.\r\n";
    let armored = gpg(
        &[
            "--trust-model",
            "always",
            "--armor",
            "--sign",
            "--local-user",
            "gpg-peer@example.org",
            "--encrypt",
            "--recipient",
            "bob@plico.test",
        ],
        inner.as_bytes(),
    );
    let outer = plico_mime::OuterHeaders {
        from: Some(plico_mime::Mailbox::new(Some("GnuPG Peer"), "gpg-peer@example.org")),
        to: vec![plico_mime::Mailbox::new(None, "bob@plico.test")],
        cc: Vec::new(),
        message_id: "gpg.ingress@example.org".into(),
        date: START,
        autocrypt: None,
    };
    let message = plico_mime::wrap_pgp_mime(&outer, &String::from_utf8(armored).expect("armor")).expect("wraps");
    let mut smtp = Client::connect(address).await;
    smtp.say("EHLO gnupg.example.org").await;
    let (code, text) = smtp.mail("gpg-peer@example.org", &["bob@plico.test"], &message).await;
    assert_eq!(code, 250, "{text}");

    let inbox = inbox_messages(&bob_client).await;
    let opened = open(&bob_client, &LocalRenderer, &bob, &inbox[0]).await.expect("opens");
    assert_eq!(opened.message.subject, "GPG-INGRESS-SUBJECT");
    assert!(opened.message.text.contains("Hello from GnuPG over SMTP."));
    // The sender is not in Plico's key directory and no key of theirs is known, so the client
    // reads the signature as made by an unknown key.
    assert_eq!(opened.signature, SignatureStatus::UnknownKey);
    let peer = plico_pgp::parse_cert(&plico_test_support::fixture("gpg-peer.pub.asc")).expect("cert");
    // Once bob imports the sender's key, the client itself verifies it.
    let armored_peer = String::from_utf8(plico_test_support::fixture("gpg-peer.pub.asc")).expect("fixture");
    let keys = plico_client::keyring::imported_keys(&armored_peer, START).expect("a public key");
    plico_client::keyring::update(&bob_client, &bob, &|keyring| {
        let mut changed = false;
        for key in &keys {
            changed |= keyring.upsert(key.clone());
        }
        changed
    })
    .await
    .expect("keeps the key");
    let opened = open(&bob_client, &LocalRenderer, &bob, &inbox[0]).await.expect("opens");
    assert_eq!(opened.signature, SignatureStatus::Valid { signer: peer.fingerprint().to_hex() });
    let blob = server.state.read_blob(&inbox[0].blob_hash).await.expect("blob");
    let ciphertext = plico_mime::unwrap_pgp_mime(&blob).expect("PGP/MIME");
    let decrypted = plico_pgp::decrypt_and_verify(&ciphertext, &bob.secret_key, &[]).expect("decrypts");
    assert_eq!(
        plico_pgp::verify_with(&decrypted, &peer),
        SignatureStatus::Valid { signer: peer.fingerprint().to_hex() }
    );
}

async fn put_settings(client: &TestClient, body: &str) -> TestResponse {
    let request = client
        .request("PUT", "/api/v1/account/settings")
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(body.to_owned()))
        .expect("request");
    client.send(request).await
}

const SPAMMY: &str = "From: \"service@bank.example\" <winner@prizes.example>\r\n\
To: bob@plico.test\r\n\
Subject: YOU HAVE WON THE LOTTERY!!!\r\n\
\r\n\
Congratulations! Claim your prize: verify your account and send the wire transfer fee.\r\n";

#[tokio::test]
async fn spam_goes_to_spam_with_its_score_inside_and_analysis_off_leaves_mail_alone() {
    let server = TestServer::start().await;
    let bob_client = server.client("192.0.2.67");
    let bob = signup(&bob_client, "bob").await;
    let address = listen(&server).await;
    assert_eq!(bob_client.get("/api/v1/account/settings").await.json()["mail_analysis"], true, "on by default");

    let mut smtp = Client::connect(address).await;
    smtp.say("EHLO prizes.example").await;
    assert_eq!(smtp.mail("winner@prizes.example", &["bob@plico.test"], SPAMMY.as_bytes()).await.0, 250);
    assert_eq!(smtp.mail("dana@example.org", &["bob@plico.test"], PLAIN.as_bytes()).await.0, 250);
    let spam = folder_messages(&bob_client, FolderRole::Spam).await;
    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    assert_eq!((spam.len(), inbox.len()), (1, 1));
    let spam_inner = inner_of(&server, &bob, &spam[0]).await;
    assert!(spam_inner.contains("X-Plico-Spam: yes; score="), "{spam_inner}");
    assert!(spam_inner.contains("rules=no-date,no-message-id,subject-shouts"), "{spam_inner}");
    assert!(inner_of(&server, &bob, &inbox[0]).await.contains("X-Plico-Spam: no; score=0.0; rules=none"));

    // Switched off: the server does not score the content, and the same mail goes to the Inbox.
    assert_eq!(put_settings(&bob_client, r#"{"mail_analysis": false}"#).await.status, 200);
    assert_eq!(bob_client.get("/api/v1/account/settings").await.json()["mail_analysis"], false);
    assert_eq!(bob_client.get("/api/v1/session").await.json()["mail_analysis"], false, "the session says so too");
    assert_eq!(smtp.mail("winner@prizes.example", &["bob@plico.test"], SPAMMY.as_bytes()).await.0, 250);
    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 2);
    assert_eq!(folder_messages(&bob_client, FolderRole::Spam).await.len(), 1);
    let inners: Vec<String> = inners_of(&server, &bob, inbox.iter()).await;
    assert!(
        inners.iter().any(|inner| inner.contains("YOU HAVE WON") && !inner.contains("X-Plico-Spam")),
        "the unscored copy is in the Inbox without a score"
    );

    // Bad settings bodies are refused by name and change nothing; no session, no settings.
    let bad = put_settings(&bob_client, r#"{"mail_analysis": "maybe"}"#).await;
    assert_eq!(bad.status, 422);
    assert!(bad.json()["error"]["message"].as_str().expect("message").contains("mail_analysis"), "{:?}", bad.json());
    assert_eq!(bob_client.get("/api/v1/account/settings").await.json()["mail_analysis"], false);
    assert_eq!(server.client("192.0.2.68").get("/api/v1/account/settings").await.status, 401);
}

/// A clamd of our own on a temporary socket, with one test signature (the EICAR test string),
/// since the real signature database is downloaded from the network. `None` where clamd is
/// not installed; the README's test command installs it.
struct Clamd {
    child: std::process::Child,
    socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Clamd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_clamd() -> Option<Clamd> {
    let program = ["/usr/sbin/clamd", "/usr/bin/clamd"].into_iter().find(|path| std::path::Path::new(path).exists())?;
    let dir = tempfile::tempdir().expect("clamd dir");
    std::fs::create_dir(dir.path().join("db")).expect("db dir");
    let signature: String = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE".iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(dir.path().join("db/plico-test.ndb"), format!("PlicoTest.EICAR:0:*:{signature}\n")).expect("db");
    let socket = dir.path().join("clamd.sock");
    let config = format!(
        "LocalSocket {}\nDatabaseDirectory {}\nForeground yes\nTemporaryDirectory {}\nLogFile {}\n",
        socket.display(),
        dir.path().join("db").display(),
        dir.path().display(),
        dir.path().join("clamd.log").display()
    );
    std::fs::write(dir.path().join("clamd.conf"), config).expect("config");
    let log = dir.path().join("clamd.log");
    let child = std::process::Command::new(program)
        .arg(format!("--config-file={}", dir.path().join("clamd.conf").display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("clamd starts");
    // Owned at once, so that it is killed and reaped however this ends.
    let clamd = Clamd { child, socket, _dir: dir };
    for _ in 0..300 {
        if tokio::net::UnixStream::connect(&clamd.socket).await.is_ok() {
            return Some(clamd);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("clamd did not open {}: {:?}", clamd.socket.display(), std::fs::read_to_string(log));
}

fn with_attachment(subject: &str, attachment: &[u8]) -> Vec<u8> {
    use base64::Engine;
    format!(
        "From: dana@example.org\r\nTo: bob@plico.test\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\n\
Content-Type: application/octet-stream; name=\"tool.com\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        base64::engine::general_purpose::STANDARD.encode(attachment)
    )
    .into_bytes()
}

#[tokio::test]
async fn clamd_refuses_a_virus_with_554_fails_closed_when_down_and_skips_accounts_without_analysis() {
    let Some(clamd) = start_clamd().await else {
        plico_test_support::missing("clamd", "the virus-scan test");
        return;
    };
    let socket = clamd.socket.display().to_string();
    let server = TestServer::start_with(|config| config.clamd = Some(socket)).await;
    let bob_client = server.client("192.0.2.69");
    signup(&bob_client, "bob").await;
    let address = listen(&server).await;
    let eicar = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

    let mut smtp = Client::connect(address).await;
    smtp.say("EHLO sender.example.org").await;
    let (code, text) = smtp.mail("dana@example.org", &["bob@plico.test"], &with_attachment("infected", eicar)).await;
    assert_eq!(code, 554, "{text}");
    assert!(text.contains("virus (PlicoTest.EICAR"), "{text}");
    assert_eq!(message_count(&server).await, 0);
    let (code, text) = smtp.mail("dana@example.org", &["bob@plico.test"], &with_attachment("clean", b"harmless")).await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(message_count(&server).await, 1);

    // Analysis off: the server does not scan bob's mail either.
    assert_eq!(put_settings(&bob_client, r#"{"mail_analysis": false}"#).await.status, 200);
    let (code, text) = smtp.mail("dana@example.org", &["bob@plico.test"], &with_attachment("unscanned", eicar)).await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(put_settings(&bob_client, r#"{"mail_analysis": true}"#).await.status, 200);

    // clamd gone: mail waits (451) rather than going in unscanned.
    drop(clamd);
    let (code, text) = smtp.mail("dana@example.org", &["bob@plico.test"], &with_attachment("later", b"harmless")).await;
    assert_eq!(code, 451, "{text}");
    assert_eq!(message_count(&server).await, 2);
}

#[tokio::test]
async fn one_address_may_hold_only_so_many_connections() {
    let server = TestServer::start_with(|config| config.smtp_max_connections_per_ip = 2).await;
    let address = listen(&server).await;
    let first = Client::connect(address).await;
    let mut second = Client::connect(address).await;
    let (read, _write) = TcpStream::connect(address).await.expect("connects").into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await.expect("reads");
    assert!(line.starts_with("421 4.7.0 Too many connections from your address"), "{line}");
    // A place frees up when a connection ends.
    drop(first);
    assert_eq!(second.say("QUIT").await.0, 221);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut again = Client::connect(address).await;
    assert_eq!(again.say("NOOP").await.0, 250);
}

/// An rspamd of our own on free ports, with per-recipient settings so that the test decides its
/// advice: bob's mail always gets "add header", carol's always "reject". `None` where rspamd is
/// not installed; the README's test command installs it.
struct Rspamd {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Rspamd {
    /// SIGTERM, so that the main process takes its forked workers down with it (SIGKILL would
    /// leave them serving); it exits at once on it.
    fn drop(&mut self) {
        let terminated = std::process::Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        if !terminated.is_ok_and(|status| status.success()) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

async fn start_rspamd() -> Option<Rspamd> {
    if !std::path::Path::new("/usr/bin/rspamd").exists() {
        return None;
    }
    let dir = tempfile::tempdir().expect("rspamd dir");
    let local = dir.path().join("local/local.d");
    std::fs::create_dir_all(&local).expect("local.d");
    for sub in ["db", "run", "log"] {
        std::fs::create_dir(dir.path().join(sub)).expect("dir");
    }
    let normal = free_port();
    for (file, port) in
        [("worker-normal.inc", normal), ("worker-controller.inc", free_port()), ("worker-proxy.inc", free_port())]
    {
        std::fs::write(local.join(file), format!("bind_socket = \"127.0.0.1:{port}\";\n")).expect("worker");
    }
    std::fs::write(local.join("logging.inc"), "type = \"console\";\nlevel = \"error\";\n").expect("logging");
    std::fs::write(
        local.join("settings.conf"),
        "bob_spam { priority = high; rcpt = \"bob@plico.test\"; apply { actions { reject = null; \"add header\" = -1000; greylist = null; \"rewrite subject\" = null; } } }\n\
         carol_reject { priority = high; rcpt = \"carol@plico.test\"; apply { actions { reject = -1000; } } }\n",
    )
    .expect("settings");
    let var = |name: &str, path: std::path::PathBuf| format!("--var={name}={}", path.display());
    let child = std::process::Command::new("/usr/bin/rspamd")
        // --insecure: CI runs as root, and rspamd refuses to run as root without it.
        .args(["-f", "--insecure", "-c", "/etc/rspamd/rspamd.conf"])
        .arg(var("DBDIR", dir.path().join("db")))
        .arg(var("RUNDIR", dir.path().join("run")))
        .arg(var("LOGDIR", dir.path().join("log")))
        .arg(var("LOCAL_CONFDIR", dir.path().join("local")))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).expect("log file"))
        .spawn()
        .expect("rspamd starts");
    let log = dir.path().join("stderr.log");
    let rspamd = Rspamd { child, url: format!("http://127.0.0.1:{normal}"), _dir: dir };
    // It compiles its rules on a first start: allow two minutes.
    for _ in 0..1200 {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", normal)).await {
            let _ = stream.write_all(b"GET /ping HTTP/1.0\r\n\r\n").await;
            let mut answer = String::new();
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut answer).await;
            if answer.contains("pong") {
                return Some(rspamd);
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("rspamd did not answer /ping at {}: {:?}", rspamd.url, std::fs::read_to_string(log));
}

#[tokio::test]
async fn rspamd_advice_files_spam_refuses_its_rejects_and_is_skipped_or_survived() {
    let Some(rspamd) = start_rspamd().await else {
        plico_test_support::missing("rspamd", "the rspamd test");
        return;
    };
    let url = rspamd.url.clone();
    let server = TestServer::start_with(|config| config.rspamd = Some(url)).await;
    let bob_client = server.client("192.0.2.70");
    let bob = signup(&bob_client, "bob").await;
    signup(&server.client("192.0.2.71"), "carol").await;
    let address = listen(&server).await;
    let mut smtp = Client::connect(address).await;
    smtp.say("EHLO sender.example.org").await;

    // Bob's settings in rspamd say "add header": to Spam, though the built-in score finds nothing.
    assert_eq!(smtp.mail("dana@example.org", &["bob@plico.test"], PLAIN.as_bytes()).await.0, 250);
    let spam = folder_messages(&bob_client, FolderRole::Spam).await;
    assert_eq!(spam.len(), 1);
    let inner = inner_of(&server, &bob, &spam[0]).await;
    assert!(inner.contains("X-Plico-Spam: yes; score=0.0; rules=none; rspamd="), "{inner}");
    assert!(inner.contains(" add header\r\n"), "{inner}");

    // Carol's say "reject": refused whole.
    let (code, text) = smtp.mail("dana@example.org", &["carol@plico.test"], PLAIN.as_bytes()).await;
    assert_eq!(code, 554, "{text}");
    assert!(text.contains("refused as spam"), "{text}");
    assert_eq!(message_count(&server).await, 1);

    // Analysis off: rspamd is not asked, and the mail goes to the Inbox.
    assert_eq!(put_settings(&bob_client, r#"{"mail_analysis": false}"#).await.status, 200);
    assert_eq!(smtp.mail("dana@example.org", &["bob@plico.test"], PLAIN.as_bytes()).await.0, 250);
    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 1);
    assert!(!inner_of(&server, &bob, &inbox[0]).await.contains("X-Plico-Spam"));
    assert_eq!(put_settings(&bob_client, r#"{"mail_analysis": true}"#).await.status, 200);

    drop(rspamd);

    // rspamd unreachable: mail is still taken, on the built-in score alone.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let server = TestServer::start_with(|config| config.rspamd = Some(dead)).await;
    let bob_client = server.client("192.0.2.72");
    let bob = signup(&bob_client, "bob").await;
    let mut smtp = Client::connect(listen(&server).await).await;
    smtp.say("EHLO sender.example.org").await;
    assert_eq!(smtp.mail("dana@example.org", &["bob@plico.test"], PLAIN.as_bytes()).await.0, 250);
    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 1);
    assert!(inner_of(&server, &bob, &inbox[0]).await.contains("X-Plico-Spam: no; score=0.0; rules=none\r\n"));
}

/// GnuPG signs a PGP/MIME `multipart/signed` message (signed, not encrypted, as many people on
/// other servers send): the server encrypts it on arrival with its bytes kept, and the client
/// verifies the detached signature with the key from the message's Autocrypt header. Altered
/// after signing, it reads as bad; with no key to be found, as by an unknown key.
#[tokio::test]
async fn a_gnupg_signed_message_keeps_its_bytes_and_verifies_in_the_client() {
    if !plico_test_support::peer("gpg", &["--version"], "the GnuPG signed-mail test") {
        return;
    }
    use base64::Engine;
    let server = TestServer::start().await;
    let dana_client = server.client("192.0.2.67");
    let dana = signup(&dana_client, "dana").await;
    let address = listen(&server).await;
    let driver = plico_test_support::Gpg::new();
    let gpg = |args: &[&str], stdin: &[u8]| driver.run(args, stdin).stdout;
    gpg(&["--import"], &plico_test_support::fixture("gpg-peer.sec.asc"));
    let peer_key = gpg(&["--export", "gpg-peer@example.org"], b"");
    let peer = plico_pgp::parse_cert(&peer_key).expect("cert");

    let signed_message = |subject: &str, body: &str, autocrypt: bool, tamper: bool| {
        let part =
            format!("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{body}\r\n");
        let signature = gpg(
            &["--armor", "--detach-sign", "--local-user", "gpg-peer@example.org", "--digest-algo", "SHA256"],
            part.as_bytes(),
        );
        let part = if tamper { part.replace("pay", "PAY") } else { part };
        let keydata = base64::engine::general_purpose::STANDARD.encode(&peer_key);
        let folded: Vec<&str> =
            keydata.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).expect("base64")).collect();
        let autocrypt = if autocrypt {
            format!(
                "Autocrypt: addr=gpg-peer@example.org; prefer-encrypt=mutual; keydata=\r\n {}\r\n",
                folded.join("\r\n ")
            )
        } else {
            String::new()
        };
        format!(
            "From: GnuPG Peer <gpg-peer@example.org>\r\nTo: dana@plico.test\r\nSubject: {subject}\r\n\
             Date: Wed, 02 Dec 2026 06:00:00 +0000\r\nMessage-ID: <{subject}@example.org>\r\n{autocrypt}MIME-Version: 1.0\r\n\
             Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"; boundary=\"sig-b\"\r\n\r\n\
             --sig-b\r\n{part}\r\n--sig-b\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n{}\r\n--sig-b--\r\n",
            // SMTP carries CRLF lines; gpg writes LF.
            String::from_utf8(signature).expect("armor").replace('\n', "\r\n")
        )
    };
    let mut smtp = Client::connect(address).await;
    smtp.say("EHLO gnupg.example.org").await;
    // Unknown key first: nothing of the sender's is known yet.
    let unknown = signed_message("SIGNED-UNKNOWN", "Please pay the invoice.", false, false);
    let (code, text) = smtp.mail("gpg-peer@example.org", &["dana@plico.test"], unknown.as_bytes()).await;
    assert_eq!(code, 250, "{text}");
    let inbox = inbox_messages(&dana_client).await;
    let opened = open(&dana_client, &LocalRenderer, &dana, &inbox[0]).await.expect("opens");
    assert_eq!(opened.signature, SignatureStatus::UnknownKey);
    assert!(opened.message.text.contains("Please pay the invoice."));

    // With its Autocrypt header, the signature verifies with that key, which nothing but the
    // message vouches for (the reader says so, never "valid"); the key is kept for encryption.
    let good = signed_message("SIGNED-GOOD", "Please pay the invoice.", true, false);
    let (code, text) = smtp.mail("gpg-peer@example.org", &["dana@plico.test"], good.as_bytes()).await;
    assert_eq!(code, 250, "{text}");
    let inbox = inbox_messages(&dana_client).await;
    let mut good_meta = None;
    for meta in &inbox {
        let blob = server.state.read_blob(&meta.blob_hash).await.expect("blob");
        let ciphertext = plico_mime::unwrap_pgp_mime(&blob).expect("PGP/MIME");
        let inner = plico_pgp::decrypt_and_verify(&ciphertext, &dana.secret_key, &[]).expect("decrypts").plaintext;
        // The original is inside byte for byte, after the server's trace header.
        if String::from_utf8_lossy(&inner).contains("SIGNED-GOOD") && inner.ends_with(good.as_bytes()) {
            good_meta = Some(meta);
        }
    }
    let opened = open(&dana_client, &LocalRenderer, &dana, good_meta.expect("stored whole")).await.expect("opens");
    assert_eq!(opened.signature, SignatureStatus::Valid { signer: peer.fingerprint().to_hex() });
    assert_eq!(opened.key_origin, Some(plico_client::mail::KeyOrigin::ThisMessage));
    assert!(opened.message.pgp_signed.is_some());

    // Altered after signing: bad, now that the sender's key is known from the Autocrypt header.
    let altered = signed_message("SIGNED-ALTERED", "Please pay the invoice.", false, true);
    let (code, text) = smtp.mail("gpg-peer@example.org", &["dana@plico.test"], altered.as_bytes()).await;
    assert_eq!(code, 250, "{text}");
    let inbox = inbox_messages(&dana_client).await;
    let mut statuses = Vec::new();
    for meta in &inbox {
        let opened = open(&dana_client, &LocalRenderer, &dana, meta).await.expect("opens");
        statuses.push((opened.message.subject.clone(), opened.signature, opened.key_origin));
    }
    statuses.sort_by(|a, b| a.0.cmp(&b.0));
    let valid = SignatureStatus::Valid { signer: peer.fingerprint().to_hex() };
    let earlier = Some(plico_client::mail::KeyOrigin::EarlierMail);
    assert_eq!(
        statuses,
        [
            ("SIGNED-ALTERED".to_owned(), SignatureStatus::Bad, earlier),
            ("SIGNED-GOOD".to_owned(), valid.clone(), earlier),
            // Sent before the key was known; now the keyring has it, so it verifies too, with
            // the key earlier mail carried (unconfirmed).
            ("SIGNED-UNKNOWN".to_owned(), valid, earlier),
        ]
    );
}

/// A node told to stop (SIGTERM from an orchestrator) stops taking connections, tells an idle
/// session 421 so that its sender retries elsewhere, and lets a message that is arriving finish:
/// it is stored and gets its 250 before the listener returns.
#[tokio::test]
async fn a_graceful_shutdown_finishes_the_message_in_flight_and_sends_idle_sessions_away() {
    let server = TestServer::start().await;
    let bob_client = server.client("192.0.2.70");
    signup(&bob_client, "bob").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    let shutdown = plico_server::shutdown::Shutdown::new();
    let serving =
        tokio::spawn(plico_server::inbound::smtp::serve(listener, server.state.clone(), None, shutdown.clone()));

    let mut idle = Client::connect(address).await;
    assert_eq!(idle.say("EHLO idle.example.org").await.0, 250);
    let mut arriving = Client::connect(address).await;
    assert_eq!(arriving.say("EHLO busy.example.org").await.0, 250);
    assert_eq!(arriving.say("MAIL FROM:<dana@example.org>").await.0, 250);
    assert_eq!(arriving.say("RCPT TO:<bob@plico.test>").await.0, 250);
    assert_eq!(arriving.say("DATA").await.0, 354);
    let (head, tail) = PLAIN.split_at(PLAIN.len() / 2);
    arriving.send(head.as_bytes()).await;

    shutdown.begin();
    let (code, text) = idle.reply().await;
    assert_eq!(code, 421, "an idle session is sent away: {text}");
    assert!(
        TcpStream::connect(address).await.is_err() || {
            // The listener may close a moment after the signal.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            TcpStream::connect(address).await.is_err()
        },
        "no new connections"
    );
    assert!(!serving.is_finished(), "the listener waits for the message in flight");

    arriving.send(tail.as_bytes()).await;
    arriving.send(b".\r\n").await;
    let (code, text) = arriving.reply().await;
    assert_eq!(code, 250, "the message in flight is stored: {text}");
    assert_eq!(message_count(&server).await, 1);
    let (code, _) = arriving.reply().await;
    assert_eq!(code, 421, "then this session is sent away too");
    tokio::time::timeout(std::time::Duration::from_secs(10), serving)
        .await
        .expect("the listener returns once its sessions ended")
        .expect("the listener ran");
}

/// `/metrics` counts requests, SMTP sessions and messages, commit batches and the queue, names
/// no person, and answers only this machine and the addresses `--metrics-from` names.
#[tokio::test]
async fn metrics_count_what_happened_name_nobody_and_answer_only_who_may_scrape() {
    let server = TestServer::start_with(|config| config.metrics_from = vec!["198.51.100.0/24".into()]).await;
    let bob_client = server.client("192.0.2.71");
    signup(&bob_client, "bob").await;
    let address = listen(&server).await;
    let mut smtp = Client::connect(address).await;
    assert_eq!(smtp.say("EHLO metrics.example.org").await.0, 250);
    let (code, text) = smtp.mail("dana@example.org", &["bob@plico.test"], PLAIN.as_bytes()).await;
    assert_eq!(code, 250, "{text}");
    assert_eq!(smtp.say("QUIT").await.0, 221);
    assert_eq!(bob_client.get("/api/v1/keys/nobody@plico.test").await.status, 404);

    let local = server.client("127.0.0.1");
    let scraped = local.get("/metrics").await;
    assert_eq!(scraped.status, 200);
    let text = String::from_utf8(scraped.body.to_vec()).expect("text");
    for expected in [
        "plico_smtp_messages_total{outcome=\"stored\"} 1\n",
        "plico_smtp_sessions_total 1\n",
        "plico_commit_batch_messages_count 1\n",
        "plico_http_requests_total{area=\"signup\",status=\"2xx\"} 2\n",
        "plico_http_requests_total{area=\"keys\",status=\"4xx\"} 1\n",
        "plico_outbound_queue_depth 0\n",
        "plico_errors_total{kind=\"http_5xx\"} 0\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    for personal in ["bob", "dana", "example.org", "plico.test", "SMTP-SUBJECT", "192.0.2"] {
        assert!(!text.contains(personal), "{personal:?} in the metrics:\n{text}");
    }
    assert_eq!(server.client("198.51.100.20").get("/metrics").await.status, 200, "--metrics-from");
    assert_eq!(server.client("203.0.113.9").get("/metrics").await.status, 404, "anyone else");
}

/// With `--blobs s3://bucket`, mail arriving over SMTP is kept in the bucket (a real SeaweedFS):
/// a large message's encrypted copy is there, and it reads back. A bucket that does not exist,
/// a wrong key and missing credentials each stop the start with a message naming the flag.
#[tokio::test]
async fn blobs_in_an_s3_bucket_hold_arriving_mail_and_bad_bucket_settings_are_named() {
    let Some(weed) = plico_test_support::engines::SeaweedFs::start() else { return };
    weed.create_bucket("plico-mail");
    let s3 = |config: &mut plico_server::config::ServeConfig, bucket: &str, secret: &str| {
        config.blobs = format!("s3://{bucket}");
        config.s3_endpoint = Some(weed.endpoint.clone());
        config.s3_access_key = Some(weed.access_key.into());
        config.s3_secret_key = Some(secret.into());
    };
    let server = TestServer::start_with(|config| s3(config, "plico-mail", weed.secret_key)).await;
    let bob_client = server.client("192.0.2.72");
    signup(&bob_client, "bob").await;
    let address = listen(&server).await;
    let mut smtp = Client::connect(address).await;
    assert_eq!(smtp.say("EHLO s3.example.org").await.0, 250);
    // Past the size kept in the row (256 KiB), so the copy goes to the bucket.
    let large = format!("{PLAIN}{}\r\n", "A line of the quarterly numbers, long enough to count.\r\n".repeat(8_000));
    let (code, text) = smtp.mail("dana@example.org", &["bob@plico.test"], large.as_bytes()).await;
    assert_eq!(code, 250, "{text}");
    let inbox = inbox_messages(&bob_client).await;
    assert_eq!(inbox.len(), 1);
    assert!(server.state.store.inline_blob(&inbox[0].blob_hash).await.expect("reads").is_none(), "not in the row");
    assert!(server.state.blobs.contains(&inbox[0].blob_hash), "in the bucket");
    let stored = server.state.read_blob(&inbox[0].blob_hash).await.expect("reads back from S3");
    assert!(stored.len() > large.len() / 2, "the encrypted copy: {} bytes", stored.len());
    assert!(!String::from_utf8_lossy(&stored).contains("quarterly numbers"), "encrypted before it left");

    let refused = |adjust: Box<dyn FnOnce(&mut plico_server::config::ServeConfig)>| async {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = plico_server::config::ServeConfig::for_data_dir(dir.path().join("data"));
        adjust(&mut config);
        let clock = std::sync::Arc::new(plico_server::clock::ManualClock::new(common::START));
        match plico_server::AppState::open(config, clock).await {
            Ok(_) => panic!("the server started"),
            Err(error) => error.to_string(),
        }
    };
    let missing = refused(Box::new(|config| s3(config, "no-such-bucket", weed.secret_key))).await;
    assert!(missing.contains("--blobs s3://no-such-bucket") && missing.contains("no-such-bucket"), "{missing}");
    let wrong = refused(Box::new(|config| s3(config, "plico-mail", "not-the-secret"))).await;
    assert!(wrong.contains("--blobs s3://plico-mail cannot be used"), "{wrong}");
    let bare = refused(Box::new(|config| config.blobs = "s3://plico-mail".into())).await;
    assert!(bare.contains("--s3-access-key"), "{bare}");
    let nonsense = refused(Box::new(|config| config.blobs = "ftp://somewhere".into())).await;
    assert!(nonsense.contains("--blobs"), "{nonsense}");
}
