//! Plico on PostgreSQL (and a bucket): settings that cannot work are refused at start with the
//! flag named, and several `plico serve` nodes on one database behave as one service.

mod common;

use plico_server::config::ServeConfig;

/// Starts a server state with `adjust`ed settings and returns why it would not start.
async fn refused(adjust: impl FnOnce(&mut ServeConfig)) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = ServeConfig::for_data_dir(dir.path().join("data"));
    adjust(&mut config);
    let clock = std::sync::Arc::new(plico_server::clock::ManualClock::new(common::START));
    match plico_server::AppState::open(config, clock).await {
        Ok(_) => panic!("the server started"),
        Err(error) => error.to_string(),
    }
}

/// An unreachable server, a database that is not there, a URL that is not one, and a database
/// without Plico's tables whose user may not make them: each stops the start, names
/// `--database`, says what is wrong, and never repeats the password.
#[tokio::test]
async fn database_settings_that_cannot_work_are_named() {
    let Some(postgres) = plico_test_support::engines::shared_postgres() else { return };

    let port = plico_test_support::engines::free_port();
    let unreachable =
        refused(|config| config.database = format!("postgres://plico:hunter2@127.0.0.1:{port}/plico")).await;
    assert!(unreachable.contains("--database") && unreachable.contains("cannot reach"), "{unreachable}");
    assert!(unreachable.contains(&format!("127.0.0.1:{port}")), "{unreachable}");
    assert!(!unreachable.contains("hunter2"), "the password is not repeated: {unreachable}");

    let missing = refused(|config| config.database = postgres.url("no_such_database")).await;
    assert!(missing.contains("--database") && missing.contains("no_such_database"), "{missing}");

    let nonsense = refused(|config| config.database = "mysql://somewhere/plico".into()).await;
    assert!(nonsense.contains("--database") && nonsense.contains("neither"), "{nonsense}");

    // A fresh database owned by the superuser, and a user who may connect but not create tables
    // (PostgreSQL 15 and later give nobody CREATE on `public` by default).
    postgres.psql("plico", "CREATE DATABASE bare");
    postgres.psql("plico", "CREATE ROLE reader LOGIN");
    let url = postgres.url("bare").replace("postgres://plico@", "postgres://reader@");
    let no_permission = refused(|config| config.database = url).await;
    assert!(no_permission.contains("--database"), "{no_permission}");
    assert!(no_permission.contains("has not got Plico's tables"), "{no_permission}");
    assert!(no_permission.contains("may not create them"), "{no_permission}");
    // The owner can, and then the reader's start no longer needs to.
    let owner = postgres.url("bare");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = ServeConfig::for_data_dir(dir.path().join("data"));
    config.database = owner;
    let clock = std::sync::Arc::new(plico_server::clock::ManualClock::new(common::START));
    let state = plico_server::AppState::open(config, clock).await.expect("the owner migrates");
    assert_eq!(state.store.engine(), "postgres");
}

/// A load balancer that hands each request to the next node in turn, as round robin does: a
/// flow of several requests (sign-up, sign-in, a send) crosses nodes at every step.
struct RoundRobin {
    nodes: Vec<common::TestClient>,
    next: std::sync::atomic::AtomicUsize,
}

impl RoundRobin {
    /// Browsers at `ip`, one per node, sharing one cookie jar (one browser behind the balancer).
    fn new(nodes: &[&common::TestServer], ip: &str) -> RoundRobin {
        let first = nodes[0].client(ip);
        let clients =
            nodes.iter().map(|node| common::TestClient { cookie: first.cookie.clone(), ..node.client(ip) }).collect();
        RoundRobin { nodes: clients, next: std::sync::atomic::AtomicUsize::new(0) }
    }

    /// The browser as node `n` alone sees it.
    fn on(&self, n: usize) -> &common::TestClient {
        &self.nodes[n]
    }
}

impl plico_client::flows::Transport for RoundRobin {
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<plico_client::flows::TransportBody>,
    ) -> Result<plico_client::flows::TransportResponse, String> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.nodes.len();
        plico_client::flows::Transport::request(&self.nodes[n], method, path, body).await
    }
}

