//! The contacts worker's protocol (`plico-contacts`, started by the crypto worker the first time
//! contacts are used). The Contacts app and the mail app's composer and reader send a
//! [`ContactsRequest`] as postcard bytes inside `WorkerCommand::Contacts`; the crypto worker
//! hands them on without reading them and gives back the worker's [`ContactsReply`] bytes in
//! `WorkerOutcome::Contacts`. So a new contacts command changes this module, the contacts
//! worker and the app, and never the crypto worker.
//!
//! Everything here is plaintext that only ever crosses between the user's own page and
//! workers; the server sees contacts only as sealed items (`crate::items`).

use serde::{Deserialize, Serialize};

/// A command, with the id its reply carries first (postcard's leading varint, which the crypto
/// worker's nested-worker channel reads).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContactsRequest {
    pub id: u32,
    pub command: ContactsCommand,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ContactsCommand {
    /// The composer's suggestions for what the user typed: contacts' addresses and groups.
    /// (This variant and the next two are [`MailContactsCommand`]'s, in the same places.)
    Complete { typed: String, limit: u32 },
    /// "Add to contacts" from the reader: a contact for `address`, unless one has it already.
    AddAddress { name: String, address: String },
    /// The contacts (all when `ids` is empty) as one vCard 4 file.
    Export { ids: Vec<String> },
    /// Every contact, after a sync with the server: in the address book, or (`deleted`) in the
    /// recovery area.
    List { deleted: bool },
    /// One contact's fields, for its page and the editor.
    Get { id: String },
    /// Creates (`id` None) or changes a contact. The fields replace those the editor shows; every
    /// other property of the card (unknown ones included) is kept. `original`: the fields the
    /// editor opened with, so that only what the user changed is written when the contact changed
    /// meanwhile (on another device): the other fields keep their newer values.
    Save { id: Option<String>, fields: Box<ContactFields>, original: Option<Box<ContactFields>> },
    /// Moves contacts to the recovery area (45 days), or back (`recover`).
    Delete { ids: Vec<String>, recover: bool },
    /// Reads a .vcf file (vCard 2.1, 3 or 4, many cards) and saves each card as a contact.
    Import { vcf: String },
    /// Merges contacts into the first of `ids`: names and fields of the first win, addresses,
    /// phones, groups and notes of the others are added; the others go to the recovery area.
    Merge { ids: Vec<String> },
    /// The keys kept for the account's correspondents (the keyring), which a contact's page
    /// shows for its addresses. Answered by the crypto worker itself, not the contacts worker:
    /// the keyring is sealed to the account's OpenPGP key, which only the crypto worker holds
    /// ([`KEYS_TAG`]).
    Keys,
    /// Marks verified the key kept for `address`, if it is still the one with `fingerprint`
    /// (the user compared that one with its owner); answers [`ContactsOutcome::Keys`]. Answered
    /// by the crypto worker ([`VERIFY_KEY_TAG`]).
    VerifyKey { address: String, fingerprint: String },
    /// `Export`, as the crypto worker passes it on: with the keyring (its JSON, as it is sealed,
    /// without the item secret: [`KeptKeys`]), whose keys the file carries as vCard `KEY`s of the
    /// contacts with their addresses ([`EXPORT_TAG`]).
    ExportWithKeys { ids: Vec<String>, keyring: String },
    /// What this device's search index must change so that it holds the contacts as they are:
    /// search commands (`plico_search::protocol::SearchCommand`, postcard bytes), which the crypto
    /// worker hands the search worker in order ([`INDEX_TAG`]). The first in a session clears the
    /// contacts folder and adds every contact; later ones add what changed and remove what went.
    IndexDocs,
    /// The key `address`'s domain publishes (WKD), looked up from the browser: straight from the
    /// domain when its CORS lets the contacts worker read the answer (the WKD draft asks domains
    /// for `Access-Control-Allow-Origin: *`), else through the server (`/keys/outside`). The
    /// crypto worker asks it when the user writes to an outside address with no kept key;
    /// answers [`ContactsOutcome::LookedUp`] ([`LOOK_UP_KEY_TAG`]).
    LookUpKey { address: String },
    /// "Look up key" on a contact's page: the key Plico's directory (an address at this server)
    /// or the address's domain (WKD, [`ContactsCommand::LookUpKey`]) gives, kept as the first
    /// seen when no key is kept for the address; a kept key is never replaced this way. Answers
    /// [`ContactsOutcome::Keys`]. Answered by the crypto worker ([`FIND_KEY_TAG`]).
    FindKey { address: String },
    /// A `crate::calendar::CalendarCommand` in postcard bytes, for the calendar worker, which the
    /// contacts worker starts (a worker of its own) and hands the item key. The reply is the
    /// calendar worker's `CalendarReply`, its bytes as they are ([`CALENDAR_TAG`]).
    Calendar(#[serde(with = "serde_bytes")] Vec<u8>),
}

/// [`ContactsCommand::Calendar`]'s index on the wire, which the mail app writes by hand.
pub const CALENDAR_TAG: u8 = 15;

/// [`ContactsCommand::FindKey`]'s index on the wire (see [`KEYS_TAG`]).
pub const FIND_KEY_TAG: u8 = 14;

/// Where trunk writes the contacts worker's loader (under its binary's name): the crypto worker
/// starts it from here, and the server serves it with a policy that lets it look keys up at
/// other domains ([`ContactsCommand::LookUpKey`]).
pub const WORKER_URL: &str = "/plico-contacts_loader.js";

/// [`ContactsCommand::LookUpKey`]'s index on the wire, which the crypto worker writes by hand.
pub const LOOK_UP_KEY_TAG: u8 = 13;
/// [`ContactsOutcome::LookedUp`]'s index on the wire: the crypto worker reads the reply as
/// `(id, Ok, this, Option<bytes>)`.
pub const LOOKED_UP_TAG: u8 = 10;

/// [`ContactsCommand::IndexDocs`]'s index on the wire, which the crypto worker writes by hand
/// before a search.
pub const INDEX_TAG: u8 = 12;
/// [`ContactsOutcome::IndexDocs`]'s index on the wire: the crypto worker reads the reply as
/// `(id, Ok, this, the commands)`.
pub const INDEX_OUTCOME_TAG: u8 = 9;

/// The keyring's JSON as [`ContactsCommand::ExportWithKeys`] reads it (`plico_client::keyring`
/// writes it; fields it has and this lacks are skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptKeys {
    pub keys: Vec<KeptKey>,
}

