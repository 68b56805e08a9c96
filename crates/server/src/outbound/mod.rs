//! Mail to other servers: the durable outbound queue and its delivery through the smarthost.
//!
//! A send that names addresses outside this server's domain hands over, per package of
//! recipients, the message exactly as it is to leave: PGP/MIME encrypted by the browser when the
//! recipients' keys are known, otherwise signed (the composer said "not end-to-end encrypted"
//! before sending). The package is written to `queue/<id>` sealed with ChaCha20-Poly1305 under
//! the server's queue key (`queue.key`, made on first start, mode 0600), and its row is
//! inserted in the send's own transaction: a send that says "sent" has its mail on disk.
//!
//! Architecture Invariant: a queue file is never plaintext at rest, and it is deleted once
//! every recipient is delivered or bounced. Mail that is not end-to-end encrypted is readable
//! by this server while it sends it (that is what "not end-to-end encrypted" means, and the
//! composer says so); it is not readable from the disk.
//!
//! The delivery task takes due rows oldest first, DKIM-signs (when a key is configured) and
//! hands the message to the smarthost, one recipient list per transaction. Per recipient:
//! 2xx is done; 5xx is a permanent failure; anything else (4xx, no connection, TLS or AUTH
//! trouble) is tried again after 1, 5, 15 and 30 minutes, then hourly up to every 4 hours, until
//! `--queue-give-up-hours` have passed. Permanent failures come back to the sender as a
//! delivery status notification (RFC 3464) in their Inbox, encrypted to their key.

pub mod system;
pub mod wkd;

use std::path::{Path, PathBuf};
use std::time::Duration;

use mail_auth::common::crypto::{RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{DkimSigner, Done};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::config::{ServeConfig, SmarthostTls};
use crate::store::outbound::OutboundRow;
use crate::AppState;

/// The sealed queue files.
pub struct QueueFiles {
    dir: PathBuf,
    key: LessSafeKey,
    /// The key's bytes, for the check that every node holds the same.
    key_bytes: Vec<u8>,
    random: SystemRandom,
}

/// A queue id is 32 lowercase hex digits (`store::mail::new_id`); nothing else names a file.
fn check_id(id: &str) -> std::io::Result<()> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a queue id"))
    }
}

