//! What Plico's crypto worker does, as plain functions that compile natively and to wasm.
//!
//! The worker binary (`crates/worker`) only moves messages; everything it does is here, so the
//! server's tests can drive the real sign-up and sign-in flows through the real router, and the
//! wasm tests can run the same code in Chromium.
//!
//! Architecture Invariant: the password, the OPAQUE export key and the secret key exist only in
//! this crate's memory (in the browser: the worker's). What leaves is OPAQUE messages, the
//! public certificate and the sealed secret key; and, on a device the user keeps usable offline,
//! the export key sealed under Argon2id of the password, in the device's own store
//! ([`device_unlock`]).

pub mod account_keys;
pub mod cache;
pub mod device_unlock;
pub mod export;
pub mod flows;
pub mod items;
pub mod keyring;
pub mod mail;
pub mod privacy;
pub mod seal;
pub mod sealed;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use flows::{
    login, login_reopening, sign_in, signup, signup_with_recovery, FlowError, SignedIn, Transport, UnlockedSession,
};
