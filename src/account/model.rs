//! Presentation rules for the account page, as pure functions.

use plico_api::LoginKind;

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

/// How a login kind reads in the history table.
pub fn describe_login_kind(kind: LoginKind) -> String {
    match kind {
        LoginKind::Signup => t("Account created"),
        LoginKind::Password => t("Password sign-in"),
        LoginKind::Totp => t("Sign-in with an authenticator code"),
        LoginKind::RecoveryCode => t("Sign-in with a recovery code"),
        LoginKind::FailedPassword => t("Failed sign-in: wrong password"),
        LoginKind::FailedSecondFactor => t("Failed sign-in: wrong second factor"),
    }
}

/// A short description of a user agent: the browser family and the platform.
pub fn describe_user_agent(user_agent: &str) -> String {
    let browser =
        [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
            .iter()
            .find(|(marker, _)| user_agent.contains(marker))
            .map(|(_, name)| *name);
    let platform = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| *name);
    match (browser, platform) {
        (Some(browser), Some(platform)) => format!("{browser} on {platform}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(platform)) => platform.to_owned(),
        (None, None) => user_agent.chars().take(60).collect(),
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

    #[test]
    fn user_agents_read_as_browser_and_platform() {
        let chrome_linux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
        assert_eq!(describe_user_agent(chrome_linux), "Chrome on Linux");
        let firefox_mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(describe_user_agent(firefox_mac), "Firefox on macOS");
        assert_eq!(describe_user_agent("curl/8.0"), "curl/8.0");
    }
}