/// Node A on PostgreSQL and a SeaweedFS bucket (whatever `PLICO_TEST_BACKEND` says), node B on
/// the same with A's secrets.
async fn fleet(adjust: impl Fn(&mut ServeConfig)) -> Option<(common::TestServer, common::TestServer)> {
    plico_test_support::engines::shared_postgres()?;
    plico_test_support::engines::shared_seaweedfs()?;
    let a = common::TestServer::start_with(|config| {
        common::Backend::PostgresS3.configure(config);
        adjust(config);
    })
    .await;
    let b = a.another_node().await;
    Some((a, b))
}

/// Sign-up, sign-in, sending and reading, SMTP and the outbound queue, with each request on
/// whichever node the balancer picks: it all behaves as one service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_database_and_bucket_behave_as_one_service() {
    use plico_api::mail::FolderRole;
    use plico_client::mail::{open, send, LocalRenderer, Outgoing};

    let sink = common::start_sink();
    let Some((a, b)) = fleet(|config| common::with_smarthost(config, sink.port, None)).await else { return };

    // Sign-up starts on one node and finishes on the other.
    let alice_browser = RoundRobin::new(&[&a, &b], "192.0.2.10");
    let alice = plico_client::signup(&alice_browser, "alice", common::PASSWORD, |_| {}).await.expect("alice signs up");
    let bob_browser = RoundRobin::new(&[&b, &a], "192.0.2.11");
    let bob = plico_client::signup(&bob_browser, "bob", common::PASSWORD, |_| {}).await.expect("bob signs up");

    // Alice sends through both nodes; Bob reads on B alone.
    let note = Outgoing {
        to: vec!["bob@plico.test".into()],
        subject: "FLEET-SUBJECT".into(),
        text: "FLEET-BODY".into(),
        ..Outgoing::default()
    };
    send(&alice_browser, &LocalRenderer, &alice, &note, common::START, &|_| {}).await.expect("alice sends");
    let inbox = common::folder_messages(bob_browser.on(1), FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 1);
    let opened = open(bob_browser.on(0), &LocalRenderer, &bob, &inbox[0]).await.expect("bob opens it on B");
    assert_eq!(opened.message.subject, "FLEET-SUBJECT");

    // A sign-in started on A finishes on B, and its session works on both.
    let again = RoundRobin::new(&[&a, &b], "192.0.2.12");
    plico_client::login(&again, "alice@plico.test", common::PASSWORD, |_| {}).await.expect("signs in across nodes");
    assert_eq!(again.on(0).get("/api/v1/session").await.status, 200);
    assert_eq!(again.on(1).get("/api/v1/session").await.status, 200);
    // A wrong password still fails, wherever each step lands.
    let wrong = RoundRobin::new(&[&b, &a], "192.0.2.13");
    assert!(plico_client::login(&wrong, "alice@plico.test", "not the password", |_| {}).await.is_err());

    // Mail arriving over SMTP at B is in Alice's Inbox on A.
    let address = common::listen(&b).await;
    let mut smtp = common::SmtpClient::connect(address).await;
    assert_eq!(smtp.say("EHLO outside.example").await.0, 250);
    let mail = b"From: dana@example.org\r\nTo: alice@plico.test\r\nSubject: via B\r\n\r\nFLEET-SMTP-BODY\r\n";
    assert_eq!(smtp.mail("dana@example.org", &["alice@plico.test"], mail).await.0, 250);
    let inbox = common::folder_messages(alice_browser.on(0), FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 1);
    assert!(common::inner_of(&a, &alice, &inbox[0]).await.contains("FLEET-SMTP-BODY"));

    // Mail for outside queued on A is delivered by B, once.
    let outside = b"From: alice@plico.test\r\nTo: erin@example.net\r\nSubject: out\r\n\r\nFLEET-OUT\r\n";
    let queued = common::send_outside(alice_browser.on(0), &alice, &["erin@example.net"], outside).await;
    assert_eq!(queued.status, 200, "{}", String::from_utf8_lossy(&queued.body));
    let report = plico_server::outbound::run_due(&b.state).await.expect("B delivers");
    assert_eq!(report.delivered, 1, "{report:?}");
    assert_eq!(plico_server::outbound::run_due(&a.state).await.expect("A looks"), Default::default());
    assert_eq!(sink.received().len(), 1, "exactly once");

    // The hourly retention runs once per period across the fleet.
    let hour = std::time::Duration::from_secs(3600);
    assert!(plico_server::jobs::retention::run_claimed(&a.state, hour).await.expect("runs").is_some());
    assert!(plico_server::jobs::retention::run_claimed(&b.state, hour).await.expect("runs").is_none(), "not twice");
    a.clock.advance(3600);
    assert!(plico_server::jobs::retention::run_claimed(&b.state, hour).await.expect("runs").is_some(), "next hour");
    assert!(plico_server::jobs::retention::run_claimed(&a.state, hour).await.expect("runs").is_none());
}