impl QueueFiles {
    /// Opens `queue/` in `data_dir`, and the queue key, making both on first start.
    pub fn open(data_dir: &Path) -> Result<QueueFiles, String> {
        let dir = data_dir.join("queue");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let key_path = data_dir.join("queue.key");
        let key = match std::fs::read(&key_path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = vec![0u8; 32];
                SystemRandom::new().fill(&mut bytes).map_err(|_| "no randomness for the queue key".to_owned())?;
                let temporary = data_dir.join("queue.key.new");
                crate::write_private_file(&temporary, &bytes)
                    .and_then(|()| std::fs::rename(&temporary, &key_path))
                    .map_err(|e| format!("{}: {e}", key_path.display()))?;
                bytes
            }
            Err(error) => return Err(format!("{}: {error}", key_path.display())),
        };
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &key)
            .map_err(|_| format!("{}: not a 32-byte key", key_path.display()))?;
        Ok(QueueFiles { dir, key: LessSafeKey::new(unbound), key_bytes: key, random: SystemRandom::new() })
    }

    /// The queue key's bytes (every node must hold the same: `crate::node::check_shared`).
    pub fn key_bytes(&self) -> &[u8] {
        &self.key_bytes
    }

    /// `message` sealed for the queue as `id`: a fresh nonce, then the ciphertext and its tag,
    /// bound to the id (a sealed message moved to another row does not open).
    pub fn seal(&self, id: &str, message: &[u8]) -> std::io::Result<Vec<u8>> {
        check_id(id)?;
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).map_err(|_| std::io::Error::other("no randomness"))?;
        let mut sealed = message.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(id.as_bytes()), &mut sealed)
            .map_err(|_| std::io::Error::other("sealing failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`QueueFiles::seal`] made for `id`.
    pub fn open_sealed(&self, id: &str, mut bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
        check_id(id)?;
        if bytes.len() < NONCE_LEN {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "sealed message too short"));
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[..NONCE_LEN]);
        let opened = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(id.as_bytes()), &mut bytes[NONCE_LEN..])
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "sealed message does not open"))?;
        Ok(opened.to_vec())
    }

    /// Seals and writes `message` as the file `id`, as versions before issue 22 queued mail
    /// (now it is sealed in its row); this module's tests make such files.
    #[cfg(test)]
    fn put(&self, id: &str, message: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let sealed = self.seal(id, message)?;
        let temporary = self.dir.join(format!("{id}.new"));
        {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&sealed)?;
            file.sync_all()?;
        }
        std::fs::rename(&temporary, self.dir.join(id))?;
        std::fs::File::open(&self.dir)?.sync_all()
    }

    /// The queue file `id` as it is on disk (sealed), or `None` when there is none.
    pub fn sealed_file(&self, id: &str) -> std::io::Result<Option<Vec<u8>>> {
        check_id(id)?;
        match std::fs::read(self.dir.join(id)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Reads and opens the queue file `id`.
    pub fn get(&self, id: &str) -> std::io::Result<Vec<u8>> {
        check_id(id)?;
        self.open_sealed(id, std::fs::read(self.dir.join(id))?)
    }

    pub fn delete(&self, id: &str) -> std::io::Result<()> {
        check_id(id)?;
        match std::fs::remove_file(self.dir.join(id)) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    /// The names of the queue files older than `age`, with leftovers of interrupted writes.
    fn older_than(&self, age: Duration) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        entries
            .flatten()
            .filter(|entry| {
                entry
                    .metadata()
                    .and_then(|meta| meta.modified())
                    .ok()
                    .and_then(|at| at.elapsed().ok())
                    .is_some_and(|elapsed| elapsed > age)
            })
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect()
    }
}

/// The DKIM signer for this server's domain.
pub struct Dkim(DkimSigner<RsaKey<Sha256>, Done>);

impl Dkim {
    /// Reads an RSA key in PEM (PKCS#8 or PKCS#1).
    pub fn load(path: &Path, domain: &str, selector: &str) -> Result<Dkim, String> {
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::PrivateKeyDer;
        let der = PrivateKeyDer::from_pem_file(path).map_err(|e| format!("DKIM key {}: {e}", path.display()))?;
        let key = RsaKey::<Sha256>::from_key_der(der)
            .map_err(|e| format!("DKIM key {}: not an RSA private key ({e})", path.display()))?;
        // "From" twice: the signer lists a name once per field present and once more for a name
        // listed but absent, so the second "From" over-signs it (RFC 6376 section 5.4.2): a From
        // added after signing breaks the signature.
        Ok(Dkim(DkimSigner::from_key(key).domain(domain.to_owned()).selector(selector.to_owned()).headers([
            "From",
            "From",
            "To",
            "Cc",
            "Subject",
            "Date",
            "Message-ID",
            "In-Reply-To",
            "References",
            "MIME-Version",
            "Content-Type",
            "Autocrypt",
        ])))
    }

    /// The message with its DKIM-Signature header in front.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let signature = self.0.sign(message).map_err(|e| format!("DKIM signing failed: {e}"))?;
        let mut signed = signature.to_header().into_bytes();
        signed.extend_from_slice(message);
        Ok(signed)
    }
}

/// The outbound side of the server: the queue files, the signer, and a bell that wakes the
/// delivery task when something is queued.
pub struct Outbound {
    pub files: QueueFiles,
    pub dkim: Option<Dkim>,
    pub wake: tokio::sync::Notify,
}

impl Outbound {
    pub fn open(config: &ServeConfig) -> Result<Outbound, String> {
        let dkim = match &config.dkim_key {
            Some(path) => Some(Dkim::load(path, &config.domain, &config.dkim_selector)?),
            None => None,
        };
        Ok(Outbound { files: QueueFiles::open(&config.data_dir)?, dkim, wake: tokio::sync::Notify::new() })
    }
}

/// What the smarthost said about one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Try again later: a 4xx, or no answer at all.
    Temporary(String),
    /// A 5xx: it will not work later either.
    Permanent {
        reply: String,
        status: String,
    },
}

/// A reply as the server wrote it: code, enhanced status code when it sent one, and text.
fn reply_text(code: u16, esc: [u8; 3], message: &str) -> String {
    match esc {
        [0, _, _] => format!("{code} {}", message.trim()),
        [class, subject, detail] => format!("{code} {class}.{subject}.{detail} {}", message.trim()),
    }
}

