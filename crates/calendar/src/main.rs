//! Plico's calendar worker: started by the crypto worker the first time the calendar is used
//! (see `worker.rs`).

fn main() {
    #[cfg(target_arch = "wasm32")]
    plico_calendar::worker::start();
}
