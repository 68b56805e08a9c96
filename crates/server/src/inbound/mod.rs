//! Mail from the Internet, as the SMTP listener hands it over: checked, encrypted to each
//! recipient's published key and stored durably before the listener may say 250.
//!
//! Architecture Invariant: the plaintext lives only in memory, for the time this module holds
//! it. What reaches the blob store is a PGP/MIME message whose outer headers carry delivery
//! metadata only (From, To, Cc, Date, Message-ID and a placeholder Subject), and what reaches
//! the database is a sealed summary. Nothing here logs a header or a byte of the message.
//!
//! The original message goes inside the encrypted part byte for byte (a Received line, and the
//! spam score's header when the account allows analysis, are put in front of it): its own
//! headers become the protected headers, and a signature it carries still verifies. Mail that
//! already arrives as PGP/MIME is stored as it came.
//!
//! Analysis is per account: where it is switched off, the spam score is not computed for that
//! recipient's copy, and the mail goes to the Inbox.

pub mod clamd;
pub mod group_commit;
pub mod rspamd;
pub mod sender_auth;
pub mod smtp;
pub mod spam;

use std::net::IpAddr;

use plico_api::mail::FolderRole;
use plico_mime::{starts_with_header_field, Mailbox, OuterHeaders, ParsedMessage, Summary};
use plico_smtp::{Envelope, Reply};

use crate::config::ServeConfig;
use crate::inbound::group_commit::{CommitError, Copy, CopyBlob, GroupCommit};
use crate::inbound::sender_auth::SenderAuth;
use crate::store::blobs::BlobStore;
use crate::store::Store;
use crate::AppState;

/// Inbound mail's handle in the shared state.
#[derive(Clone)]
pub struct Inbound {
    /// SPF, DKIM and DMARC on arrival; `None` with `--mail-auth-dns off`.
    pub sender_auth: Option<std::sync::Arc<SenderAuth>>,
    /// Where mail from outside is made durable, in batches (`group_commit.rs`).
    pub group_commit: GroupCommit,
}

impl Inbound {
    /// Starts the group commit's writer and opens the resolver the sender checks ask.
    pub fn start(
        config: &ServeConfig,
        store: Store,
        blobs: std::sync::Arc<dyn BlobStore>,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> Result<Inbound, String> {
        let sender_auth = SenderAuth::open(&config.mail_auth_dns)?;
        Ok(Inbound {
            sender_auth: sender_auth.map(std::sync::Arc::new),
            group_commit: GroupCommit::start(store, blobs, usize::from(config.smtp_commit_batch), metrics),
        })
    }

    /// The DNS resolver the sender checks use, for other lookups to share (`None` when they
    /// are off).
    pub fn resolver(&self) -> Option<mail_auth::hickory_resolver::TokioResolver> {
        self.sender_auth.as_ref().map(|auth| auth.resolver())
    }
}

/// Why a message was not taken: the SMTP reply says which kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The message itself is wrong; sending it again will not help (5xx).
    Malformed(String),
    /// Something on this side failed; the sender should try again later (4xx).
    Temporary(String),
    /// The virus scanner found this signature (5xx).
    Virus(String),
    /// rspamd advised rejecting it (5xx).
    Spam,
    /// A recipient's mailbox has no room for it (452 4.2.2: the sender tries again later).
    MailboxFull,
}

impl Refusal {
    pub fn reply(&self) -> Reply {
        match self {
            Refusal::Malformed(why) => Reply::new(554, format!("5.6.0 {why}")),
            Refusal::Temporary(why) => Reply::new(451, format!("4.3.0 {why}; try again later")),
            Refusal::Spam => Reply::new(554, "5.7.1 The message was refused as spam"),
            Refusal::MailboxFull => Reply::new(452, "4.2.2 A recipient's mailbox is full; try again later"),
            Refusal::Virus(name) => {
                Reply::new(554, format!("5.7.1 The message carries a virus ({name}); it was not delivered"))
            }
        }
    }
}

/// A message as the listener received it.
pub struct Arrival<'a> {
    pub envelope: &'a Envelope,
    pub peer: IpAddr,
    pub raw: &'a [u8],
}

