//! An rspamd client: the message goes to rspamd's `/checkv2` over plain HTTP on the operator's
//! own network, with the envelope in rspamd's request headers, and the answer's action and
//! score come back. HTTP/1.1 by hand over one connection: one request, `Connection: close`.

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHECK_TIMEOUT: Duration = Duration::from_secs(30);
/// The most of rspamd's answer that is read.
const MAX_ANSWER: u64 = 1024 * 1024;

/// What rspamd advises.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// `no action`, `greylist`, `add header`, `rewrite subject`, `soft reject` or `reject`.
    pub action: String,
    pub score: f64,
}

impl Check {
    /// File it as spam.
    pub fn is_spam(&self) -> bool {
        matches!(self.action.as_str(), "add header" | "rewrite subject" | "reject")
    }

    /// Refuse it outright.
    pub fn is_reject(&self) -> bool {
        self.action == "reject"
    }
}

/// Where rspamd listens: `http://host:port`.
fn endpoint(url: &str) -> Result<&str, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("rspamd's address must start with http://: {url}"))?;
    Ok(rest.trim_end_matches('/'))
}

/// Asks rspamd about `message`.
pub async fn check(
    url: &str,
    peer: IpAddr,
    helo: &str,
    from: &str,
    recipients: &[String],
    message: &[u8],
) -> Result<Check, String> {
    let host = endpoint(url)?.to_owned();
    let mut head = format!(
        "POST /checkv2 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\nIP: {peer}\r\nHelo: {}\r\nFrom: {}\r\n",
        message.len(),
        header_value(helo),
        header_value(from)
    );
    for recipient in recipients {
        head.push_str(&format!("Rcpt: {}\r\n", header_value(recipient)));
    }
    head.push_str("\r\n");
    let exchange = async {
        let io = |e: std::io::Error| format!("talking to rspamd at {host}: {e}");
        let mut stream = tokio::net::TcpStream::connect(host.as_str()).await.map_err(io)?;
        stream.write_all(head.as_bytes()).await.map_err(io)?;
        stream.write_all(message).await.map_err(io)?;
        let mut answer = Vec::new();
        stream.take(MAX_ANSWER).read_to_end(&mut answer).await.map_err(io)?;
        parse_answer(&answer)
    };
    tokio::time::timeout(CHECK_TIMEOUT, exchange).await.map_err(|_| "rspamd did not answer in time".to_owned())?
}

/// A value for an rspamd request header: printable ASCII only.
fn header_value(value: &str) -> String {
    value.chars().filter(|c| c.is_ascii_graphic()).take(512).collect()
}

fn parse_answer(answer: &[u8]) -> Result<Check, String> {
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").ok_or("rspamd's answer has no body")?;
    let status_line = String::from_utf8_lossy(&answer[..split]);
    let status = status_line.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("rspamd answered {status}"));
    }
    let body: serde_json::Value =
        serde_json::from_slice(&answer[split + 4..]).map_err(|e| format!("rspamd's answer is not JSON: {e}"))?;
    let action = body["action"].as_str().ok_or("rspamd's answer has no action")?.to_owned();
    let score = body["score"].as_f64().unwrap_or(0.0);
    Ok(Check { action, score })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read() {
        let answer =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"score\":7.9,\"action\":\"add header\"}";
        let check = parse_answer(answer).expect("reads");
        assert_eq!(check, Check { action: "add header".into(), score: 7.9 });
        assert!(check.is_spam() && !check.is_reject());
        assert!(parse_answer(b"HTTP/1.1 500 Internal\r\n\r\n{}").is_err());
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\n\r\nnot json").is_err());
        assert_eq!(endpoint("http://127.0.0.1:11333/"), Ok("127.0.0.1:11333"));
        assert!(endpoint("https://x").is_err());
        assert_eq!(header_value("a b\r\nInjected: x"), "abInjected:x");
    }
}
