//! Plico's storage backend, as a library so tests can build the router without a socket.
//!
//! Architecture Invariant: only this crate knows HTTP. It stores ciphertext, public keys and the
//! metadata the privacy policy names; it never receives a password, a secret key in the clear,
//! or plaintext mail.

pub mod api;
pub mod blobs;
pub mod clamd;
pub mod clock;
pub mod config;
pub mod error;
pub mod group_commit;
pub mod http;
pub mod ingest;
pub mod items_api;
pub mod lifecycle;
pub mod mail_api;
pub mod openapi;
pub mod outbound;
pub mod privacy_api;
pub mod rate_limit;
pub mod retention;
pub mod rspamd;
pub mod seed;
pub mod sender_auth;
pub mod session;
pub mod smtp;
pub mod spam;
pub mod static_files;
pub mod store;
/// WKD's hash and lookup places, shared with the browser's lookups.
pub use plico_wkd as wkd;
pub mod wkd_client;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use blobs::BlobStore;
use clock::Clock;
use config::ServeConfig;
use rate_limit::RateLimiter;
use static_files::StaticFiles;
use store::Store;

/// How long a started OPAQUE login may wait for its second step.
pub const PENDING_LOGIN_SECONDS: i64 = 60;

/// A source that keeps guessing waits twice as long after each window it filled, up to 2^6
/// windows (16 hours for 15 minutes).
const MAX_LOGIN_BACKOFF_STEPS: u32 = 6;

/// Guessing spread over many sources may make this many times the per-source attempts on one
/// account per window before sources it never signed in from wait.
const ACCOUNT_WIDE_ATTEMPTS_FACTOR: u32 = 10;

/// Activation codes one account may have mailed to recovery addresses per day.
pub const RECOVERY_CODES_PER_DAY: u32 = 5;

/// How long a started sign-up may wait for its second step.
pub const PENDING_SIGNUP_SECONDS: i64 = 10 * 60;

/// The most sign-ups waiting for their second step at once; beyond, new ones wait.
pub const MAX_PENDING_SIGNUPS: usize = 10_000;

/// A started sign-up: `signup/finish` must name it, for the same name, in time.
pub struct PendingSignup {
    pub name: String,
    pub started_at: i64,
}

/// Bytes as people read them: "12.3 MB", "5 GB" (powers of 1000).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else if value >= 100.0 || value.fract() < 0.05 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A started login waiting for the client's proof.
pub struct PendingLogin {
    pub state: plico_opaque::ServerLoginState,
    /// `None` for an unknown name: the fake login can never finish.
    pub account_id: Option<i64>,
    pub name: String,
    pub started_at: i64,
}

/// Shared state behind every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServeConfig>,
    pub store: Store,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Arc<dyn Clock>,
    pub opaque_setup: Arc<plico_opaque::ServerSetup>,
    pub pending_logins: Arc<Mutex<HashMap<String, PendingLogin>>>,
    pub pending_signups: Arc<Mutex<HashMap<String, PendingSignup>>>,
    pub login_limit_per_ip: Arc<RateLimiter>,
    /// Sign-in attempts per account from one source: a stranger locks out only themselves.
    pub login_limit_per_account: Arc<RateLimiter>,
    /// Sign-in attempts per account from sources it never signed in from (guessing spread over
    /// many addresses); the owner's known devices pass.
    pub login_limit_account_wide: Arc<RateLimiter>,
    pub signup_limit_per_ip: Arc<RateLimiter>,
    pub signup_finish_limit_per_ip: Arc<RateLimiter>,
    /// Activation codes mailed to recovery addresses, per account per day.
    pub recovery_mail_limit: Arc<RateLimiter>,
    pub static_files: Arc<StaticFiles>,
    pub outbound: Arc<outbound::Outbound>,
    /// SPF, DKIM and DMARC on arrival; `None` with `--mail-auth-dns off`.
    pub sender_auth: Option<Arc<sender_auth::SenderAuth>>,
    /// WKD lookups of outside recipients' keys.
    pub wkd: Arc<wkd_client::WkdClient>,
    /// Where mail from outside is made durable, in batches (`group_commit.rs`).
    pub group_commit: group_commit::GroupCommit,
    /// The operator's policies, transparency reports and canary, read at start.
    pub published: Arc<privacy_api::Published>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("OPAQUE server secret: {0}")]
    ServerSecret(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("app files: {0}")]
    Dist(String),
    #[error("mail to and from other servers: {0}")]
    Outbound(String),
    #[error("published policies: {0}")]
    Published(String),
}

/// Reads the server's OPAQUE secret from `data_dir`, making it on first start. It lives outside
/// the database so that a leaked database alone does not allow a dictionary attack.
fn load_or_create_server_setup(data_dir: &Path) -> Result<plico_opaque::ServerSetup, StartError> {
    let path = data_dir.join("opaque-server-setup.bin");
    match std::fs::read(&path) {
        Ok(bytes) => plico_opaque::server_setup_from_bytes(&bytes).map_err(|e| StartError::ServerSecret(e.to_string())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let setup = plico_opaque::server_setup_new();
            let temporary = data_dir.join("opaque-server-setup.bin.new");
            write_private_file(&temporary, &plico_opaque::server_setup_to_bytes(&setup))
                .and_then(|()| std::fs::rename(&temporary, &path))
                .map_err(|e| StartError::ServerSecret(format!("{}: {e}", path.display())))?;
            Ok(setup)
        }
        Err(error) => Err(StartError::ServerSecret(format!("{}: {error}", path.display()))),
    }
}

