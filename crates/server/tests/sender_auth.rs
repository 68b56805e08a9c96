//! SPF, DKIM and DMARC on arrival, against a real DNS server (dnsmasq) publishing the senders'
//! records, with DKIM signatures made by an independent signer (dkimpy). The results travel
//! inside the encrypted copy as an Authentication-Results header, and a DMARC failure under a
//! quarantine policy files the mail as spam.

mod common;

use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::*;
use plico_api::mail::FolderRole;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").expect("binds").local_addr().expect("address").port()
}

/// dnsmasq answering for `.test` alone, with these TXT records (long ones split into strings).
async fn start_dnsmasq(records: &[(&str, String)]) -> (Reaped, u16) {
    start_dnsmasq_with(records, &[]).await
}

async fn start_dnsmasq_with(records: &[(&str, String)], extra: &[&str]) -> (Reaped, u16) {
    let port = free_udp_port();
    let mut command = Command::new("dnsmasq");
    command.args(extra);
    command
        .args(["--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1"])
        .args(["--user=root", "--group=root", "--local=/test/", "--log-facility=-"])
        .arg(format!("--port={port}"));
    for (name, text) in records {
        let strings: Vec<String> = text
            .as_bytes()
            .chunks(200)
            // No quotes: without a shell they would be part of the text; dnsmasq splits at commas.
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect();
        command.arg(format!("--txt-record={name},{}", strings.join(",")));
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq starts (Debian dnsmasq-base; `cargo xtask setup --browser` installs it)");
    let dnsmasq = Reaped(child);
    // Ready when it answers a query.
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("binds");
    let query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04ping\x04test\x00\x00\x10\x00\x01";
    for _ in 0..100 {
        let _ = socket.send_to(query, ("127.0.0.1", port)).await;
        let mut answer = [0u8; 512];
        if let Ok(Ok(_)) =
            tokio::time::timeout(std::time::Duration::from_millis(100), socket.recv_from(&mut answer)).await
        {
            return (dnsmasq, port);
        }
    }
    panic!("dnsmasq did not answer on port {port}");
}

/// Signs `message` with dkimpy as `sel._domainkey.example.test`.
fn dkim_sign(message: &[u8], key: &std::path::Path, dir: &std::path::Path) -> Vec<u8> {
    let path = dir.join("message.eml");
    std::fs::write(&path, message).expect("writes");
    let script = "import dkim, sys\n\
        message = open(sys.argv[1], 'rb').read()\n\
        signature = dkim.sign(message, b'sel', b'example.test', open(sys.argv[2], 'rb').read(),\n\
            include_headers=[b'from', b'to', b'subject', b'date', b'message-id'])\n\
        sys.stdout.buffer.write(signature + message)\n";
    let output = Command::new("/usr/bin/python3")
        .args(["-c", script, path.to_str().expect("path"), key.to_str().expect("path")])
        .output()
        .expect("python3 runs (Debian python3-dkim)");
    assert!(output.status.success(), "dkimpy: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// One SMTP transaction from 127.0.0.1; returns DATA's reply code and text.
async fn deliver(address: std::net::SocketAddr, helo: &str, from: &str, message: &[u8]) -> (u16, String) {
    let (read, mut write) = tokio::net::TcpStream::connect(address).await.expect("connects").into_split();
    let mut read = BufReader::new(read);
    let reply = async |read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>| {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            read.read_line(&mut line).await.expect("reads");
            text.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return (line[..3].parse::<u16>().expect("code"), text);
            }
        }
    };
    assert_eq!(reply(&mut read).await.0, 220);
    let mut data = Vec::new();
    for line in message.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b".") {
            data.push(b'.');
        }
        data.extend_from_slice(line);
    }
    data.extend_from_slice(b".\r\n");
    for command in
        [format!("EHLO {helo}\r\n"), format!("MAIL FROM:<{from}>\r\n"), "RCPT TO:<bob@plico.test>\r\n".into()]
    {
        write.write_all(command.as_bytes()).await.expect("writes");
        let (code, text) = reply(&mut read).await;
        assert_eq!(code, 250, "{command}: {text}");
    }
    write.write_all(b"DATA\r\n").await.expect("writes");
    assert_eq!(reply(&mut read).await.0, 354);
    write.write_all(&data).await.expect("writes");
    reply(&mut read).await
}

