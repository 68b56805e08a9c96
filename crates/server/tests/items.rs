//! Issue 21: the generic store of sealed items (contacts, contact groups, later events and
//! documents), driven through the real router by the client's typed layer
//! (`plico_client::items`): one account never reaches another's items; sync brings changes since
//! a cursor, page by page, with tombstones for what was purged; two devices editing one item
//! merge field by field; deleted items are recoverable for 45 days and then purged; items count
//! against the quota; what the server holds is ciphertext; and an item the server swapped, rolled
//! back or that someone else sealed is refused. Every device of an account seals with the same
//! item key, from the account's keyring.

mod common;

use common::*;
use plico_client::items::{self, Refused};
use plico_server::clock::DAY;
use serde_json::{json, Value};

const KIND: &str = "contact";

async fn sync_all(client: &TestClient, key: &items::ItemKey, since: i64) -> items::Synced {
    items::sync(client, key, KIND, since, |_| 0).await.expect("sync")
}

async fn item_key(client: &TestClient, session: &plico_client::UnlockedSession) -> items::ItemKey {
    plico_client::keyring::item_key(client, session).await.expect("the item key")
}

fn put_body(sealed: &[u8], version: i64) -> String {
    use base64::Engine;
    json!({"sealed": base64::engine::general_purpose::STANDARD.encode(sealed), "version": version}).to_string()
}

async fn put_raw(client: &TestClient, path: &str, body: String) -> TestResponse {
    let request = client
        .request("PUT", path)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body))
        .expect("request");
    client.send(request).await
}

async fn used_bytes(server: &TestServer, name: &str) -> i64 {
    server.sql_int("SELECT used_bytes FROM accounts WHERE name = ?", &[Bind::from(name)]).await
}

#[tokio::test]
async fn another_account_finds_none_of_my_items_and_changes_nothing() {
    let server = TestServer::start().await;
    let (alice_client, bob_client) = (server.client("192.0.2.1"), server.client("192.0.2.2"));
    let alice = signup(&alice_client, "alice").await;
    let alice_key = item_key(&alice_client, &alice).await;
    let bob = signup(&bob_client, "bob").await;
    let bob_key = item_key(&bob_client, &bob).await;
    let id = items::new_id();
    let saved =
        items::save(&alice_client, &alice_key, KIND, &id, None, &json!({"fn": "Ada Lovelace"})).await.expect("saved");
    assert_eq!(saved.version, 1);
    let path = format!("/api/v1/items/{KIND}/{id}");
    let before = alice_client.get(&path).await.body;

    assert_eq!(bob_client.get(&path).await.status, 404, "read");
    let forged = items::seal(&bob_key, KIND, &id, 2, &json!({"fn": "Eve"})).expect("sealed");
    let over = put_raw(&bob_client, &path, put_body(&forged, 1)).await;
    assert_eq!((over.status, over.error_code().as_str()), (404, "not_found"), "write over a version");
    for verb in ["delete", "recover"] {
        let response =
            bob_client.post_raw(&format!("/api/v1/items/{KIND}/{verb}"), json!({"ids": [id]}).to_string()).await;
        assert_eq!(response.status, 404, "{verb}");
    }
    assert!(sync_all(&bob_client, &bob_key, 0).await.opened.is_empty(), "bob's sync shows none of alice's items");
    // The same id is bob's own, separate item; alice's stays as it was.
    let own = put_raw(&bob_client, &path, put_body(&forged, 0)).await;
    assert_eq!(own.status, 200, "{}", String::from_utf8_lossy(&own.body));
    assert_eq!(alice_client.get(&path).await.body, before, "alice's item is unchanged");
    let synced = sync_all(&alice_client, &alice_key, 0).await;
    assert_eq!(synced.opened.len(), 1);
    assert_eq!(synced.opened[0].content, json!({"fn": "Ada Lovelace"}));
    assert!(synced.refused.is_empty());
    // Without a session, nothing at all.
    let stranger = server.client("192.0.2.3");
    assert_eq!(stranger.get(&path).await.status, 401);
}