pub(crate) fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

impl AppState {
    /// A blob's bytes, wherever they are kept: in its row (small mail from the SMTP ingress) or
    /// as a file.
    pub async fn read_blob(&self, hash: &str) -> Result<Vec<u8>, blobs::BlobError> {
        match self.store.inline_blob(hash).await {
            Ok(Some(bytes)) => return Ok(bytes),
            Ok(None) => {}
            Err(error) => return Err(blobs::BlobError::Io(std::io::Error::other(error.to_string()))),
        }
        let blobs = self.blobs.clone();
        let hash = hash.to_owned();
        tokio::task::spawn_blocking(move || blobs.get(&hash))
            .await
            .map_err(|_| blobs::BlobError::Io(std::io::Error::other("the blob reader stopped")))?
    }

    /// Opens the data directory and the database, and loads the app files.
    pub async fn open(config: ServeConfig, clock: Arc<dyn Clock>) -> Result<AppState, StartError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| StartError::DataDir { path: config.data_dir.display().to_string(), source })?;
        let opaque_setup = load_or_create_server_setup(&config.data_dir)?;
        let store = Store::open(&config.data_dir).await?;
        let blobs = blobs::FsBlobStore::open(config.data_dir.join("blobs"))
            .map_err(|e| StartError::ServerSecret(format!("blob store: {e}")))?;
        let published = privacy_api::Published::load(&config).map_err(StartError::Published)?;
        let origins = published.integration_origins();
        let static_files = match &config.dist_dir {
            Some(dir) => StaticFiles::load(dir, &origins).map_err(StartError::Dist)?,
            None => StaticFiles::empty_with(&origins),
        };
        let outbound = outbound::Outbound::open(&config).map_err(StartError::Outbound)?;
        let sender_auth = sender_auth::SenderAuth::open(&config.mail_auth_dns).map_err(StartError::Outbound)?;
        let wkd = wkd_client::WkdClient::new(&config, sender_auth.as_ref().map(sender_auth::SenderAuth::resolver))
            .map_err(StartError::Outbound)?;
        let blobs: Arc<dyn BlobStore> = Arc::new(blobs);
        Ok(AppState {
            group_commit: group_commit::GroupCommit::start(
                store.clone(),
                blobs.clone(),
                usize::from(config.smtp_commit_batch),
            ),
            wkd: Arc::new(wkd),
            sender_auth: sender_auth.map(Arc::new),
            outbound: Arc::new(outbound),
            login_limit_per_ip: Arc::new(RateLimiter::new(config.login_attempts_per_ip_per_minute, 60)),
            login_limit_per_account: Arc::new(
                RateLimiter::new(config.login_attempts_per_account, 15 * 60).with_backoff(MAX_LOGIN_BACKOFF_STEPS),
            ),
            login_limit_account_wide: Arc::new(RateLimiter::new(
                config.login_attempts_per_account.saturating_mul(ACCOUNT_WIDE_ATTEMPTS_FACTOR),
                15 * 60,
            )),
            signup_limit_per_ip: Arc::new(RateLimiter::new(config.signups_per_ip_per_hour, 60 * 60)),
            signup_finish_limit_per_ip: Arc::new(RateLimiter::new(config.signups_per_ip_per_hour, 60 * 60)),
            recovery_mail_limit: Arc::new(RateLimiter::new(RECOVERY_CODES_PER_DAY, 24 * 60 * 60)),
            config: Arc::new(config),
            store,
            blobs,
            clock,
            opaque_setup: Arc::new(opaque_setup),
            pending_logins: Arc::new(Mutex::new(HashMap::new())),
            pending_signups: Arc::new(Mutex::new(HashMap::new())),
            static_files: Arc::new(static_files),
            published: Arc::new(published),
        })
    }

    /// The operator's default quota, in bytes.
    pub fn default_quota(&self) -> u64 {
        self.config.quota_mb.saturating_mul(1_000_000)
    }

    /// Refuses to store `adding` more bytes for `account_id` when that would pass its quota.
    /// `whose` names the mailbox in the message: "Your mailbox", or another account's address.
    pub async fn check_room(&self, account_id: i64, adding: u64, whose: &str) -> Result<(), error::ApiError> {
        let (used, quota) = self.store.storage(account_id, self.default_quota()).await?;
        let usage = store::Usage { used, quota };
        if !usage.would_pass(adding) {
            return Ok(());
        }
        Err(quota_exceeded(whose, used, quota, adding))
    }

    /// The full address for a local part.
    pub fn address_for(&self, name: &str) -> String {
        format!("{name}@{}", self.config.domain)
    }
}

/// The 507 answer when `adding` more bytes would take `whose` storage past its quota.
pub(crate) fn quota_exceeded(whose: &str, used: u64, quota: u64, adding: u64) -> error::ApiError {
    error::ApiError::QuotaExceeded {
        message: format!(
            "{whose} is full: {} of {} used, and this needs {} more. Delete mail and empty the Trash \
             to make room (deleted mail counts until it is purged).",
            human_bytes(used),
            human_bytes(quota),
            human_bytes(adding)
        ),
    }
}

/// Builds the whole HTTP application: API, key directory, app files, and the middleware.
pub fn router(state: AppState) -> axum::Router {
    http::router(state)
}
