//! The account's life and the retention rules together, on an injected clock: closing signs
//! out everywhere and suspends, signing in reopens within the legal period, the purge removes
//! rows, blobs, keys and the directory entry, the name stays quarantined; inactive free
//! accounts get a notice, are suspended, get another notice and are deleted; the recovery
//! address is confirmed with a code mailed through the smarthost (aiosmtpd).

mod common;

use common::*;
use plico_api::mail::FolderRole;
use plico_client::mail::{save_draft, send, LocalRenderer, Outgoing};
use plico_client::FlowError;
use plico_server::clock::DAY;

async fn count(server: &TestServer, sql: &str) -> i64 {
    server.sql_int(sql, &[]).await
}

async fn retention(server: &TestServer) -> plico_server::jobs::retention::RetentionReport {
    plico_server::jobs::retention::run_once(&server.state).await.expect("retention runs")
}

async fn decrypt_blob(server: &TestServer, session: &plico_client::UnlockedSession, hash: &str) -> String {
    let blob = server.state.read_blob(hash).await.expect("blob");
    let ciphertext = plico_mime::unwrap_pgp_mime(&blob).expect("PGP/MIME");
    let inner = plico_pgp::decrypt_and_verify(&ciphertext, &session.secret_key, &[]).expect("decrypts");
    String::from_utf8(inner.plaintext).expect("utf-8")
}

/// The error of a flow that must fail.
fn failure<T>(result: Result<T, FlowError>) -> FlowError {
    match result {
        Ok(_) => panic!("the flow succeeded"),
        Err(error) => error,
    }
}

fn note(text: &str) -> Outgoing {
    Outgoing { to: vec!["alice@plico.test".into()], subject: text.into(), text: text.into(), ..Outgoing::default() }
}