fn outcome_of(error: &mail_send::Error) -> Outcome {
    match error {
        mail_send::Error::UnexpectedReply(reply) if reply.code >= 500 => {
            let [class, subject, detail] = reply.esc;
            let status = if class == 5 { format!("{class}.{subject}.{detail}") } else { "5.0.0".into() };
            Outcome::Permanent { reply: reply_text(reply.code, reply.esc, &reply.message), status }
        }
        mail_send::Error::UnexpectedReply(reply) | mail_send::Error::AuthenticationFailed(reply) => {
            Outcome::Temporary(reply_text(reply.code, reply.esc, &reply.message))
        }
        other => Outcome::Temporary(other.to_string()),
    }
}

/// One SMTP transaction on an open connection: MAIL, RCPT per recipient, DATA.
async fn transaction<T: AsyncRead + AsyncWrite + Unpin>(
    mut client: mail_send::SmtpClient<T>,
    mail_from: &str,
    recipients: &[String],
    message: &[u8],
) -> Vec<Outcome> {
    let none = mail_send::smtp::message::Parameters::default();
    if let Err(error) = client.mail_from(mail_from, &none).await {
        return vec![outcome_of(&error); recipients.len()];
    }
    let mut outcomes = Vec::with_capacity(recipients.len());
    for recipient in recipients {
        outcomes.push(match client.rcpt_to(recipient, &none).await {
            Ok(()) => Outcome::Delivered,
            Err(error) => outcome_of(&error),
        });
    }
    if outcomes.contains(&Outcome::Delivered) {
        // mail-send ends DATA with CRLF "." CRLF whatever the message ends with; a message that
        // already ends in CRLF would gain an empty line.
        let message = message.strip_suffix(b"\r\n").unwrap_or(message);
        if let Err(error) = client.data(message).await {
            let failed = outcome_of(&error);
            for outcome in &mut outcomes {
                if *outcome == Outcome::Delivered {
                    *outcome = failed.clone();
                }
            }
        }
    }
    let _ = client.quit().await;
    outcomes
}

/// Hands `message` to the smarthost for `recipients`; says what happened to each.
pub async fn transmit(config: &ServeConfig, mail_from: &str, recipients: &[String], message: &[u8]) -> Vec<Outcome> {
    let Some(smarthost) = &config.smarthost else {
        return vec![Outcome::Temporary("no smarthost is configured".into()); recipients.len()];
    };
    let (host, port) = match smarthost.rsplit_once(':').map(|(host, port)| (host, port.parse::<u16>())) {
        Some((host, Ok(port))) => (host.trim_start_matches('[').trim_end_matches(']').to_owned(), port),
        _ => return vec![Outcome::Temporary(format!("the smarthost {smarthost} is not host:port")); recipients.len()],
    };
    let mut builder = mail_send::SmtpClientBuilder::new(host, port)
        .implicit_tls(config.smarthost_tls == SmarthostTls::Tls)
        .helo_host(config.domain.clone())
        .timeout(Duration::from_secs(120));
    if config.smarthost_insecure_tls {
        builder = builder.allow_invalid_certs();
    }
    if let (Some(user), Some(password)) = (&config.smarthost_user, &config.smarthost_password) {
        builder = builder.credentials((user.clone(), password.clone()));
    }
    let connected = match config.smarthost_tls {
        SmarthostTls::None => match builder.connect_plain().await {
            Ok(client) => return transaction(client, mail_from, recipients, message).await,
            Err(error) => error,
        },
        SmarthostTls::Starttls | SmarthostTls::Tls => match builder.connect().await {
            Ok(client) => return transaction(client, mail_from, recipients, message).await,
            Err(error) => error,
        },
    };
    // Not connected (or no STARTTLS, or AUTH refused): nothing was handed over.
    let outcome = match outcome_of(&connected) {
        Outcome::Permanent { reply, .. } => Outcome::Temporary(format!("the smarthost refused us: {reply}")),
        other => other,
    };
    vec![outcome; recipients.len()]
}

/// Seconds to wait before attempt `attempts + 1`.
pub fn backoff(attempts: u32) -> i64 {
    match attempts {
        0 | 1 => 60,
        2 => 5 * 60,
        3 => 15 * 60,
        4 => 30 * 60,
        5 => 60 * 60,
        6 => 2 * 60 * 60,
        _ => 4 * 60 * 60,
    }
}

