//! Encrypted mail storage through the real router: folders, messages, flags, moves, sync,
//! Trash with 45-day recovery, authorization against a second account, and bad input.

mod common;

use axum::body::Body;
use axum::http::header;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::*;
use plico_api::mail::{flags, Folder, FolderRole, MessageMeta, SyncChanges};

/// A signed-in client with its keys.
struct User {
    client: TestClient,
    session: plico_client::UnlockedSession,
}

impl User {
    async fn new(server: &TestServer, name: &str, ip: &str) -> User {
        let client = server.client(ip);
        let session = signup(&client, name).await;
        User { client, session }
    }

    fn public_cert(&self) -> plico_pgp::Certificate {
        plico_pgp::parse_cert(self.session.account.public_cert.as_bytes()).expect("cert")
    }

    /// Encrypts `plaintext` to this user's own key, as the client does for drafts and summaries.
    fn seal(&self, plaintext: &str) -> Vec<u8> {
        plico_pgp::encrypt_and_sign(plaintext.as_bytes(), &[self.public_cert()], &self.session.secret_key)
            .expect("encrypts")
    }

    /// Signs in again, after the clock moved past the session's lifetime.
    async fn sign_in_again(&self) {
        let address = self.session.account.address.clone();
        plico_client::login(&self.client, &address, PASSWORD, |_| {}).await.expect("signs in again");
    }

    async fn folders(&self) -> Vec<Folder> {
        serde_json::from_value(self.client.get("/api/v1/folders").await.json()).expect("folders")
    }

    async fn folder(&self, role: FolderRole) -> Folder {
        self.folders().await.into_iter().find(|folder| folder.role == Some(role)).expect("system folder")
    }

    async fn upload(&self, bytes: Vec<u8>) -> TestResponse {
        let request = self
            .client
            .request("POST", "/api/v1/blobs")
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(bytes))
            .expect("request");
        self.client.send(request).await
    }

    /// Uploads and files a message with the given subject and body into `folder_id`.
    async fn file(&self, folder_id: &str, subject: &str, body: &str) -> MessageMeta {
        let blob = self.seal(&format!("Subject: {subject}\r\n\r\n{body}"));
        let size = blob.len();
        let stored = self.upload(blob).await;
        assert_eq!(stored.status, 200, "{}", String::from_utf8_lossy(&stored.body));
        let hash = stored.json()["hash"].as_str().expect("hash").to_owned();
        let filed = self
            .client
            .post_raw(
                "/api/v1/messages",
                serde_json::json!({"folder_id": folder_id, "blob_hash": hash, "size": size,
                    "sealed_summary": BASE64.encode(self.seal(&format!("{{\"subject\":\"{subject}\"}}")))})
                .to_string(),
            )
            .await;
        assert_eq!(filed.status, 200, "{}", String::from_utf8_lossy(&filed.body));
        serde_json::from_value(filed.json()).expect("message")
    }

    async fn sync(&self, since: i64) -> SyncChanges {
        serde_json::from_value(self.client.get(&format!("/api/v1/sync?since={since}")).await.json()).expect("sync")
    }

    async fn patch(&self, body: serde_json::Value) -> TestResponse {
        let request = self
            .client
            .request("PATCH", "/api/v1/messages")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        self.client.send(request).await
    }
}

#[tokio::test]
async fn a_new_account_has_the_six_system_folders() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice", "192.0.2.20").await;
    let folders = alice.folders().await;
    let roles: Vec<_> = folders.iter().map(|folder| folder.role).collect();
    assert_eq!(roles, FolderRole::ALL.map(Some).to_vec());
    assert!(folders.iter().all(|folder| folder.total == 0 && folder.unread == 0 && folder.sealed_name.is_none()));
}

