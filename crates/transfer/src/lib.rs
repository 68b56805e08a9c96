//! Export everything, and import mail: the fifth wasm binary, a worker the crypto worker starts
//! the first time the user exports or imports.
//!
//! What needs the account's keys stays in the crypto worker: it decrypts each message, and it
//! encrypts and stores each imported one, when this worker asks ([`protocol::Ask`]). Everything
//! else is here: which message goes where in the archive ([`export`]), the ZIP and mbox framing
//! ([`archive`]), and the archive kept outside wasm memory in a browser Blob ([`worker`]).
//!
//! Architecture Invariant: this worker never sees a secret key, a password or a sealed item; it
//! sees what the user exports or imports, as the page does, and makes no network requests.

pub mod archive;
pub mod export;
pub mod protocol;
#[cfg(target_arch = "wasm32")]
pub mod worker;
