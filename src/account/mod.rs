//! The account page: address, key fingerprint, and the login history.

mod keyring;
mod lifecycle;
pub mod model;
mod transfer;
mod views;

pub use views::AccountPage;