#[tokio::test]
async fn closing_signs_out_everywhere_hides_the_account_and_signing_in_reopens_it() {
    let server = TestServer::start().await;
    let laptop = server.client("192.0.2.1");
    let phone = server.client("192.0.2.2");
    let bob_client = server.client("192.0.2.3");
    signup(&laptop, "alice").await;
    plico_client::login(&phone, "alice@plico.test", PASSWORD, |_| {}).await.expect("second device signs in");
    let bob = signup(&bob_client, "bob").await;
    assert_eq!(phone.get("/api/v1/session").await.status, 200);

    let closed = laptop.post_raw("/api/v1/account/close", "").await;
    assert_eq!(closed.status, 200, "{}", String::from_utf8_lossy(&closed.body));
    let closed = closed.json();
    assert_eq!(closed["reopen_until"].as_i64(), Some(START + 365 * DAY));
    assert_eq!(closed["purge_at"].as_i64(), Some(START + 395 * DAY));
    for device in [&laptop, &phone] {
        assert_eq!(device.get("/api/v1/session").await.status, 401, "every session ended at once");
    }
    assert_eq!(count(&server, "SELECT COUNT(*) FROM sessions WHERE account_id = 1").await, 0);

    // Closed: no key in the directory, no mail from Plico users or from outside.
    assert_eq!(bob_client.get("/api/v1/keys/alice@plico.test").await.status, 404);
    let refused = send(&bob_client, &LocalRenderer, &bob, &note("hello"), START, &|_| {}).await.expect_err("refused");
    assert!(refused.to_string().contains("No Plico account and no key for: alice@plico.test"), "{refused}");
    assert_eq!(
        plico_server::inbound::check_recipient(&server.state, "alice@plico.test").await,
        plico_smtp::Recipient::Disabled
    );

    // Signing in is refused with the date it can be reopened until; asking to reopen works.
    let error = failure(plico_client::login(&laptop, "alice@plico.test", PASSWORD, |_| {}).await);
    match error {
        FlowError::Api { status, code, message } => {
            assert_eq!((status, code.as_str()), (403, "account_closed"));
            assert!(message.contains("reopen it until"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // A wrong password stays a wrong password, closed or not.
    let wrong =
        failure(plico_client::login_reopening(&laptop, "alice@plico.test", "not the password 99", |_| {}).await);
    assert!(matches!(wrong, FlowError::InvalidLogin), "{wrong:?}");
    server.clock.advance(364 * DAY);
    plico_client::login_reopening(&laptop, "alice@plico.test", PASSWORD, |_| {}).await.expect("reopens");
    assert_eq!(bob_client.get("/api/v1/keys/alice@plico.test").await.status, 200, "the key is published again");
    let bob = plico_client::login(&bob_client, "bob@plico.test", PASSWORD, |_| {}).await.expect("bob signs in");
    send(&bob_client, &LocalRenderer, &bob, &note("welcome back"), START, &|_| {}).await.expect("mail arrives again");
    assert_eq!(folder_messages(&laptop, FolderRole::Inbox).await.len(), 1);
}

#[tokio::test]
async fn a_closed_account_is_purged_after_the_legal_period_and_its_name_stays_quarantined() {
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.10");
    let bob_client = server.client("192.0.2.11");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    // Bob writes to alice (one blob for both copies); alice keeps a draft (a blob only she has).
    send(&bob_client, &LocalRenderer, &bob, &note("shared"), START, &|_| {}).await.expect("sends");
    let draft = Outgoing { subject: "only mine".into(), text: "draft body".into(), ..Outgoing::default() };
    save_draft(&alice_client, &LocalRenderer, &alice, &draft, START).await.expect("draft saved");
    let blob_files = || server.state.blobs.list().expect("lists the blobs").len();
    assert_eq!(blob_files(), 2);

    assert_eq!(alice_client.post_raw("/api/v1/account/close", "").await.status, 200);
    server.clock.advance(365 * DAY);
    let late = failure(plico_client::login_reopening(&alice_client, "alice@plico.test", PASSWORD, |_| {}).await);
    match late {
        FlowError::Api { code, message, .. } => {
            assert_eq!(code, "account_closed");
            assert!(message.contains("can no longer be reopened"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    server.clock.advance(30 * DAY - 60);
    assert_eq!(retention(&server).await.accounts.purged_closed, 0, "a minute before the purge, nothing goes");
    assert_eq!(count(&server, "SELECT COUNT(*) FROM accounts").await, 2);

    server.clock.advance(120);
    let report = retention(&server).await;
    assert_eq!(report.accounts.purged_closed, 1, "{report:?}");
    assert_eq!((report.accounts.messages, report.accounts.blobs), (2, 1), "{report:?}");
    for (table, sql) in [
        ("accounts", "SELECT COUNT(*) FROM accounts WHERE name = 'alice'"),
        ("messages", "SELECT COUNT(*) FROM messages WHERE account_id = 1"),
        ("folders", "SELECT COUNT(*) FROM folders WHERE account_id = 1"),
        ("tombstones", "SELECT COUNT(*) FROM tombstones WHERE account_id = 1"),
        ("login_events", "SELECT COUNT(*) FROM login_events WHERE account_id = 1"),
        ("sessions", "SELECT COUNT(*) FROM sessions WHERE account_id = 1"),
    ] {
        assert_eq!(count(&server, sql).await, 0, "{table} still holds alice's rows");
    }
    assert_eq!(blob_files(), 1, "the draft's blob is gone; bob's Sent copy keeps the shared one");
    plico_client::login(&bob_client, "bob@plico.test", PASSWORD, |_| {}).await.expect("bob signs in");
    assert_eq!(folder_messages(&bob_client, FolderRole::Sent).await.len(), 1);
    assert_eq!(bob_client.get("/api/v1/keys/alice@plico.test").await.status, 404);
    let wkd = bob_client.get(&format!("/.well-known/openpgpkey/hu/{}", plico_server::wkd::wkd_hash("alice"))).await;
    assert_eq!(wkd.status, 404, "the directory entry is gone");
    if common::backend() == common::Backend::Sqlite {
        // SQLite runs with secure_delete, so a purged row's bytes are overwritten at once.
        // PostgreSQL frees them for reuse and recycles its WAL in its own time (docs/DEPLOY.md
        // says so); the counts above hold on both.
        let raw = std::fs::read(server.state.config.data_dir.join("plico.sqlite")).expect("db");
        assert!(!raw.windows(16).any(|w| w == b"alice@plico.test"), "the address is not left in the file");
    }

    // Nobody may take the name during the quarantine; after it, anyone may.
    let stranger = server.client("192.0.2.12");
    let taken = failure(plico_client::signup(&stranger, "alice", PASSWORD, |_| {}).await);
    assert_eq!(taken.code(), "name_quarantined", "{taken}");
    server.clock.advance(730 * DAY);
    retention(&server).await;
    assert_eq!(count(&server, "SELECT COUNT(*) FROM quarantined_names").await, 0);
    plico_client::signup(&stranger, "alice", PASSWORD, |_| {}).await.expect("the name is free again");
}

#[tokio::test]
async fn inactive_free_accounts_get_a_notice_are_suspended_get_another_and_are_deleted() {
    let server = TestServer::start().await;
    let carol_client = server.client("192.0.2.20");
    let paid_client = server.client("192.0.2.21");
    let erin_client = server.client("192.0.2.22");
    let carol = signup(&carol_client, "carol").await;
    signup(&paid_client, "paula").await;
    signup(&erin_client, "erin").await;
    let paula_id = server.state.store.account_by_name("paula").await.expect("db").expect("paula").id;
    server.state.store.set_paid(paula_id, true).await.expect("paid");

    // 199 days (213 − 14) without a sign-in: the first notice, in the Inbox, encrypted.
    server.clock.advance(199 * DAY - 60);
    assert_eq!(retention(&server).await.accounts.notices, 0);
    server.clock.advance(120);
    let report = retention(&server).await;
    assert_eq!((report.accounts.notices, report.accounts.suspended), (2, 0), "carol and erin; {report:?}");
    assert_eq!(retention(&server).await.accounts.notices, 0, "each notice goes once");
    // Signing in would count as activity: read carol's Inbox from the store, decrypted with her key.
    let hashes = server
        .sql_texts(
            "SELECT blob_hash FROM messages WHERE account_id = (SELECT id FROM accounts WHERE name = 'carol')",
            &[],
        )
        .await;
    assert_eq!(hashes.len(), 1, "one notice in carol's Inbox");
    let notice = decrypt_blob(&server, &carol, &hashes[0]).await;
    assert!(notice.contains("Subject: Your Plico account will be suspended"), "{notice}");
    assert!(notice.contains("Signing in once is enough"), "{notice}");

    // Erin signs in in time: her clock starts again.
    plico_client::login(&erin_client, "erin@plico.test", PASSWORD, |_| {}).await.expect("erin signs in");

    // 213 days: carol is suspended (14 days after her notice); paula is paid, erin active.
    server.clock.advance(14 * DAY);
    let report = retention(&server).await;
    assert_eq!(report.accounts.suspended, 1, "{report:?}");
    let status = |name: &'static str| {
        let server = &server;
        async move { server.state.store.account_by_name(name).await.expect("db").map(|row| row.status.as_str().to_owned()) }
    };
    assert_eq!(status("carol").await.as_deref(), Some("suspended"));
    assert_eq!(status("paula").await.as_deref(), Some("active"));
    assert_eq!(status("erin").await.as_deref(), Some("active"));
    assert_eq!(
        plico_server::inbound::check_recipient(&server.state, "carol@plico.test").await,
        plico_smtp::Recipient::Disabled,
        "a suspended mailbox takes no mail"
    );
    assert_eq!(carol_client.get("/api/v1/keys/carol@plico.test").await.status, 404);

    // 152 − 14 days later: the second notice; 14 days after it, deletion.
    server.clock.advance(138 * DAY + 60);
    let report = retention(&server).await;
    assert_eq!((report.accounts.notices, report.accounts.deleted_inactive), (1, 0), "{report:?}");
    server.clock.advance(14 * DAY);
    let report = retention(&server).await;
    assert_eq!(report.accounts.deleted_inactive, 1, "{report:?}");
    assert_eq!(status("carol").await, None, "carol is gone");
    assert_eq!(status("paula").await.as_deref(), Some("active"), "paid accounts are never suspended");
    let taken = failure(plico_client::signup(&server.client("192.0.2.23"), "carol", PASSWORD, |_| {}).await);
    assert_eq!(taken.code(), "name_quarantined");
}

#[tokio::test]
async fn signing_in_while_suspended_makes_the_account_active_again() {
    let server = TestServer::start().await;
    let client = server.client("192.0.2.30");
    signup(&client, "dora").await;
    server.clock.advance(199 * DAY + 60);
    retention(&server).await;
    server.clock.advance(14 * DAY);
    assert_eq!(retention(&server).await.accounts.suspended, 1);
    plico_client::login(&client, "dora@plico.test", PASSWORD, |_| {}).await.expect("a suspended account signs in");
    let row = server.state.store.account_by_name("dora").await.expect("db").expect("dora");
    assert!(row.is_active());
    assert_eq!(client.get("/api/v1/keys/dora@plico.test").await.status, 200);
    server.clock.advance(300 * DAY);
    let report = retention(&server).await;
    assert_eq!(report.accounts.deleted_inactive, 0, "the deletion clock stopped with the sign-in");
}

#[tokio::test]
async fn the_recovery_address_is_confirmed_with_a_code_mailed_through_the_smarthost_and_gets_the_notices() {
    let sink = start_sink();
    let server = TestServer::start_with(|config| with_smarthost(config, sink.port, None)).await;
    let client = server.client("192.0.2.40");
    let session =
        plico_client::signup_with_recovery(&client, "ruth", PASSWORD, Some("Ruth.Backup@example.org".into()), |_| {})
            .await
            .expect("signs up");
    let recovery = client.get("/api/v1/account/recovery").await.json();
    assert_eq!(recovery["address"], "ruth.backup@example.org");
    assert_eq!(recovery["confirmed"], false);

    plico_server::outbound::run_due(&server.state).await.expect("delivers");
    let received = sink.received();
    assert_eq!(received.len(), 1);
    let (mail, envelope) = &received[0];
    assert_eq!(envelope["rcpt_tos"][0], "ruth.backup@example.org");
    let mail = String::from_utf8_lossy(mail).into_owned();
    assert!(mail.contains("Subject: Confirm your recovery address"), "{mail}");
    let code: String = mail
        .lines()
        .map(str::trim)
        .find(|line| line.len() == 8 && line.chars().all(|c| c.is_ascii_digit()))
        .expect("an 8-digit code in the mail")
        .to_owned();
    // The code is kept only as a hash.
    server.checkpoint().await;
    for path in server.files_on_disk() {
        let bytes = std::fs::read(&path).expect("reads");
        assert!(!bytes.windows(8).any(|w| w == code.as_bytes()), "the code is not stored ({})", path.display());
    }

    // Bad input: a wrong code counts down, a malformed address names the problem.
    let wrong_code = if code == "00000000" { "11111111" } else { "00000000" };
    let wrong = client.post_raw("/api/v1/account/recovery/confirm", format!(r#"{{"code":"{wrong_code}"}}"#)).await;
    assert_eq!((wrong.status, wrong.error_code()), (403, "wrong_code".to_owned()));
    assert!(wrong.json()["error"]["message"].as_str().unwrap_or_default().contains("4 tries left"));
    plico_client::flows::reauthenticate(&client, "ruth", PASSWORD).await.expect("re-authenticates");
    let bad = client
        .send(
            client
                .request("PUT", "/api/v1/account/recovery")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(r#"{"address":"ruth@plico.test"}"#))
                .expect("request"),
        )
        .await;
    assert_eq!((bad.status, bad.error_code()), (409, "recovery_address_here".to_owned()));
    assert_eq!(client.get("/api/v1/account/recovery").await.json()["address"], "ruth.backup@example.org");

    let confirmed = client.post_raw("/api/v1/account/recovery/confirm", format!(r#"{{"code":"{code}"}}"#)).await;
    assert_eq!(confirmed.status, 200, "{}", String::from_utf8_lossy(&confirmed.body));
    assert_eq!(confirmed.json()["confirmed"], true);
    let again = client.post_raw("/api/v1/account/recovery/confirm", format!(r#"{{"code":"{code}"}}"#)).await;
    assert_eq!(again.error_code(), "no_code", "a code works once");

    // The inactivity notice reaches the recovery address too.
    server.clock.advance(199 * DAY + 60);
    assert_eq!(retention(&server).await.accounts.notices, 1);
    plico_server::outbound::run_due(&server.state).await.expect("delivers");
    let received = sink.received();
    assert_eq!(received.len(), 2);
    let notice = String::from_utf8_lossy(&received[1].0).into_owned();
    assert!(notice.contains("Subject: Your Plico account will be suspended"), "{notice}");
    assert!(notice.contains("ruth@plico.test"), "{notice}");
    let _ = session;
}

#[tokio::test]
async fn what_plico_holds_lists_each_kind_of_data_with_its_deletion_date() {
    let server = TestServer::start().await;
    let client = server.client("192.0.2.50");
    signup(&client, "hana").await;
    let held = client.get("/api/v1/account/data").await;
    assert_eq!(held.status, 200);
    let items = held.json()["items"].as_array().expect("items").clone();
    let item = |kind: &str| items.iter().find(|item| item["kind"] == kind).unwrap_or_else(|| panic!("{kind} missing"));
    assert_eq!(item("login_history")["count"], 1);
    assert_eq!(item("login_history")["deleted_at"].as_i64(), Some(START + 30 * DAY));
    assert_eq!(item("messages")["count"], 0);
    assert_eq!(item("sessions")["count"], 1);
    assert_eq!(item("last_sign_in")["deleted_at"].as_i64(), Some(START + (213 + 152) * DAY));
    for kind in ["address", "public_key", "sealed_secret_key", "deleted_messages", "send_counts", "folders"] {
        assert!(!item(kind)["rule"].as_str().unwrap_or_default().is_empty(), "{kind} says its rule");
    }
    assert_eq!(server.client("192.0.2.51").get("/api/v1/account/data").await.status, 401);
}

#[tokio::test]
async fn policies_carry_the_retention_table_from_the_settings_and_a_bad_policy_file_names_its_fault() {
    let server = TestServer::start_with(|config| config.reopen_days = 400).await;
    let policy = server.client("192.0.2.60").get("/api/v1/policy").await.json();
    assert_eq!(policy["version"], 2);
    assert!(policy["changes"].as_str().unwrap_or_default().starts_with("Contacts:"));
    assert!(!policy["retention"].to_string().contains("documents"), "no promise about documents, which do not exist");
    assert!(policy["privacy"].as_str().unwrap_or_default().contains("# Zero access"));
    let table = policy["retention"].as_array().expect("table");
    assert!(table.iter().any(|row| row["kept"].as_str().unwrap_or_default().contains("reopenable for 400 days")));
    assert_eq!(policy["gpc"], false);
    let client = server.client("192.0.2.61");
    let with_gpc = client
        .send(
            client
                .request("GET", "/api/v1/policy")
                .header("sec-gpc", "1")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(with_gpc.json()["gpc"], true, "Sec-GPC: 1 is reported back as a refusal");

    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("policy.json");
    let cases = [
        (r#"{"version":2,"published":"2026-13","privacy":"p","terms":"t"}"#, "published must be a day"),
        (
            r#"{"version":2,"published":"2026-12-09","privacy":"p","terms":"t","integrations":[{"id":"x","name":"X","category":"analytics","script":"http://tracker.example/x.js"}]}"#,
            "scripts must be https://",
        ),
        (
            r#"{"version":2,"published":"2026-12-09","privacy":"p","terms":"t","integrations":[{"id":"x","name":"X","category":"necessary","script":"/x.js"}]}"#,
            "cannot be in the necessary category",
        ),
        (r#"{"version":2,"published":"2026-12-09","privacy":"p"}"#, "missing field `terms`"),
    ];
    for (text, expected) in cases {
        std::fs::write(&file, text).expect("writes");
        let mut config = plico_server::config::ServeConfig::for_data_dir(dir.path().join("data"));
        config.policy_file = Some(file.clone());
        let error = plico_server::http::privacy::Published::load(&config).expect_err(expected);
        assert!(error.contains(expected) && error.contains("policy.json"), "{error}");
    }
}

#[tokio::test]
async fn login_history_and_deleted_mail_go_by_their_own_clocks_in_the_same_passes() {
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.70");
    let bob_client = server.client("192.0.2.71");
    signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    send(&bob_client, &LocalRenderer, &bob, &note("to be deleted"), START, &|_| {}).await.expect("sends");
    let message = folder_messages(&alice_client, FolderRole::Inbox).await.remove(0);
    let ids = serde_json::json!({ "ids": [message.id] }).to_string();
    // To Trash, then deleted from Trash: recoverable for 45 days from now.
    assert_eq!(alice_client.post_raw("/api/v1/messages/delete", ids.clone()).await.status, 204);
    assert_eq!(alice_client.post_raw("/api/v1/messages/delete", ids).await.status, 204);
    let held = alice_client.get("/api/v1/account/data").await.json();
    let deleted = held["items"].as_array().expect("items").iter().find(|i| i["kind"] == "deleted_messages").cloned();
    assert_eq!(deleted.as_ref().map(|i| i["count"].clone()), Some(serde_json::json!(1)));
    assert_eq!(deleted.and_then(|i| i["deleted_at"].as_i64()), Some(START + 45 * DAY), "the page says when");

    // Day 30 and a minute: the sign-up's login entries go, the deleted mail stays.
    server.clock.advance(30 * DAY + 60);
    let report = retention(&server).await;
    assert_eq!((report.login_events, report.messages), (2, 0), "{report:?}");
    // Day 45 and a minute: the deleted mail goes, rows and (bob's Sent copy keeps it) no file.
    server.clock.advance(15 * DAY);
    let report = retention(&server).await;
    assert_eq!((report.login_events, report.messages), (0, 1), "{report:?}");
    assert_eq!(count(&server, "SELECT COUNT(*) FROM messages WHERE account_id = 1").await, 0);
    assert_eq!(count(&server, "SELECT COUNT(*) FROM login_events").await, 0);
}