#[tokio::test]
async fn sync_brings_what_changed_since_the_cursor_page_by_page() {
    let server = TestServer::start().await;
    let client = server.client("192.0.2.1");
    let alice = signup(&client, "alice").await;
    let alice_key = item_key(&client, &alice).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let id = items::new_id();
        items::save(&client, &alice_key, KIND, &id, None, &json!({"fn": format!("Person {n}")})).await.expect("saved");
        ids.push(id);
    }
    // Another kind is not in this kind's sync.
    items::save(&client, &alice_key, "contact-group", &items::new_id(), None, &json!({"name": "Family"}))
        .await
        .expect("group saved");

    let page = client.get(&format!("/api/v1/items/{KIND}?since=0&limit=2")).await.json();
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["more"], true);
    let everything = sync_all(&client, &alice_key, 0).await;
    assert_eq!(everything.opened.len(), 5, "the pages together hold every contact once");
    let names: Vec<&str> = everything.opened.iter().map(|item| item.content["fn"].as_str().unwrap_or("")).collect();
    assert_eq!(names, ["Person 0", "Person 1", "Person 2", "Person 3", "Person 4"], "oldest change first");

    let nothing = sync_all(&client, &alice_key, everything.cursor).await;
    assert!(nothing.opened.is_empty() && nothing.removed.is_empty());
    assert_eq!(nothing.cursor, everything.cursor);

    let first = &everything.opened[0];
    items::save(&client, &alice_key, KIND, &ids[0], Some((first.version, &first.content)), &json!({"fn": "Ada"}))
        .await
        .expect("edited");
    items::set_deleted(&client, KIND, &ids[1..3], false).await.expect("deleted");
    let changed = sync_all(&client, &alice_key, everything.cursor).await;
    let mut seen: Vec<(String, i64, bool)> =
        changed.opened.iter().map(|item| (item.id.clone(), item.version, item.deleted_at.is_some())).collect();
    seen.sort();
    let mut expected = vec![(ids[0].clone(), 2, false), (ids[1].clone(), 1, true), (ids[2].clone(), 1, true)];
    expected.sort();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn two_devices_editing_one_contact_keep_both_changes() {
    let server = TestServer::start().await;
    let laptop = server.client("192.0.2.1");
    let phone = server.client("192.0.2.2");
    let alice = signup(&laptop, "alice").await;
    let alice_key = item_key(&laptop, &alice).await;
    let alice_phone = plico_client::login(&phone, "alice@plico.test", PASSWORD, |_| {}).await.expect("phone signs in");
    let alice_phone_key = item_key(&phone, &alice_phone).await;
    let id = items::new_id();
    let base = json!({"fn": "Ada", "tel": "+44 1", "note": "met at the Society"});
    let first = items::save(&laptop, &alice_key, KIND, &id, None, &base).await.expect("saved");

    // Both devices start from version 1; the laptop writes first.
    let laptop_edit = json!({"fn": "Ada Lovelace", "tel": "+44 1", "note": "met at the Society"});
    items::save(&laptop, &alice_key, KIND, &id, Some((first.version, &base)), &laptop_edit).await.expect("laptop");
    let phone_edit = json!({"fn": "Ada", "tel": "+44 2", "note": "met at the Society"});
    let merged = items::save(&phone, &alice_phone_key, KIND, &id, Some((first.version, &base)), &phone_edit)
        .await
        .expect("the phone's write merges");
    assert_eq!(merged.version, 3);
    assert_eq!(merged.content, json!({"fn": "Ada Lovelace", "tel": "+44 2", "note": "met at the Society"}));
    let stored = sync_all(&laptop, &alice_key, 0).await;
    assert_eq!(stored.opened[0].content, merged.content, "what the laptop syncs is the merge");

    // A stale write straight to the API is refused, and a new item cannot take a used id.
    let sealed = items::seal(&alice_key, KIND, &id, 2, &json!({"fn": "Old"})).expect("sealed");
    let stale = put_raw(&laptop, &format!("/api/v1/items/{KIND}/{id}"), put_body(&sealed, 1)).await;
    assert_eq!((stale.status, stale.error_code().as_str()), (409, "stale_version"));
    let taken = put_raw(&laptop, &format!("/api/v1/items/{KIND}/{id}"), put_body(&sealed, 0)).await;
    assert_eq!((taken.status, taken.error_code().as_str()), (409, "item_exists"));
}

