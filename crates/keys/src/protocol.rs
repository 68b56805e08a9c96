//! Between the crypto worker and the keys worker (postcard bytes). Each request carries an id
//! (never 0); the answer leads with the same id. Progress comes first as replies with id 0 that
//! name the request (`Up::Progress`), which the crypto worker's nested-worker channel hands to
//! its ask handler.

use plico_api::worker::WorkerStage;
use plico_api::Account;
use serde::{Deserialize, Serialize};

/// Where trunk writes the keys worker's loader.
pub const WORKER_URL: &str = "/plico-keys_loader.js";

/// Where trunk writes the key-management worker's loader (`plico-keyman`, the same crate's
/// second binary).
pub const KEYMAN_URL: &str = "/plico-keyman_loader.js";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeysRequest {
    pub id: u32,
    pub job: KeysJob,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum KeysJob {
    /// `plico_client::signup_with_recovery`: the account is made and signed in.
    Signup { name: String, password: String, recovery_address: Option<String> },
    /// `plico_client::flows::change_password` for the signed-in account, with its unlocked
    /// keyring (serialized TSKs, the primary first) to seal anew.
    ChangePassword {
        account: Account,
        #[serde(with = "serde_bytes")]
        secret_key: Vec<u8>,
        password: String,
        sign_out_others: bool,
    },
    /// Check the warrant canary (`plico_client::privacy::check_canary`): a rare page's job, kept
    /// out of the crypto worker, which every page loads.
    VerifyCanary { statement: String, service_key: String, max_age_days: u32, now: i64 },
    /// A change to the account's keys (`plico_client::account_keys`) for the signed-in account
    /// whose unlocked keyring this is.
    Keys {
        account: Account,
        #[serde(with = "serde_bytes")]
        keyring: Vec<u8>,
        /// Postcard of a `plico_api::security::KeyCommand`, as the Settings app sent it: the
        /// crypto worker passes it on unread.
        #[serde(with = "serde_bytes")]
        command: Vec<u8>,
        /// This device keeps its own way in offline, to be made again for the new keyring.
        keep_device: bool,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeysReply {
    /// The request answered; 0 for progress.
    pub id: u32,
    pub up: Up,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Up {
    /// Request `of` reached `stage`.
    Progress { of: u32, stage: WorkerStage },
    /// Signed up: the account and its secret key (a serialized TSK) for the crypto worker.
    SignedUp {
        account: Account,
        #[serde(with = "serde_bytes")]
        secret_key: Vec<u8>,
    },
    /// The password is changed: the new export key, for this device's own way in offline.
    PasswordChanged {
        #[serde(with = "serde_bytes")]
        export_key: Vec<u8>,
    },
    /// The keys changed. After a new primary key: the account and keyring with it, and this
    /// device's way in offline made again for them (when it keeps one).
    KeysChanged { new_primary: Option<(Account, serde_bytes::ByteBuf, Option<serde_bytes::ByteBuf>)> },
    /// The canary, checked.
    Canary(plico_api::worker::CanaryView),
    /// The job failed, as `plico_client::FlowError` says.
    Failed { status: u16, code: String, message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_leads_with_its_id_as_the_nested_channel_reads_it() {
        let reply =
            KeysReply { id: 300, up: Up::Failed { status: 409, code: "name_taken".into(), message: "x".into() } };
        let bytes = postcard::to_allocvec(&reply).expect("encodes");
        assert_eq!(&bytes[..2], &[0xac, 0x02], "postcard's varint of 300 first");
        let back: KeysReply = postcard::from_bytes(&bytes).expect("decodes");
        assert!(matches!(back.up, Up::Failed { status: 409, .. }));
        let progress = KeysReply { id: 0, up: Up::Progress { of: 7, stage: WorkerStage::GeneratingKeys } };
        assert_eq!(postcard::to_allocvec(&progress).expect("encodes")[0], 0);
    }
}
