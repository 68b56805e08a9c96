//! Sealed items, typed: the one client layer over the server's generic item store
//! (`/api/v1/items/{kind}`) that contacts, contact groups and later calendar events and
//! documents share.
//!
//! Each item is a JSON object sealed with XChaCha20-Poly1305 under the account's item key
//! ([`ItemKey`]): 32 random bytes kept in the account's keyring, which is encrypted to the
//! account's own key and signed by it ([`crate::keyring::item_key`]), so only the account's
//! devices hold it and the server cannot make one that opens. What is sealed is
//! `plico-item <kind> <id> <version>\n` and the JSON, so an item opens only as the kind, id and
//! version it was written as: a server that serves one item's bytes under another id, or an
//! older version under a newer number, is caught. A version lower than one this device already
//! holds is a rollback and is refused; the caller passes what it holds (its local copy).
//!
//! Why not OpenPGP per item, as the keyring is: opening a contact would then be a public-key
//! decryption and a signature check, milliseconds each in the browser, so a new device would
//! spend tens of seconds on 10,000 contacts; and every kind's items would pass through the
//! crypto worker, whose size budget is spent. With one symmetric key, opened once per session,
//! the worker that keeps a kind's items seals and opens them itself, in microseconds. (Tuta
//! seals its instances under symmetric keys the same way.)
//!
//! Two devices that change the same item: the second write is refused (409) and [`save`] merges
//! field by field against the version both started from. A field this device changed takes this
//! device's value (it is the last writer); every other field keeps the stored one. So two
//! devices that edit different fields both keep their change.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use plico_api::items::{Item, ItemChanges, ItemSaved, ItemWrite};
use plico_local::LocalKey;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::flows::{call_json, FlowError, Transport};

/// The key every item of an account is sealed with (see the module's documentation).
#[derive(Debug, Clone)]
pub struct ItemKey(LocalKey);

impl ItemKey {
    /// The key from the account's item secret (32 random bytes from its keyring).
    pub fn new(secret: &[u8], account: &str) -> ItemKey {
        ItemKey(LocalKey::derive(secret, account))
    }
}

/// An item, opened and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened<D> {
    pub id: String,
    pub version: i64,
    pub updated_at: i64,
    /// In the recovery area since then.
    pub deleted_at: Option<i64>,
    pub content: D,
}

/// Why an item read from the server is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("it was not sealed with your key (changed, or written by someone else)")]
    WrongSigner,
    #[error("it was written as another item ({0})")]
    Misfiled(String),
    #[error("it is older (version {served}) than the copy this device holds (version {held})")]
    Rollback { served: i64, held: i64 },
    #[error("it cannot be decrypted: {0}")]
    Unreadable(String),
}

const SIGNED_PREFIX: &str = "plico-item ";
/// The associated data of every sealed item.
const ITEM_RECORD: &str = "plico-item";

/// A new random item id: 128 bits as 32 lowercase hex digits.
pub fn new_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn signed_plaintext(kind: &str, id: &str, version: i64, json: &[u8]) -> Vec<u8> {
    let mut plaintext = format!("{SIGNED_PREFIX}{kind} {id} {version}\n").into_bytes();
    plaintext.extend_from_slice(json);
    plaintext
}

/// Seals `content` as version `version` of item `id` of `kind`.
pub fn seal(key: &ItemKey, kind: &str, id: &str, version: i64, content: &Value) -> Result<Vec<u8>, FlowError> {
    let json = serde_json::to_vec(content).map_err(|error| FlowError::Protocol(error.to_string()))?;
    Ok(seal_bytes(key, kind, id, version, &json))
}

/// [`seal`] of content already written as JSON.
pub fn seal_bytes(key: &ItemKey, kind: &str, id: &str, version: i64, json: &[u8]) -> Vec<u8> {
    key.0.seal(ITEM_RECORD, &signed_plaintext(kind, id, version, json))
}

/// Opens an item the server served as `kind`, checking that the account's key sealed it, which
/// item it was written as, and that it is not older than `held` (the version this device holds,
/// 0 for none).
pub fn open(key: &ItemKey, kind: &str, item: &Item, held: i64) -> Result<Opened<Value>, Refused> {
    let opened = open_bytes(key, kind, item, held)?;
    let content = serde_json::from_slice(&opened.content).map_err(|error| Refused::Unreadable(error.to_string()))?;
    Ok(Opened {
        id: opened.id,
        version: opened.version,
        updated_at: opened.updated_at,
        deleted_at: opened.deleted_at,
        content,
    })
}