/// How long a node that claimed a queued message has to report back before another node (or
/// it, after a restart) tries it again: longer than a slow smarthost's answer, short enough that
/// mail held by a node that died goes out the same hour.
pub const DELIVERY_LEASE_SECONDS: i64 = 10 * 60;

/// What one pass over the due queue did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunReport {
    pub delivered: usize,
    pub deferred: usize,
    pub bounced: usize,
}

/// Tries every message that is due now, once.
pub async fn run_due(state: &AppState) -> Result<RunReport, crate::store::Error> {
    let mut report = RunReport::default();
    loop {
        let now = state.clock.now();
        let due = state.store.claim_due_outbound(now, now + DELIVERY_LEASE_SECONDS, 20).await?;
        if due.is_empty() {
            state.metrics.outbound(report.delivered, report.deferred, report.bounced);
            return Ok(report);
        }
        for row in due {
            attempt(state, row, &mut report).await?;
        }
    }
}

async fn attempt(state: &AppState, row: OutboundRow, report: &mut RunReport) -> Result<(), crate::store::Error> {
    let now = state.clock.now();
    let message = match state.store.outbound_message(&row.id).await? {
        Some(sealed) => state.outbound.files.open_sealed(&row.id, sealed),
        None => state.outbound.files.get(&row.id),
    };
    let message = match message {
        Ok(message) => message,
        Err(error) => {
            // Without its file the message cannot be sent, now or later: say so to the sender.
            tracing::error!(id = %row.id, %error, "outbound: a queue file is unreadable");
            let failed: Vec<(String, String, String)> = row
                .recipients
                .iter()
                .map(|r| (r.clone(), "The queued message could not be read on this server".into(), "4.3.0".into()))
                .collect();
            bounce(state, &row, &failed, None).await;
            report.bounced += failed.len();
            state.store.outbound_finished(&row.id).await?;
            return Ok(());
        }
    };
    // The message with a DKIM-Signature in front, or as it is (no copy) without a key.
    let signed: std::borrow::Cow<'_, [u8]> = match &state.outbound.dkim {
        Some(dkim) => match dkim.sign(&message) {
            Ok(signed) => signed.into(),
            Err(error) => {
                tracing::warn!(%error, "outbound: sending unsigned");
                message.as_slice().into()
            }
        },
        None => message.as_slice().into(),
    };
    let outcomes = transmit(&state.config, &row.mail_from, &row.recipients, &signed).await;
    let give_up = now - row.created_at >= i64::from(state.config.queue_give_up_hours) * 3600;
    let mut remaining = Vec::new();
    let mut failed = Vec::new();
    let mut last_error = String::new();
    for (recipient, outcome) in row.recipients.iter().zip(outcomes) {
        match outcome {
            Outcome::Delivered => report.delivered += 1,
            Outcome::Permanent { reply, status } => failed.push((recipient.clone(), reply, status)),
            Outcome::Temporary(reply) if give_up => failed.push((
                recipient.clone(),
                format!(
                    "Gave up after {} hours of trying; the last answer was: {reply}",
                    state.config.queue_give_up_hours
                ),
                "4.4.7".into(),
            )),
            Outcome::Temporary(reply) => {
                last_error = reply;
                remaining.push(recipient.clone());
            }
        }
    }
    if !failed.is_empty() {
        report.bounced += failed.len();
        bounce(state, &row, &failed, Some(&message)).await;
    }
    if remaining.is_empty() {
        state.store.outbound_finished(&row.id).await?;
        if let Err(error) = state.outbound.files.delete(&row.id) {
            tracing::warn!(%error, "outbound: a sent message's queue file could not be deleted");
        }
    } else {
        report.deferred += remaining.len();
        let attempts = row.attempts + 1;
        // The reply's code only: its text may name the recipient, and logs name nobody.
        let code: Vec<&str> = last_error
            .split_whitespace()
            .take_while(|word| word.chars().all(|c| c.is_ascii_digit() || c == '.'))
            .take(2)
            .collect();
        let code = if code.is_empty() { "no SMTP reply".to_owned() } else { code.join(" ") };
        tracing::info!(id = %row.id, attempts, reply = %code, "outbound: will try again");
        state.store.outbound_retry_later(&row.id, &remaining, attempts, now + backoff(attempts), &last_error).await?;
    }
    Ok(())
}

