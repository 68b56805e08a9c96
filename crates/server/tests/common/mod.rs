//! Test support: a real server state on a temporary SQLite file, driven through the router.
//!
//! With `PLICO_TEST_BACKEND=postgres` every server these tests start keeps its rows in a fresh
//! database on one PostgreSQL shared by the test process; with `postgres+s3`, its blobs also in
//! a fresh bucket on one SeaweedFS (the conformance run of `cargo xtask test`).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, Response};
use axum::Router;
use http_body_util::BodyExt;
use plico_client::flows::{Transport, TransportBody, TransportResponse};
use plico_server::clock::ManualClock;
use plico_server::config::ServeConfig;
use plico_server::AppState;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tower::ServiceExt;

/// A 2026 instant, so retention tests read naturally.
pub const START: i64 = 1_790_000_000;

pub struct TestServer {
    pub state: AppState,
    pub router: Router,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut ServeConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = ServeConfig::for_data_dir(dir.path().join("data"));
        backend().configure(&mut config);
        // The tests move the clock by days between requests of one session; the idle timeout
        // has its own tests (account_security.rs), which turn it on.
        config.session_idle_minutes = 0;
        // Sign-up's proof of work stays on, at a few hundred hashes: debug builds hash slowly,
        // and its own tests (account_security.rs) check the difficulty.
        config.signup_pow_rounds = 4;
        config.signup_pow_bits = 4;
        adjust(&mut config);
        let clock = Arc::new(ManualClock::new(START));
        let engine = if config.database == "sqlite" { "sqlite" } else { "postgres" };
        let state = AppState::open(config, clock.clone()).await.expect("server state opens");
        assert_eq!(state.store.engine(), engine, "the rows are where the settings say");
        let router = plico_server::router(state.clone());
        TestServer { state, router, clock, dir }
    }

    /// Another node of the same service: its own data directory holding this one's secrets (as
    /// an operator copies them), the same database and bucket, the same clock.
    pub async fn another_node(&self) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&data_dir).expect("data dir");
        for secret in ["opaque-server-setup.bin", "queue.key"] {
            std::fs::copy(self.state.config.data_dir.join(secret), data_dir.join(secret)).expect("copies a secret");
        }
        let config = ServeConfig { data_dir, ..(*self.state.config).clone() };
        let state = AppState::open(config, self.clock.clone()).await.expect("the second node starts");
        let router = plico_server::router(state.clone());
        TestServer { state, router, clock: self.clock.clone(), dir }
    }

    /// A browser-like client with its own cookie jar and IP.
    pub fn client(&self, ip: &str) -> TestClient {
        TestClient {
            router: self.router.clone(),
            cookie: Arc::new(Mutex::new(None)),
            ip: ip.parse().expect("ip"),
            versions: Arc::default(),
            headers: Arc::default(),
        }
    }
}

#[derive(Clone)]
pub struct TestClient {
    pub router: Router,
    pub cookie: Arc<Mutex<Option<String>>>,
    pub ip: std::net::IpAddr,
    /// The device's highest seen version of each sealed document (a browser keeps it sealed in
    /// IndexedDB).
    pub versions: Arc<Mutex<std::collections::HashMap<String, i64>>>,
    /// Headers every request of this client carries (an X-Forwarded-For, say).
    pub headers: Arc<Mutex<Vec<(String, String)>>>,
}

pub struct TestResponse {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {}", self.json())).to_owned()
    }
}

impl TestClient {
    pub fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let mut builder = Request::builder().method(method).uri(path).header(header::USER_AGENT, "PlicoTest/1.0");
        if let Some(cookie) = self.cookie.lock().expect("cookie lock").as_ref() {
            builder = builder.header(header::COOKIE, cookie.clone());
        }
        if method != "GET" {
            builder = builder.header(plico_api::CSRF_HEADER, "1");
        }
        for (name, value) in self.headers.lock().expect("headers lock").iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let mut request = request;
        request.extensions_mut().insert(ConnectInfo(SocketAddr::new(self.ip, 40000)));
        let response: Response<Body> = self.router.clone().oneshot(request).await.expect("router answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for value in headers.get_all(header::SET_COOKIE) {
            let value = value.to_str().expect("cookie is ascii");
            let pair = value.split(';').next().unwrap_or("").to_owned();
            let mut jar = self.cookie.lock().expect("cookie lock");
            *jar = if value.contains("Max-Age=0") { None } else { Some(pair) };
        }
        let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
        TestResponse { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(self.request("GET", path).body(Body::empty()).expect("request")).await
    }

