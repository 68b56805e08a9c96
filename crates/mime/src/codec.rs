//! The MIME codec: mail-builder writes, mail-parser reads. Only the render worker and native
//! code link it; the crypto worker reaches it through the render worker.

use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::message_id::MessageId;
use mail_builder::mime::MimePart;
use mail_builder::MessageBuilder;
use mail_parser::{MessageParser, MimeHeaders};

use crate::types::*;

fn mailbox(mailbox: &Mailbox) -> Address<'_> {
    Address::new_address(mailbox.name.as_deref(), mailbox.address.as_str())
}

/// A multipart boundary derived from the message's random Message-ID. mail-builder would
/// otherwise make one from the system clock, which panics in the browser; and the `=_` prefix
/// can never occur in quoted-printable or base64 content.
fn boundary(message_id: &str, part: &str) -> String {
    let token: String = message_id.chars().filter(char::is_ascii_alphanumeric).take(40).collect();
    format!("=_plico_{part}_{token}")
}

fn address_list(mailboxes: &[Mailbox]) -> Address<'_> {
    Address::new_list(mailboxes.iter().map(mailbox).collect())
}

/// Writes the inner, to-be-encrypted message. Bcc is written only when the draft carries it,
/// which only a saved draft (encrypted to its author alone) does: recipients must not learn of
/// each other through it.
pub fn compose_inner(draft: &Draft) -> Result<Vec<u8>, MimeError> {
    compose(draft, "cipher")
}

/// Writes the part a `multipart/signed` message signs: the same message, its headers marked as
/// protected by a signature only (`hp="clear"`, not `"cipher"`).
pub fn compose_signed_part(draft: &Draft) -> Result<Vec<u8>, MimeError> {
    compose(draft, "clear")
}

fn compose(draft: &Draft, protection: &str) -> Result<Vec<u8>, MimeError> {
    let text = MimePart::new("text/plain", draft.text.as_str());
    let body = match &draft.html {
        Some(html) => MimePart::new(
            ContentType::new("multipart/alternative").attribute("boundary", boundary(&draft.message_id, "alt")),
            vec![text, MimePart::new("text/html", html.as_str())],
        ),
        None => text,
    };
    let mut parts = vec![body];
    for attachment in &draft.attachments {
        parts.push(
            MimePart::new(ContentType::new(attachment.content_type.as_str()), attachment.data.as_slice())
                .attachment(attachment.file_name.as_str()),
        );
    }
    let root = ContentType::new("multipart/mixed")
        .attribute("boundary", boundary(&draft.message_id, "mixed"))
        .attribute("protected-headers", "v1")
        .attribute("hp", protection);
    let mut builder = MessageBuilder::new()
        .subject(draft.subject.as_str())
        .message_id(draft.message_id.as_str())
        .date(draft.date)
        .body(MimePart::new(root, parts));
    if let Some(from) = &draft.from {
        builder = builder.from(mailbox(from));
    }
    if !draft.to.is_empty() {
        builder = builder.to(address_list(&draft.to));
    }
    if !draft.bcc.is_empty() {
        builder = builder.bcc(address_list(&draft.bcc));
    }
    if !draft.cc.is_empty() {
        builder = builder.cc(address_list(&draft.cc));
    }
    if let Some(parent) = &draft.in_reply_to {
        builder = builder.in_reply_to(parent.as_str());
    }
    if !draft.references.is_empty() {
        let references: Vec<&str> = draft.references.iter().map(String::as_str).collect();
        builder = builder.references(MessageId::new_list(references.iter().copied()));
    }
    builder.write_to_vec().map_err(|error| MimeError::Write(error.to_string()))
}

/// Wraps an ASCII-armored OpenPGP message as `multipart/encrypted` (RFC 3156).
pub fn wrap_pgp_mime(outer: &OuterHeaders, armored_ciphertext: &str) -> Result<Vec<u8>, MimeError> {
    let control = MimePart::new("application/pgp-encrypted", "Version: 1\r\n")
        .header("Content-Description", mail_builder::headers::text::Text::new("PGP/MIME version identification"));
    // The armor is 7-bit text; saying so (with CRLF line ends, as mail-builder would write them)
    // spares mail-builder's encoding detection, which looked at each byte of the ciphertext and
    // wrote it a byte at a time: most of the cost of wrapping a large message.
    let payload = MimePart::new(
        ContentType::new("application/octet-stream").attribute("name", "encrypted.asc"),
        crlf_lines(armored_ciphertext),
    )
    .transfer_encoding("7bit")
    .inline()
    .header("Content-Description", mail_builder::headers::text::Text::new("OpenPGP encrypted message"));
    let root = ContentType::new("multipart/encrypted")
        .attribute("boundary", boundary(&outer.message_id, "encrypted"))
        .attribute("protocol", "application/pgp-encrypted");
    let builder = MessageBuilder::new()
        .subject(PLACEHOLDER_SUBJECT)
        .message_id(outer.message_id.as_str())
        .date(outer.date)
        .body(MimePart::new(root, vec![control, payload]));
    write_with_outer(builder, outer)
}