/// The local part of `address` when its domain is this server's.
fn local_part<'a>(state: &AppState, address: &'a str) -> Option<&'a str> {
    let (local, domain) = address.rsplit_once('@')?;
    domain.eq_ignore_ascii_case(&state.config.domain).then_some(local)
}

/// Is `address` a mailbox here? Names are stored lowercase; a local part is matched without
/// regard to ASCII case, as people type addresses.
pub async fn check_recipient(state: &AppState, address: &str) -> plico_smtp::Recipient {
    use plico_smtp::Recipient as Verdict;
    let Some(local) = local_part(state, address) else { return Verdict::NotLocal };
    match state.store.account_by_name(&local.to_ascii_lowercase()).await {
        Ok(Some(row)) if row.is_active() && row.would_pass_quota(1, state.default_quota()) => Verdict::Full,
        Ok(Some(row)) if row.is_active() => Verdict::Accept,
        Ok(Some(_)) => Verdict::Disabled,
        Ok(None) => Verdict::UnknownUser,
        Err(error) => {
            tracing::warn!(%error, "smtp: recipient lookup failed");
            Verdict::TryLater
        }
    }
}

/// A recipient, as delivery needs it.
struct Recipient {
    account_id: i64,
    public_cert: Vec<u8>,
    analysis: bool,
}

