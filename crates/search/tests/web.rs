//! The search index in headless Chromium, in a dedicated worker like the real one: built,
//! persisted sealed in IndexedDB, reopened, changed incrementally; read raw, it shows no word.

#![cfg(target_arch = "wasm32")]

use plico_search::index::{flags, Document};
use plico_search::store;
use plico_search::worker::{flush, load};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

const SECRET: [u8; 32] = [9; 32];
const ACCOUNT: &str = "bob@plico.test";

fn unique(name: &str) -> String {
    format!("plico-test-search-{name}-{}", js_sys::Math::random())
}

/// Words that must never appear in the stored bytes.
const MARKERS: [&str; 6] = ["zanzibar", "quarterly", "rechnung", "fakturorna", "alice", "invoice"];

fn document(n: u32) -> Document {
    let (subject, body) = match n % 3 {
        0 => ("Quarterly invoice", "The zanzibar figures are attached."),
        1 => ("Rechnung für März", "Anbei die Rechnung, zanzibar."),
        _ => ("Fakturorna", "Här är fakturorna från zanzibar."),
    };
    Document {
        id: format!("msg-{n}"),
        date: 1_767_225_600 + i64::from(n) * 3_600,
        folder: if n % 10 == 0 { "archive".into() } else { "inbox".into() },
        flags: if n % 2 == 0 { flags::UNREAD } else { 0 },
        subject: format!("{subject} {n}"),
        from: vec!["Alice Martin <alice@plico.test>".into()],
        to: vec![ACCOUNT.into()],
        body: format!("{body} Message number {n}."),
        attachments: if n % 5 == 0 { vec![format!("invoice-{n}.pdf")] } else { Vec::new() },
    }
}

fn no_folders(_: &str) -> Vec<String> {
    Vec::new()
}

fn found(index: &mut plico_search::Index, query: &str) -> u32 {
    index.search_text(query, &no_folders, 10).expect("parses").total
}

#[wasm_bindgen_test]
async fn builds_persists_and_reopens_without_reindexing() {
    let database = unique("reopen");
    let open = load(&database, &SECRET, ACCOUNT).await.expect("opens");
    assert_eq!(open.status().documents, 0);
    {
        let mut index = open.index();
        for n in 0..300 {
            index.add(&document(n));
        }
    }
    flush(&open).await.expect("writes");
    let status = open.status();
    assert_eq!(status.documents, 300);
    assert!(status.stored_bytes > 0);
    let before = found(&mut open.index(), "zanzibar ");
    assert_eq!(before, 300);
    open.database().close();
    drop(open);

    let again = load(&database, &SECRET, ACCOUNT).await.expect("reopens");
    assert_eq!(again.status().documents, 300, "read back, not rebuilt");
    {
        let mut index = again.index();
        assert_eq!(found(&mut index, "zanzibar "), 300);
        assert_eq!(found(&mut index, "rechnung "), 100);
        assert_eq!(found(&mut index, "\"quarterly invoice\""), 100);
        assert_eq!(found(&mut index, "has:attachment "), 60);
        assert_eq!(found(&mut index, "is:unread zanzibar "), 150);
        assert_eq!(found(&mut index, "from:alice fakt"), 100);
    }
    again.database().close();
    let _ = plico_local::idb::Database::delete(&database).await;
}

#[wasm_bindgen_test]
async fn adds_removes_and_moves_incrementally() {
    let database = unique("incremental");
    let open = load(&database, &SECRET, ACCOUNT).await.expect("opens");
    {
        let mut index = open.index();
        for n in 0..120 {
            index.add(&document(n));
        }
    }
    flush(&open).await.expect("first segment");
    {
        let mut index = open.index();
        index.add(&document(1000));
        assert!(index.remove("msg-0"));
        assert!(index.remove("msg-3"));
        assert!(index.update("msg-1", "archive", flags::STARRED));
    }
    flush(&open).await.expect("second segment");
    open.database().close();
    drop(open);

    let again = load(&database, &SECRET, ACCOUNT).await.expect("reopens");
    {
        let mut index = again.index();
        assert_eq!(index.len(), 119);
        assert!(index.contains("msg-1000") && !index.contains("msg-0") && !index.contains("msg-3"));
        assert_eq!(found(&mut index, "\"message number 1000\""), 1);
        assert_eq!(found(&mut index, "\"message number 3\""), 0, "removed stays removed");
        assert_eq!(found(&mut index, "is:starred "), 1);
        let hits = index.search_text("is:starred ", &|name: &str| vec![name.to_owned()], 5).expect("parses");
        assert_eq!(hits.hits[0].folder, "archive");
    }
    again.database().close();
    let _ = plico_local::idb::Database::delete(&database).await;
}