#[tokio::test]
async fn messages_are_filed_listed_flagged_moved_and_synced() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice", "192.0.2.21").await;
    let inbox = alice.folder(FolderRole::Inbox).await;
    let archive = alice.folder(FolderRole::Archive).await;

    let start = alice.sync(0).await;
    let first = alice.file(&inbox.id, "First", "one").await;
    let second = alice.file(&inbox.id, "Second", "two").await;
    let changes = alice.sync(start.cursor).await;
    assert_eq!(changes.messages.len(), 2);
    assert!(changes.cursor > start.cursor);
    let inbox_now = changes.folders.iter().find(|folder| folder.id == inbox.id).expect("inbox");
    assert_eq!((inbox_now.total, inbox_now.unread), (2, 2));

    let blob = alice.client.get(&format!("/api/v1/blobs/{}", first.blob_hash)).await;
    assert_eq!(blob.status, 200);
    let opened = plico_pgp::decrypt_and_verify(&blob.body, &alice.session.secret_key, &[]).expect("decrypts");
    assert_eq!(opened.plaintext, b"Subject: First\r\n\r\none");

    // A multi-selection: mark both read and star them, then archive one.
    let both = serde_json::json!({"ids": [first.id, second.id], "add_flags": flags::SEEN | flags::STARRED});
    assert_eq!(alice.patch(both).await.status, 204);
    let moved = serde_json::json!({"ids": [second.id], "folder_id": archive.id, "remove_flags": flags::STARRED});
    assert_eq!(alice.patch(moved).await.status, 204);

    let changes2 = alice.sync(changes.cursor).await;
    let by_id = |id: &str| changes2.messages.iter().find(|m| m.id == id).expect("changed").clone();
    assert_eq!(by_id(&first.id).flags, flags::SEEN | flags::STARRED);
    assert_eq!(by_id(&second.id).flags, flags::SEEN);
    assert_eq!(by_id(&second.id).folder_id, archive.id);
    let inbox_after = changes2.folders.iter().find(|folder| folder.id == inbox.id).expect("inbox");
    assert_eq!((inbox_after.total, inbox_after.unread), (1, 0));
    assert!(alice.sync(changes2.cursor).await.messages.is_empty(), "nothing new since the last cursor");
}

#[tokio::test]
async fn user_folders_are_created_renamed_and_deleted_into_trash() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice", "192.0.2.22").await;
    let created = alice
        .client
        .post_raw(
            "/api/v1/folders",
            serde_json::json!({"sealed_name": BASE64.encode(alice.seal("Receipts"))}).to_string(),
        )
        .await;
    assert_eq!(created.status, 200);
    let folder: Folder = serde_json::from_value(created.json()).expect("folder");
    assert_eq!(folder.role, None);
    let message = alice.file(&folder.id, "Invoice", "42 EUR").await;

    let rename = alice
        .client
        .request("PATCH", &format!("/api/v1/folders/{}", folder.id))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::json!({"sealed_name": BASE64.encode(alice.seal("Bills"))}).to_string()))
        .expect("request");
    assert_eq!(alice.client.send(rename).await.status, 204);
    let renamed = alice.folders().await.into_iter().find(|f| f.id == folder.id).expect("still there");
    let name = BASE64.decode(renamed.sealed_name.expect("sealed name")).expect("base64");
    assert_eq!(
        plico_pgp::decrypt_and_verify(&name, &alice.session.secret_key, &[]).expect("opens").plaintext,
        b"Bills"
    );

    let inbox = alice.folder(FolderRole::Inbox).await;
    let system_rename = alice
        .client
        .request("PATCH", &format!("/api/v1/folders/{}", inbox.id))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::json!({"sealed_name": BASE64.encode(alice.seal("x"))}).to_string()))
        .expect("request");
    assert_eq!(alice.client.send(system_rename).await.status, 409);
    assert_eq!(alice.client.delete(&format!("/api/v1/folders/{}", inbox.id)).await.status, 409);

    let before = alice.sync(0).await.cursor;
    assert_eq!(alice.client.delete(&format!("/api/v1/folders/{}", folder.id)).await.status, 204);
    let changes = alice.sync(before).await;
    assert_eq!(changes.removed_folders, vec![folder.id.clone()]);
    let trash = alice.folder(FolderRole::Trash).await;
    assert_eq!(changes.messages.iter().find(|m| m.id == message.id).expect("moved").folder_id, trash.id);
}

