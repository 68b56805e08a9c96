//! Presentation rules for the account page, as pure functions.

use crate::i18n::{t, tf};

/// What the page says after an import: the addresses the key was kept for.
pub fn describe_imported(addresses: &[String]) -> String {
    match addresses {
        [] => t("The key was already kept."),
        [one] => {
            tf("Kept the key for {address}: mail to that address now leaves end-to-end encrypted.", &[("address", one)])
        }
        [rest @ .., last] => tf(
            "Kept the key for {addresses} and {last}: mail to those addresses now leaves end-to-end encrypted.",
            &[("addresses", &rest.join(", ")), ("last", last)],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_names_the_addresses_it_kept_the_key_for() {
        assert_eq!(describe_imported(&[]), "The key was already kept.");
        assert!(describe_imported(&["a@x.org".into()]).starts_with("Kept the key for a@x.org: mail to that address"));
        assert!(describe_imported(&["a@x.org".into(), "b@y.org".into(), "c@z.org".into()])
            .starts_with("Kept the key for a@x.org, b@y.org and c@z.org: mail to those addresses"));
    }
}
