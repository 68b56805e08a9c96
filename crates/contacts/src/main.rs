//! Plico's contacts worker: the sixth wasm binary, started by the crypto worker the first time
//! contacts are used (see `worker.rs`).

fn main() {
    #[cfg(target_arch = "wasm32")]
    plico_contacts::worker::start();
}
