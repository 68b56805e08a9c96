//! A clamd client: the message goes to ClamAV's daemon with INSTREAM over its Unix socket (or
//! TCP), in memory, and the answer says clean or which signature matched. clamd decodes MIME
//! parts itself, so attachments are scanned as files.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How long a scan may take before the message is refused for now (4xx).
const SCAN_TIMEOUT: Duration = Duration::from_secs(60);
const CHUNK: usize = 64 * 1024;

/// What clamd found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    Clean,
    /// The name of the signature that matched.
    Infected(String),
}

/// Scans `message` with the clamd at `address`: a Unix socket path, or `host:port`.
pub async fn scan(address: &str, message: &[u8]) -> Result<Scan, String> {
    let scanning = async {
        if let Ok(tcp) = address.parse::<std::net::SocketAddr>() {
            let stream = tokio::net::TcpStream::connect(tcp).await.map_err(|e| format!("connecting to clamd: {e}"))?;
            instream(stream, message).await
        } else {
            let stream = unix(Path::new(address)).await?;
            instream(stream, message).await
        }
    };
    tokio::time::timeout(SCAN_TIMEOUT, scanning).await.map_err(|_| "clamd did not answer in time".to_owned())?
}

#[cfg(unix)]
async fn unix(path: &Path) -> Result<tokio::net::UnixStream, String> {
    tokio::net::UnixStream::connect(path).await.map_err(|e| format!("connecting to clamd at {}: {e}", path.display()))
}

#[cfg(not(unix))]
async fn unix(path: &Path) -> Result<tokio::net::TcpStream, String> {
    Err(format!("Unix sockets are not available here: {}", path.display()))
}

/// The INSTREAM exchange: `zINSTREAM\0`, chunks each led by a 4-byte big-endian length, a zero
/// length, then one NUL-terminated answer line.
async fn instream<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, message: &[u8]) -> Result<Scan, String> {
    let io = |e: std::io::Error| format!("talking to clamd: {e}");
    stream.write_all(b"zINSTREAM\0").await.map_err(io)?;
    for chunk in message.chunks(CHUNK) {
        stream.write_all(&(chunk.len() as u32).to_be_bytes()).await.map_err(io)?;
        stream.write_all(chunk).await.map_err(io)?;
    }
    stream.write_all(&0u32.to_be_bytes()).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    let mut answer = Vec::with_capacity(128);
    stream.take(4096).read_to_end(&mut answer).await.map_err(io)?;
    parse_answer(&answer)
}

fn parse_answer(answer: &[u8]) -> Result<Scan, String> {
    let text = String::from_utf8_lossy(answer);
    let text = text.trim_end_matches(['\0', '\n', '\r']);
    let verdict = text.strip_prefix("stream: ").ok_or_else(|| format!("clamd answered {text:?}"))?;
    if verdict == "OK" {
        Ok(Scan::Clean)
    } else if let Some(name) = verdict.strip_suffix(" FOUND") {
        Ok(Scan::Infected(name.to_owned()))
    } else {
        Err(format!("clamd could not scan the message: {verdict}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read() {
        assert_eq!(parse_answer(b"stream: OK\0"), Ok(Scan::Clean));
        assert_eq!(
            parse_answer(b"stream: Eicar-Test-Signature FOUND\0"),
            Ok(Scan::Infected("Eicar-Test-Signature".into()))
        );
        assert!(parse_answer(b"stream: INSTREAM size limit exceeded. ERROR\0").is_err());
        assert!(parse_answer(b"garbage").is_err());
    }
}
