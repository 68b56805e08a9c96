//! Issue 28: the OpenAPI document is the server's exact contract. Schemathesis (from PyPI, the
//! version `cargo xtask setup --browser` installs into `target/schemathesis`) runs against a
//! real `plico serve` with every check it has: no server errors; statuses, content types,
//! headers and bodies as documented; requests the schema allows are accepted and those it
//! forbids refused; methods the document does not list answered 405 with `Allow`; no operation
//! that asks for a session answers without one; one account never reads another's objects; and
//! the stateful phase, which chains operations through the objects they create.
//!
//! The accounts are signed up here through the client's real OPAQUE flow, then the server is
//! started as a separate process on the same data directory. The operations that end a session
//! (`logout`, `close_account`) run after the rest, each with an account of its own.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plico_server::clock::SystemClock;
use plico_server::config::ServeConfig;
use plico_server::AppState;

use common::{signup, TestClient};

/// Examples per operation and phase: enough to find what the review found (it took 1,623
/// requests), few enough that the run takes minutes. `PLICO_SCHEMATHESIS_EXAMPLES` raises it.
const EXAMPLES: u32 = 40;

/// The `st` program: `PLICO_SCHEMATHESIS`, else the one `cargo xtask setup` installed.
fn schemathesis() -> PathBuf {
    std::env::var_os("PLICO_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/schemathesis/bin/st"))
}

/// Signs up `names` on a server state over `data_dir` and returns each one's session cookie
/// and public certificate.
async fn sign_up(data_dir: &Path, names: &[&str]) -> Vec<(String, plico_pgp::Certificate)> {
    let mut config = ServeConfig::for_data_dir(data_dir.to_path_buf());
    // A few hundred hashes of proof of work per sign-up, not a debug build's minute.
    config.signup_pow_rounds = 4;
    config.signup_pow_bits = 4;
    let state = AppState::open(config, Arc::new(SystemClock)).await.expect("server state opens");
    let router = plico_server::router(state.clone());
    let mut cookies = Vec::new();
    for (n, name) in names.iter().enumerate() {
        let client = TestClient {
            router: router.clone(),
            cookie: Arc::new(Mutex::new(None)),
            ip: format!("192.0.2.{}", 10 + n).parse().expect("ip"),
            versions: Arc::default(),
            headers: Arc::default(),
        };
        let session = signup(&client, name).await;
        let cert = plico_pgp::parse_cert(session.account.public_cert.as_bytes()).expect("the account's key");
        cookies.push((client.cookie.lock().expect("cookie").clone().expect("a session cookie"), cert));
    }
    state.store.sqlite_pool().expect("the contract run keeps SQLite").close().await;
    cookies
}

