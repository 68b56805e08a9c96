//! The calendar worker, seen from the contacts worker (wasm only): this worker keeps the
//! account's item key, so it starts the calendar worker (`plico-calendar`) the first time a
//! calendar command comes (`ContactsCommand::Calendar`), hands it the key once, and passes each
//! command on under the request's id; the calendar worker's replies go back up as they are (they
//! lead with the same id). The crypto worker, whose size budget is spent, sees only contacts
//! commands.

use std::cell::RefCell;

use js_sys::{Array, Uint8Array};
use plico_api::contacts::ContactsKey;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

struct Calendar {
    worker: Worker,
    /// Messages waiting until the calendar worker says it has loaded (an empty message).
    queue: Option<Vec<Uint8Array>>,
}

thread_local! {
    static CALENDAR: RefCell<Option<Calendar>> = const { RefCell::new(None) };
    /// What the crypto worker handed this worker, for the calendar worker's key message.
    static KEY: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// Keeps the key message (`ContactsKey`'s bytes) for the calendar worker.
pub fn keep_key(key: &ContactsKey) {
    KEY.with(|slot| *slot.borrow_mut() = postcard::to_allocvec(key).ok());
}

fn post(worker: &Worker, array: &Uint8Array) {
    let _ = worker.post_message_with_transfer(array, &Array::of1(&array.buffer()));
}

/// Passes `command` (a `CalendarCommand`'s bytes) to the calendar worker as request `id`.
pub fn forward(id: u32, command: Vec<u8>) {
    let Ok(mut request) = postcard::to_allocvec(&id) else { return };
    request.extend(command);
    let message = Uint8Array::from(request.as_slice());
    let started = CALENDAR.with(|slot| {
        let mut slot = slot.borrow_mut();
        match slot.as_mut() {
            Some(calendar) => {
                match calendar.queue.as_mut() {
                    Some(queue) => queue.push(message.clone()),
                    None => post(&calendar.worker, &message),
                }
                true
            }
            None => false,
        }
    });
    if started {
        return;
    }
    match start() {
        Ok(worker) => {
            // The key first, then the command, both queued until the worker has loaded.
            let key = KEY.with(|slot| slot.borrow().clone()).unwrap_or_default();
            let queue = vec![Uint8Array::from(key.as_slice()), message];
            CALENDAR.with(|slot| *slot.borrow_mut() = Some(Calendar { worker, queue: Some(queue) }));
        }
        Err(why) => answer_error(id, &why),
    }
}

fn start() -> Result<Worker, String> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Classic);
    options.set_name("plico-calendar");
    let worker = Worker::new_with_options(plico_api::calendar::WORKER_URL, &options)
        .map_err(|error| format!("The calendar worker could not start: {error:?}"))?;
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(|event: MessageEvent| {
        let Ok(array) = event.data().dyn_into::<Uint8Array>() else { return };
        if array.length() == 0 {
            // Loaded: what waited goes now.
            CALENDAR.with(|slot| {
                if let Some(calendar) = slot.borrow_mut().as_mut() {
                    for message in calendar.queue.take().unwrap_or_default() {
                        post(&calendar.worker, &message);
                    }
                }
            });
            return;
        }
        let _ = crate::worker::scope().post_message_with_transfer(&array, &Array::of1(&array.buffer()));
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let on_error = Closure::<dyn Fn(web_sys::ErrorEvent)>::new(|event: web_sys::ErrorEvent| {
        web_sys::console::error_1(&format!("calendar worker: {}", event.message()).into());
        CALENDAR.with(|slot| slot.borrow_mut().take());
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    Ok(worker)
}

/// A `CalendarReply` with an error, for request `id`, written as the calendar worker would.
fn answer_error(id: u32, why: &str) {
    let reply = plico_api::calendar::CalendarReply { id, result: Err(why.to_owned()) };
    if let Ok(bytes) = postcard::to_allocvec(&reply) {
        let array = Uint8Array::from(bytes.as_slice());
        let _ = crate::worker::scope().post_message_with_transfer(&array, &Array::of1(&array.buffer()));
    }
}