#[tokio::test]
async fn trash_recovery_area_and_purge_after_45_days_from_database_and_disk() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice", "192.0.2.23").await;
    let inbox = alice.folder(FolderRole::Inbox).await;
    let trash = alice.folder(FolderRole::Trash).await;
    let keep = alice.file(&inbox.id, "Keep", "recovered later").await;
    let gone = alice.file(&inbox.id, "Gone", "purged for good").await;
    let ids = serde_json::json!({"ids": [keep.id, gone.id]}).to_string();

    assert_eq!(alice.client.post_raw("/api/v1/messages/delete", ids.clone()).await.status, 204);
    let in_trash = alice.sync(0).await;
    assert!(in_trash.messages.iter().all(|m| m.folder_id == trash.id && m.deleted_at.is_none()));

    server.clock.advance(86_400);
    assert_eq!(alice.client.post_raw("/api/v1/messages/delete", ids.clone()).await.status, 204);
    let deleted = alice.sync(0).await;
    assert!(deleted.messages.iter().all(|m| m.deleted_at == Some(START + 86_400)), "in the recovery area");
    let trash_counts = deleted.folders.iter().find(|f| f.id == trash.id).expect("trash");
    assert_eq!(trash_counts.total, 0, "hidden from Trash");

    server.clock.advance(44 * 86_400);
    alice.sign_in_again().await;
    let recover = serde_json::json!({"ids": [keep.id]}).to_string();
    assert_eq!(alice.client.post_raw("/api/v1/messages/recover", recover).await.status, 204);
    let report = plico_server::jobs::retention::run_once(&server.state).await.expect("retention");
    assert_eq!(report.messages, 0, "day 44: nothing is purged yet");

    server.clock.advance(86_400 + 1);
    let cursor = alice.sync(0).await.cursor;
    let report = plico_server::jobs::retention::run_once(&server.state).await.expect("retention");
    assert_eq!((report.messages, report.blobs), (1, 1));
    let changes = alice.sync(cursor).await;
    assert_eq!(changes.removed_messages, vec![gone.id.clone()]);
    let everything = alice.sync(0).await;
    assert_eq!(everything.messages.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), vec![keep.id.as_str()]);
    assert!(!server.state.blobs.contains(&gone.blob_hash), "the blob file is gone from disk");
    assert!(server.state.blobs.contains(&keep.blob_hash));
    assert_eq!(alice.client.get(&format!("/api/v1/blobs/{}", gone.blob_hash)).await.status, 404);
    let rows: i64 = server.sql_int("SELECT COUNT(*) FROM messages WHERE id = ?", &[Bind::from(&gone.id)]).await;
    assert_eq!(rows, 0, "the row is gone from the database");
}

#[tokio::test]
async fn unfiled_uploads_are_removed_after_a_day() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice", "192.0.2.24").await;
    let stored = alice.upload(alice.seal("never filed")).await;
    let hash = stored.json()["hash"].as_str().expect("hash").to_owned();
    assert!(server.state.blobs.contains(&hash));
    server.clock.advance(2 * 86_400);
    let report = plico_server::jobs::retention::run_once(&server.state).await.expect("retention");
    assert_eq!(report.blobs, 1);
    assert!(!server.state.blobs.contains(&hash));
}