/// `text` with every bare LF made CRLF.
fn crlf_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 32 + 2);
    let mut rest = text;
    while let Some(newline) = rest.find('\n') {
        let line = &rest[..newline];
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push_str("\r\n");
        rest = &rest[newline + 1..];
    }
    out.push_str(rest);
    out
}

/// Adds the outer headers (From, To, Cc, Autocrypt) and writes the message.
fn write_with_outer<'a>(mut builder: MessageBuilder<'a>, outer: &'a OuterHeaders) -> Result<Vec<u8>, MimeError> {
    if let Some(from) = &outer.from {
        builder = builder.from(mailbox(from));
    }
    if !outer.to.is_empty() {
        builder = builder.to(address_list(&outer.to));
    }
    if !outer.cc.is_empty() {
        builder = builder.cc(address_list(&outer.cc));
    }
    if let Some(autocrypt) = &outer.autocrypt {
        builder = builder.header("Autocrypt", mail_builder::headers::raw::Raw::new(autocrypt.as_str()));
    }
    builder.write_to_vec().map_err(|error| MimeError::Write(error.to_string()))
}

/// Wraps a MIME entity and its detached signature as `multipart/signed` (RFC 3156): mail to
/// someone whose key is unknown. `signed` goes in byte for byte: it is what the signature
/// covers (the part's content up to the CRLF that belongs to the next boundary, RFC 2046
/// section 5.1.1), so it must be 7-bit CRLF text, as [`compose_inner`] writes it. The outer
/// headers carry the real Subject, since nothing here is encrypted.
pub fn wrap_signed(
    outer: &OuterHeaders,
    subject: &str,
    signed: &[u8],
    armored_signature: &str,
) -> Result<Vec<u8>, MimeError> {
    if !signed.is_ascii() {
        return Err(MimeError::Write("the signed part must be 7-bit text".into()));
    }
    let signature = MimePart::new(
        ContentType::new("application/pgp-signature").attribute("name", "signature.asc"),
        armored_signature,
    )
    .header("Content-Description", mail_builder::headers::text::Text::new("OpenPGP digital signature"));
    let root = ContentType::new("multipart/signed")
        .attribute("boundary", boundary(&outer.message_id, "signed"))
        .attribute("micalg", "pgp-sha256")
        .attribute("protocol", "application/pgp-signature");
    let builder = MessageBuilder::new()
        .subject(subject)
        .message_id(outer.message_id.as_str())
        .date(outer.date)
        .body(MimePart::new(root, vec![MimePart::raw(signed), signature]));
    write_with_outer(builder, outer)
}

/// The first part of a `multipart/signed` message, exactly as a verifier must hash it, and the
/// armored signature of its second part.
pub fn unwrap_signed(message: &[u8]) -> Result<(Vec<u8>, Vec<u8>), MimeError> {
    let parsed = MessageParser::new().parse(message).ok_or(MimeError::Unparsable)?;
    let root = parsed.parts.first().ok_or(MimeError::NotPgpMime("it is not multipart/signed"))?;
    let boundary = root
        .content_type()
        .filter(|ct| {
            ct.ctype().eq_ignore_ascii_case("multipart")
                && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("signed"))
        })
        .and_then(|ct| ct.attribute("boundary"))
        .ok_or(MimeError::NotPgpMime("it is not multipart/signed"))?;
    let delimiter = format!("\r\n--{boundary}");
    let find = |haystack: &[u8], from: usize| {
        haystack[from..].windows(delimiter.len()).position(|w| w == delimiter.as_bytes()).map(|at| at + from)
    };
    let first = find(message, 0).ok_or(MimeError::NotPgpMime("it is not multipart/signed"))?;
    let start = message[first + delimiter.len()..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|at| first + delimiter.len() + at + 2)
        .ok_or(MimeError::NotPgpMime("it is not multipart/signed"))?;
    let end = find(message, start).ok_or(MimeError::NotPgpMime("it is not multipart/signed"))?;
    let signature = parsed
        .parts
        .iter()
        .find(|part| part.content_type().is_some_and(|ct| ct.subtype() == Some("pgp-signature")))
        .map(|part| part.contents().to_vec())
        .ok_or(MimeError::NotPgpMime("it is not multipart/signed"))?;
    Ok((message[start..end].to_vec(), signature))
}