/// [`open`] that leaves the content as the JSON bytes that were sealed.
pub fn open_bytes(key: &ItemKey, kind: &str, item: &Item, held: i64) -> Result<Opened<Vec<u8>>, Refused> {
    if item.version < held {
        return Err(Refused::Rollback { served: item.version, held });
    }
    let bytes = BASE64.decode(&item.sealed).map_err(|error| Refused::Unreadable(error.to_string()))?;
    let plaintext = key.0.open(ITEM_RECORD, &bytes).map_err(|error| match error {
        plico_local::RecordError::WrongKey => Refused::WrongSigner,
        other => Refused::Unreadable(other.to_string()),
    })?;
    let expected = format!("{SIGNED_PREFIX}{kind} {} {}\n", item.id, item.version);
    let Some(json) = plaintext.strip_prefix(expected.as_bytes()) else {
        let line = plaintext.split(|&byte| byte == b'\n').next().unwrap_or_default();
        return Err(Refused::Misfiled(String::from_utf8_lossy(line).chars().take(120).collect()));
    };
    Ok(Opened {
        id: item.id.clone(),
        version: item.version,
        updated_at: item.updated_at,
        deleted_at: item.deleted_at,
        content: json.to_vec(),
    })
}

/// The three-way merge of two edits of a JSON object: each field `mine` changed from `base`
/// takes `mine`'s value, every other field keeps `theirs`'. Objects nested in fields merge the
/// same way; anything else (a list, a string) is one value.
pub fn merge(base: &Value, mine: &Value, theirs: &Value) -> Value {
    match (base, mine, theirs) {
        (Value::Object(base), Value::Object(mine), Value::Object(theirs)) => {
            let mut merged = Map::new();
            let absent = Value::Null;
            let keys = mine.keys().chain(theirs.keys()).chain(base.keys());
            for key in keys {
                if merged.contains_key(key) {
                    continue;
                }
                let (b, m, t) = (base.get(key), mine.get(key), theirs.get(key));
                let value = match (b, m, t) {
                    // Unchanged here (or gone here and there): theirs.
                    (b, m, t) if b == m => t.cloned(),
                    // Removed here.
                    (Some(_), None, _) => None,
                    (b, Some(m), Some(t)) => Some(merge(b.unwrap_or(&absent), m, t)),
                    (_, Some(m), None) => Some(m.clone()),
                    (None, None, t) => t.cloned(),
                };
                if let Some(value) = value {
                    merged.insert(key.clone(), value);
                }
            }
            Value::Object(merged)
        }
        (base, mine, theirs) => {
            if mine == base {
                theirs.clone()
            } else {
                mine.clone()
            }
        }
    }
}

fn path(kind: &str, id: &str) -> String {
    format!("/items/{kind}/{id}")
}

/// Writes `content` as item `id` of `kind` over `base` (the version it was read at and its
/// content then; `None` makes a new item). When another device wrote first, reads the stored
/// version, merges field by field ([`merge`]) and writes again. Returns what was stored.
pub async fn save<T: Transport>(
    transport: &T,
    key: &ItemKey,
    kind: &str,
    id: &str,
    base: Option<(i64, &Value)>,
    content: &Value,
) -> Result<Opened<Value>, FlowError> {
    let empty = Value::Object(Map::new());
    let (mut version, mut base_content) =
        base.map_or((0, empty.clone()), |(version, content)| (version, content.clone()));
    let mut content = content.clone();
    for _ in 0..4 {
        let sealed = seal(key, kind, id, version + 1, &content)?;
        let write = ItemWrite { sealed: BASE64.encode(&sealed), version };
        match call_json::<T, _, ItemSaved>(transport, "PUT", &path(kind, id), Some(&write)).await {
            Ok(saved) => {
                return Ok(Opened {
                    id: id.to_owned(),
                    version: saved.version,
                    updated_at: saved.updated_at,
                    deleted_at: None,
                    content,
                })
            }
            Err(FlowError::Api { status: 409, code, .. }) if code == "stale_version" || code == "item_exists" => {
                let stored: Item = call_json::<T, (), _>(transport, "GET", &path(kind, id), None).await?;
                let theirs = open(key, kind, &stored, version)
                    .map_err(|why| FlowError::Protocol(format!("The stored {kind} is not used: {why}.")))?;
                content = merge(&base_content, &content, &theirs.content);
                base_content = theirs.content;
                version = theirs.version;
            }
            Err(error) => return Err(error),
        }
    }
    Err(FlowError::Protocol(format!("This {kind} kept changing on another device; try again.")))
}

/// What one sync of a kind brought: items opened, items refused (with why), ids purged.
#[derive(Debug, Default)]
pub struct Synced {
    pub cursor: i64,
    pub opened: Vec<Opened<Value>>,
    pub refused: Vec<(String, Refused)>,
    pub removed: Vec<String>,
}