#[tokio::test]
async fn another_account_can_neither_see_nor_change_my_mail() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice", "192.0.2.25").await;
    let mallory = User::new(&server, "mallory", "192.0.2.26").await;
    let inbox = alice.folder(FolderRole::Inbox).await;
    let message = alice.file(&inbox.id, "Private", "for alice only").await;
    let before = alice.sync(0).await;

    assert!(mallory.sync(0).await.messages.is_empty());
    assert!(mallory.folders().await.iter().all(|folder| folder.id != inbox.id));
    assert_eq!(mallory.client.get(&format!("/api/v1/blobs/{}", message.blob_hash)).await.status, 404);
    let ids = serde_json::json!({"ids": [message.id]}).to_string();
    assert_eq!(mallory.patch(serde_json::json!({"ids": [message.id], "add_flags": flags::SEEN})).await.status, 404);
    let mallory_inbox = mallory.folder(FolderRole::Inbox).await;
    assert_eq!(
        mallory.patch(serde_json::json!({"ids": [message.id], "folder_id": mallory_inbox.id})).await.status,
        404
    );
    assert_eq!(mallory.client.post_raw("/api/v1/messages/delete", ids.clone()).await.status, 404);
    assert_eq!(mallory.client.post_raw("/api/v1/messages/recover", ids).await.status, 404);
    assert_eq!(mallory.client.delete(&format!("/api/v1/folders/{}", inbox.id)).await.status, 404);
    // Filing into someone else's folder, even with one's own blob, is refused.
    let blob = mallory.seal("spam");
    let size = blob.len();
    let hash = mallory.upload(blob).await.json()["hash"].as_str().expect("hash").to_owned();
    let foreign = mallory
        .client
        .post_raw(
            "/api/v1/messages",
            serde_json::json!({"folder_id": inbox.id, "blob_hash": hash, "size": size,
                "sealed_summary": BASE64.encode(mallory.seal("s"))})
            .to_string(),
        )
        .await;
    assert_eq!(foreign.status, 404);
    // Moving my own message into someone else's folder is refused too, with nothing changed.
    let mine = alice.file(&inbox.id, "Mine", "x").await;
    assert_eq!(alice.patch(serde_json::json!({"ids": [mine.id], "folder_id": mallory_inbox.id})).await.status, 404);

    let after = alice.sync(0).await;
    let original = after.messages.iter().find(|m| m.id == message.id).expect("still there");
    assert_eq!(original, before.messages.iter().find(|m| m.id == message.id).expect("was there"));
    assert_eq!(after.messages.iter().find(|m| m.id == mine.id).expect("mine").folder_id, inbox.id);
    assert_eq!(server.client("192.0.2.27").get("/api/v1/sync").await.status, 401, "anonymous requests get nothing");
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let server = TestServer::start_with(|config| config.max_message_bytes = 64 * 1024).await;
    let alice = User::new(&server, "alice", "192.0.2.28").await;
    let inbox = alice.folder(FolderRole::Inbox).await;
    let message = alice.file(&inbox.id, "Stays", "as it is").await;
    let before = alice.sync(0).await;

    let plaintext = alice.upload(b"Subject: hello\r\n\r\nplain text".to_vec()).await;
    assert_eq!((plaintext.status, plaintext.error_code().as_str()), (422, "not_encrypted"));
    assert_eq!(alice.upload(Vec::new()).await.error_code(), "empty");
    let oversized = alice.upload(vec![0xC1; 65 * 1024]).await;
    assert_eq!((oversized.status, oversized.error_code().as_str()), (413, "body_too_large"));

    let blob = alice.seal("a real message");
    let size = blob.len();
    let hash = alice.upload(blob).await.json()["hash"].as_str().expect("hash").to_owned();
    let file = |folder: &str, size: usize, summary: String, flags: u32| {
        serde_json::json!({"folder_id": folder, "blob_hash": hash, "size": size, "sealed_summary": summary, "flags": flags})
            .to_string()
    };
    let summary = BASE64.encode(alice.seal("summary"));
    let cases = [
        (file(&inbox.id, size + 1, summary.clone(), 0), 409, "conflict"),
        (file("no-such-folder", size, summary.clone(), 0), 404, "not_found"),
        (file(&inbox.id, size, BASE64.encode("Subject: plaintext summary"), 0), 422, "not_encrypted"),
        (file(&inbox.id, size, "%%%".into(), 0), 400, "malformed_field"),
        (file(&inbox.id, size, summary.clone(), 1 << 10), 422, "invalid"),
    ];
    for (body, status, code) in cases {
        let response = alice.client.post_raw("/api/v1/messages", body.clone()).await;
        assert_eq!((response.status, response.error_code().as_str()), (status, code), "{body}");
    }
    let unknown = serde_json::json!({"ids": [message.id, "no-such-message"], "add_flags": flags::SEEN});
    assert_eq!(alice.patch(unknown).await.status, 404);
    assert_eq!(alice.patch(serde_json::json!({"ids": [], "add_flags": 1})).await.status, 422);
    assert_eq!(alice.patch(serde_json::json!({"ids": [message.id], "add_flags": 1 << 20})).await.status, 422);
    assert_eq!(alice.patch(serde_json::json!({"ids": [message.id], "folder_id": "nope"})).await.status, 404);
    assert_eq!(alice.client.get("/api/v1/blobs/..%2F..%2Fplico.sqlite").await.status, 404);

    let after = alice.sync(0).await;
    assert_eq!(after.messages, before.messages, "no bad request changed a message");
}

