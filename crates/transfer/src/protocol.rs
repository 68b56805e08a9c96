//! Between the crypto worker and the transfer worker, as postcard bytes in transferred
//! `ArrayBuffer`s (both ends are Rust).
//!
//! The crypto worker starts a job ([`TransferRequest`]); while it runs, the transfer worker asks
//! the crypto worker for what only it can do ([`Ask`]: one message decrypted, one message
//! encrypted and stored) and reports progress; the job's end answers the request. Every message
//! up starts with a `u32`: the request's id for its answer, 0 for an ask or a progress report,
//! so the crypto worker tells them apart without decoding.

use plico_api::mail::MessageMeta;
use plico_api::worker::{ExportView, FolderView, ImportView};
use serde::{Deserialize, Serialize};

/// A message down, from the crypto worker. `id` 0 needs no answer ([`TransferJob::Answer`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransferRequest {
    pub id: u32,
    pub job: TransferJob,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum TransferJob {
    /// Writes the archive of everything; answered with [`TransferOutcome::Exported`].
    Export(Box<ExportJob>),
    /// Starts an import into `folder_id`; `eml`: the file is one message, otherwise an mbox.
    ImportBegin { folder_id: String, file_name: String, eml: bool },
    /// The next piece of the file (`last` for its end); answered with
    /// [`TransferOutcome::Imported`] once the messages it completes are stored.
    ImportChunk {
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        last: bool,
    },
    /// The crypto worker's answer to ask `call`.
    Answer { call: u32, result: Result<Answer, String> },
}

/// What the crypto worker gathered for an export before any message: the keys (the secret one
/// encrypted under the user's passphrase), the account's documents, and the mailbox's list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportJob {
    /// The UI's request, named in progress reports.
    pub request: u32,
    pub address: String,
    /// Unix seconds.
    pub now: i64,
    pub public_key: String,
    pub secret_key: String,
    #[serde(with = "serde_bytes")]
    pub consent_receipts: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub login_history: Vec<u8>,
    pub folders: Vec<FolderView>,
    pub messages: Vec<MessageMeta>,
    /// The contacts as one vCard 4 file.
    pub contacts_vcf: String,
}

/// A message up, from the transfer worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransferReply {
    /// The request this answers; 0 for [`Up::Ask`] and [`Up::Progress`].
    pub id: u32,
    pub up: Up,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Up {
    /// The job ended.
    Done(Result<TransferOutcome, String>),
    /// The transfer worker needs the crypto worker; it waits for [`TransferJob::Answer`].
    Ask { call: u32, ask: Ask },
    /// `done` of `total` messages exported, for the UI's request `request`.
    Progress { request: u32, done: u32, total: u32 },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Ask {
    /// Message `id` decrypted: its sender, its subject, and its RFC 5322 bytes.
    Message { id: String },
    /// Encrypt one message to the account's key and store it in `folder_id`.
    Import {
        folder_id: String,
        #[serde(with = "serde_bytes")]
        raw: Vec<u8>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Answer {
    Message {
        sender: String,
        subject: String,
        #[serde(with = "serde_bytes")]
        raw: Vec<u8>,
    },
    Imported,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum TransferOutcome {
    /// `memory_grown` is this worker's; the crypto worker adds its own.
    Exported(ExportView),
    Imported(ImportView),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The crypto worker routes what comes up by the first varint alone.
    #[test]
    fn every_message_up_leads_with_its_id() {
        let asked = TransferReply { id: 0, up: Up::Ask { call: 7, ask: Ask::Message { id: "m".into() } } };
        assert_eq!(postcard::to_allocvec(&asked).expect("encodes")[0], 0);
        let done = TransferReply { id: 300, up: Up::Done(Err("no".into())) };
        assert_eq!(&postcard::to_allocvec(&done).expect("encodes")[..2], &[0xac, 0x02]);
    }
}
