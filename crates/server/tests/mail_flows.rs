//! Two Plico users exchanging mail with the real client code through the real router: the
//! same functions the browser's worker runs.

mod common;

use common::*;
use plico_api::mail::{FolderRole, SyncChanges};
use plico_client::mail::{open, open_summary, save_draft, send, LocalRenderer, Outgoing};
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
    let refused = send(&alice_client, &LocalRenderer, &alice, &to_stranger, START, &|_| {}).await.expect_err("refused");
    assert!(matches!(&refused, FlowError::Api { code, .. } if code == "unknown_recipients"), "{refused:?}");
    assert!(refused.to_string().contains("stranger@plico.test"));
    let blobs: i64 = server.sql_int("SELECT COUNT(*) FROM blobs", &[]).await;
    assert_eq!(blobs, 0, "nothing was uploaded");

    let receipt = send(&alice_client, &LocalRenderer, &alice, &outgoing, START, &|_| {}).await.expect("sends");
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
    send(&bob_client, &LocalRenderer, &bob, &reply, START + 60, &|_| {}).await.expect("replies");
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
    server.checkpoint().await;
    let marker = &attachment[4096..4096 + 64];
    for path in server.files_on_disk() {
        let bytes = std::fs::read(&path).expect("reads");
        for needle in [&b"MARKER-SUBJECT-41d7"[..], b"MARKER-BODY-c83e", b"contract.bin", marker] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{} holds plaintext", path.display());
        }
    }
}

#[tokio::test]
async fn drafts_are_saved_encrypted_replaced_in_place_and_removed_by_the_send() {
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.42");
    let bob_client = server.client("192.0.2.43");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    let drafts = folder_id(&alice_client, FolderRole::Drafts).await;

    let mut writing = Outgoing {
        to: vec!["bob".into()],
        bcc: vec!["alice".into()],
        subject: "DRAFT-SUBJECT-77 plans".into(),
        text: "DRAFT-BODY-1 first words".into(),
        ..Outgoing::default()
    };
    let first = save_draft(&alice_client, &LocalRenderer, &alice, &writing, START).await.expect("saves");
    assert_eq!(first.folder_id, drafts);
    writing.draft_id = Some(first.id.clone());
    writing.text = "DRAFT-BODY-2 more words".into();
    let second = save_draft(&alice_client, &LocalRenderer, &alice, &writing, START + 5).await.expect("saves again");
    assert_eq!(second.id, first.id, "replaced in place");
    assert_ne!(second.blob_hash, first.blob_hash);
    let in_drafts: Vec<_> = sync(&alice_client).await.messages.into_iter().filter(|m| m.folder_id == drafts).collect();
    assert_eq!(in_drafts.len(), 1);
    let refcount: i64 =
        server.sql_int("SELECT refcount FROM blobs WHERE hash = ?", &[Bind::from(&first.blob_hash)]).await;
    assert_eq!(refcount, 0, "the old version's blob is no longer referenced");

    // The draft opens with everything, Bcc included; it is encrypted to Alice alone.
    let opened = open(&alice_client, &LocalRenderer, &alice, &second).await.expect("opens");
    assert_eq!(opened.message.text.trim_end(), "DRAFT-BODY-2 more words");
    assert_eq!(opened.message.bcc.iter().map(|m| m.address.as_str()).collect::<Vec<_>>(), ["alice@plico.test"]);
    let draft_blob = bob_client.get(&format!("/api/v1/blobs/{}", second.blob_hash)).await;
    assert_eq!(draft_blob.status, 404, "Bob cannot fetch Alice's draft");

    // Another account can neither replace nor discard it.
    assert_eq!(bob_client.delete(&format!("/api/v1/drafts/{}", second.id)).await.status, 404);

    // Sending removes the draft in the same transaction; Bob's copy carries no Bcc.
    let receipt = send(&alice_client, &LocalRenderer, &alice, &writing, START + 10, &|_| {}).await.expect("sends");
    assert_eq!(receipt.delivered, 2, "Bob, and Alice through Bcc");
    let changes = sync(&alice_client).await;
    assert!(changes.removed_messages.contains(&second.id), "the draft is gone for good");
    assert!(changes.messages.iter().all(|m| m.folder_id != drafts));
    let bob_inbox = folder_id(&bob_client, FolderRole::Inbox).await;
    let bob_copy = sync(&bob_client).await.messages.into_iter().find(|m| m.folder_id == bob_inbox).expect("arrived");
    let bob_opened = open(&bob_client, &LocalRenderer, &bob, &bob_copy).await.expect("bob opens");
    assert!(bob_opened.message.bcc.is_empty(), "Bcc stays in the envelope");
    assert_eq!(bob_opened.message.subject, "DRAFT-SUBJECT-77 plans");

    // Discarding: a draft goes for good; a message outside Drafts cannot be discarded as one.
    let discard_me = save_draft(&alice_client, &LocalRenderer, &alice, &Outgoing::default(), START + 20).await;
    let discard_me = discard_me.expect("an empty draft saves");
    assert_eq!(alice_client.delete(&format!("/api/v1/drafts/{}", discard_me.id)).await.status, 204);
    assert_eq!(alice_client.delete(&format!("/api/v1/drafts/{}", discard_me.id)).await.status, 404);
    let not_a_draft = alice_client.delete(&format!("/api/v1/drafts/{}", receipt.sent.id)).await;
    assert_eq!(not_a_draft.status, 409);
    assert!(not_a_draft.json()["error"]["message"].as_str().unwrap_or_default().contains("not in Drafts"));
    assert!(sync(&alice_client).await.messages.iter().any(|m| m.id == receipt.sent.id), "the Sent copy is untouched");
}

