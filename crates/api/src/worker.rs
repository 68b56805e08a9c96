//! The typed messages between the UI thread and the crypto worker.
//!
//! The UI posts a [`WorkerRequest`] with an id; the worker answers with zero or more
//! [`WorkerEvent::Progress`] events and exactly one `Done` or `Failed` event for that id.
//! Messages travel as postcard bytes in a transferred `ArrayBuffer` through `postMessage`
//! ([`encode`], [`decode`]): attachments are bytes, and a JSON array of numbers for 25 MiB is
//! neither small nor fast. postcard is not self-describing, so these types use no
//! `skip_serializing_if`, `flatten` or untagged enums.

use serde::{Deserialize, Serialize};

/// What the UI asks the worker to do, grouped by feature: each feature has its own command
/// enum here and its own module on both sides (the worker's `session.rs`, `mail.rs`, `keys.rs`,
/// `search.rs`, `privacy.rs`, `transfer.rs`), so a new feature adds a variant and a module
/// rather than growing one switchboard. Each feature's enum converts into this one, so a call
/// reads `worker.call(MailCommand::Outbox, …)`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerCommand {
    Session(SessionCommand),
    Mail(MailCommand),
    Keys(KeysCommand),
    Search(SearchCommand),
    Privacy(PrivacyCommand),
    Transfer(TransferCommand),
    /// A [`crate::contacts::ContactsRequest`] in postcard bytes, for the contacts worker: the
    /// crypto worker hands it on unread and answers [`WorkerOutcome::Contacts`].
    Contacts(#[serde(with = "serde_bytes")] Vec<u8>),
}

/// Signing in and out, and what this device keeps for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionCommand {
    /// Register with OPAQUE, make the OpenPGP certificate, seal its secret and upload both.
    /// `recovery_address`: optional, outside this server, for notices.
    Signup { name: String, password: String, recovery_address: Option<String> },
    /// Log in with OPAQUE and unlock the secret key into the worker's memory. `reopen` reopens
    /// an account its owner closed (within the reopening period). `keep_offline`: keep (or
    /// renew) this device's own way in, so the password unlocks here when the server cannot be
    /// reached; false deletes it (`plico_client::device_unlock`). Without the network, a
    /// device that kept one unlocks from it ([`UnlockedIdentity::offline`]).
    /// `keep_signed_in`: "Keep me signed in" (a cookie that outlives the browser, no idle
    /// timeout). An account with a second factor answers [`WorkerOutcome::SecondFactorRequired`]
    /// and waits for [`SessionCommand::SecondFactor`].
    Login { address: String, password: String, reopen: bool, keep_offline: bool, keep_signed_in: bool },
    /// Finish the sign-in waiting for its second factor: an authenticator code, a recovery code,
    /// or a passkey's credential (its `toJSON()` text). A wrong one leaves it waiting for the
    /// tries the answer says are left.
    SecondFactor { kind: crate::security::SecondFactorKind, code: String },
    /// Prove the password again for this session (`plico_client::flows::reauthenticate`), so
    /// that for five minutes it may make the changes that ask for it.
    Reauthenticate { password: String },
    /// Change the password (after a re-authentication): a new OPAQUE registration and the
    /// secret key sealed anew, in the keys worker; this device's own way in offline, if it keeps
    /// one, is made again under the new password. `sign_out_others` ends every other session.
    ChangePassword { password: String, sign_out_others: bool },
    /// Change the account's keys (postcard of a [`crate::security::KeyCommand`], which the mail
    /// app passes on from the Settings app unread): the keys worker makes or imports the key,
    /// or signs the revocation; a new primary key replaces this session's. Answered with
    /// [`WorkerOutcome::Reauthenticated`].
    AccountKeys(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Whether this device keeps a way in offline for `address` ([`WorkerOutcome::DeviceKept`]).
    DeviceKept { address: String },
    /// Forget the secret key and every other secret held in memory.
    Lock,
    /// Lock, and delete everything Plico keeps on this device (the sealed mailbox cache).
    ForgetDevice,
}

