//! Fixed-window rate limits kept in memory, keyed by IP or account.

use std::collections::HashMap;
use std::sync::Mutex;

/// Counts attempts per key in windows of `window_seconds`.
pub struct RateLimiter {
    limit: u32,
    window_seconds: i64,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window_seconds: i64) -> Self {
        RateLimiter { limit, window_seconds, windows: Mutex::new(HashMap::new()) }
    }

    /// Records an attempt for `key` at `now`. Returns `Err(seconds until the window resets)`
    /// when the key is over its limit.
    pub fn check(&self, key: &str, now: i64) -> Result<(), u64> {
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > 100_000 {
            // Bound the memory an attacker can make us hold: forget windows that have ended.
            let window_seconds = self.window_seconds;
            windows.retain(|_, (start, _)| now - *start < window_seconds);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now - entry.0 >= self.window_seconds {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            return Err((entry.0 + self.window_seconds - now).max(1) as u64);
        }
        entry.1 += 1;
        Ok(())
    }

    /// Forgets `key`'s attempts (after a successful login).
    pub fn reset(&self, key: &str) {
        self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_within_a_window_and_resets_after() {
        let limiter = RateLimiter::new(2, 60);
        assert!(limiter.check("ip:1", 0).is_ok());
        assert!(limiter.check("ip:1", 1).is_ok());
        assert_eq!(limiter.check("ip:1", 10), Err(50));
        assert!(limiter.check("ip:2", 10).is_ok(), "keys are independent");
        assert!(limiter.check("ip:1", 60).is_ok(), "a new window starts");
        limiter.reset("ip:1");
        assert!(limiter.check("ip:1", 61).is_ok());
    }
}