/// A key the keyring keeps for an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptKey {
    pub address: String,
    /// Uppercase hex.
    pub fingerprint: String,
    /// The armored certificate.
    pub cert: String,
    /// `directory`, `wkd`, `imported` or `autocrypt`.
    pub source: String,
    #[serde(default)]
    pub verified: bool,
}

/// [`ContactsCommand::Export`]'s index on the wire: the crypto worker passes it on as
/// [`ContactsCommand::ExportWithKeys`] ([`EXPORT_WITH_KEYS_TAG`]), its fields followed by the keys.
pub const EXPORT_TAG: u8 = 2;
/// [`ContactsCommand::ExportWithKeys`]'s index on the wire.
pub const EXPORT_WITH_KEYS_TAG: u8 = 11;

/// [`ContactsCommand::Keys`]'s index on the wire: the crypto worker reads this one byte of a
/// command and answers it itself instead of passing it on.
pub const KEYS_TAG: u8 = 9;
/// [`ContactsCommand::VerifyKey`]'s index on the wire (see [`KEYS_TAG`]).
pub const VERIFY_KEY_TAG: u8 = 10;
/// [`ContactsOutcome::Keys`]'s index on the wire: the crypto worker writes the reply as
/// `id, Ok (0), this, the entries`.
pub const KEYS_OUTCOME_TAG: u8 = 8;

/// A value with its label (vCard `TYPE`: `home`, `work`, `cell`, or empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labeled {
    pub label: String,
    pub value: String,
}

/// A postal address (vCard `ADR`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    pub label: String,
    pub street: String,
    pub locality: String,
    pub region: String,
    pub postcode: String,
    pub country: String,
}