impl From<SessionCommand> for WorkerCommand {
    fn from(command: SessionCommand) -> Self {
        WorkerCommand::Session(command)
    }
}

/// The mailbox: sync, reading, writing, folders and the Outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailCommand {
    /// Fetch what changed since `since` and open the newest summaries of each folder. With
    /// `since: 0` the answer is the whole mailbox (the device's saved copy brought up to date).
    SyncMailbox { since: i64 },
    /// Open the sealed summaries of these synced messages.
    OpenSummaries { ids: Vec<String> },
    /// Download, decrypt, verify and parse one message.
    OpenMessage { id: String },
    /// Encrypt and send a message to Plico users.
    Send(OutgoingMessage),
    /// Save the message being written as a draft, encrypted to the user's own key (a new draft,
    /// or a new version of `draft_id`).
    SaveDraft(OutgoingMessage),
    /// The bytes of an attachment of the message opened last.
    Attachment { message_id: String, index: u32 },
    /// Create a user folder; its name is sealed to the user's own key.
    CreateFolder { name: String },
    /// Rename a user folder.
    RenameFolder { folder_id: String, name: String },
    /// The first screen of the mailbox as this device saved it (sealed in IndexedDB) at the last
    /// visit: a `Mailbox` with cursor 0, shown while `SyncMailbox { since: 0 }` catches up.
    /// Empty when nothing is saved.
    CachedMailbox,
    /// What waits in this device's Outbox ([`WorkerOutcome::Outbox`]).
    Outbox,
    /// Sends what waits in the Outbox, oldest first, stopping at the first network failure;
    /// answers what is left ([`WorkerOutcome::Outbox`]). A message the server refused is tried
    /// again only when named in `again`.
    SendOutbox { again: Option<String> },
    /// Deletes a message from the Outbox unsent; answers what is left.
    DeleteOutbox { id: String },
}

impl From<MailCommand> for WorkerCommand {
    fn from(command: MailCommand) -> Self {
        WorkerCommand::Mail(command)
    }
}

/// Outside correspondents' keys: the keyring and the keys mail carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeysCommand {
    /// Which of these addresses have a key: in the account's keyring, or found now (Plico's
    /// directory, or the address's domain by WKD) and kept as the first seen.
    KnownKeys { addresses: Vec<String> },
    /// The account's keyring of outside correspondents' keys.
    Keyring,
    /// Add a public key the user pasted (armored) to the keyring, for each address it names.
    ImportKey { armored: String },
    /// Forget the key kept for this outside address.
    RemoveKey { address: String },
    /// Keep the key the message opened last carries for its sender, in place of the one kept
    /// (the reader's "Use the new key" after a key change); answers `KeyImported`.
    UseNewKey { message_id: String },
    /// After a send refused for a changed key: keep the keys Plico's directory now gives for
    /// these recipients (as the fields have them) in place of the kept ones, as the user's
    /// choice; or, with `keep_kept` ("Keep the old key"), refuse the new keys and go on
    /// encrypting to the kept ones. Answers `KeyImported` with the addresses it applied to.
    UseDirectoryKeys { addresses: Vec<String>, keep_kept: bool },
    /// The user compared the fingerprint of the key kept for `address` with the correspondent's
    /// another way: mark it verified, if it is still the key with `fingerprint`; answers
    /// `Keyring`.
    VerifyKey { address: String, fingerprint: String },
}

impl From<KeysCommand> for WorkerCommand {
    fn from(command: KeysCommand) -> Self {
        WorkerCommand::Keys(command)
    }
}

/// This device's search index.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchCommand {
    /// Indexes, newest first, every message not in this device's search index yet; reports
    /// [`WorkerStage::Indexing`] as it goes and ends with [`WorkerOutcome::Index`]. A second
    /// call while one runs joins it.
    BuildIndex,
    /// Stops a running build after its current batch; `BuildIndex` resumes it.
    PauseIndex,
    /// Runs a query on this device's index ([`WorkerOutcome::Found`]).
    Search { query: String, limit: u32 },
}

