//! The typed messages between the UI thread and the crypto worker.
//!
//! The UI posts a [`WorkerRequest`] with an id; the worker answers with zero or more
//! [`WorkerEvent::Progress`] events and exactly one `Done` or `Failed` event for that id.
//! Messages travel as JSON strings through `postMessage`. Enums use serde's default external
//! tagging: internal tags cost the UI binary kilobytes of buffering code.

use serde::{Deserialize, Serialize};

/// What the UI asks the worker to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerCommand {
    /// Register with OPAQUE, make the OpenPGP certificate, seal its secret and upload both.
    Signup { name: String, password: String },
    /// Log in with OPAQUE and unlock the secret key into the worker's memory.
    Login { address: String, password: String },
    /// Forget the secret key and every other secret held in memory.
    Lock,
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
        }
    }
}

/// The signed-in identity the worker reports once the keys are in memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlockedIdentity {
    pub address: String,
    pub fingerprint: String,
}

/// How a command ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerOutcome {
    Unlocked(UnlockedIdentity),
    Locked,
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
