//! Sign-up's proof of work, instead of a captcha: nothing is asked of a third party, and what a
//! bot pays grows with the number of accounts it makes.
//!
//! The server issues a [`Challenge`]: a random salt, a number of rounds and a difficulty in
//! bits, an expiry, and the id of the sign-up it belongs to, all signed with HMAC-SHA-256 under
//! a key of the server's, so it keeps no state until the answer comes. The browser finds, for
//! each round, a nonce whose SHA-256 over (salt, round, nonce) starts with `bits` zero bits. One
//! round of 2^bits expected hashes has a long tail (its 95th percentile is three times its
//! median); many smaller rounds narrow it (the sum of n rounds spreads as 1/sqrt(n)), so the
//! wait is about the same on every try. The server checks the signature, the expiry, the
//! sign-up id and every round's hash; single use is the caller's (the sign-up it names is
//! spent when it finishes).

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Most rounds a challenge may ask for (bounds the server's checking work).
pub const MAX_ROUNDS: u32 = 64;
/// Most bits a round may ask for.
pub const MAX_BITS: u32 = 30;

/// What the server asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The sign-up this challenge is for.
    pub signup_id: String,
    /// 16 random bytes, hex.
    pub salt: String,
    pub rounds: u32,
    pub bits: u32,
    /// Unix seconds after which the answer is refused.
    pub expires_at: i64,
    /// HMAC-SHA-256 of the fields above, hex.
    pub signature: String,
}

impl From<plico_api::PowChallenge> for Challenge {
    fn from(wire: plico_api::PowChallenge) -> Self {
        let plico_api::PowChallenge { signup_id, salt, rounds, bits, expires_at, signature } = wire;
        Challenge { signup_id, salt, rounds, bits, expires_at, signature }
    }
}

impl From<Challenge> for plico_api::PowChallenge {
    fn from(challenge: Challenge) -> Self {
        let Challenge { signup_id, salt, rounds, bits, expires_at, signature } = challenge;
        plico_api::PowChallenge { signup_id, salt, rounds, bits, expires_at, signature }
    }
}

/// Why an answer was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PowError {
    /// The challenge was not issued by this server, or was changed.
    Forged,
    /// Issued for another sign-up.
    OtherSignup,
    Expired,
    /// The answer does not solve it.
    Wrong,
    /// The challenge asks for more work than a server issues.
    OutOfBounds,
}

impl std::fmt::Display for PowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PowError::Forged => "the proof-of-work challenge was not issued by this server, or was changed",
            PowError::OtherSignup => "the proof-of-work challenge belongs to another sign-up",
            PowError::Expired => "the proof-of-work challenge has expired; start the sign-up again",
            PowError::Wrong => "the proof of work does not solve its challenge",
            PowError::OutOfBounds => "the proof-of-work challenge asks for more rounds or bits than allowed",
        })
    }
}

impl std::error::Error for PowError {}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn signed_fields(signup_id: &str, salt: &str, rounds: u32, bits: u32, expires_at: i64) -> Vec<u8> {
    format!("plico-pow-v1\n{signup_id}\n{salt}\n{rounds}\n{bits}\n{expires_at}").into_bytes()
}

fn sign(key: &[u8], fields: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(fields);
    mac
}

impl Challenge {
    /// A new challenge for `signup_id`, valid for `lifetime` seconds from `now`; `salt` is 16
    /// random bytes the caller draws.
    pub fn issue(key: &[u8], signup_id: &str, salt: [u8; 16], rounds: u32, bits: u32, now: i64, lifetime: i64) -> Self {
        let (salt, rounds, bits) = (hex(&salt), rounds.clamp(1, MAX_ROUNDS), bits.min(MAX_BITS));
        let expires_at = now + lifetime;
        let signature =
            hex(&sign(key, &signed_fields(signup_id, &salt, rounds, bits, expires_at)).finalize().into_bytes());
        Challenge { signup_id: signup_id.to_owned(), salt, rounds, bits, expires_at, signature }
    }

    /// How many hashes a solver makes on average: rounds × 2^bits.
    pub fn expected_hashes(&self) -> u64 {
        u64::from(self.rounds) << self.bits.min(MAX_BITS)
    }

    /// Checks `nonces` (one per round) against this challenge, for `signup_id`, at `now`.
    pub fn verify(&self, key: &[u8], signup_id: &str, nonces: &[u64], now: i64) -> Result<(), PowError> {
        if self.rounds == 0 || self.rounds > MAX_ROUNDS || self.bits > MAX_BITS {
            return Err(PowError::OutOfBounds);
        }
        let expected = sign(key, &signed_fields(&self.signup_id, &self.salt, self.rounds, self.bits, self.expires_at));
        let signature = decode_hex(&self.signature).ok_or(PowError::Forged)?;
        expected.verify_slice(&signature).map_err(|_| PowError::Forged)?;
        if self.signup_id != signup_id {
            return Err(PowError::OtherSignup);
        }
        if now > self.expires_at {
            return Err(PowError::Expired);
        }
        if nonces.len() != self.rounds as usize {
            return Err(PowError::Wrong);
        }
        let all_solve =
            nonces.iter().enumerate().all(|(round, nonce)| solves(&self.salt, round as u32, *nonce, self.bits));
        if all_solve {
            Ok(())
        } else {
            Err(PowError::Wrong)
        }
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len()).step_by(2).map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok()).collect()
}

