//! The search worker's protocol. The crypto worker asks, the search worker answers, as
//! postcard bytes in transferred `ArrayBuffer`s (both ends are Rust).

use serde::{Deserialize, Serialize};

use crate::index::{Document, Results};

/// What the search worker can do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SearchCommand {
    /// Opens (or creates) the account's index: `secret` is [`plico_local::LocalKey::subkey`]
    /// of the account's device key for "search".
    Open {
        #[serde(with = "serde_bytes")]
        secret: Vec<u8>,
        account: String,
    },
    /// Adds or replaces documents.
    Add(Vec<Document>),
    /// Removes documents by id.
    Remove(Vec<String>),
    /// Moves documents and sets their flags: (id, folder, flags).
    Update(Vec<(String, String, u8)>),
    /// Which of these ids are not indexed yet.
    Missing(Vec<String>),
    /// Runs a query. `folders` is (folder id, the name the user sees); messages in `hidden`
    /// folders (Trash, Spam) are left out unless the query names a folder with `in:`.
    Query { text: String, folders: Vec<(String, String)>, hidden: Vec<String>, limit: u32 },
    /// Writes what is not written yet.
    Flush,
    /// Drops the index from memory (sign-out); what is stored stays, sealed.
    Close,
    /// Removes every document of a folder: the contacts worker's first word in a session, before
    /// it adds the contacts as they are now (so a contact deleted elsewhere leaves the index).
    RemoveFolder(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchRequest {
    pub id: u32,
    pub command: SearchCommand,
}

/// The index as it stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexStatus {
    pub documents: u32,
    /// The oldest indexed document's date: "searchable back to".
    pub oldest: Option<i64>,
    /// Bytes of sealed records stored.
    pub stored_bytes: u64,
    /// The browser refused to store more: older mail stays unindexed until space frees up.
    pub out_of_space: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SearchOutcome {
    Status(IndexStatus),
    Missing(Vec<String>),
    Results(Results),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchReply {
    pub id: u32,
    /// The error is a sentence for the user.
    pub result: Result<SearchOutcome, String>,
}