/// Guessing spread over both nodes is held back as if one node saw it all.
#[tokio::test]
async fn rate_limits_hold_across_nodes() {
    let Some((a, b)) = fleet(|config| config.login_attempts_per_account = 4).await else { return };
    let start = |node: &common::TestServer| {
        let client = node.client("198.51.100.7");
        async move {
            let (_, request) = plico_opaque::client_login_start(b"a guess").expect("starts");
            let body = serde_json::json!({
                "address": "nobody@plico.test",
                "credential_request": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, request),
            });
            client.post_raw("/api/v1/login/start", body.to_string()).await.status
        }
    };
    for attempt in 0..4 {
        let node = if attempt % 2 == 0 { &a } else { &b };
        assert_eq!(start(node).await, 200, "attempt {attempt}");
    }
    assert_eq!(start(&a).await, 429, "the fifth, counted across both nodes");
    assert_eq!(start(&b).await, 429);
}

/// A node started with another OPAQUE secret than the first node's would fail every sign-in;
/// it is refused at start, with the file named.
#[tokio::test]
async fn a_node_with_other_secrets_is_refused() {
    let Some((a, _b)) = fleet(|_| {}).await else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let config = ServeConfig { data_dir: dir.path().join("data"), ..(*a.state.config).clone() };
    let clock = std::sync::Arc::new(plico_server::clock::ManualClock::new(common::START));
    let refused = match plico_server::AppState::open(config, clock).await {
        Ok(_) => panic!("a node with its own secrets started"),
        Err(error) => error.to_string(),
    };
    assert!(refused.contains("opaque-server-setup.bin") && refused.contains("copy"), "{refused}");
}

/// A `plico serve` process of the fleet, killed with SIGKILL when dropped.
struct NodeProcess {
    child: std::process::Child,
    args: Vec<String>,
    smtp: std::net::SocketAddr,
    log: std::path::PathBuf,
}

impl NodeProcess {
    async fn start(config: &ServeConfig, data_dir: &std::path::Path) -> NodeProcess {
        let smtp: std::net::SocketAddr =
            format!("127.0.0.1:{}", plico_test_support::engines::free_port()).parse().expect("address");
        let http = format!("127.0.0.1:{}", plico_test_support::engines::free_port());
        let args: Vec<String> = [
            "serve",
            "--database",
            &config.database,
            "--blobs",
            &config.blobs,
            "--s3-endpoint",
            config.s3_endpoint.as_deref().expect("an endpoint"),
            "--data-dir",
            &data_dir.display().to_string(),
            "--domain",
            &config.domain,
            "--http",
            &http,
            "--smtp",
            &smtp.to_string(),
        ]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
        let mut node =
            NodeProcess { child: spawn(&args, config, data_dir), args, smtp, log: data_dir.join("node.log") };
        node.wait_ready().await;
        node
    }

    async fn wait_ready(&mut self) {
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(self.smtp).await.is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the node exited ({status}): {}", std::fs::read_to_string(&self.log).unwrap_or_default());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the node did not listen: {}", std::fs::read_to_string(&self.log).unwrap_or_default());
    }

    /// SIGKILL: no shutdown, no flush, nothing finishes.
    fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    async fn restart(&mut self, config: &ServeConfig, data_dir: &std::path::Path) {
        self.child = spawn(&self.args, config, data_dir);
        self.wait_ready().await;
    }
}

fn spawn(args: &[String], config: &ServeConfig, data_dir: &std::path::Path) -> std::process::Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(data_dir.join("node.log")).expect("log");
    std::process::Command::new(env!("CARGO_BIN_EXE_plico"))
        .args(args)
        .env("PLICO_S3_ACCESS_KEY", config.s3_access_key.as_deref().expect("a key"))
        .env("PLICO_S3_SECRET_KEY", config.s3_secret_key.as_deref().expect("a secret"))
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("plico serve starts")
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// What a sender learned of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// 250 after the final dot: it must be stored, once.
    Accepted,
    /// Refused, or the connection failed before the final dot: it must not be stored.
    Refused,
    /// The connection failed after the final dot, before the reply: stored once or not at all.
    Unknown,
}