#[tokio::test]
async fn deleted_items_are_recoverable_for_45_days_then_purged_everywhere() {
    let server = TestServer::start().await;
    let client = server.client("192.0.2.1");
    let alice = signup(&client, "alice").await;
    let alice_key = item_key(&client, &alice).await;
    let empty = used_bytes(&server, "alice").await;
    let (kept, purged) = (items::new_id(), items::new_id());
    for id in [&kept, &purged] {
        items::save(&client, &alice_key, KIND, id, None, &json!({"fn": "Grace Hopper", "note": "x".repeat(2000)}))
            .await
            .expect("saved");
    }
    let with_two = used_bytes(&server, "alice").await;
    assert!(with_two > empty + 4000, "items count against the quota: {empty} → {with_two}");
    let cursor = sync_all(&client, &alice_key, 0).await.cursor;
    let held = client.get("/api/v1/account/data").await.json();
    let row = |held: &Value, kind: &str| {
        held["items"].as_array().and_then(|rows| rows.iter().find(|row| row["kind"] == kind).cloned())
    };
    assert_eq!(row(&held, "items").map(|row| row["count"].clone()), Some(json!(2)), "what Plico holds counts them");

    items::set_deleted(&client, KIND, &[kept.clone(), purged.clone()], false).await.expect("deleted");
    let path = format!("/api/v1/items/{KIND}/{kept}");
    assert!(client.get(&path).await.json()["deleted_at"].is_i64(), "in the recovery area");
    let write =
        put_raw(&client, &path, put_body(&items::seal(&alice_key, KIND, &kept, 2, &json!({})).expect("s"), 1)).await;
    assert_eq!((write.status, write.error_code().as_str()), (409, "item_deleted"));
    server.clock.advance(44 * DAY);
    plico_client::login(&client, "alice@plico.test", PASSWORD, |_| {}).await.expect("signs in again");
    items::set_deleted(&client, KIND, std::slice::from_ref(&kept), true).await.expect("recovered on day 44");
    assert_eq!(plico_server::jobs::retention::run_once(&server.state).await.expect("retention").items, 0);

    server.clock.advance(DAY + 1);
    plico_client::login(&client, "alice@plico.test", PASSWORD, |_| {}).await.expect("signs in again");
    let report = plico_server::jobs::retention::run_once(&server.state).await.expect("retention");
    assert_eq!(report.items, 1, "the one left in the recovery area 45 days is purged");
    let held = client.get("/api/v1/account/data").await.json();
    assert_eq!(row(&held, "items").map(|row| row["count"].clone()), Some(json!(1)));
    assert_eq!(row(&held, "deleted_items").map(|row| row["count"].clone()), Some(json!(0)));
    assert_eq!(client.get(&format!("/api/v1/items/{KIND}/{purged}")).await.status, 404);
    assert!(client.get(&path).await.json()["deleted_at"].is_null(), "the recovered one stays");
    let rows: i64 = server.sql_int("SELECT COUNT(*) FROM items WHERE id = ?", &[Bind::from(&purged)]).await;
    assert_eq!(rows, 0, "gone from the database");
    let after = sync_all(&client, &alice_key, cursor).await;
    assert_eq!(after.removed, vec![purged.clone()], "other devices learn of the purge");
    assert_eq!(used_bytes(&server, "alice").await - empty, (with_two - empty) / 2, "its bytes are freed");
}

#[tokio::test]
async fn a_write_past_the_quota_is_refused_and_a_smaller_rewrite_passes() {
    let server = TestServer::start().await;
    let client = server.client("192.0.2.1");
    let alice = signup(&client, "alice").await;
    let alice_key = item_key(&client, &alice).await;
    let id = items::new_id();
    let big = json!({"photo": "p".repeat(20_000)});
    let saved = items::save(&client, &alice_key, KIND, &id, None, &big).await.expect("saved");
    let used = used_bytes(&server, "alice").await;
    server.state.store.set_quota(1, Some(used as u64 + 100)).await.expect("quota");

    let refused = items::save(&client, &alice_key, KIND, &items::new_id(), None, &big).await;
    assert!(
        matches!(&refused, Err(plico_client::FlowError::Api { status: 507, .. })),
        "a new item past the quota: {refused:?}"
    );
    let smaller = items::save(&client, &alice_key, KIND, &id, Some((saved.version, &big)), &json!({"fn": "no photo"}))
        .await
        .expect("a smaller rewrite passes though the account is nearly full");
    assert_eq!(smaller.version, 2);
    assert!(used_bytes(&server, "alice").await < used);
}

