//! The device's encrypted store in headless Chromium, in a dedicated worker like the real one.

#![cfg(target_arch = "wasm32")]

use plico_local::idb::{Database, Durability};
use plico_local::{LocalKey, RecordError};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn unique(name: &str) -> String {
    format!("plico-test-{name}-{}", js_sys::Math::random())
}

#[wasm_bindgen_test]
async fn sealed_records_persist_reopen_and_read_nothing_plaintext_raw() {
    let name = unique("persist");
    let key = LocalKey::derive(&[1; 32], "alice@plico.test");
    let database = Database::open(&name).await.expect("opens");
    let records = (0..150)
        .map(|n| {
            let record = format!("bucket/{n}");
            (key.name(&record), key.seal(&record, format!("Subject: invoice {n} from Zürich").as_bytes()))
        })
        .collect();
    database.put(records, Durability::Relaxed).await.expect("writes in one transaction");
    database.close();

    let database = Database::open(&name).await.expect("reopens");
    let wanted = [key.name("bucket/7"), key.name("bucket/149"), key.name("missing")];
    let found = database.get(&wanted).await.expect("reads");
    let opened = key.open("bucket/7", found[0].as_deref().expect("present")).expect("opens");
    assert_eq!(opened, "Subject: invoice 7 from Zürich".as_bytes());
    assert!(found[1].is_some());
    assert_eq!(found[2], None);

    let raw = database.raw_records().await.expect("raw read");
    assert_eq!(raw.len(), 150);
    for (stored_name, value) in &raw {
        assert!(!stored_name.contains("bucket"), "names are keyed hashes: {stored_name}");
        for word in [&b"invoice"[..], b"Subject", "Zürich".as_bytes()] {
            assert!(!value.windows(word.len()).any(|w| w == word), "plaintext in IndexedDB");
        }
    }

    let stranger = LocalKey::derive(&[2; 32], "alice@plico.test");
    assert_eq!(stranger.open("bucket/7", found[0].as_deref().expect("present")), Err(RecordError::WrongKey));
    assert_eq!(database.get(&[stranger.name("bucket/7")]).await.expect("reads"), vec![None], "other names");
    database.close();
    Database::delete(&name).await.expect("deletes");
    let database = Database::open(&name).await.expect("opens empty");
    assert!(database.raw_records().await.expect("raw").is_empty(), "deleting the database wipes it");
    database.close();
    Database::delete(&name).await.expect("deletes");
}

#[wasm_bindgen_test]
async fn update_reads_and_writes_in_one_transaction() {
    let name = unique("update");
    let database = Database::open(&name).await.expect("opens");
    database.put(vec![("cursor".into(), vec![5])], Durability::Strict).await.expect("writes");
    // Write only when ours is newer than what is stored, as two tabs saving the mailbox do.
    for (ours, expect_write) in [(3u8, false), (9, true)] {
        let wrote = database
            .update(&["cursor".into()], Durability::Relaxed, |current| {
                let stored = current[0].as_ref().map_or(0, |bytes| bytes[0]);
                if ours >= stored {
                    vec![("cursor".into(), vec![ours]), ("data".into(), vec![ours; 3])]
                } else {
                    Vec::new()
                }
            })
            .await
            .expect("updates");
        assert_eq!(wrote, expect_write);
    }
    let found = database.get(&["cursor".into(), "data".into()]).await.expect("reads");
    assert_eq!(found, vec![Some(vec![9]), Some(vec![9, 9, 9])]);
    database.close();
    Database::delete(&name).await.expect("deletes");
}

#[wasm_bindgen_test]
async fn deleting_is_not_blocked_by_an_open_connection() {
    let name = unique("forget");
    let other_tab = Database::open(&name).await.expect("opens");
    other_tab.put(vec![("k".into(), vec![1])], Durability::Strict).await.expect("writes");
    Database::delete(&name).await.expect("the open connection closes itself");
    let fresh = Database::open(&name).await.expect("opens");
    assert!(fresh.raw_records().await.expect("raw").is_empty());
    fresh.close();
    Database::delete(&name).await.expect("deletes");
}

#[wasm_bindgen_test]
async fn update_deleting_writes_and_deletes_together() {
    let name = unique("update-deleting");
    let database = Database::open(&name).await.expect("opens");
    let records = vec![("index".into(), vec![1]), ("copy/a".into(), vec![7; 4]), ("copy/b".into(), vec![8; 4])];
    database.put(records, Durability::Strict).await.expect("writes");
    // A kept-copies index dropping `copy/a` and adding `copy/c`, as one change.
    let wrote = database
        .update_deleting(&["index".into()], Durability::Relaxed, |current| {
            assert_eq!(current, vec![Some(vec![1])]);
            (vec![("index".into(), vec![2]), ("copy/c".into(), vec![9; 4])], vec!["copy/a".into()])
        })
        .await
        .expect("updates");
    assert!(wrote);
    let found =
        database.get(&["index".into(), "copy/a".into(), "copy/b".into(), "copy/c".into()]).await.expect("reads");
    assert_eq!(found, vec![Some(vec![2]), None, Some(vec![8; 4]), Some(vec![9; 4])]);
    let keys = ["index".to_owned()];
    let nothing = database.update_deleting(&keys, Durability::Relaxed, |_| (Vec::new(), Vec::new())).await;
    assert!(!nothing.expect("updates"), "nothing to write or delete");
    database.close();
    Database::delete(&name).await.expect("deletes");
}
