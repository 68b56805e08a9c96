//! The app's one way out: the shell's function.

use plico_api::calendar::{CalendarCommand, CalendarOutcome, CalendarReply, CalendarRequest};
use wasm_bindgen::JsCast;

#[derive(Clone)]
pub struct Backend {
    call: js_sys::Function,
}

impl Backend {
    pub fn new(call: js_sys::Function) -> Backend {
        Backend { call }
    }

    /// Runs `command` in the calendar worker.
    pub async fn ask(&self, command: CalendarCommand) -> Result<CalendarOutcome, String> {
        // The id is the crypto worker's to set: the bytes are the command alone, and the
        // calendar worker reads them as a `CalendarRequest` with that id in front.
        let request = CalendarRequest { id: 0, command };
        let bytes = postcard::to_allocvec(&request).map_err(|error| error.to_string())?;
        let promise = self
            .call
            .call1(&wasm_bindgen::JsValue::NULL, &js_sys::Uint8Array::from(&bytes[1..]))
            .map_err(describe)?
            .dyn_into::<js_sys::Promise>()
            .map_err(|_| "The mail app did not answer.".to_owned())?;
        let reply = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(describe)?;
        let bytes = reply
            .dyn_into::<js_sys::Uint8Array>()
            .map_err(|_| "The calendar worker answered unreadably.".to_owned())?;
        let reply: CalendarReply = postcard::from_bytes(&bytes.to_vec())
            .map_err(|error| format!("The calendar worker answered unreadably: {error}"))?;
        reply.result
    }
}

fn describe(error: wasm_bindgen::JsValue) -> String {
    error.as_string().unwrap_or_else(|| "The calendar worker did not answer.".to_owned())
}