/// What the contact editor shows and changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactFields {
    /// The name as shown (`FN`).
    pub name: String,
    pub given: String,
    pub family: String,
    pub emails: Vec<Labeled>,
    pub phones: Vec<Labeled>,
    pub addresses: Vec<PostalAddress>,
    pub organization: String,
    pub title: String,
    /// `YYYY-MM-DD`, or `--MM-DD` without the year; empty for none.
    pub birthday: String,
    pub note: String,
    /// A small JPEG as a `data:` URL (the app resizes what the user picks), or empty.
    pub photo: String,
    pub groups: Vec<String>,
}

/// A contact in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRow {
    pub id: String,
    pub name: String,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub organization: Option<String>,
    pub groups: Vec<String>,
    pub has_photo: bool,
    /// In the recovery area since (Unix seconds).
    pub deleted_at: Option<i64>,
}

/// One suggestion of the composer's autocomplete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SuggestionView {
    Address {
        name: String,
        address: String,
    },
    /// A group: writing to it writes to each member's address.
    Group {
        name: String,
        addresses: Vec<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ContactsOutcome {
    /// (This variant and the next two are [`MailContactsOutcome`]'s, in the same places.)
    Suggestions(Vec<SuggestionView>),
    /// `AddAddress`: the contact that has the address, and whether it was made now.
    Added {
        id: String,
        created: bool,
    },
    Exported {
        vcf: String,
        count: u32,
    },
    /// Sorted by name. `refused`: contacts that were not shown because they did not open as
    /// the account's own (changed on the server, or written with another key), with why.
    Rows {
        rows: Vec<ContactRow>,
        refused: Vec<String>,
    },
    Contact {
        id: String,
        fields: Box<ContactFields>,
        updated_at: i64,
        deleted_at: Option<i64>,
    },
    Saved {
        id: String,
    },
    Done,
    /// `problems`: one sentence per card that could not be read, naming it.
    Imported {
        saved: u32,
        problems: Vec<String>,
    },
    /// The keyring, by address (`Keys`, `VerifyKey`).
    Keys(Vec<crate::worker::KeyringEntry>),
    /// `IndexDocs`: the search commands, each in postcard bytes.
    IndexDocs(Vec<serde_bytes::ByteBuf>),
    /// `LookUpKey`: the certificate as published (binary or armored; not yet checked), or `None`
    /// when the domain publishes none for the address.
    LookedUp(Option<serde_bytes::ByteBuf>),
}

/// The reply to [`ContactsRequest`] `id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContactsReply {
    pub id: u32,
    pub result: Result<ContactsOutcome, String>,
}

/// The part of the protocol the mail app uses (the composer's suggestions, the reader's "Add to
/// contacts" and the data export's contacts file): the first variants of [`ContactsCommand`] and [`ContactsOutcome`], which
/// postcard writes identically (a variant is its index, then its fields), so the mail app
/// carries the serde code of these two and not of the whole protocol. A test holds them equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailContactsCommand {
    Complete { typed: String, limit: u32 },
    AddAddress { name: String, address: String },
    Export { ids: Vec<String> },
}

/// See [`MailContactsCommand`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailContactsOutcome {
    Suggestions(Vec<SuggestionView>),
    Added { id: String, created: bool },
    Exported { vcf: String, count: u32 },
}

/// [`ContactsReply`] as the mail app reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MailContactsReply {
    pub id: u32,
    pub result: Result<MailContactsOutcome, String>,
}

/// What the crypto worker hands the contacts worker when it starts it (a message that leads
/// with id 0): whose contacts, the account's item secret (`plico_client::items::ItemKey`), and
/// the key of this device's copy.
#[derive(Serialize, Deserialize)]
pub struct ContactsKey {
    pub id: u32,
    pub account: String,
    #[serde(with = "serde_bytes")]
    pub secret: Vec<u8>,
    /// This device's key for the contacts' copy in IndexedDB (`LocalKey::subkey("contacts")` of
    /// the device key), when the device keeps one.
    pub device: Option<serde_bytes::ByteBuf>,
}

impl std::fmt::Debug for ContactsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContactsKey").field("account", &self.account).finish_non_exhaustive()
    }
}

