//! The sign-up form's checks, as pure functions so native tests reach them.

use plico_api::address::{normalize_name, NameError, NAME_MAX_LEN, NAME_MIN_LEN};
use plico_api::password::{check_new_password, PasswordError, PASSWORD_MAX_LEN, PASSWORD_MIN_LEN};

use crate::i18n::{t, tf};

/// What is wrong with a name, in the user's language.
pub fn name_problem(error: &NameError) -> String {
    match error {
        NameError::TooShort => tf("The name must be at least {count} characters long.", &[("count", &NAME_MIN_LEN.to_string())]),
        NameError::TooLong => tf("The name must be at most {count} characters long.", &[("count", &NAME_MAX_LEN.to_string())]),
        NameError::BadCharacter(c) => tf(
            "The name may contain only letters a–z, digits, dots, hyphens and underscores; '{character}' is not allowed.",
            &[("character", &c.to_string())],
        ),
        NameError::BadStart => t("The name must start with a letter or a digit."),
        NameError::BadEnd => t("The name must end with a letter or a digit."),
        NameError::ConsecutivePunctuation => t("The name may not have two dots, hyphens or underscores in a row."),
        NameError::Reserved => t("That name is reserved."),
    }
}

/// What is wrong with a new password, in the user's language.
pub fn password_problem(error: &PasswordError) -> String {
    match error {
        PasswordError::TooShort => {
            tf("The password must be at least {count} characters long.", &[("count", &PASSWORD_MIN_LEN.to_string())])
        }
        PasswordError::TooLong => {
            tf("The password must be at most {count} characters long.", &[("count", &PASSWORD_MAX_LEN.to_string())])
        }
        PasswordError::Common => t("That password is one of the most common passwords. Choose another."),
        PasswordError::ContainsName => t("The password must not contain your name."),
        PasswordError::Trivial => t("That password is too easy to guess: avoid repeats and straight runs."),
    }
}

/// The sign-up form's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignupForm {
    pub name: String,
    pub password: String,
    pub confirmation: String,
    /// Optional: an address outside Plico for notices.
    pub recovery: String,
    /// The terms of use are accepted (the server records which version).
    pub terms: bool,
}

/// What is wrong with each field, if anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignupProblems {
    pub name: Option<String>,
    pub password: Option<String>,
    pub confirmation: Option<String>,
    pub recovery: Option<String>,
    pub terms: Option<String>,
}

impl SignupProblems {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.password.is_none()
            && self.confirmation.is_none()
            && self.recovery.is_none()
            && self.terms.is_none()
    }
}

impl SignupForm {
    /// Checks every field; an empty field is only a problem once the user tries to submit.
    pub fn problems(&self, submitting: bool) -> SignupProblems {
        let name = if self.name.is_empty() && !submitting {
            None
        } else {
            normalize_name(&self.name).err().map(|error| name_problem(&error))
        };
        let canonical_name = normalize_name(&self.name).unwrap_or_else(|_| self.name.to_ascii_lowercase());
        let password = if self.password.is_empty() && !submitting {
            None
        } else {
            check_new_password(&self.password, &canonical_name).err().map(|error| password_problem(&error))
        };
        let confirmation = if (self.confirmation.is_empty() && !submitting) || self.confirmation == self.password {
            None
        } else {
            Some(t("The two passwords are not the same."))
        };
        let recovery = match self.recovery.trim() {
            "" => None,
            address => plico_api::address::check_mail_address(address)
                .err()
                .map(|why| tf("The recovery address is not usable: {why}.", &[("why", &why)])),
        };
        let terms = (submitting && !self.terms).then(|| t("Accept the terms of use to create an account."));
        SignupProblems { name, password, confirmation, recovery, terms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, password: &str, confirmation: &str) -> SignupForm {
        SignupForm {
            name: name.into(),
            password: password.into(),
            confirmation: confirmation.into(),
            recovery: String::new(),
            terms: true,
        }
    }

    #[test]
    fn an_untouched_form_shows_no_problems_until_submitted() {
        assert!(form("", "", "").problems(false).is_empty());
        let on_submit = form("", "", "").problems(true);
        assert!(on_submit.name.is_some() && on_submit.password.is_some());
    }

    #[test]
    fn each_field_names_its_problem() {
        let problems = form("a!", "password", "passwort").problems(false);
        assert!(problems.name.as_deref().is_some_and(|m| m.contains("at least 3")), "{problems:?}");
        assert!(problems.password.as_deref().is_some_and(|m| m.contains("most common")), "{problems:?}");
        assert_eq!(problems.confirmation.as_deref(), Some("The two passwords are not the same."));
        assert!(form("alice", "violet staple orbit", "violet staple orbit").problems(true).is_empty());
    }

    #[test]
    fn the_recovery_address_is_optional_but_must_be_an_address() {
        let mut with = form("alice", "violet staple orbit", "violet staple orbit");
        with.recovery = "not an address".into();
        assert!(with.problems(true).recovery.is_some_and(|m| m.contains("recovery address")));
        with.recovery = "alice@example.org".into();
        assert!(with.problems(true).is_empty());
    }

    #[test]
    fn the_terms_must_be_accepted_to_submit() {
        let mut without = form("alice", "violet staple orbit", "violet staple orbit");
        without.terms = false;
        assert!(without.problems(false).is_empty(), "not before the user submits");
        assert!(without.problems(true).terms.is_some_and(|m| m.contains("terms of use")));
    }

    #[test]
    fn the_password_may_not_contain_the_name() {
        let problems = form("Alice", "alice-rocks-hard", "alice-rocks-hard").problems(true);
        assert_eq!(problems.password.as_deref(), Some("The password must not contain your name."));
    }
}