/// The sending limit: recipients per rolling 24 hours, refused with 429 and a sentence that says
/// when it frees up; nothing is delivered past it, and it frees up a day later.
#[tokio::test]
async fn the_sending_limit_refuses_mass_mailing_with_a_clear_message() {
    let server = TestServer::start_with(|config| config.send_limit_per_day = 3).await;
    let alice_client = server.client("192.0.2.50");
    let bob_client = server.client("192.0.2.51");
    let carol_client = server.client("192.0.2.52");
    let alice = signup(&alice_client, "alice").await;
    signup(&bob_client, "bob").await;
    signup(&carol_client, "carol").await;
    let to_both = Outgoing {
        to: vec!["bob".into(), "carol".into()],
        subject: "news".into(),
        text: "hello".into(),
        ..Outgoing::default()
    };
    send(&alice_client, &LocalRenderer, &alice, &to_both, START, &|_| {})
        .await
        .expect("the first two are within the limit");
    let refused = send(&alice_client, &LocalRenderer, &alice, &to_both, START + 60, &|_| {}).await.expect_err("over");
    match &refused {
        FlowError::Api { status, code, message } => {
            assert_eq!((*status, code.as_str()), (429, "send_limit"));
            assert!(message.contains("sent to 2 recipients in the last 24 hours, and the limit is 3"), "{message}");
            assert!(message.contains("try again in 24 hours"), "{message}");
        }
        other => panic!("expected the sending limit, got {other:?}"),
    }
    let inbox = folder_id(&bob_client, FolderRole::Inbox).await;
    assert_eq!(
        sync(&bob_client).await.messages.iter().filter(|m| m.folder_id == inbox).count(),
        1,
        "nothing more arrived"
    );
    // One recipient still fits.
    let to_bob = Outgoing { to: vec!["bob".into()], ..to_both.clone() };
    send(&alice_client, &LocalRenderer, &alice, &to_bob, START + 120, &|_| {}).await.expect("one more fits");
    // A day after the first send, it frees up; the retention task forgets old sends.
    server.clock.advance(24 * 60 * 60 + 1);
    send(&alice_client, &LocalRenderer, &alice, &to_both, START + 86_401, &|_| {}).await.expect("a day later");
    server.clock.advance(24 * 60 * 60);
    plico_server::jobs::retention::run_once(&server.state).await.expect("retention");
    let left: i64 = server.sql_int("SELECT COUNT(*) FROM send_log", &[]).await;
    assert_eq!(left, 0, "the send log is kept one day");
}
