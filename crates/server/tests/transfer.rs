//! Export and import of mail with the real client code through the real router: an account's
//! mail decrypted into an mbox (as the worker's export writes it), that mbox read back in
//! pieces and imported into a fresh account, and the two compared message by message.

mod common;

use common::*;
use plico_api::mail::{FolderRole, MessageMeta};
use plico_client::mail::{import_message, message_bytes, open, open_summary, send, LocalRenderer, Outgoing};
use plico_client::FlowError;
use plico_mime::Attachment;
use plico_transfer::archive::{asctime, mbox_record, MboxReader};

async fn folder_id(client: &TestClient, role: FolderRole) -> String {
    let folders: Vec<plico_api::mail::Folder> =
        serde_json::from_value(client.get("/api/v1/folders").await.json()).expect("folders");
    folders.into_iter().find(|folder| folder.role == Some(role)).expect("folder").id
}

async fn all_messages(client: &TestClient) -> Vec<MessageMeta> {
    let changes: plico_api::mail::SyncChanges =
        serde_json::from_value(client.get("/api/v1/sync?since=0").await.json()).expect("sync");
    changes.messages
}

/// A message as it might come from another provider's export: an attachment, a body line that
/// starts with "From " (mboxrd must quote it), and a Date of its own.
fn outside_message() -> Vec<u8> {
    let attachment: Vec<u8> = (0..40_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8).collect();
    let encoded = base64_lines(&attachment);
    format!(
        "From: Dana <dana@example.org>\r\nTo: alice@plico.test\r\nSubject: Old mail, with a photo\r\n\
         Date: Tue, 03 Mar 2026 10:00:00 +0000\r\nMessage-ID: <old-1@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Grüße.\r\nFrom here on, the line starts with From.\r\n>From quoted already.\r\n\r\n--b1\r\n\
         Content-Type: application/octet-stream; name=\"photo.bin\"\r\nContent-Disposition: attachment; filename=\"photo.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{encoded}--b1--\r\n"
    )
    .into_bytes()
}

fn base64_lines(data: &[u8]) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    encoded.as_bytes().chunks(76).map(|line| format!("{}\r\n", String::from_utf8_lossy(line))).collect()
}

#[tokio::test]
async fn exported_mail_imports_into_a_fresh_account_byte_for_byte() {
    let server = TestServer::start().await;
    let alice_client = server.client("192.0.2.60");
    let bob_client = server.client("192.0.2.61");
    let carol_client = server.client("192.0.2.62");
    let alice = signup(&alice_client, "alice").await;
    let bob = signup(&bob_client, "bob").await;
    let carol = signup(&carol_client, "carol").await;

    // Alice's mail: one from Bob (signed, encrypted, with an attachment) and one imported.
    let attachment: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(40_503) >> 7) as u8).collect();
    let outgoing = Outgoing {
        to: vec!["alice@plico.test".into()],
        subject: "The contract".into(),
        text: "Please sign page 2.\nFrom now on we use the new one.".into(),
        attachments: vec![Attachment {
            file_name: "contract.pdf".into(),
            content_type: "application/pdf".into(),
            content_id: None,
            data: attachment.clone(),
        }],
        ..Outgoing::default()
    };
    send(&bob_client, &LocalRenderer, &bob, &outgoing, START, &|_| {}).await.expect("sends");
    let archive = folder_id(&alice_client, FolderRole::Archive).await;
    let filed = import_message(&alice_client, &LocalRenderer, &alice, &archive, &outside_message(), START)
        .await
        .expect("imports");
    assert_eq!(filed.folder_id, archive);
    assert_eq!(filed.received_at, 1_772_532_000, "an imported message keeps its own Date");
    let imported = open(&alice_client, &LocalRenderer, &alice, &filed).await.expect("opens");
    assert_eq!(imported.message.subject, "Old mail, with a photo");
    assert!(!imported.from_internet, "an import is not mail the server checked");
    assert_eq!(open_summary(&alice, &filed).expect("summary").subject, "Old mail, with a photo");

    // Export: every message decrypted into one mbox, as the worker writes it.
    let alice_messages = all_messages(&alice_client).await;
    let alice_inbox = folder_id(&alice_client, FolderRole::Inbox).await;
    assert_eq!(alice_messages.iter().filter(|m| m.folder_id == alice_inbox || m.folder_id == archive).count(), 2);
    let mut mbox = Vec::new();
    let mut originals = Vec::new();
    for meta in alice_messages.iter().filter(|m| m.folder_id == alice_inbox || m.folder_id == archive) {
        let raw = message_bytes(&alice_client, &LocalRenderer, &alice, meta).await.expect("decrypts");
        let sender = open_summary(&alice, meta).ok().and_then(|s| s.from).map(|from| from.address).unwrap_or_default();
        mbox.extend(mbox_record(&sender, &asctime(meta.received_at), &raw));
        originals.push(open(&alice_client, &LocalRenderer, &alice, meta).await.expect("opens").message);
    }
    let path = std::env::temp_dir().join(format!("plico-transfer-{}.mbox", std::process::id()));
    std::fs::write(&path, &mbox).expect("writes");
    let python = std::process::Command::new(PYTHON)
        .args([
            "-c",
            "import mailbox, sys\nfor m in mailbox.mbox(sys.argv[1]): print(m['Subject'])",
            path.to_str().expect("a UTF-8 path"),
        ])
        .output()
        .expect("python3 runs");
    assert!(python.status.success(), "{}", String::from_utf8_lossy(&python.stderr));
    let subjects = String::from_utf8_lossy(&python.stdout).to_string();
    assert!(subjects.contains("The contract") && subjects.contains("Old mail, with a photo"), "{subjects}");
    let _ = std::fs::remove_file(&path);

    // Import into Carol's Inbox, read in pieces of 7 KB like the page sends them.
    let carol_inbox = folder_id(&carol_client, FolderRole::Inbox).await;
    let mut reader = MboxReader::new(plico_client::mail::MAX_IMPORT_MESSAGE_BYTES);
    let mut records = Vec::new();
    for piece in mbox.chunks(7_000) {
        records.extend(reader.push(piece));
    }
    records.extend(reader.finish());
    assert_eq!(records.len(), 2);
    for record in records {
        let raw = record.message.expect("a message");
        import_message(&carol_client, &LocalRenderer, &carol, &carol_inbox, &raw, START).await.expect("imports");
    }
    let carol_messages = all_messages(&carol_client).await;
    let carol_imported: Vec<_> = carol_messages.iter().filter(|m| m.folder_id == carol_inbox).collect();
    assert_eq!(carol_imported.len(), 2);
    for meta in carol_imported {
        let copy = open(&carol_client, &LocalRenderer, &carol, meta).await.expect("opens").message;
        let original = originals.iter().find(|m| m.message_id == copy.message_id).expect("same Message-ID");
        assert_eq!(copy.subject, original.subject);
        assert_eq!(copy.text, original.text, "the body is the same");
        assert_eq!(copy.from, original.from);
        assert_eq!(copy.attachments.len(), original.attachments.len());
        for (a, b) in copy.attachments.iter().zip(&original.attachments) {
            assert_eq!((a.file_name.as_str(), a.data.as_slice()), (b.file_name.as_str(), b.data.as_slice()));
        }
        assert_eq!(meta.received_at, original.date.expect("dated"), "the date came along");
    }
    let contract = originals.iter().find(|m| m.subject == "The contract").expect("contract");
    assert_eq!(contract.attachments[0].data, attachment);
    assert!(contract.text.contains("\nFrom now on"), "a From line in the body survives mboxrd");
}

