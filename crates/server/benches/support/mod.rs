//! What the SMTP benchmarks share: realistic plaintext messages, a plain SMTP client, and 16
//! parallel senders that time each transaction from MAIL to the final reply.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

pub const SENDERS: usize = 16;

/// A realistic plaintext message of about `size` bytes: headers, and a body of words in a few
/// languages wrapped at 72 columns; `n` makes it unique.
pub fn message(size: usize, n: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "invoice",
        "meeting",
        "Grüße",
        "réunion",
        "vergadering",
        "möte",
        "tomorrow",
        "budget",
        "project",
        "attached",
        "please",
        "review",
        "merci",
        "danke",
        "bedankt",
        "tack",
        "schedule",
        "quarterly",
        "report",
        "über",
        "déjà",
        "smörgåsbord",
        "koffie",
        "the",
        "and",
        "of",
        "to",
        "in",
    ];
    let mut text = format!(
        "From: Sender {n} <sender{n}@example.net>\r\nTo: Bench <bench@plico.test>\r\nSubject: Benchmark message {n}\r\n\
         Date: Wed, 02 Dec 2026 05:00:00 +0000\r\nMessage-ID: <bench.{n}@example.net>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    );
    let mut line = String::new();
    let mut seed = n as u64 * 2_654_435_761 + 1;
    while text.len() < size {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let word = WORDS[(seed % WORDS.len() as u64) as usize];
        if line.len() + word.len() > 72 {
            text.push_str(&line);
            text.push_str("\r\n");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    text.push_str(&line);
    text.push_str("\r\n");
    text.into_bytes()
}

/// One SMTP client connection, no pipelining.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    pub fn connect(address: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        let mut client = Client { reader: BufReader::new(stream.try_clone()?), writer: stream };
        client.reply()?;
        client.command(b"EHLO bench.example.net\r\n")?;
        Ok(client)
    }

    /// Reads a whole (multi-line) reply and returns its code.
    fn reply(&mut self) -> std::io::Result<u16> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::Error::other("the server closed the connection"));
            }
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return line
                    .get(..3)
                    .and_then(|code| code.parse().ok())
                    .ok_or_else(|| std::io::Error::other(line.clone()));
            }
        }
    }

    pub fn command(&mut self, command: &[u8]) -> std::io::Result<u16> {
        self.writer.write_all(command)?;
        self.reply()
    }

    /// Sends one message; returns the final reply's code.
    pub fn send(&mut self, body: &[u8]) -> std::io::Result<u16> {
        for (command, expected) in [
            (&b"MAIL FROM:<sender@example.net>\r\n"[..], 250),
            (&b"RCPT TO:<bench@plico.test>\r\n"[..], 250),
            (&b"DATA\r\n"[..], 354),
        ] {
            let code = self.command(command)?;
            if code != expected {
                return Ok(code);
            }
        }
        // The messages carry no line that starts with a dot, so no dot-stuffing is needed.
        self.writer.write_all(body)?;
        self.command(b".\r\n")
    }
}

#[derive(Debug, Default)]
pub struct LoadResult {
    pub accepted: usize,
    pub refused: usize,
    pub seconds: f64,
    pub latencies_ms: Vec<f64>,
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.accepted as f64 / self.seconds
    }
    pub fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            return f64::NAN;
        }
        sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
    }
}

/// `count` messages of `size` bytes from 16 threads, each timing MAIL → final reply; sender
/// `n` talks to `addresses[n % addresses.len()]` (one node, or several behind no balancer).
pub fn load(addresses: &[SocketAddr], size: usize, count: usize, first: usize) -> LoadResult {
    let addresses = addresses.to_vec();
    let started = Instant::now();
    let threads: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let address = addresses[sender % addresses.len()];
            std::thread::spawn(move || {
                let mut result = LoadResult::default();
                let mut client = Client::connect(address).expect("connects");
                for n in (sender..count).step_by(SENDERS) {
                    let body = message(size, first + n);
                    let began = Instant::now();
                    match client.send(&body).expect("the server answers") {
                        250 => {
                            result.accepted += 1;
                            result.latencies_ms.push(began.elapsed().as_secs_f64() * 1000.0);
                        }
                        _ => result.refused += 1,
                    }
                }
                let _ = client.command(b"QUIT\r\n");
                result
            })
        })
        .collect();
    let mut total = LoadResult::default();
    for thread in threads {
        let result = thread.join().expect("sender thread");
        total.accepted += result.accepted;
        total.refused += result.refused;
        total.latencies_ms.extend(result.latencies_ms);
    }
    total.seconds = started.elapsed().as_secs_f64();
    total
}