impl From<SearchCommand> for WorkerCommand {
    fn from(command: SearchCommand) -> Self {
        WorkerCommand::Search(command)
    }
}

/// Consent receipts and the warrant canary.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyCommand {
    /// Merges this browser's consent receipts with the account's (sealed to its own key on the
    /// server), stores the union, and answers it ([`WorkerOutcome::Consent`]).
    SyncConsent { receipts: Vec<crate::privacy::ConsentReceipt> },
    /// Checks the warrant canary's signature by the service key and its age at `now`.
    VerifyCanary { statement: String, service_key: String, max_age_days: u32, now: i64 },
}

impl From<PrivacyCommand> for WorkerCommand {
    fn from(command: PrivacyCommand) -> Self {
        WorkerCommand::Privacy(command)
    }
}

/// Exporting everything and importing mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferCommand {
    /// Exports everything into one ZIP archive, streamed into a browser Blob: the mail
    /// decrypted (mbox and .eml per folder), the contacts, the keys (the secret key encrypted under
    /// `passphrase`), the consent receipts and the login history. Reports
    /// [`WorkerStage::Exporting`]; ends with [`WorkerOutcome::Exported`]. `receipts`: this
    /// browser's, merged with the account's as [`PrivacyCommand::SyncConsent`] does.
    /// `contacts_vcf`: the contacts as one vCard 4 file, which the page asked the contacts worker
    /// for (`contacts/contacts.vcf` in the archive).
    Export { passphrase: String, receipts: Vec<crate::privacy::ConsentReceipt>, contacts_vcf: String },
    /// Starts importing into `folder_id`: the file's pieces follow as [`TransferCommand::ImportChunk`].
    /// `eml`: the file is one message; otherwise an mbox.
    ImportBegin { folder_id: String, file_name: String, eml: bool },
    /// The next piece of the file being imported (`last` for its end). The messages it completes
    /// are encrypted and uploaded before the answer ([`WorkerOutcome::Imported`]), so the UI pauses
    /// by not sending the next piece.
    ImportChunk {
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        last: bool,
    },
}

impl From<TransferCommand> for WorkerCommand {
    fn from(command: TransferCommand) -> Self {
        WorkerCommand::Transfer(command)
    }
}

/// A finished export: a Blob URL the page can download (valid while the worker lives).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportView {
    pub url: String,
    pub file_name: String,
    pub bytes: u64,
    pub messages: u32,
    /// Each message that could not be exported, and why (also in the archive's README.txt).
    pub failures: Vec<String>,
    /// How much the worker's wasm memory grew while exporting, in bytes: the archive itself
    /// stays in the browser's Blob storage, not in the worker.
    pub memory_grown: u64,
}

/// One message an import could not take, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportFailure {
    /// The file, and where in it: "inbox.mbox, message 3 (line 120)".
    pub item: String,
    pub reason: String,
}

/// What a piece of an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportView {
    pub imported: u32,
    pub failures: Vec<ImportFailure>,
}

/// What the check of the warrant canary found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CanaryStatus {
    /// Signed by the service key, and recent enough.
    Fresh,
    /// Signed by the service key, but older than the period allows.
    Stale,
    /// Not signed at all (or not an OpenPGP signed message).
    Unsigned,
    /// Signed, but not by the service key, or the signature does not check out.
    BadSignature,
    /// No canary or no service key is published.
    Missing,
}

/// The warrant canary, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanaryView {
    pub status: CanaryStatus,
    /// The statement's text (as signed, when it was).
    pub text: String,
    /// When the good signature was made, Unix seconds.
    pub signed_at: Option<i64>,
    /// The service key's fingerprint, uppercase hex, to compare with one published elsewhere.
    pub fingerprint: Option<String>,
}

/// How far a build of the search index has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexProgress {
    pub done: u32,
    pub total: u32,
    /// The estimate of what is left, from the pace so far.
    pub seconds_left: u32,
    /// The oldest indexed message's date: "searchable back to".
    pub oldest: Option<i64>,
}

