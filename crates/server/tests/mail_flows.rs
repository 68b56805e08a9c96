//! Two Plico users exchanging mail with the real client code through the real router: the
//! same functions the browser's worker runs.

mod common;

use common::*;
use plico_api::mail::{FolderRole, SyncChanges};
use plico_client::mail::{open, open_summary, send, LocalRenderer, Outgoing};
use plico_client::FlowError;
use plico_mime::Attachment;
use plico_pgp::SignatureStatus;

async fn sync(client: &TestClient) -> SyncChanges {
    serde_json::from_value(client.get("/api/v1/sync?since=0").await.json()).expect("sync")
}

async fn folder_id(client: &TestClient, role: FolderRole) -> String {
    let folders: Vec<plico_api::mail::Folder> =
        serde_json::from_value(client.get("/api/v1/folders").await.json()).expect("folders");
    folders.into_iter().find(|folder| folder.role == Some(role)).expect("folder").id
}

#[tokio::test]
async fn alice_and_bob_exchange_signed_encrypted_mail_with_an_attachment_and_a_reply() {
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.40");
    let bob_client = server.client("192.0.2.41");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;

    let attachment: Vec<u8> = (0..1024 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let outgoing = Outgoing {
        to: vec!["bob@plico.test".into()],
        subject: "MARKER-SUBJECT-41d7 the contract".into(),
        text: "MARKER-BODY-c83e Please sign page 2.".into(),
        attachments: vec![Attachment {
            file_name: "contract.bin".into(),
            content_type: "application/octet-stream".into(),
            content_id: None,
            data: attachment.clone(),
        }],
        ..Outgoing::default()
    };

    // An unknown recipient stops the send before anything is uploaded.
    let mut to_stranger = outgoing.clone();
    to_stranger.cc = vec!["stranger@plico.test".into()];
    let refused = send(&alice_client, &LocalRenderer, &alice, &to_stranger, START).await.expect_err("refused");
    assert!(matches!(&refused, FlowError::Api { code, .. } if code == "unknown_recipients"), "{refused:?}");
    assert!(refused.to_string().contains("stranger@plico.test"));
    let blobs: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM blobs").fetch_one(server.state.store.pool()).await.expect("count");
    assert_eq!(blobs, 0, "nothing was uploaded");

    let receipt = send(&alice_client, &LocalRenderer, &alice, &outgoing, START).await.expect("sends");
    assert_eq!(receipt.delivered, 1);
    assert_eq!(receipt.sent.folder_id, folder_id(&alice_client, FolderRole::Sent).await);

    // Bob: the Inbox lists it with the right subject, and it opens with a valid signature.
    let inbox = folder_id(&bob_client, FolderRole::Inbox).await;
    let received = sync(&bob_client).await.messages.into_iter().find(|m| m.folder_id == inbox).expect("in bob's inbox");
    let summary = open_summary(&bob, &received).expect("summary opens");
    assert_eq!(summary.subject, "MARKER-SUBJECT-41d7 the contract");
    assert_eq!(summary.from.as_ref().map(|from| from.address.as_str()), Some("alice@plico.test"));
    assert!(summary.has_attachments);
    let opened = open(&bob_client, &LocalRenderer, &bob, &received).await.expect("opens");
    assert_eq!(opened.signature, SignatureStatus::Valid { signer: alice.account.fingerprint.clone() });
    assert_eq!(opened.message.attachments[0].data, attachment, "the attachment is byte-identical");
    assert!(opened.message.text.contains("Please sign page 2."));
    assert!(opened.message.protected_headers);

    // Bob replies; Alice's copy of the reply names the original, so the thread can be built.
    let original_id = opened.message.message_id.clone().expect("message id");
    let reply = Outgoing {
        to: vec!["alice@plico.test".into()],
        subject: format!("Re: {}", opened.message.subject),
        text: "Signed.".into(),
        in_reply_to: Some(original_id.clone()),
        references: vec![original_id.clone()],
        ..Outgoing::default()
    };
    send(&bob_client, &LocalRenderer, &bob, &reply, START + 60).await.expect("replies");
    let alice_inbox = folder_id(&alice_client, FolderRole::Inbox).await;
    let reply_meta =
        sync(&alice_client).await.messages.into_iter().find(|m| m.folder_id == alice_inbox).expect("reply arrived");
    let reply_opened = open(&alice_client, &LocalRenderer, &alice, &reply_meta).await.expect("alice opens the reply");
    assert_eq!(reply_opened.message.in_reply_to, vec![original_id.clone()]);
    assert_eq!(reply_opened.signature, SignatureStatus::Valid { signer: bob.account.fingerprint.clone() });
    // Alice's Sent copy of the original opens for her too (encrypted to her own key).
    let sent_copy = open(&alice_client, &LocalRenderer, &alice, &receipt.sent).await.expect("sent copy opens");
    assert_eq!(sent_copy.message.message_id.as_deref(), Some(original_id.as_str()));

    // Zero access: nothing on disk holds the subject, the body or the attachment.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(server.state.store.pool()).await.expect("checkpoint");
    let marker = &attachment[4096..4096 + 64];
    for path in all_files(server.dir.path()) {
        let bytes = std::fs::read(&path).expect("reads");
        for needle in [&b"MARKER-SUBJECT-41d7"[..], b"MARKER-BODY-c83e", b"contract.bin", marker] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{} holds plaintext", path.display());
        }
    }
}