/// The Authentication-Results header at the top of an inner message, unfolded.
fn results_of(inner: &str) -> String {
    assert!(inner.starts_with("Authentication-Results: plico.test;"), "on top: {}", &inner[..inner.len().min(300)]);
    let end = inner.find("\r\nReceived:").expect("then the Received line");
    inner[..end].replace("\r\n\t", " ")
}

fn message(from: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: bob@plico.test\r\nSubject: {subject}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\
         Message-ID: <{}@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Hello Bob, this is about {subject}.\r\n",
        subject.replace(' ', ".")
    )
    .into_bytes()
}

#[tokio::test]
async fn spf_dkim_and_dmarc_results_travel_inside_the_encryption_and_a_dmarc_failure_is_spam() {
    let dir = tempfile::tempdir().expect("dir");
    let key = dir.path().join("dkim.pem");
    openssl(&["genrsa", "-traditional", "-out", key.to_str().expect("path"), "2048"]);
    let public = openssl(&["rsa", "-in", key.to_str().expect("path"), "-pubout", "-outform", "DER"]);
    let (_dns, port) = start_dnsmasq(&[
        ("example.test", "v=spf1 ip4:127.0.0.1 -all".into()),
        ("sel._domainkey.example.test", format!("v=DKIM1; k=rsa; p={}", BASE64.encode(public))),
        ("_dmarc.example.test", "v=DMARC1; p=reject".into()),
        ("forged.test", "v=spf1 -all".into()),
        ("_dmarc.forged.test", "v=DMARC1; p=quarantine".into()),
    ])
    .await;
    let server = TestServer::start_with(|config| config.mail_auth_dns = format!("127.0.0.1:{port}")).await;
    let bob_client = server.client("192.0.2.70");
    let bob = signup(&bob_client, "bob").await;
    let address = listen(&server).await;

    // Signed by the domain and sent from an address its SPF record allows: all three pass.
    let signed = dkim_sign(&message("Dana <dana@example.test>", "AUTH signed"), &key, dir.path());
    let (code, text) = deliver(address, "mail.example.test", "dana@example.test", &signed).await;
    assert_eq!(code, 250, "{text}");
    // The same signature over a body changed on the way: DKIM fails, SPF still aligns.
    let mut altered = dkim_sign(&message("Dana <dana@example.test>", "AUTH altered"), &key, dir.path());
    let at = altered.windows(5).position(|w| w == b"Hello").expect("body");
    altered[at] = b'J';
    let (code, text) = deliver(address, "mail.example.test", "dana@example.test", &altered).await;
    assert_eq!(code, 250, "{text}");
    // A domain that allows nobody to send and asks for quarantine: to Spam, not refused.
    let forged = message("CEO <ceo@forged.test>", "AUTH forged");
    let (code, text) = deliver(address, "mail.forged.test", "ceo@forged.test", &forged).await;
    assert_eq!(code, 250, "{text}");

    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    let spam = folder_messages(&bob_client, FolderRole::Spam).await;
    let all: Vec<String> = inners_of(&server, &bob, inbox.iter().chain(&spam)).await;
    assert_eq!((inbox.len(), spam.len()), (2, 1), "{:#?}", all.iter().map(|text| results_of(text)).collect::<Vec<_>>());
    let inner: Vec<String> = inners_of(&server, &bob, inbox.iter()).await;
    let find = |subject: &str| inner.iter().find(|text| text.contains(subject)).expect(subject).clone();

    let pass = results_of(&find("Subject: AUTH signed"));
    for expected in ["dkim=pass", "header.i=@example.test", "spf=pass", "smtp.mailfrom=dana@example.test", "dmarc=pass"]
    {
        assert!(pass.contains(expected), "{expected} in {pass}");
    }
    let altered = results_of(&find("Subject: AUTH altered"));
    assert!(!altered.contains("dkim=pass") && altered.contains("body hash did not verify"), "{altered}");
    assert!(altered.contains("spf=pass") && altered.contains("dmarc=pass"), "SPF still aligns: {altered}");
    let forged = results_of(&inner_of(&server, &bob, &spam[0]).await);
    assert!(forged.contains("spf=fail") && forged.contains("dmarc=fail"), "{forged}");
    assert!(forged.contains("header.from=forged.test") && forged.contains("policy.dmarc=quarantine"), "{forged}");

    // Nothing of it is on disk in the clear.
    server.checkpoint().await;
    for path in server.files_on_disk() {
        let bytes = std::fs::read(&path).expect("reads");
        for needle in [&b"dkim=pass"[..], b"Authentication-Results", b"AUTH signed"] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{} holds plaintext", path.display());
        }
    }
}