/// Takes the OpenPGP message out of a PGP/MIME message.
pub fn unwrap_pgp_mime(message: &[u8]) -> Result<Vec<u8>, MimeError> {
    let parsed = MessageParser::default().parse(message).ok_or(MimeError::Unparsable)?;
    let root = parsed.content_type().ok_or(MimeError::NotPgpMime("it has no Content-Type"))?;
    let is_encrypted = root.ctype().eq_ignore_ascii_case("multipart")
        && root.subtype().is_some_and(|subtype| subtype.eq_ignore_ascii_case("encrypted"))
        && root
            .attribute("protocol")
            .is_some_and(|protocol| protocol.eq_ignore_ascii_case("application/pgp-encrypted"));
    if !is_encrypted {
        return Err(MimeError::NotPgpMime("its root is not multipart/encrypted with the OpenPGP protocol"));
    }
    let payload = parsed
        .parts
        .iter()
        .skip(1)
        .find(|part| {
            part.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("application")
                    && ct.subtype().is_some_and(|subtype| subtype.eq_ignore_ascii_case("octet-stream"))
            })
        })
        .ok_or(MimeError::NotPgpMime("it has no application/octet-stream part"))?;
    Ok(payload.contents().to_vec())
}

fn mailboxes(address: Option<&mail_parser::Address<'_>>) -> Vec<Mailbox> {
    address
        .map(|address| {
            address
                .iter()
                .filter_map(|addr| {
                    addr.address()
                        .map(|email| Mailbox { name: addr.name().map(str::to_owned), address: email.to_owned() })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn id_list(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    value.as_text_list().map(|ids| ids.iter().map(|id| id.to_string()).collect()).unwrap_or_default()
}

/// Parses a message (the inner one, once decrypted, or any RFC 5322 message).
pub fn parse(message: &[u8]) -> Result<ParsedMessage, MimeError> {
    let parsed = MessageParser::default().parse(message).ok_or(MimeError::Unparsable)?;
    let protected_headers = parsed
        .content_type()
        .is_some_and(|ct| ct.attribute("protected-headers").is_some() || ct.attribute("hp").is_some());
    let attachments = parsed
        .attachments()
        .map(|part| Attachment {
            file_name: part.attachment_name().unwrap_or("attachment").to_owned(),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(subtype) => format!("{}/{}", ct.ctype(), subtype),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".into()),
            content_id: part.content_id().map(|id| id.trim_matches(['<', '>']).to_owned()),
            data: part.contents().to_vec(),
        })
        .collect();
    Ok(ParsedMessage {
        subject: parsed.subject().unwrap_or("").to_owned(),
        from: mailboxes(parsed.from()).into_iter().next(),
        to: mailboxes(parsed.to()),
        cc: mailboxes(parsed.cc()),
        bcc: mailboxes(parsed.bcc()),
        date: parsed.date().map(|date| date.to_timestamp()),
        message_id: parsed.message_id().map(str::to_owned),
        in_reply_to: id_list(parsed.in_reply_to()),
        references: id_list(parsed.references()),
        text: parsed.body_text(0).map(|text| text.into_owned()).unwrap_or_default(),
        html: parsed.body_html(0).map(|html| html.into_owned()).filter(|_| {
            parsed.html_body.iter().any(|&i| {
                parsed.parts.get(i as usize).is_some_and(|part| matches!(part.body, mail_parser::PartType::Html(_)))
            })
        }),
        attachments,
        links: Vec::new(),
        protected_headers,
        autocrypt: parsed.header_raw("Autocrypt").and_then(AutocryptKey::parse),
        pgp_signed: parsed
            .content_type()
            .filter(|ct| {
                ct.ctype().eq_ignore_ascii_case("multipart")
                    && ct.subtype().is_some_and(|subtype| subtype.eq_ignore_ascii_case("signed"))
                    && ct.attribute("protocol").is_some_and(|p| p.eq_ignore_ascii_case("application/pgp-signature"))
            })
            .and_then(|_| unwrap_signed(message).ok())
            .map(|(part, signature)| SignedPart { part, signature }),
    })
}

/// A date as RFC 5322 writes it ("Tue, 24 Nov 2026 15:40:00 +0000"), for trace headers.
pub fn format_date(unix_seconds: i64) -> String {
    mail_builder::headers::date::Date::new(unix_seconds).to_rfc822()
}