    pub async fn delete(&self, path: &str) -> TestResponse {
        self.send(self.request("DELETE", path).body(Body::empty()).expect("request")).await
    }

    /// Uploads `bytes` as a blob (`POST /api/v1/blobs`).
    pub async fn upload_blob(&self, bytes: Vec<u8>) -> TestResponse {
        let request = self
            .request("POST", "/api/v1/blobs")
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(bytes))
            .expect("request");
        self.send(request).await
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<Body>) -> TestResponse {
        let request = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.into())
            .expect("request");
        self.send(request).await
    }
}

impl Transport for TestClient {
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<TransportBody>,
    ) -> Result<TransportResponse, String> {
        let mut request = TestClient::request(self, method, &format!("/api/v1{path}"));
        // As a browser does, with its length declared.
        let body = match body {
            Some(body) => {
                request = request
                    .header(header::CONTENT_TYPE, body.content_type)
                    .header(header::CONTENT_LENGTH, body.bytes.len());
                if let Some(key) = &body.idempotency_key {
                    request = request.header("idempotency-key", key.as_str());
                }
                Body::from(body.bytes)
            }
            None => Body::empty(),
        };
        let response = self.send(request.body(body).map_err(|e| e.to_string())?).await;
        Ok(TransportResponse { status: response.status, body: response.body })
    }

    async fn seen_version(&self, path: &str) -> i64 {
        self.versions.lock().expect("versions lock").get(path).copied().unwrap_or(0)
    }

    async fn saw_version(&self, path: &str, version: i64) {
        let mut versions = self.versions.lock().expect("versions lock");
        let seen = versions.entry(path.to_owned()).or_insert(0);
        *seen = (*seen).max(version);
    }
}

/// Every file below `dir`, at any depth.
pub fn all_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = vec![];
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("readable dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.is_file() {
                // Sockets (PostgreSQL's) and the like hold nothing to scan.
                files.push(path);
            }
        }
    }
    files
}

pub const PASSWORD: &str = "violet staple orbit 42";

/// The solved proof of work for a `signup/start` answer (JSON), as `signup/finish` takes it;
/// null when the server asked none.
pub fn solved_pow(started: &serde_json::Value) -> serde_json::Value {
    if started["pow"].is_null() {
        return serde_json::Value::Null;
    }
    let challenge: plico_api::PowChallenge = serde_json::from_value(started["pow"].clone()).expect("a challenge");
    let nonces = plico_pow::solve(&challenge.clone().into(), |_, _| {});
    serde_json::json!({ "challenge": challenge, "nonces": nonces })
}

pub async fn signup(client: &TestClient, name: &str) -> plico_client::UnlockedSession {
    plico_client::signup(client, name, PASSWORD, |_| {})
        .await
        .unwrap_or_else(|e| panic!("signup of {name} failed: {e}"))
}

/// The messages in the folder with `role`, as the account syncs them.
pub async fn folder_messages(
    client: &TestClient,
    role: plico_api::mail::FolderRole,
) -> Vec<plico_api::mail::MessageMeta> {
    let folders: Vec<plico_api::mail::Folder> =
        serde_json::from_value(client.get("/api/v1/folders").await.json()).expect("folders");
    let folder = folders.into_iter().find(|folder| folder.role == Some(role)).expect("folder").id;
    let changes: plico_api::mail::SyncChanges =
        serde_json::from_value(client.get("/api/v1/sync?since=0").await.json()).expect("sync");
    changes.messages.into_iter().filter(|message| message.folder_id == folder).collect()
}

/// The inner message of a stored copy, decrypted with the account's key.
pub async fn inner_of(
    server: &TestServer,
    session: &plico_client::UnlockedSession,
    meta: &plico_api::mail::MessageMeta,
) -> String {
    let blob = server.state.read_blob(&meta.blob_hash).await.expect("blob");
    let ciphertext = plico_mime::unwrap_pgp_mime(&blob).expect("PGP/MIME");
    String::from_utf8(plico_pgp::decrypt_and_verify(&ciphertext, &session.secret_key, &[]).expect("decrypts").plaintext)
        .expect("utf-8")
}