/// The search index as it stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexView {
    pub documents: u32,
    pub oldest: Option<i64>,
    /// Messages not indexed yet (a paused build, or no space).
    pub missing: u32,
    pub stored_bytes: u64,
    pub paused: bool,
    /// The browser refused to store more: older mail stays unindexed.
    pub out_of_space: bool,
}

/// Where a key in the keyring came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyringSource {
    /// The Autocrypt header of their mail.
    Autocrypt,
    /// The user imported it, or chose it when it changed.
    Imported,
    /// Plico's key directory, kept the first time the account wrote to them.
    Directory,
    /// Their domain's key directory (WKD), kept the first time the account wrote to them.
    Wkd,
}

/// A key in the keyring, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyringEntry {
    pub address: String,
    /// Uppercase hex.
    pub fingerprint: String,
    /// Where the key came from.
    pub source: KeyringSource,
    /// Unix seconds: the import, or the message that carried it.
    pub updated_at: i64,
    /// The user compared its fingerprint with the correspondent's and marked it verified.
    #[serde(default)]
    pub verified: bool,
}

/// Encodes a message for `postMessage`.
#[cfg(feature = "wire")]
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, String> {
    postcard::to_allocvec(message).map_err(|error| error.to_string())
}

/// Decodes a message from `postMessage`.
#[cfg(feature = "wire")]
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|error| error.to_string())
}

/// A file the user attached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingAttachment {
    pub file_name: String,
    pub content_type: String,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// A message the user composed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    pub text: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub attachments: Vec<OutgoingAttachment>,
    /// Forwarding: also attach every attachment of this message (the one opened last).
    pub forward_attachments_of: Option<String>,
    /// The draft this message is written in: saving replaces it, sending removes it.
    pub draft_id: Option<String>,
    /// The composer showed that mail to outside recipients without a known key is not
    /// end-to-end encrypted, and the user sends anyway.
    pub send_unencrypted: bool,
}

/// A message waiting in this device's Outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub id: String,
    /// Every recipient: To, Cc and Bcc.
    pub recipients: Vec<String>,
    pub subject: String,
    /// When it was written, in seconds since the epoch.
    pub queued_at: i64,
    /// Why the last try did not send it, when the server refused it (not when the network
    /// was down): the user fixes or deletes it, it is not retried by itself.
    pub error: Option<String>,
}

/// A folder as the UI shows it: a system folder's role, or a user folder's opened name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderView {
    pub id: String,
    pub role: Option<crate::mail::FolderRole>,
    /// A user folder's name; `None` for system folders and for names that cannot be opened.
    pub name: Option<String>,
    pub total: u32,
    pub unread: u32,
}

/// A message in a list: the server's metadata and the opened summary, or `None` when the
/// summary cannot be read (the list shows "cannot be read" and never fails for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedMessage {
    pub id: String,
    pub folder_id: String,
    pub flags: u32,
    pub size: u64,
    pub received_at: i64,
    pub deleted_at: Option<i64>,
    pub summary: Option<ListedSummary>,
    /// The summary is not opened yet (a big mailbox opens the newest first); `OpenSummaries`
    /// brings it. When false, `summary: None` means it cannot be read.
    pub pending: bool,
}

/// The readable part of a summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedSummary {
    pub subject: String,
    pub from_name: Option<String>,
    pub from_address: Option<String>,
    pub snippet: String,
    pub has_attachments: bool,
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Mail from another Plico user whose From is not the account the server saw send it, or
    /// whose signature does not check: that account's address, which the list shows instead.
    pub sender_mismatch: Option<String>,
}

/// A signature, in the words the reader shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureView {
    /// Checked with a key someone vouches for: Plico's directory, or one the user imported or
    /// chose.
    Valid {
        /// The signing certificate's fingerprint, uppercase hex.
        signer: String,
        /// Checked with the key the user compared with its owner and marked verified.
        verified: bool,
    },
    /// Checked with a key only Autocrypt headers vouch for: the one this very message carries
    /// (`first_seen`), or one earlier mail from the address carried. Autocrypt is for
    /// encryption, not authentication, so this is never shown as valid.
    Unconfirmed {
        signer: String,
        first_seen: bool,
    },
    UnknownKey,
    Bad,
    Unsigned,
}