/// One SMTP transaction that tolerates a node dying under it.
async fn deliver(address: std::net::SocketAddr, token: &str) -> Outcome {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    async fn reply(reader: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<u16> {
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.ok()? == 0 {
                return None;
            }
            if line.len() < 4 || line.as_bytes()[3] == b' ' {
                return line.get(..3)?.parse().ok();
            }
        }
    }
    let Ok(stream) = tokio::net::TcpStream::connect(address).await else { return Outcome::Refused };
    let (read, mut write) = stream.into_split();
    let mut reader = tokio::io::BufReader::new(read);
    let mut step = async |line: &str| -> Option<u16> {
        write.write_all(line.as_bytes()).await.ok()?;
        reply(&mut reader).await
    };
    let _ = step("").await; // the greeting
    for (line, expected) in [
        ("EHLO load.example\r\n", 250),
        ("MAIL FROM:<load@example.org>\r\n", 250),
        ("RCPT TO:<dora@plico.test>\r\n", 250),
        ("DATA\r\n", 354),
    ] {
        if step(line).await != Some(expected) {
            return Outcome::Refused;
        }
    }
    let message = format!(
        "From: load@example.org\r\nTo: dora@plico.test\r\nSubject: {token}\r\n\r\n{}{token}\r\n.\r\n",
        "A line of filler so that the message is about ten kilobytes long.\r\n".repeat(150)
    );
    match step(&message).await {
        Some(250) => Outcome::Accepted,
        Some(_) => Outcome::Refused,
        None => Outcome::Unknown,
    }
}

/// Parallel senders deliver to both nodes while one and then the other is killed with SIGKILL
/// and started again: every message that got 250 is stored exactly once, none that was refused
/// is, and every stored one's blob is whole in the bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_either_node_under_smtp_load_loses_and_doubles_nothing() {
    const SENDERS: usize = 4;
    const PER_SENDER: usize = 30;
    let Some((a, b)) = fleet(|_| {}).await else { return };
    let dora_client = a.client("192.0.2.30");
    let dora = common::signup(&dora_client, "dora").await;
    let config = (*a.state.config).clone();
    let (dir_a, dir_b) = (a.state.config.data_dir.clone(), b.state.config.data_dir.clone());
    let mut node_a = NodeProcess::start(&config, &dir_a).await;
    let mut node_b = NodeProcess::start(&config, &dir_b).await;
    let addresses = [node_a.smtp, node_b.smtp];

    let outcomes = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, Outcome)>::new()));
    let mut senders = Vec::new();
    for sender in 0..SENDERS {
        let outcomes = outcomes.clone();
        senders.push(tokio::spawn(async move {
            for n in 0..PER_SENDER {
                let token = format!("LOAD-{sender}-{n}-TOKEN");
                let outcome = deliver(addresses[(sender + n) % 2], &token).await;
                outcomes.lock().expect("outcomes").push((token, outcome));
            }
        }));
    }
    // Kill A twice and B once while the senders run, each time starting it again.
    for victim in [0, 1, 0] {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        let node = if victim == 0 { &mut node_a } else { &mut node_b };
        node.kill_9();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        node.restart(&config, if victim == 0 { &dir_a } else { &dir_b }).await;
    }
    for sender in senders {
        sender.await.expect("sender");
    }
    node_a.kill_9();
    node_b.kill_9();

    let outcomes = outcomes.lock().expect("outcomes").clone();
    let accepted = outcomes.iter().filter(|(_, outcome)| *outcome == Outcome::Accepted).count();
    assert!(accepted >= SENDERS * PER_SENDER / 3, "most got through: {accepted} of {}", outcomes.len());
    // The processes ran on the real clock, whose retention pass ended the session the test's
    // clock made; Dora signs in again.
    plico_client::login(&dora_client, "dora@plico.test", common::PASSWORD, |_| {}).await.expect("signs in");
    let inbox = common::folder_messages(&dora_client, plico_api::mail::FolderRole::Inbox).await;
    let mut stored = std::collections::HashMap::<String, usize>::new();
    for meta in &inbox {
        let inner = common::inner_of(&a, &dora, meta).await; // the blob is whole, and opens
        let token = inner
            .split_whitespace()
            .find(|word| word.starts_with("LOAD-") && word.ends_with("-TOKEN"))
            .expect("a token")
            .to_owned();
        *stored.entry(token).or_default() += 1;
    }
    for (token, outcome) in &outcomes {
        let copies = stored.get(token).copied().unwrap_or(0);
        match outcome {
            Outcome::Accepted => assert_eq!(copies, 1, "{token} got 250"),
            Outcome::Refused => assert_eq!(copies, 0, "{token} was refused"),
            Outcome::Unknown => assert!(copies <= 1, "{token} is stored {copies} times"),
        }
    }
    let unknown = outcomes.iter().filter(|(_, outcome)| *outcome == Outcome::Unknown).count();
    eprintln!("{accepted} accepted, {unknown} cut off after the dot, {} stored", inbox.len());
}

