//! `plico serve`'s settings: every flag has a `PLICO_*` environment equivalent.

use std::net::SocketAddr;
use std::path::PathBuf;

/// How `plico serve` runs.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Where rows live: `sqlite` (a file in the data directory, the default) or a PostgreSQL
    /// URL, `postgres://user:password@host:port/database`, which several nodes can share.
    #[arg(long = "database", env = "PLICO_DATABASE_URL", default_value = "sqlite", hide_env_values = true)]
    pub database: String,

    /// How many connections this node keeps open to PostgreSQL.
    #[arg(long = "database-connections", env = "PLICO_DATABASE_CONNECTIONS", default_value_t = 16)]
    pub database_connections: u32,

    /// Where blobs (the encrypted messages) live: `files` (under the data directory, the
    /// default) or an S3-compatible bucket, `s3://bucket`, with the --s3-* settings below.
    #[arg(long = "blobs", env = "PLICO_BLOBS", default_value = "files")]
    pub blobs: String,

    /// The S3 endpoint (`https://s3.example.net`, `http://10.0.0.5:8333`); unset for AWS.
    #[arg(long = "s3-endpoint", env = "PLICO_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// The bucket's region.
    #[arg(long = "s3-region", env = "PLICO_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    /// The S3 access key (also read from AWS_ACCESS_KEY_ID).
    #[arg(long = "s3-access-key", env = "PLICO_S3_ACCESS_KEY")]
    pub s3_access_key: Option<String>,

    /// The S3 secret key; prefer the environment (PLICO_S3_SECRET_KEY or AWS_SECRET_ACCESS_KEY)
    /// to the command line, which other users of the machine can read.
    #[arg(long = "s3-secret-key", env = "PLICO_S3_SECRET_KEY", hide_env_values = true)]
    pub s3_secret_key: Option<String>,

    /// The address the HTTP server listens on.
    #[arg(long = "http", env = "PLICO_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,

    /// Where the SQLite database and the server's OPAQUE secret live.
    #[arg(long = "data-dir", env = "PLICO_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// The mail domain: addresses are name@DOMAIN.
    #[arg(long = "domain", env = "PLICO_DOMAIN", default_value = "localhost")]
    pub domain: String,

    /// The built app (trunk's dist/) to serve from disk. Without it, the app built into the
    /// binary (release builds made by `cargo xtask run`), or the API alone.
    #[arg(long = "dist", env = "PLICO_DIST_DIR")]
    pub dist_dir: Option<PathBuf>,

    /// The largest request body accepted, in bytes; larger ones get 413 before being read.
    #[arg(long = "max-body-bytes", env = "PLICO_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// The largest encrypted message (with its attachments) accepted, in bytes. The default
    /// leaves room for a 25 MiB attachment after MIME base64 and OpenPGP armour.
    #[arg(long = "max-message-bytes", env = "PLICO_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_message_bytes: usize,

    /// The largest single attachment the composer accepts, in bytes. The message limit must
    /// leave room for it: base64 in MIME and ASCII armour each add about a third.
    #[arg(long = "max-attachment-bytes", env = "PLICO_MAX_ATTACHMENT_BYTES", default_value_t = 25 * 1024 * 1024)]
    pub max_attachment_bytes: u64,

    /// Set when a TLS-terminating proxy is in front: cookies become Secure with the __Host-
    /// prefix, and responses carry HSTS.
    #[arg(long = "behind-tls", env = "PLICO_BEHIND_TLS", default_value_t = false)]
    pub behind_tls: bool,

    /// The address people open Plico at, such as `https://mail.example.org`. Passkeys are
    /// bound to its host name. Without it, passkeys work at `http://localhost` on any port only
    /// (development); elsewhere the browser refuses them.
    #[arg(long = "public-url", env = "PLICO_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Behind your own proxy: take the client's IP from X-Forwarded-For. The right-most address
    /// not added by a trusted proxy is the client (the one your proxy saw); the entries to its
    /// left are the client's to write and are never believed.
    #[arg(long = "trust-forwarded-for", env = "PLICO_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// Further proxies in front of the first (CIDR, comma-separated, e.g. 10.0.0.0/8): their
    /// entries in X-Forwarded-For are passed over to find the client.
    #[arg(long = "trusted-proxy", env = "PLICO_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,

    /// Who may read `/metrics` besides this machine (CIDR, comma-separated, e.g. the
    /// Prometheus server's 10.0.5.0/24). The connection's own address counts, never a
    /// forwarded one; others get 404.
    #[arg(long = "metrics-from", env = "PLICO_METRICS_FROM", value_delimiter = ',')]
    pub metrics_from: Vec<String>,

    /// How long a session lasts, in hours.
    #[arg(long = "session-hours", env = "PLICO_SESSION_HOURS", default_value_t = 24 * 7)]
    pub session_hours: u32,

    /// Minutes without contact after which a session ends unless its owner chose "Keep me
    /// signed in" (0: no idle timeout). Each account may choose another of the values the
    /// security page offers.
    #[arg(long = "session-idle-minutes", env = "PLICO_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: u32,

    /// Hours between asking for a second-factor reset (a code to the recovery address) and the
    /// code working; a sign-in with a second factor meanwhile cancels it, and the account's
    /// Inbox and recovery address are told at once.
    #[arg(long = "factor-reset-wait-hours", env = "PLICO_FACTOR_RESET_WAIT_HOURS", default_value_t = 72)]
    pub factor_reset_wait_hours: u32,

    /// A MaxMind DB file of countries by IP (MaxMind's GeoLite2 Country, or ip-location-db's
    /// `geo-whois-asn-country.mmdb`): the session list then shows each session's approximate
    /// country, looked up from the IP it keeps (nothing more is stored). Without it: no country.
    #[arg(long = "geoip-db", env = "PLICO_GEOIP_DB")]
    pub geoip_db: Option<PathBuf>,

    /// Sign-up's proof of work, instead of a captcha: rounds of `--signup-pow-bits` zero bits each
    /// (rounds × 2^bits SHA-256 on average; 64 × 2^16 is about 2 s in a browser). 0: none.
    #[arg(long = "signup-pow-rounds", env = "PLICO_SIGNUP_POW_ROUNDS", default_value_t = 64)]
    pub signup_pow_rounds: u32,

    /// Zero bits each round of the proof of work asks; a source that signed up in the last hour
    /// gets one more bit (twice the work) per earlier sign-up, up to four.
    #[arg(long = "signup-pow-bits", env = "PLICO_SIGNUP_POW_BITS", default_value_t = 16)]
    pub signup_pow_bits: u32,

    /// How many login attempts one IP may start per minute.
    #[arg(long = "login-attempts-per-ip-per-minute", env = "PLICO_LOGIN_ATTEMPTS_PER_IP", default_value_t = 20)]
    pub login_attempts_per_ip_per_minute: u32,

    /// How many login attempts one account may see per 15 minutes.
    #[arg(long = "login-attempts-per-account", env = "PLICO_LOGIN_ATTEMPTS_PER_ACCOUNT", default_value_t = 10)]
    pub login_attempts_per_account: u32,

    /// Each account's storage quota, in MB (1,000,000 bytes), unless `plico quota` set its own:
    /// mail, drafts, sent copies and what waits in Trash and the recovery area all count.
    #[arg(long = "quota-mb", env = "PLICO_QUOTA_MB", default_value_t = 5_000)]
    pub quota_mb: u64,

    /// How many accounts one IP may create per hour.
    #[arg(long = "signups-per-ip-per-hour", env = "PLICO_SIGNUPS_PER_IP_PER_HOUR", default_value_t = 20)]
    pub signups_per_ip_per_hour: u32,

    /// Where to listen for incoming mail over SMTP (port 25 in production). Without it, no
    /// SMTP listener runs.
    #[arg(long = "smtp", env = "PLICO_SMTP_ADDR")]
    pub smtp_addr: Option<SocketAddr>,

    /// The largest message taken over SMTP, in bytes (announced with SIZE). The default takes a
    /// 25 MiB attachment after base64.
    #[arg(long = "smtp-max-message-bytes", env = "PLICO_SMTP_MAX_MESSAGE_BYTES", default_value_t = 40 * 1024 * 1024)]
    pub smtp_max_message_bytes: usize,

    /// How many SMTP connections are served at once; more get 421.
    #[arg(long = "smtp-max-connections", env = "PLICO_SMTP_MAX_CONNECTIONS", default_value_t = 100)]
    pub smtp_max_connections: usize,

    /// A PEM certificate chain for STARTTLS on the SMTP listener (with --smtp-tls-key). Without
    /// it, STARTTLS is not offered.
    #[arg(long = "smtp-tls-cert", env = "PLICO_SMTP_TLS_CERT", requires = "smtp_tls_key")]
    pub smtp_tls_cert: Option<std::path::PathBuf>,

    /// The PEM private key for --smtp-tls-cert.
    #[arg(long = "smtp-tls-key", env = "PLICO_SMTP_TLS_KEY", requires = "smtp_tls_cert")]
    pub smtp_tls_key: Option<std::path::PathBuf>,

    /// rspamd's normal worker, to score incoming mail too: `http://host:port`. Its "reject" is
    /// refused with 554, "add header" and "rewrite subject" go to Spam. When rspamd cannot
    /// answer, mail is still taken, on the built-in score alone.
    #[arg(long = "rspamd", env = "PLICO_RSPAMD")]
    pub rspamd: Option<String>,

    /// How many recipients one account may send to in any 24 hours; past it, sending is refused
    /// with 429 and a message saying when it frees up. Against mass mailing from stolen accounts.
    #[arg(long = "send-limit-per-day", env = "PLICO_SEND_LIMIT_PER_DAY", default_value_t = 500)]
    pub send_limit_per_day: u32,

    /// ClamAV's clamd, to scan incoming mail for viruses: a Unix socket path or host:port.
    /// Mail with a virus is refused with 554; when clamd cannot answer, mail waits (451).
    #[arg(long = "clamd", env = "PLICO_CLAMD")]
    pub clamd: Option<String>,

    /// How many SMTP connections one IP address may hold at once; more get 421.
    #[arg(long = "smtp-max-connections-per-ip", env = "PLICO_SMTP_MAX_CONNECTIONS_PER_IP", default_value_t = 10)]
    pub smtp_max_connections_per_ip: usize,

    /// How many incoming messages are made durable together at most (the group commit: their
    /// blobs fsync'd at once and their rows in one transaction before their 250s). 1 commits
    /// each message alone.
    #[arg(long = "smtp-commit-batch", env = "PLICO_SMTP_COMMIT_BATCH", default_value_t = 64,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub smtp_commit_batch: u16,

    /// How many recipients one incoming message may name; more get 452.
    #[arg(long = "smtp-max-recipients", env = "PLICO_SMTP_MAX_RECIPIENTS", default_value_t = 100)]
    pub smtp_max_recipients: usize,

    /// Where mail to other domains goes: the smarthost's `host:port` (SMTP submission). Unset,
    /// this server sends only between its own accounts, and says so when asked to do more.
    #[arg(long = "smarthost", env = "PLICO_SMARTHOST")]
    pub smarthost: Option<String>,

    /// How to reach the smarthost: `starttls` (the default; refuses a host without it), `tls`
    /// (implicit TLS, port 465) or `none` (only for a relay on the same machine).
    #[arg(long = "smarthost-tls", env = "PLICO_SMARTHOST_TLS", default_value = "starttls")]
    pub smarthost_tls: SmarthostTls,

    /// The smarthost's AUTH user name; set it together with the password.
    #[arg(long = "smarthost-user", env = "PLICO_SMARTHOST_USER", requires = "smarthost_password")]
    pub smarthost_user: Option<String>,

    /// The smarthost's AUTH password (prefer the environment variable to the flag).
    #[arg(
        long = "smarthost-password",
        env = "PLICO_SMARTHOST_PASSWORD",
        requires = "smarthost_user",
        hide_env_values = true
    )]
    pub smarthost_password: Option<String>,

    /// Accept any certificate from the smarthost. For tests against a local sink only.
    #[arg(long = "smarthost-insecure-tls", env = "PLICO_SMARTHOST_INSECURE_TLS", default_value_t = false)]
    pub smarthost_insecure_tls: bool,

    /// The DKIM private key (RSA, PEM: PKCS#8 or PKCS#1) that signs outgoing mail for `--domain`.
    /// Publish its public half at `<selector>._domainkey.<domain>`.
    #[arg(long = "dkim-key", env = "PLICO_DKIM_KEY")]
    pub dkim_key: Option<PathBuf>,

    /// The DKIM selector.
    #[arg(long = "dkim-selector", env = "PLICO_DKIM_SELECTOR", default_value = "plico")]
    pub dkim_selector: String,

    /// Where SPF, DKIM and DMARC look names up: `system` (/etc/resolv.conf), a DNS server's
    /// `IP:PORT`, or `off` (no checks; the reader then shows none).
    #[arg(long = "mail-auth-dns", env = "PLICO_MAIL_AUTH_DNS", default_value = "system")]
    pub mail_auth_dns: String,

    /// Do not look up outside recipients' keys by WKD (the composer then knows only keys from the
    /// keyring). Tests use it to stay off the Internet.
    #[arg(long = "no-wkd", env = "PLICO_NO_WKD", default_value_t = false)]
    pub no_wkd: bool,

    /// An extra trusted root (PEM) for WKD lookups of outside recipients' keys, beside the web's.
    #[arg(long = "wkd-ca", env = "PLICO_WKD_CA")]
    pub wkd_ca: Option<PathBuf>,

    /// Let WKD lookups reach private, loopback and link-local addresses (a closed network, or
    /// tests). Off, a domain that resolves there is treated as publishing no key, so no user can
    /// make the server probe the network it runs in.
    #[arg(long = "wkd-allow-private", env = "PLICO_WKD_ALLOW_PRIVATE", default_value_t = false)]
    pub wkd_allow_private: bool,

    /// The HTTPS port WKD lookups use (443; another only for tests against a local server).
    #[arg(long = "wkd-https-port", env = "PLICO_WKD_HTTPS_PORT", default_value_t = 443)]
    pub wkd_https_port: u16,

    /// How long the outbound queue keeps retrying a recipient before it bounces the message.
    #[arg(long = "queue-give-up-hours", env = "PLICO_QUEUE_GIVE_UP_HOURS", default_value_t = 120)]
    pub queue_give_up_hours: u32,

    /// How long a closed account can be reopened by signing in (the legal period), in days.
    #[arg(long = "reopen-days", env = "PLICO_REOPEN_DAYS", default_value_t = 365)]
    pub reopen_days: u32,

    /// How long after the reopening period a closed account's data is purged, in days.
    #[arg(long = "purge-after-days", env = "PLICO_PURGE_AFTER_DAYS", default_value_t = 30)]
    pub purge_after_days: u32,

    /// How long the address of a purged account cannot be taken by anyone, in days.
    #[arg(long = "address-quarantine-days", env = "PLICO_ADDRESS_QUARANTINE_DAYS", default_value_t = 730)]
    pub address_quarantine_days: u32,

    /// A free account without a sign-in for this many days is suspended (7 months).
    #[arg(long = "inactive-suspend-days", env = "PLICO_INACTIVE_SUSPEND_DAYS", default_value_t = 213)]
    pub inactive_suspend_days: u32,

    /// A suspended inactive account is deleted this many days later (5 months).
    #[arg(long = "inactive-delete-days", env = "PLICO_INACTIVE_DELETE_DAYS", default_value_t = 152)]
    pub inactive_delete_days: u32,

    /// How many days before suspension and before deletion the notice goes out.
    #[arg(long = "inactive-notice-days", env = "PLICO_INACTIVE_NOTICE_DAYS", default_value_t = 14)]
    pub inactive_notice_days: u32,

    /// The operator's policies (JSON: version, privacy, terms, what changed, optional
    /// integrations). Without it, the built-in policy of this release is served.
    #[arg(long = "policy-file", env = "PLICO_POLICY_FILE")]
    pub policy_file: Option<PathBuf>,

    /// The warrant canary: a statement clear-signed with the service's OpenPGP key.
    #[arg(long = "canary-file", env = "PLICO_CANARY_FILE", requires = "service_key")]
    pub canary_file: Option<PathBuf>,

    /// The service's public OpenPGP key (armored), which signs the canary.
    #[arg(long = "service-key", env = "PLICO_SERVICE_KEY")]
    pub service_key: Option<PathBuf>,

    /// How old the canary's signature may be before clients warn that it is stale, in days.
    #[arg(long = "canary-max-age-days", env = "PLICO_CANARY_MAX_AGE_DAYS", default_value_t = 31)]
    pub canary_max_age_days: u32,

    /// The operator's published transparency reports (JSON list of title, date, summary, and an
    /// optional link).
    #[arg(long = "transparency-file", env = "PLICO_TRANSPARENCY_FILE")]
    pub transparency_file: Option<PathBuf>,
}

