//! Plico's keys worker: the eighth wasm binary, started by the crypto worker when the account's
//! keys are made or changed (see the library's documentation).

fn main() {
    #[cfg(target_arch = "wasm32")]
    plico_keys::worker::start();
}