#[tokio::test]
async fn a_dns_server_that_does_not_answer_costs_ten_seconds_at_most_and_loses_nothing() {
    // A UDP port nobody answers on.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("binds");
    let port = silent.local_addr().expect("address").port();
    let server = TestServer::start_with(|config| config.mail_auth_dns = format!("127.0.0.1:{port}")).await;
    let bob_client = server.client("192.0.2.71");
    let bob = signup(&bob_client, "bob").await;
    let address = listen(&server).await;
    let started = std::time::Instant::now();
    let (code, text) =
        deliver(address, "mail.example.test", "dana@example.test", &message("dana@example.test", "AUTH silent")).await;
    assert_eq!(code, 250, "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 1);
    let results = results_of(&inner_of(&server, &bob, &inbox[0]).await);
    assert!(results.contains("temperror"), "{results}");
    drop(silent);
}

#[tokio::test]
async fn the_reader_shows_the_servers_checks_only_on_mail_from_the_internet() {
    use plico_client::mail::{open, opened_view, LocalRenderer};
    let dir = tempfile::tempdir().expect("dir");
    let key = dir.path().join("dkim.pem");
    openssl(&["genrsa", "-traditional", "-out", key.to_str().expect("path"), "2048"]);
    let public = openssl(&["rsa", "-in", key.to_str().expect("path"), "-pubout", "-outform", "DER"]);
    let (_dns, port) = start_dnsmasq(&[
        ("example.test", "v=spf1 ip4:127.0.0.1 -all".into()),
        ("sel._domainkey.example.test", format!("v=DKIM1; k=rsa; p={}", BASE64.encode(public))),
        ("_dmarc.example.test", "v=DMARC1; p=reject".into()),
    ])
    .await;
    let server = TestServer::start_with(|config| config.mail_auth_dns = format!("127.0.0.1:{port}")).await;
    let alice_client = server.client("192.0.2.72");
    let bob_client = server.client("192.0.2.73");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    let address = listen(&server).await;
    let signed = dkim_sign(&message("Dana <dana@example.test>", "AUTH reader"), &key, dir.path());
    assert_eq!(deliver(address, "mail.example.test", "dana@example.test", &signed).await.0, 250);

    // A Plico user forges the same header on top of a message of her own.
    let bob_cert = plico_pgp::parse_cert(bob.account.public_cert.as_bytes()).expect("cert");
    let forged_inner = "Authentication-Results: plico.test; dkim=pass header.i=@bank.example;\r\n\tdmarc=pass header.from=bank.example\r\n\
        From: ceo@bank.example\r\nTo: bob@plico.test\r\nSubject: AUTH forged inside\r\n\r\nWire the money.\r\n";
    let armored =
        plico_pgp::encrypt_and_sign(forged_inner.as_bytes(), std::slice::from_ref(&bob_cert), &alice.secret_key)
            .expect("encrypts");
    let outer = plico_mime::OuterHeaders { message_id: "forged@plico.test".into(), date: START, ..Default::default() };
    let blob = plico_mime::wrap_pgp_mime(&outer, std::str::from_utf8(&armored).expect("ascii")).expect("wraps");
    let stored = alice_client.upload_blob(blob).await.json();
    let summary = plico_pgp::encrypt_to(b"{}", std::slice::from_ref(&bob_cert)).expect("summary");
    let send = serde_json::json!({ "recipients": ["bob@plico.test"], "blob_hash": stored["hash"], "size": stored["size"],
        "sealed_summary": BASE64.encode(summary) });
    assert_eq!(alice_client.post_raw("/api/v1/messages/send", send.to_string()).await.status, 200);

    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 2);
    let flag = plico_api::mail::flags::FROM_INTERNET;
    let (outside, inside): (Vec<_>, Vec<_>) = inbox.iter().partition(|meta| meta.flags & flag != 0);
    assert_eq!((outside.len(), inside.len()), (1, 1), "only the SMTP arrival carries the server's flag");

    let view = opened_view("a", &open(&bob_client, &LocalRenderer, &bob, outside[0]).await.expect("opens"));
    let checks = view.sender_checks.expect("the server's checks are shown");
    assert!(!checks.failed);
    assert!(checks.words.contains("sent by example.test, DMARC pass"), "{}", checks.words);
    assert!(checks.words.contains("DKIM pass (example.test)") && checks.words.contains("SPF pass"), "{}", checks.words);

    let view = opened_view("b", &open(&bob_client, &LocalRenderer, &bob, inside[0]).await.expect("opens"));
    assert_eq!(view.subject, "AUTH forged inside");
    // The forged header is not the server's word; what the reader says instead is who really
    // sent it (issue 20, item 10).
    let checks = view.sender_checks.expect("the reader names the real sender");
    assert!(checks.failed, "{}", checks.words);
    assert!(!checks.words.contains("DMARC pass") && !checks.words.contains("sent by bank.example"), "{}", checks.words);
    assert!(checks.words.contains("Sent by the Plico user alice@plico.test"), "{}", checks.words);

    // No client can set (or clear) the flag.
    for body in [
        serde_json::json!({ "ids": [inside[0].id], "add_flags": flag }),
        serde_json::json!({ "ids": [outside[0].id], "remove_flags": flag }),
    ] {
        let request = bob_client
            .request("PATCH", "/api/v1/messages")
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .expect("request");
        let response = bob_client.send(request).await;
        assert_eq!(response.status, 422, "{}", String::from_utf8_lossy(&response.body));
    }
}