/// The header section of a message, for a report to quote.
fn header_section(message: &[u8]) -> &[u8] {
    let end = message.windows(4).position(|w| w == b"\r\n\r\n").map(|at| at + 2);
    let end = end.or_else(|| message.windows(2).position(|w| w == b"\n\n").map(|at| at + 1));
    &message[..end.unwrap_or(message.len()).min(64 * 1024)]
}

/// Strips what could break a header line out of text a remote server sent us.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(900).collect()
}

/// A delivery status notification (RFC 3464) for the recipients in `failed`.
pub fn status_report(
    domain: &str,
    row: &OutboundRow,
    failed: &[(String, String, String)],
    original: Option<&[u8]>,
    now: i64,
) -> Vec<u8> {
    let id = crate::store::mail::new_id();
    let boundary = format!("plico-report-{id}");
    let mut text = String::from("This is the mail system at ");
    text.push_str(domain);
    text.push_str(".\r\n\r\nYour message could not be delivered to ");
    text.push_str(if failed.len() == 1 { "this recipient" } else { "these recipients" });
    text.push_str(":\r\n\r\n");
    for (recipient, reply, _) in failed {
        text.push_str(&format!("  {}\r\n    {}\r\n", one_line(recipient), one_line(reply)));
    }
    text.push_str(&format!(
        "\r\nIt was sent on {} and tried {} time{}. The headers of your message follow.\r\n",
        plico_mime::format_date(row.created_at),
        row.attempts + 1,
        if row.attempts == 0 { "" } else { "s" }
    ));
    let mut status =
        format!("Reporting-MTA: dns; {domain}\r\nArrival-Date: {}\r\n", plico_mime::format_date(row.created_at));
    for (recipient, reply, code) in failed {
        status.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {}\r\nAction: failed\r\nStatus: {}\r\nDiagnostic-Code: smtp; {}\r\n",
            one_line(recipient),
            one_line(code),
            one_line(reply)
        ));
    }
    let mut report = format!(
        "From: Mail Delivery System <postmaster@{domain}>\r\nTo: <{}>\r\nSubject: Undelivered mail: {} recipient{} could not be reached\r\n\
         Date: {}\r\nMessage-ID: <{id}@{domain}>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\
         --{boundary}\r\nContent-Type: message/delivery-status\r\n\
         Content-Disposition: attachment; filename=\"delivery-status.txt\"\r\n\r\n{status}\r\n",
        one_line(&row.mail_from),
        failed.len(),
        if failed.len() == 1 { "" } else { "s" },
        plico_mime::format_date(now),
    )
    .into_bytes();
    if let Some(original) = original {
        report.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\
                 Content-Disposition: attachment; filename=\"original-headers.txt\"\r\n\r\n"
            )
            .as_bytes(),
        );
        report.extend_from_slice(header_section(original));
        report.extend_from_slice(b"\r\n");
    }
    report.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    report
}

/// Puts a delivery status notification in the sender's Inbox. A report that cannot be filed is
/// logged (without addresses); the queue goes on.
async fn bounce(state: &AppState, row: &OutboundRow, failed: &[(String, String, String)], original: Option<&[u8]>) {
    let account = match state.store.account_by_id(row.account_id).await {
        Ok(Some(account)) => account,
        _ => return,
    };
    let report = status_report(&state.config.domain, row, failed, original, state.clock.now());
    if let Err(error) = crate::inbound::file_report(state, account.id, &account.public_cert, report).await {
        tracing::error!(?error, "outbound: a delivery status notification could not be filed");
    }
}