#[tokio::test]
async fn the_server_stores_no_subject_or_body_in_the_clear() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice", "192.0.2.29").await;
    let inbox = alice.folder(FolderRole::Inbox).await;
    alice.file(&inbox.id, "ZERO-ACCESS-SUBJECT-7f3a", "ZERO-ACCESS-BODY-91c2").await;
    server.checkpoint().await;
    let files = server.files_on_disk();
    assert!(files.iter().any(|path| path.starts_with(server.blob_dir())), "a blob was written");
    for path in files {
        let bytes = std::fs::read(&path).expect("reads");
        for marker in [&b"ZERO-ACCESS-SUBJECT-7f3a"[..], b"ZERO-ACCESS-BODY-91c2"] {
            assert!(!bytes.windows(marker.len()).any(|w| w == marker), "{} holds plaintext", path.display());
        }
    }
}

#[tokio::test]
async fn plico_users_send_to_each_other_with_one_shared_ciphertext() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice", "192.0.2.30").await;
    let bob = User::new(&server, "bob", "192.0.2.31").await;
    let carol = User::new(&server, "carol", "192.0.2.32").await;

    // The client encrypts once, to every recipient and to the sender.
    let everyone = [alice.public_cert(), bob.public_cert(), carol.public_cert()];
    let blob = plico_pgp::encrypt_and_sign(
        b"Subject: Lunch?\r\n\r\nNoon at the usual place.",
        &everyone,
        &alice.session.secret_key,
    )
    .expect("encrypts");
    let summary = plico_pgp::encrypt_and_sign(br#"{"subject":"Lunch?"}"#, &everyone, &alice.session.secret_key)
        .expect("encrypts");
    let size = blob.len();
    let hash = alice.upload(blob).await.json()["hash"].as_str().expect("hash").to_owned();
    let send = |recipients: serde_json::Value| {
        serde_json::json!({"recipients": recipients, "blob_hash": hash, "size": size, "sealed_summary": BASE64.encode(&summary)})
            .to_string()
    };

    let refused = alice
        .client
        .post_raw("/api/v1/messages/send", send(serde_json::json!(["bob", "nobody@plico.test", "x@gmail.com"])))
        .await;
    assert_eq!((refused.status, refused.error_code().as_str()), (404, "unknown_recipients"));
    let message = refused.json()["error"]["message"].as_str().expect("message").to_owned();
    assert!(message.contains("nobody@plico.test (no such account)") && message.contains("x@gmail.com"), "{message}");
    assert!(bob.sync(0).await.messages.is_empty(), "a refused message reaches nobody");

    let receipt = alice
        .client
        .post_raw("/api/v1/messages/send", send(serde_json::json!(["Bob@plico.test", "carol", "bob"])))
        .await;
    assert_eq!(receipt.status, 200, "{}", String::from_utf8_lossy(&receipt.body));
    assert_eq!(receipt.json()["delivered"], 2, "bob is named twice but gets one copy");
    let sent_folder = alice.folder(FolderRole::Sent).await;
    assert_eq!((sent_folder.total, sent_folder.unread), (1, 0));

    for (user, name) in [(&bob, "bob"), (&carol, "carol")] {
        let inbox = user.folder(FolderRole::Inbox).await;
        assert_eq!((inbox.total, inbox.unread), (1, 1), "{name}'s inbox");
        let changes = user.sync(0).await;
        let received = changes.messages.first().expect("received");
        assert_eq!(received.folder_id, inbox.id);
        let blob = user.client.get(&format!("/api/v1/blobs/{}", received.blob_hash)).await;
        let opened = plico_pgp::decrypt_and_verify(&blob.body, &user.session.secret_key, &[alice.public_cert()])
            .expect("decrypts");
        assert_eq!(opened.plaintext, b"Subject: Lunch?\r\n\r\nNoon at the usual place.");
        assert_eq!(
            opened.signature,
            plico_pgp::SignatureStatus::Valid { signer: alice.session.account.fingerprint.clone() }
        );
    }

    // Bob deletes his copy for good; the shared ciphertext stays for Alice and Carol.
    let bob_copy = bob.sync(0).await.messages[0].id.clone();
    let ids = serde_json::json!({"ids": [bob_copy]}).to_string();
    bob.client.post_raw("/api/v1/messages/delete", ids.clone()).await;
    bob.client.post_raw("/api/v1/messages/delete", ids).await;
    server.clock.advance(46 * 86_400);
    let report = plico_server::jobs::retention::run_once(&server.state).await.expect("retention");
    assert_eq!((report.messages, report.blobs), (1, 0));
    assert!(server.state.blobs.contains(&hash));
}

