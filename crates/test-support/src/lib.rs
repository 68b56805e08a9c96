//! What the crates' tests share. For now: the real peers some tests run (GnuPG, RNP, sqop,
//! ClamAV, rspamd, Postfix's load tools), and the rule for when one is missing.
//!
//! A test whose peer is missing must never pass by skipping where it is meant to run: under CI
//! (the `CI` variable is set, as `.ci/run`'s machine and GitHub-like runners set it) it fails,
//! naming the Debian package; on a developer's machine it skips with a note. `cargo xtask setup
//! --browser` installs every peer.

use std::process::Command;

/// Whether `program` runs (`args` is a harmless call such as `--version`). When it does not:
/// under CI this panics, failing the test that needs it (`what` names that test in the
/// message); elsewhere it prints a note and returns `false`, and the test returns early.
pub fn peer(program: &str, args: &[&str], what: &str) -> bool {
    let runs = Command::new(program).args(args).output().is_ok_and(|output| output.status.success());
    decide(program, what, runs, under_ci())
}

/// For a peer a test found missing its own way (a daemon it could not start): under CI this
/// panics; elsewhere it prints the note, and the test returns early.
pub fn missing(program: &str, what: &str) {
    decide(program, what, false, under_ci());
}

/// Whether this is a CI run: the `CI` variable is set to anything but empty, `0` or `false`.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.trim(), "" | "0" | "false"))
}

fn decide(program: &str, what: &str, runs: bool, ci: bool) -> bool {
    if runs {
        return true;
    }
    assert!(
        !ci,
        "{program} is not installed, and under CI {what} must run with it (`cargo xtask setup --browser` installs it)"
    );
    eprintln!("{program} is not installed; skipping {what} (`cargo xtask setup --browser` installs it)");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_peer_skips_only_outside_ci() {
        assert!(decide("gpg", "a test", true, true));
        assert!(!decide("gpg", "a test", false, false));
        let under_ci = std::panic::catch_unwind(|| decide("gpg", "the GnuPG test", false, true));
        assert!(under_ci.is_err(), "under CI a missing peer must fail the test");
    }

    #[test]
    fn a_program_that_does_not_exist_is_missing() {
        let runs = Command::new("plico-no-such-peer").output().is_ok_and(|output| output.status.success());
        assert!(!runs);
    }
}
