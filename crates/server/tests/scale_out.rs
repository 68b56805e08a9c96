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