/// Everything of `kind` that changed since `since`, page by page; `held` gives the version this
/// device holds of an id (0 for none), for the rollback check.
pub async fn sync<T: Transport>(
    transport: &T,
    key: &ItemKey,
    kind: &str,
    since: i64,
    held: impl Fn(&str) -> i64,
) -> Result<Synced, FlowError> {
    let mut synced = Synced { cursor: since, ..Synced::default() };
    loop {
        let page: ItemChanges =
            call_json::<T, (), _>(transport, "GET", &format!("/items/{kind}?since={}", synced.cursor), None).await?;
        for item in &page.items {
            match open(key, kind, item, held(&item.id)) {
                Ok(opened) => synced.opened.push(opened),
                Err(why) => synced.refused.push((item.id.clone(), why)),
            }
        }
        synced.removed.extend(page.removed);
        synced.cursor = page.cursor;
        if !page.more {
            return Ok(synced);
        }
    }
}

/// Moves items to the recovery area (`recover` false) or brings them back.
pub async fn set_deleted<T: Transport>(
    transport: &T,
    kind: &str,
    ids: &[String],
    recover: bool,
) -> Result<(), FlowError> {
    let verb = if recover { "recover" } else { "delete" };
    #[derive(Serialize)]
    struct Ids<'a> {
        ids: &'a [String],
    }
    for chunk in ids.chunks(1000) {
        let body = crate::flows::TransportBody {
            content_type: "application/json",
            bytes: serde_json::to_vec(&Ids { ids: chunk }).map_err(|error| FlowError::Protocol(error.to_string()))?,
            idempotency_key: None,
        };
        crate::flows::call(transport, "POST", &format!("/items/{kind}/{verb}"), Some(body)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_field_changed_here_wins_and_every_other_keeps_the_stored_value() {
        let base = json!({"name": "Ada", "phone": "1", "note": "x", "org": {"name": "A", "unit": "R&D"}});
        let mine = json!({"name": "Ada Lovelace", "phone": "1", "note": "x", "org": {"name": "A", "unit": "Maths"}});
        let theirs =
            json!({"name": "Ada", "phone": "2", "org": {"name": "B", "unit": "R&D"}, "birthday": "1815-12-10"});
        assert_eq!(
            merge(&base, &mine, &theirs),
            json!({"name": "Ada Lovelace", "phone": "2", "org": {"name": "B", "unit": "Maths"}, "birthday": "1815-12-10"}),
            "my name and unit, their phone, organisation name, birthday and removed note"
        );
    }

    #[test]
    fn both_changing_one_field_keeps_the_last_writer_and_removals_hold() {
        let base = json!({"name": "Ada", "emails": ["a@x"], "note": "n"});
        let mine = json!({"name": "Ada", "emails": ["a@x", "b@x"]});
        let theirs = json!({"name": "Ada", "emails": ["c@x"], "note": "n2"});
        assert_eq!(merge(&base, &mine, &theirs), json!({"name": "Ada", "emails": ["a@x", "b@x"]}));
        assert_eq!(merge(&json!(1), &json!(1), &json!(2)), json!(2));
        assert_eq!(merge(&json!(1), &json!(3), &json!(2)), json!(3));
    }

    #[test]
    fn an_item_opens_only_under_its_key_and_as_what_it_was_written() {
        let served = |id: &str, version: i64, sealed: &[u8]| Item {
            id: id.into(),
            version,
            sealed: BASE64.encode(sealed),
            size: sealed.len() as u64,
            updated_at: 0,
            deleted_at: None,
        };
        let key = ItemKey::new(&[1; 32], "alice@plico.test");
        let id = new_id();
        let sealed = seal(&key, "contact", &id, 2, &json!({"fn": "Ada"})).expect("sealed");
        assert!(!sealed.windows(3).any(|w| w == b"Ada"), "nothing readable");
        assert_eq!(open(&key, "contact", &served(&id, 2, &sealed), 0).expect("opens").content, json!({"fn": "Ada"}));
        let other = ItemKey::new(&[2; 32], "alice@plico.test");
        assert_eq!(open(&other, "contact", &served(&id, 2, &sealed), 0), Err(Refused::WrongSigner));
        assert!(matches!(open(&key, "contact", &served(&id, 1, &sealed), 0), Err(Refused::Misfiled(_))));
        assert_eq!(open(&key, "contact", &served(&id, 2, &sealed), 5), Err(Refused::Rollback { served: 2, held: 5 }));
        assert!(plico_api::items::check_sealed(&sealed).is_ok());
    }

    #[test]
    fn the_signed_line_names_kind_id_and_version() {
        assert_eq!(signed_plaintext("contact", "ab", 3, b"{}"), b"plico-item contact ab 3\n{}");
        let id = new_id();
        assert!(plico_api::items::is_item_id(&id), "{id}");
    }
}
