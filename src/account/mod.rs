//! The account page: address, key fingerprint, and the login history.

pub mod model;
mod views;

pub use views::AccountPage;