/// An opened message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenedMessageView {
    pub id: String,
    pub subject: String,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Only saved drafts have one.
    pub bcc: Vec<String>,
    pub date: Option<i64>,
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub text: String,
    /// The sanitised HTML body, for the sandboxed frame.
    pub html: Option<String>,
    /// Whether the HTML names remote images or styles, which stay blocked until asked for.
    pub has_remote_content: bool,
    /// The HTML body's links (http, https, mailto), which the frame itself cannot open.
    pub links: Vec<String>,
    pub attachments: Vec<AttachmentView>,
    pub signature: SignatureView,
    /// The message carries a key for its sender (Autocrypt), or Plico's directory now gives one,
    /// other than the one kept for them: the kept one stays until the user chooses the new one.
    pub key_changed: bool,
    /// The changed key came from Plico's directory (the sender is a Plico user), not the message.
    #[serde(default)]
    pub directory_key_changed: bool,
    /// A signed message whose signature covers its content but not its Subject, From, To, Cc
    /// and Date (a `multipart/signed` part without protected headers): the reader says so.
    pub unsigned_headers: bool,
    /// What this server's SPF, DKIM and DMARC checks found, for mail from the Internet.
    pub sender_checks: Option<SenderChecks>,
}

/// The receiving server's verdict on where a message from the Internet came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderChecks {
    /// DMARC failed: the From domain's owner did not send it.
    pub failed: bool,
    /// A sentence for the reader.
    pub words: String,
}

/// An attachment's name and size; its bytes stay in the worker until asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentView {
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
}

/// A command with the id its answer will carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerRequest {
    pub id: u32,
    pub command: WorkerCommand,
}

/// A step of a long operation, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerStage {
    StretchingPassword,
    GeneratingKeys,
    SealingKeys,
    Uploading,
    UnlockingKeys,
    Encrypting,
    /// Uploading the encrypted message: percent done.
    UploadingMessage(u8),
    Sending,
    Indexing(IndexProgress),
    /// Messages written into the export so far, of `total`.
    Exporting {
        done: u32,
        total: u32,
    },
    /// Sign-up's proof of work: rounds done, of `total`.
    ProvingWork {
        done: u32,
        total: u32,
    },
}

impl WorkerStage {
    /// A short sentence for the UI.
    pub fn describe(self) -> &'static str {
        match self {
            WorkerStage::StretchingPassword => "Stretching your password…",
            WorkerStage::GeneratingKeys => "Generating your encryption keys…",
            WorkerStage::SealingKeys => "Sealing your private key with your password…",
            WorkerStage::Uploading => "Saving your account…",
            WorkerStage::UnlockingKeys => "Unlocking your keys…",
            WorkerStage::Encrypting => "Encrypting…",
            WorkerStage::UploadingMessage(_) => "Uploading the encrypted message…",
            WorkerStage::Sending => "Sending…",
            WorkerStage::Indexing(_) => "Indexing your mail on this device…",
            WorkerStage::Exporting { .. } => "Decrypting and writing your mail into the archive…",
            WorkerStage::ProvingWork { .. } => "Proving this is no bot (a few seconds of work, no captcha)…",
        }
    }

    /// How far along the whole operation is, in percent, when this stage starts.
    pub fn percent(self) -> u8 {
        match self {
            WorkerStage::StretchingPassword => 10,
            WorkerStage::GeneratingKeys => 55,
            WorkerStage::SealingKeys => 75,
            WorkerStage::Uploading => 90,
            WorkerStage::UnlockingKeys => 80,
            WorkerStage::Encrypting => 10,
            // 20 to 90 while the bytes go up.
            WorkerStage::UploadingMessage(done) => 20 + (u16::from(done.min(100)) * 7 / 10) as u8,
            WorkerStage::Sending => 95,
            WorkerStage::Indexing(progress) => {
                (u64::from(progress.done) * 100 / u64::from(progress.total.max(1))) as u8
            }
            WorkerStage::Exporting { done, total } => (u64::from(done) * 100 / u64::from(total.max(1))) as u8,
            // 10 to 50 of a sign-up, between the password's stretching and the keys.
            WorkerStage::ProvingWork { done, total } => 10 + (u64::from(done) * 40 / u64::from(total.max(1))) as u8,
        }
    }
}

