//! Making and changing the account's keys, in workers of their own. Two binaries share this
//! library: `plico-keys` for sign-up (OPAQUE registration, the new OpenPGP certificate, its
//! secret sealed under the export key), password changes and the warrant canary's check, and
//! `plico-keyman` for changes to the account's keys (a post-quantum key, a rotation, an import,
//! a revocation), whose post-quantum key generation sign-up should not download. The crypto
//! worker starts the one a job needs and stops it after, so the crypto worker, which every page
//! loads, carries none of this.
//!
//! Architecture Invariant: like the crypto worker, this worker holds the password and the
//! secret key only in its memory; it talks only to the crypto worker (never to the page), which
//! receives the unlocked key from it and keeps it as it keeps one it unlocked itself.

pub mod protocol;
#[cfg(target_arch = "wasm32")]
pub mod worker;
