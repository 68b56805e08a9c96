//! Fixed-window rate limits keyed by IP or account, with an optional backoff: a key that filled
//! its window waits a window twice as long the next time, and so on. The windows are rows
//! (`rate_windows`, by the SHA-256 of the key), so every node of a fleet counts the same
//! attempts; the rules are here.

use sha2::{Digest, Sha256};

use crate::config::ServeConfig;
use crate::store::nodes::RateWindow;
use crate::store::Store;

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
            login_per_ip: RateLimiter::new("login_per_ip", config.login_attempts_per_ip_per_minute, 60),
            login_per_account: RateLimiter::new("login_per_account", config.login_attempts_per_account, 15 * 60)
                .with_backoff(MAX_LOGIN_BACKOFF_STEPS),
            login_account_wide: RateLimiter::new(
                "login_account_wide",
                config.login_attempts_per_account.saturating_mul(ACCOUNT_WIDE_ATTEMPTS_FACTOR),
                15 * 60,
            ),
            signup_per_ip: RateLimiter::new("signup_per_ip", config.signups_per_ip_per_hour, 60 * 60),
            signup_finish_per_ip: RateLimiter::new("signup_finish_per_ip", config.signups_per_ip_per_hour, 60 * 60),
            recovery_mail: RateLimiter::new("recovery_mail", RECOVERY_CODES_PER_DAY, 24 * 60 * 60),
        }
    }
}

/// Counts attempts per key in windows of `window_seconds`.
pub struct RateLimiter {
    /// Its rows' name in `rate_windows`.
    name: &'static str,
    limit: u32,
    window_seconds: i64,
    max_backoff_steps: u32,
}

impl RateLimiter {
    pub fn new(name: &'static str, limit: u32, window_seconds: i64) -> Self {
        RateLimiter { name, limit, window_seconds, max_backoff_steps: 0 }
    }

    /// Each window a key fills doubles its next one, up to `max_steps` doublings.
    pub fn with_backoff(mut self, max_steps: u32) -> Self {
        self.max_backoff_steps = max_steps;
        self
    }

    fn length(&self, steps: i64) -> i64 {
        self.window_seconds << steps.clamp(0, i64::from(self.max_backoff_steps))
    }

    /// Records an attempt for `key` at `now`, on every node's count. `Ok(Err(seconds until the
    /// window resets))` when the key is over its limit.
    pub async fn check(&self, store: &Store, key: &str, now: i64) -> Result<Result<(), u64>, crate::store::Error> {
        store.rate_window(self.name, &key_hash(key), |window| self.decide(window, now)).await
    }

    /// How many attempts `key` made in its current window, without counting one.
    pub async fn count(&self, store: &Store, key: &str, now: i64) -> Result<i64, crate::store::Error> {
        store
            .rate_window(self.name, &key_hash(key), |window| {
                let count =
                    window.filter(|window| now - window.start < self.length(window.steps)).map_or(0, |w| w.count);
                (window, count)
            })
            .await
    }

    /// Forgets `key`'s attempts (after a successful login).
    pub async fn reset(&self, store: &Store, key: &str) -> Result<(), crate::store::Error> {
        store.rate_window(self.name, &key_hash(key), |_| (None, ())).await
    }

    /// The rule: given the key's window (if any), the window after this attempt and the answer.
    fn decide(&self, window: Option<RateWindow>, now: i64) -> (Option<RateWindow>, Result<(), u64>) {
        let mut window = window.unwrap_or(RateWindow { start: now, count: 0, steps: 0, expires_at: 0 });
        let length = self.length(window.steps);
        if now - window.start >= length {
            // A window that ended full makes the next one longer; a calm one ends the backoff.
            let steps = if window.count >= i64::from(self.limit) { window.steps + 1 } else { 0 };
            let steps = if now - window.start >= 2 * length { 0 } else { steps };
            window = RateWindow { start: now, count: 0, steps, expires_at: 0 };
        }
        let answer = if window.count >= i64::from(self.limit) {
            Err((window.start + self.length(window.steps) - now).max(1) as u64)
        } else {
            window.count += 1;
            Ok(())
        };
        // Kept while it can still matter: through its window and the one after (whose length
        // the backoff reads from it).
        window.expires_at = window.start + 3 * self.length(window.steps + 1);
        (Some(window), answer)
    }
}

/// What names a key's window: its SHA-256, so no IP or name is kept in the clear.
fn key_hash(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The limiter's rule over windows kept in a map, as the table keeps them.
    struct Harness(RateLimiter, std::collections::HashMap<String, RateWindow>);

    impl Harness {
        fn check(&mut self, key: &str, now: i64) -> Result<(), u64> {
            let (window, answer) = self.0.decide(self.1.get(key).copied(), now);
            match window {
                Some(window) => self.1.insert(key.to_owned(), window),
                None => self.1.remove(key),
            };
            answer
        }
        fn reset(&mut self, key: &str) {
            self.1.remove(key);
        }
    }

    #[test]
    fn limits_within_a_window_and_resets_after() {
        let mut limiter = Harness(RateLimiter::new("test", 2, 60), Default::default());
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
        let mut limiter = Harness(RateLimiter::new("test", 1, 60).with_backoff(2), Default::default());
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