#[tokio::test]
async fn an_outside_key_is_found_by_wkd_and_the_mail_to_it_is_queued_encrypted() {
    use plico_client::mail::{fetch_outside_cert, send, LocalRenderer, Outgoing};
    let dir = tempfile::tempdir().expect("dir");
    let path = |name: &str| dir.path().join(name).to_str().expect("path").to_owned();
    // A private CA and a certificate for the WKD hosts, which resolve to this machine.
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Plico test CA",
        "-keyout",
        &path("ca.key"),
        "-out",
        &path("ca.pem"),
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=example.test",
        "-keyout",
        &path("wkd.key"),
        "-out",
        &path("wkd.csr"),
    ]);
    std::fs::write(dir.path().join("san.ext"), "subjectAltName=DNS:example.test,DNS:openpgpkey.example.test\n")
        .expect("ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        &path("wkd.csr"),
        "-CA",
        &path("ca.pem"),
        "-CAkey",
        &path("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &path("san.ext"),
        "-out",
        &path("wkd.pem"),
    ]);
    // Erik's key, published by the direct method only (the advanced host answers 404 first).
    let erik = plico_pgp::generate_cert("erik@example.test").expect("key");
    let erik_cert = plico_pgp::parse_cert(erik.public_cert_armored.as_bytes()).expect("cert");
    let hu = dir.path().join("www/.well-known/openpgpkey/hu");
    std::fs::create_dir_all(&hu).expect("dirs");
    std::fs::write(
        hu.join(plico_server::wkd::wkd_hash("erik")),
        plico_pgp::public_cert_bytes(&erik_cert).expect("bytes"),
    )
    .expect("key file");
    // Someone else's key under nora's hash: it does not name nora, so it does not count.
    let other = plico_pgp::generate_cert("mallory@example.test").expect("key");
    let other = plico_pgp::parse_cert(other.public_cert_armored.as_bytes()).expect("cert");
    std::fs::write(hu.join(plico_server::wkd::wkd_hash("nora")), plico_pgp::public_cert_bytes(&other).expect("bytes"))
        .expect("key file");
    let https_port = std::net::TcpListener::bind("127.0.0.1:0").expect("binds").local_addr().expect("address").port();
    let script = "import http.server, ssl, sys, functools\n\
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])\n\
        server = http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), handler)\n\
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n\
        context.load_cert_chain(sys.argv[3], sys.argv[4])\n\
        server.socket = context.wrap_socket(server.socket, server_side=True)\n\
        print('ready', flush=True)\n\
        server.serve_forever()\n";
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", script, &https_port.to_string(), &path("www"), &path("wkd.pem"), &path("wkd.key")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().expect("stdout")), &mut line)
        .expect("reads");
    assert_eq!(line.trim(), "ready");
    let _https = Reaped(child);
    let (_dns, dns_port) = start_dnsmasq_with(&[], &["--address=/example.test/127.0.0.1"]).await;

    let server = TestServer::start_with(|config| {
        config.mail_auth_dns = format!("127.0.0.1:{dns_port}");
        config.no_wkd = false;
        config.wkd_ca = Some(dir.path().join("ca.pem"));
        config.wkd_https_port = https_port;
        // The test's key directory is on this machine.
        config.wkd_allow_private = true;
        config.smarthost = Some("127.0.0.1:9".into());
    })
    .await;
    let alice_client = server.client("192.0.2.74");
    let alice = signup(&alice_client, "alice").await;

    let found = fetch_outside_cert(&alice_client, "Erik@example.test").await.expect("asks").expect("found by WKD");
    assert_eq!(plico_pgp::fingerprint_hex(&found), plico_pgp::fingerprint_hex(&erik_cert));
    assert!(
        fetch_outside_cert(&alice_client, "nora@example.test").await.expect("asks").is_none(),
        "a key must name its address"
    );
    assert!(fetch_outside_cert(&alice_client, "nobody@example.test").await.expect("asks").is_none());
    let response = alice_client.get("/api/v1/keys/outside/nobody@example.test").await;
    assert_eq!((response.status, response.error_code()), (404, "no_such_key".to_owned()));
    // Signed-in users only: the server is nobody's lookup proxy.
    let stranger = server.client("192.0.2.75");
    assert_eq!(stranger.get("/api/v1/keys/outside/erik@example.test").await.status, 401);

    // No notice needed: the mail to Erik is queued PGP/MIME encrypted, and Erik's key opens it.
    let outgoing = Outgoing {
        to: vec!["erik@example.test".into()],
        subject: "WKD-SUBJECT".into(),
        text: "WKD-BODY".into(),
        ..Outgoing::default()
    };
    let receipt = send(&alice_client, &LocalRenderer, &alice, &outgoing, START, &|_| {}).await.expect("sends");
    assert_eq!(receipt.queued, 1);
    let queued = common::queued(&server).await;
    let message = queued[0].1.clone();
    assert!(String::from_utf8_lossy(&message).contains("multipart/encrypted"));
    let ciphertext = plico_mime::unwrap_pgp_mime(&message).expect("PGP/MIME");
    let erik_secret = plico_pgp::parse_cert(&erik.secret_key).expect("secret");
    let opened = plico_pgp::decrypt_and_verify(&ciphertext, &erik_secret, &[]).expect("Erik decrypts");
    assert!(String::from_utf8_lossy(&opened.plaintext).contains("WKD-BODY"));

    // Issue 21: Erik's key is kept from that first use. When his domain's key directory (or
    // whoever answers for it) later gives another key, the next mail waits: it goes neither to
    // the kept key silently nor to the new one, and both fingerprints are named.
    let (keyring, _) = plico_client::keyring::load(&alice_client, &alice).await.expect("keyring");
    let kept = keyring.find("erik@example.test").expect("kept on first use");
    assert_eq!(kept.source, plico_client::keyring::KeySource::Wkd);
    assert_eq!(kept.fingerprint, plico_pgp::fingerprint_hex(&erik_cert));
    let impostor = plico_pgp::generate_cert("erik@example.test").expect("key");
    let impostor_cert = plico_pgp::parse_cert(impostor.public_cert_armored.as_bytes()).expect("cert");
    std::fs::write(
        hu.join(plico_server::wkd::wkd_hash("erik")),
        plico_pgp::public_cert_bytes(&impostor_cert).expect("bytes"),
    )
    .expect("key file");
    let again = Outgoing { subject: "WKD-SECOND".into(), text: "WKD-SECOND-BODY".into(), ..outgoing };
    match send(&alice_client, &LocalRenderer, &alice, &again, START, &|_| {}).await {
        Err(plico_client::FlowError::Api { code, message, .. }) => {
            assert_eq!(code, "key_changed");
            assert!(message.contains(&plico_api::group_fingerprint(&kept.fingerprint)), "{message}");
            assert!(message.contains(&plico_api::group_fingerprint(&plico_pgp::fingerprint_hex(&impostor_cert))));
        }
        other => panic!("sent past a changed key: {other:?}"),
    }
    assert_eq!(common::queued(&server).await.len(), 1, "nothing more queued");
    // Alice keeps the old key: the mail goes to it, and only the real Erik reads it.
    let kept_old =
        plico_client::mail::use_directory_keys(&alice_client, &alice, &["erik@example.test".into()], true, START)
            .await
            .expect("refused");
    assert_eq!(kept_old, ["erik@example.test"]);
    send(&alice_client, &LocalRenderer, &alice, &again, START, &|_| {}).await.expect("sends");
    let queued_now = common::queued(&server).await;
    let second = queued_now.iter().find(|(id, _)| *id != queued[0].0).expect("the second message is queued");
    let message = second.1.clone();
    let ciphertext = plico_mime::unwrap_pgp_mime(&message).expect("PGP/MIME");
    let opened = plico_pgp::decrypt_and_verify(&ciphertext, &erik_secret, &[]).expect("Erik still decrypts");
    assert!(String::from_utf8_lossy(&opened.plaintext).contains("WKD-SECOND-BODY"));
    let impostor_secret = plico_pgp::parse_cert(&impostor.secret_key).expect("secret");
    assert!(plico_pgp::decrypt_and_verify(&ciphertext, &impostor_secret, &[]).is_err(), "not the new key");
}

