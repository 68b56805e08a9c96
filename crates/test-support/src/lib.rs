//! What the crates' tests share: the real peers some tests run (GnuPG, RNP, sqop, ClamAV,
//! rspamd, Postfix's load tools) and the rule for when one is missing; GnuPG as a driver
//! ([`Gpg`]), one for every test that asks it; and the OpenPGP fixtures in `crates/pgp/tests/data`
//! ([`fixture`]). Std only, so that it builds for every target a test runs on.
//!
//! A test whose peer is missing must never pass by skipping where it is meant to run: under CI
//! (the `CI` variable is set, as `.ci/run`'s machine and GitHub-like runners set it) it fails,
//! naming the Debian package; on a developer's machine it skips with a note. `cargo xtask setup
//! --browser` installs every peer.

pub mod engines;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

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

/// A new, empty directory under the system's temporary one (mode 0700), named for `prefix`,
/// this process and a counter; the caller removes it.
pub fn scratch_dir(prefix: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos())
    ));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod 700");
    }
    dir
}

/// An OpenPGP fixture from `crates/pgp/tests/data` (GnuPG-made keys and messages, and how they
/// were made in its README).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pgp/tests/data").join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("reading the fixture {}: {error}", path.display()))
}

/// GnuPG in a home of its own (mode 0700, removed when dropped), run in batch mode with status
/// lines on standard error, every key trusted, and no passphrase unless one is given. The agent
/// remembers no passphrase between calls, so a wrong one always fails.
pub struct Gpg {
    home: PathBuf,
}

/// What one `gpg` call did.
#[derive(Debug)]
pub struct GpgRun {
    pub ok: bool,
    pub stdout: Vec<u8>,
    /// Standard error, with the `[GNUPG:]` status lines.
    pub status: String,
}

impl GpgRun {
    /// Whether a status line starts with `prefix` (`"[GNUPG:] GOODSIG "`…).
    pub fn has_status(&self, prefix: &str) -> bool {
        self.status.lines().any(|line| line.starts_with(prefix))
    }
}

impl Gpg {
    /// An empty home. Call [`peer`] first where GnuPG may be missing.
    pub fn new() -> Gpg {
        let home = scratch_dir("plico-gpg");
        std::fs::write(home.join("gpg-agent.conf"), "default-cache-ttl 0\nmax-cache-ttl 0\n").expect("agent conf");
        Gpg { home }
    }

    /// The home directory (`GNUPGHOME`).
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Runs `gpg args` on `stdin` with `passphrase` for any secret key; never panics on gpg's
    /// failure (the answer says it).
    pub fn try_run_with(&self, passphrase: &str, args: &[&str], stdin: &[u8]) -> GpgRun {
        let mut child = Command::new("gpg")
            .env("GNUPGHOME", &self.home)
            .args(["--batch", "--yes", "--quiet", "--status-fd", "2", "--trust-model", "always"])
            .args(["--pinentry-mode", "loopback", "--passphrase", passphrase])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg runs (Debian gnupg; `cargo xtask setup --browser` installs it)");
        // Written from another thread: gpg may answer before it has read a large input.
        let mut input = child.stdin.take().expect("gpg's stdin");
        let bytes = stdin.to_vec();
        let writer = std::thread::spawn(move || {
            // gpg may stop reading early when it fails; its answer says why.
            let _ = input.write_all(&bytes);
        });
        let output = child.wait_with_output().expect("gpg ends");
        writer.join().expect("the stdin writer");
        GpgRun {
            ok: output.status.success(),
            stdout: output.stdout,
            status: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// [`Gpg::try_run_with`] without a passphrase.
    pub fn try_run(&self, args: &[&str], stdin: &[u8]) -> GpgRun {
        self.try_run_with("", args, stdin)
    }

    /// Runs gpg and fails the test when it fails; its answer.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> GpgRun {
        let run = self.try_run(args, stdin);
        assert!(run.ok, "gpg {args:?} failed: {}", run.status);
        run
    }

    /// Imports keys (public or secret, armored or binary).
    pub fn import(&self, keys: &[u8]) {
        self.run(&["--import"], keys);
    }

    /// The armored public keys matching `who`.
    pub fn export(&self, who: &str) -> String {
        String::from_utf8(self.run(&["--armor", "--export", who], b"").stdout).expect("armor is ASCII")
    }

    /// Makes an Ed25519 signing key for `user_id`; `made_at` (Unix seconds) dates it in the past,
    /// so that it can sign there too (`--faked-system-time`).
    pub fn generate_signing_key(&self, user_id: &str, made_at: Option<i64>) {
        let faked = made_at.map(|at| format!("{at}!"));
        let mut args = Vec::new();
        if let Some(faked) = &faked {
            args.extend(["--faked-system-time", faked.as_str()]);
        }
        args.extend(["--quick-gen-key", user_id, "ed25519", "sign", "never"]);
        self.run(&args, b"");
    }
}

impl Default for Gpg {
    fn default() -> Self {
        Gpg::new()
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        // The agent this home started goes with it.
        let _ = Command::new("gpgconf").env("GNUPGHOME", &self.home).args(["--kill", "gpg-agent"]).output();
        let _ = std::fs::remove_dir_all(&self.home);
    }
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

    #[test]
    fn gnupg_as_a_driver_signs_and_verifies_in_a_home_of_its_own() {
        if !peer("gpg", &["--version"], "the GnuPG driver's own test") {
            return;
        }
        let gpg = Gpg::new();
        let home = gpg.home().to_owned();
        gpg.generate_signing_key("Driver <driver@example.org>", None);
        let key = gpg.export("driver@example.org");
        assert!(key.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"), "{key}");
        let signed = gpg.run(&["--clearsign"], b"a line\n").stdout;
        let verified = gpg.run(&["--verify"], &signed);
        assert!(verified.has_status("[GNUPG:] GOODSIG "), "{}", verified.status);
        let failed = gpg.try_run(&["--decrypt"], b"not a message");
        assert!(!failed.ok, "garbage must not decrypt");
        drop(gpg);
        assert!(!home.exists(), "the home goes with the driver");
    }

    #[test]
    fn fixtures_are_read_from_the_pgp_crate() {
        assert!(fixture("gpg-peer.pub.asc").starts_with(b"-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    }

    #[test]
    fn postgres_starts_answers_and_goes_away() {
        let Some(postgres) = engines::Postgres::start() else { return };
        assert_eq!(postgres.psql("plico", "SELECT 40 + 2"), "42");
        let dir = postgres.dir_for_test();
        drop(postgres);
        assert!(!dir.exists(), "its directory goes with it");
    }

    #[test]
    fn seaweedfs_serves_s3_and_makes_buckets() {
        let Some(weed) = engines::SeaweedFs::start() else { return };
        weed.create_bucket("plico-test-bucket");
        assert!(weed.buckets().contains(&"plico-test-bucket".to_owned()), "{:?}", weed.buckets());
    }
}
