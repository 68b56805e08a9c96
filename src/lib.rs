//! Plico's browser UI, cut by feature: `auth` (sign-up, sign-in), `mail` (the shell),
//! `account` (key and login history), `contacts` (the loader of the Contacts app, a binary of its
//! own), with dumb widgets in `ui`.
//!
//! Architecture Invariant: the UI thread never holds a password longer than it takes to post it
//! to the worker, and never holds a secret key at all. Crypto lives in `crates/worker`.

pub mod account;
pub mod api_client;
pub mod app;
pub mod apps;
pub mod auth;
pub mod calendar;
pub mod consent;
pub mod contacts;
pub mod i18n;
pub mod json;
pub mod mail;
pub mod privacy;
pub mod router;
pub mod session;
pub mod settings;
pub mod shortcuts;
pub mod ui;
pub mod webauthn;
pub mod worker_client;

#[cfg(test)]
mod layers;
