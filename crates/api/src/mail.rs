//! Wire types for encrypted mail: folders, messages, flags and sync.
//!
//! The server sees only what these types carry in the clear: opaque ids, folder ids, flags,
//! sizes, times and blob names. Subjects, senders, snippets and user folder names travel sealed
//! (OpenPGP messages the client encrypted), as base64.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A system folder's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FolderRole {
    Inbox,
    Drafts,
    Sent,
    Archive,
    Spam,
    Trash,
}

impl FolderRole {
    pub const ALL: [FolderRole; 6] = [
        FolderRole::Inbox,
        FolderRole::Drafts,
        FolderRole::Sent,
        FolderRole::Archive,
        FolderRole::Spam,
        FolderRole::Trash,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FolderRole::Inbox => "inbox",
            FolderRole::Drafts => "drafts",
            FolderRole::Sent => "sent",
            FolderRole::Archive => "archive",
            FolderRole::Spam => "spam",
            FolderRole::Trash => "trash",
        }
    }

    pub fn parse(text: &str) -> Option<FolderRole> {
        FolderRole::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

/// Message flags, as a bit set.
pub mod flags {
    pub const SEEN: u32 = 1;
    pub const STARRED: u32 = 2;
    pub const ANSWERED: u32 = 4;
    pub const FORWARDED: u32 = 8;
    /// Every flag a client may set or clear; others are refused.
    pub const ALL: u32 = SEEN | STARRED | ANSWERED | FORWARDED;
    /// Set by the server on mail it took from the Internet over SMTP, never by a client: the
    /// Authentication-Results header on top of such a message is the server's own.
    pub const FROM_INTERNET: u32 = 1 << 16;
}

/// A folder with its counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Folder {
    pub id: String,
    /// Set for system folders.
    pub role: Option<FolderRole>,
    /// Set for user folders: the name, encrypted by the client to its own key, base64.
    pub sealed_name: Option<String>,
    pub total: u32,
    pub unread: u32,
}

/// Creates or renames a user folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FolderName {
    /// The new name, encrypted by the client to its own key, base64.
    #[cfg_attr(feature = "openapi", schema(format = "openpgp-message"))]
    pub sealed_name: String,
}

/// What a blob upload answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StoredBlob {
    /// SHA-256 of the bytes, lowercase hex: the blob's name.
    pub hash: String,
    pub size: u64,
}

/// Files a message the client already uploaded as a blob (a draft, a sent copy, an import).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
    pub folder_id: String,
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub blob_hash: String,
    /// Must equal the blob's size (409 when it does not).
    pub size: u64,
    /// The encrypted summary (subject, sender, date, snippet) as an OpenPGP message, base64.
    #[cfg_attr(feature = "openapi", schema(format = "openpgp-message"))]
    pub sealed_summary: String,
    /// Bits of [`flags::ALL`].
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 15))]
    pub flags: u32,
    /// When the message was received, Unix seconds: an imported message keeps its own date.
    /// The server's clock when absent, in the future or not positive.
    #[serde(default)]
    pub received_at: Option<i64>,
}

/// A message's metadata as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct MessageMeta {
    pub id: String,
    pub folder_id: String,
    pub flags: u32,
    pub size: u64,
    /// Unix seconds.
    pub received_at: i64,
    pub blob_hash: String,
    pub sealed_summary: String,
    /// Set when deleted from Trash: the message is recoverable until `deleted_at` + 45 days.
    pub deleted_at: Option<i64>,
    /// On mail from another Plico user: the sender's address, as this server authenticated it
    /// (the From inside the message is the sender's to write).
    #[serde(default)]
    pub sender: Option<String>,
}

/// A change to several messages at once (a multi-selection).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MessageUpdate {
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000, inline, value_type = Vec<MessageId>))]
    pub ids: Vec<String>,
    /// Move to this folder.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
    pub folder_id: Option<String>,
    /// Bits of [`flags::ALL`] to set.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 15))]
    pub add_flags: u32,
    /// Bits of [`flags::ALL`] to clear.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 15))]
    pub remove_flags: u32,
}

