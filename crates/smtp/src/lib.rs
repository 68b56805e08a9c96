//! The server side of an SMTP session (RFC 5321) as a state machine: lines go in, and replies,
//! or requests to the caller, come out. It does no IO and knows nothing of accounts or storage,
//! so the server drives it over a socket, the tests drive it with strings, and the fuzzer drives
//! it with bytes.
//!
//! Two answers come from the caller, because only it knows them: whether a recipient exists
//! ([`Event::CheckRecipient`], answered by [`Session::recipient_checked`]) and whether a whole
//! message was stored ([`Event::Deliver`], answered by [`Session::delivered`]). The session
//! replies 250 to DATA only with the caller's word that the message is stored.
//!
//! Extensions: SIZE, 8BITMIME, PIPELINING (the caller flushes replies only when it has no more
//! input in hand), ENHANCEDSTATUSCODES, and STARTTLS when the caller can do TLS.

use std::fmt;

/// Limits the session enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest message accepted, in bytes (the SIZE extension's figure).
    pub max_message_bytes: usize,
    /// The most recipients one message may name.
    pub max_recipients: usize,
    /// How many refused commands the session takes before it closes the connection.
    pub max_errors: u32,
    /// The longest command line, CRLF included (RFC 5321 says 512; parameters may need more).
    pub max_command_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_message_bytes: 25 * 1024 * 1024, max_recipients: 100, max_errors: 10, max_command_line: 2048 }
    }
}

/// A reply: a code and one or more lines of text, enhanced status code included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn new(code: u16, text: impl Into<String>) -> Self {
        Reply { code, lines: vec![text.into()] }
    }

    /// 2xx and 3xx.
    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    /// The reply as it goes on the wire: `250-first`, …, `250 last`, each ending in CRLF.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.lines.len().saturating_sub(1);
        if self.lines.is_empty() {
            return write!(f, "{}\r\n", self.code);
        }
        for (index, line) in self.lines.iter().enumerate() {
            let separator = if index == last { ' ' } else { '-' };
            // A reply line never carries a bare CR or LF from a caller's text.
            let line: String = line.chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }).collect();
            write!(f, "{}{separator}{line}\r\n", self.code)?;
        }
        Ok(())
    }
}

/// What the client asked for, once DATA ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The name the client gave in EHLO or HELO.
    pub helo: String,
    /// The reverse path; empty for the null sender (bounces).
    pub from: String,
    /// The accepted recipients, in order, each once.
    pub recipients: Vec<String>,
    /// The SIZE the client declared, if it did.
    pub declared_size: Option<usize>,
    /// The client declared BODY=8BITMIME.
    pub body_8bit: bool,
}

/// The caller's answer about a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// A local mailbox that takes mail.
    Accept,
    /// A local domain, but no such mailbox.
    UnknownUser,
    /// A mailbox that exists but takes no mail (closed or suspended).
    Disabled,
    /// Not a domain this server receives for: it relays for nobody.
    NotLocal,
    /// The mailbox cannot be checked just now; the client should try again.
    TryLater,
    /// The mailbox is over its storage quota: try again later (it may be emptied).
    Full,
}

/// What the caller should do after a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Send the reply and read on.
    Reply(Reply),
    /// Nothing to send: a line of message data.
    Continue,
    /// Check this recipient and answer with [`Session::recipient_checked`].
    CheckRecipient(String),
    /// A whole message: store it durably, then answer with [`Session::delivered`].
    Deliver(Envelope, Vec<u8>),
    /// Send the reply, then start TLS and call [`Session::tls_started`].
    StartTls(Reply),
    /// Send the reply, then close the connection.
    Close(Reply),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Connected (or TLS just started): EHLO or HELO first.
    Fresh,
    /// Greeted; no transaction.
    Ready,
    /// MAIL given; RCPT may follow.
    Mail,
    /// Waiting for the caller's word on a recipient.
    CheckingRecipient,
    /// Reading message data.
    Data,
    /// Waiting for the caller to store the message.
    Delivering,
}

