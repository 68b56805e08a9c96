//! A worker this worker starts (the render, search and transfer workers): started on first use,
//! fed postcard bytes, answered by id. Every protocol puts the request's `u32` id first, so
//! the answer's leading varint says which request it answers. Ids start at 1: a message that
//! leads with 0 is the nested worker asking something of this one ([`Nested::on_ask`]).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures_channel::oneshot;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

type Answer = Result<Vec<u8>, String>;
type OnAsk = Rc<dyn Fn(Vec<u8>)>;

pub struct Nested {
    worker: Worker,
    /// What the worker is called in messages to the user.
    label: &'static str,
    ready: Cell<bool>,
    queue: RefCell<Vec<js_sys::Uint8Array>>,
    next_id: Cell<u32>,
    pending: RefCell<HashMap<u32, oneshot::Sender<Answer>>>,
    stopped: Cell<bool>,
    on_ask: RefCell<Option<OnAsk>>,
}

fn fail_all(inner: &Nested, message: &str) {
    for (_, done) in inner.pending.borrow_mut().drain() {
        let _ = done.send(Err(message.to_owned()));
    }
}

fn send_now(inner: &Nested, array: &js_sys::Uint8Array) {
    let transfer = js_sys::Array::of1(&array.buffer());
    let _ = inner.worker.post_message_with_transfer(array, &transfer);
}

/// postcard's varint of a `u32` at the start of `bytes`: its value, and the bytes after it.
pub fn varint(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let mut value = 0u32;
    for (i, &byte) in bytes.iter().take(5).enumerate() {
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// postcard's varint of the leading `u32`.
fn leading_id(bytes: &[u8]) -> Option<u32> {
    varint(bytes).map(|(id, _)| id)
}

impl Nested {
    /// Starts the worker at `url` (trunk's loader for a binary).
    pub fn spawn(url: &str, name: &str, label: &'static str) -> Result<Rc<Nested>, String> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Classic);
        options.set_name(name);
        let worker = Worker::new_with_options(url, &options)
            .map_err(|error| format!("could not start the {label}: {error:?}"))?;
        let inner = Rc::new(Nested {
            worker,
            label,
            ready: Cell::new(false),
            queue: RefCell::new(Vec::new()),
            next_id: Cell::new(1),
            pending: RefCell::new(HashMap::new()),
            stopped: Cell::new(false),
            on_ask: RefCell::new(None),
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
            let bytes = array.to_vec();
            match leading_id(&bytes) {
                Some(0) => {
                    let on_ask = inner.on_ask.borrow().clone();
                    if let Some(on_ask) = on_ask {
                        on_ask(bytes);
                    }
                }
                Some(id) => {
                    if let Some(done) = inner.pending.borrow_mut().remove(&id) {
                        let _ = done.send(Ok(bytes));
                    }
                }
                None => fail_all(&inner, &format!("The {} answered unreadably.", inner.label)),
            }
        });
        inner.worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
        let weak = Rc::downgrade(&inner);
        let on_error = Closure::<dyn Fn(ErrorEvent)>::new(move |event: ErrorEvent| {
            if let Some(inner) = weak.upgrade() {
                inner.stopped.set(true);
                fail_all(&inner, &format!("The {} stopped: {}", inner.label, event.message()));
            }
        });
        inner.worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        Ok(inner)
    }

    /// Whether the worker died (the caller starts a fresh one).
    pub fn stopped(&self) -> bool {
        self.stopped.get()
    }

    /// Hands `on_ask` each message that leads with id 0: the nested worker's own asks.
    pub fn on_ask(&self, on_ask: impl Fn(Vec<u8>) + 'static) {
        *self.on_ask.borrow_mut() = Some(Rc::new(on_ask));
    }

    /// The id the next request must carry (never 0).
    pub fn next_id(&self) -> u32 {
        let id = self.next_id.get();
        self.next_id.set(id.checked_add(1).unwrap_or(1));
        id
    }

    /// Sends a message that has no answer (one that answers the nested worker's ask).
    pub fn tell(&self, bytes: Vec<u8>) {
        self.post(js_sys::Uint8Array::from(bytes.as_slice()));
    }

    /// Sends now, or once the worker says it loaded.
    fn post(&self, array: js_sys::Uint8Array) {
        if self.ready.get() {
            send_now(self, &array);
        } else {
            self.queue.borrow_mut().push(array);
        }
    }

    /// Sends a request that carries `id` first, and waits for its answer's bytes.
    pub async fn ask(&self, id: u32, bytes: Vec<u8>) -> Answer {
        let array = js_sys::Uint8Array::from(bytes.as_slice());
        drop(bytes);
        let (done, answer) = oneshot::channel();
        self.pending.borrow_mut().insert(id, done);
        self.post(array);
        answer.await.unwrap_or_else(|_| Err(format!("The {} went away.", self.label)))
    }

    pub fn terminate(&self) {
        self.worker.terminate();
        fail_all(self, &format!("The {} was stopped.", self.label));
    }
}

#[cfg(test)]
mod tests {
    use super::{leading_id, varint};

    #[test]
    fn reads_postcards_leading_varint() {
        assert_eq!(leading_id(&[5, 1, 2]), Some(5));
        assert_eq!(leading_id(&[0x80, 0x01]), Some(128));
        assert_eq!(leading_id(&[0xff, 0xff, 0xff, 0xff, 0x0f]), Some(u32::MAX));
        assert_eq!(leading_id(&[0x80]), None);
        assert_eq!(varint(&[0x80, 0x01, 7, 8]), Some((128, &[7u8, 8][..])));
        assert_eq!(varint(&[3]), Some((3, &[][..])));
    }
}
