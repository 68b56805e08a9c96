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
            let changed = match plico_pgp::parse_cert(&secret_key) {
                Ok(secret_key) => {
                    plico_client::flows::change_password(&Fetch, &account, &secret_key, &password, sign_out_others)
                        .await
                }
                Err(error) => Err(plico_client::FlowError::Crypto(error.to_string())),
            };
            match changed {
                Ok(export_key) => Up::PasswordChanged { export_key },
                Err(error) => failed(error),
            }
        }
    };
    send(&KeysReply { id, up });
}

/// Listens for jobs, and says it is ready with an empty message (the nested channel's signal).
pub fn start() {
    console_error_panic_hook::set_once();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(|event: MessageEvent| {
        let Ok(array) = event.data().dyn_into::<js_sys::Uint8Array>() else { return };
        match postcard::from_bytes::<KeysRequest>(&array.to_vec()) {
            Ok(request) => wasm_bindgen_futures::spawn_local(run(request)),
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
