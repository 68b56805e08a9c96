//! Time-based one-time passwords (RFC 6238, over RFC 4226's HOTP): HMAC-SHA1, 30-second steps,
//! six digits, as every authenticator app reads an `otpauth://` URI by default. A code is taken
//! in the current step or one step either side (clock drift), and a step is used once: the
//! caller keeps the last accepted step, and a code of that step or earlier is refused, so a
//! code seen over someone's shoulder cannot be used again.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per step.
pub const STEP: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps either side of now that still count.
const DRIFT: i64 = 1;

/// RFC 4226's HOTP value of `counter`, `digits` long.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[19] & 0x0f);
    let binary = u32::from_be_bytes([hash[offset] & 0x7f, hash[offset + 1], hash[offset + 2], hash[offset + 3]]);
    binary % 10u32.pow(digits)
}

/// The step `unix_time` falls in.
pub fn step_of(unix_time: i64) -> i64 {
    unix_time.div_euclid(STEP)
}

/// The code for `unix_time`, as an app shows it (zero-padded).
pub fn code_at(secret: &[u8], unix_time: i64) -> String {
    format!("{:0width$}", hotp(secret, step_of(unix_time) as u64, DIGITS), width = DIGITS as usize)
}

/// Checks `code` at `now`: the step it belongs to when it is right, in a step after
/// `last_used_step`, and within one step of now; `None` otherwise. Spaces are ignored (apps show
/// "123 456").
pub fn check(secret: &[u8], code: &str, now: i64, last_used_step: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u32 = code.parse().ok()?;
    let current = step_of(now);
    (current - DRIFT..=current + DRIFT)
        .filter(|step| last_used_step.is_none_or(|last| *step > last))
        .find(|step| *step >= 0 && hotp(secret, *step as u64, DIGITS) == value)
}

/// RFC 4648 base32 without padding, as `otpauth://` URIs carry the secret.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            out.push(char::from(ALPHABET[((buffer >> (bits - 5)) & 31) as usize]));
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The `otpauth://totp/…` URI an authenticator app reads from the QR code.
pub fn uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let escape = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => char::from(b).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        escape(issuer),
        escape(account),
        base32(secret),
        escape(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 seed and its 8-digit values.
    #[test]
    fn rfc_6238_vectors() {
        let seed = b"12345678901234567890";
        for (time, expected) in [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(hotp(seed, step_of(time) as u64, 8), expected, "T = {time}");
        }
    }

    /// RFC 4226, appendix D: HOTP values of the same seed for counters 0 to 9.
    #[test]
    fn rfc_4226_vectors() {
        let expected = [755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871, 520_489];
        for (counter, value) in expected.iter().enumerate() {
            assert_eq!(hotp(b"12345678901234567890", counter as u64, 6), *value);
        }
    }

    #[test]
    fn a_code_counts_within_one_step_once_and_never_again() {
        let secret = b"a secret of twenty b";
        let now = 1_790_000_015;
        let code = code_at(secret, now);
        let step = check(secret, &code, now, None).expect("right now");
        assert_eq!(check(secret, &code, now, Some(step)), None, "used once");
        assert_eq!(check(secret, &code, now + STEP, None), Some(step), "one step late still counts");
        assert_eq!(check(secret, &code, now + 2 * STEP, None), None, "two steps late does not");
        assert_eq!(
            check(secret, &code_at(secret, now - STEP), now, Some(step)),
            None,
            "an older step after a newer one"
        );
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(check(secret, &spaced, now, None), Some(step), "as apps show it");
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(check(secret, bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn base32_and_uri_are_what_authenticator_apps_read() {
        // RFC 4648, section 10 (without padding).
        for (input, output) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), output);
        }
        let uri = uri(b"12345678901234567890", "Plico mail.example", "alice@mail.example");
        assert_eq!(
            uri,
            "otpauth://totp/Plico%20mail.example:alice@mail.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Plico%20mail.example&algorithm=SHA1&digits=6&period=30"
        );
    }
}
