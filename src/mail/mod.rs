//! The mail shell: folders on the left, the message list on the right.

mod compose;
pub mod model;
mod outbox;
mod reader;
pub mod search;
pub mod state;
mod views;

pub use compose::{ComposePage, ComposeSeed};
pub use outbox::OutboxPage;
pub use search::SearchPage;
pub use views::{MailPage, Shell, SignOutButton};