/// One SMTP session.
#[derive(Debug)]
pub struct Session {
    hostname: String,
    limits: Limits,
    can_start_tls: bool,
    in_tls: bool,
    state: State,
    envelope: Envelope,
    pending_recipient: Option<String>,
    data: Vec<u8>,
    data_too_big: bool,
    /// The data so far ended in CRLF: a line of "." here ends DATA.
    data_at_line_start: bool,
    /// The last piece of data ended in CR, whose LF may start the next piece.
    data_cr_pending: bool,
    /// The data held a bare LF or a bare CR: the message is refused when DATA ends.
    data_bare_line_end: bool,
    /// The rest of an over-long command line is being skipped.
    skipping_line: bool,
    errors: u32,
    helo: String,
}

fn reply(code: u16, text: impl Into<String>) -> Event {
    Event::Reply(Reply::new(code, text))
}

/// Splits `MAIL FROM:<path> params` or `RCPT TO:<path> params` after the verb: returns the path
/// without its angle brackets (source routes dropped) and the parameters.
fn parse_path<'a>(argument: &'a str, keyword: &str) -> Option<(String, Vec<&'a str>)> {
    let (head, rest) = argument.split_at_checked(keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    let mut path = &rest[..end];
    let params: Vec<&str> = rest[end + 1..].split_ascii_whitespace().collect();
    // An obsolete source route: "@a,@b:user@host".
    if path.starts_with('@') {
        path = &path[path.find(':')? + 1..];
    }
    if !path.is_empty() && !is_plausible_address(path) {
        return None;
    }
    Some((path.to_owned(), params))
}

/// `local@domain`, printable, no spaces or brackets, within RFC 5321's length limits. Quoted
/// local parts are refused: no Plico mailbox has one.
fn is_plausible_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else { return false };
    let printable = |s: &str| s.chars().all(|c| !c.is_control() && !c.is_whitespace() && !"<>()[]\\,;:\"".contains(c));
    !local.is_empty()
        && local.len() <= 64
        && !domain.is_empty()
        && domain.len() <= 255
        && printable(local)
        && printable(domain)
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

impl Session {
    pub fn new(hostname: impl Into<String>, limits: Limits, can_start_tls: bool) -> Self {
        Session {
            hostname: hostname.into(),
            limits,
            can_start_tls,
            in_tls: false,
            state: State::Fresh,
            envelope: Envelope::default(),
            pending_recipient: None,
            data: Vec::new(),
            data_too_big: false,
            data_at_line_start: true,
            data_cr_pending: false,
            data_bare_line_end: false,
            skipping_line: false,
            errors: 0,
            helo: String::new(),
        }
    }

    /// The 220 greeting the server sends on connect.
    pub fn greeting(&self) -> Reply {
        Reply::new(220, format!("{} ESMTP Plico", self.hostname))
    }

    /// True while message data is being read: the caller may then hand over lines longer than
    /// a command line.
    pub fn reading_data(&self) -> bool {
        self.state == State::Data
    }

    /// Feeds one line, ending in LF (CRLF or bare LF), or a piece of an over-long line without
    /// its end.
    pub fn line(&mut self, line: &[u8]) -> Event {
        match self.state {
            State::Data => self.data_line(line),
            State::CheckingRecipient | State::Delivering => {
                // The caller owes an answer first; a driver that gets here is broken.
                reply(451, "4.3.0 Internal ordering error, try again")
            }
            _ => self.command_line(line),
        }
    }

    fn refuse(&mut self, code: u16, text: &str) -> Event {
        self.errors += 1;
        if self.errors >= self.limits.max_errors {
            return Event::Close(Reply::new(421, format!("4.7.0 {} Too many errors, closing", self.hostname)));
        }
        reply(code, text)
    }

    fn reset_transaction(&mut self) {
        self.envelope = Envelope::default();
        self.pending_recipient = None;
        self.data = Vec::new();
        self.data_too_big = false;
        self.data_at_line_start = true;
        self.data_cr_pending = false;
        self.data_bare_line_end = false;
        if self.state != State::Fresh {
            self.state = State::Ready;
        }
    }

    fn command_line(&mut self, line: &[u8]) -> Event {
        // Refused recipients count too: a client guessing addresses is sent away.
        if self.errors >= self.limits.max_errors {
            return Event::Close(Reply::new(421, format!("4.7.0 {} Too many errors, closing", self.hostname)));
        }
        let complete = line.ends_with(b"\n");
        if self.skipping_line {
            self.skipping_line = !complete;
            return if complete { self.refuse(500, "5.5.2 Line too long") } else { Event::Continue };
        }
        if line.len() > self.limits.max_command_line || !complete {
            if !complete {
                self.skipping_line = true;
                return Event::Continue;
            }
            return self.refuse(500, "5.5.2 Line too long");
        }
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches(['\r', '\n']);
        let (verb, argument) = match text.split_once(' ') {
            Some((verb, argument)) => (verb, argument.trim()),
            None => (text, ""),
        };
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => self.hello(argument, true),
            "HELO" => self.hello(argument, false),
            "MAIL" => self.mail(argument),
            "RCPT" => self.rcpt(argument),
            "DATA" => self.start_data(argument),
            "RSET" => {
                self.reset_transaction();
                reply(250, "2.0.0 Ok")
            }
            "NOOP" => reply(250, "2.0.0 Ok"),
            "QUIT" => Event::Close(Reply::new(221, format!("2.0.0 {} Bye", self.hostname))),
            "VRFY" => reply(252, "2.5.2 Cannot verify the user; send a message and delivery will be tried"),
            "EXPN" => self.refuse(502, "5.5.1 EXPN is not available"),
            "HELP" => reply(214, "2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY STARTTLS"),
            "STARTTLS" => self.start_tls(argument),
            "AUTH" => self.refuse(502, "5.5.1 This port takes incoming mail only; submit mail with the app"),
            "BDAT" => self.refuse(502, "5.5.1 CHUNKING is not offered"),
            "" => self.refuse(500, "5.5.2 Empty command"),
            _ => self.refuse(500, "5.5.2 Command not recognised"),
        }
    }

    fn hello(&mut self, argument: &str, extended: bool) -> Event {
        if argument.is_empty() || argument.contains(char::is_whitespace) {
            return self.refuse(501, "5.5.4 Syntax: EHLO <your domain>");
        }
        self.state = State::Ready;
        self.reset_transaction();
        self.helo = argument.to_owned();
        if !extended {
            return reply(250, format!("{} Hello {argument}", self.hostname));
        }
        let mut lines = vec![
            format!("{} Hello {argument}", self.hostname),
            format!("SIZE {}", self.limits.max_message_bytes),
            "8BITMIME".to_owned(),
            "PIPELINING".to_owned(),
            "ENHANCEDSTATUSCODES".to_owned(),
        ];
        if self.can_start_tls && !self.in_tls {
            lines.push("STARTTLS".to_owned());
        }
        Event::Reply(Reply { code: 250, lines })
    }

    fn mail(&mut self, argument: &str) -> Event {
        match self.state {
            State::Fresh => return self.refuse(503, "5.5.1 Send EHLO or HELO first"),
            State::Ready => {}
            _ => return self.refuse(503, "5.5.1 A transaction is already open; send RSET to start over"),
        }
        let Some((from, params)) = parse_path(argument, "FROM:") else {
            return self.refuse(501, "5.5.4 Syntax: MAIL FROM:<address> [SIZE=n] [BODY=8BITMIME]");
        };
        let mut envelope = Envelope { helo: self.helo.clone(), from, ..Envelope::default() };
        for param in params {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key.to_ascii_uppercase().as_str() {
                "SIZE" => match value.parse::<usize>() {
                    Ok(size) if size > self.limits.max_message_bytes => {
                        return self.refuse(
                            552,
                            &format!(
                                "5.3.4 The message is larger than this server takes ({} bytes)",
                                self.limits.max_message_bytes
                            ),
                        )
                    }
                    Ok(size) => envelope.declared_size = Some(size),
                    Err(_) => return self.refuse(501, "5.5.4 SIZE takes a number of bytes"),
                },
                "BODY" => match value.to_ascii_uppercase().as_str() {
                    "7BIT" => envelope.body_8bit = false,
                    "8BITMIME" => envelope.body_8bit = true,
                    _ => return self.refuse(501, "5.5.4 BODY is 7BIT or 8BITMIME"),
                },
                _ => return self.refuse(555, "5.5.4 Unsupported MAIL parameter"),
            }
        }
        self.envelope = envelope;
        self.state = State::Mail;
        reply(250, "2.1.0 Sender ok")
    }

    fn rcpt(&mut self, argument: &str) -> Event {
        if self.state != State::Mail {
            return self.refuse(503, "5.5.1 Send MAIL before RCPT");
        }
        let Some((to, params)) = parse_path(argument, "TO:") else {
            return self.refuse(501, "5.5.4 Syntax: RCPT TO:<address>");
        };
        if to.is_empty() {
            return self.refuse(501, "5.1.3 A recipient address is required");
        }
        if !params.is_empty() {
            return self.refuse(555, "5.5.4 Unsupported RCPT parameter");
        }
        if self.envelope.recipients.iter().any(|known| known.eq_ignore_ascii_case(&to)) {
            return reply(250, "2.1.5 Recipient ok");
        }
        if self.envelope.recipients.len() >= self.limits.max_recipients {
            return reply(
                452,
                format!("4.5.3 Too many recipients; at most {} per message", self.limits.max_recipients),
            );
        }
        self.pending_recipient = Some(to.clone());
        self.state = State::CheckingRecipient;
        Event::CheckRecipient(to)
    }

    /// The caller's answer to [`Event::CheckRecipient`].
    pub fn recipient_checked(&mut self, verdict: Recipient) -> Reply {
        let Some(address) = self.pending_recipient.take().filter(|_| self.state == State::CheckingRecipient) else {
            return Reply::new(451, "4.3.0 Internal ordering error, try again");
        };
        self.state = State::Mail;
        match verdict {
            Recipient::Accept => {
                self.envelope.recipients.push(address);
                Reply::new(250, "2.1.5 Recipient ok")
            }
            Recipient::UnknownUser => {
                self.errors += 1;
                Reply::new(550, format!("5.1.1 <{address}>: no such mailbox here"))
            }
            Recipient::Disabled => {
                self.errors += 1;
                Reply::new(550, format!("5.2.1 <{address}>: this mailbox is disabled and takes no mail"))
            }
            Recipient::NotLocal => {
                self.errors += 1;
                Reply::new(550, format!("5.7.1 <{address}>: this server does not relay"))
            }
            Recipient::TryLater => {
                Reply::new(451, format!("4.3.0 <{address}>: cannot check the mailbox now, try later"))
            }
            Recipient::Full => Reply::new(452, format!("4.2.2 <{address}>: mailbox full, try again later")),
        }
    }

    fn start_data(&mut self, argument: &str) -> Event {
        if !argument.is_empty() {
            return self.refuse(501, "5.5.4 DATA takes no argument");
        }
        match self.state {
            State::Mail if !self.envelope.recipients.is_empty() => {}
            State::Mail => return self.refuse(554, "5.5.1 No valid recipients"),
            _ => return self.refuse(503, "5.5.1 Send MAIL and RCPT before DATA"),
        }
        self.state = State::Data;
        self.data = Vec::new();
        self.data_too_big = false;
        self.data_at_line_start = true;
        self.data_cr_pending = false;
        self.data_bare_line_end = false;
        reply(354, "End data with <CR><LF>.<CR><LF>")
    }

    /// One line of message data, or a piece of an over-long one. Only `<CRLF>.<CRLF>` ends
    /// DATA, and a message holding a bare LF or a bare CR is refused whole when it ends: a
    /// receiver that took `<LF>.<CRLF>` as the end could be made to read the rest as a second,
    /// smuggled message (Postfix's `smtpd_forbid_bare_newline`, CVE-2023-51764).
    fn data_line(&mut self, line: &[u8]) -> Event {
        let at_start = self.data_at_line_start;
        let cr_pending = std::mem::take(&mut self.data_cr_pending);
        if cr_pending && !line.starts_with(b"\n") {
            self.data_bare_line_end = true;
        }
        // The common line, text then CRLF, is checked in one pass over its text.
        let plain =
            line.strip_suffix(b"\r\n").is_some_and(|text| !text.iter().any(|&byte| byte == b'\r' || byte == b'\n'));
        if !plain {
            for (at, &byte) in line.iter().enumerate() {
                let bare = match byte {
                    b'\r' => line.get(at + 1).is_some_and(|&next| next != b'\n'),
                    b'\n' => at.checked_sub(1).map_or(!cr_pending, |before| line[before] != b'\r'),
                    _ => false,
                };
                self.data_bare_line_end |= bare;
            }
        }
        self.data_cr_pending = line.ends_with(b"\r");
        self.data_at_line_start = line.ends_with(b"\r\n") || (cr_pending && line == b"\n");
        if at_start && line == b".\r\n" {
            return self.end_data();
        }
        // Dot-stuffing (RFC 5321 section 4.5.2).
        let line = if at_start && line.starts_with(b".") { &line[1..] } else { line };
        if self.data_too_big {
            return Event::Continue;
        }
        if self.data.len() + line.len() > self.limits.max_message_bytes {
            self.data_too_big = true;
            self.data = Vec::new();
            return Event::Continue;
        }
        self.data.extend_from_slice(line);
        Event::Continue
    }

    fn end_data(&mut self) -> Event {
        if self.data_bare_line_end {
            self.reset_transaction();
            return reply(
                554,
                "5.5.2 The message has a bare CR or LF; SMTP lines end in CRLF (RFC 5321). It was not delivered",
            );
        }
        if self.data_too_big {
            self.reset_transaction();
            return reply(
                552,
                format!("5.3.4 The message is larger than this server takes ({} bytes)", self.limits.max_message_bytes),
            );
        }
        self.state = State::Delivering;
        Event::Deliver(self.envelope.clone(), std::mem::take(&mut self.data))
    }

    /// The caller's answer to [`Event::Deliver`]: the id it stored the message under, or the
    /// reply to refuse it with (4xx: the client will try again; 5xx: it will not).
    pub fn delivered(&mut self, outcome: Result<String, Reply>) -> Reply {
        if self.state != State::Delivering {
            return Reply::new(451, "4.3.0 Internal ordering error, try again");
        }
        self.reset_transaction();
        match outcome {
            Ok(id) => Reply::new(250, format!("2.0.0 Ok: stored as {id}")),
            Err(refusal) => refusal,
        }
    }

    fn start_tls(&mut self, argument: &str) -> Event {
        if !self.can_start_tls || self.in_tls {
            return self.refuse(502, "5.5.1 STARTTLS is not available");
        }
        if !argument.is_empty() {
            return self.refuse(501, "5.5.4 STARTTLS takes no argument");
        }
        if matches!(self.state, State::Mail) {
            return self.refuse(503, "5.5.1 Finish or reset the transaction before STARTTLS");
        }
        Event::StartTls(Reply::new(220, "2.0.0 Ready to start TLS"))
    }

    /// TLS is up: the session starts over, and the client must greet again (RFC 3207).
    pub fn tls_started(&mut self) {
        self.in_tls = true;
        self.state = State::Fresh;
        self.reset_transaction();
    }
}

#[cfg(test)]
mod tests;
