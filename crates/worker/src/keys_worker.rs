//! The keys worker (`plico-keys`), seen from here: started for a job that makes or changes the
//! account's keys (sign-up today), stopped when it is done, so this worker does not carry key
//! generation. Its progress is passed on to the page; the unlocked key it made comes back here
//! and is kept like one this worker unlocked itself.

use plico_api::worker::{WorkerEvent, WorkerStage};
use plico_client::{FlowError, UnlockedSession};
use plico_keys::protocol::{KeysJob, KeysReply, KeysRequest, Up, KEYMAN_URL, WORKER_URL};

use crate::nested::Nested;

fn protocol(error: impl std::fmt::Display) -> FlowError {
    FlowError::Protocol(error.to_string())
}

/// Runs `job` in a fresh keys worker, reporting its stages as request `id`'s progress.
async fn run(id: u32, job: KeysJob) -> Result<Up, FlowError> {
    // Changes to the account's keys run in the key-management worker, the rest in the keys worker.
    let (url, name, label) = match &job {
        KeysJob::Keys { .. } => (KEYMAN_URL, "plico-keyman", "key-management worker"),
        _ => (WORKER_URL, "plico-keys", "keys worker"),
    };
    let inner = Nested::spawn(url, name, label).map_err(FlowError::Protocol)?;
    inner.on_ask(move |bytes| {
        if let Ok(KeysReply { up: Up::Progress { stage, .. }, .. }) = postcard::from_bytes::<KeysReply>(&bytes) {
            crate::post(&WorkerEvent::Progress { id, stage });
        }
    });
    let job_id = inner.next_id();
    let request = postcard::to_allocvec(&KeysRequest { id: job_id, job }).map_err(protocol)?;
    let answer = inner.ask(job_id, request).await;
    inner.terminate();
    let reply: KeysReply = postcard::from_bytes(&answer.map_err(FlowError::Protocol)?).map_err(protocol)?;
    match reply.up {
        Up::Failed { status: 0, code, message } if code == "network" => Err(FlowError::Network(message)),
        Up::Failed { status, code, message } => Err(FlowError::Api { status, code, message }),
        up => Ok(up),
    }
}

/// Signs up in the keys worker; the new account's key is unlocked here.
pub async fn signup(
    id: u32,
    name: String,
    password: String,
    recovery_address: Option<String>,
) -> Result<UnlockedSession, FlowError> {
    crate::post(&WorkerEvent::Progress { id, stage: WorkerStage::StretchingPassword });
    match run(id, KeysJob::Signup { name, password, recovery_address }).await? {
        Up::SignedUp { account, secret_key } => {
            let secret_key = plico_pgp::parse_cert(&secret_key).map_err(protocol)?;
            Ok(UnlockedSession::new(account, vec![secret_key]))
        }
        _ => Err(protocol("the keys worker answered another job")),
    }
}

/// Changes the password in the keys worker; returns the new export key.
pub async fn change_password(
    id: u32,
    session: &UnlockedSession,
    password: String,
    sign_out_others: bool,
) -> Result<Vec<u8>, FlowError> {
    let secret_key = plico_pgp::keyring_bytes(&session.keyring).map_err(protocol)?;
    let job = KeysJob::ChangePassword { account: session.account.clone(), secret_key, password, sign_out_others };
    match run(id, job).await? {
        Up::PasswordChanged { export_key } => Ok(export_key),
        _ => Err(protocol("the keys worker answered another job")),
    }
}

/// Checks the warrant canary in the keys worker (the transparency page's, and it needs no session).
pub async fn verify_canary(
    id: u32,
    statement: String,
    service_key: String,
    max_age_days: u32,
    now: i64,
) -> Result<plico_api::worker::WorkerOutcome, FlowError> {
    match run(id, KeysJob::VerifyCanary { statement, service_key, max_age_days, now }).await? {
        Up::Canary(view) => Ok(plico_api::worker::WorkerOutcome::Canary(view)),
        _ => Err(protocol("the keys worker answered another job")),
    }
}

/// Changes the account's keys in the keys worker (`command`: postcard of a
/// `plico_api::security::KeyCommand`). After a new primary key: the session with it, and the
/// export key the password proof brought.
pub async fn change_keys(
    id: u32,
    session: &UnlockedSession,
    command: Vec<u8>,
    keep_device: bool,
) -> Result<Option<(UnlockedSession, Option<Vec<u8>>)>, FlowError> {
    let keyring = plico_pgp::keyring_bytes(&session.keyring).map_err(protocol)?;
    match run(id, KeysJob::Keys { account: session.account.clone(), keyring, command, keep_device }).await? {
        Up::KeysChanged { new_primary: None } => Ok(None),
        Up::KeysChanged { new_primary: Some((account, keyring, record)) } => {
            let keyring = plico_pgp::parse_keyring(&keyring).map_err(protocol)?;
            Ok(Some((UnlockedSession::new(account, keyring), record.map(|record| record.into_vec()))))
        }
        _ => Err(protocol("the keys worker answered another job")),
    }
}