/// Starts the SMTP listener for `server` on a free port.
pub async fn listen(server: &TestServer) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let address = listener.local_addr().expect("address");
    tokio::spawn(plico_server::inbound::smtp::serve(
        listener,
        server.state.clone(),
        None,
        plico_server::shutdown::Shutdown::new(),
    ));
    address
}

/// Runs `openssl` with `args` (Debian openssl); its standard output.
pub fn openssl(args: &[&str]) -> Vec<u8> {
    let output = std::process::Command::new("openssl").args(args).output().expect("openssl runs (Debian openssl)");
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// A peer process a test started, killed and reaped when the test ends.
pub struct Reaped(pub std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The inner messages of several stored copies, in order.
pub async fn inners_of<'a>(
    server: &TestServer,
    session: &plico_client::UnlockedSession,
    metas: impl IntoIterator<Item = &'a plico_api::mail::MessageMeta>,
) -> Vec<String> {
    let mut inners = Vec::new();
    for meta in metas {
        inners.push(inner_of(server, session, meta).await);
    }
    inners
}

pub const PYTHON: &str = "/usr/bin/python3";

/// The sink, its output directory and the files it was started with.
pub struct Sink {
    pub child: std::process::Child,
    pub port: u16,
    pub out: std::path::PathBuf,
    pub dir: tempfile::TempDir,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_sink() -> Sink {
    let dir = tempfile::tempdir().expect("sink dir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-keyout",
        key.to_str().expect("path"),
        "-out",
        cert.to_str().expect("path"),
    ]);
    let out = dir.path().join("out");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/smtp_sink.py");
    let mut child = std::process::Command::new(PYTHON)
        .arg(script)
        .args(["--out", out.to_str().expect("path"), "--cert", cert.to_str().expect("path")])
        .args(["--key", key.to_str().expect("path"), "--user", "relay", "--password", "relay-secret"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("the SMTP sink starts (Debian python3-aiosmtpd; `cargo xtask setup` installs it)");
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().expect("stdout")), &mut line)
        .expect("reads");
    let port = line
        .strip_prefix("ready ")
        .and_then(|port| port.trim().parse().ok())
        .unwrap_or_else(|| panic!("the sink did not start (is python3-aiosmtpd installed?): {line:?}"));
    Sink { child, port, out, dir }
}

impl Sink {
    /// The messages received so far: the bytes and the envelope JSON of each.
    pub fn received(&self) -> Vec<(Vec<u8>, serde_json::Value)> {
        let mut names: Vec<String> = std::fs::read_dir(&self.out)
            .map(|entries| entries.flatten().filter_map(|e| e.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        names.retain(|name| name.ends_with(".eml") && !name.starts_with('.'));
        names.sort();
        names
            .iter()
            .map(|name| {
                let eml = std::fs::read(self.out.join(name)).expect("eml");
                let json = std::fs::read(self.out.join(name.replace(".eml", ".json"))).expect("json");
                (eml, serde_json::from_slice(&json).expect("json"))
            })
            .collect()
    }
}

/// Points `config` at the sink as the smarthost (STARTTLS with its self-signed certificate, AUTH).
pub fn with_smarthost(config: &mut ServeConfig, port: u16, dkim: Option<&std::path::Path>) {
    config.smarthost = Some(format!("localhost:{port}"));
    config.smarthost_user = Some("relay".into());
    config.smarthost_password = Some("relay-secret".into());
    config.smarthost_insecure_tls = true;
    config.dkim_key = dkim.map(std::path::Path::to_path_buf);
}

/// A bare SMTP client: writes lines, reads whole (multi-line) replies.
pub struct SmtpClient {
    reader: tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl SmtpClient {
    pub async fn connect(address: std::net::SocketAddr) -> SmtpClient {
        let (read, writer) = tokio::net::TcpStream::connect(address).await.expect("connects").into_split();
        let mut client = SmtpClient { reader: tokio::io::BufReader::new(read), writer };
        assert_eq!(client.reply().await.0, 220);
        client
    }

    /// The next reply: its code and its text, lines joined with newlines.
    pub async fn reply(&mut self) -> (u16, String) {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let read = self.reader.read_line(&mut line).await.expect("reads");
            assert!(read > 0, "the server closed the connection; so far: {text}");
            text.push_str(&line);
            if line.as_bytes().get(3) == Some(&b' ') || line.len() < 4 {
                let code = line[..3].parse().expect("a reply code");
                return (code, text);
            }
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("writes");
    }

    pub async fn say(&mut self, line: &str) -> (u16, String) {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// A whole transaction; returns DATA's final reply.
    pub async fn mail(&mut self, from: &str, to: &[&str], message: &[u8]) -> (u16, String) {
        assert_eq!(self.say(&format!("MAIL FROM:<{from}>")).await.0, 250);
        for recipient in to {
            let (code, text) = self.say(&format!("RCPT TO:<{recipient}>")).await;
            assert_eq!(code, 250, "{text}");
        }
        assert_eq!(self.say("DATA").await.0, 354);
        let mut data = Vec::new();
        for line in message.split_inclusive(|&byte| byte == b'\n') {
            if line.starts_with(b".") {
                data.push(b'.');
            }
            data.extend_from_slice(line);
        }
        if !data.ends_with(b"\n") {
            data.extend_from_slice(b"\r\n");
        }
        data.extend_from_slice(b".\r\n");
        self.send(&data).await;
        self.reply().await
    }
}

/// What the server logs on this thread while the returned guard lives (a tokio test runs its
/// tasks on its own thread), for tests that check the logs name nobody.
pub fn capture_logs() -> (tracing::subscriber::DefaultGuard, Arc<Mutex<Vec<u8>>>) {
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let logs = Arc::new(Mutex::new(Vec::new()));
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || Sink(writer.clone()))
        .finish();
    (tracing::subscriber::set_default(subscriber), logs)
}

/// Sends `message` to `recipients` outside, with a Sent copy encrypted to the sender.
pub async fn send_outside(
    client: &TestClient,
    session: &plico_client::UnlockedSession,
    recipients: &[&str],
    message: &[u8],
) -> TestResponse {
    let own = plico_pgp::parse_cert(session.account.public_cert.as_bytes()).expect("own cert");
    let armored =
        String::from_utf8(plico_pgp::encrypt_to(message, std::slice::from_ref(&own)).expect("enc")).expect("ascii");
    let outer = plico_mime::OuterHeaders {
        from: Some(plico_mime::Mailbox::new(None, &session.account.address)),
        to: vec![],
        cc: vec![],
        message_id: "outbound-test@plico.test".into(),
        date: START,
        autocrypt: None,
    };
    let blob = plico_mime::wrap_pgp_mime(&outer, &armored).expect("wraps");
    let stored = client.upload_blob(blob).await.json();
    let summary = plico_pgp::encrypt_to(b"{}", std::slice::from_ref(&own)).expect("summary");
    let request = serde_json::json!({
        "recipients": [],
        "external": [{ "recipients": recipients, "message": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, message) }],
        "blob_hash": stored["hash"],
        "size": stored["size"],
        "sealed_summary": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, summary),
    });
    client.post_raw("/api/v1/messages/send", request.to_string()).await
}

/// Every queued outbound message, opened: its queue id and the message as it will be sent.
pub async fn queued(server: &TestServer) -> Vec<(String, Vec<u8>)> {
    let mut queued = Vec::new();
    for id in server.state.store.outbound_ids().await.expect("queue ids") {
        let sealed = server.state.store.outbound_message(&id).await.expect("reads").expect("sealed in its row");
        let message = server.state.outbound.files.open_sealed(&id, sealed).expect("opens");
        queued.push((id, message));
    }
    queued
}

/// Runs `sql` with `binds` on the server's database, as someone who can change it would.
pub async fn tamper(server: &TestServer, sql: &str, binds: &[&[u8]]) {
    let binds: Vec<Bind> = binds.iter().map(|bind| Bind::from(bind.to_vec())).collect();
    server.sql(sql, &binds).await;
}

/// Where the servers of this test run keep rows and blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite and files in the server's data directory (the default).
    Sqlite,
    /// Rows in PostgreSQL, blobs in files.
    Postgres,
    /// Rows in PostgreSQL, blobs in a SeaweedFS bucket.
    PostgresS3,
}

/// `PLICO_TEST_BACKEND`: unset or `sqlite`, `postgres`, or `postgres+s3`.
pub fn backend() -> Backend {
    match std::env::var("PLICO_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("postgres+s3") => Backend::PostgresS3,
        Ok("" | "sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("PLICO_TEST_BACKEND={other:?}: use sqlite, postgres or postgres+s3"),
    }
}

impl Backend {
    /// Points `config` at a database (and bucket) of its own on the shared engines.
    pub fn configure(self, config: &mut ServeConfig) {
        if self == Backend::Sqlite {
            return;
        }
        let postgres = plico_test_support::engines::shared_postgres().expect("PostgreSQL for PLICO_TEST_BACKEND");
        config.database = postgres.create_database();
        if self == Backend::PostgresS3 {
            // One bucket for the process, a folder in it for each server: SeaweedFS gives every
            // bucket volumes of its own, and runs out of them at a few dozen.
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            static BUCKET: std::sync::Once = std::sync::Once::new();
            let seaweedfs = plico_test_support::engines::shared_seaweedfs().expect("SeaweedFS for PLICO_TEST_BACKEND");
            BUCKET.call_once(|| seaweedfs.create_bucket("plico-tests"));
            let folder = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            config.blobs = format!("s3://plico-tests/server-{folder}");
            config.s3_endpoint = Some(seaweedfs.endpoint.clone());
            config.s3_access_key = Some(seaweedfs.access_key.into());
            config.s3_secret_key = Some(seaweedfs.secret_key.into());
        }
    }
}

/// A value bound to a test's raw SQL.
#[derive(Debug, Clone)]
pub enum Bind {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl From<i64> for Bind {
    fn from(value: i64) -> Self {
        Bind::Int(value)
    }
}
impl From<&str> for Bind {
    fn from(value: &str) -> Self {
        Bind::Text(value.to_owned())
    }
}
impl From<&String> for Bind {
    fn from(value: &String) -> Self {
        Bind::Text(value.clone())
    }
}
impl From<String> for Bind {
    fn from(value: String) -> Self {
        Bind::Text(value)
    }
}
impl From<Vec<u8>> for Bind {
    fn from(value: Vec<u8>) -> Self {
        Bind::Bytes(value)
    }
}
impl From<&[u8]> for Bind {
    fn from(value: &[u8]) -> Self {
        Bind::Bytes(value.to_vec())
    }
}

/// `?` placeholders (outside quotes) as `$1`, `$2`…, which both engines take.
fn numbered(sql: &str) -> String {
    let (mut out, mut next, mut quoted) = (String::with_capacity(sql.len()), 0, false);
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                next += 1;
                out.push_str(&format!("${next}"));
            }
            _ => out.push(c),
        }
    }
    out
}

