//! The state every handler, job and SMTP session shares: the configuration, the store, the
//! clock, and one handle per subsystem (the rate limits, inbound and outbound mail, the app
//! files, the published policies). Each subsystem builds its own handle from the configuration;
//! this module only puts them together.

use std::path::Path;
use std::sync::Arc;

use crate::clock::Clock;
use crate::config::ServeConfig;
use crate::http::privacy::Published;
use crate::http::rate_limit::Limits;
use crate::http::static_files::StaticFiles;
use crate::inbound::Inbound;
use crate::metrics::Metrics;
use crate::outbound::wkd::WkdClient;
use crate::outbound::Outbound;
use crate::store::blobs::{self, BlobStore};
use crate::store::s3::{S3BlobStore, S3Config};
use crate::store::Store;

/// How long a started OPAQUE login may wait for its second step.
pub const PENDING_LOGIN_SECONDS: i64 = 60;

/// How long a started sign-up may wait for its second step.
pub const PENDING_SIGNUP_SECONDS: i64 = 10 * 60;

/// The most sign-ups waiting for their second step at once; beyond, new ones wait.
pub const MAX_PENDING_SIGNUPS: u64 = 10_000;

/// Shared state behind every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServeConfig>,
    pub store: Store,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Arc<dyn Clock>,
    pub opaque_setup: Arc<plico_opaque::ServerSetup>,
    /// Sealing of state left in the database for another node (a started sign-in).
    pub node: Arc<crate::node::Node>,
    /// The WebAuthn relying party, for passkeys.
    pub passkeys: Arc<crate::passkeys::Passkeys>,
    /// Countries by IP for the session list (`--geoip-db`), when the operator gave a file.
    pub countries: Option<Arc<crate::geoip::Countries>>,
    /// Sign-in, sign-up and recovery-mail limits.
    pub limits: Arc<Limits>,
    pub static_files: Arc<StaticFiles>,
    /// The outbound queue, delivery and DKIM.
    pub outbound: Arc<Outbound>,
    /// SPF, DKIM and DMARC on arrival, and the group commit that makes arrivals durable.
    pub inbound: Inbound,
    /// WKD lookups of outside recipients' keys.
    pub wkd: Arc<WkdClient>,
    /// The operator's policies, transparency reports and canary, read at start.
    pub published: Arc<Published>,
    /// What `/metrics` reports.
    pub metrics: Arc<Metrics>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("OPAQUE server secret: {0}")]
    ServerSecret(String),
    #[error("{0}")]
    Passkeys(String),
    #[error("--geoip-db: {0}")]
    GeoIp(String),
    #[error("database: {0}")]
    Database(#[from] crate::store::Error),
    #[error("{0}")]
    Postgres(String),
    #[error("{0}")]
    Blobs(String),
    #[error("app files: {0}")]
    Dist(String),
    #[error("mail to and from other servers: {0}")]
    Outbound(String),
    #[error("published policies: {0}")]
    Published(String),
}

