//! Sending and reading mail between Plico users, as the worker does it.
//!
//! Sending: every recipient's key comes from the key directory (an unknown recipient stops the
//! send before anything is uploaded); the inner message is composed, signed and encrypted to
//! every recipient and to the sender, wrapped as PGP/MIME, uploaded, and delivered. Reading:
//! the summary opens first (it names the sender, whose key then verifies the signature), then
//! the message itself is downloaded, unwrapped, decrypted, verified and parsed.
//!
//! The MIME work goes through a [`Renderer`]: in the browser that is the render worker (the
//! MIME codec and the HTML sanitiser, loaded when mail is first opened or written, so the crypto
//! worker stays inside its download budget); natively it is [`LocalRenderer`], the same code in
//! this thread.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use plico_api::mail::{DraftVersion, MessageMeta, SendReceipt, SendRequest, StoredBlob};
use plico_api::PublicKey;
use plico_mime::render::{RenderCommand, RenderOutcome};
use plico_mime::{Attachment, Draft, Mailbox, OuterHeaders, ParsedMessage, Summary};
use plico_pgp::{Certificate, SignatureStatus};
use rand::RngCore;

use crate::flows::{
    answer, call, call_json, call_json_once, BlobUse, FlowError, Transport, TransportBody, UnlockedSession,
};
use crate::keyring::KeySource;
use plico_api::worker::WorkerStage;

/// A message the user wants to send.
#[derive(Debug, Clone, Default)]
pub struct Outgoing {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// The draft this message was written in.
    pub draft_id: Option<String>,
    /// The user was told that mail to outside recipients without a known key is not end-to-end
    /// encrypted, and sends it anyway (signed).
    pub send_unencrypted: bool,
    /// The send's idempotency key: a send tried again under it (its answer was lost) is not
    /// sent twice. A new one each time when `None`.
    pub idempotency_key: Option<String>,
}

fn crypto(error: impl std::fmt::Display) -> FlowError {
    FlowError::Crypto(error.to_string())
}

/// Where MIME work runs.
#[allow(async_fn_in_trait)]
pub trait Renderer {
    async fn render(&self, command: RenderCommand) -> Result<RenderOutcome, String>;
}

/// MIME work in this thread.
#[cfg(feature = "local-render")]
pub struct LocalRenderer;

#[cfg(feature = "local-render")]
impl Renderer for LocalRenderer {
    async fn render(&self, command: RenderCommand) -> Result<RenderOutcome, String> {
        plico_mime::render::run(command)
    }
}

async fn render_bytes<R: Renderer>(renderer: &R, command: RenderCommand) -> Result<Vec<u8>, FlowError> {
    match renderer.render(command).await.map_err(FlowError::Crypto)? {
        RenderOutcome::Bytes(bytes) => Ok(bytes),
        RenderOutcome::Parsed(_) => Err(FlowError::Protocol("the render worker answered out of turn".into())),
    }
}

async fn render_parsed<R: Renderer>(
    renderer: &R,
    message: Vec<u8>,
    sanitize: bool,
) -> Result<ParsedMessage, FlowError> {
    match renderer.render(RenderCommand::Parse { message, sanitize }).await.map_err(FlowError::Crypto)? {
        RenderOutcome::Parsed(parsed) => Ok(*parsed),
        RenderOutcome::Bytes(_) => Err(FlowError::Protocol("the render worker answered out of turn".into())),
    }
}

