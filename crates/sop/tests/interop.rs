//! plico-sop against sqop (Sequoia's SOP, Debian's `sqop`) as a peer, both ways: keys, messages,
//! detached and inline signatures and session keys made by one are read by the other, and GnuPG
//! reads what plico-sop writes. Failures end with the draft's exit codes and leave no output.
//!
//! `cargo xtask setup --browser` installs sqop and gpg; without them these tests fail and say so.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PLICO: &str = env!("CARGO_BIN_EXE_plico-sop");

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

fn run_in(dir: &Path, program: &str, args: &[&str], input: &[u8]) -> Run {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} could not start ({e}); `cargo xtask setup --browser` installs it"));
    let mut stdin = child.stdin.take().expect("stdin");
    // A program that fails early may close its input first.
    let _ = stdin.write_all(input);
    drop(stdin);
    let output = child.wait_with_output().expect("waits");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A scratch directory with helpers to run either implementation in it.
struct Bench {
    dir: PathBuf,
}

impl Bench {
    fn new(name: &str) -> Bench {
        let dir = std::env::temp_dir().join(format!("plico-sop-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creates the scratch directory");
        Bench { dir }
    }

    /// Runs and expects success.
    fn ok(&self, program: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
        let run = run_in(&self.dir, program, args, input);
        assert_eq!(run.code, 0, "{program} {args:?} failed: {}", run.stderr);
        run.stdout
    }

    fn run(&self, program: &str, args: &[&str], input: &[u8]) -> Run {
        run_in(&self.dir, program, args, input)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.dir.join(name), bytes).expect("writes");
        name.to_owned()
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).expect("reads")
    }

    /// A key from `program` and its certificate from the other implementation.
    fn key(&self, program: &str, other: &str, name: &str) -> (String, String) {
        let user_id = format!("{name} <{}@example.org>", name.to_lowercase());
        let key = self.ok(program, &["generate-key", &user_id], b"");
        let cert = self.ok(other, &["extract-cert"], &key);
        (self.write(&format!("{name}.key"), &key), self.write(&format!("{name}.cert"), &cert))
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const TEXT: &[u8] = "Grüße from the Stateless OpenPGP interop test.\nSecond line.\n".as_bytes();

fn fingerprint_of(bench: &Bench, cert: &str) -> String {
    let cert = plico_pgp::parse_cert(&bench.read(cert)).expect("a certificate");
    plico_pgp::fingerprint_hex(&cert)
}

/// The primary fingerprints named on VERIFICATIONS lines (the third field).
fn signers(verifications: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(verifications)
        .lines()
        .map(|line| line.split(' ').nth(2).unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn keys_and_messages_cross_both_ways() {
    let bench = Bench::new("messages");
    let (plico_key, plico_cert) = bench.key(PLICO, "sqop", "Alice");
    let (sqop_key, sqop_cert) = bench.key("sqop", PLICO, "Bob");
    let alice = fingerprint_of(&bench, &plico_cert);
    let bob = fingerprint_of(&bench, &sqop_cert);

    for armor in [true, false] {
        let extra: &[&str] = if armor { &[] } else { &["--no-armor"] };
        // plico-sop encrypts and signs; sqop decrypts and verifies.
        let mut args = vec!["encrypt", "--sign-with", &plico_key];
        args.extend(extra);
        args.push(&sqop_cert);
        let message = bench.ok(PLICO, &args, TEXT);
        assert_eq!(message.starts_with(b"-----BEGIN PGP MESSAGE-----"), armor);
        let out = format!("sqop-verifications-{armor}");
        let plaintext = bench.ok(
            "sqop",
            &["decrypt", "--verify-with", &plico_cert, "--verifications-out", &out, &sqop_key],
            &message,
        );
        assert_eq!(plaintext, TEXT);
        assert_eq!(signers(&bench.read(&out)), [alice.as_str()]);

        // sqop encrypts and signs; plico-sop decrypts and verifies.
        let mut args = vec!["encrypt", "--sign-with", &sqop_key];
        args.extend(extra);
        args.push(&plico_cert);
        let message = bench.ok("sqop", &args, TEXT);
        let out = format!("plico-verifications-{armor}");
        let plaintext = bench.ok(
            PLICO,
            &["decrypt", &format!("--verify-with={sqop_cert}"), &format!("--verifications-out={out}"), &plico_key],
            &message,
        );
        assert_eq!(plaintext, TEXT);
        let lines = String::from_utf8(bench.read(&out)).expect("UTF-8");
        assert_eq!(signers(lines.as_bytes()), [bob.as_str()]);
        let line = lines.lines().next().expect("one line");
        assert!(line.ends_with("mode:binary"), "{line}");
        assert!(line.len() > 20 && line.as_bytes()[10] == b'T' && line.as_bytes()[19] == b'Z', "{line}");
    }

    // Text mode: UTF-8 literal data and text signatures, read by the other side.
    let message = bench.ok(PLICO, &["encrypt", "--as=text", "--sign-with", &plico_key, &sqop_cert], TEXT);
    let plaintext = bench.ok(
        "sqop",
        &["decrypt", "--verify-with", &plico_cert, "--verifications-out", "text-v", &sqop_key],
        &message,
    );
    assert_eq!(plaintext, TEXT);
    assert_eq!(signers(&bench.read("text-v")), [alice.as_str()]);

    // To both at once, each decrypts with its own key.
    let message = bench.ok(PLICO, &["encrypt", &plico_cert, &sqop_cert], TEXT);
    assert_eq!(bench.ok("sqop", &["decrypt", &sqop_key], &message), TEXT);
    assert_eq!(bench.ok(PLICO, &["decrypt", &plico_key], &message), TEXT);
}

#[test]
fn session_keys_cross_both_ways() {
    let bench = Bench::new("session-keys");
    let (plico_key, plico_cert) = bench.key(PLICO, "sqop", "Carol");
    let (sqop_key, sqop_cert) = bench.key("sqop", PLICO, "Dave");

    let message = bench.ok("sqop", &["encrypt", &plico_cert], TEXT);
    assert_eq!(bench.ok(PLICO, &["decrypt", "--session-key-out=plico.sk", &plico_key], &message), TEXT);
    let session_key = String::from_utf8(bench.read("plico.sk")).expect("UTF-8");
    assert!(session_key.contains(':'), "{session_key}");
    // The session key alone opens it, in both implementations.
    assert_eq!(bench.ok("sqop", &["decrypt", "--with-session-key", "plico.sk"], &message), TEXT);
    assert_eq!(bench.ok(PLICO, &["decrypt", "--with-session-key=plico.sk"], &message), TEXT);

    let message = bench.ok(PLICO, &["encrypt", &sqop_cert], TEXT);
    assert_eq!(bench.ok("sqop", &["decrypt", "--session-key-out", "sqop.sk", &sqop_key], &message), TEXT);
    assert_eq!(bench.ok(PLICO, &["decrypt", "--with-session-key=sqop.sk"], &message), TEXT);
    let ours = bench.ok(PLICO, &["decrypt", "--session-key-out=again.sk", "--with-session-key=sqop.sk"], &message);
    assert_eq!(ours, TEXT);
    assert_eq!(
        String::from_utf8(bench.read("again.sk")).expect("UTF-8").trim().to_uppercase(),
        String::from_utf8(bench.read("sqop.sk")).expect("UTF-8").trim().to_uppercase()
    );
}

#[test]
fn signatures_cross_both_ways() {
    let bench = Bench::new("signatures");
    let (plico_key, plico_cert) = bench.key(PLICO, "sqop", "Erin");
    let (sqop_key, sqop_cert) = bench.key("sqop", PLICO, "Frank");
    let erin = fingerprint_of(&bench, &plico_cert);
    let frank = fingerprint_of(&bench, &sqop_cert);

    for mode in ["binary", "text"] {
        let ours = bench.write("ours.sig", &bench.ok(PLICO, &["sign", &format!("--as={mode}"), &plico_key], TEXT));
        // sqop 0.27 follows an older draft and prints no mode.
        let verified = bench.ok("sqop", &["verify", &ours, &plico_cert], TEXT);
        assert_eq!(signers(&verified), [erin.as_str()]);
        let theirs = bench.write("theirs.sig", &bench.ok("sqop", &["sign", "--as", mode, &sqop_key], TEXT));
        let verified = bench.ok(PLICO, &["verify", &theirs, &sqop_cert], TEXT);
        assert_eq!(signers(&verified), [frank.as_str()]);
        assert!(String::from_utf8_lossy(&verified).ends_with(&format!("mode:{mode}\n")), "{mode}");
    }

    // A signature over other data, or by someone else, is no signature: exit 3, nothing printed.
    let ours = bench.write("ours.sig", &bench.ok(PLICO, &["sign", &plico_key], TEXT));
    let altered = bench.run(PLICO, &["verify", &ours, &plico_cert], b"altered data");
    assert_eq!((altered.code, altered.stdout.is_empty()), (3, true), "{}", altered.stderr);
    let wrong_signer = bench.run(PLICO, &["verify", &ours, &sqop_cert], TEXT);
    assert_eq!(wrong_signer.code, 3);
    // Signed in the future of --not-after: not acceptable.
    let too_late = bench.run(PLICO, &["verify", "--not-after=2001-01-01T00:00:00Z", &ours, &plico_cert], TEXT);
    assert_eq!(too_late.code, 3);
    let in_window =
        bench.run(PLICO, &["verify", "--not-before=2001-01-01T00:00:00Z", "--not-after=now", &ours, &plico_cert], TEXT);
    assert_eq!(in_window.code, 0, "{}", in_window.stderr);

    // Two signers at once, both verified by the peer.
    let both = bench.write("both.sig", &bench.ok("sqop", &["sign", &sqop_key, &plico_key], TEXT));
    let verified = bench.ok(PLICO, &["verify", &both, &sqop_cert, &plico_cert], TEXT);
    let mut found = signers(&verified);
    found.sort();
    let mut expected = vec![erin.clone(), frank.clone()];
    expected.sort();
    assert_eq!(found, expected);

    // Inline: packets and the cleartext framework, both ways.
    for form in ["binary", "text", "clearsigned"] {
        let signed = bench.ok(PLICO, &["inline-sign", &format!("--as={form}"), &plico_key], TEXT);
        let data =
            bench.ok("sqop", &["inline-verify", "--verifications-out", &format!("iv-{form}"), &plico_cert], &signed);
        assert_eq!(data.trim_ascii_end(), TEXT.trim_ascii_end(), "{form}");
        assert_eq!(signers(&bench.read(&format!("iv-{form}"))), [erin.as_str()]);
        let signed = bench.ok("sqop", &["inline-sign", "--as", form, &sqop_key], TEXT);
        let data = bench.ok(PLICO, &["inline-verify", &format!("--verifications-out=pv-{form}"), &sqop_cert], &signed);
        assert_eq!(data.trim_ascii_end(), TEXT.trim_ascii_end(), "{form}");
        assert_eq!(signers(&bench.read(&format!("pv-{form}"))), [frank.as_str()]);
    }
}

#[test]
fn armor_and_dearmor_agree_with_the_peer() {
    let bench = Bench::new("armor");
    let (plico_key, plico_cert) = bench.key(PLICO, "sqop", "Grace");
    for armored in [bench.read(&plico_key), bench.read(&plico_cert)] {
        let ours = bench.ok(PLICO, &["dearmor"], &armored);
        assert_eq!(ours, bench.ok("sqop", &["dearmor"], &armored));
        // Idempotent both ways, and the label follows the content.
        assert_eq!(bench.ok(PLICO, &["dearmor"], &ours), ours);
        let again = bench.ok(PLICO, &["armor"], &ours);
        assert_eq!(again.split(|&b| b == b'\n').next(), armored.split(|&b| b == b'\n').next());
        assert_eq!(bench.ok("sqop", &["dearmor"], &again), ours);
        assert_eq!(bench.ok(PLICO, &["armor"], &again), again);
    }
    let signature = bench.ok("sqop", &["sign", "--no-armor", &plico_key], TEXT);
    assert!(bench.ok(PLICO, &["armor"], &signature).starts_with(b"-----BEGIN PGP SIGNATURE-----"));
}

/// GnuPG 2.2 (Debian's) implements RFC 4880, not RFC 9580: mail to a GnuPG user is encrypted to
/// the key GnuPG made, which asks for SEIPDv1, and signed with Plico's key.
#[test]
fn gnupg_reads_what_plico_sop_writes() {
    let bench = Bench::new("gnupg");
    assert!(plico_test_support::peer("gpg", &["--version"], "the GnuPG half of the SOP interop test"));
    let driver = plico_test_support::Gpg::new();
    let gpg = |args: &[&str], input: &[u8]| driver.try_run(args, input);
    let at = |name: &str| bench.dir.join(name).display().to_string();
    let (plico_key, plico_cert) = bench.key(PLICO, "sqop", "Heidi");
    let made = gpg(&["--quick-gen-key", "Ivy <ivy@example.org>", "future-default", "default", "never"], b"");
    assert!(made.ok, "{}", made.status);
    let ivy = bench.write("ivy.cert", &gpg(&["--armor", "--export", "ivy@example.org"], b"").stdout);
    let imported = gpg(&["--import"], &bench.read(&plico_cert));
    assert!(imported.ok, "{}", imported.status);

    let message = bench.ok(PLICO, &["encrypt", "--sign-with", &plico_key, &ivy], TEXT);
    let run = gpg(&["--decrypt"], &message);
    assert!(run.ok, "{}", run.status);
    assert_eq!(run.stdout, TEXT);
    assert!(run.status.contains("[GNUPG:] GOODSIG"), "{}", run.status);

    let signature = bench.write("heidi.sig", &bench.ok(PLICO, &["sign", &plico_key], TEXT));
    let data = bench.write("heidi.data", TEXT);
    let run = gpg(&["--verify", &at(&signature), &at(&data)], b"");
    assert!(run.status.contains("[GNUPG:] GOODSIG"), "{}", run.status);

    // And the other way: GnuPG signs and encrypts to Plico's key (as SEIPDv1, GnuPG's only
    // format), plico-sop decrypts and verifies.
    let run = gpg(
        &[
            "--trust-model",
            "always",
            "--armor",
            "--sign",
            "--local-user",
            "ivy@example.org",
            "--encrypt",
            "--recipient",
            "heidi@example.org",
        ],
        TEXT,
    );
    assert!(run.ok, "{}", run.status);
    let plaintext = bench.ok(
        PLICO,
        &["decrypt", &format!("--verify-with={ivy}"), "--verifications-out=gpg-v", &plico_key],
        &run.stdout,
    );
    assert_eq!(plaintext, TEXT);
    assert_eq!(signers(&bench.read("gpg-v")), [fingerprint_of(&bench, &ivy)]);
    let theirs = gpg(&["--detach-sign", "--armor", "--local-user", "ivy@example.org", "-o", "-", &at(&data)], b"");
    let theirs = bench.write("ivy.sig", &theirs.stdout);
    let verified = bench.ok(PLICO, &["verify", &theirs, &ivy], TEXT);
    assert_eq!(signers(&verified), [fingerprint_of(&bench, &ivy)]);
}

#[test]
fn failures_use_the_drafts_exit_codes_and_print_nothing() {
    let bench = Bench::new("failures");
    let (plico_key, plico_cert) = bench.key(PLICO, "sqop", "Ivan");
    let (sqop_key, sqop_cert) = bench.key("sqop", PLICO, "Judy");
    let message = bench.ok("sqop", &["encrypt", &sqop_cert], TEXT);

    let cases: Vec<(Vec<&str>, &[u8], i32)> = vec![
        // Not ours to open.
        (vec!["decrypt", &plico_key], &message, 29),
        // A certificate where a key belongs.
        (vec!["decrypt", &plico_cert], &message, 41),
        (vec!["sign", &plico_cert], TEXT, 41),
        // Nothing to decrypt with, nothing to encrypt to, no signatures named.
        (vec!["decrypt"], &message, 19),
        (vec!["encrypt"], TEXT, 19),
        (vec!["verify"], TEXT, 19),
        // Unsupported: passwords, unknown options and subcommands, unknown profiles.
        (vec!["encrypt", "--with-password=pw.txt", &plico_cert], TEXT, 37),
        (vec!["generate-key", "--with-key-password=pw.txt", "X"], b"", 37),
        (vec!["encrypt", "--frobnicate", &plico_cert], TEXT, 37),
        (vec!["generate-key", "--profile=rfc9999", "X"], b"", 89),
        (vec!["inline-detach"], b"", 69),
        // Missing input files and special prefixes.
        (vec!["encrypt", "no-such-cert"], TEXT, 61),
        (vec!["encrypt", "@HTTP:x"], TEXT, 71),
        // Text mode needs text.
        (vec!["sign", "--as=text", &plico_key], &[0xFF, 0xFE, 0x00], 53),
        // Verification asked for without certificates.
        (vec!["decrypt", "--verifications-out=v.txt", &sqop_key], &message, 23),
        // Junk where OpenPGP belongs.
        (vec!["dearmor"], b"hello, not armor", 41),
        (vec!["decrypt", &sqop_key], b"-----BEGIN PGP MESSAGE-----\n\nAAAA\n-----END PGP MESSAGE-----\n", 29),
    ];
    for (args, input, code) in cases {
        let run = bench.run(PLICO, &args, input);
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?} printed output");
        assert!(!run.stderr.trim().is_empty(), "{args:?} said nothing");
    }

    // A tampered message decrypts to nothing at all.
    let mut tampered = bench.ok(PLICO, &["encrypt", "--no-armor", &sqop_cert], TEXT);
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    let run = bench.run(PLICO, &["decrypt", &sqop_key], &tampered);
    assert_eq!((run.code, run.stdout.is_empty()), (29, true), "{}", run.stderr);

    // An output that exists already is refused before anything is decrypted.
    bench.write("exists.txt", b"keep me");
    let run = bench.run(PLICO, &["decrypt", "--session-key-out=exists.txt", &sqop_key], &message);
    assert_eq!((run.code, run.stdout.is_empty()), (59, true));
    assert_eq!(bench.read("exists.txt"), b"keep me");
}