#[tokio::test]
async fn bad_writes_are_refused_with_what_is_wrong_and_change_nothing() {
    let server = TestServer::start().await;
    let client = server.client("192.0.2.1");
    let alice = signup(&client, "alice").await;
    let alice_key = item_key(&client, &alice).await;
    let id = items::new_id();
    let sealed = items::seal(&alice_key, KIND, &id, 1, &json!({"fn": "A"})).expect("sealed");
    let cases: Vec<(String, String, u16, &str)> = vec![
        (
            format!("/api/v1/items/{KIND}/{id}"),
            json!({"sealed": "aGVsbG8=", "version": 0}).to_string(),
            422,
            "not_encrypted",
        ),
        // A contact in the clear, long enough to pass for sealed by its length alone.
        (
            format!("/api/v1/items/{KIND}/{id}"),
            put_body(br#"{"vcard":{"FN":["FN:Ada Lovelace"],"EMAIL":["EMAIL:ada@example.org"]}}"#, 0),
            422,
            "not_encrypted",
        ),
        (
            format!("/api/v1/items/{KIND}/{id}"),
            json!({"sealed": "%%%", "version": 0}).to_string(),
            400,
            "malformed_field",
        ),
        (
            format!("/api/v1/items/{KIND}/{id}"),
            json!({"sealed": "", "version": -1}).to_string(),
            422,
            "invalid_version",
        ),
        (format!("/api/v1/items/{KIND}/{id}"), "{\"sealed\":".into(), 400, "malformed_json"),
        (
            format!("/api/v1/items/{KIND}/{id}"),
            json!({"sealed": "", "version": 0, "kind": "x"}).to_string(),
            422,
            "invalid_field",
        ),
        (format!("/api/v1/items/Contact/{id}"), put_body(&sealed, 0), 404, "unknown_kind"),
        (format!("/api/v1/items/{KIND}/NOT-AN-ID"), put_body(&sealed, 0), 404, "not_found"),
    ];
    for (path, body, status, code) in cases {
        let response = put_raw(&client, &path, body.clone()).await;
        assert_eq!(response.status, status, "{path} {body}: {}", String::from_utf8_lossy(&response.body));
        if code != "malformed_json" && code != "invalid_field" {
            assert_eq!(response.error_code(), code, "{path} {body}");
        }
        assert!(!response.json()["error"]["message"].as_str().unwrap_or("").is_empty());
    }
    let too_many: Vec<String> = (0..1001).map(|_| items::new_id()).collect();
    let response = client.post_raw(&format!("/api/v1/items/{KIND}/delete"), json!({"ids": too_many}).to_string()).await;
    assert_eq!(response.status, 422);
    // One unknown id refuses the whole batch.
    items::save(&client, &alice_key, KIND, &id, None, &json!({"fn": "A"})).await.expect("saved");
    let response = client
        .post_raw(&format!("/api/v1/items/{KIND}/delete"), json!({"ids": [id, items::new_id()]}).to_string())
        .await;
    assert_eq!(response.status, 404);
    assert!(client.get(&format!("/api/v1/items/{KIND}/{id}")).await.json()["deleted_at"].is_null());
    assert!(sync_all(&client, &alice_key, 0).await.opened.len() == 1);
}

/// What the server holds is ciphertext: no name, address, phone or note of a contact is in the
/// data directory, in any encoding the tests can think of.
#[tokio::test]
async fn the_server_holds_no_contact_field_in_the_clear() {
    let server = TestServer::start().await;
    let client = server.client("192.0.2.1");
    let alice = signup(&client, "alice").await;
    let alice_key = item_key(&client, &alice).await;
    let contact = json!({"fn": "Zebedee Quuxworth", "email": ["zebedee@quux.example"], "tel": ["+41 79 555 01 23"],
        "note": "Prefers Tuesday mornings"});
    items::save(&client, &alice_key, KIND, &items::new_id(), None, &contact).await.expect("saved");
    // Everything into the main file, as the other zero-access scans do (closing the pool instead
    // raced SQLite's removal of the -wal file against the scan's read).
    server.checkpoint().await;
    for file in server.files_on_disk() {
        let bytes = std::fs::read(&file).expect("read");
        for needle in ["Zebedee", "Quuxworth", "zebedee@quux", "555 01 23", "Tuesday mornings"] {
            assert!(
                !bytes.windows(needle.len()).any(|window| window == needle.as_bytes()),
                "{needle:?} is in {}",
                file.display()
            );
        }
    }
}

/// The server (or whoever changed its database) cannot pass off one item as another, an old
/// version as the current one, or an item sealed under any key but the account's.
#[tokio::test]
async fn swapped_rolled_back_and_foreign_items_are_refused() {
    let server = TestServer::start().await;
    let (client, mallory_client) = (server.client("192.0.2.1"), server.client("192.0.2.9"));
    let alice = signup(&client, "alice").await;
    let alice_key = item_key(&client, &alice).await;
    let mallory = signup(&mallory_client, "mallory").await;
    let mallory_key = item_key(&mallory_client, &mallory).await;
    let (a, b) = (items::new_id(), items::new_id());
    let first = items::save(&client, &alice_key, KIND, &a, None, &json!({"fn": "Ada", "tel": "1"})).await.expect("a");
    items::save(&client, &alice_key, KIND, &b, None, &json!({"fn": "Bob"})).await.expect("b");
    let old: Vec<u8> = server.sql_bytes("SELECT sealed FROM items WHERE id = ?", &[Bind::from(&a)]).await;
    items::save(
        &client,
        &alice_key,
        KIND,
        &a,
        Some((first.version, &first.content)),
        &json!({"fn": "Ada", "tel": "2"}),
    )
    .await
    .expect("a v2");
    let server = &server;
    let set = |id: String, sealed: Vec<u8>, version: i64| async move {
        server
            .sql(
                "UPDATE items SET sealed = ?, version = ?, modseq = modseq + 100 WHERE id = ?",
                &[Bind::from(sealed), Bind::from(version), Bind::from(id)],
            )
            .await;
    };

    // Version 1's bytes served as version 2.
    set(a.clone(), old.clone(), 2).await;
    let synced = sync_all(&client, &alice_key, 0).await;
    assert!(matches!(synced.refused.as_slice(), [(id, Refused::Misfiled(_))] if *id == a), "{:?}", synced.refused);
    // Version 1's bytes served as version 1, to a device that holds version 2.
    set(a.clone(), old, 1).await;
    let synced = items::sync(&client, &alice_key, KIND, 0, |id| if id == a { 2 } else { 0 }).await.expect("sync");
    assert!(
        matches!(synced.refused.as_slice(), [(_, Refused::Rollback { served: 1, held: 2 })]),
        "{:?}",
        synced.refused
    );
    // b's bytes under a's id.
    let b_bytes: Vec<u8> = server.sql_bytes("SELECT sealed FROM items WHERE id = ?", &[Bind::from(&b)]).await;
    set(a.clone(), b_bytes, 1).await;
    let synced = sync_all(&client, &alice_key, 0).await;
    assert!(matches!(synced.refused.as_slice(), [(_, Refused::Misfiled(_))]), "{:?}", synced.refused);
    // Sealed by mallory under her own item key, with the right kind, id and version.
    let forged = items::seal(&mallory_key, KIND, &a, 1, &json!({"fn": "Ada", "tel": "666"})).expect("forged");
    set(a.clone(), forged, 1).await;
    let synced = sync_all(&client, &alice_key, 0).await;
    assert!(matches!(synced.refused.as_slice(), [(_, Refused::WrongSigner)]), "{:?}", synced.refused);
    assert_eq!(synced.opened.len(), 1, "b still opens");
    let _: Value = synced.opened[0].content.clone();
}

/// A closed account's purge takes its items and their tombstones with it.
#[tokio::test]
async fn an_account_purge_leaves_none_of_its_items() {
    let server = TestServer::start().await;
    let client = server.client("192.0.2.1");
    let alice = signup(&client, "alice").await;
    let alice_key = item_key(&client, &alice).await;
    let (kept, deleted) = (items::new_id(), items::new_id());
    for id in [&kept, &deleted] {
        items::save(&client, &alice_key, KIND, id, None, &json!({"fn": "Someone"})).await.expect("saved");
    }
    items::set_deleted(&client, KIND, std::slice::from_ref(&deleted), false).await.expect("deleted");
    server.clock.advance(46 * DAY);
    assert_eq!(plico_server::jobs::retention::run_once(&server.state).await.expect("retention").items, 1);
    let count = |table: &'static str| {
        let server = &server;
        async move { server.sql_int(&format!("SELECT COUNT(*) FROM {table}"), &[]).await }
    };
    assert_eq!((count("items").await, count("item_tombstones").await), (1, 1), "one kept, one purged");
    let account: i64 = server.sql_int("SELECT id FROM accounts WHERE name = 'alice'", &[]).await;
    server.state.store.purge_account(account, START + 47 * DAY).await.expect("purged");
    assert_eq!((count("items").await, count("item_tombstones").await), (0, 0), "nothing of the account is left");
}
