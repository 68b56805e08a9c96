//! Sign-up's proof of work (`plico-pow`) as the keys worker solves it, built with the same
//! release profile: `runs` fresh challenges of `rounds` × `bits`, each timed.

use wasm_bindgen::prelude::*;

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Solves `runs` challenges (each with its own salt) and returns JSON: each solve's
/// milliseconds, their median and 95th percentile, and hashes per second.
#[wasm_bindgen]
pub fn pow_bench(runs: u32, rounds: u32, bits: u32) -> String {
    let mut times = Vec::with_capacity(runs as usize);
    let mut hashes = 0u64;
    for run in 0..runs {
        let mut salt = [0u8; 16];
        salt[..4].copy_from_slice(&run.to_be_bytes());
        let challenge = plico_pow::Challenge::issue(b"bench", "signup", salt, rounds, bits, 0, 600);
        let started = now_ms();
        let nonces = plico_pow::solve(&challenge, |_, _| {});
        times.push(now_ms() - started);
        // Every nonce below the one found was hashed too.
        hashes += nonces.iter().map(|nonce| nonce + 1).sum::<u64>();
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let at = |share: f64| sorted[((sorted.len() as f64 * share).ceil() as usize).clamp(1, sorted.len()) - 1];
    let total_seconds = times.iter().sum::<f64>() / 1000.0;
    format!(
        r#"{{"runs":{runs},"rounds":{rounds},"bits":{bits},"median_ms":{:.0},"p95_ms":{:.0},"hashes_per_second":{:.0},"times_ms":{:?}}}"#,
        at(0.5),
        at(0.95),
        hashes as f64 / total_seconds.max(1e-9),
        times.iter().map(|ms| ms.round() as u64).collect::<Vec<_>>()
    )
}
