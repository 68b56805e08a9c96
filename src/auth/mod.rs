//! Sign-up and sign-in.

pub mod model;
mod views;

pub use views::{LoginPage, SignupPage};