/// The signed-in identity the worker reports once the keys are in memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockedIdentity {
    pub address: String,
    pub fingerprint: String,
    /// Unlocked from this device's own record, the server out of reach: the mailbox is the
    /// device's saved copy until the connection returns.
    pub offline: bool,
}

/// How a command ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerOutcome {
    Unlocked(UnlockedIdentity),
    Locked,
    /// Whether this device keeps a way in offline for the address asked about.
    DeviceKept(bool),
    Mailbox {
        cursor: i64,
        folders: Vec<FolderView>,
        messages: Vec<ListedMessage>,
        removed: Vec<String>,
        removed_folders: Vec<String>,
    },
    Opened(Box<OpenedMessageView>),
    /// Opened summaries by message id; `None` for one that cannot be read.
    Summaries(Vec<(String, Option<ListedSummary>)>),
    Sent,
    /// The network was not there: the message waits, sealed on this device, in the Outbox
    /// (all of it, oldest first), and goes when the connection returns.
    Queued(Vec<OutboxItem>),
    /// The Outbox, oldest first.
    Outbox(Vec<OutboxItem>),
    File(OutgoingAttachment),
    FolderSaved,
    /// The draft's id, for the next save and for sending.
    DraftSaved {
        id: String,
    },
    /// The addresses asked about that have a key, as they were asked.
    KnownKeys(Vec<String>),
    /// The keyring, by address.
    Keyring(Vec<KeyringEntry>),
    /// The addresses an imported key was kept for.
    KeyImported(Vec<String>),
    KeyRemoved,
    Index(IndexView),
    /// Search results: how many matched, and the best of them as list rows, made (and every
    /// text in them escaped) by the worker. Each row's button carries `data-id`.
    Found {
        total: u32,
        shown: u32,
        rows_html: String,
        index: IndexView,
    },
    /// Every consent receipt of the account, oldest first.
    Consent(Vec<crate::privacy::ConsentReceipt>),
    Canary(CanaryView),
    Exported(ExportView),
    Imported(ImportView),
    /// The contacts worker's [`crate::contacts::ContactsReply`], in postcard bytes.
    Contacts(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The password is right; the account asks for one of these second factors, and with a
    /// passkey among them, the options for `navigator.credentials.get` (JSON text).
    /// `pending_id` names the pending sign-in (no secret: it reads nothing), for a reset the
    /// page asks for itself.
    SecondFactorRequired {
        methods: Vec<crate::security::SecondFactorKind>,
        passkey_options: Option<String>,
        pending_id: String,
    },
    /// The password was proven again ([`SessionCommand::Reauthenticate`]), or changed
    /// ([`SessionCommand::ChangePassword`]).
    Reauthenticated,
}

/// What the worker posts back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerEvent {
    /// The worker has loaded and listens for commands.
    Ready,
    Progress {
        id: u32,
        stage: WorkerStage,
    },
    Done {
        id: u32,
        outcome: WorkerOutcome,
    },
    /// `code` is the API error code when the server refused, else a worker-side code.
    Failed {
        id: u32,
        code: String,
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_progress_fills_the_bar_between_encrypting_and_sending() {
        assert!(WorkerStage::Encrypting.percent() < WorkerStage::UploadingMessage(0).percent());
        assert_eq!(WorkerStage::UploadingMessage(0).percent(), 20);
        assert_eq!(WorkerStage::UploadingMessage(50).percent(), 55);
        assert_eq!(WorkerStage::UploadingMessage(100).percent(), 90);
        assert_eq!(WorkerStage::UploadingMessage(250).percent(), 90, "clamped");
        assert!(WorkerStage::UploadingMessage(100).percent() < WorkerStage::Sending.percent());
    }
}