/// How the smarthost connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmarthostTls {
    Starttls,
    Tls,
    None,
}

impl ServeConfig {
    /// Defaults for tests and embedding: everything as the CLI defaults, in `data_dir`.
    pub fn for_data_dir(data_dir: PathBuf) -> Self {
        ServeConfig {
            database: "sqlite".into(),
            database_connections: 16,
            blobs: "files".into(),
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key: None,
            s3_secret_key: None,
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            domain: "plico.test".into(),
            dist_dir: None,
            public_url: None,
            factor_reset_wait_hours: 72,
            geoip_db: None,
            max_body_bytes: 1024 * 1024,
            max_message_bytes: 64 * 1024 * 1024,
            max_attachment_bytes: 25 * 1024 * 1024,
            behind_tls: false,
            trust_forwarded_for: false,
            trusted_proxies: Vec::new(),
            metrics_from: Vec::new(),
            session_hours: 24 * 7,
            session_idle_minutes: 30,
            signup_pow_rounds: 64,
            signup_pow_bits: 16,
            login_attempts_per_ip_per_minute: 20,
            login_attempts_per_account: 10,
            signups_per_ip_per_hour: 20,
            quota_mb: 5_000,
            smtp_addr: None,
            smtp_max_message_bytes: 40 * 1024 * 1024,
            smtp_max_connections: 100,
            smtp_max_connections_per_ip: 10,
            smtp_max_recipients: 100,
            smtp_commit_batch: 64,
            smtp_tls_cert: None,
            smtp_tls_key: None,
            clamd: None,
            rspamd: None,
            send_limit_per_day: 500,
            smarthost: None,
            smarthost_tls: SmarthostTls::Starttls,
            smarthost_user: None,
            smarthost_password: None,
            smarthost_insecure_tls: false,
            dkim_key: None,
            dkim_selector: "plico".into(),
            queue_give_up_hours: 120,
            reopen_days: 365,
            purge_after_days: 30,
            address_quarantine_days: 730,
            inactive_suspend_days: 213,
            inactive_delete_days: 152,
            inactive_notice_days: 14,
            policy_file: None,
            canary_file: None,
            service_key: None,
            canary_max_age_days: 31,
            transparency_file: None,
            mail_auth_dns: "off".into(),
            no_wkd: true,
            wkd_ca: None,
            wkd_https_port: 443,
            wkd_allow_private: false,
        }
    }
}
