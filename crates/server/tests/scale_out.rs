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
