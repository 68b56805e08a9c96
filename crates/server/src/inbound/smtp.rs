//! The SMTP listener: drives a `plico_smtp::Session` per connection over TCP, and hands
//! recipients and messages to `ingest`. Replies are collected and written only when the client
//! has sent nothing more (PIPELINING); a message's 250 is written only after `ingest` has
//! stored it for every recipient. With a certificate configured, STARTTLS upgrades the
//! connection through rustls (RFC 3207).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plico_smtp::{Event, Limits, Session};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

use crate::inbound::{self, Arrival};
use crate::metrics::SmtpOutcome;
use crate::shutdown::Shutdown;
use crate::AppState;

/// How long the listener waits for the client's next line (RFC 5321 section 4.5.3.2 asks for
/// at least five minutes).
const READ_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest piece of a line read at once; longer lines reach the session in pieces.
const MAX_READ: u64 = 64 * 1024;
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopping listener waits for its sessions to finish the messages in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(60);

/// Loads the certificate chain and key STARTTLS offers.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("reading the certificate {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{} holds no PEM certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("reading the key {}: {e}", key.display()))?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key do not make a TLS configuration: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Open connections per client address; a [`PerIp`] guard gives its place back on drop.
type OpenPerIp = Arc<Mutex<HashMap<IpAddr, usize>>>;

struct PerIp {
    open: OpenPerIp,
    ip: IpAddr,
}

impl PerIp {
    /// A place for one more connection from `ip`, if it holds fewer than `limit`.
    fn take(open: &OpenPerIp, ip: IpAddr, limit: usize) -> Option<PerIp> {
        let mut counts = open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = counts.entry(ip).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(PerIp { open: open.clone(), ip })
    }
}

impl Drop for PerIp {
    fn drop(&mut self) {
        let mut counts = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, state: AppState, tls: Option<TlsAcceptor>, shutdown: Shutdown) {
    let max = state.config.smtp_max_connections;
    let permits = Arc::new(Semaphore::new(max));
    let per_ip: OpenPerIp = Arc::default();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.wait() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "smtp: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let state = state.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        let Some(place) = PerIp::take(&per_ip, peer.ip(), state.config.smtp_max_connections_per_ip) else {
            tokio::spawn(async move {
                let mut stream = stream;
                let _ =
                    stream.write_all(b"421 4.7.0 Too many connections from your address, try again later\r\n").await;
            });
            continue;
        };
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(async move {
                    let _permit = permit;
                    let _place = place;
                    if let Err(error) = connection(stream, peer.ip(), &state, tls, &shutdown).await {
                        tracing::debug!(%error, "smtp: connection ended");
                    }
                });
            }
            Err(_) => {
                tokio::spawn(async move {
                    let mut stream = stream;
                    let _ = stream.write_all(b"421 4.3.2 Too many connections, try again later\r\n").await;
                });
            }
        }
    }
    // No new connections; the sessions open finish their message in flight, or are sent away.
    drop(listener);
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(SHUTDOWN_GRACE, permits.acquire_many(all)).await.is_err() {
        tracing::warn!("smtp: sessions still open after the grace period; stopping anyway");
    }
}

async fn connection(
    stream: TcpStream,
    peer: IpAddr,
    state: &AppState,
    tls: Option<TlsAcceptor>,
    shutdown: &Shutdown,
) -> std::io::Result<()> {
    let limits = Limits {
        max_message_bytes: state.config.smtp_max_message_bytes,
        max_recipients: state.config.smtp_max_recipients,
        ..Limits::default()
    };
    let _open = state.metrics.smtp_session();
    let mut session = Session::new(state.config.domain.clone(), limits, tls.is_some());
    let greeting = session.greeting().to_bytes();
    let Some(plain) = converse(BufReader::new(stream), &mut session, greeting, peer, state, shutdown).await? else {
        return Ok(());
    };
    let Some(acceptor) = tls else { return Ok(()) };
    let secured = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(plain)).await {
        Ok(handshake) => handshake?,
        Err(_) => return Ok(()),
    };
    session.tls_started();
    // The session does not offer STARTTLS twice, so this conversation ends the connection.
    converse(BufReader::new(secured), &mut session, Vec::new(), peer, state, shutdown).await?;
    Ok(())
}

/// Runs the session over `stream` until it closes; returns the bare stream when the client asked
/// for STARTTLS. Anything the client sent after STARTTLS, before the handshake, is dropped with
/// the read buffer, as RFC 3207 requires (it would otherwise count as sent over TLS).
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: BufReader<S>,
    session: &mut Session,
    mut out: Vec<u8>,
    peer: IpAddr,
    state: &AppState,
    shutdown: &Shutdown,
) -> std::io::Result<Option<S>> {
    let mut line = Vec::with_capacity(1024);
    loop {
        if stream.buffer().is_empty() && !out.is_empty() {
            stream.write_all(&out).await?;
            stream.flush().await?;
            out.clear();
        }
        line.clear();
        let reading_data = session.reading_data();
        let read = {
            let mut limited = (&mut stream).take(MAX_READ);
            tokio::select! {
                read = tokio::time::timeout(READ_TIMEOUT, limited.read_until(b'\n', &mut line)) => Some(read),
                // A message being sent finishes; between messages the session is sent away.
                () = shutdown.wait(), if !reading_data => None,
            }
        };
        let Some(read) = read else {
            out.extend_from_slice(b"421 4.3.2 Service shutting down, try again later\r\n");
            stream.write_all(&out).await?;
            stream.flush().await?;
            return Ok(None);
        };
        let count = match read {
            Ok(result) => result?,
            Err(_) => {
                out.extend_from_slice(b"421 4.4.2 Timeout, closing\r\n");
                stream.write_all(&out).await?;
                stream.flush().await?;
                return Ok(None);
            }
        };
        if count == 0 {
            return Ok(None);
        }
        match session.line(&line) {
            Event::Continue => {}
            Event::Reply(reply) => out.extend_from_slice(&reply.to_bytes()),
            Event::CheckRecipient(address) => {
                let verdict = inbound::check_recipient(state, &address).await;
                out.extend_from_slice(&session.recipient_checked(verdict).to_bytes());
            }
            Event::Deliver(envelope, raw) => {
                let arrival = Arrival { envelope: &envelope, peer, raw: &raw };
                let outcome = inbound::deliver(state, &arrival).await;
                match &outcome {
                    Ok(_) => {
                        state.metrics.smtp_message(SmtpOutcome::Stored);
                        tracing::info!(recipients = envelope.recipients.len(), bytes = raw.len(), "smtp: stored")
                    }
                    Err(refusal) => {
                        let temporary = refusal.reply().code < 500;
                        state.metrics.smtp_message(if temporary {
                            SmtpOutcome::Deferred
                        } else {
                            SmtpOutcome::Refused
                        });
                        tracing::info!(?refusal, bytes = raw.len(), "smtp: refused")
                    }
                }
                out.extend_from_slice(&session.delivered(outcome.map_err(|refusal| refusal.reply())).to_bytes());
            }
            Event::StartTls(reply) => {
                out.extend_from_slice(&reply.to_bytes());
                stream.write_all(&out).await?;
                stream.flush().await?;
                return Ok(Some(stream.into_inner()));
            }
            Event::Close(reply) => {
                out.extend_from_slice(&reply.to_bytes());
                stream.write_all(&out).await?;
                stream.flush().await?;
                return Ok(None);
            }
        }
    }
}