/// Issue 20, item 1: mail that arrives already PGP/MIME-encrypted is stored as it came, so the
/// first Authentication-Results line inside its plaintext is the sender's. The reader must show
/// the verdict this server computed on the outer message, never one written inside.
#[tokio::test]
async fn a_verdict_written_inside_pre_encrypted_mail_is_never_shown() {
    use plico_client::mail::{open, opened_view, LocalRenderer};
    let (_dns, port) = start_dnsmasq(&[
        ("example.test", "v=spf1 ip4:127.0.0.1 -all".into()),
        ("_dmarc.example.test", "v=DMARC1; p=none".into()),
    ])
    .await;
    let server = TestServer::start_with(|config| config.mail_auth_dns = format!("127.0.0.1:{port}")).await;
    let bob_client = server.client("192.0.2.74");
    let bob = signup(&bob_client, "bob").await;
    let address = listen(&server).await;

    // The attacker encrypts to Bob's published key a message that claims the bank's DMARC pass.
    let bob_cert = plico_pgp::parse_cert(bob.account.public_cert.as_bytes()).expect("cert");
    let forged_inner = "Authentication-Results: plico.test; dkim=pass header.i=@bank.example;\r\n\
        \tspf=pass smtp.mailfrom=ceo@bank.example;\r\n\tdmarc=pass header.from=bank.example policy.dmarc=reject\r\n\
        From: CEO <ceo@bank.example>\r\nTo: bob@plico.test\r\nSubject: AUTH pre-encrypted forgery\r\n\
        Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <forged-inside@example.test>\r\n\r\nWire the money.\r\n";
    let armored = plico_pgp::encrypt_to(forged_inner.as_bytes(), std::slice::from_ref(&bob_cert)).expect("encrypts");
    let outer = plico_mime::OuterHeaders {
        from: Some(plico_mime::Mailbox::new(Some("Dana"), "dana@example.test")),
        to: vec![plico_mime::Mailbox::new(None, "bob@plico.test")],
        message_id: "forged-outer@example.test".into(),
        date: START,
        ..Default::default()
    };
    let wrapped = plico_mime::wrap_pgp_mime(&outer, std::str::from_utf8(&armored).expect("ascii")).expect("wraps");
    let (code, text) = deliver(address, "mail.example.test", "dana@example.test", &wrapped).await;
    assert_eq!(code, 250, "{text}");

    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 1);
    assert_ne!(inbox[0].flags & plico_api::mail::flags::FROM_INTERNET, 0);
    let view = opened_view("a", &open(&bob_client, &LocalRenderer, &bob, &inbox[0]).await.expect("opens"));
    assert_eq!(view.subject, "AUTH pre-encrypted forgery");
    let checks = view.sender_checks.expect("the server's own checks of the outer message are shown");
    assert!(!checks.words.contains("sent by bank.example"), "the sender's header was believed: {}", checks.words);
    assert!(checks.words.contains("example.test"), "the outer message's domain was checked: {}", checks.words);
    // What the server checked (example.test) is not whom the message inside claims to be from.
    assert!(checks.failed, "a From inside that the checks did not cover is a failure: {}", checks.words);
}

