//! Plico's render worker: MIME composing and parsing and the HTML sanitiser, in their own wasm
//! binary. The crypto worker starts it (a nested worker) when mail is first opened or written,
//! so neither the page nor the sign-in path downloads mail-parser, mail-builder or ammonia.
//!
//! Architecture Invariant: this worker holds no keys and makes no requests. It gets bytes from
//! the crypto worker and gives bytes back; plaintext it sees was decrypted in this browser.

#[cfg(target_arch = "wasm32")]
mod worker {
    use plico_mime::render::{RenderReply, RenderRequest};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    fn scope() -> DedicatedWorkerGlobalScope {
        js_sys::global().unchecked_into()
    }

    fn reply(reply: &RenderReply) {
        let Ok(bytes) = postcard::to_allocvec(reply) else { return };
        let array = js_sys::Uint8Array::from(bytes.as_slice());
        let transfer = js_sys::Array::of1(&array.buffer());
        let _ = scope().post_message_with_transfer(&array, &transfer);
    }

    pub fn start() {
        console_error_panic_hook::set_once();
        let on_message = Closure::<dyn Fn(MessageEvent)>::new(|event: MessageEvent| {
            let Ok(array) = event.data().dyn_into::<js_sys::Uint8Array>() else { return };
            match postcard::from_bytes::<RenderRequest>(&array.to_vec()) {
                Ok(request) => reply(&RenderReply { id: request.id, result: plico_mime::render::run(request.command) }),
                Err(error) => web_sys::console::error_1(&format!("render: unreadable request: {error}").into()),
            }
        });
        scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        // A zero-length message says "loaded": requests sent before it were queued by the caller.
        let _ = scope().post_message(&js_sys::Uint8Array::new_with_length(0));
    }
}

fn main() {
    #[cfg(target_arch = "wasm32")]
    worker::start();
}
