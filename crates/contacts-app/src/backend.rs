//! The app's one way out: the shell's functions.

use plico_api::contacts::{ContactsCommand, ContactsOutcome, ContactsReply};
use wasm_bindgen::JsCast;

#[derive(Clone)]
pub struct Backend {
    call: js_sys::Function,
    compose: js_sys::Function,
}

impl Backend {
    pub fn new(call: js_sys::Function, compose: js_sys::Function) -> Backend {
        Backend { call, compose }
    }

    /// Runs `command` in the contacts worker.
    pub async fn ask(&self, command: ContactsCommand) -> Result<ContactsOutcome, String> {
        let bytes = postcard::to_allocvec(&command).map_err(|error| error.to_string())?;
        let promise = self
            .call
            .call1(&wasm_bindgen::JsValue::NULL, &js_sys::Uint8Array::from(bytes.as_slice()))
            .map_err(describe)?
            .dyn_into::<js_sys::Promise>()
            .map_err(|_| "The mail app did not answer.".to_owned())?;
        let reply = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(describe)?;
        let bytes = reply
            .dyn_into::<js_sys::Uint8Array>()
            .map_err(|_| "The contacts worker answered unreadably.".to_owned())?;
        let reply: ContactsReply = postcard::from_bytes(&bytes.to_vec())
            .map_err(|error| format!("The contacts worker answered unreadably: {error}"))?;
        reply.result
    }

    /// Opens the composer to `address`.
    pub fn compose(&self, address: &str) {
        let _ = self.compose.call1(&wasm_bindgen::JsValue::NULL, &address.into());
    }
}

fn describe(error: wasm_bindgen::JsValue) -> String {
    error.as_string().unwrap_or_else(|| "The contacts worker did not answer.".to_owned())
}
