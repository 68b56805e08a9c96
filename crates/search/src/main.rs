//! Plico's search worker: the fourth wasm binary. The crypto worker starts it after sign-in,
//! hands it the index key and the text of each message it decrypts, and asks it queries.
//!
//! Architecture Invariant: this worker makes no network requests; what it stores in IndexedDB
//! is sealed with the key the crypto worker derived for it.

fn main() {
    #[cfg(target_arch = "wasm32")]
    plico_search::worker::start();
}
