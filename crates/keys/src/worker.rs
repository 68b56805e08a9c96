//! The keys worker's loop (wasm only): one job at a time from the crypto worker, progress and
//! the answer back to it.

use plico_api::worker::WorkerStage;
use plico_client::web::Fetch;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::protocol::{KeysJob, KeysReply, KeysRequest, Up};

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn send(reply: &KeysReply) {
    let Ok(bytes) = postcard::to_allocvec(reply) else { return };
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    drop(bytes);
    let transfer = js_sys::Array::of1(&array.buffer());
    let _ = scope().post_message_with_transfer(&array, &transfer);
}

fn failed(error: plico_client::FlowError) -> Up {
    let status = match &error {
        plico_client::FlowError::Api { status, .. } => *status,
        _ => 0,
    };
    Up::Failed { status, code: error.code(), message: error.to_string() }
}

/// The keys worker's jobs: sign-up and password changes. A key-management job sent here by
/// mistake is refused (it is the key-management worker's).
async fn run(request: KeysRequest) {
    let id = request.id;
    let progress = move |stage: WorkerStage| send(&KeysReply { id: 0, up: Up::Progress { of: id, stage } });
    let up = match request.job {
        KeysJob::Signup { name, password, recovery_address } => {
            match plico_client::signup_with_recovery(&Fetch, &name, &password, recovery_address, progress).await {
                Ok(session) => match plico_pgp::secret_cert_bytes(&session.secret_key) {
                    Ok(secret_key) => Up::SignedUp { account: session.account, secret_key },
                    Err(error) => Up::Failed { status: 0, code: "crypto".into(), message: error.to_string() },
                },
                Err(error) => failed(error),
            }
        }
        KeysJob::ChangePassword { account, secret_key, password, sign_out_others } => {
            progress(WorkerStage::StretchingPassword);
            let changed = match plico_pgp::parse_keyring(&secret_key) {
                Ok(keyring) => {
                    plico_client::flows::change_password(&Fetch, &account, &keyring, &password, sign_out_others).await
                }
                Err(error) => Err(plico_client::FlowError::Crypto(error.to_string())),
            };
            match changed {
                Ok(export_key) => Up::PasswordChanged { export_key },
                Err(error) => failed(error),
            }
        }
        KeysJob::VerifyCanary { statement, service_key, max_age_days, now } => {
            Up::Canary(plico_client::privacy::check_canary(&statement, &service_key, max_age_days, now))
        }
        KeysJob::Keys { .. } => wrong_worker(),
    };
    send(&KeysReply { id, up });
}

/// The key-management worker's one job: a change to the account's keys. Post-quantum key
/// generation, import and revocation live only in this binary (`plico-keyman`), which only the
/// Settings app's key changes load, so sign-up's keys worker stays small.
async fn run_keyman(request: KeysRequest) {
    let id = request.id;
    let progress = move |stage: WorkerStage| send(&KeysReply { id: 0, up: Up::Progress { of: id, stage } });
    let up = match request.job {
        KeysJob::Keys { account, keyring, command, keep_device } => {
            match change_keys(account, &keyring, &command, keep_device, &progress).await {
                Ok(up) => up,
                Err(error) => failed(error),
            }
        }
        _ => wrong_worker(),
    };
    send(&KeysReply { id, up });
}

fn wrong_worker() -> Up {
    Up::Failed { status: 0, code: "worker".into(), message: "this job belongs to the other keys worker".into() }
}

/// A change to the account's keys: a new primary key (made here, or imported) or a revocation.
async fn change_keys(
    account: plico_api::Account,
    keyring: &[u8],
    command: &[u8],
    keep_device: bool,
    progress: &dyn Fn(WorkerStage),
) -> Result<Up, plico_client::FlowError> {
    use plico_api::security::{AccountKeyState, KeyCommand, KeyJob};
    use plico_client::{account_keys, FlowError};
    let crypto = |error: plico_pgp::PgpError| FlowError::Crypto(error.to_string());
    let command: KeyCommand = postcard::from_bytes(command).map_err(|error| FlowError::Protocol(error.to_string()))?;
    let keyring = plico_pgp::parse_keyring(keyring).map_err(crypto)?;
    let session = plico_client::UnlockedSession::new(account, keyring);
    let address = session.account.address.clone();
    let (key, previous) = match command.job {
        KeyJob::Revoke { fingerprint, reason, text } => {
            let reason = plico_pgp::RevocationReason::parse(&reason)
                .ok_or_else(|| FlowError::Invalid(format!("\"{reason}\" is not a reason for a revocation.")))?;
            progress(WorkerStage::StretchingPassword);
            account_keys::revoke_key(&Fetch, &session, &command.password, &fingerprint, reason, &text).await?;
            return Ok(Up::KeysChanged { new_primary: None });
        }
        KeyJob::PostQuantum => {
            progress(WorkerStage::GeneratingKeys);
            (plico_pgp::generate_pq_cert(&address).map_err(crypto)?.secret_key, AccountKeyState::Published)
        }
        KeyJob::Rotate => {
            progress(WorkerStage::GeneratingKeys);
            let key = match plico_pgp::is_post_quantum(&session.secret_key) {
                true => plico_pgp::generate_pq_cert(&address),
                false => plico_pgp::generate_cert(&address),
            };
            (key.map_err(crypto)?.secret_key, AccountKeyState::Retired)
        }
        KeyJob::Import { armored, passphrase } => {
            let key = plico_pgp::import_secret_key(&armored, &passphrase, &address)
                .map_err(|refusal| FlowError::Invalid(refusal.to_string()))?;
            (plico_pgp::secret_cert_bytes(&key).map_err(crypto)?, AccountKeyState::Retired)
        }
    };
    let key = plico_pgp::parse_cert(&key).map_err(crypto)?;
    progress(WorkerStage::SealingKeys);
    let new = account_keys::add_primary_key(&Fetch, &session, &command.password, key, previous).await?;
    let keyring = plico_pgp::keyring_bytes(&new.session.keyring).map_err(crypto)?;
    // The record keeps the account with its new sealed keyring (one Argon2id, here).
    let record = match keep_device {
        true => plico_client::device_unlock::record(&command.password, &new.export_key, &new.session.account).ok(),
        false => None,
    };
    Ok(Up::KeysChanged { new_primary: Some((new.session.account, keyring.into(), record.map(Into::into))) })
}

/// Listens for jobs, and says it is ready with an empty message (the nested channel's signal).
pub fn start() {
    listen(|request| wasm_bindgen_futures::spawn_local(run(request)));
}

/// The key-management worker (`plico-keyman`): the same loop for its own job.
pub fn start_keyman() {
    listen(|request| wasm_bindgen_futures::spawn_local(run_keyman(request)));
}

fn listen(run: fn(KeysRequest)) {
    console_error_panic_hook::set_once();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        let Ok(array) = event.data().dyn_into::<js_sys::Uint8Array>() else { return };
        match postcard::from_bytes::<KeysRequest>(&array.to_vec()) {
            Ok(request) => run(request),
            Err(error) => web_sys::console::error_1(&format!("keys worker: unreadable request: {error}").into()),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    send_ready();
}

fn send_ready() {
    let _ = scope().post_message(&js_sys::Uint8Array::new_with_length(0));
}