/// Encrypts one copy of the message per recipient, then has the group commit store and file
/// them all (`group_commit.rs`). Returns the stored ids, for the SMTP reply.
pub async fn deliver(state: &AppState, arrival: &Arrival<'_>) -> Result<String, Refusal> {
    if !starts_with_header_field(arrival.raw) {
        return Err(Refusal::Malformed("The message does not start with a header field (RFC 5322)".into()));
    }
    let received_at = state.clock.now();
    let mut recipients = Vec::with_capacity(arrival.envelope.recipients.len());
    for address in &arrival.envelope.recipients {
        let local = local_part(state, address).unwrap_or_default().to_ascii_lowercase();
        let account = state
            .store
            .account_by_name(&local)
            .await
            .map_err(|_| Refusal::Temporary("The mailbox could not be looked up".into()))?
            .ok_or_else(|| Refusal::Temporary("A recipient's mailbox is gone".into()))?;
        // An encrypted copy is about a third larger than the message (armor).
        if account.would_pass_quota(arrival.raw.len() as u64 * 4 / 3, state.default_quota()) {
            return Err(Refusal::MailboxFull);
        }
        recipients.push(Recipient {
            account_id: account.id,
            public_cert: account.public_cert,
            analysis: account.mail_analysis,
        });
    }
    // The virus scan runs when clamd is configured and some recipient allows analysis: a
    // message is refused whole (SMTP cannot refuse it for some recipients after DATA).
    if let Some(clamd) = &state.config.clamd {
        if recipients.iter().any(|recipient| recipient.analysis) {
            match crate::inbound::clamd::scan(clamd, arrival.raw).await {
                Ok(crate::inbound::clamd::Scan::Clean) => {}
                Ok(crate::inbound::clamd::Scan::Infected(name)) => return Err(Refusal::Virus(name)),
                Err(error) => {
                    tracing::warn!(%error, "smtp: virus scan failed");
                    return Err(Refusal::Temporary("The virus scan is unavailable".into()));
                }
            }
        }
    }
    // rspamd, when configured: its "reject" refuses the message; otherwise its advice joins the
    // built-in score. When it cannot answer, the built-in score decides alone.
    let mut rspamd = None;
    if let Some(url) = &state.config.rspamd {
        // Only the recipients who allow analysis are named to rspamd (the envelope's order is
        // the order `recipients` was built in).
        let analysed: Vec<String> = arrival
            .envelope
            .recipients
            .iter()
            .zip(&recipients)
            .filter(|(_, recipient)| recipient.analysis)
            .map(|(address, _)| address.clone())
            .collect();
        if !analysed.is_empty() {
            let envelope = arrival.envelope;
            match crate::inbound::rspamd::check(
                url,
                arrival.peer,
                &envelope.helo,
                &envelope.from,
                &analysed,
                arrival.raw,
            )
            .await
            {
                Ok(check) if check.is_reject() => return Err(Refusal::Spam),
                Ok(check) => rspamd = Some(check),
                Err(error) => tracing::warn!(%error, "smtp: rspamd did not answer; the built-in score decides"),
            }
        }
    }
    // SPF, DKIM and DMARC: the results go on top of the message, inside the encryption; a DMARC
    // failure where the domain asks for quarantine or rejection files the mail as spam.
    let checked = match &state.inbound.sender_auth {
        Some(auth) => {
            let envelope = arrival.envelope;
            Some(auth.check(&state.config.domain, arrival.peer, &envelope.helo, &envelope.from, arrival.raw).await)
        }
        None => None,
    };
    let quarantine = checked.as_ref().is_some_and(|checked| checked.quarantine);
    // The verdict travels in the summary this server seals, where no sender can write; the
    // reader never believes an Authentication-Results header inside a message (issue 20).
    let auth_verdict = checked.as_ref().map(|checked| unfolded_header_value(&checked.header));
    let trace = format!(
        "{}Received: from {} ([{}])\r\n\tby {} (Plico) with ESMTP;\r\n\t{}\r\n",
        checked.map(|checked| checked.header).unwrap_or_default(),
        sanitize_trace(&arrival.envelope.helo),
        arrival.peer,
        state.config.domain,
        plico_mime::format_date(received_at),
    );
    let raw = arrival.raw.to_vec();
    let blobs = state.blobs.clone();
    let copies = tokio::task::spawn_blocking(move || -> Result<Vec<Copy>, Refusal> {
        let prepared = prepare(&raw, &trace, received_at, auth_verdict)?;
        drop(raw);
        // A large copy goes to the blob store as soon as it is made, so that memory holds one
        // copy at a time, not one per recipient; mail already encrypted is one blob for all.
        let mut shared: Option<(String, u64)> = None;
        let keep = |message: Vec<u8>| -> Result<CopyBlob, Refusal> {
            if message.len() <= crate::inbound::group_commit::MAX_INLINE_BYTES {
                return Ok(CopyBlob::Bytes(message));
            }
            let size = message.len() as u64;
            let hash = blobs.put(&message).map_err(|_| Refusal::Temporary("The message could not be stored".into()))?;
            Ok(CopyBlob::Stored { hash, size })
        };
        // Scored once, and only if some recipient allows it.
        let verdict = match &prepared {
            Prepared::Plain { parsed, .. } if recipients.iter().any(|r| r.analysis) => {
                let mut verdict = crate::inbound::spam::score(parsed);
                verdict.rspamd = rspamd;
                Some(verdict)
            }
            _ => None,
        };
        let mut copies = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            let cert = plico_pgp::parse_cert(&recipient.public_cert)
                .map_err(|_| Refusal::Temporary("A recipient's key could not be read".into()))?;
            let verdict = verdict.as_ref().filter(|_| recipient.analysis);
            let (blob, sealed_summary) = match &shared {
                Some((hash, size)) => {
                    (CopyBlob::Stored { hash: hash.clone(), size: *size }, prepared.seal_summary(&cert, hash)?)
                }
                None => {
                    let (message, sealed_summary) = prepared.seal_for(&cert, verdict)?;
                    let blob = keep(message)?;
                    if let (Prepared::Encrypted { .. }, CopyBlob::Stored { hash, size }) = (&prepared, &blob) {
                        shared = Some((hash.clone(), *size));
                    }
                    (blob, sealed_summary)
                }
            };
            let spam = quarantine || verdict.is_some_and(crate::inbound::spam::Verdict::is_spam);
            copies.push(Copy {
                account_id: recipient.account_id,
                folder: if spam { FolderRole::Spam } else { FolderRole::Inbox },
                blob,
                sealed_summary,
            });
        }
        Ok(copies)
    })
    .await
    .map_err(|_| Refusal::Temporary("The message could not be processed".into()))??;
    file_copies(state, copies, received_at).await
}

