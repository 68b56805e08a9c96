//! Plico's transfer worker: the fifth wasm binary, started by the crypto worker on the first
//! export or import (see the library's documentation).

fn main() {
    #[cfg(target_arch = "wasm32")]
    plico_transfer::worker::start();
}
