//! The rules for the local part of a Plico address. Shared so the app can say what is wrong
//! while the user types, and the server enforces the same rules.

use std::fmt;

/// The shortest allowed name.
pub const NAME_MIN_LEN: usize = 3;
/// The longest allowed name.
pub const NAME_MAX_LEN: usize = 32;

/// Names that belong to the operator (RFC 2142 roles and common system accounts).
const RESERVED_NAMES: &[&str] = &[
    "abuse",
    "admin",
    "administrator",
    "hostmaster",
    "info",
    "mailer-daemon",
    "noc",
    "no-reply",
    "noreply",
    "plico",
    "postmaster",
    "root",
    "security",
    "support",
    "webmaster",
    "www",
];

/// Why a name is not a valid local part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    TooShort,
    TooLong,
    /// The first character that is not allowed.
    BadCharacter(char),
    BadStart,
    BadEnd,
    ConsecutivePunctuation,
    Reserved,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::TooShort => write!(f, "The name must be at least {NAME_MIN_LEN} characters long."),
            NameError::TooLong => write!(f, "The name must be at most {NAME_MAX_LEN} characters long."),
            NameError::BadCharacter(c) => write!(
                f,
                "The name may contain only letters a–z, digits, dots, hyphens and underscores; '{c}' is not allowed."
            ),
            NameError::BadStart => write!(f, "The name must start with a letter or a digit."),
            NameError::BadEnd => write!(f, "The name must end with a letter or a digit."),
            NameError::ConsecutivePunctuation => {
                write!(f, "The name may not have two dots, hyphens or underscores in a row.")
            }
            NameError::Reserved => write!(f, "That name is reserved."),
        }
    }
}

impl std::error::Error for NameError {}

/// Checks a local part and returns it in its canonical (lowercase, trimmed) form.
///
/// ```
/// assert_eq!(plico_api::address::normalize_name(" Alice.Smith ").unwrap(), "alice.smith");
/// assert!(plico_api::address::normalize_name("a..b").is_err());
/// ```
pub fn normalize_name(raw: &str) -> Result<String, NameError> {
    // ASCII lowercasing suffices: any other character is refused below, and it keeps
    // Unicode case tables out of the UI binary.
    let name = raw.trim().to_ascii_lowercase();
    let length = name.chars().count();
    if length < NAME_MIN_LEN {
        return Err(NameError::TooShort);
    }
    if length > NAME_MAX_LEN {
        return Err(NameError::TooLong);
    }
    let is_punctuation = |c: char| matches!(c, '.' | '-' | '_');
    if let Some(bad) = name.chars().find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || is_punctuation(c))) {
        return Err(NameError::BadCharacter(bad));
    }
    if name.starts_with(is_punctuation) {
        return Err(NameError::BadStart);
    }
    if name.ends_with(is_punctuation) {
        return Err(NameError::BadEnd);
    }
    if name.as_bytes().windows(2).any(|pair| is_punctuation(pair[0] as char) && is_punctuation(pair[1] as char)) {
        return Err(NameError::ConsecutivePunctuation);
    }
    if RESERVED_NAMES.contains(&name.as_str()) {
        return Err(NameError::Reserved);
    }
    Ok(name)
}

/// Splits what a user typed at sign-in into a local part, accepting `name` or `name@domain`.
/// Returns `None` when the domain part names another domain.
pub fn local_part_for_domain<'a>(typed: &'a str, domain: &str) -> Option<&'a str> {
    let typed = typed.trim();
    match typed.rsplit_once('@') {
        Some((local, typed_domain)) if typed_domain.eq_ignore_ascii_case(domain) => Some(local),
        Some(_) => None,
        None => Some(typed),
    }
}

/// Checks an address on another server as SMTP can carry it: `local@domain`, ASCII, no spaces
/// or brackets, a domain of dot-separated letters, digits and hyphens. Says what is wrong.
pub fn check_mail_address(address: &str) -> Result<(), String> {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err(format!("{address} has no @"));
    };
    if address.len() > 254 || local.len() > 64 {
        return Err(format!("{address} is too long"));
    }
    if local.is_empty() || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(format!("{address} has no usable part before the @"));
    }
    if let Some(bad) = local.chars().find(|c| !c.is_ascii_graphic() || "<>()[]\\,;:\"@".contains(*c)) {
        return Err(format!("{address} contains {bad:?}, which an address cannot carry here"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let good_label = |label: &&str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if labels.len() < 2 || !labels.iter().all(good_label) {
        return Err(format!("{address} does not end in a domain name"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_addresses_on_other_servers() {
        for good in ["bob@example.org", "first.last+tag@mail.example.co.uk", "x@a-b.io"] {
            assert_eq!(check_mail_address(good), Ok(()), "{good}");
        }
        for bad in [
            "bob",
            "@example.org",
            "bob@",
            "bob@localhost",
            "b ob@example.org",
            "bob@exa_mple.org",
            "<bob@example.org>",
            "bob@example..org",
            ".bob@example.org",
            "bob\r\n@example.org",
        ] {
            assert!(check_mail_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn accepts_ordinary_names_and_lowercases_them() {
        for (raw, canonical) in [("alice", "alice"), ("Bob_1", "bob_1"), ("j.doe-2", "j.doe-2"), ("  carol ", "carol")]
        {
            assert_eq!(normalize_name(raw).as_deref(), Ok(canonical), "{raw}");
        }
    }

    #[test]
    fn each_broken_rule_has_its_own_error() {
        assert_eq!(normalize_name("ab"), Err(NameError::TooShort));
        assert_eq!(normalize_name(&"a".repeat(33)), Err(NameError::TooLong));
        assert_eq!(normalize_name("al ice"), Err(NameError::BadCharacter(' ')));
        assert_eq!(normalize_name("alicé"), Err(NameError::BadCharacter('é')));
        assert_eq!(normalize_name("al@ce"), Err(NameError::BadCharacter('@')));
        assert_eq!(normalize_name(".alice"), Err(NameError::BadStart));
        assert_eq!(normalize_name("alice-"), Err(NameError::BadEnd));
        assert_eq!(normalize_name("al..ice"), Err(NameError::ConsecutivePunctuation));
        assert_eq!(normalize_name("al-_ice"), Err(NameError::ConsecutivePunctuation));
        assert_eq!(normalize_name("Postmaster"), Err(NameError::Reserved));
    }

    #[test]
    fn error_messages_name_the_problem() {
        assert!(NameError::BadCharacter('!').to_string().contains("'!'"));
        assert!(NameError::TooShort.to_string().contains('3'));
    }

    #[test]
    fn sign_in_accepts_name_or_full_address_of_this_domain_only() {
        assert_eq!(local_part_for_domain("alice", "plico.test"), Some("alice"));
        assert_eq!(local_part_for_domain("alice@PLICO.test", "plico.test"), Some("alice"));
        assert_eq!(local_part_for_domain("alice@elsewhere.org", "plico.test"), None);
    }
}