#[cfg(all(test, feature = "wire"))]
mod tests {
    use super::*;

    fn bytes<T: Serialize>(value: &T) -> Vec<u8> {
        postcard::to_allocvec(value).expect("encodes")
    }

    #[test]
    fn a_calendar_command_is_its_tag_its_length_and_its_bytes() {
        let inner = vec![7u8; 200];
        let mut by_hand = vec![CALENDAR_TAG];
        by_hand.extend(bytes(&inner.len()));
        by_hand.extend(&inner);
        assert_eq!(bytes(&ContactsCommand::Calendar(inner)), by_hand);
    }

    #[test]
    fn the_commands_the_crypto_worker_answers_are_where_it_looks() {
        assert_eq!(bytes(&ContactsCommand::Keys), [KEYS_TAG]);
        let verify = ContactsCommand::VerifyKey { address: "ada@example.org".into(), fingerprint: "AB".into() };
        let verify = bytes(&verify);
        assert_eq!(verify[0], VERIFY_KEY_TAG);
        // The crypto worker reads the fields after the tag as a pair.
        let pair: (String, String) = postcard::from_bytes(&verify[1..]).expect("reads");
        assert_eq!(pair, ("ada@example.org".to_owned(), "AB".to_owned()));
        // And writes the reply by hand: the id, `Ok`, the outcome's tag, the entries.
        let entries = vec![crate::worker::KeyringEntry {
            address: "ada@example.org".into(),
            fingerprint: "AB".into(),
            source: crate::worker::KeyringSource::Wkd,
            updated_at: 5,
            verified: true,
        }];
        let mut by_hand = bytes(&3u32);
        by_hand.extend([0, KEYS_OUTCOME_TAG]);
        by_hand.extend(bytes(&entries));
        let reply: ContactsReply = postcard::from_bytes(&by_hand).expect("reads");
        assert_eq!(reply.id, 3);
        assert!(matches!(reply.result, Ok(ContactsOutcome::Keys(read)) if read == entries));
    }

    #[test]
    fn the_index_command_and_its_reply_are_where_the_crypto_worker_looks() {
        assert_eq!(bytes(&ContactsCommand::IndexDocs), [INDEX_TAG]);
        let commands = vec![serde_bytes::ByteBuf::from(vec![9, 1]), serde_bytes::ByteBuf::from(vec![2])];
        let reply = bytes(&ContactsReply { id: 300, result: Ok(ContactsOutcome::IndexDocs(commands.clone())) });
        // As the crypto worker reads it (postcard writes bytes as it writes a `Vec<u8>`).
        let read: (u32, u8, u8, Vec<Vec<u8>>) = postcard::from_bytes(&reply).expect("reads");
        assert_eq!(read, (300, 0, INDEX_OUTCOME_TAG, commands.into_iter().map(|c| c.into_vec()).collect()));
    }

    #[test]
    fn find_key_is_where_the_crypto_worker_looks() {
        let find = bytes(&ContactsCommand::FindKey { address: "erik@example.org".into() });
        assert_eq!(find[0], FIND_KEY_TAG);
        let address: String = postcard::from_bytes(&find[1..]).expect("reads");
        assert_eq!(address, "erik@example.org");
    }

    #[test]
    fn the_key_lookup_and_its_reply_are_where_the_crypto_worker_looks() {
        let command = bytes(&ContactsCommand::LookUpKey { address: "erik@example.org".into() });
        // Written by hand: the tag, then the address as postcard writes a string.
        let mut by_hand = vec![LOOK_UP_KEY_TAG];
        by_hand.extend(bytes(&"erik@example.org"));
        assert_eq!(command, by_hand);
        let found = bytes(&ContactsReply {
            id: 200,
            result: Ok(ContactsOutcome::LookedUp(Some(serde_bytes::ByteBuf::from(vec![0x99, 1, 2])))),
        });
        let read: (u32, u8, u8, Option<Vec<u8>>) = postcard::from_bytes(&found).expect("reads");
        assert_eq!(read, (200, 0, LOOKED_UP_TAG, Some(vec![0x99, 1, 2])));
        let none = bytes(&ContactsReply { id: 1, result: Ok(ContactsOutcome::LookedUp(None)) });
        assert_eq!(none, [1, 0, LOOKED_UP_TAG, 0]);
        let failed = bytes(&ContactsReply { id: 1, result: Err("offline".into()) });
        let read: (u32, u8, String) = postcard::from_bytes(&failed).expect("reads");
        assert_eq!(read, (1, 1, "offline".to_owned()));
    }

