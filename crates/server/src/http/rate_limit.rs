//! Fixed-window rate limits kept in memory, keyed by IP or account, with an optional backoff: a
//! key that filled its window waits a window twice as long the next time, and so on.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::config::ServeConfig;

/// A source that keeps guessing waits twice as long after each window it filled, up to 2^6
/// windows (16 hours for 15 minutes).
const MAX_LOGIN_BACKOFF_STEPS: u32 = 6;

/// Guessing spread over many sources may make this many times the per-source attempts on one
/// account per window before sources it never signed in from wait.
const ACCOUNT_WIDE_ATTEMPTS_FACTOR: u32 = 10;

/// Activation codes one account may have mailed to recovery addresses per day.
pub const RECOVERY_CODES_PER_DAY: u32 = 5;

/// Every limit the API holds, from the operator's settings.
pub struct Limits {
    pub login_per_ip: RateLimiter,
    /// Sign-in attempts per account from one source: a stranger locks out only themselves.
    pub login_per_account: RateLimiter,
    /// Sign-in attempts per account from sources it never signed in from (guessing spread over
    /// many addresses); the owner's known devices pass.
    pub login_account_wide: RateLimiter,
    pub signup_per_ip: RateLimiter,
    pub signup_finish_per_ip: RateLimiter,
    /// Activation codes mailed to recovery addresses, per account per day.
    pub recovery_mail: RateLimiter,
}

impl Limits {
    pub fn new(config: &ServeConfig) -> Limits {
        Limits {
            login_per_ip: RateLimiter::new(config.login_attempts_per_ip_per_minute, 60),
            login_per_account: RateLimiter::new(config.login_attempts_per_account, 15 * 60)
                .with_backoff(MAX_LOGIN_BACKOFF_STEPS),
            login_account_wide: RateLimiter::new(
                config.login_attempts_per_account.saturating_mul(ACCOUNT_WIDE_ATTEMPTS_FACTOR),
                15 * 60,
            ),
            signup_per_ip: RateLimiter::new(config.signups_per_ip_per_hour, 60 * 60),
            signup_finish_per_ip: RateLimiter::new(config.signups_per_ip_per_hour, 60 * 60),
            recovery_mail: RateLimiter::new(RECOVERY_CODES_PER_DAY, 24 * 60 * 60),
        }
    }
}

/// Counts attempts per key in windows of `window_seconds`.
pub struct RateLimiter {
    limit: u32,
    window_seconds: i64,
    max_backoff_steps: u32,
    windows: Mutex<HashMap<String, Window>>,
}

/// One key's window: when it started, the attempts in it, and how many windows in a row it
/// filled (the backoff's step).
#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    count: u32,
    steps: u32,
}

impl RateLimiter {
    pub fn new(limit: u32, window_seconds: i64) -> Self {
        RateLimiter { limit, window_seconds, max_backoff_steps: 0, windows: Mutex::new(HashMap::new()) }
    }

    /// Each window a key fills doubles its next one, up to `max_steps` doublings.
    pub fn with_backoff(mut self, max_steps: u32) -> Self {
        self.max_backoff_steps = max_steps;
        self
    }

    fn length(&self, steps: u32) -> i64 {
        self.window_seconds << steps.min(self.max_backoff_steps)
    }

    /// Records an attempt for `key` at `now`. Returns `Err(seconds until the window resets)`
    /// when the key is over its limit.
    pub fn check(&self, key: &str, now: i64) -> Result<(), u64> {
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > 100_000 {
            // Bound the memory an attacker can make us hold: forget windows that have ended.
            windows.retain(|_, window| now - window.start < self.length(window.steps));
        }
        let entry = windows.entry(key.to_owned()).or_insert(Window { start: now, count: 0, steps: 0 });
        let length = self.length(entry.steps);
        if now - entry.start >= length {
            // A window that ended full makes the next one longer; a calm one ends the backoff.
            let steps = if entry.count >= self.limit { entry.steps + 1 } else { 0 };
            *entry = Window { start: now, count: 0, steps: if now - entry.start >= 2 * length { 0 } else { steps } };
        }
        if entry.count >= self.limit {
            return Err((entry.start + self.length(entry.steps) - now).max(1) as u64);
        }
        entry.count += 1;
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

    #[test]
    fn a_key_that_keeps_filling_its_window_waits_longer_each_time() {
        let limiter = RateLimiter::new(1, 60).with_backoff(2);
        assert!(limiter.check("k", 0).is_ok());
        assert_eq!(limiter.check("k", 1), Err(59));
        // The next window is twice as long.
        assert!(limiter.check("k", 60).is_ok());
        assert_eq!(limiter.check("k", 61), Err(119));
        assert!(limiter.check("k", 180).is_ok());
        assert_eq!(limiter.check("k", 181), Err(239), "four times, the most");
        assert!(limiter.check("k", 420).is_ok());
        assert_eq!(limiter.check("k", 421), Err(239));
        // A long calm ends the backoff.
        assert!(limiter.check("k", 5000).is_ok());
        assert_eq!(limiter.check("k", 5001), Err(59));
    }
}
