//! The render worker, seen from the crypto worker: started on first use (or right after sign-in,
//! to be warm), fed postcard bytes, and answered by id.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_channel::oneshot;
use plico_client::mail::Renderer;
use plico_mime::render::{RenderCommand, RenderOutcome, RenderReply, RenderRequest};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

/// trunk writes the render worker's loader under its binary name.
const RENDER_URL: &str = "/plico-render_loader.js";

type Answer = Result<RenderOutcome, String>;

struct Inner {
    worker: Worker,
    ready: Cell<bool>,
    queue: RefCell<Vec<js_sys::Uint8Array>>,
    next_id: Cell<u32>,
    pending: RefCell<HashMap<u32, oneshot::Sender<Answer>>>,
}

thread_local! {
    static RENDER: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
}

fn fail_all(inner: &Inner, message: &str) {
    for (_, done) in inner.pending.borrow_mut().drain() {
        let _ = done.send(Err(message.to_owned()));
    }
}

fn send_now(inner: &Inner, array: &js_sys::Uint8Array) {
    let transfer = js_sys::Array::of1(&array.buffer());
    let _ = inner.worker.post_message_with_transfer(array, &transfer);
}

fn spawn() -> Result<Rc<Inner>, String> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Classic);
    options.set_name("plico-render");
    let worker = Worker::new_with_options(RENDER_URL, &options)
        .map_err(|error| format!("could not start the render worker: {error:?}"))?;
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
        if array.length() == 0 {
            inner.ready.set(true);
            for queued in inner.queue.borrow_mut().drain(..) {
                send_now(&inner, &queued);
            }
            return;
        }
        match postcard::from_bytes::<RenderReply>(&array.to_vec()) {
            Ok(reply) => {
                if let Some(done) = inner.pending.borrow_mut().remove(&reply.id) {
                    let _ = done.send(reply.result);
                }
            }
            Err(error) => fail_all(&inner, &format!("The render worker answered unreadably: {error}")),
        }
    });
    inner.worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let weak = Rc::downgrade(&inner);
    let on_error = Closure::<dyn Fn(ErrorEvent)>::new(move |event: ErrorEvent| {
        if let Some(inner) = weak.upgrade() {
            fail_all(&inner, &format!("The render worker stopped: {}", event.message()));
            // The next command starts a fresh one.
            RENDER.with(|slot| slot.borrow_mut().take());
        }
    });
    inner.worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    Ok(inner)
}

fn running() -> Result<Rc<Inner>, String> {
    RENDER.with(|slot| {
        if let Some(inner) = slot.borrow().as_ref() {
            return Ok(Rc::clone(inner));
        }
        let inner = spawn()?;
        *slot.borrow_mut() = Some(Rc::clone(&inner));
        Ok(inner)
    })
}

/// Starts the render worker now, so the first message opens without waiting for its download.
pub fn warm_up() {
    let _ = running();
}

/// The render worker as a [`Renderer`].
pub struct RenderWorker;

impl Renderer for RenderWorker {
    async fn render(&self, command: RenderCommand) -> Result<RenderOutcome, String> {
        let inner = running()?;
        let id = inner.next_id.get();
        inner.next_id.set(id.wrapping_add(1));
        let bytes = postcard::to_allocvec(&RenderRequest { id, command }).map_err(|error| error.to_string())?;
        let array = js_sys::Uint8Array::from(bytes.as_slice());
        drop(bytes);
        let (done, answer) = oneshot::channel();
        inner.pending.borrow_mut().insert(id, done);
        if inner.ready.get() {
            send_now(&inner, &array);
        } else {
            inner.queue.borrow_mut().push(array);
        }
        answer.await.unwrap_or_else(|_| Err("The render worker went away.".into()))
    }
}
