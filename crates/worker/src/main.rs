//! Plico's crypto worker: the second wasm binary. It receives [`WorkerRequest`]s from the UI as
//! JSON strings, runs them with `plico-client`, and posts [`WorkerEvent`]s back.
//!
//! Architecture Invariant: the secret key and the password live only in this worker's memory;
//! the UI thread only ever learns the address and the fingerprint.

#[cfg(target_arch = "wasm32")]
mod worker {
    use std::cell::RefCell;

    use plico_api::worker::{UnlockedIdentity, WorkerCommand, WorkerEvent, WorkerOutcome, WorkerRequest};
    use plico_client::flows::{Transport, TransportBody, TransportResponse};
    use plico_client::UnlockedSession;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, Request, RequestCredentials, RequestInit, Response};

    thread_local! {
        /// Shared, so a mail command keeps its session while it runs; Lock drops the slot's copy
        /// at once and the last in-flight command drops the rest.
        static SESSION: RefCell<Option<std::rc::Rc<UnlockedSession>>> = const { RefCell::new(None) };
        /// The metadata of every synced message, by id, so the UI can name messages by id.
        static MESSAGES: RefCell<std::collections::HashMap<String, plico_api::mail::MessageMeta>> =
            RefCell::new(std::collections::HashMap::new());
    }

    fn locked() -> plico_client::FlowError {
        plico_client::FlowError::Crypto("Your keys are locked; sign in again.".into())
    }

    /// Runs a mail command with the unlocked session.
    async fn mail_command(id: u32, command: WorkerCommand) -> Result<WorkerOutcome, plico_client::FlowError> {
        let Some(session) = SESSION.with(|slot| slot.borrow().clone()) else { return Err(locked()) };
        run_mail_command(id, &session, command).await
    }

    async fn run_mail_command(
        id: u32,
        session: &UnlockedSession,
        command: WorkerCommand,
    ) -> Result<WorkerOutcome, plico_client::FlowError> {
        use plico_client::mail;
        match command {
            WorkerCommand::SyncMailbox { since } => {
                let changes = mail::sync(&FetchTransport, since).await?;
                let messages = changes.messages.iter().map(|meta| mail::listed_message(session, meta)).collect();
                MESSAGES.with(|cache| {
                    let mut cache = cache.borrow_mut();
                    for meta in &changes.messages {
                        cache.insert(meta.id.clone(), meta.clone());
                    }
                    for removed in &changes.removed_messages {
                        cache.remove(removed);
                    }
                });
                Ok(WorkerOutcome::Mailbox {
                    cursor: changes.cursor,
                    folders: changes.folders,
                    messages,
                    removed: changes.removed_messages,
                })
            }
            WorkerCommand::OpenMessage { id: message_id } => {
                let meta = MESSAGES.with(|cache| cache.borrow().get(&message_id).cloned()).ok_or_else(|| {
                    plico_client::FlowError::Protocol("That message is not in this mailbox; sync first.".into())
                })?;
                let opened = mail::open(&FetchTransport, session, &meta).await?;
                Ok(WorkerOutcome::Opened(Box::new(mail::opened_view(&message_id, &opened))))
            }
            WorkerCommand::Send(message) => {
                post(&WorkerEvent::Progress { id, stage: plico_api::worker::WorkerStage::Encrypting });
                let outgoing = mail::Outgoing {
                    to: message.to,
                    cc: message.cc,
                    bcc: message.bcc,
                    subject: message.subject,
                    text: message.text,
                    attachments: Vec::new(),
                    in_reply_to: message.in_reply_to,
                    references: message.references,
                };
                let now = (js_sys::Date::now() / 1000.0) as i64;
                mail::send(&FetchTransport, session, &outgoing, now).await?;
                Ok(WorkerOutcome::Sent)
            }
            _ => Err(plico_client::FlowError::Protocol("not a mail command".into())),
        }
    }

    fn scope() -> DedicatedWorkerGlobalScope {
        js_sys::global().unchecked_into()
    }

    fn post(event: &WorkerEvent) {
        if let Ok(json) = serde_json::to_string(event) {
            let _ = scope().post_message(&JsValue::from_str(&json));
        }
    }

    /// `fetch` from the worker, same-origin, with the CSRF header the API asks for.
    struct FetchTransport;

    fn js_error(value: JsValue) -> String {
        value
            .as_string()
            .or_else(|| js_sys::JSON::stringify(&value).ok().and_then(|s| s.as_string()))
            .unwrap_or_else(|| "unknown error".into())
    }

    impl Transport for FetchTransport {
        async fn request(
            &self,
            method: &str,
            path: &str,
            body: Option<TransportBody>,
        ) -> Result<TransportResponse, String> {
            let init = RequestInit::new();
            init.set_method(method);
            init.set_credentials(RequestCredentials::SameOrigin);
            let content_type = body.as_ref().map(|body| body.content_type);
            if let Some(body) = &body {
                init.set_body(&js_sys::Uint8Array::from(body.bytes.as_slice()));
            }
            let request =
                Request::new_with_str_and_init(&format!("{}{path}", plico_api::API_PREFIX), &init).map_err(js_error)?;
            if let Some(content_type) = content_type {
                request.headers().set("content-type", content_type).map_err(js_error)?;
            }
            if method != "GET" {
                request.headers().set(plico_api::CSRF_HEADER, "1").map_err(js_error)?;
            }
            let response: Response = wasm_bindgen_futures::JsFuture::from(scope().fetch_with_request(&request))
                .await
                .map_err(js_error)?
                .unchecked_into();
            let buffer = wasm_bindgen_futures::JsFuture::from(response.array_buffer().map_err(js_error)?)
                .await
                .map_err(js_error)?;
            Ok(TransportResponse { status: response.status(), body: js_sys::Uint8Array::new(&buffer).to_vec() })
        }
    }

    fn identity(session: &UnlockedSession) -> WorkerOutcome {
        WorkerOutcome::Unlocked(UnlockedIdentity {
            address: session.account.address.clone(),
            fingerprint: session.account.fingerprint.clone(),
        })
    }

    async fn handle(request: WorkerRequest) {
        let id = request.id;
        let progress = move |stage| post(&WorkerEvent::Progress { id, stage });
        let result = match request.command {
            WorkerCommand::Signup { name, password } => {
                plico_client::signup(&FetchTransport, &name, &password, progress).await
            }
            WorkerCommand::Login { address, password } => {
                plico_client::login(&FetchTransport, &address, &password, progress).await
            }
            WorkerCommand::Lock => {
                SESSION.with(|session| session.borrow_mut().take());
                MESSAGES.with(|cache| cache.borrow_mut().clear());
                post(&WorkerEvent::Done { id, outcome: WorkerOutcome::Locked });
                return;
            }
            mail => {
                match mail_command(id, mail).await {
                    Ok(outcome) => post(&WorkerEvent::Done { id, outcome }),
                    Err(error) => post(&WorkerEvent::Failed { id, code: error.code(), message: error.to_string() }),
                }
                return;
            }
        };
        match result {
            Ok(session) => {
                let outcome = identity(&session);
                SESSION.with(|slot| *slot.borrow_mut() = Some(std::rc::Rc::new(session)));
                post(&WorkerEvent::Done { id, outcome });
            }
            Err(error) => post(&WorkerEvent::Failed { id, code: error.code(), message: error.to_string() }),
        }
    }

    pub fn start() {
        console_error_panic_hook::set_once();
        let on_message = Closure::<dyn Fn(MessageEvent)>::new(|event: MessageEvent| {
            let Some(text) = event.data().as_string() else { return };
            match serde_json::from_str::<WorkerRequest>(&text) {
                Ok(request) => wasm_bindgen_futures::spawn_local(handle(request)),
                Err(error) => web_sys::console::error_1(&format!("worker: unreadable request: {error}").into()),
            }
        });
        scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        // Messages sent before the wasm loaded were dropped; the UI waits for this.
        post(&WorkerEvent::Ready);
    }
}

fn main() {
    #[cfg(target_arch = "wasm32")]
    worker::start();
}