/// `plico migrate` moves a stopped SQLite installation with mail, a user folder, mail in the
/// recovery area, sessions and queued outbound mail (one in an old-style queue file) into
/// PostgreSQL and a bucket; the moved installation serves all of it, and a second move into the
/// same database is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_moves_a_sqlite_installation_into_postgresql_and_a_bucket() {
    use plico_api::mail::FolderRole;
    use plico_client::mail::{send, LocalRenderer, Outgoing};

    let Some(postgres) = plico_test_support::engines::shared_postgres() else { return };
    let Some(seaweedfs) = plico_test_support::engines::shared_seaweedfs() else { return };
    let sink = common::start_sink();
    // The smarthost is down while the installation runs, so outside mail stays queued.
    let dead = plico_test_support::engines::free_port();
    let source = common::TestServer::start_with(|config| {
        config.database = "sqlite".into();
        config.blobs = "files".into();
        common::with_smarthost(config, dead, None);
    })
    .await;
    let (alice_client, bob_client) = (source.client("192.0.2.50"), source.client("192.0.2.51"));
    let alice = common::signup(&alice_client, "alice").await;
    let bob = common::signup(&bob_client, "bob").await;
    for n in 0..3 {
        let note = Outgoing {
            to: vec!["bob@plico.test".into()],
            subject: format!("MOVE-{n}"),
            text: format!("MOVE-BODY-{n}"),
            ..Outgoing::default()
        };
        send(&alice_client, &LocalRenderer, &alice, &note, common::START, &|_| {}).await.expect("sends");
    }
    // A large message over SMTP, kept as a blob file rather than in its row.
    let address = common::listen(&source).await;
    let mut smtp = common::SmtpClient::connect(address).await;
    smtp.say("EHLO outside.example").await;
    let large = format!(
        "From: dana@example.org\r\nTo: bob@plico.test\r\nSubject: large\r\n\r\n{}",
        "MOVE-LARGE line of text that repeats.\r\n".repeat(9000)
    );
    assert_eq!(smtp.mail("dana@example.org", &["bob@plico.test"], large.as_bytes()).await.0, 250);
    plico_client::mail::create_folder(&bob_client, &bob, "Projects").await.expect("a folder");
    let inbox = common::folder_messages(&bob_client, FolderRole::Inbox).await;
    assert_eq!(inbox.len(), 4);
    // Deleted twice: into Trash, then out of it into the recovery area (45 days).
    for _ in 0..2 {
        let deleted = bob_client
            .post_raw("/api/v1/messages/delete", serde_json::json!({ "ids": [inbox[0].id] }).to_string())
            .await;
        assert_eq!(deleted.status, 204, "{}", String::from_utf8_lossy(&deleted.body));
    }
    // Two messages for outside: one as this version queues it (sealed in its row), one as an
    // older version did (a sealed file under queue/, its row without the message).
    for to in ["erin@example.net", "fred@example.net"] {
        let outside = format!("From: alice@plico.test\r\nTo: {to}\r\nSubject: out\r\n\r\nMOVE-OUT\r\n");
        let queued = common::send_outside(&alice_client, &alice, &[to], outside.as_bytes()).await;
        assert_eq!(queued.status, 200);
    }
    let (old_style, _) = common::queued(&source).await.into_iter().next().expect("queued");
    let sealed = source.state.store.outbound_message(&old_style).await.expect("reads").expect("in its row");
    std::fs::write(source.state.config.data_dir.join("queue").join(&old_style), &sealed).expect("a queue file");
    source.sql("UPDATE outbound SET sealed_message = NULL WHERE id = ?", &[common::Bind::from(&old_style)]).await;
    let before: plico_api::mail::SyncChanges =
        serde_json::from_value(bob_client.get("/api/v1/sync?since=0").await.json()).expect("sync");
    let sessions = source.sql_int("SELECT COUNT(*) FROM sessions", &[]).await;
    let blob_files = source.state.blobs.list().expect("lists").len();
    assert!(blob_files >= 4, "sends and the large message are blob files: {blob_files}");

    // Stopped; moved.
    let mut config = (*source.state.config).clone();
    drop(source.router);
    drop(source.state);
    let target = postgres.create_database();
    seaweedfs.create_bucket("plico-moved");
    config.blobs = "s3://plico-moved/mail".into();
    config.s3_endpoint = Some(seaweedfs.endpoint.clone());
    config.s3_access_key = Some(seaweedfs.access_key.into());
    config.s3_secret_key = Some(seaweedfs.secret_key.into());
    let report = plico_server::migrate::run(&config, &target).await.expect("moves");
    for table in ["accounts", "sessions", "folders", "blobs", "messages", "outbound", "login_events"] {
        assert!(
            report.lines().any(|line| line.contains(table) && line.contains("checksum match")),
            "{table}: {report}"
        );
    }
    assert!(report.contains("queue files into their rows"), "{report}");
    assert!(report.contains(&format!("blobs: {blob_files} copied")), "{report}");
    assert!(report.contains("read back"), "{report}");

    // The moved installation: the same session, mail, folders and recovery area, from
    // PostgreSQL and the bucket; the queued mail goes out once the smarthost answers.
    config.database = target.clone();
    common::with_smarthost(&mut config, sink.port, None);
    let state = plico_server::AppState::open(config.clone(), source.clock.clone()).await.expect("the moved one starts");
    assert_eq!(state.store.engine(), "postgres");
    let router = plico_server::router(state.clone());
    let moved = common::TestClient { router, ..bob_client.clone() };
    assert_eq!(moved.get("/api/v1/session").await.status, 200, "bob's session moved with him");
    let after: plico_api::mail::SyncChanges =
        serde_json::from_value(moved.get("/api/v1/sync?since=0").await.json()).expect("sync");
    assert_eq!(after.cursor, before.cursor);
    assert_eq!(serde_json::to_value(&after.folders).ok(), serde_json::to_value(&before.folders).ok());
    assert_eq!(serde_json::to_value(&after.messages).ok(), serde_json::to_value(&before.messages).ok());
    assert!(after.messages.iter().any(|meta| meta.deleted_at.is_some()), "the recovery area moved too");
    for meta in &after.messages {
        let blob = state.read_blob(&meta.blob_hash).await.expect("every blob reads");
        let ciphertext = plico_mime::unwrap_pgp_mime(&blob).expect("PGP/MIME");
        plico_pgp::decrypt_and_verify(&ciphertext, &bob.secret_key, &[]).expect("and opens");
    }
    assert_eq!(state.store.outbound_rows().await.expect("rows").len(), 2);
    let report = plico_server::outbound::run_due(&state).await.expect("delivers");
    assert_eq!(report.delivered, 2, "{report:?}");
    assert_eq!(sink.received().len(), 2);
    let moved_sessions: i64 = {
        let pool = state.store.postgres_pool().expect("PostgreSQL");
        sqlx::query_scalar("SELECT COUNT(*) FROM sessions").fetch_one(pool).await.expect("count")
    };
    assert_eq!(moved_sessions, sessions);

    // Into a database that holds accounts already: refused, nothing changed.
    let again = plico_server::migrate::run(&config, &target).await.expect_err("refused");
    assert!(again.contains("already holds 2 accounts"), "{again}");

    // The command line names what is wrong, and fails.
    let empty = tempfile::tempdir().expect("temp dir");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_plico"))
        .args(["migrate", "--data-dir", &empty.path().display().to_string(), "--to", &target])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--data-dir") && stderr.contains("no Plico installation"), "{stderr}");
}
