//! Making and changing the account's keys, in a worker of its own: sign-up (OPAQUE
//! registration, the new OpenPGP certificate, its secret sealed under the export key) today;
//! password changes, new and imported keys as they come. The crypto worker starts it when one of
//! these is asked for and stops it after, so the crypto worker, which every page loads, does
//! not carry key generation (about 7 KB brotli of it).
//!
//! Architecture Invariant: like the crypto worker, this worker holds the password and the
//! secret key only in its memory; it talks only to the crypto worker (never to the page), which
//! receives the unlocked key from it and keeps it as it keeps one it unlocked itself.

pub mod protocol;
#[cfg(target_arch = "wasm32")]
pub mod worker;