/// Issue 20, item 13: opening a message never makes the server ask the sender's key directory
/// (that would tell the sender's domain when it was read); a lookup never reaches this server's
/// own network; and what went wrong is not told apart.
#[tokio::test]
async fn opening_mail_asks_no_key_directory_and_lookups_stay_off_private_networks() {
    use plico_client::mail::{open, LocalRenderer};
    // Connections to this port are counted: it stands for the sender's key directory.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let port = listener.local_addr().expect("address").port();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    let (_dns, dns_port) = start_dnsmasq_with(&[], &["--address=/example.test/127.0.0.1"]).await;
    let setup = |allow_private: bool| {
        move |config: &mut plico_server::config::ServeConfig| {
            config.mail_auth_dns = format!("127.0.0.1:{dns_port}");
            config.no_wkd = false;
            config.wkd_https_port = port;
            config.wkd_allow_private = allow_private;
        }
    };

    // A signed message from someone whose key nobody here has: opening it asks nobody.
    let server = TestServer::start_with(setup(true)).await;
    let bob_client = server.client("192.0.2.76");
    let bob = signup(&bob_client, "bob").await;
    let address = listen(&server).await;
    let erik = plico_pgp::generate_cert("erik@example.test").expect("key");
    let erik_secret = plico_pgp::parse_cert(&erik.secret_key).expect("secret");
    let bob_cert = plico_pgp::parse_cert(bob.account.public_cert.as_bytes()).expect("cert");
    let inner = "From: erik@example.test\r\nTo: bob@plico.test\r\nSubject: Read receipt?\r\n\r\nHello.\r\n";
    let armored =
        plico_pgp::encrypt_and_sign(inner.as_bytes(), std::slice::from_ref(&bob_cert), &erik_secret).expect("enc");
    let outer = plico_mime::OuterHeaders {
        from: Some(plico_mime::Mailbox::new(None, "erik@example.test")),
        message_id: "receipt@example.test".into(),
        date: START,
        ..Default::default()
    };
    let wrapped = plico_mime::wrap_pgp_mime(&outer, std::str::from_utf8(&armored).expect("ascii")).expect("wraps");
    assert_eq!(deliver(address, "mail.example.test", "erik@example.test", &wrapped).await.0, 250);
    let inbox = folder_messages(&bob_client, FolderRole::Inbox).await;
    let opened = open(&bob_client, &LocalRenderer, &bob, &inbox[0]).await.expect("opens");
    assert_eq!(opened.signature, plico_pgp::SignatureStatus::UnknownKey);
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0, "opening the message asked a key directory");

    // Asked on purpose, with private addresses allowed (tests, closed networks): a port that
    // closes at once and one where nothing is listening read the same.
    let asked = bob_client.get("/api/v1/keys/outside/erik@example.test").await;
    assert!(connections.load(std::sync::atomic::Ordering::SeqCst) > 0, "the lookup went out");
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").expect("binds").local_addr().expect("a").port();
    let other = TestServer::start_with(move |config| {
        setup(true)(config);
        config.wkd_https_port = closed_port;
    })
    .await;
    let carol = other.client("192.0.2.77");
    signup(&carol, "carol").await;
    let refused = carol.get("/api/v1/keys/outside/erik@example.test").await;
    assert_eq!((asked.status, refused.status), (404, 404));
    assert_eq!(asked.json()["error"]["message"], refused.json()["error"]["message"], "errors tell what listens");

    // By default, a domain that resolves to this machine is asked nothing.
    let before = connections.load(std::sync::atomic::Ordering::SeqCst);
    let guarded = TestServer::start_with(setup(false)).await;
    let dave = guarded.client("192.0.2.78");
    signup(&dave, "dave").await;
    assert_eq!(dave.get("/api/v1/keys/outside/erik@example.test").await.status, 404);
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), before, "the lookup reached a loopback address");
}