/// Files a message this server wrote itself (a delivery status report) in one account's
/// Inbox, encrypted to the account's key exactly as mail from outside is, without the checks
/// that mail from outside needs.
pub async fn file_report(
    state: &AppState,
    account_id: i64,
    public_cert: &[u8],
    raw: Vec<u8>,
) -> Result<String, Refusal> {
    let received_at = state.clock.now();
    let public_cert = public_cert.to_vec();
    let copy = tokio::task::spawn_blocking(move || -> Result<Copy, Refusal> {
        let prepared = prepare(&raw, "", received_at, None)?;
        let cert = plico_pgp::parse_cert(&public_cert)
            .map_err(|_| Refusal::Temporary("The account's key could not be read".into()))?;
        let (blob, sealed_summary) = prepared.seal_for(&cert, None)?;
        Ok(Copy { account_id, folder: FolderRole::Inbox, blob: CopyBlob::Bytes(blob), sealed_summary })
    })
    .await
    .map_err(|_| Refusal::Temporary("The report could not be processed".into()))??;
    file_copies(state, vec![copy], received_at).await
}

/// Stores and files every copy through the group commit: durable, or a 4xx.
async fn file_copies(state: &AppState, copies: Vec<Copy>, received_at: i64) -> Result<String, Refusal> {
    match state.inbound.group_commit.commit(copies, received_at).await {
        Ok(ids) => Ok(ids.join(",")),
        Err(CommitError::Blobs) => Err(Refusal::Temporary("The message could not be stored".into())),
        Err(CommitError::Database) => Err(Refusal::Temporary("The message could not be filed".into())),
        Err(CommitError::Stopped) => Err(Refusal::Temporary("The server is stopping".into())),
    }
}

/// Does the header section of `raw` mention `multipart/encrypted` (any case)? A cheap test
/// before the PGP/MIME unwrap parses the message again.
fn names_multipart_encrypted(raw: &[u8]) -> bool {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").or_else(|| raw.windows(2).position(|w| w == b"\n\n"));
    let headers = &raw[..end.unwrap_or(raw.len())];
    headers.windows(19).any(|window| window.eq_ignore_ascii_case(b"multipart/encrypted"))
}

/// A HELO name as it may appear in a trace header: printable ASCII, no parentheses, bounded.
fn sanitize_trace(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_graphic() && !"()".contains(*c)).take(255).collect()
}

/// The parts of a message every recipient's copy is made from.
enum Prepared {
    /// Plaintext: encrypted per recipient with this inner message and summary.
    Plain { trace: String, raw: Vec<u8>, parsed: Box<ParsedMessage>, outer: OuterHeaders, summary: Summary },
    /// Already PGP/MIME encrypted by the sender: stored as it came.
    Encrypted { message: Vec<u8>, summary: Summary },
}

