//! The mail shell: folders on the left, the message list on the right.

pub mod model;
mod views;

pub use views::{MailPage, Shell, SignOutButton};