/// Removes queue files that no row names (a send that failed after writing its file, or a
/// crash between the two), once they are old enough that no send can still be committing them.
pub async fn sweep_orphans(state: &AppState) -> Result<usize, crate::store::Error> {
    let known: std::collections::HashSet<String> = state.store.outbound_ids().await?.into_iter().collect();
    let mut removed = 0;
    for name in state.outbound.files.older_than(Duration::from_secs(600)) {
        if known.contains(&name) {
            continue;
        }
        let path = state.outbound.files.dir.join(&name);
        if std::fs::remove_file(path).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Moves the queue files of rows queued before messages lived in rows into those rows (the
/// same sealed bytes), then removes the files, so that any node can deliver them. Returns how
/// many moved.
pub async fn adopt_queue_files(store: &crate::store::Store, files: &QueueFiles) -> Result<usize, String> {
    let mut moved = 0;
    for id in store.outbound_in_files().await.map_err(|e| e.to_string())? {
        let Some(sealed) = files.sealed_file(&id).map_err(|e| format!("queue/{id}: {e}"))? else { continue };
        files.open_sealed(&id, sealed.clone()).map_err(|e| format!("queue/{id}: {e}"))?;
        store.set_outbound_message(&id, &sealed).await.map_err(|e| e.to_string())?;
        files.delete(&id).map_err(|e| format!("queue/{id}: {e}"))?;
        moved += 1;
    }
    Ok(moved)
}

/// The delivery task: a pass over the due queue whenever something is queued or falls due.
pub async fn run_forever(state: AppState) {
    match adopt_queue_files(&state.store, &state.outbound.files).await {
        Ok(0) => {}
        Ok(moved) => tracing::info!(moved, "outbound: queue files moved into their rows"),
        Err(error) => tracing::warn!(%error, "outbound: queue files could not be moved into their rows"),
    }
    if let Err(error) = sweep_orphans(&state).await {
        tracing::warn!(%error, "outbound: the orphan sweep failed");
    }
    loop {
        match run_due(&state).await {
            Ok(report) if report != RunReport::default() => tracing::info!(
                delivered = report.delivered,
                deferred = report.deferred,
                bounced = report.bounced,
                "outbound: queue pass"
            ),
            Ok(_) => {}
            Err(error) => {
                state.metrics.job_failed();
                tracing::warn!(%error, "outbound: the queue could not be read")
            }
        }
        let wait = match state.store.next_outbound_at().await {
            Ok(Some(at)) => (at - state.clock.now()).clamp(1, 30),
            _ => 30,
        };
        tokio::select! {
            () = state.outbound.wake.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(wait as u64)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_files_are_sealed_at_rest_and_open_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = QueueFiles::open(dir.path()).expect("opens");
        let id = "0123456789abcdef0123456789abcdef";
        files.put(id, b"Subject: the marker text\r\n\r\nbody").expect("puts");
        let raw = std::fs::read(dir.path().join("queue").join(id)).expect("file");
        assert!(!raw.windows(6).any(|w| w == b"marker"), "the file is not plaintext");
        assert_eq!(files.get(id).expect("gets"), b"Subject: the marker text\r\n\r\nbody");
        // The same key after a restart; a different id (the AAD) does not open it.
        let again = QueueFiles::open(dir.path()).expect("reopens");
        assert_eq!(again.get(id).expect("gets"), b"Subject: the marker text\r\n\r\nbody");
        let other = "ffffffffffffffffffffffffffffffff";
        std::fs::copy(dir.path().join("queue").join(id), dir.path().join("queue").join(other)).expect("copy");
        assert!(again.get(other).is_err(), "a file moved to another id does not open");
        assert!(again.get("../queue.key").is_err());
        files.delete(id).expect("deletes");
        assert!(files.get(id).is_err());
    }

    #[test]
    fn backoff_grows_and_stops_growing() {
        let waits: Vec<i64> = (1..10).map(backoff).collect();
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(waits[0], 60);
        assert_eq!(*waits.last().expect("some"), 4 * 3600);
    }

    #[test]
    fn a_status_report_names_each_failure_and_quotes_only_headers() {
        let row = OutboundRow {
            id: "0123456789abcdef0123456789abcdef".into(),
            account_id: 1,
            mail_from: "alice@plico.test".into(),
            recipients: vec![],
            created_at: 1_700_000_000,
            next_attempt_at: 0,
            attempts: 2,
            last_error: None,
        };
        let failed =
            vec![("bob@example.org".to_owned(), "550 5.1.1 no such user\r\nX-Evil: 1".to_owned(), "5.1.1".to_owned())];
        let report = status_report("plico.test", &row, &failed, Some(b"Subject: hi\r\n\r\nsecret body"), 1_700_000_100);
        let text = String::from_utf8(report).expect("utf-8");
        assert!(text.contains("Final-Recipient: rfc822; bob@example.org\r\nAction: failed\r\nStatus: 5.1.1"));
        assert!(text.contains("550 5.1.1 no such user  X-Evil: 1"), "the reply stays on one line");
        assert!(text.contains("Subject: hi"));
        assert!(!text.contains("secret body"), "only the header section is quoted");
        assert!(text.contains("tried 3 times"));
        let parsed = plico_mime::parse(text.as_bytes()).expect("parses");
        assert!(parsed.subject.starts_with("Undelivered mail"));
    }
}
