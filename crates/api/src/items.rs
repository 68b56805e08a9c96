//! Sealed items: every kind of the user's data other than mail (contacts and contact groups
//! first, calendar events and documents later), kept by the server as ciphertext in one generic
//! store. An item is named by its kind and an id its client chose; the server keeps the sealed
//! bytes, their size, a version, the account's change counter and times, and nothing else.
//!
//! A new kind needs no new table and no new endpoint: the kind is a path segment
//! (`/api/v1/items/{kind}`), checked against [`is_kind`] only.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The largest sealed item, in bytes: a contact with its photo (resized in the browser) or an
/// event with its attendees fits many times over; a document's content goes to blobs.
pub const MAX_ITEM_BYTES: usize = 512 * 1024;

/// The version byte that starts a sealed item: `1 || nonce (24) || ciphertext || tag (16)`,
/// XChaCha20-Poly1305 under the account's item key (`plico_client::items`).
pub const SEALED_ITEM_VERSION: u8 = 1;
/// The smallest sealed item: the version byte, the nonce and the tag.
pub const MIN_SEALED_ITEM_BYTES: usize = 1 + 24 + 16;

/// Whether `sealed` has the shape of a sealed item. The server cannot open one (only the
/// account's devices hold the key), so it checks what it can: content that is not sealed this
/// way (plain JSON, an OpenPGP message) is refused with what is wrong.
pub fn check_sealed(sealed: &[u8]) -> Result<(), String> {
    match sealed.first() {
        None => Err("it is empty".into()),
        Some(&version) if version != SEALED_ITEM_VERSION => Err(format!(
            "it does not start with the sealed-item version byte {SEALED_ITEM_VERSION} (it starts with {version})"
        )),
        _ if sealed.len() < MIN_SEALED_ITEM_BYTES => Err(format!(
            "it is {} bytes, shorter than the smallest sealed item ({MIN_SEALED_ITEM_BYTES})",
            sealed.len()
        )),
        _ => Ok(()),
    }
}

/// The most items one sync page carries; `more` says another page follows.
pub const MAX_ITEM_PAGE: u32 = 1000;

/// Whether `kind` names a kind of item: a lowercase letter, then up to 31 lowercase letters,
/// digits or hyphens (`contact`, `contact-group`, `event`).
pub fn is_kind(kind: &str) -> bool {
    let bytes = kind.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 32
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|&byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

/// Whether `id` has the shape of an item id: 128 random bits as 32 lowercase hex digits.
pub fn is_item_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

/// An item as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Item {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
    pub id: String,
    /// Starts at 1 and grows by one with every write of its content.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub version: i64,
    /// The sealed bytes, base64: an OpenPGP message the owner signed and encrypted to itself.
    #[cfg_attr(feature = "openapi", schema(format = "openpgp-message"))]
    pub sealed: String,
    /// The sealed bytes' length.
    pub size: u64,
    /// Unix seconds of the last write.
    pub updated_at: i64,
    /// Set while the item is in the recovery area (deleted, recoverable for 45 days).
    pub deleted_at: Option<i64>,
}

/// What changed among the items of one kind since a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ItemChanges {
    /// Pass this as `since` next time.
    pub cursor: i64,
    /// True when more changes wait: ask again at once with `since = cursor`.
    pub more: bool,
    /// Items written, deleted to the recovery area or recovered, oldest change first.
    pub items: Vec<Item>,
    /// Ids of items purged for good.
    pub removed: Vec<String>,
}

/// A write of an item's content: what a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ItemWrite {
    /// The item sealed under the account's item key (see [`check_sealed`]), base64; at most
    /// 512 KiB before base64.
    #[cfg_attr(feature = "openapi", schema(format = "sealed-item", max_length = 699_052))]
    pub sealed: String,
    /// The version this write replaces: 0 makes a new item; a stale one is refused (409).
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub version: i64,
}

/// The answer to a write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ItemSaved {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
    pub id: String,
    /// The item's version now.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub version: i64,
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_short_lowercase_names() {
        for good in ["contact", "contact-group", "event", "a", "doc2"] {
            assert!(is_kind(good), "{good}");
        }
        for bad in ["", "Contact", "2doc", "-x", "con tact", "contact/1", &"x".repeat(33), "é"] {
            assert!(!is_kind(bad), "{bad}");
        }
    }

    #[test]
    fn ids_are_32_lowercase_hex_digits() {
        assert!(is_item_id("0123456789abcdef0123456789abcdef"));
        assert!(!is_item_id("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_item_id("0123456789abcdef0123456789abcde"));
    }
}
