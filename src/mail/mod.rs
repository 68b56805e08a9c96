//! The mail shell: folders on the left, the message list on the right.

use leptos::prelude::*;

mod compose;
pub mod model;
mod outbox;
mod reader;
mod recipients;
pub mod search;
pub mod state;
mod views;

pub use compose::{ComposePage, ComposeSeed};
pub use outbox::OutboxPage;
pub use search::SearchPage;
pub use views::{MailPage, Shell, SignOutButton};

/// The mail feature's own state, beside the [`Session`](crate::session::Session): provided at
/// the root so that it outlives page changes, emptied at sign-out.
#[derive(Clone, Copy)]
pub struct Mail {
    /// What the composer starts with next (a reply, a forward); taken when it opens.
    pub compose_seed: RwSignal<Option<ComposeSeed>>,
    /// The synced mailbox.
    pub mailbox: RwSignal<state::MailboxState>,
    /// The search box's query and the local index's state.
    pub search: RwSignal<search::SearchState>,
}

impl Mail {
    /// Empty mail state, provided as context.
    pub fn provide() -> Mail {
        let mail = Mail {
            compose_seed: RwSignal::new(None),
            mailbox: RwSignal::new(Default::default()),
            search: RwSignal::new(Default::default()),
        };
        provide_context(mail);
        mail
    }
}

/// The mail context.
pub fn use_mail() -> Mail {
    use_context::<Mail>().unwrap_or_else(|| panic!("Mail context is provided by App"))
}