/// `plico serve` on a free loopback port, killed when dropped.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(data_dir: &Path, log: &Path) -> Served {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let log = std::fs::File::create(log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_plico"))
        .args(["serve", "--no-wkd", "--domain", "plico.test", "--http", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .env("PLICO_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("plico serve starts");
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "plico serve did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Served { child, base }
}

/// A Web Fuzzing Commons auth file naming each account by its session cookie and the CSRF
/// header every state-changing request carries.
fn wfc_auth(path: &Path, accounts: &[(&str, &str)]) {
    let auth: Vec<serde_json::Value> = accounts
        .iter()
        .map(|(name, cookie)| {
            serde_json::json!({
                "name": name,
                "fixedHeaders": [
                    { "name": "Cookie", "value": cookie },
                    { "name": plico_api::CSRF_HEADER, "value": "1" },
                ],
            })
        })
        .collect();
    std::fs::write(path, serde_json::json!({ "auth": auth }).to_string()).expect("writes the auth file");
}

/// Real values for the formats a schema cannot check (`schemathesis_hooks.py` draws from them):
/// OpenPGP messages encrypted to the accounts' keys (base64, as the JSON fields carry them, and
/// raw, as a blob upload is), sealed items, public certificates, and OPAQUE's first messages.
fn samples(path: &Path, certs: &[plico_pgp::Certificate]) {
    use base64::Engine;
    let base64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let message = |n: usize| plico_pgp::encrypt_to(format!("sample {n}").as_bytes(), certs).expect("encrypts");
    let messages: Vec<String> = (0..12).map(|n| base64(&message(n))).collect();
    let certificates: Vec<String> =
        certs.iter().map(|cert| plico_pgp::armor_public_cert(cert).expect("armors")).collect();
    let registrations: Vec<String> = (0..6)
        .map(|n| {
            base64(&plico_opaque::client_registration_start(format!("password {n}").as_bytes()).expect("starts").1)
        })
        .collect();
    let logins: Vec<String> = (0..6)
        .map(|n| base64(&plico_opaque::client_login_start(format!("password {n}").as_bytes()).expect("starts").1))
        .collect();
    // Sealed items, as a client seals them (the server checks only their shape).
    let item_key = plico_client::items::ItemKey::new(&[7; 32], "contract@plico.test");
    let items: Vec<String> = (0..6)
        .map(|n| {
            base64(&plico_client::items::seal_bytes(
                &item_key,
                "contact",
                "0123456789abcdef0123456789abcdef",
                1,
                format!("{{\"n\":{n}}}").as_bytes(),
            ))
        })
        .collect();
    let samples = serde_json::json!({
        "formats": {
            "openpgp-message": messages,
            "sealed-item": items,
            "openpgp-certificate": certificates,
            "opaque-registration-request": registrations,
            "opaque-credential-request": logins,
        },
        "blobs": (0..6).map(|n| base64(&message(100 + n))).collect::<Vec<_>>(),
    });
    std::fs::write(path, samples.to_string()).expect("writes the samples");
}

/// Runs schemathesis with all checks; `filter` chooses the operations. Returns its output, and
/// fails the test when any check failed.
fn run_schemathesis(st: &Path, served: &Served, auth: &Path, samples: &Path, filter: &[&str], report: &Path) -> String {
    let examples = std::env::var("PLICO_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| EXAMPLES.to_string());
    let seed = std::env::var("PLICO_SCHEMATHESIS_SEED").unwrap_or_else(|_| "28".into());
    let output = Command::new(st)
        .current_dir(report.parent().expect("the report's directory"))
        .arg("--no-color")
        .arg("--config-file")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis.toml"))
        .arg("run")
        .arg(format!("{}/api/v1/openapi.json", served.base))
        .args(["--checks", "all", "--auth-wfc"])
        .arg(auth)
        .args([
            "--max-examples",
            &examples,
            "--seed",
            &seed,
            "--workers",
            "1",
            "--report",
            "junit",
            "--report-junit-path",
        ])
        .arg(report)
        .args(filter)
        .env("SCHEMATHESIS_HOOKS", Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis_hooks.py"))
        .env("PLICO_CONTRACT_SAMPLES", samples)
        .output()
        .expect("schemathesis runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    println!("{text}");
    assert!(output.status.success(), "schemathesis found the document and the server apart:\n{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_what_the_server_does() {
    let st = schemathesis();
    if !plico_test_support::peer(st.to_str().expect("utf-8 path"), &["--version"], "the API contract test") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let accounts = sign_up(&data, &["alice", "bob", "carol", "dana"]).await;
    let certs: Vec<plico_pgp::Certificate> = accounts.iter().map(|(_, cert)| cert.clone()).collect();
    let cookies: Vec<String> = accounts.into_iter().map(|(cookie, _)| cookie).collect();
    let samples_file = dir.path().join("samples.json");
    samples(&samples_file, &certs);
    let served = serve(&data, &dir.path().join("serve.log")).await;
    let auth = |name: &str, accounts: &[(&str, &str)]| {
        let path = dir.path().join(name);
        wfc_auth(&path, accounts);
        path
    };

    // Everything but the operations that end a session, as Alice with Bob as her peer.
    let both = auth("alice-bob.json", &[("alice", &cookies[0]), ("bob", &cookies[1])]);
    let report = dir.path().join("main.xml");
    let exclude = ["--exclude-operation-id", "logout", "--exclude-operation-id", "close_account"];
    run_schemathesis(&st, &served, &both, &samples_file, &exclude, &report);
    // Then each of those on a session of its own.
    for (operation, account, cookie) in [("logout", "carol", &cookies[2]), ("close_account", "dana", &cookies[3])] {
        let own = auth(&format!("{account}.json"), &[(account, cookie)]);
        let report = dir.path().join(format!("{operation}.xml"));
        // One operation has no links to follow: the stateful phase is for the main run.
        let filter = ["--include-operation-id", operation, "--phases", "examples,coverage,fuzzing"];
        run_schemathesis(&st, &served, &own, &samples_file, &filter, &report);
    }
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    assert!(!log.contains("internal error"), "the server logged an internal error:\n{log}");
}