/// `sqlx::query(sql)` with every bind; the same text serves either engine.
macro_rules! bound {
    ($sql:expr, $binds:expr) => {{
        let mut query = sqlx::query($sql);
        for bind in $binds {
            query = match bind.clone() {
                Bind::Int(value) => query.bind(value),
                Bind::Text(value) => query.bind(value),
                Bind::Bytes(value) => query.bind(value),
            };
        }
        query
    }};
}

macro_rules! on_engine {
    ($server:expr, $sql:expr, $binds:expr, |$query:ident, $pool:ident| $body:expr) => {{
        let sql = numbered($sql);
        if let Some($pool) = $server.state.store.sqlite_pool() {
            let $query = bound!(&sql, $binds);
            $body
        } else {
            let $pool = $server.state.store.postgres_pool().expect("a database");
            let $query = bound!(&sql, $binds);
            $body
        }
    }};
}

impl TestServer {
    /// Runs `sql` (with `?` placeholders) on the server's database, behind its back; the rows
    /// it changed.
    pub async fn sql(&self, sql: &str, binds: &[Bind]) -> u64 {
        on_engine!(self, sql, binds, |query, pool| query
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .rows_affected())
    }

    /// The first column of the one row `sql` returns, as a number.
    pub async fn sql_int(&self, sql: &str, binds: &[Bind]) -> i64 {
        use sqlx::Row;
        on_engine!(self, sql, binds, |query, pool| query
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get::<i64, _>(0))
    }