/// Whether SHA-256(salt, round, nonce) starts with `bits` zero bits.
fn solves(salt: &str, round: u32, nonce: u64, bits: u32) -> bool {
    let mut hash = Sha256::new();
    hash.update(salt.as_bytes());
    hash.update(round.to_be_bytes());
    hash.update(nonce.to_be_bytes());
    leading_zero_bits(&hash.finalize()) >= bits
}

fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut zeros = 0;
    for byte in hash {
        if *byte == 0 {
            zeros += 8;
        } else {
            return zeros + byte.leading_zeros();
        }
    }
    zeros
}

/// Solves every round, telling `progress` after each (rounds done, rounds in all).
pub fn solve(challenge: &Challenge, mut progress: impl FnMut(u32, u32)) -> Vec<u64> {
    let mut nonces = Vec::with_capacity(challenge.rounds as usize);
    for round in 0..challenge.rounds {
        let nonce = (0u64..).find(|nonce| solves(&challenge.salt, round, *nonce, challenge.bits)).unwrap_or(0);
        nonces.push(nonce);
        progress(round + 1, challenge.rounds);
    }
    nonces
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"the server's proof-of-work key";

    fn challenge(bits: u32) -> Challenge {
        Challenge::issue(KEY, "signup-1", [7; 16], 8, bits, 1_000, 600)
    }

    #[test]
    fn a_solved_challenge_verifies_and_progress_is_told() {
        let challenge = challenge(8);
        let mut seen = Vec::new();
        let nonces = solve(&challenge, |done, all| seen.push((done, all)));
        assert_eq!(seen.last(), Some(&(8, 8)));
        assert_eq!(challenge.verify(KEY, "signup-1", &nonces, 1_100), Ok(()));
    }

    #[test]
    fn wrong_late_forged_and_borrowed_answers_are_refused() {
        let challenge = challenge(8);
        let nonces = solve(&challenge, |_, _| {});
        let mut wrong = nonces.clone();
        wrong[3] = wrong[3].wrapping_add(1);
        // A wrong nonce can by chance also solve (1 in 256 at 8 bits): pick one that does not.
        while solves(&challenge.salt, 3, wrong[3], challenge.bits) {
            wrong[3] = wrong[3].wrapping_add(1);
        }
        assert_eq!(challenge.verify(KEY, "signup-1", &wrong, 1_100), Err(PowError::Wrong));
        assert_eq!(challenge.verify(KEY, "signup-1", &nonces[..7], 1_100), Err(PowError::Wrong), "a round missing");
        assert_eq!(challenge.verify(KEY, "signup-1", &nonces, 1_601), Err(PowError::Expired));
        assert_eq!(challenge.verify(KEY, "signup-2", &nonces, 1_100), Err(PowError::OtherSignup));
        assert_eq!(challenge.verify(b"another server", "signup-1", &nonces, 1_100), Err(PowError::Forged));
        let easier = Challenge { bits: 1, ..challenge.clone() };
        assert_eq!(easier.verify(KEY, "signup-1", &nonces, 1_100), Err(PowError::Forged), "less work, same signature");
        let later = Challenge { expires_at: 99_999, ..challenge.clone() };
        assert_eq!(later.verify(KEY, "signup-1", &nonces, 1_100), Err(PowError::Forged));
        let garbage = Challenge { signature: "zz".into(), ..challenge.clone() };
        assert_eq!(garbage.verify(KEY, "signup-1", &nonces, 1_100), Err(PowError::Forged));
        let huge = Challenge { rounds: MAX_ROUNDS + 1, ..challenge };
        assert_eq!(huge.verify(KEY, "signup-1", &nonces, 1_100), Err(PowError::OutOfBounds));
    }

    #[test]
    fn it_travels_as_json() {
        let challenge = challenge(4);
        let json = serde_json::to_string(&challenge).expect("serialises");
        assert_eq!(serde_json::from_str::<Challenge>(&json).expect("parses"), challenge);
        assert_eq!(challenge.expected_hashes(), 8 << 4);
    }

    #[test]
    fn leading_zero_bits_counts_across_bytes() {
        assert_eq!(leading_zero_bits(&[0, 0, 0b0001_0000, 1]), 19);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
    }
}

#[cfg(test)]
mod speed {
    /// `cargo test -p plico-pow --release -- --ignored --nocapture`: native hashes per second,
    /// to set the difficulty before the Chromium benchmark exists.
    #[test]
    #[ignore]
    fn hashes_per_second() {
        let challenge = super::Challenge::issue(b"k", "s", [1; 16], 16, 16, 0, 60);
        let started = std::time::Instant::now();
        super::solve(&challenge, |_, _| {});
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "{} expected hashes in {seconds:.3} s: {:.1} M/s",
            challenge.expected_hashes(),
            challenge.expected_hashes() as f64 / seconds / 1e6
        );
    }
}
