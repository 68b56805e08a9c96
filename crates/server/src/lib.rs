//! Plico's storage backend, as a library so tests can build the router without a socket.
//!
//! Architecture Invariant: only this crate knows HTTP. It stores ciphertext, public keys and the
//! metadata the privacy policy names; it never receives a password, a secret key in the clear,
//! or plaintext mail.

pub mod clock;
pub mod config;
pub mod factors;
pub mod geoip;
pub mod http;
pub mod inbound;
pub mod jobs;
pub mod metrics;
pub mod migrate;
pub mod node;
pub mod outbound;
pub mod passkeys;
pub mod policy;
pub mod seed;
pub mod shutdown;
mod state;
pub mod totp;
/// Rows and blobs: the only place that knows SQL or where a blob lives.
pub use plico_store as store;
/// WKD's hash and lookup places, shared with the browser's lookups.
pub use plico_wkd as wkd;

pub use state::*;

/// Bytes as people read them: "12.3 MB", "5 GB" (powers of 1000).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else if value >= 100.0 || value.fract() < 0.05 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Builds the whole HTTP application: API, key directory, app files, and the middleware.
pub fn router(state: AppState) -> axum::Router {
    http::router(state)
}
