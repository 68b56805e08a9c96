//! The render worker, seen from the crypto worker: started on first use (or right after sign-in,
//! to be warm), fed postcard bytes, and answered by id.

use std::cell::RefCell;
use std::rc::Rc;

use plico_client::mail::Renderer;
use plico_mime::render::{RenderCommand, RenderOutcome, RenderReply, RenderRequest};

use crate::nested::Nested;

/// trunk writes the render worker's loader under its binary name.
const RENDER_URL: &str = "/plico-render_loader.js";

thread_local! {
    static RENDER: RefCell<Option<Rc<Nested>>> = const { RefCell::new(None) };
}

fn running() -> Result<Rc<Nested>, String> {
    RENDER.with(|slot| {
        if let Some(inner) = slot.borrow().as_ref().filter(|inner| !inner.stopped()) {
            return Ok(Rc::clone(inner));
        }
        let inner = Nested::spawn(RENDER_URL, "plico-render", "render worker")?;
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
        let id = inner.next_id();
        let bytes = postcard::to_allocvec(&RenderRequest { id, command }).map_err(|error| error.to_string())?;
        let answer = inner.ask(id, bytes).await?;
        let reply: RenderReply =
            postcard::from_bytes(&answer).map_err(|error| format!("The render worker answered unreadably: {error}"))?;
        reply.result
    }
}