/// The database `--database` names: SQLite in the data directory, or PostgreSQL, connected and
/// migrated before the server takes anything, with the flag named when it cannot be.
async fn open_store(config: &ServeConfig) -> Result<Store, StartError> {
    match config.database.as_str() {
        "sqlite" => Ok(Store::open(&config.data_dir).await?),
        url if is_postgres_url(url) => Store::connect_postgres(url, config.database_connections)
            .await
            .map_err(|e| StartError::Postgres(format!("--database (PLICO_DATABASE_URL) {}: {e}", redact(url)))),
        other => Err(StartError::Postgres(format!(
            "--database (PLICO_DATABASE_URL): {:?} is neither `sqlite` nor a postgres:// URL",
            redact(other)
        ))),
    }
}

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub(crate) fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A database URL with its password hidden, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The blob store `--blobs` names, checked before the server takes anything: a bucket that is
/// not there, or a key that may not write to it, stops the start with the flag named.
pub(crate) fn open_blobs(config: &ServeConfig) -> Result<Arc<dyn BlobStore>, StartError> {
    if config.blobs == "files" {
        let files = blobs::FsBlobStore::open(config.data_dir.join("blobs")).map_err(|e| {
            StartError::Blobs(format!("--blobs files ({}): {e}", config.data_dir.join("blobs").display()))
        })?;
        return Ok(Arc::new(files));
    }
    let (bucket, prefix) = S3Config::parse_url(&config.blobs)
        .map_err(|why| StartError::Blobs(format!("--blobs: {why}; use `files`, s3://bucket or s3://bucket/folder")))?;
    let from_env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let access_key = config.s3_access_key.clone().or_else(|| from_env("AWS_ACCESS_KEY_ID"));
    let secret_key = config.s3_secret_key.clone().or_else(|| from_env("AWS_SECRET_ACCESS_KEY"));
    let (Some(access_key), Some(secret_key)) = (access_key, secret_key) else {
        return Err(StartError::Blobs(format!(
            "--blobs {}: set --s3-access-key and --s3-secret-key (or PLICO_S3_ACCESS_KEY and PLICO_S3_SECRET_KEY)",
            config.blobs
        )));
    };
    let s3 = S3Config {
        bucket,
        prefix,
        endpoint: config.s3_endpoint.clone(),
        region: config.s3_region.clone(),
        access_key,
        secret_key,
    };
    let store = S3BlobStore::open(&s3).map_err(|e| StartError::Blobs(format!("--blobs {}: {e}", config.blobs)))?;
    store.ready().map_err(|e| {
        StartError::Blobs(format!(
            "--blobs {} cannot be used: {e} (check the bucket exists and --s3-endpoint, --s3-access-key and --s3-secret-key)",
            config.blobs
        ))
    })?;
    Ok(Arc::new(store))
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
        let store = open_store(&config).await?;
        let blobs = open_blobs(&config)?;
        let published = Published::load(&config).map_err(StartError::Published)?;
        let origins = published.integration_origins();
        // `--dist` wins; else the app built into the binary; else the API alone.
        let static_files = match &config.dist_dir {
            Some(dir) => StaticFiles::load(dir, &origins).map_err(StartError::Dist)?,
            None => match StaticFiles::embedded(&origins) {
                Some(embedded) => embedded.map_err(StartError::Dist)?,
                None => StaticFiles::empty_with(&origins),
            },
        };
        let outbound = Outbound::open(&config).map_err(StartError::Outbound)?;
        // Every node on this database must hold the secrets the first one made.
        let setup_bytes = plico_opaque::server_setup_to_bytes(&opaque_setup);
        crate::node::check_shared(&store, "opaque-server-setup.bin", &setup_bytes)
            .await
            .map_err(StartError::ServerSecret)?;
        crate::node::check_shared(&store, "queue.key", outbound.files.key_bytes())
            .await
            .map_err(StartError::ServerSecret)?;
        let node = crate::node::Node::new(&setup_bytes);
        let passkeys = crate::passkeys::Passkeys::new(&config).map_err(StartError::Passkeys)?;
        let countries = match &config.geoip_db {
            Some(path) => Some(Arc::new(crate::geoip::Countries::open(path).map_err(StartError::GeoIp)?)),
            None => None,
        };
        let metrics = Arc::new(Metrics::new());
        let inbound =
            Inbound::start(&config, store.clone(), blobs.clone(), metrics.clone()).map_err(StartError::Outbound)?;
        let wkd = WkdClient::new(&config, inbound.resolver()).map_err(StartError::Outbound)?;
        Ok(AppState {
            inbound,
            wkd: Arc::new(wkd),
            outbound: Arc::new(outbound),
            limits: Arc::new(Limits::new(&config)),
            config: Arc::new(config),
            store,
            blobs,
            clock,
            opaque_setup: Arc::new(opaque_setup),
            node: Arc::new(node),
            passkeys: Arc::new(passkeys),
            countries,
            static_files: Arc::new(static_files),
            published: Arc::new(published),
            metrics,
        })
    }

    /// The operator's default quota, in bytes.
    pub fn default_quota(&self) -> u64 {
        self.config.quota_mb.saturating_mul(1_000_000)
    }

    /// The full address for a local part.
    pub fn address_for(&self, name: &str) -> String {
        format!("{name}@{}", self.config.domain)
    }
}