/// The value of a `Name: value\r\n` header with its folding undone.
fn unfolded_header_value(header: &str) -> String {
    let value = header.split_once(':').map_or(header, |(_, value)| value);
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `verdict` is this server's Authentication-Results value for the message, when it checked.
fn prepare(raw: &[u8], trace: &str, received_at: i64, verdict: Option<String>) -> Result<Prepared, Refusal> {
    let parsed = plico_mime::parse(raw)
        .map_err(|_| Refusal::Malformed("The message could not be parsed as an RFC 5322 message".into()))?;
    // Parsed a second time only when its header section names multipart/encrypted at all.
    let already_encrypted = names_multipart_encrypted(raw)
        && plico_mime::unwrap_pgp_mime(raw)
            .ok()
            .is_some_and(|payload| plico_pgp::check_encrypted_message_from_others(&payload).is_ok());
    if already_encrypted {
        let summary = Summary {
            subject: String::new(),
            from: parsed.from.clone(),
            date: parsed.date.or(Some(received_at)),
            snippet: "Encrypted by the sender.".into(),
            has_attachments: false,
            message_id: parsed.message_id.clone(),
            in_reply_to: Vec::new(),
            references: Vec::new(),
            authentication_results: verdict,
            blob: None,
        };
        return Ok(Prepared::Encrypted { message: raw.to_vec(), summary });
    }
    let mut summary = parsed.summary();
    summary.date = summary.date.or(Some(received_at));
    summary.authentication_results = verdict;
    let outer = OuterHeaders {
        from: parsed.from.clone().or_else(|| Some(Mailbox::new(None, "unknown-sender@invalid"))),
        to: parsed.to.clone(),
        cc: parsed.cc.clone(),
        message_id: parsed.message_id.clone().unwrap_or_default(),
        date: parsed.date.unwrap_or(received_at),
        autocrypt: None,
    };
    Ok(Prepared::Plain { trace: trace.to_owned(), raw: raw.to_vec(), parsed: Box::new(parsed), outer, summary })
}

impl Prepared {
    /// One recipient's stored message and sealed summary, which names the message's blob.
    fn seal_for(
        &self,
        cert: &plico_pgp::Certificate,
        verdict: Option<&crate::inbound::spam::Verdict>,
    ) -> Result<(Vec<u8>, Vec<u8>), Refusal> {
        let failed = |_| Refusal::Temporary("The message could not be encrypted".into());
        let recipients = std::slice::from_ref(cert);
        let message = match self {
            Prepared::Plain { trace, raw, outer, .. } => {
                let spam_header = verdict.map(crate::inbound::spam::Verdict::header).unwrap_or_default();
                let mut inner = Vec::with_capacity(trace.len() + spam_header.len() + raw.len());
                inner.extend_from_slice(trace.as_bytes());
                inner.extend_from_slice(spam_header.as_bytes());
                inner.extend_from_slice(raw);
                let armored = plico_pgp::encrypt_to(&inner, recipients).map_err(failed)?;
                let armored = String::from_utf8(armored)
                    .map_err(|_| Refusal::Temporary("The message could not be encrypted".into()))?;
                plico_mime::wrap_pgp_mime(outer, &armored)
                    .map_err(|_| Refusal::Temporary("The message could not be wrapped".into()))?
            }
            Prepared::Encrypted { message, .. } => message.clone(),
        };
        let summary = self.seal_summary(cert, &crate::store::blobs::blob_hash(&message))?;
        Ok((message, summary))
    }

    /// One recipient's sealed summary, naming the blob its message is stored as.
    fn seal_summary(&self, cert: &plico_pgp::Certificate, blob: &str) -> Result<Vec<u8>, Refusal> {
        let summary = Summary { blob: Some(blob.to_owned()), ..self.summary().clone() };
        let summary =
            serde_json::to_vec(&summary).map_err(|_| Refusal::Temporary("The summary could not be written".into()))?;
        plico_pgp::encrypt_to(&summary, std::slice::from_ref(cert))
            .map_err(|_| Refusal::Temporary("The message could not be encrypted".into()))
    }

    fn summary(&self) -> &Summary {
        match self {
            Prepared::Plain { summary, .. } | Prepared::Encrypted { summary, .. } => summary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_must_start_with_a_header_field() {
        assert!(starts_with_header_field(b"Subject: hi\r\n\r\nbody"));
        assert!(starts_with_header_field(b"X-Odd-Name!: v\r\n"));
        assert!(!starts_with_header_field(b"hello there\r\n"));
        assert!(!starts_with_header_field(b": no name\r\n"));
        assert!(!starts_with_header_field(b""));
        assert!(!starts_with_header_field(b"Sub ject: x\r\n"));
    }

    #[test]
    fn only_a_header_section_naming_multipart_encrypted_is_unwrapped() {
        assert!(names_multipart_encrypted(b"Content-Type: Multipart/Encrypted; protocol=x\r\n\r\nbody"));
        assert!(names_multipart_encrypted(b"Content-Type:\r\n multipart/encrypted\n\nbody"));
        assert!(!names_multipart_encrypted(b"Subject: hi\r\n\r\nmultipart/encrypted in the body"));
        assert!(!names_multipart_encrypted(b""));
    }

    #[test]
    fn a_verdict_header_is_unfolded_into_its_value() {
        assert_eq!(
            unfolded_header_value(
                "Authentication-Results: plico.test;\r\n\tspf=pass smtp.mailfrom=a@b;\r\n\tdmarc=none\r\n"
            ),
            "plico.test; spf=pass smtp.mailfrom=a@b; dmarc=none"
        );
    }

    #[test]
    fn trace_names_lose_what_could_break_the_header() {
        assert_eq!(sanitize_trace("mail.example.org"), "mail.example.org");
        assert_eq!(sanitize_trace("evil\r\nBcc: x (y)"), "evilBcc:xy");
    }
}
