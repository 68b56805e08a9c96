//! The message types: what the user writes, what the reader shows, what the list shows. They
//! carry no MIME code, so the crypto worker can hold them without the codec.

use serde::{Deserialize, Serialize};

/// The Subject the outer, unencrypted layer carries (RFC 9788's recommendation).
pub const PLACEHOLDER_SUBJECT: &str = "...";

/// Why composing or parsing failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MimeError {
    #[error("the message could not be written: {0}")]
    Write(String),
    #[error("the message could not be parsed")]
    Unparsable,
    #[error("the message is not PGP/MIME encrypted: {0}")]
    NotPgpMime(&'static str),
}

/// A name and an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

impl Mailbox {
    pub fn new(name: Option<&str>, address: &str) -> Self {
        Mailbox { name: name.map(str::to_owned), address: address.to_owned() }
    }
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    /// The Content-ID without angle brackets, for `cid:` references from the HTML body.
    pub content_id: Option<String>,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// What the user wrote, ready to become a message.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Draft {
    pub from: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    /// Written only in a saved draft, which is encrypted to its author alone. A message being
    /// sent leaves this empty: Bcc recipients are in the envelope, never in the message.
    pub bcc: Vec<Mailbox>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    /// Without angle brackets, e.g. `8d2f…@plico.example`.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// Unix seconds.
    pub date: i64,
}

/// The headers the outer layer shows: what delivery needs, and a placeholder Subject.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OuterHeaders {
    pub from: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub message_id: String,
    pub date: i64,
    /// The value of an `Autocrypt:` header ([`autocrypt_value`]), for mail that leaves Plico.
    pub autocrypt: Option<String>,
}

/// The value of an `Autocrypt:` header (Autocrypt Level 1) carrying `address`'s public key
/// (`keydata`, the binary certificate). The base64 comes in space-separated runs, where the
/// header writer folds the line; readers ignore the whitespace.
pub fn autocrypt_value(address: &str, keydata: &[u8]) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(keydata);
    let mut value = format!("addr={address}; prefer-encrypt=mutual; keydata=");
    for chunk in encoded.as_bytes().chunks(76) {
        value.push(' ');
        value.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    value
}

/// A message as the reader shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedMessage {
    pub subject: String,
    pub from: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    /// Only saved drafts have one.
    pub bcc: Vec<Mailbox>,
    /// Unix seconds.
    pub date: Option<i64>,
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    /// The links of the sanitised HTML body, for the reader to list: the sandboxed frame cannot
    /// open them itself.
    pub links: Vec<Link>,
    /// True when the root declares protected headers.
    pub protected_headers: bool,
    /// The sender's key from an `Autocrypt:` header (Level 1), when it carries a usable one.
    pub autocrypt: Option<AutocryptKey>,
    /// A `multipart/signed` message's signed part, byte for byte, and its detached signature
    /// (RFC 3156): what the client verifies with the sender's key.
    pub pgp_signed: Option<SignedPart>,
}

/// The two halves of a PGP/MIME signed message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedPart {
    /// The first part as a verifier hashes it.
    #[serde(with = "serde_bytes")]
    pub part: Vec<u8>,
    /// The armored detached signature.
    #[serde(with = "serde_bytes")]
    pub signature: Vec<u8>,
}

/// What an `Autocrypt:` header says: whose key, and the key (a binary certificate).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutocryptKey {
    pub address: String,
    pub keydata: Vec<u8>,
}

impl AutocryptKey {
    /// Reads a header value: `addr` and `keydata` are required; an unknown attribute not starting
    /// with `_` makes the header one to ignore, as Autocrypt Level 1 says.
    pub fn parse(value: &str) -> Option<AutocryptKey> {
        use base64::Engine;
        let (mut address, mut keydata) = (None, None);
        for attribute in value.split(';') {
            let (name, content) = attribute.split_once('=')?;
            match name.trim().to_ascii_lowercase().as_str() {
                "addr" => address = Some(content.trim().to_owned()),
                "keydata" => {
                    let compact: String = content.split_whitespace().collect();
                    keydata = Some(base64::engine::general_purpose::STANDARD.decode(compact).ok()?);
                }
                "prefer-encrypt" => {}
                other if other.starts_with('_') => {}
                _ => return None,
            }
        }
        Some(AutocryptKey { address: address?, keydata: keydata.filter(|k| !k.is_empty())? })
    }
}

