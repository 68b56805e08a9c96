//! The password rules. Only the browser ever sees a password, so only the browser can check
//! it: the app checks as the user types, and the worker checks again before registering.

use std::fmt;

/// The shortest allowed password.
pub const PASSWORD_MIN_LEN: usize = 8;
/// The longest allowed password; Argon2 takes any length, this just bounds the work.
pub const PASSWORD_MAX_LEN: usize = 1024;

/// Passwords that appear at the top of every leaked-password list. Any password that is one of
/// these, ignoring case, or one of these followed by digits or punctuation, is refused.
const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "passw0rd",
    "p@ssword",
    "p@ssw0rd",
    "password1",
    "12345678",
    "123456789",
    "1234567890",
    "12345678910",
    "87654321",
    "11111111",
    "00000000",
    "qwerty",
    "qwertyuiop",
    "qwerty123",
    "qwertyui",
    "asdfghjkl",
    "zxcvbnm123",
    "iloveyou",
    "iloveyou1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "basketball",
    "welcome1",
    "welcome",
    "letmein1",
    "letmein",
    "trustno1",
    "superman",
    "batman",
    "starwars",
    "whatever",
    "dragon",
    "monkey",
    "master",
    "shadow",
    "michael",
    "jennifer",
    "jordan23",
    "hello123",
    "freedom",
    "abc12345",
    "abcd1234",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "q1w2e3r4",
    "zaq12wsx",
    "1qaz2wsx",
    "qazwsxedc",
    "changeme",
    "secret",
    "computer",
    "internet",
    "access",
    "mustang",
    "charlie",
    "liverpool",
    "chelsea",
    "arsenal",
    "soccer",
    "hockey",
    "pokemon",
    "naruto",
    "minecraft",
    "fortnite",
    "123qwe",
    "qwe123",
    "admin",
    "administrator",
    "root",
    "toor",
    "login",
    "default",
    "guest",
    "test1234",
    "testing",
    "azerty",
    "azertyuiop",
    "motdepasse",
    "passwort",
    "wachtwoord",
    "losenord",
    "lösenord",
    "bonjour",
    "soleil",
    "hallo123",
    "schatz",
    "sommer",
    "qwertz",
    "qwertzuiop",
    "plico",
    "plicomail",
];

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordError {
    TooShort,
    TooLong,
    Common,
    /// The password is the account name, or contains it.
    ContainsName,
    /// One character repeated, or a straight run such as `abcdefgh`.
    Trivial,
}

impl fmt::Display for PasswordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordError::TooShort => write!(f, "The password must be at least {PASSWORD_MIN_LEN} characters long."),
            PasswordError::TooLong => write!(f, "The password must be at most {PASSWORD_MAX_LEN} characters long."),
            PasswordError::Common => write!(f, "That password is one of the most common passwords. Choose another."),
            PasswordError::ContainsName => write!(f, "The password must not contain your name."),
            PasswordError::Trivial => write!(f, "That password is too easy to guess: avoid repeats and straight runs."),
        }
    }
}

impl std::error::Error for PasswordError {}

/// Checks a new password for the account `name`.
///
/// ```
/// use plico_api::password::{check_new_password, PasswordError};
/// assert_eq!(check_new_password("Password1!", "alice"), Err(PasswordError::Common));
/// assert!(check_new_password("violet staple orbit", "alice").is_ok());
/// ```
pub fn check_new_password(password: &str, name: &str) -> Result<(), PasswordError> {
    let length = password.chars().count();
    if length < PASSWORD_MIN_LEN {
        return Err(PasswordError::TooShort);
    }
    if length > PASSWORD_MAX_LEN {
        return Err(PasswordError::TooLong);
    }
    // The common-password list is ASCII but for a few words; ASCII lowercasing keeps the
    // Unicode case tables out of the UI binary.
    let lower = password.to_ascii_lowercase();
    let stem = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    if COMMON_PASSWORDS.contains(&lower.as_str()) || COMMON_PASSWORDS.contains(&stem) {
        return Err(PasswordError::Common);
    }
    let name = name.trim().to_ascii_lowercase();
    if name.len() >= 3 && lower.contains(&name) {
        return Err(PasswordError::ContainsName);
    }
    let chars: Vec<char> = lower.chars().collect();
    let all_same = chars.iter().all(|&c| c == chars[0]);
    let straight_run = chars.windows(2).all(|pair| pair[1] as i64 - pair[0] as i64 == 1)
        || chars.windows(2).all(|pair| pair[0] as i64 - pair[1] as i64 == 1);
    if all_same || straight_run {
        return Err(PasswordError::Trivial);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_each_class_with_its_own_reason() {
        assert_eq!(check_new_password("short", "alice"), Err(PasswordError::TooShort));
        assert_eq!(check_new_password(&"x".repeat(1025), "alice"), Err(PasswordError::TooLong));
        assert_eq!(check_new_password("password", "alice"), Err(PasswordError::Common));
        assert_eq!(check_new_password("Qwerty123!", "alice"), Err(PasswordError::Common));
        assert_eq!(check_new_password("MotDePasse", "alice"), Err(PasswordError::Common));
        assert_eq!(check_new_password("alice-is-great", "alice"), Err(PasswordError::ContainsName));
        assert_eq!(check_new_password("zzzzzzzzzz", "alice"), Err(PasswordError::Trivial));
        assert_eq!(check_new_password("abcdefghij", "alice"), Err(PasswordError::Trivial));
        assert_eq!(check_new_password("98765432", "alice"), Err(PasswordError::Trivial));
    }

    #[test]
    fn accepts_a_reasonable_passphrase() {
        assert_eq!(check_new_password("correct horse battery staple", "alice"), Ok(()));
        assert_eq!(check_new_password("Tr0ub4dor&3x", "bob"), Ok(()));
    }
}
