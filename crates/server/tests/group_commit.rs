//! The ingress's group commit: messages committed together are each stored exactly once, and
//! one that cannot be filed fails alone, leaving nothing behind, while its batch is stored.

mod common;

use common::{folder_messages, signup, TestServer};
use plico_api::mail::FolderRole;
use plico_server::inbound::group_commit::{CommitError, Copy, CopyBlob};

fn sealed(session: &plico_client::UnlockedSession, text: &str) -> Vec<u8> {
    plico_pgp::encrypt_to(text.as_bytes(), std::slice::from_ref(&session.secret_key)).expect("encrypts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_files_every_good_message_once_and_the_bad_one_not_at_all() {
    let server = TestServer::start().await;
    let client = server.client("198.51.100.20");
    let session = signup(&client, "grace").await;
    let account_id = server.state.store.account_by_name("grace").await.expect("reads").expect("exists").id;

    // Forty messages at once, so that they queue behind each other and commit in batches; the
    // thirteenth names an account that does not exist (as if it closed a moment ago).
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(40));
    let mut tasks = Vec::new();
    for n in 0..40 {
        let group_commit = server.state.inbound.group_commit.clone();
        let barrier = barrier.clone();
        let copy = Copy {
            account_id: if n == 13 { account_id + 1000 } else { account_id },
            folder: if n % 5 == 0 { FolderRole::Spam } else { FolderRole::Inbox },
            blob: CopyBlob::Bytes(sealed(&session, &format!("message {n}"))),
            sealed_summary: sealed(&session, &format!("summary {n}")),
        };
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            group_commit.commit(vec![copy], common::START + n).await
        }));
    }
    let mut stored = Vec::new();
    for (n, task) in tasks.into_iter().enumerate() {
        let outcome = task.await.expect("joins");
        if n == 13 {
            assert_eq!(outcome, Err(CommitError::Database));
        } else {
            let ids = outcome.unwrap_or_else(|e| panic!("message {n}: {e:?}"));
            assert_eq!(ids.len(), 1);
            stored.extend(ids);
        }
    }
    let (batches, messages) = server.state.inbound.group_commit.counts();
    assert_eq!(messages, 40);
    assert!(batches < 40, "messages waiting together were committed together ({batches} batches)");
    let inbox = folder_messages(&client, FolderRole::Inbox).await;
    let spam = folder_messages(&client, FolderRole::Spam).await;
    assert_eq!(inbox.len() + spam.len(), 39, "39 good messages, each once");
    assert_eq!(spam.len(), 8);
    let mut listed: Vec<String> = inbox.iter().chain(&spam).map(|meta| meta.id.clone()).collect();
    listed.sort();
    stored.sort();
    assert_eq!(listed, stored);
    // Every listed message's blob is stored, in its row (small ones are not files), and
    // decrypts to what was committed.
    for meta in inbox.iter().chain(&spam) {
        let blob = server.state.read_blob(&meta.blob_hash).await.expect("blob stored");
        assert!(!server.state.blobs.contains(&meta.blob_hash), "a small blob lives in its row");
        let opened = plico_pgp::decrypt_and_verify(&blob, &session.secret_key, &[]).expect("decrypts");
        assert!(String::from_utf8_lossy(&opened.plaintext).starts_with("message "));
    }

    // A large one is a file, fsync'd before its row.
    let large_text = format!("message large {}", "x".repeat(400 * 1024));
    let large_blob = sealed(&session, &large_text);
    let hash = plico_server::store::blobs::blob_hash(&large_blob);
    let large = Copy {
        account_id,
        folder: FolderRole::Inbox,
        blob: CopyBlob::Bytes(large_blob),
        sealed_summary: sealed(&session, "summary large"),
    };
    server.state.inbound.group_commit.commit(vec![large], common::START + 99).await.expect("stores the large one");
    assert!(server.state.blobs.contains(&hash), "a large blob is a file");
    let blob = server.state.read_blob(&hash).await.expect("reads");
    let opened = plico_pgp::decrypt_and_verify(&blob, &session.secret_key, &[]).expect("decrypts");
    assert_eq!(opened.plaintext, large_text.as_bytes());
}