/// What the message list shows, sealed per message so the list needs no full download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub subject: String,
    pub from: Option<Mailbox>,
    pub date: Option<i64>,
    pub snippet: String,
    pub has_attachments: bool,
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// The receiving server's `Authentication-Results` value (RFC 8601), unfolded: set only by
    /// Plico's SMTP ingest, in the summary it seals for mail from the Internet. The reader takes
    /// the verdict from here alone, and only on mail the server flagged as from the Internet:
    /// a header inside a message is the sender's to write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication_results: Option<String>,
    /// SHA-256 of the stored message (its blob's name), lowercase hex: binds the summary to its
    /// message, so a summary moved onto another message is not believed. Absent in summaries
    /// written before issue 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
}

/// Whether `raw` starts with a header field (`name:`, the name printable ASCII without
/// spaces): the least an RFC 5322 message must do, and what text that is not mail fails.
pub fn starts_with_header_field(raw: &[u8]) -> bool {
    let line = raw.split(|&byte| byte == b'\n').next().unwrap_or_default();
    match line.iter().position(|&byte| byte == b':') {
        Some(0) | None => false,
        Some(colon) => line[..colon].iter().all(|&byte| (33..=126).contains(&byte)),
    }
}

/// The longest snippet, in characters.
pub const SNIPPET_CHARS: usize = 140;

/// The first [`SNIPPET_CHARS`] characters of `text`, with runs of whitespace as one space.
pub fn snippet(text: &str) -> String {
    // Word by word until the snippet is full: a long body is not joined whole first.
    let mut snippet = String::with_capacity(SNIPPET_CHARS + 16);
    let mut chars = 0;
    for word in text.split_whitespace() {
        if chars >= SNIPPET_CHARS {
            break;
        }
        if chars > 0 {
            snippet.push(' ');
            chars += 1;
        }
        for c in word.chars().take(SNIPPET_CHARS.saturating_sub(chars)) {
            snippet.push(c);
            chars += 1;
        }
    }
    snippet
}

impl Draft {
    /// The summary of the message this draft becomes.
    pub fn summary(&self) -> Summary {
        Summary {
            subject: self.subject.clone(),
            from: self.from.clone(),
            date: Some(self.date),
            snippet: snippet(&self.text),
            has_attachments: !self.attachments.is_empty(),
            message_id: Some(self.message_id.clone()),
            in_reply_to: self.in_reply_to.iter().cloned().collect(),
            references: self.references.clone(),
            authentication_results: None,
            blob: None,
        }
    }
}

impl ParsedMessage {
    pub fn summary(&self) -> Summary {
        let snippet = snippet(&self.text);
        Summary {
            subject: self.subject.clone(),
            from: self.from.clone(),
            date: self.date,
            snippet,
            has_attachments: !self.attachments.is_empty(),
            message_id: self.message_id.clone(),
            in_reply_to: self.in_reply_to.clone(),
            references: self.references.clone(),
            authentication_results: None,
            blob: None,
        }
    }
}

/// A link in an HTML body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub href: String,
    pub text: String,
}

/// Does `html` name remote content (an http(s) image or a CSS `url(` to one)?
pub fn has_remote_content(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    lower.contains("src=\"http")
        || lower.contains("src='http")
        || lower.contains("url(http")
        || lower.contains("url(\"http")
        || lower.contains("url('http")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_collapse_whitespace_and_stop_at_the_limit() {
        assert_eq!(snippet("  Hi\r\n\tBob,  the   numbers\n"), "Hi Bob, the numbers");
        assert_eq!(snippet(""), "");
        let long = "word ".repeat(10_000);
        let expected: String =
            long.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(SNIPPET_CHARS).collect();
        assert_eq!(snippet(&long), expected);
        let one_long_word = "ä".repeat(500);
        assert_eq!(snippet(&one_long_word).chars().count(), SNIPPET_CHARS);
    }
}