#[tokio::test]
async fn what_cannot_be_imported_is_refused_with_the_reason_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let client = server.client("192.0.2.63");
    let alice = signup(&client, "alice").await;
    // A new account's first sync names its folders, before anything changed: the import's
    // folder list is made from it.
    let first: plico_api::mail::SyncChanges =
        serde_json::from_value(client.get("/api/v1/sync?since=0").await.json()).expect("sync");
    assert_eq!(first.folders.len(), FolderRole::ALL.len(), "{first:?}");
    let inbox = folder_id(&client, FolderRole::Inbox).await;
    let before = all_messages(&client).await.len();
    let refusal = |error: FlowError| match error {
        FlowError::Invalid(reason) => reason,
        other => panic!("not a refusal: {other:?}"),
    };
    let not_mail = import_message(&client, &LocalRenderer, &alice, &inbox, b"just some text\n", START).await;
    assert!(refusal(not_mail.expect_err("refused")).contains("not an email message"));
    let huge = vec![b'x'; plico_client::mail::MAX_IMPORT_MESSAGE_BYTES + 1];
    let too_large = import_message(&client, &LocalRenderer, &alice, &inbox, &huge, START).await;
    assert!(refusal(too_large.expect_err("refused")).contains("larger than"));
    let elsewhere =
        import_message(&client, &LocalRenderer, &alice, "no-such-folder", b"Subject: x\r\n\r\ny\r\n", START)
            .await
            .expect_err("refused");
    assert!(
        matches!(&elsewhere, FlowError::Api { status: 404, .. } | FlowError::Api { status: 422, .. }),
        "{elsewhere:?}"
    );

    // A malformed mbox: text before the first message, a record without headers, a truncated
    // last message. Each gets a report; the good ones still import.
    let mbox = b"junk before\nFrom a Thu Jan  1 00:00:00 1970\nnot a header\n\nFrom b Thu Jan  1 00:00:00 1970\nSubject: fine\n\nok\n\nFrom c Thu Jan  1 00:00:00 1970\nSubject: cut off\n\npartial bo";
    let mut reader = MboxReader::new(1_000);
    let mut records = reader.push(mbox);
    records.extend(reader.finish());
    let reports: Vec<_> =
        records.iter().filter_map(|r| r.message.as_ref().err().map(|e| (r.number, e.clone()))).collect();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_eq!(reports[0].0, 0);
    assert!(reports[0].1.contains("not an mbox file"));
    assert_eq!(reports[1].0, 1);
    assert!(reports[1].1.contains("no header section"));
    for record in records.into_iter().filter_map(|r| r.message.ok()) {
        import_message(&client, &LocalRenderer, &alice, &inbox, &record, START).await.expect("imports");
    }
    assert_eq!(all_messages(&client).await.len(), before + 2);
}