#[tokio::test]
async fn a_big_mailbox_syncs_metadata_first_and_fetches_summaries_by_id() {
    let server = TestServer::start().await;
    let alice = User::new(&server, "alice", "192.0.2.28").await;
    let mallory = User::new(&server, "mallory", "192.0.2.29").await;
    let inbox = alice.folder(FolderRole::Inbox).await;
    let first = alice.file(&inbox.id, "One", "1").await;
    let second = alice.file(&inbox.id, "Two", "2").await;
    let theirs = mallory.file(&mallory.folder(FolderRole::Inbox).await.id, "Theirs", "3").await;

    let light: SyncChanges =
        serde_json::from_value(alice.client.get("/api/v1/sync?since=0&summaries=false").await.json()).expect("sync");
    assert_eq!(light.messages.len(), 2);
    assert!(light.messages.iter().all(|m| m.sealed_summary.is_empty()), "no summaries in a light sync");
    let full = alice.sync(0).await;
    assert!(full.messages.iter().all(|m| !m.sealed_summary.is_empty()), "the default sync still has them");

    // Summaries by id: only one's own; another account's id or an unknown one is left out.
    let unknown = "0".repeat(32);
    let ids = serde_json::json!({"ids": [first.id, second.id, theirs.id, unknown]}).to_string();
    let answer = alice.client.post_raw("/api/v1/summaries", ids).await;
    assert_eq!(answer.status, 200);
    let summaries: Vec<plico_api::mail::SealedSummary> = serde_json::from_value(answer.json()).expect("summaries");
    let mut got: Vec<&str> = summaries.iter().map(|s| s.id.as_str()).collect();
    got.sort_unstable();
    let mut want = vec![first.id.as_str(), second.id.as_str()];
    want.sort_unstable();
    assert_eq!(got, want);
    for summary in &summaries {
        let original = full.messages.iter().find(|m| m.id == summary.id).expect("synced");
        assert_eq!(summary.sealed_summary, original.sealed_summary);
    }
    // Too many ids at once is a clear 422; a malformed body a 400-class error.
    let many: Vec<String> = (0..=plico_api::mail::MAX_SUMMARY_IDS).map(|n| n.to_string()).collect();
    let too_many = alice.client.post_raw("/api/v1/summaries", serde_json::json!({ "ids": many }).to_string()).await;
    assert_eq!(too_many.status, 422);
    assert_eq!(too_many.error_code(), "too_many_ids");
    let nope = alice.client.post_raw("/api/v1/summaries", r#"{"ids": ["nope"]}"#).await;
    assert_eq!((nope.status, nope.error_code().as_str()), (422, "invalid_id"));
    let malformed = alice.client.post_raw("/api/v1/summaries", "{\"ids\": 5}").await;
    assert!((400..500).contains(&malformed.status), "{}", malformed.status);
}
