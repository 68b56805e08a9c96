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
use crate::AppState;

/// How long the listener waits for the client's next line (RFC 5321 section 4.5.3.2 asks for
/// at least five minutes).
const READ_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest piece of a line read at once; longer lines reach the session in pieces.
const MAX_READ: u64 = 64 * 1024;
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

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
pub async fn serve(listener: TcpListener, state: AppState, tls: Option<TlsAcceptor>) {
    let permits = Arc::new(Semaphore::new(state.config.smtp_max_connections));
    let per_ip: OpenPerIp = Arc::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "smtp: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let state = state.clone();
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
                    if let Err(error) = connection(stream, peer.ip(), &state, tls).await {
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
}

async fn connection(
    stream: TcpStream,
    peer: IpAddr,
    state: &AppState,
    tls: Option<TlsAcceptor>,
) -> std::io::Result<()> {
    let limits = Limits {
        max_message_bytes: state.config.smtp_max_message_bytes,
        max_recipients: state.config.smtp_max_recipients,
        ..Limits::default()
    };
    let mut session = Session::new(state.config.domain.clone(), limits, tls.is_some());
    let greeting = session.greeting().to_bytes();
    let Some(plain) = converse(BufReader::new(stream), &mut session, greeting, peer, state).await? else {
        return Ok(());
    };
    let Some(acceptor) = tls else { return Ok(()) };
    let secured = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(plain)).await {
        Ok(handshake) => handshake?,
        Err(_) => return Ok(()),
    };
    session.tls_started();
    // The session does not offer STARTTLS twice, so this conversation ends the connection.
    converse(BufReader::new(secured), &mut session, Vec::new(), peer, state).await?;
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
) -> std::io::Result<Option<S>> {
    let mut line = Vec::with_capacity(1024);
    loop {
        if stream.buffer().is_empty() && !out.is_empty() {
            stream.write_all(&out).await?;
            stream.flush().await?;
            out.clear();
        }
        line.clear();
        let read = tokio::time::timeout(READ_TIMEOUT, (&mut stream).take(MAX_READ).read_until(b'\n', &mut line)).await;
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
                    Ok(_) => tracing::info!(recipients = envelope.recipients.len(), bytes = raw.len(), "smtp: stored"),
                    Err(refusal) => tracing::info!(?refusal, bytes = raw.len(), "smtp: refused"),
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
