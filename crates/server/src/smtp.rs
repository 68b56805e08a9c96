//! The SMTP listener: drives a `plico_smtp::Session` per connection over TCP, and hands
//! recipients and messages to `ingest`. Replies are buffered and flushed only when the client
//! has sent nothing more (PIPELINING); a message's 250 is written only after `ingest` has
//! stored it for every recipient.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use plico_smtp::{Event, Limits, Session};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::ingest::{self, Arrival};
use crate::AppState;

/// How long the listener waits for the client's next line (RFC 5321 section 4.5.3.2 asks for
/// at least five minutes).
const READ_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest piece of a line read at once; longer lines reach the session in pieces.
const MAX_READ: u64 = 64 * 1024;

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, state: AppState) {
    let permits = Arc::new(Semaphore::new(state.config.smtp_max_connections));
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
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(async move {
                    let _permit = permit;
                    if let Err(error) = session(stream, peer.ip(), &state).await {
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

async fn session(stream: TcpStream, peer: IpAddr, state: &AppState) -> std::io::Result<()> {
    let (read, write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut writer = BufWriter::new(write);
    let limits = Limits {
        max_message_bytes: state.config.smtp_max_message_bytes,
        max_recipients: state.config.smtp_max_recipients,
        ..Limits::default()
    };
    let mut session = Session::new(state.config.domain.clone(), limits, false);
    writer.write_all(&session.greeting().to_bytes()).await?;
    let mut line = Vec::with_capacity(1024);
    loop {
        if reader.buffer().is_empty() {
            writer.flush().await?;
        }
        line.clear();
        let read = tokio::time::timeout(READ_TIMEOUT, (&mut reader).take(MAX_READ).read_until(b'\n', &mut line)).await;
        let count = match read {
            Ok(result) => result?,
            Err(_) => {
                writer.write_all(b"421 4.4.2 Timeout, closing\r\n").await?;
                writer.flush().await?;
                return Ok(());
            }
        };
        if count == 0 {
            return Ok(());
        }
        match session.line(&line) {
            Event::Continue => {}
            Event::Reply(reply) | Event::StartTls(reply) => writer.write_all(&reply.to_bytes()).await?,
            Event::CheckRecipient(address) => {
                let verdict = ingest::check_recipient(state, &address).await;
                writer.write_all(&session.recipient_checked(verdict).to_bytes()).await?;
            }
            Event::Deliver(envelope, raw) => {
                let arrival = Arrival { envelope: &envelope, peer, raw: &raw };
                let outcome = ingest::deliver(state, &arrival).await;
                match &outcome {
                    Ok(_) => tracing::info!(recipients = envelope.recipients.len(), bytes = raw.len(), "smtp: stored"),
                    Err(refusal) => tracing::info!(?refusal, bytes = raw.len(), "smtp: refused"),
                }
                let reply = session.delivered(outcome.map_err(|refusal| refusal.reply()));
                writer.write_all(&reply.to_bytes()).await?;
                writer.flush().await?;
            }
            Event::Close(reply) => {
                writer.write_all(&reply.to_bytes()).await?;
                writer.flush().await?;
                return Ok(());
            }
        }
    }
}
