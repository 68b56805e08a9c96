//! The UI side of the crypto worker: spawns it, queues commands until it is ready, and turns its
//! events back into futures.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_channel::oneshot;
use plico_api::worker::{WorkerCommand, WorkerEvent, WorkerOutcome, WorkerRequest, WorkerStage};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

/// trunk writes the worker's loader under its binary name.
const WORKER_URL: &str = "/plico-worker_loader.js";

/// How a worker command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerFailure {
    pub code: String,
    pub message: String,
}

struct PendingCall {
    on_progress: Box<dyn Fn(WorkerStage)>,
    done: oneshot::Sender<Result<WorkerOutcome, WorkerFailure>>,
}

struct Inner {
    worker: Worker,
    ready: Cell<bool>,
    queue: RefCell<Vec<js_sys::Uint8Array>>,
    next_id: Cell<u32>,
    pending: RefCell<HashMap<u32, PendingCall>>,
}

/// A handle to the crypto worker.
#[derive(Clone)]
pub struct WorkerClient {
    inner: Rc<Inner>,
}

/// Posts `message`, handing its buffer over instead of copying it.
fn post(worker: &Worker, message: &js_sys::Uint8Array) {
    let transfer = js_sys::Array::of1(&message.buffer());
    let _ = worker.post_message_with_transfer(message, &transfer);
}

fn fail_all(inner: &Inner, message: &str) {
    for (_, call) in inner.pending.borrow_mut().drain() {
        let _ = call.done.send(Err(WorkerFailure { code: "worker".into(), message: message.into() }));
    }
}

impl WorkerClient {
    /// Starts the worker.
    pub fn spawn() -> Result<WorkerClient, String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Classic);
        options.set_name("plico-crypto");
        let worker = Worker::new_with_options(WORKER_URL, &options)
            .map_err(|error| format!("could not start the crypto worker: {error:?}"))?;
        let inner = Rc::new(Inner {
            worker,
            ready: Cell::new(false),
            queue: RefCell::new(Vec::new()),
            next_id: Cell::new(1),
            pending: RefCell::new(HashMap::new()),
        });

        let weak = Rc::downgrade(&inner);
        let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(inner) = weak.upgrade() else { return };
            let Ok(array) = event.data().dyn_into::<js_sys::Uint8Array>() else { return };
            let Ok(event) = plico_api::worker::decode::<WorkerEvent>(&array.to_vec()) else { return };
            match event {
                WorkerEvent::Ready => {
                    inner.ready.set(true);
                    for message in inner.queue.borrow_mut().drain(..) {
                        post(&inner.worker, &message);
                    }
                }
                WorkerEvent::Progress { id, stage } => {
                    if let Some(call) = inner.pending.borrow().get(&id) {
                        (call.on_progress)(stage);
                    }
                }
                WorkerEvent::Done { id, outcome } => {
                    if let Some(call) = inner.pending.borrow_mut().remove(&id) {
                        let _ = call.done.send(Ok(outcome));
                    }
                }
                WorkerEvent::Failed { id, code, message } => {
                    if let Some(call) = inner.pending.borrow_mut().remove(&id) {
                        let _ = call.done.send(Err(WorkerFailure { code, message }));
                    }
                }
            }
        });
        inner.worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let weak = Rc::downgrade(&inner);
        let on_error = Closure::<dyn Fn(ErrorEvent)>::new(move |event: ErrorEvent| {
            if let Some(inner) = weak.upgrade() {
                fail_all(
                    &inner,
                    &crate::i18n::tf("The crypto worker stopped: {reason}", &[("reason", &event.message())]),
                );
            }
        });
        inner.worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();

        Ok(WorkerClient { inner })
    }

    /// Runs `command` in the worker, reporting its stages to `on_progress`.
    pub fn call<C: Into<WorkerCommand>, F: Fn(WorkerStage) + 'static>(
        &self,
        command: C,
        on_progress: F,
    ) -> impl std::future::Future<Output = Result<WorkerOutcome, WorkerFailure>> + use<'_, C, F> {
        // One body for every caller: generic over the closure, the future was compiled once
        // per call site (each closure is its own type), which cost the UI kilobytes.
        self.call_boxed(command.into(), Box::new(on_progress))
    }

    /// Runs a contacts command in the contacts worker (through this worker): the composer's
    /// suggestions and the reader's "Add to contacts" use it, and the Contacts app's bytes
    /// take the same road ([`WorkerClient::contacts_bytes`]).
    pub async fn contacts(
        &self,
        command: &plico_api::contacts::MailContactsCommand,
    ) -> Result<plico_api::contacts::MailContactsOutcome, String> {
        let reply = self.contacts_bytes(plico_api::worker::encode(command)?).await?;
        plico_api::worker::decode::<plico_api::contacts::MailContactsReply>(&reply).and_then(|reply| reply.result)
    }

    /// A `ContactsCommand` in postcard bytes, answered with the `ContactsReply`'s bytes.
    pub async fn contacts_bytes(&self, command: Vec<u8>) -> Result<Vec<u8>, String> {
        match self.call_boxed(WorkerCommand::Contacts(command), Box::new(|_| {})).await {
            Ok(WorkerOutcome::Contacts(reply)) => Ok(reply),
            Ok(_) => Err(crate::i18n::t("The worker answered something unexpected.")),
            Err(failure) => Err(failure.message),
        }
    }

    async fn call_boxed(
        &self,
        command: WorkerCommand,
        on_progress: Box<dyn Fn(WorkerStage)>,
    ) -> Result<WorkerOutcome, WorkerFailure> {
        let id = self.inner.next_id.get();
        self.inner.next_id.set(id.wrapping_add(1));
        let (done, finished) = oneshot::channel();
        self.inner.pending.borrow_mut().insert(id, PendingCall { on_progress, done });
        let bytes = plico_api::worker::encode(&WorkerRequest { id, command })
            .map_err(|error| WorkerFailure { code: "worker".into(), message: error })?;
        let message = js_sys::Uint8Array::from(bytes.as_slice());
        drop(bytes);
        if self.inner.ready.get() {
            post(&self.inner.worker, &message);
        } else {
            self.inner.queue.borrow_mut().push(message);
        }
        let result = finished.await.unwrap_or_else(|_| {
            Err(WorkerFailure { code: "worker".into(), message: crate::i18n::t("The crypto worker went away.") })
        });
        if matches!(&result, Err(failure) if failure.code == "session_revoked") {
            // The worker has deleted what this device kept; the page starts again at sign-in.
            crate::session::ended();
        }
        result
    }
}
