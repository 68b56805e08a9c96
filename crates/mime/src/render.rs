//! The render worker's protocol. The crypto worker asks, the render worker (MIME codec and HTML
//! sanitiser, loaded only when mail is opened or written) answers. Both ends are Rust, so the
//! messages travel as postcard bytes in a transferred `ArrayBuffer`: a 25 MiB attachment is not
//! worth a JSON array of numbers.

use serde::{Deserialize, Serialize};

use crate::{Draft, OuterHeaders, ParsedMessage};

/// What the render worker can do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RenderCommand {
    /// [`crate::compose_inner`].
    Compose(Box<Draft>),
    /// [`crate::compose_signed_part`].
    ComposeSigned(Box<Draft>),
    /// [`crate::wrap_pgp_mime`].
    Wrap { outer: Box<OuterHeaders>, armored: String },
    /// [`crate::wrap_signed`].
    WrapSigned {
        outer: Box<OuterHeaders>,
        subject: String,
        #[serde(with = "serde_bytes")]
        signed: Vec<u8>,
        signature: String,
    },
    /// [`crate::unwrap_pgp_mime`].
    Unwrap(#[serde(with = "serde_bytes")] Vec<u8>),
    /// [`crate::parse`], then, when `sanitize` is set, the HTML body through the sanitiser
    /// (`cid:` images become `data:` URIs).
    Parse {
        #[serde(with = "serde_bytes")]
        message: Vec<u8>,
        sanitize: bool,
    },
}

/// A command with the id its answer carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenderRequest {
    pub id: u32,
    pub command: RenderCommand,
}

/// What a command produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RenderOutcome {
    Bytes(#[serde(with = "serde_bytes")] Vec<u8>),
    Parsed(Box<ParsedMessage>),
}

/// The answer to one request; the error is a sentence for the user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RenderReply {
    pub id: u32,
    pub result: Result<RenderOutcome, String>,
}

/// Runs a command here, in this thread: what the render worker does, and what native code and
/// tests do instead of asking a worker.
#[cfg(feature = "codec")]
pub fn run(command: RenderCommand) -> Result<RenderOutcome, String> {
    match command {
        RenderCommand::Compose(draft) => crate::compose_inner(&draft).map(RenderOutcome::Bytes),
        RenderCommand::ComposeSigned(draft) => crate::compose_signed_part(&draft).map(RenderOutcome::Bytes),
        RenderCommand::Wrap { outer, armored } => crate::wrap_pgp_mime(&outer, &armored).map(RenderOutcome::Bytes),
        RenderCommand::WrapSigned { outer, subject, signed, signature } => {
            crate::wrap_signed(&outer, &subject, &signed, &signature).map(RenderOutcome::Bytes)
        }
        RenderCommand::Unwrap(message) => crate::unwrap_pgp_mime(&message).map(RenderOutcome::Bytes),
        RenderCommand::Parse { message, sanitize } => crate::parse(&message).map(|mut parsed| {
            if sanitize {
                sanitize_parsed(&mut parsed);
            }
            RenderOutcome::Parsed(Box::new(parsed))
        }),
    }
    .map_err(|error| error.to_string())
}

#[cfg(all(feature = "codec", feature = "sanitize"))]
fn sanitize_parsed(parsed: &mut ParsedMessage) {
    if let Some(html) = parsed.html.take() {
        let clean = crate::sanitize::clean(&html, &parsed.attachments);
        parsed.html = Some(clean.html);
        parsed.links = clean.links;
    }
}

/// Without the sanitiser, HTML never leaves: the reader shows the text part.
#[cfg(all(feature = "codec", not(feature = "sanitize")))]
fn sanitize_parsed(parsed: &mut ParsedMessage) {
    parsed.html = None;
}
