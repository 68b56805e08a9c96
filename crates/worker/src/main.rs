//! Plico's crypto worker: the second wasm binary. It receives [`WorkerRequest`]s from the UI as
//! postcard bytes, runs them with `plico-client`, and posts [`WorkerEvent`]s back. MIME work
//! goes to the render worker (the third binary), search to the search worker, export and
//! import to the transfer worker, and contacts to the contacts worker, which this worker starts
//! as nested workers.
//!
//! The protocol is grouped by feature (`plico_api::worker::WorkerCommand`), and so is this
//! crate: `session.rs` signs in and out and holds the unlocked key, `mail.rs`, `keys.rs`,
//! `search.rs`, `privacy.rs`, `transfer.rs` and `contacts.rs` each answer their own feature's commands. A new
//! feature adds a module and one line in [`handle`].
//!
//! Architecture Invariant: the secret key and the password live only in this worker's memory;
//! the UI thread only ever learns the address and the fingerprint, and the plaintext of what
//! the user reads or writes.

#[cfg(target_arch = "wasm32")]
mod contacts;
#[cfg(target_arch = "wasm32")]
mod keys;
#[cfg(target_arch = "wasm32")]
mod keys_worker;
#[cfg(target_arch = "wasm32")]
mod mail;
#[cfg(target_arch = "wasm32")]
mod mailbox;
#[cfg(target_arch = "wasm32")]
mod nested;
#[cfg(target_arch = "wasm32")]
mod offline;
#[cfg(target_arch = "wasm32")]
mod privacy;
#[cfg(target_arch = "wasm32")]
mod render;
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod room;
#[cfg(target_arch = "wasm32")]
mod search;
#[cfg(target_arch = "wasm32")]
mod session;
#[cfg(target_arch = "wasm32")]
mod transfer;
#[cfg(target_arch = "wasm32")]
mod transport;

#[cfg(target_arch = "wasm32")]
use plico_api::worker::{WorkerCommand, WorkerEvent, WorkerOutcome, WorkerRequest};
#[cfg(target_arch = "wasm32")]
use plico_client::FlowError;

#[cfg(target_arch = "wasm32")]
fn scope() -> web_sys::DedicatedWorkerGlobalScope {
    use wasm_bindgen::JsCast;
    js_sys::global().unchecked_into()
}

/// Posts an event to the UI, its bytes transferred.
#[cfg(target_arch = "wasm32")]
fn post(event: &WorkerEvent) {
    let Ok(bytes) = plico_api::worker::encode(event) else { return };
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    let transfer = js_sys::Array::of1(&array.buffer());
    let _ = scope().post_message_with_transfer(&array, &transfer);
}

/// Posts how a command ended.
#[cfg(target_arch = "wasm32")]
fn answer(id: u32, result: Result<WorkerOutcome, FlowError>) {
    match result {
        Ok(outcome) => post(&WorkerEvent::Done { id, outcome }),
        Err(error) => post(&WorkerEvent::Failed { id, code: error.code(), message: error.to_string() }),
    }
}

/// Unix seconds.
#[cfg(target_arch = "wasm32")]
fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// Runs one request: each feature's commands go to its module; all but signing in and the
/// canary need the unlocked session.
#[cfg(target_arch = "wasm32")]
async fn handle(request: WorkerRequest) {
    let id = request.id;
    let result = match request.command {
        // Each feature's future is boxed: awaited in place, every one of them would be laid out
        // inside this function's, and its code copied with it (several KB of the binary).
        WorkerCommand::Session(command) => Box::pin(session::handle(id, command)).await,
        WorkerCommand::Privacy(plico_api::worker::PrivacyCommand::VerifyCanary {
            statement,
            service_key,
            max_age_days,
            now,
        }) => Box::pin(keys_worker::verify_canary(id, statement, service_key, max_age_days, now)).await,
        command => match session::current() {
            None => Err(session::locked()),
            Some(session) => match command {
                WorkerCommand::Mail(command) => Box::pin(mail::handle(id, &session, command)).await,
                WorkerCommand::Keys(command) => Box::pin(keys::handle(&session, command)).await,
                WorkerCommand::Search(command) => Box::pin(search::handle(id, &session, command)).await,
                WorkerCommand::Privacy(command) => Box::pin(privacy::handle(&session, command)).await,
                WorkerCommand::Transfer(command) => Box::pin(transfer::handle(id, &session, command)).await,
                WorkerCommand::Contacts(command) => Box::pin(contacts::handle(&session, command)).await,
                WorkerCommand::Session(_) => unreachable!("answered above"),
            },
        },
    };
    answer(id, result);
}

#[cfg(target_arch = "wasm32")]
fn start() {
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    console_error_panic_hook::set_once();
    let on_message = Closure::<dyn Fn(web_sys::MessageEvent)>::new(|event: web_sys::MessageEvent| {
        let Ok(array) = event.data().dyn_into::<js_sys::Uint8Array>() else { return };
        match plico_api::worker::decode::<WorkerRequest>(&array.to_vec()) {
            Ok(request) => wasm_bindgen_futures::spawn_local(handle(request)),
            Err(error) => web_sys::console::error_1(&format!("worker: unreadable request: {error}").into()),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    // Messages sent before the wasm loaded were dropped; the UI waits for this.
    post(&WorkerEvent::Ready);
}

fn main() {
    #[cfg(target_arch = "wasm32")]
    start();
}
