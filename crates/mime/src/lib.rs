//! Plico's messages as RFC 5322 bytes: compose the inner message, wrap it as PGP/MIME
//! (RFC 3156) with protected headers, unwrap it again, and parse what comes out.
//!
//! A Plico message is two layers. The inner message holds everything: From, To, Cc, Subject,
//! Date, Message-ID, In-Reply-To, References, the bodies and the attachments, and its root
//! Content-Type says the headers are protected. It is encrypted and signed (by `plico-pgp`), and
//! the ciphertext goes into an outer `multipart/encrypted` message whose Subject is a
//! placeholder, so nothing readable travels outside the encryption.
//!
//! Architecture Invariant: bytes in, bytes out; no IO, no clock (the date is an input).

mod types;
pub use types::*;

#[cfg(feature = "codec")]
mod codec;
#[cfg(feature = "codec")]
pub use codec::*;

#[cfg(feature = "sanitize")]
pub mod sanitize;

pub mod render;