    /// The first column of the one row `sql` returns, as bytes.
    pub async fn sql_bytes(&self, sql: &str, binds: &[Bind]) -> Vec<u8> {
        use sqlx::Row;
        on_engine!(self, sql, binds, |query, pool| query
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get::<Vec<u8>, _>(0))
    }

    /// The first column of every row `sql` returns, as text.
    pub async fn sql_texts(&self, sql: &str, binds: &[Bind]) -> Vec<String> {
        use sqlx::Row;
        on_engine!(self, sql, binds, |query, pool| query
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .iter()
            .map(|row| row.get::<String, _>(0))
            .collect())
    }

    /// Makes everything the database wrote reach its files, for scans of what is on disk.
    pub async fn checkpoint(&self) {
        match self.state.store.sqlite_pool() {
            Some(_) => self.sql("PRAGMA wal_checkpoint(TRUNCATE)", &[]).await,
            None => self.sql("CHECKPOINT", &[]).await,
        };
    }

    /// Every file this server's data may be in: its data directory, and the shared engines'.
    pub fn data_dirs(&self) -> Vec<std::path::PathBuf> {
        let mut dirs = vec![self.dir.path().to_owned()];
        if backend() != Backend::Sqlite {
            dirs.extend(plico_test_support::engines::shared_postgres().map(|postgres| postgres.dir_for_test()));
        }
        if backend() == Backend::PostgresS3 {
            dirs.extend(plico_test_support::engines::shared_seaweedfs().map(|seaweedfs| seaweedfs.dir_for_test()));
        }
        dirs
    }

