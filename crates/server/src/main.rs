//! The `plico` binary.

use std::sync::Arc;

use clap::{Parser, Subcommand};
use plico_server::clock::SystemClock;
use plico_server::config::ServeConfig;
use plico_server::AppState;

#[derive(Parser)]
#[command(name = "plico", version, about = "Plico: end-to-end encrypted webmail you can host yourself")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app and the API.
    Serve(ServeConfig),
    /// Print the OpenAPI document.
    Openapi,
    /// Fill an account's Inbox with encrypted messages (benchmarks, trying a full mailbox).
    Seed {
        #[command(flatten)]
        config: ServeConfig,
        /// The account's name (the part before the @).
        #[arg(long)]
        account: String,
        #[arg(long, default_value_t = 10_000)]
        messages: usize,
    },
    /// Run every retention rule once and exit. `--days-ahead` runs them as they will run that
    /// many days from now (for drills and the end-to-end tests; it deletes for real).
    Retention {
        #[command(flatten)]
        config: ServeConfig,
        #[arg(long = "days-ahead", default_value_t = 0)]
        days_ahead: i64,
    },
    /// Set an account's storage quota in MB, or `default` for the operator's (`--quota-mb`).
    Quota {
        #[command(flatten)]
        config: ServeConfig,
        /// The account's name (the part before the @).
        #[arg(long)]
        account: String,
        /// MB (1,000,000 bytes), or `default`.
        quota: String,
    },
    /// Move a stopped SQLite installation (--data-dir) into PostgreSQL (--to) and its blob
    /// files into --blobs (a bucket, or `files` to leave them where they are); then check every
    /// table's rows and every blob, and report.
    Migrate {
        #[command(flatten)]
        config: ServeConfig,
        /// The PostgreSQL database to move into (empty); also PLICO_MIGRATE_TO.
        #[arg(long = "to", env = "PLICO_MIGRATE_TO", hide_env_values = true)]
        to: String,
    },
    /// Mark an account paid (never suspended for inactivity) or free again.
    Plan {
        #[command(flatten)]
        config: ServeConfig,
        /// The account's name (the part before the @).
        #[arg(long)]
        account: String,
        #[arg(value_parser = ["paid", "free"])]
        plan: String,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLICO_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    match Cli::parse().command {
        Command::Serve(config) => match serve(config).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!("{error}");
                eprintln!("plico: {error}");
                std::process::ExitCode::FAILURE
            }
        },
        Command::Retention { config, days_ahead } => {
            let clock = Arc::new(plico_server::clock::OffsetClock(days_ahead * plico_server::clock::DAY));
            let result = match AppState::open(config, clock).await {
                Ok(state) => plico_server::jobs::retention::run_once(&state).await.map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            match result {
                Ok(report) => {
                    println!(
                        "retention: {} messages, {} blob files, {} login events, {} sessions removed; \
                         accounts: {} closed purged, {} suspended, {} inactive deleted, {} notices",
                        report.messages,
                        report.blobs,
                        report.login_events,
                        report.sessions,
                        report.accounts.purged_closed,
                        report.accounts.suspended,
                        report.accounts.deleted_inactive,
                        report.accounts.notices
                    );
                    std::process::ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("plico: {error}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Command::Migrate { config, to } => match plico_server::migrate::run(&config, &to).await {
            Ok(report) => {
                print!("{report}");
                std::process::ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("plico migrate: {error}");
                std::process::ExitCode::FAILURE
            }
        },
        Command::Plan { config, account, plan } => {
            let result = match AppState::open(config, Arc::new(SystemClock)).await {
                Ok(state) => match state.store.account_by_name(&account).await {
                    Ok(Some(row)) => state.store.set_paid(row.id, plan == "paid").await.map_err(|e| e.to_string()),
                    Ok(None) => Err(format!("there is no account named {account}")),
                    Err(error) => Err(error.to_string()),
                },
                Err(error) => Err(error.to_string()),
            };
            match result {
                Ok(()) => {
                    println!("plan: {account} is now {plan}");
                    std::process::ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("plico: {error}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Command::Quota { config, account, quota } => {
            let bytes = match quota.as_str() {
                "default" => Ok(None),
                mb => mb
                    .parse::<u64>()
                    .map(|mb| Some(mb.saturating_mul(1_000_000)))
                    .map_err(|_| format!("the quota must be a number of MB or `default`, not {mb:?}")),
            };
            let result = match (bytes, AppState::open(config, Arc::new(SystemClock)).await) {
                (Err(error), _) => Err(error),
                (Ok(bytes), Ok(state)) => match state.store.account_by_name(&account).await {
                    Ok(Some(row)) => state.store.set_quota(row.id, bytes).await.map_err(|e| e.to_string()),
                    Ok(None) => Err(format!("there is no account named {account}")),
                    Err(error) => Err(error.to_string()),
                },
                (_, Err(error)) => Err(error.to_string()),
            };
            match result {
                Ok(()) => {
                    println!("quota: {account} now has {quota}{}", if quota == "default" { "" } else { " MB" });
                    std::process::ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("plico: {error}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Command::Seed { config, account, messages } => {
            let result = match AppState::open(config, Arc::new(SystemClock)).await {
                Ok(state) => plico_server::seed::seed(&state, &account, messages).await,
                Err(error) => Err(error.to_string()),
            };
            match result {
                Ok(()) => {
                    println!("seed: {messages} messages filed in {account}'s Inbox");
                    std::process::ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("plico: {error}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Command::Openapi => match serde_json::to_string_pretty(plico_server::http::openapi::document()) {
            Ok(json) => {
                println!("{json}");
                std::process::ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("plico: {error}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}

async fn serve(config: ServeConfig) -> Result<(), Box<dyn std::error::Error>> {
    let address = config.http_addr;
    let state = AppState::open(config, Arc::new(SystemClock)).await?;
    tokio::spawn(plico_server::jobs::retention::run_forever(state.clone(), std::time::Duration::from_secs(3600)));
    tokio::spawn(plico_server::outbound::run_forever(state.clone()));
    if let Some(smarthost) = &state.config.smarthost {
        tracing::info!(%smarthost, dkim = state.outbound.dkim.is_some(), "plico sends mail to other servers");
    }
    let shutdown = plico_server::shutdown::Shutdown::new();
    tokio::spawn(plico_server::shutdown::on_signal(shutdown.clone()));
    let mut smtp_task = None;
    if let Some(smtp_address) = state.config.smtp_addr {
        let smtp = tokio::net::TcpListener::bind(smtp_address)
            .await
            .map_err(|e| format!("binding {smtp_address} for SMTP: {e}"))?;
        let tls = match (&state.config.smtp_tls_cert, &state.config.smtp_tls_key) {
            (Some(cert), Some(key)) => Some(plico_server::inbound::smtp::tls_acceptor(cert, key)?),
            _ => None,
        };
        tracing::info!(smtp = %smtp.local_addr()?, starttls = tls.is_some(), "plico takes mail over SMTP");
        smtp_task = Some(tokio::spawn(plico_server::inbound::smtp::serve(smtp, state.clone(), tls, shutdown.clone())));
    }
    let app = plico_server::router(state.clone());
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| format!("binding {address}: {e}"))?;
    tracing::info!(
        http = %listener.local_addr()?,
        domain = %state.config.domain,
        data_dir = %state.config.data_dir.display(),
        "plico is serving"
    );
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown({
            let shutdown = shutdown.clone();
            async move { shutdown.wait().await }
        })
        .await?;
    // HTTP has answered what was in flight; SMTP finishes the messages arriving.
    if let Some(smtp) = smtp_task {
        let _ = smtp.await;
    }
    tracing::info!("stopped");
    Ok(())
}