/// The published certificate of `address`, or `None` when nobody by that address has one.
pub async fn fetch_cert<T: Transport>(transport: &T, address: &str) -> Result<Option<Certificate>, FlowError> {
    let path = format!("/keys/{}", address.trim());
    match call_json::<T, (), PublicKey>(transport, "GET", &path, None).await {
        Ok(key) => plico_pgp::parse_cert(key.public_cert.as_bytes()).map(Some).map_err(crypto),
        Err(FlowError::Api { status: 404, .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The key of someone on another server, from their domain's key directory (WKD): looked up by
/// this device when the transport can (the browser, straight from the domain when its CORS
/// allows), else by the server. `None` when their domain publishes none (or cannot be asked). A
/// key counts only with a User ID naming the address (WKD files a key under a hash of the local
/// part, which anyone publishing there could put another key under).
pub async fn fetch_outside_cert<T: Transport>(transport: &T, address: &str) -> Result<Option<Certificate>, FlowError> {
    let address = address.trim();
    let cert = transport.outside_key(address).await?.and_then(|bytes| plico_pgp::parse_cert(&bytes).ok());
    Ok(cert.filter(|cert| plico_pgp::user_id_addresses(cert).iter().any(|named| named.eq_ignore_ascii_case(address))))
}

/// Keeps `keys`, each the first seen for its address (a kept key is not replaced: see
/// `Keyring::upsert`).
async fn keep_first_seen<T: Transport>(
    transport: &T,
    session: &UnlockedSession,
    keys: &[crate::keyring::OutsideKey],
) -> Result<(), FlowError> {
    if !keys.is_empty() {
        crate::keyring::update(transport, session, &|keyring| {
            let mut added = false;
            for key in keys {
                added |= keyring.upsert(key.clone());
            }
            added
        })
        .await?;
    }
    Ok(())
}

/// Which of `addresses` have a key: kept in the keyring, or found now, in Plico's directory for an
/// address at this server or at the address's domain (WKD) for another; a key found now is kept
/// as the first seen for its address. The composer asks once typing has paused on whole
/// addresses, and a contact's "Look up key" asks for one; a lookup that fails (offline, no such
/// domain) leaves the address without a key.
pub async fn known_keys<T: Transport>(
    transport: &T,
    session: &UnlockedSession,
    addresses: &[String],
    now: i64,
) -> Result<Vec<String>, FlowError> {
    let (keyring, _) = crate::keyring::load(transport, session).await?;
    let domain = domain_of(session);
    let mut known = Vec::new();
    let mut found = Vec::new();
    for address in addresses {
        if keyring.find(address).is_none() {
            let address = address.trim();
            let here = address.rsplit_once('@').is_some_and(|(_, at)| at.eq_ignore_ascii_case(&domain));
            let (cert, source) = if here {
                (fetch_cert(transport, address).await, KeySource::Directory)
            } else {
                (fetch_outside_cert(transport, address).await, KeySource::Wkd)
            };
            let Some(cert) = cert.ok().flatten() else { continue };
            found.push(crate::keyring::kept_key(address, &cert, source, now)?);
        }
        known.push(address.clone());
    }
    keep_first_seen(transport, session, &found).await?;
    Ok(known)
}

fn random_message_id(domain: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let id: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{id}@{domain}")
}

/// The user's choice after a `key_changed` refusal, for each Plico address among `addresses` (as
/// a recipients field has them) whose kept key differs from the one Plico's directory now gives:
/// the directory's replaces it, kept as the user's choice (they checked the new fingerprint
/// another way); or, with `keep_kept`, the new key is refused and mail stays encrypted to the
/// kept one (the new key may be someone else's, put in the directory). Returns the addresses
/// whose key was replaced or whose new key was refused.
pub async fn use_directory_keys<T: Transport>(
    transport: &T,
    session: &UnlockedSession,
    addresses: &[String],
    keep_kept: bool,
    now: i64,
) -> Result<Vec<String>, FlowError> {
    let domain = domain_of(session);
    let mut offered = Vec::new();
    for address in full_addresses(addresses, &domain) {
        let local = address.rsplit_once('@').is_some_and(|(_, at)| at.eq_ignore_ascii_case(&domain));
        let published = if local {
            fetch_cert(transport, &address).await?
        } else {
            fetch_outside_cert(transport, &address).await.ok().flatten()
        };
        if let Some(cert) = published {
            offered.push(crate::keyring::kept_key(&address, &cert, KeySource::Imported, now)?);
        }
    }
    // The keyring as the write found it decides (the update reads it again after a race).
    let chosen = std::cell::RefCell::new(Vec::new());
    crate::keyring::update(transport, session, &|keyring| {
        let mut replaced = chosen.borrow_mut();
        replaced.clear();
        for key in &offered {
            let differs = keyring
                .find(&key.address)
                .is_some_and(|kept| kept.fingerprint != key.fingerprint && !kept.refused.contains(&key.fingerprint));
            if differs {
                if keep_kept {
                    keyring.refuse(&key.address, &key.fingerprint);
                } else {
                    keyring.upsert(key.clone());
                }
                replaced.push(key.address.clone());
            }
        }
        !replaced.is_empty()
    })
    .await?;
    Ok(chosen.into_inner())
}

/// Whether `published` is a new key for the address of `kept`: another than the kept one, and not
/// one the user refused ("Keep the old key").
fn differs(kept: &crate::keyring::OutsideKey, published: &Certificate) -> bool {
    let fingerprint = plico_pgp::fingerprint_hex(published);
    fingerprint != kept.fingerprint && !kept.refused.contains(&fingerprint)
}

/// One address whose key changed, with both fingerprints in groups of four.
fn key_change(address: &str, kept: &str, offered: &str) -> String {
    format!("{address} (kept {}, now {})", plico_api::group_fingerprint(kept), plico_api::group_fingerprint(offered))
}

/// The addresses of a recipients field, a bare name meaning a Plico user of `domain`.
fn full_addresses(addresses: &[String], domain: &str) -> Vec<String> {
    addresses
        .iter()
        .map(|address| address.trim())
        .filter(|address| !address.is_empty())
        .map(|address| if address.contains('@') { address.to_owned() } else { format!("{address}@{domain}") })
        .collect()
}

fn mailboxes(addresses: &[String]) -> Vec<Mailbox> {
    addresses.iter().map(|address| Mailbox::new(None, address)).collect()
}

fn domain_of(session: &UnlockedSession) -> String {
    session.account.address.rsplit('@').next().unwrap_or("plico.invalid").to_owned()
}

/// The message the user wrote, from them, with the given To, Cc and Bcc (full addresses).
fn compose(session: &UnlockedSession, outgoing: &Outgoing, [to, cc, bcc]: [&[String]; 3], now: i64) -> Draft {
    Draft {
        from: Some(Mailbox::new(None, &session.account.address)),
        to: mailboxes(to),
        cc: mailboxes(cc),
        bcc: mailboxes(bcc),
        subject: outgoing.subject.clone(),
        text: outgoing.text.clone(),
        html: None,
        attachments: outgoing.attachments.clone(),
        message_id: random_message_id(&domain_of(session)),
        in_reply_to: outgoing.in_reply_to.clone(),
        references: outgoing.references.clone(),
        date: now,
    }
}

/// The headers a wrapped message shows outside its encryption or signature.
fn outer_headers(draft: &Draft, autocrypt: Option<String>) -> OuterHeaders {
    OuterHeaders {
        from: draft.from.clone(),
        to: draft.to.clone(),
        cc: draft.cc.clone(),
        message_id: draft.message_id.clone(),
        date: draft.date,
        autocrypt,
    }
}

/// Composes, encrypts to `certs` (signing with the user's key), wraps and uploads a message;
/// returns the blob's hash and size and the sealed summary.
async fn seal_and_upload<T: Transport, R: Renderer>(
    transport: &T,
    renderer: &R,
    session: &UnlockedSession,
    draft: Draft,
    certs: &[Certificate],
    progress: &dyn Fn(WorkerStage),
) -> Result<(StoredBlob, String), FlowError> {
    progress(WorkerStage::Encrypting);
    let summary = draft.summary();
    let outer = outer_headers(&draft, None);
    let inner = render_bytes(renderer, RenderCommand::Compose(Box::new(draft))).await?;
    let ciphertext = encrypt_and_sign(&inner, certs, &session.secret_key).await.map_err(crypto)?;
    drop(inner);
    let armored = String::from_utf8(ciphertext).map_err(crypto)?;
    wrap_and_upload(transport, renderer, session, outer, armored, &summary, certs, progress).await
}

/// Wraps an armored message as PGP/MIME under `outer`, seals `summary` to `certs` (signed by the
/// user), and uploads the message; returns the blob and the sealed summary (base64).
#[allow(clippy::too_many_arguments)]
async fn wrap_and_upload<T: Transport, R: Renderer>(
    transport: &T,
    renderer: &R,
    session: &UnlockedSession,
    outer: OuterHeaders,
    armored: String,
    summary: &Summary,
    certs: &[Certificate],
    progress: &dyn Fn(WorkerStage),
) -> Result<(StoredBlob, String), FlowError> {
    let message = render_bytes(renderer, RenderCommand::Wrap { outer: Box::new(outer), armored }).await?;
    // The summary names its message's blob, so it cannot be moved onto another.
    let summary = Summary { blob: Some(blob_name(&message)), ..summary.clone() };
    let summary_json = serde_json::to_vec(&summary).map_err(crypto)?;
    let sealed_summary = encrypt_and_sign(&summary_json, certs, &session.secret_key).await.map_err(crypto)?;
    let upload = TransportBody::new("application/octet-stream", message);
    let on_upload = |sent: u64, total: u64| {
        let percent = (sent.min(total) * 100).checked_div(total).unwrap_or(100) as u8;
        progress(WorkerStage::UploadingMessage(percent));
    };
    on_upload(0, 1);
    let response = transport.upload("/blobs", upload, &on_upload).await.map_err(FlowError::Network)?;
    let stored: StoredBlob =
        serde_json::from_slice(&answer(response)?).map_err(|e| FlowError::Protocol(e.to_string()))?;
    Ok((stored, BASE64.encode(sealed_summary)))
}

/// A fresh idempotency key: 128 random bits, hex.
pub fn new_idempotency_key() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A blob's name on the server: the SHA-256 of its bytes, lowercase hex.
fn blob_name(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Encrypts, uploads and delivers `outgoing`; returns the server's receipt with the Sent copy.
/// When `draft_id` names the draft it was written in, the server removes that draft with the
/// same transaction.
pub async fn send<T: Transport, R: Renderer>(
    transport: &T,
    renderer: &R,
    session: &UnlockedSession,
    outgoing: &Outgoing,
    now: i64,
    progress: &dyn Fn(WorkerStage),
) -> Result<SendReceipt, FlowError> {
    let domain = domain_of(session);
    let (to, cc, bcc) = (
        full_addresses(&outgoing.to, &domain),
        full_addresses(&outgoing.cc, &domain),
        full_addresses(&outgoing.bcc, &domain),
    );
    let everyone: Vec<&String> = to.iter().chain(&cc).chain(&bcc).collect();
    if everyone.is_empty() {
        return Err(FlowError::Api {
            status: 0,
            code: "no_recipients".into(),
            message: "Add at least one recipient.".into(),
        });
    }
    // Every key first: an unknown recipient is refused before anything leaves the browser.
    // Addresses at this server's domain must be Plico accounts; the rest leave through the
    // server's smarthost, encrypted when their key is known and otherwise signed.
    let is_local = |address: &str| {
        address.rsplit_once('@').is_some_and(|(_, domain)| domain.eq_ignore_ascii_case(&domain_of(session)))
    };
    let mut certs = Vec::with_capacity(everyone.len() + 1);
    let mut unknown = Vec::new();
    let mut local = Vec::new();
    let mut keyed: Vec<(String, Certificate)> = Vec::new();
    let mut unkeyed = Vec::new();
    // The keys used for the first time, kept before anything is sent; and the addresses whose
    // published key (Plico's directory, their domain's) is a new one.
    let mut first_used = Vec::new();
    let mut changed = Vec::new();
    let keyring = crate::keyring::load(transport, session).await?.0;
    for address in everyone.iter().map(|address| address.trim().to_owned()) {
        if is_local(&address) {
            match fetch_cert(transport, &address).await? {
                Some(cert) => {
                    let offered = plico_pgp::fingerprint_hex(&cert);
                    match keyring.find(&address) {
                        Some(kept) if differs(kept, &cert) => {
                            changed.push(key_change(&address, &kept.fingerprint, &offered));
                        }
                        // The user refused this new key: mail stays encrypted to the kept one.
                        Some(kept) if kept.fingerprint != offered => {
                            certs.push(plico_pgp::parse_cert(kept.cert.as_bytes()).map_err(crypto)?);
                        }
                        Some(_) => certs.push(cert),
                        None => {
                            first_used.push(crate::keyring::kept_key(&address, &cert, KeySource::Directory, now)?);
                            certs.push(cert);
                        }
                    }
                }
                None => unknown.push(address.clone()),
            }
            local.push(address);
            continue;
        }
        plico_api::address::check_mail_address(&address).map_err(|why| FlowError::Api {
            status: 0,
            code: "bad_recipient".into(),
            message: format!("Cannot send to this address: {why}. Nothing was sent."),
        })?;
        // The recipient's domain's key directory (WKD), asked from the browser: for a key kept
        // from there, again, so that a key they changed is said as the directory's is (a lookup
        // that fails leaves the kept key); for an address without a key, to find one.
        let kept = keyring.find(&address);
        let published = if kept.is_none_or(|kept| kept.source == KeySource::Wkd) {
            match fetch_outside_cert(transport, &address).await {
                Ok(found) => found,
                Err(error) if kept.is_none() => return Err(error),
                Err(_) => None,
            }
        } else {
            None
        };
        match (kept, published) {
            (Some(kept), Some(cert)) if differs(kept, &cert) => {
                changed.push(key_change(&address, &kept.fingerprint, &plico_pgp::fingerprint_hex(&cert)));
            }
            (Some(kept), _) => keyed.push((address, plico_pgp::parse_cert(kept.cert.as_bytes()).map_err(crypto)?)),
            (None, Some(cert)) => {
                first_used.push(crate::keyring::kept_key(&address, &cert, KeySource::Wkd, now)?);
                keyed.push((address, cert));
            }
            (None, None) => unkeyed.push(address),
        }
    }
    if !unknown.is_empty() {
        return Err(FlowError::Api {
            status: 0,
            code: "unknown_recipients".into(),
            message: format!("No Plico account and no key for: {}. Nothing was sent.", unknown.join(", ")),
        });
    }
    if !changed.is_empty() {
        return Err(FlowError::Api {
            status: 0,
            code: "key_changed".into(),
            message: format!(
                "Another key is now published for them than the one you wrote to before: {}. It may be a new key, \
                 or someone trying to read your mail: check the new fingerprint with them another way before you \
                 choose it. Nothing was sent.",
                changed.join("; ")
            ),
        });
    }
    if !unkeyed.is_empty() && !outgoing.send_unencrypted {
        return Err(FlowError::Api {
            status: 0,
            code: "not_end_to_end".into(),
            message: format!(
                "Not end-to-end encrypted: Plico knows no key for {}. Confirm to send it signed, readable by the \
                 servers it passes through. Nothing was sent.",
                unkeyed.join(", ")
            ),
        });
    }
    // Kept before the message leaves: a later answer from the directory cannot replace them.
    keep_first_seen(transport, session, &first_used).await?;
    let own_cert = plico_pgp::parse_cert(session.account.public_cert.as_bytes()).map_err(crypto)?;
    certs.push(own_cert.clone());

    // Bcc recipients get the message through the envelope only.
    let draft = compose(session, outgoing, [to.as_slice(), cc.as_slice(), &[]], now);
    let external = outside_packages(renderer, session, &draft, &own_cert, &keyed, &unkeyed, progress).await?;
    let (stored, sealed_summary) = seal_and_upload(transport, renderer, session, draft, &certs, progress).await?;
    progress(WorkerStage::Sending);
    let request = SendRequest {
        recipients: local,
        external,
        blob_hash: stored.hash,
        size: stored.size,
        sealed_summary,
        draft_id: outgoing.draft_id.clone(),
    };
    let key = outgoing.idempotency_key.clone().unwrap_or_else(new_idempotency_key);
    call_json_once(transport, "POST", "/messages/send", Some(&request), Some(&key)).await
}

/// The copies for recipients on other servers, as they are to leave: one PGP/MIME message
/// encrypted to every recipient whose key is known (and to the sender), one `multipart/signed`
/// message for the rest. Both carry the sender's key in an Autocrypt header, the same
/// Message-ID as the Sent copy, and no Bcc.
async fn outside_packages<R: Renderer>(
    renderer: &R,
    session: &UnlockedSession,
    draft: &Draft,
    own_cert: &Certificate,
    keyed: &[(String, Certificate)],
    unkeyed: &[String],
    progress: &dyn Fn(WorkerStage),
) -> Result<Vec<plico_api::mail::ExternalPackage>, FlowError> {
    if keyed.is_empty() && unkeyed.is_empty() {
        return Ok(Vec::new());
    }
    progress(WorkerStage::Encrypting);
    let keydata = plico_pgp::public_cert_bytes(own_cert).map_err(crypto)?;
    let outer = outer_headers(draft, Some(plico_mime::autocrypt_value(&session.account.address, &keydata)));
    let mut packages = Vec::with_capacity(2);
    if !keyed.is_empty() {
        let inner = render_bytes(renderer, RenderCommand::Compose(Box::new(draft.clone()))).await?;
        let mut recipients: Vec<Certificate> = keyed.iter().map(|(_, cert)| cert.clone()).collect();
        recipients.push(own_cert.clone());
        let ciphertext = encrypt_and_sign(&inner, &recipients, &session.secret_key).await.map_err(crypto)?;
        let armored = String::from_utf8(ciphertext).map_err(crypto)?;
        let command = RenderCommand::Wrap { outer: Box::new(outer.clone()), armored };
        let message = render_bytes(renderer, command).await?;
        packages.push(plico_api::mail::ExternalPackage {
            recipients: keyed.iter().map(|(address, _)| address.clone()).collect(),
            message: BASE64.encode(message),
        });
    }
    if !unkeyed.is_empty() {
        let inner = render_bytes(renderer, RenderCommand::ComposeSigned(Box::new(draft.clone()))).await?;
        let signature = plico_pgp::sign_detached(&inner, &session.secret_key).map_err(crypto)?;
        let signature = String::from_utf8(signature).map_err(crypto)?;
        let command = RenderCommand::WrapSigned {
            outer: Box::new(outer),
            subject: draft.subject.clone(),
            signed: inner,
            signature,
        };
        let message = render_bytes(renderer, command).await?;
        packages
            .push(plico_api::mail::ExternalPackage { recipients: unkeyed.to_vec(), message: BASE64.encode(message) });
    }
    Ok(packages)
}

/// Saves `outgoing` as a draft, encrypted to the user's own key only (Bcc included): a new
/// draft in Drafts, or a new version of `outgoing.draft_id` in place. Returns the draft.
pub async fn save_draft<T: Transport, R: Renderer>(
    transport: &T,
    renderer: &R,
    session: &UnlockedSession,
    outgoing: &Outgoing,
    now: i64,
) -> Result<MessageMeta, FlowError> {
    let domain = domain_of(session);
    let own_cert = plico_pgp::parse_cert(session.account.public_cert.as_bytes()).map_err(crypto)?;
    let (to, cc, bcc) = (
        full_addresses(&outgoing.to, &domain),
        full_addresses(&outgoing.cc, &domain),
        full_addresses(&outgoing.bcc, &domain),
    );
    // A saved draft keeps its Bcc: it is encrypted to its author alone.
    let draft = compose(session, outgoing, [to.as_slice(), cc.as_slice(), bcc.as_slice()], now);
    let (stored, sealed_summary) = seal_and_upload(transport, renderer, session, draft, &[own_cert], &|_| {}).await?;
    match &outgoing.draft_id {
        Some(id) => {
            let version = DraftVersion { blob_hash: stored.hash, size: stored.size, sealed_summary };
            let bytes = serde_json::to_vec(&version).map_err(|e| FlowError::Protocol(e.to_string()))?;
            let body = TransportBody::new("application/json", bytes);
            serde_json::from_slice(&call(transport, "PUT", &format!("/drafts/{id}"), Some(body)).await?)
                .map_err(|e| FlowError::Protocol(e.to_string()))
        }
        None => {
            let folders: Vec<plico_api::mail::Folder> =
                call_json::<T, (), _>(transport, "GET", "/folders", None).await?;
            let drafts = folders
                .iter()
                .find(|folder| folder.role == Some(plico_api::mail::FolderRole::Drafts))
                .ok_or_else(|| FlowError::Protocol("The mailbox has no Drafts folder.".into()))?;
            let message = plico_api::mail::NewMessage {
                folder_id: drafts.id.clone(),
                blob_hash: stored.hash,
                size: stored.size,
                sealed_summary,
                flags: plico_api::mail::flags::SEEN,
                received_at: None,
            };
            call_json(transport, "POST", "/messages", Some(&message)).await
        }
    }
}

pub use plico_api::mail::MAX_IMPORT_MESSAGE_BYTES;

/// Imports one RFC 5322 message (from an mbox or an .eml file) into `folder_id`, as mail from
/// the Internet is stored: the message byte for byte inside the encryption, encrypted to the
/// user's own key and not signed (the user did not write it), PGP/MIME with the delivery
/// headers outside, a sealed summary, and its own Date as its date. Read, not flagged as
/// coming from the Internet: the server checked nothing about it.
pub async fn import_message<T: Transport, R: Renderer>(
    transport: &T,
    renderer: &R,
    session: &UnlockedSession,
    folder_id: &str,
    raw: &[u8],
    now: i64,
) -> Result<MessageMeta, FlowError> {
    let invalid = FlowError::Invalid;
    if raw.len() > MAX_IMPORT_MESSAGE_BYTES {
        return Err(invalid(format!("It is larger than {} MB.", MAX_IMPORT_MESSAGE_BYTES / 1_000_000)));
    }
    if !plico_mime::starts_with_header_field(raw) {
        return Err(invalid("It does not start with a header field: it is not an email message.".into()));
    }
    let parsed = render_parsed(renderer, raw.to_vec(), false)
        .await
        .map_err(|error| invalid(format!("It could not be read as an email message: {error}")))?;
    let date = parsed.date.filter(|&date| date > 0 && date <= now).unwrap_or(now);
    let mut summary = parsed.summary();
    summary.date = Some(date);
    let outer = OuterHeaders {
        from: parsed.from.clone().or_else(|| Some(Mailbox::new(None, "unknown-sender@invalid"))),
        to: parsed.to.clone(),
        cc: parsed.cc.clone(),
        message_id: parsed.message_id.clone().unwrap_or_default(),
        date,
        autocrypt: None,
    };
    drop(parsed);
    let own_cert = plico_pgp::parse_cert(session.account.public_cert.as_bytes()).map_err(crypto)?;
    let armored = plico_pgp::encrypt_to(raw, std::slice::from_ref(&own_cert)).map_err(crypto)?;
    let armored = String::from_utf8(armored).map_err(crypto)?;
    let (stored, sealed_summary) =
        wrap_and_upload(transport, renderer, session, outer, armored, &summary, &[own_cert], &|_| {}).await?;
    let filed = plico_api::mail::NewMessage {
        folder_id: folder_id.to_owned(),
        blob_hash: stored.hash,
        size: stored.size,
        sealed_summary,
        flags: plico_api::mail::flags::SEEN,
        received_at: Some(date),
    };
    call_json(transport, "POST", "/messages", Some(&filed)).await
}

/// A message as it was received or written, decrypted: the RFC 5322 bytes an export keeps.
pub async fn message_bytes<T: Transport, R: Renderer>(
    transport: &T,
    renderer: &R,
    session: &UnlockedSession,
    meta: &MessageMeta,
) -> Result<Vec<u8>, FlowError> {
    Ok(download_and_decrypt(transport, renderer, session, meta, BlobUse::Once).await?.plaintext)
}

/// The most a sealed summary or folder name may decrypt to: the server takes at most 64 KiB of
/// ciphertext, and an honest summary is a few hundred bytes; more is a decompression bomb.
pub const MAX_SUMMARY_PLAINTEXT: usize = 1 << 20;

/// Opens a message's sealed summary, without asking who wrote it: what the list shows goes
/// through [`listed_summaries`], which does.
pub fn open_summary(session: &UnlockedSession, meta: &MessageMeta) -> Result<Summary, FlowError> {
    open_sealed_summary(session, &meta.sealed_summary)
}

/// Opens a sealed summary (base64).
pub fn open_sealed_summary(session: &UnlockedSession, sealed_summary: &str) -> Result<Summary, FlowError> {
    let sealed =
        BASE64.decode(sealed_summary).map_err(|_| FlowError::Protocol("sealed_summary is not base64".into()))?;
    let opened = plico_pgp::decrypt_with_keys(&sealed, &session.keyring, &[], MAX_SUMMARY_PLAINTEXT).map_err(crypto)?;
    serde_json::from_slice(&opened.plaintext)
        .map_err(|e| FlowError::Protocol(format!("the summary is unreadable: {e}")))
}

/// A decrypted message and what its signature says.
#[derive(Debug, Clone)]
pub struct OpenedMessage {
    pub message: ParsedMessage,
    pub signature: SignatureStatus,
    /// Who vouches for the key the signature was checked with, when one was found.
    pub key_origin: Option<KeyOrigin>,
    /// The key the message's Autocrypt header carries, or Plico's directory now gives, when it
    /// differs from the one kept for the sender: the reader says so, and the user may choose it.
    pub new_key: Option<crate::keyring::OutsideKey>,
    /// [`OpenedMessage::new_key`] came from Plico's directory, not from the message.
    pub directory_key_changed: bool,
    /// The server took it from the Internet over SMTP.
    pub from_internet: bool,
    /// On mail from another Plico user: the account the server saw send it.
    pub internal_sender: Option<String>,
    /// A `multipart/signed` message whose signed part carries no protected headers: its Subject,
    /// From, To, Cc and Date are outside the signature.
    pub unsigned_headers: bool,
    /// This server's Authentication-Results value for it, from the summary the server sealed on
    /// arrival (never from a header inside the message, which the sender writes).
    pub server_checks: Option<String>,
}

/// The Authentication-Results value this account's server sealed in the summary of a message it
/// took from the Internet, when it names this server (its authserv-id is the account's domain).
/// The summary comes with the message's metadata, else by id; `None` when it cannot be had.
async fn server_verdict<T: Transport>(transport: &T, session: &UnlockedSession, meta: &MessageMeta) -> Option<String> {
    let sealed = if meta.sealed_summary.is_empty() {
        fetch_summaries(transport, std::slice::from_ref(&meta.id)).await.ok()?.into_iter().next()?.sealed_summary
    } else {
        meta.sealed_summary.clone()
    };
    let results = open_sealed_summary(session, &sealed).ok()?.authentication_results?;
    let authserv_id = results.split(';').next().unwrap_or_default().trim();
    authserv_id.eq_ignore_ascii_case(&domain_of(session)).then_some(results)
}

/// Who vouches for the key a sender's signature was checked with: what decides whether the
/// reader may call a good signature valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Plico's key directory: the sender is a user of this server.
    Directory,
    /// The user imported it, or chose it when a correspondent's key changed.
    Chosen,
    /// The Autocrypt header of earlier mail from the address (opportunistic, unconfirmed).
    EarlierMail,
    /// The Autocrypt header of the message itself (first seen here, unconfirmed).
    ThisMessage,
    /// The kept key, which the user compared with its owner and marked verified.
    Verified,
}

/// The key a sender's signature is checked with: the key kept for the address when there is one
/// (kept the first time the account wrote to them, imported or chosen by the user, or kept from
/// earlier mail's Autocrypt header), else Plico's key directory for Plico addresses. When the
/// directory now gives another key than the kept one, the kept one checks the signature and the
/// directory's is the third value, for the reader to say so and the user to choose. Nothing is
/// looked up elsewhere because a message was opened: a WKD query would tell the sender's domain
/// when it was read. Offline, the directory cannot answer and the keyring still can.
async fn sender_cert<T: Transport>(
    transport: &T,
    keyring: &crate::keyring::Keyring,
    address: &str,
    at: i64,
) -> Result<Option<(Certificate, KeyOrigin, Option<crate::keyring::OutsideKey>)>, FlowError> {
    let kept = keyring.find(address).and_then(|key| {
        let origin = match key.source {
            _ if key.verified => KeyOrigin::Verified,
            KeySource::Imported => KeyOrigin::Chosen,
            KeySource::Autocrypt => KeyOrigin::EarlierMail,
            KeySource::Directory | KeySource::Wkd => KeyOrigin::Directory,
        };
        plico_pgp::parse_cert(key.cert.as_bytes()).ok().map(|cert| (key, cert, origin))
    });
    let directory = match fetch_cert(transport, address).await {
        Ok(found) => found,
        Err(FlowError::Network(_)) => None,
        Err(error) => return Err(error),
    };
    Ok(match (kept, directory) {
        (Some((key, cert, origin)), Some(offered)) => {
            // A new key the user refused is not offered again.
            let changed = differs(key, &offered)
                .then(|| crate::keyring::kept_key(address, &offered, KeySource::Directory, at))
                .transpose()?;
            Some((cert, origin, changed))
        }
        (Some((_, cert, origin)), None) => Some((cert, origin, None)),
        (None, Some(offered)) => Some((offered, KeyOrigin::Directory, None)),
        (None, None) => None,
    })
}

/// Is `meta` in the Spam folder? Asked only when a key could be learned from it; `true` when
/// the folders cannot be read, so that doubt teaches no key.
async fn in_spam<T: Transport>(transport: &T, meta: &MessageMeta) -> bool {
    match call_json::<T, (), Vec<plico_api::mail::Folder>>(transport, "GET", "/folders", None).await {
        Ok(folders) => folders
            .iter()
            .any(|folder| folder.role == Some(plico_api::mail::FolderRole::Spam) && folder.id == meta.folder_id),
        Err(_) => true,
    }
}

/// Downloads a message's blob (or takes the copy this device kept), unwraps its PGP/MIME and
/// decrypts it (WebCrypto in the browser); the signature inside is checked against no key yet.
async fn download_and_decrypt<T: Transport, R: Renderer>(
    transport: &T,
    renderer: &R,
    session: &UnlockedSession,
    meta: &MessageMeta,
    why: BlobUse,
) -> Result<plico_pgp::Decrypted, FlowError> {
    let blob = match transport.kept_blob(&meta.blob_hash).await {
        Some(kept) => kept,
        None => call(transport, "GET", &format!("/blobs/{}", meta.blob_hash), None).await?,
    };
    transport.keep_blob(&meta.blob_hash, &blob, why);
    let ciphertext = render_bytes(renderer, RenderCommand::Unwrap(blob)).await?;
    #[cfg(target_arch = "wasm32")]
    let opened = plico_pgp::web::decrypt_and_verify(&ciphertext, &session.keyring, &[]).await;
    #[cfg(not(target_arch = "wasm32"))]
    let opened = plico_pgp::decrypt_with_keys(&ciphertext, &session.keyring, &[], plico_pgp::MAX_PLAINTEXT_BYTES);
    opened.map_err(crypto)
}

/// Downloads, unwraps, decrypts, verifies and parses a message, decrypting once. The sender's key
/// is looked up by the From address of the decrypted message ([`sender_cert`]); a signature by
/// any other key reads as "unknown key", and a broken one as "bad".
pub async fn open<T: Transport, R: Renderer>(
    transport: &T,
    renderer: &R,
    session: &UnlockedSession,
    meta: &MessageMeta,
) -> Result<OpenedMessage, FlowError> {
    // One decryption: the signer's key is looked up by the decrypted From address afterwards,
    // and the signature checked over the plaintext already in hand.
    let opened = download_and_decrypt(transport, renderer, session, meta, BlobUse::Read).await?;
    let message = render_parsed(renderer, opened.plaintext.clone(), true).await?;
    let (message, unsigned_headers) = signed_part_only(renderer, message).await?;
    let from_internet = meta.flags & plico_api::mail::flags::FROM_INTERNET != 0;
    let server_checks = if from_internet { server_verdict(transport, session, meta).await } else { None };
    let from = message.from.as_ref().map(|from| from.address.clone());
    // A correspondent's key from the Autocrypt header of mail from the Internet.
    let autocrypt = match (from_internet, &message.autocrypt, &from) {
        (true, Some(header), Some(from)) => {
            let date = message.date.unwrap_or(meta.received_at).min(meta.received_at);
            crate::keyring::autocrypt_key(from, header, date)
        }
        _ => None,
    };
    let signed = !matches!((&opened.signature, &message.pgp_signed), (SignatureStatus::Unsigned, None));
    let keyring = if signed || autocrypt.is_some() {
        crate::keyring::load(transport, session).await.map(|(keyring, _)| keyring).unwrap_or_default()
    } else {
        crate::keyring::Keyring::default()
    };
    let kept = from.as_deref().and_then(|from| keyring.find(from));
    // A key other than the kept one is said, never taken: the kept one stays until the user
    // chooses the new one.
    let key_changed = matches!((&autocrypt, kept), (Some(new), Some(old)) if new.fingerprint != old.fingerprint);
    // The signature: inside the encryption (checked once the sender's key is found), or a
    // PGP/MIME signed message that the server encrypted on arrival with its bytes kept. Only when
    // no key is known for the sender is the message's own Autocrypt key tried, and a good
    // signature by it is "first seen in this message", never valid.
    let check = |cert: &Certificate| match &message.pgp_signed {
        Some(signed) if opened.signature == SignatureStatus::Unsigned => {
            plico_pgp::verify_detached(&signed.part, &signed.signature, cert)
        }
        _ => plico_pgp::verify_with(&opened, cert),
    };
    let (signature, key_origin, directory_changed) = match (&opened.signature, &from, &message.pgp_signed) {
        (SignatureStatus::UnknownKey, Some(from), _) | (SignatureStatus::Unsigned, Some(from), Some(_)) => {
            match sender_cert(transport, &keyring, from, meta.received_at).await? {
                Some((cert, origin, changed)) => (check(&cert), Some(origin), changed),
                None => match autocrypt.as_ref().and_then(|key| plico_pgp::parse_cert(key.cert.as_bytes()).ok()) {
                    Some(cert) => (check(&cert), Some(KeyOrigin::ThisMessage), None),
                    None => (SignatureStatus::UnknownKey, None, None),
                },
            }
        }
        (status, ..) => (status.clone(), None, None),
    };
    // The Autocrypt key joins the keyring so that replies can be encrypted: not from mail that
    // failed DMARC or sits in Spam, and never over another key. A keyring that cannot be
    // written now does not stop the message from opening.
    let dmarc_failed = server_checks.as_deref().is_some_and(|results| sender_checks(results, from.as_deref()).failed);
    if let Some(key) = autocrypt.as_ref().filter(|_| !key_changed && !dmarc_failed) {
        let learns = kept.is_none_or(|kept| kept.updated_at < key.updated_at && kept.source == key.source);
        if learns && !in_spam(transport, meta).await {
            let _ = crate::keyring::update(transport, session, &|keyring| keyring.upsert(key.clone())).await;
        }
    }
    let directory_key_changed = directory_changed.is_some();
    let new_key = autocrypt.filter(|_| key_changed).or(directory_changed);
    let internal_sender = meta.sender.clone();
    Ok(OpenedMessage {
        message,
        signature,
        key_origin,
        new_key,
        directory_key_changed,
        from_internet,
        internal_sender,
        server_checks,
        unsigned_headers,
    })
}

/// What of a `multipart/signed` message (RFC 3156) the reader may show under its signature: the
/// signed part alone, parsed on its own, so that a part appended after the signature never
/// passes for signed; and its protected headers when it has them. Without them, the outer
/// headers are shown and the second value says they are not signed. Other messages are as they
/// are (inside an encryption, everything the signature covers is the message itself).
async fn signed_part_only<R: Renderer>(
    renderer: &R,
    message: ParsedMessage,
) -> Result<(ParsedMessage, bool), FlowError> {
    let Some(signed) = message.pgp_signed.clone() else { return Ok((message, false)) };
    let part = render_parsed(renderer, signed.part.clone(), true).await?;
    let protected = part.protected_headers && (part.from.is_some() || !part.subject.is_empty());
    let shown = if protected {
        ParsedMessage { pgp_signed: Some(signed), autocrypt: message.autocrypt, ..part }
    } else {
        ParsedMessage { text: part.text, html: part.html, attachments: part.attachments, links: part.links, ..message }
    };
    Ok((shown, !protected))
}

/// The search index's flags for a message's.
pub fn search_flags(flags: u32) -> u8 {
    let mut out = 0;
    if flags & plico_api::mail::flags::SEEN == 0 {
        out |= plico_search::index::flags::UNREAD;
    }
    if flags & plico_api::mail::flags::STARRED != 0 {
        out |= plico_search::index::flags::STARRED;
    }
    out
}

fn mailbox_text(mailbox: &plico_mime::Mailbox) -> String {
    match &mailbox.name {
        Some(name) if !name.is_empty() => format!("{name} <{}>", mailbox.address),
        _ => mailbox.address.clone(),
    }
}

/// A message as the search index takes it: downloaded, decrypted and parsed here, its text
/// (HTML turned into text by the parser), names and addresses, and attachment names. The
/// signature is not checked: the index needs words, not trust, and the reader checks it.
pub async fn search_document<T: Transport, R: Renderer>(
    transport: &T,
    renderer: &R,
    session: &UnlockedSession,
    meta: &MessageMeta,
) -> Result<plico_search::Document, FlowError> {
    let opened =
        download_and_decrypt(transport, renderer, session, meta, BlobUse::Indexed { received_at: meta.received_at })
            .await?;
    let message = render_parsed(renderer, opened.plaintext, false).await?;
    Ok(search_document_of(meta, &message))
}

/// [`search_document`] once the message is parsed.
pub fn search_document_of(meta: &MessageMeta, message: &ParsedMessage) -> plico_search::Document {
    plico_search::Document {
        id: meta.id.clone(),
        date: meta.received_at,
        folder: meta.folder_id.clone(),
        flags: search_flags(meta.flags),
        subject: message.subject.clone(),
        from: message.from.iter().map(mailbox_text).collect(),
        to: message.to.iter().chain(&message.cc).map(mailbox_text).collect(),
        body: message.text.clone(),
        attachments: message.attachments.iter().map(|attachment| attachment.file_name.clone()).collect(),
    }
}

/// The reader's words for an `Authentication-Results` value (RFC 8601): DMARC's verdict on the
/// From domain first, then DKIM and SPF. `shown_from` is the From address the reader shows: when
/// DMARC judged another domain (the message inside says it is from someone the checks did not
/// cover), that is a failure whatever DMARC said.
pub fn sender_checks(results: &str, shown_from: Option<&str>) -> plico_api::worker::SenderChecks {
    let mut server = results.split(';').next().unwrap_or_default().trim().to_owned();
    server.truncate(100);
    let mut found: Vec<(String, String, Option<String>)> = Vec::new();
    for part in results.split(';').skip(1) {
        let mut words = part.split_whitespace();
        let Some((method, result)) = words.next().and_then(|word| word.split_once('=')) else { continue };
        let domain = part
            .split_whitespace()
            .find_map(|word| word.strip_prefix("header.from=").or_else(|| word.strip_prefix("header.i=@")))
            .map(|domain| domain.chars().take(100).collect());
        found.push((method.to_ascii_lowercase(), result.to_ascii_lowercase(), domain));
    }
    let result_of = |name: &str| found.iter().find(|(method, ..)| method == name);
    let dmarc = result_of("dmarc");
    let shown_domain = shown_from.and_then(|from| from.rsplit_once('@')).map(|(_, domain)| domain.to_ascii_lowercase());
    let checked_domain = dmarc.and_then(|(_, _, domain)| domain.as_deref()).map(str::to_ascii_lowercase);
    if let (Some(shown), Some(checked)) = (&shown_domain, &checked_domain) {
        if shown != checked {
            let mut shown = shown.clone();
            shown.truncate(100);
            return plico_api::worker::SenderChecks {
                failed: true,
                words: format!(
                    "Checked by {server}: the checks were for {checked}, but the message says it is from {shown}. \
                     It may not be from {shown}."
                ),
            };
        }
    }
    let failed = dmarc.is_some_and(|(_, result, _)| result == "fail");
    let mut details = Vec::new();
    for name in ["dkim", "spf"] {
        if let Some((_, result, domain)) = result_of(name) {
            let domain = domain.as_ref().map(|domain| format!(" ({domain})")).unwrap_or_default();
            details.push(format!("{} {result}{domain}", name.to_ascii_uppercase()));
        }
    }
    let details = if details.is_empty() { String::new() } else { format!(" ({})", details.join(", ")) };
    let words = match dmarc {
        Some((_, result, Some(domain))) if result == "pass" => {
            format!("Checked by {server}: sent by {domain}, DMARC pass{details}.")
        }
        Some((_, result, Some(domain))) if result == "fail" => {
            format!("Checked by {server}: this message may not be from {domain}, DMARC fail{details}.")
        }
        Some((_, result, _)) => format!("Checked by {server}: DMARC {result}{details}."),
        None => format!("Checked by {server}: no DMARC verdict{details}."),
    };
    plico_api::worker::SenderChecks { failed, words }
}

/// What the reader says of mail from another Plico user: nothing when its From is the account the
/// server saw send it and that account's key signed it; otherwise a warning, since Plico always
/// signs what its users send.
fn internal_sender_checks(
    sender: &str,
    from: Option<&Mailbox>,
    signature: &SignatureStatus,
) -> Option<plico_api::worker::SenderChecks> {
    let from = from.map(|from| from.address.as_str()).unwrap_or("nobody");
    let words = if !from.eq_ignore_ascii_case(sender) {
        format!("Sent by the Plico user {sender}, but the message says it is from {from}. It is not from {from}.")
    } else if !matches!(signature, SignatureStatus::Valid { .. }) {
        format!(
            "Sent from the Plico account {sender}, but not signed with its key: Plico signs all its users' mail, \
             so this message may be forged."
        )
    } else {
        return None;
    };
    Some(plico_api::worker::SenderChecks { failed: true, words })
}

/// The summaries of synced messages, opened for the list, each `None` when it cannot be read or
/// nothing vouches for it. Whoever can write the server's database can also encrypt to the
/// account's key, so a summary is shown only when:
/// - the account's own key signed it (drafts, sent copies, imports), or
/// - it is unsigned and the message is one the server took from the Internet (the server wrote
///   it, as it wrote the message), or
/// - a Plico user's key signed it: the one who sent it, as the server authenticated them
///   ([`MessageMeta::sender`]), else the one its From names (mail from before the server said);
///   the key kept for that address when the keyring keeps one, else the directory's, as the
///   reader checks signatures.
///
/// A summary names the blob it belongs to; one moved onto another message is not shown. On mail
/// from another Plico user whose From is not the authenticated sender, or whose signature does
/// not check, the summary is shown with that sender in [`plico_api::worker::ListedSummary::sender_mismatch`].
pub async fn listed_summaries<T: Transport>(
    transport: &T,
    session: &UnlockedSession,
    sealed: &[(&MessageMeta, &str)],
) -> Vec<Option<plico_api::worker::ListedSummary>> {
    // The unlocked keys verify as their own certificates would; no copy the server gave is used.
    let mut directory: std::collections::HashMap<String, Option<Certificate>> = std::collections::HashMap::new();
    let mut keyring: Option<crate::keyring::Keyring> = None;
    let mut listed = Vec::with_capacity(sealed.len());
    for (meta, sealed_summary) in sealed {
        let Some((opened, summary)) = open_signed_summary(session, sealed_summary) else {
            listed.push(None);
            continue;
        };
        if summary.blob.as_ref().is_some_and(|blob| *blob != meta.blob_hash) {
            listed.push(None);
            continue;
        }
        let from = summary.from.as_ref().map(|from| from.address.to_ascii_lowercase());
        let vouched = match &opened.signature {
            SignatureStatus::Valid { signer } if session.is_own(signer) => Some(None),
            SignatureStatus::Unsigned if meta.flags & plico_api::mail::flags::FROM_INTERNET != 0 => Some(None),
            _ => match meta.sender.clone().or(from.clone()) {
                None => None,
                Some(address) => {
                    if !directory.contains_key(&address) {
                        // The key kept for the sender when there is one, as the reader checks.
                        if keyring.is_none() {
                            keyring = Some(
                                crate::keyring::load(transport, session)
                                    .await
                                    .map(|(keyring, _)| keyring)
                                    .unwrap_or_default(),
                            );
                        }
                        let kept = keyring
                            .as_ref()
                            .and_then(|keyring| keyring.find(&address))
                            .and_then(|key| plico_pgp::parse_cert(key.cert.as_bytes()).ok());
                        let cert = match kept {
                            Some(kept) => Some(kept),
                            None => fetch_cert(transport, &address).await.ok().flatten(),
                        };
                        directory.insert(address.clone(), cert);
                    }
                    let cert = directory.get(&address).and_then(Option::as_ref);
                    let valid = cert.is_some_and(|cert| {
                        matches!(plico_pgp::verify_with(&opened, cert), SignatureStatus::Valid { .. })
                    });
                    match &meta.sender {
                        Some(sender) if valid && from.as_deref() == Some(sender.to_ascii_lowercase().as_str()) => {
                            Some(None)
                        }
                        Some(sender) => Some(Some(sender.clone())),
                        None if valid => Some(None),
                        None => None,
                    }
                }
            },
        };
        listed.push(vouched.map(|sender_mismatch| plico_api::worker::ListedSummary {
            subject: summary.subject,
            from_name: summary.from.as_ref().and_then(|from| from.name.clone()),
            from_address: summary.from.map(|from| from.address),
            snippet: summary.snippet,
            has_attachments: summary.has_attachments,
            message_id: summary.message_id,
            in_reply_to: summary.in_reply_to,
            references: summary.references,
            sender_mismatch,
        }));
    }
    listed
}

/// Decrypts a sealed summary (base64), checking a signature by one of the account's own keys.
fn open_signed_summary(session: &UnlockedSession, sealed_summary: &str) -> Option<(plico_pgp::Decrypted, Summary)> {
    let sealed = BASE64.decode(sealed_summary).ok()?;
    let opened =
        plico_pgp::decrypt_with_keys(&sealed, &session.keyring, &session.keyring, MAX_SUMMARY_PLAINTEXT).ok()?;
    let summary = serde_json::from_slice(&opened.plaintext).ok()?;
    Some((opened, summary))
}

/// What the worker tells the UI about a synced message: its metadata, and its summary when
/// `summary` is given (else it is pending).
pub fn listed_message(
    meta: &MessageMeta,
    summary: Option<Option<plico_api::worker::ListedSummary>>,
) -> plico_api::worker::ListedMessage {
    plico_api::worker::ListedMessage {
        id: meta.id.clone(),
        folder_id: meta.folder_id.clone(),
        flags: meta.flags,
        size: meta.size,
        received_at: meta.received_at,
        deleted_at: meta.deleted_at,
        pending: summary.is_none(),
        summary: summary.flatten(),
    }
}

/// How many messages per folder a sync opens at once, newest first: the first page and some.
pub const FIRST_SUMMARIES_PER_FOLDER: usize = 60;

/// The ids among `messages` whose summaries a sync opens at once: the newest
/// [`FIRST_SUMMARIES_PER_FOLDER`] of each folder (and of the recovery area).
pub fn first_to_open(messages: &[MessageMeta]) -> std::collections::HashSet<String> {
    crate::cache::newest_per_folder(messages, FIRST_SUMMARIES_PER_FOLDER)
}

/// Fetches the changes since `since`; without `with_summaries`, the messages' sealed summaries
/// are left out (see [`fetch_summaries`]).
pub async fn sync<T: Transport>(
    transport: &T,
    since: i64,
    with_summaries: bool,
) -> Result<plico_api::mail::SyncChanges, FlowError> {
    let path =
        if with_summaries { format!("/sync?since={since}") } else { format!("/sync?since={since}&summaries=false") };
    call_json::<T, (), _>(transport, "GET", &path, None).await
}

/// The sealed summaries of `ids`, by id, in as many requests as the server's limit needs.
pub async fn fetch_summaries<T: Transport>(
    transport: &T,
    ids: &[String],
) -> Result<Vec<plico_api::mail::SealedSummary>, FlowError> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(plico_api::mail::MAX_SUMMARY_IDS) {
        let request = plico_api::mail::MessageIds { ids: chunk.to_vec() };
        let part: Vec<plico_api::mail::SealedSummary> =
            call_json(transport, "POST", "/summaries", Some(&request)).await?;
        found.extend(part);
    }
    Ok(found)
}

/// The reader's view of an opened message.
pub fn opened_view(id: &str, opened: &OpenedMessage) -> plico_api::worker::OpenedMessageView {
    use plico_api::worker::{AttachmentView, OpenedMessageView, SignatureView};
    let mailbox = |mailbox: &Mailbox| match &mailbox.name {
        Some(name) => format!("{name} <{}>", mailbox.address),
        None => mailbox.address.clone(),
    };
    let message = &opened.message;
    OpenedMessageView {
        id: id.to_owned(),
        subject: message.subject.clone(),
        from: message.from.as_ref().map(mailbox),
        to: message.to.iter().map(mailbox).collect(),
        cc: message.cc.iter().map(mailbox).collect(),
        bcc: message.bcc.iter().map(mailbox).collect(),
        date: message.date,
        message_id: message.message_id.clone(),
        in_reply_to: message.in_reply_to.clone(),
        references: message.references.clone(),
        text: message.text.clone(),
        has_remote_content: message.html.as_deref().is_some_and(plico_mime::has_remote_content),
        html: message.html.clone(),
        links: message.links.iter().map(|link| link.href.clone()).collect(),
        attachments: message
            .attachments
            .iter()
            .map(|attachment| AttachmentView {
                file_name: attachment.file_name.clone(),
                content_type: attachment.content_type.clone(),
                size: attachment.data.len() as u64,
            })
            .collect(),
        signature: match &opened.signature {
            SignatureStatus::Valid { signer } => match opened.key_origin {
                Some(KeyOrigin::EarlierMail) => {
                    SignatureView::Unconfirmed { signer: signer.clone(), first_seen: false }
                }
                Some(KeyOrigin::ThisMessage) => SignatureView::Unconfirmed { signer: signer.clone(), first_seen: true },
                Some(KeyOrigin::Verified) => SignatureView::Valid { signer: signer.clone(), verified: true },
                Some(KeyOrigin::Directory | KeyOrigin::Chosen) | None => {
                    SignatureView::Valid { signer: signer.clone(), verified: false }
                }
            },
            SignatureStatus::UnknownKey => SignatureView::UnknownKey,
            SignatureStatus::Bad => SignatureView::Bad,
            SignatureStatus::Unsigned => SignatureView::Unsigned,
        },
        key_changed: opened.new_key.is_some(),
        directory_key_changed: opened.directory_key_changed,
        unsigned_headers: opened.unsigned_headers
            && matches!(opened.signature, SignatureStatus::Valid { .. } | SignatureStatus::UnknownKey),
        sender_checks: match &opened.internal_sender {
            Some(sender) => internal_sender_checks(sender, message.from.as_ref(), &opened.signature),
            None => opened
                .server_checks
                .as_deref()
                .map(|results| sender_checks(results, message.from.as_ref().map(|from| from.address.as_str()))),
        },
    }
}

/// Encrypts and signs: in the browser with SEIPDv1's cipher through WebCrypto when a recipient
/// lacks AEAD (`plico_pgp::web`), else sequoia alone.
async fn encrypt_and_sign(
    plaintext: &[u8],
    recipients: &[Certificate],
    signer: &Certificate,
) -> Result<Vec<u8>, plico_pgp::PgpError> {
    #[cfg(target_arch = "wasm32")]
    let encrypted = plico_pgp::web::encrypt_and_sign(plaintext, recipients, signer).await;
    #[cfg(not(target_arch = "wasm32"))]
    let encrypted = plico_pgp::encrypt_and_sign(plaintext, recipients, signer);
    encrypted
}

/// Encrypts `plaintext` to the user's own key (for folder names), as base64.
pub fn seal_to_self(session: &UnlockedSession, plaintext: &[u8]) -> Result<String, FlowError> {
    let own_cert = session.secret_key.clone();
    let sealed = plico_pgp::encrypt_and_sign(plaintext, &[own_cert], &session.secret_key).map_err(crypto)?;
    Ok(BASE64.encode(sealed))
}

/// A folder name sealed by [`seal_to_self`]: `None` unless the account's own key signed it, since
/// anyone can encrypt to the account's key.
fn open_sealed_text(session: &UnlockedSession, sealed: &str) -> Option<String> {
    let bytes = BASE64.decode(sealed).ok()?;
    let opened =
        plico_pgp::decrypt_with_keys(&bytes, &session.keyring, &session.keyring, MAX_SUMMARY_PLAINTEXT).ok()?;
    let signed_by_us = matches!(&opened.signature, SignatureStatus::Valid { signer } if session.is_own(signer));
    signed_by_us.then(|| String::from_utf8(opened.plaintext).ok()).flatten()
}

/// A folder for the UI, with a user folder's name opened.
pub fn folder_view(session: &UnlockedSession, folder: &plico_api::mail::Folder) -> plico_api::worker::FolderView {
    plico_api::worker::FolderView {
        id: folder.id.clone(),
        role: folder.role,
        name: folder.sealed_name.as_deref().and_then(|sealed| open_sealed_text(session, sealed)),
        total: folder.total,
        unread: folder.unread,
    }
}

/// The longest folder name, in characters.
pub const MAX_FOLDER_NAME_CHARS: usize = 100;

fn folder_name(name: &str) -> Result<String, FlowError> {
    let name = name.trim();
    let refuse =
        |message: &str| FlowError::Api { status: 0, code: "invalid_folder_name".into(), message: message.into() };
    if name.is_empty() {
        return Err(refuse("A folder needs a name."));
    }
    if name.chars().count() > MAX_FOLDER_NAME_CHARS {
        return Err(refuse("A folder name can have at most 100 characters."));
    }
    if name.chars().any(char::is_control) {
        return Err(refuse("A folder name cannot contain control characters."));
    }
    Ok(name.to_owned())
}

/// Creates a user folder named `name`.
pub async fn create_folder<T: Transport>(
    transport: &T,
    session: &UnlockedSession,
    name: &str,
) -> Result<(), FlowError> {
    let name = folder_name(name)?;
    let body = plico_api::mail::FolderName { sealed_name: seal_to_self(session, name.as_bytes())? };
    call_json::<T, _, plico_api::mail::Folder>(transport, "POST", "/folders", Some(&body)).await.map(|_| ())
}

/// Renames a user folder.
pub async fn rename_folder<T: Transport>(
    transport: &T,
    session: &UnlockedSession,
    folder_id: &str,
    name: &str,
) -> Result<(), FlowError> {
    let name = folder_name(name)?;
    let body = plico_api::mail::FolderName { sealed_name: seal_to_self(session, name.as_bytes())? };
    let bytes = serde_json::to_vec(&body).map_err(|e| FlowError::Protocol(e.to_string()))?;
    let body = TransportBody::new("application/json", bytes);
    call(transport, "PATCH", &format!("/folders/{folder_id}"), Some(body)).await.map(|_| ())
}

#[cfg(test)]
mod sender_check_tests {
    use super::sender_checks;

    #[test]
    fn dmarc_decides_the_words_and_dkim_and_spf_follow() {
        let pass = sender_checks(
            "plico.test; dkim=pass header.i=@example.org header.s=sel; spf=pass (x) smtp.mailfrom=a@example.org; \
             dmarc=pass header.from=example.org policy.dmarc=reject",
            Some("dana@example.org"),
        );
        assert!(!pass.failed);
        assert_eq!(
            pass.words,
            "Checked by plico.test: sent by example.org, DMARC pass (DKIM pass (example.org), SPF pass)."
        );
        let fail = sender_checks("plico.test; spf=fail smtp.mailfrom=ceo@bank.example; dmarc=fail header.from=bank.example policy.dmarc=quarantine", Some("ceo@bank.example"));
        assert!(fail.failed);
        assert!(fail.words.contains("may not be from bank.example, DMARC fail (SPF fail)"), "{}", fail.words);
        let none = sender_checks(
            "plico.test; spf=none smtp.mailfrom=x@y.example; dmarc=none header.from=y.example policy.dmarc=none",
            Some("x@Y.example"),
        );
        assert!(!none.failed);
        assert_eq!(none.words, "Checked by plico.test: DMARC none (SPF none).");
        let slow = sender_checks(
            "plico.test; spf=temperror; dkim=temperror; dmarc=temperror (DNS did not answer in time)",
            None,
        );
        assert_eq!(slow.words, "Checked by plico.test: DMARC temperror (DKIM temperror, SPF temperror).");
    }

    #[test]
    fn a_pass_for_another_domain_than_the_shown_from_is_a_failure() {
        let other = sender_checks(
            "plico.test; spf=pass smtp.mailfrom=dana@example.test; dmarc=pass header.from=example.test",
            Some("ceo@bank.example"),
        );
        assert!(other.failed);
        assert_eq!(
            other.words,
            "Checked by plico.test: the checks were for example.test, but the message says it is from \
             bank.example. It may not be from bank.example."
        );
    }
}