    #[test]
    fn an_export_with_the_keyring_appended_is_an_export_with_keys() {
        let ids = vec!["a".to_owned(), "b".to_owned()];
        let export = bytes(&ContactsCommand::Export { ids: ids.clone() });
        assert_eq!(export[0], EXPORT_TAG);
        let keyring = r#"{"keys":[{"address":"ada@example.org","cert":"armored","fingerprint":"AB","source":"wkd","updated_at":5}]}"#;
        // What the crypto worker does: the new tag, the export's fields, the keyring's JSON.
        let mut spliced = vec![EXPORT_WITH_KEYS_TAG];
        spliced.extend_from_slice(&export[1..]);
        spliced.extend(bytes(&keyring));
        assert_eq!(spliced, bytes(&ContactsCommand::ExportWithKeys { ids, keyring: keyring.into() }));
        let read: KeptKeys = serde_json::from_str(keyring).expect("reads");
        assert_eq!(
            read.keys,
            [KeptKey {
                address: "ada@example.org".into(),
                fingerprint: "AB".into(),
                cert: "armored".into(),
                source: "wkd".into(),
                verified: false
            }]
        );
    }

    #[test]
    fn the_mail_apps_part_is_the_protocol_on_the_wire() {
        let typed = || ("ad".to_owned(), 8);
        assert_eq!(
            bytes(&MailContactsCommand::Complete { typed: typed().0, limit: typed().1 }),
            bytes(&ContactsCommand::Complete { typed: typed().0, limit: typed().1 })
        );
        let add = || ("Ada".to_owned(), "ada@example.org".to_owned());
        assert_eq!(
            bytes(&MailContactsCommand::AddAddress { name: add().0, address: add().1 }),
            bytes(&ContactsCommand::AddAddress { name: add().0, address: add().1 })
        );
        let suggestions = || {
            vec![
                SuggestionView::Address { name: "Ada".into(), address: "ada@example.org".into() },
                SuggestionView::Group { name: "Friends".into(), addresses: vec!["b@example.org".into()] },
            ]
        };
        let reply = bytes(&ContactsReply { id: 7, result: Ok(ContactsOutcome::Suggestions(suggestions())) });
        let read: MailContactsReply = postcard::from_bytes(&reply).expect("reads");
        assert_eq!((read.id, read.result), (7, Ok(MailContactsOutcome::Suggestions(suggestions()))));
        let added =
            bytes(&ContactsReply { id: 8, result: Ok(ContactsOutcome::Added { id: "x".into(), created: true }) });
        let read: MailContactsReply = postcard::from_bytes(&added).expect("reads");
        assert_eq!(read.result, Ok(MailContactsOutcome::Added { id: "x".into(), created: true }));
        assert_eq!(
            bytes(&MailContactsCommand::Export { ids: vec!["a".into()] }),
            bytes(&ContactsCommand::Export { ids: vec!["a".into()] })
        );
        let exported =
            bytes(&ContactsReply { id: 3, result: Ok(ContactsOutcome::Exported { vcf: "V".into(), count: 1 }) });
        let read: MailContactsReply = postcard::from_bytes(&exported).expect("reads");
        assert_eq!(read.result, Ok(MailContactsOutcome::Exported { vcf: "V".into(), count: 1 }));
        let failed = bytes(&ContactsReply { id: 9, result: Err("locked".into()) });
        let read: MailContactsReply = postcard::from_bytes(&failed).expect("reads");
        assert_eq!(read.result, Err("locked".into()));
        let other = bytes(&ContactsReply { id: 1, result: Ok(ContactsOutcome::Done) });
        assert!(
            postcard::from_bytes::<MailContactsReply>(&other).is_err(),
            "another outcome does not read as the mail app's"
        );
    }
}