/// Sends an uploaded message: a copy goes to each Plico recipient's Inbox and one to the
/// sender's Sent folder, and each outside package joins the outbound queue. The server learns
/// the recipients' addresses, which delivery needs, and for Plico recipients nothing else.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// Every envelope recipient on this server (To, Cc and Bcc alike). May be empty when the
    /// message goes only outside.
    #[cfg_attr(feature = "openapi", schema(max_items = 100, inline, value_type = Vec<MailAddress>))]
    pub recipients: Vec<String>,
    /// Mail for addresses on other servers, as it is to leave.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 2))]
    pub external: Vec<ExternalPackage>,
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub blob_hash: String,
    pub size: u64,
    /// The summary, encrypted to every recipient and to the sender, base64.
    #[cfg_attr(feature = "openapi", schema(format = "openpgp-message"))]
    pub sealed_summary: String,
    /// The draft this message was written in: it is removed in the same transaction.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
    pub draft_id: Option<String>,
}

/// One message for recipients on other servers, exactly as it is to be transmitted: PGP/MIME
/// encrypted to them when their keys are known, otherwise signed (and then readable by this
/// server while it sends it, as the composer tells the sender). Its From must be the sender's
/// own address, and it carries no Bcc field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExternalPackage {
    /// The envelope recipients this copy is for.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 100, inline, value_type = Vec<MailAddress>))]
    pub recipients: Vec<String>,
    /// The RFC 5322 message, base64.
    #[cfg_attr(feature = "openapi", schema(format = "rfc5322-message"))]
    pub message: String,
}

/// A new version of a draft: the blob and summary replace the old ones in place.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DraftVersion {
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub blob_hash: String,
    /// Must equal the blob's size (409 when it does not).
    pub size: u64,
    /// The encrypted summary, base64.
    #[cfg_attr(feature = "openapi", schema(format = "openpgp-message"))]
    pub sealed_summary: String,
}

/// What sending did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SendReceipt {
    /// The sender's copy, in Sent.
    pub sent: MessageMeta,
    /// How many mailboxes here received it.
    pub delivered: u32,
    /// How many outside recipients it is queued for.
    #[serde(default)]
    pub queued: u32,
}

/// The largest message import takes, in bytes: the SMTP listener's own limit, so that what
/// could arrive by mail can arrive by import (and its encrypted form fits the blob limit).
pub const MAX_IMPORT_MESSAGE_BYTES: usize = 40 * 1024 * 1024;

/// The most recipients one message may have.
pub const MAX_RECIPIENTS: usize = 100;

/// The most outside packages one send carries: the encrypted one and the signed one.
pub const MAX_EXTERNAL_PACKAGES: usize = 2;

/// Messages named by id, for delete and recover.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MessageIds {
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000, inline, value_type = Vec<MessageId>))]
    pub ids: Vec<String>,
}

/// Messages whose sealed summaries to fetch: at most [`MAX_SUMMARY_IDS`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SummaryIds {
    #[cfg_attr(feature = "openapi", schema(max_items = 500, inline, value_type = Vec<MessageId>))]
    pub ids: Vec<String>,
}

/// A message's id, as the server made it.
#[cfg(feature = "openapi")]
#[derive(ToSchema)]
#[schema(pattern = "^[0-9a-f]{32}$")]
pub struct MessageId(#[allow(dead_code)] String);

/// A mail address.
#[cfg(feature = "openapi")]
#[derive(ToSchema)]
#[schema(format = "email")]
pub struct MailAddress(#[allow(dead_code)] String);

/// The most ids one `POST /api/v1/summaries` takes.
pub const MAX_SUMMARY_IDS: usize = 500;

/// One message's sealed summary, from `POST /api/v1/summaries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SealedSummary {
    pub id: String,
    /// The encrypted summary, base64.
    pub sealed_summary: String,
}

/// Everything that changed since a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SyncChanges {
    /// Pass this as `since` next time.
    pub cursor: i64,
    /// Folders created or changed, with current counts.
    pub folders: Vec<Folder>,
    /// Messages created or changed (moved, flagged, deleted to the recovery area, recovered).
    pub messages: Vec<MessageMeta>,
    /// Ids of messages purged for good.
    pub removed_messages: Vec<String>,
    /// Ids of folders deleted.
    pub removed_folders: Vec<String>,
}

/// How many days a message deleted from Trash stays recoverable.
pub const RECOVERY_DAYS: i64 = 45;