    /// Where this server's blob files land: its data directory's `blobs`, or SeaweedFS's.
    pub fn blob_dir(&self) -> std::path::PathBuf {
        match backend() {
            Backend::PostgresS3 => plico_test_support::engines::shared_seaweedfs().expect("SeaweedFS").dir_for_test(),
            _ => self.state.config.data_dir.join("blobs"),
        }
    }

    /// Every file under [`TestServer::data_dirs`] (checkpoint first).
    pub fn files_on_disk(&self) -> Vec<std::path::PathBuf> {
        self.data_dirs().iter().flat_map(|dir| all_files(dir)).collect()
    }

    /// Closes the database pool, as if the database went away.
    pub async fn close_database(&self) {
        match (self.state.store.sqlite_pool(), self.state.store.postgres_pool()) {
            (Some(pool), _) => pool.close().await,
            (_, Some(pool)) => pool.close().await,
            _ => {}
        }
    }
}

/// Sends `inner` (an RFC 5322 message) from `client`'s account to the Plico account `to`, whose
/// key is `recipient`, through the API as a client could (any client can write any bytes):
/// signed by `signer` when given, with `summary` as its sealed summary.
pub async fn send_raw(
    client: &TestClient,
    to: &str,
    recipient: &plico_pgp::Certificate,
    inner: &str,
    signer: Option<&plico_pgp::Certificate>,
    summary: &plico_mime::Summary,
) {
    use base64::Engine;
    let armored = match signer {
        Some(signer) => plico_pgp::encrypt_and_sign(inner.as_bytes(), std::slice::from_ref(recipient), signer),
        None => plico_pgp::encrypt_to(inner.as_bytes(), std::slice::from_ref(recipient)),
    }
    .expect("encrypts");
    let outer = plico_mime::OuterHeaders { message_id: "raw@plico.test".into(), date: START, ..Default::default() };
    let blob = plico_mime::wrap_pgp_mime(&outer, std::str::from_utf8(&armored).expect("ascii")).expect("wraps");
    let stored = client.upload_blob(blob).await.json();
    let json = serde_json::to_vec(summary).expect("json");
    let sealed = match signer {
        Some(signer) => plico_pgp::encrypt_and_sign(&json, std::slice::from_ref(recipient), signer),
        None => plico_pgp::encrypt_to(&json, std::slice::from_ref(recipient)),
    }
    .expect("seals");
    let send = serde_json::json!({ "recipients": [to], "blob_hash": stored["hash"], "size": stored["size"],
        "sealed_summary": base64::engine::general_purpose::STANDARD.encode(sealed) });
    let response = client.post_raw("/api/v1/messages/send", send.to_string()).await;
    assert_eq!(response.status, 200, "{}", String::from_utf8_lossy(&response.body));
}

pub fn summary_from(address: &str, subject: &str) -> plico_mime::Summary {
    plico_mime::Summary {
        subject: subject.into(),
        from: Some(plico_mime::Mailbox::new(Some("Someone"), address)),
        date: Some(START),
        snippet: "…".into(),
        has_attachments: false,
        message_id: None,
        in_reply_to: vec![],
        references: vec![],
        authentication_results: None,
        blob: None,
    }
}