#[wasm_bindgen_test]
async fn stored_raw_the_index_shows_no_word_and_another_key_reads_nothing() {
    let database = unique("raw");
    let open = load(&database, &SECRET, ACCOUNT).await.expect("opens");
    {
        let mut index = open.index();
        for n in 0..200 {
            index.add(&document(n));
        }
    }
    flush(&open).await.expect("writes");
    let raw = open.database().raw_records().await.expect("reads raw");
    assert!(raw.len() >= 2, "a manifest and a segment");
    for (name, value) in &raw {
        assert_eq!(name.len(), 32, "names are keyed hashes: {name}");
        let lower: Vec<u8> = value.iter().map(|byte| byte.to_ascii_lowercase()).collect();
        for marker in MARKERS {
            assert!(!name.contains(marker), "{marker} in a record name");
            assert!(!lower.windows(marker.len()).any(|window| window == marker.as_bytes()), "{marker} stored readable");
        }
        assert!(!lower.windows(7).any(|window| window == b"msg-199"), "ids stored readable");
    }
    open.database().close();
    drop(open);

    // Another account's key (or a wrong one) finds no index it can open, and starts empty.
    let other = load(&database, &[10; 32], ACCOUNT).await.expect("opens");
    assert_eq!(other.status().documents, 0);
    other.database().close();
    drop(other);
    let wrong = plico_local::LocalKey::derive(&[10; 32], ACCOUNT);
    let right = plico_local::LocalKey::derive(&SECRET, ACCOUNT);
    let manifest = raw.iter().find(|(name, _)| *name == store::manifest_name(&right)).expect("the manifest");
    assert!(store::open_manifest(&wrong, &manifest.1).is_err(), "the wrong key cannot open it");
    assert!(store::open_manifest(&right, &manifest.1).is_ok());

    // The right key still reads all of it.
    let again = load(&database, &SECRET, ACCOUNT).await.expect("reopens");
    assert_eq!(again.status().documents, 200);
    again.database().close();
    let _ = plico_local::idb::Database::delete(&database).await;
}

#[wasm_bindgen_test]
async fn a_compaction_writes_pieces_replaces_the_log_and_reads_back_the_same() {
    let database = unique("compact");
    let open = load(&database, &SECRET, ACCOUNT).await.expect("opens");
    // Compact once four segments are stored, in pieces of 20 KB.
    open.set_compaction(4, 20_000);
    for batch in 0..4u32 {
        {
            let mut index = open.index();
            for n in batch * 50..(batch + 1) * 50 {
                index.add(&document(n));
            }
        }
        flush(&open).await.expect("a segment");
    }
    assert_eq!(open.stored_segments(), 4);
    let before = open.database().raw_records().await.expect("raw").len();
    {
        let mut index = open.index();
        assert!(index.remove("msg-7"));
        index.add(&document(500));
    }
    flush(&open).await.expect("compacts");
    let pieces = open.stored_segments();
    assert!(pieces > 1, "written in pieces: {pieces}");
    let after = open.database().raw_records().await.expect("raw");
    assert_eq!(after.len(), pieces + 1, "the old segments' chunks are deleted (before: {before})");
    let expected = {
        let mut index = open.index();
        ["zanzibar ", "rechnung ", "\"message number 500\"", "\"message number 7\"", "has:attachment "]
            .map(|query| found(&mut index, query))
    };
    assert_eq!(expected[2], 1);
    assert_eq!(expected[3], 0);
    open.database().close();
    drop(open);

    let again = load(&database, &SECRET, ACCOUNT).await.expect("reopens");
    {
        let mut index = again.index();
        assert_eq!(index.len(), 200);
        let read_back = ["zanzibar ", "rechnung ", "\"message number 500\"", "\"message number 7\"", "has:attachment "]
            .map(|query| found(&mut index, query));
        assert_eq!(read_back, expected);
    }
    again.database().close();
    let _ = plico_local::idb::Database::delete(&database).await;
}
