//! The mail endpoints: blobs, folders, messages and sync. Every one acts only on the signed-in
//! account's own data.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use plico_api::mail::{
    DraftVersion, Folder, FolderName, MessageIds, MessageMeta, MessageUpdate, NewMessage, SealedSummary, SendReceipt,
    SendRequest, StoredBlob, SyncChanges, MAX_EXTERNAL_PACKAGES, MAX_RECIPIENTS, MAX_SUMMARY_IDS,
};

use crate::http::error::check_room;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery, MessageBody, Replay};
use crate::http::session::SignedIn;
use crate::store::mail::{Delivery, FileMessage, MailError, SendBudget};
use crate::AppState;

/// Sealed names and summaries are small; this bounds them.
const MAX_SEALED_BYTES: usize = 64 * 1024;

impl From<MailError> for ApiError {
    fn from(error: MailError) -> Self {
        match error {
            MailError::NotFound(message) => ApiError::NotFound { code: "not_found", message },
            MailError::Invalid(message) => ApiError::Invalid { code: "invalid", message },
            MailError::Conflict(message) => ApiError::Conflict { code: "conflict", message },
            MailError::SendLimit { message, retry_after_seconds } => {
                ApiError::Limited { code: "send_limit", message, retry_after_seconds }
            }
            MailError::Database(error) => error.into(),
        }
    }
}

/// Decodes a base64 field that must hold an encrypted OpenPGP message.
fn sealed(field: &'static str, value: &str) -> ApiResult<Vec<u8>> {
    let bytes = BASE64
        .decode(value)
        .map_err(|_| ApiError::bad_request("malformed_field", format!("{field} is not valid base64.")))?;
    if bytes.len() > MAX_SEALED_BYTES {
        return Err(ApiError::invalid("too_large", format!("{field} is larger than 64 KiB.")));
    }
    plico_pgp::check_encrypted_message(&bytes)
        .map_err(|error| ApiError::invalid("not_encrypted", format!("{field}: {error}")))?;
    Ok(bytes)
}

/// A stored message is an OpenPGP encrypted message, or PGP/MIME (RFC 3156) whose encrypted part
/// holds one with nothing beside it, and no other part: the outer headers carry delivery
/// metadata only.
fn check_stored_message(body: &[u8]) -> ApiResult<()> {
    let refuse = |why: String| ApiError::invalid("not_encrypted", why);
    if body.starts_with(b"-----BEGIN PGP MESSAGE-----") || body.first().is_some_and(|byte| byte & 0x80 != 0) {
        return plico_pgp::check_encrypted_message(body).map_err(|error| refuse(error.to_string()));
    }
    let parsed = mail_parser::MessageParser::new()
        .parse(body)
        .ok_or_else(|| refuse("The upload is not a PGP/MIME message (RFC 3156).".into()))?;
    if parsed.parts.len() != 3 {
        return Err(refuse(format!(
            "A PGP/MIME message has a control part and an encrypted part, nothing else; this one has {} parts.",
            parsed.parts.len().saturating_sub(1)
        )));
    }
    let payload = plico_mime::unwrap_pgp_mime(body).map_err(|error| refuse(format!("The upload: {error}.")))?;
    plico_pgp::check_encrypted_message(&payload).map_err(|error| refuse(format!("The encrypted part: {error}.")))
}

fn blocking_failed(error: tokio::task::JoinError) -> ApiError {
    ApiError::internal(format!("blob task: {error}"))
}

#[utoipa::path(post, path = "/api/v1/blobs", security(("session" = [])), request_body(content = Vec<u8>, content_type = "application/octet-stream",
    description = "An encrypted OpenPGP message, armored or binary"),
    responses((status = 200, body = StoredBlob), (status = 413, body = plico_api::ErrorBody), (status = 422, body = plico_api::ErrorBody), (status = 507, body = plico_api::ErrorBody, description = "The mailbox is over its storage quota")))]
pub async fn upload_blob(
    State(state): State<AppState>,
    signed_in: SignedIn,
    MessageBody(body): MessageBody,
) -> ApiResult<Json<StoredBlob>> {
    if body.is_empty() {
        return Err(ApiError::invalid("empty", "The upload is empty."));
    }
    check_stored_message(&body)?;
    let size = body.len() as u64;
    check_room(&state, signed_in.account_id, size, "Your mailbox").await?;
    let blobs = state.blobs.clone();
    // The file is durable before the database refers to it.
    let hash = tokio::task::spawn_blocking(move || blobs.put(&body))
        .await
        .map_err(blocking_failed)?
        .map_err(ApiError::internal)?;
    state.store.record_blob(&hash, size, state.clock.now(), signed_in.account_id).await?;
    Ok(Json(StoredBlob { hash, size }))
}

#[utoipa::path(get, path = "/api/v1/blobs/{hash}", security(("session" = [])), params(("hash" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = plico_api::ErrorBody)))]
pub async fn download_blob(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(hash): Path<String>,
) -> ApiResult<Response> {
    let not_found = || ApiError::not_found("not_found", "No message of yours has that blob.");
    if !state.store.account_has_blob(signed_in.account_id, &hash).await? {
        return Err(not_found());
    }
    let bytes = state
        .read_blob(&hash)
        .await
        .map_err(|error| ApiError::internal(format!("a referenced blob is unreadable: {error}")))?;
    let mut response = bytes.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    // Content-addressed: the bytes behind a name never change.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/folders", security(("session" = [])), responses((status = 200, body = Vec<Folder>)))]
pub async fn list_folders(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<Json<Vec<Folder>>> {
    Ok(Json(state.store.folders(signed_in.account_id).await?))
}

#[utoipa::path(post, path = "/api/v1/folders", security(("session" = [])), request_body = FolderName,
    responses((status = 200, body = Folder), (status = 422, body = plico_api::ErrorBody)))]
pub async fn create_folder(
    State(state): State<AppState>,
    signed_in: SignedIn,
    replay: Option<Extension<Replay>>,
    ApiJson(request): ApiJson<FolderName>,
) -> ApiResult<Response> {
    let name = sealed("sealed_name", &request.sealed_name)?;
    if let Some(Extension(replay)) = replay {
        return Ok(replay.answer());
    }
    Ok(Json(state.store.create_folder(signed_in.account_id, &name, state.clock.now()).await?).into_response())
}

#[utoipa::path(patch, path = "/api/v1/folders/{id}", security(("session" = [])), params(("id" = String, Path)), request_body = FolderName,
    responses((status = 204), (status = 404, body = plico_api::ErrorBody), (status = 422, body = plico_api::ErrorBody), (status = 409, body = plico_api::ErrorBody, description = "A folder of the mailbox's own (Inbox, Sent…) keeps its name")))]
pub async fn rename_folder(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<FolderName>,
) -> ApiResult<StatusCode> {
    let name = sealed("sealed_name", &request.sealed_name)?;
    state.store.rename_folder(signed_in.account_id, &id, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/folders/{id}", security(("session" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Deleted; its messages moved to Trash"), (status = 404, body = plico_api::ErrorBody), (status = 409, body = plico_api::ErrorBody, description = "A folder of the mailbox's own (Inbox, Sent…) cannot be deleted")))]
pub async fn delete_folder(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.store.delete_folder(signed_in.account_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/messages", security(("session" = [])), request_body = NewMessage,
    responses((status = 200, body = MessageMeta), (status = 404, body = plico_api::ErrorBody), (status = 422, body = plico_api::ErrorBody), (status = 409, body = plico_api::ErrorBody, description = "The size is not the blob's"), (status = 507, body = plico_api::ErrorBody, description = "The mailbox is over its storage quota")))]
pub async fn file_message(
    State(state): State<AppState>,
    signed_in: SignedIn,
    replay: Option<Extension<Replay>>,
    ApiJson(request): ApiJson<NewMessage>,
) -> ApiResult<Response> {
    let summary = sealed("sealed_summary", &request.sealed_summary)?;
    if request.flags & !plico_api::mail::flags::ALL != 0 {
        return Err(ApiError::invalid(
            "invalid",
            format!("Unknown flag bits {:#x}.", request.flags & !plico_api::mail::flags::ALL),
        ));
    }
    if !crate::store::mail::is_id(&request.folder_id) {
        return Err(ApiError::not_found("not_found", "There is no folder with that id in your mailbox."));
    }
    if !crate::store::blobs::is_blob_hash(&request.blob_hash) {
        return Err(ApiError::not_found("not_found", "You uploaded no blob with that hash; upload it first."));
    }
    if let Some(Extension(replay)) = replay {
        return Ok(replay.answer());
    }
    check_room(&state, signed_in.account_id, request.size, "Your mailbox").await?;
    let message = FileMessage {
        folder_id: &request.folder_id,
        blob_hash: &request.blob_hash,
        size: request.size,
        sealed_summary: &summary,
        flags: request.flags,
        received_at: filed_at(request.received_at, state.clock.now()),
    };
    Ok(Json(state.store.file_message(signed_in.account_id, &message).await?).into_response())
}

/// The date a filed message keeps: the client's (an imported message's own), unless it is not
/// positive or later than now.
fn filed_at(requested: Option<i64>, now: i64) -> i64 {
    requested.filter(|&at| at > 0 && at <= now).unwrap_or(now)
}

#[utoipa::path(put, path = "/api/v1/drafts/{id}", security(("session" = [])), params(("id" = String, Path)), request_body = DraftVersion,
    responses((status = 200, body = MessageMeta), (status = 404, body = plico_api::ErrorBody), (status = 422, body = plico_api::ErrorBody), (status = 409, body = plico_api::ErrorBody, description = "The message is not a draft, or the size is not the blob's"), (status = 507, body = plico_api::ErrorBody, description = "The mailbox is over its storage quota")))]
pub async fn replace_draft(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<DraftVersion>,
) -> ApiResult<Json<MessageMeta>> {
    let summary = sealed("sealed_summary", &request.sealed_summary)?;
    check_room(&state, signed_in.account_id, request.size, "Your mailbox").await?;
    let version = Delivery {
        blob_hash: &request.blob_hash,
        size: request.size,
        sealed_summary: &summary,
        received_at: state.clock.now(),
        sender: None,
    };
    Ok(Json(state.store.replace_draft(signed_in.account_id, &id, &version).await?))
}

#[utoipa::path(delete, path = "/api/v1/drafts/{id}", security(("session" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = plico_api::ErrorBody), (status = 422, body = plico_api::ErrorBody)))]
pub async fn discard_draft(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.store.discard_draft(signed_in.account_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(patch, path = "/api/v1/messages", security(("session" = [])), request_body = MessageUpdate,
    responses((status = 204), (status = 404, body = plico_api::ErrorBody), (status = 422, body = plico_api::ErrorBody)))]
pub async fn update_messages(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(update): ApiJson<MessageUpdate>,
) -> ApiResult<StatusCode> {
    state.store.update_messages(signed_in.account_id, &update).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/messages/delete", security(("session" = [])), request_body = MessageIds,
    responses((status = 204, description = "Moved to Trash, or from Trash to the 45-day recovery area"), (status = 404, body = plico_api::ErrorBody)))]
pub async fn delete_messages(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<MessageIds>,
) -> ApiResult<StatusCode> {
    state.store.delete_messages(signed_in.account_id, &request.ids, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/messages/recover", security(("session" = [])), request_body = MessageIds,
    responses((status = 204, description = "Back in Trash"), (status = 404, body = plico_api::ErrorBody)))]
pub async fn recover_messages(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<MessageIds>,
) -> ApiResult<StatusCode> {
    state.store.recover_messages(signed_in.account_id, &request.ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/messages/send", security(("session" = [])), request_body = SendRequest,
    responses((status = 200, body = SendReceipt), (status = 404, body = plico_api::ErrorBody),
              (status = 422, body = plico_api::ErrorBody, description = "An unknown or external recipient, named in the message"), (status = 409, body = plico_api::ErrorBody, description = "The size is not the blob's"), (status = 429, body = plico_api::ErrorBody, description = "The daily sending limit is reached"), (status = 507, body = plico_api::ErrorBody, description = "The sender's or a recipient's mailbox is over its quota"), (status = 413, body = plico_api::ErrorBody, description = "More recipients in all than a message may have, or a body over the limit")))]
pub async fn send_message(
    State(state): State<AppState>,
    signed_in: SignedIn,
    replay: Option<Extension<Replay>>,
    ApiJson(request): ApiJson<SendRequest>,
) -> ApiResult<Response> {
    let external_count: usize = request.external.iter().map(|package| package.recipients.len()).sum();
    if request.recipients.is_empty() && external_count == 0 {
        return Err(ApiError::invalid("no_recipients", "Add at least one recipient."));
    }
    // Each list is held to the limit as its schema says (422); together they are too (413: the
    // message is larger than this server will send, which no one list shows).
    let too_many = || format!("A message may have at most {MAX_RECIPIENTS} recipients.");
    if request.recipients.len() > MAX_RECIPIENTS
        || request.external.iter().any(|package| package.recipients.len() > MAX_RECIPIENTS)
    {
        return Err(ApiError::invalid("too_many_recipients", too_many()));
    }
    if request.external.len() > MAX_EXTERNAL_PACKAGES {
        return Err(ApiError::invalid(
            "too_many_packages",
            format!("A send carries at most {MAX_EXTERNAL_PACKAGES} outside packages (one encrypted, one signed)."),
        ));
    }
    if request.recipients.len() + external_count > MAX_RECIPIENTS {
        return Err(ApiError::TooLarge { code: "too_many_recipients", message: too_many() });
    }
    let summary = sealed("sealed_summary", &request.sealed_summary)?;
    if !crate::store::blobs::is_blob_hash(&request.blob_hash) {
        return Err(ApiError::not_found("not_found", "You uploaded no blob with that hash; upload it first."));
    }
    let sender = state.store.account_by_id(signed_in.account_id).await?.ok_or(ApiError::Unauthorized)?;
    let packages = if request.external.is_empty() {
        Vec::new()
    } else {
        check_external(&state, &sender.address, &request.external)?
    };
    for address in &request.recipients {
        let here = plico_api::address::local_part_for_domain(address, &state.config.domain)
            .is_some_and(|local| plico_api::address::normalize_name(local).is_ok());
        if !here {
            plico_api::address::check_mail_address(address).map_err(|why| {
                ApiError::invalid("bad_recipient", format!("A recipient is not a mail address: {why}."))
            })?;
        }
    }
    // A repeat that passes the checks of its own content gets the first send's answer, and
    // nothing is sent again (its recipients' mailboxes may have filled up with the first).
    if let Some(Extension(replay)) = replay {
        return Ok(replay.answer());
    }
    // Every recipient must be a Plico account here; the message is refused whole otherwise,
    // naming each address that cannot receive it.
    let mut accounts = Vec::with_capacity(request.recipients.len());
    let mut refused = Vec::new();
    for address in &request.recipients {
        let local = plico_api::address::local_part_for_domain(address, &state.config.domain)
            .and_then(|local| plico_api::address::normalize_name(local).ok());
        match local {
            Some(name) => match state.store.account_by_name(&name).await? {
                Some(row) if row.is_active() => match check_room(&state, row.id, request.size, &row.address).await {
                    Ok(()) => accounts.push(row.id),
                    Err(_) => refused.push(format!("{} (the mailbox is full)", address.trim())),
                },
                Some(_) => refused.push(format!("{} (this account is closed or suspended)", address.trim())),
                None => refused.push(format!("{} (no such account)", address.trim())),
            },
            None => refused.push(format!("{} (not an address at {})", address.trim(), state.config.domain)),
        }
    }
    if !refused.is_empty() {
        return Err(ApiError::not_found(
            "unknown_recipients",
            format!("This message cannot be delivered to: {}.", refused.join(", ")),
        ));
    }
    accounts.sort_unstable();
    accounts.dedup();
    // The Sent copy counts against the sender's own quota.
    check_room(&state, signed_in.account_id, request.size, "Your mailbox").await?;
    // Each outside package is sealed under the queue key and goes into its queue row, in the
    // send's own transaction: queued together with the Sent copy, or not at all.
    let (recipient_lists, messages): (Vec<Vec<String>>, Vec<Vec<u8>>) = packages.into_iter().unzip();
    let ids: Vec<String> = messages.iter().map(|_| crate::store::mail::new_id()).collect();
    let sealed: Vec<Vec<u8>> = ids
        .iter()
        .zip(&messages)
        .map(|(id, message)| state.outbound.files.seal(id, message))
        .collect::<Result<_, _>>()
        .map_err(|error| ApiError::internal(format!("the outbound queue could not seal a message: {error}")))?;
    drop(messages);
    let mail_from = if ids.is_empty() { String::new() } else { sender.address.clone() };
    let queued: Vec<crate::store::outbound::NewOutbound<'_>> = ids
        .iter()
        .zip(&recipient_lists)
        .zip(&sealed)
        .map(|((id, recipients), sealed_message)| crate::store::outbound::NewOutbound {
            id,
            mail_from: &mail_from,
            recipients,
            sealed_message,
        })
        .collect();
    let message = Delivery {
        blob_hash: &request.blob_hash,
        size: request.size,
        sealed_summary: &summary,
        received_at: state.clock.now(),
        sender: None,
    };
    let budget = SendBudget { now: state.clock.now(), recipients_per_day: state.config.send_limit_per_day };
    let sent = state
        .store
        .deliver(
            signed_in.account_id,
            &sender.address,
            &accounts,
            &message,
            request.draft_id.as_deref(),
            &queued,
            budget,
        )
        .await;
    let sent = sent?;
    if !ids.is_empty() {
        state.outbound.wake.notify_one();
    }
    Ok(Json(SendReceipt { sent, delivered: accounts.len() as u32, queued: external_count as u32 }).into_response())
}

/// Checks the outside packages of a send: a smarthost to send them through, addresses SMTP can
/// carry and that are not this server's, and a message that is mail from this sender. Returns
/// the recipients and the decoded message of each.
fn check_external(
    state: &AppState,
    sender_address: &str,
    external: &[plico_api::mail::ExternalPackage],
) -> ApiResult<Vec<(Vec<String>, Vec<u8>)>> {
    if state.config.smarthost.is_none() {
        return Err(ApiError::Forbidden {
            code: "no_outside_mail",
            message: format!(
                "This server sends mail only between addresses at {}: its operator has not configured a smarthost.",
                state.config.domain
            ),
        });
    }
    let mut packages = Vec::with_capacity(external.len());
    for package in external {
        if package.recipients.is_empty() {
            return Err(ApiError::invalid("no_recipients", "An outside package names no recipient."));
        }
        let mut recipients = Vec::with_capacity(package.recipients.len());
        for address in &package.recipients {
            let address = address.trim();
            plico_api::address::check_mail_address(address)
                .map_err(|why| ApiError::invalid("bad_recipient", format!("Cannot send to this address: {why}.")))?;
            if address.rsplit_once('@').is_some_and(|(_, domain)| domain.eq_ignore_ascii_case(&state.config.domain)) {
                return Err(ApiError::invalid(
                    "bad_recipient",
                    format!("{address} is at {}: send it as a Plico recipient.", state.config.domain),
                ));
            }
            recipients.push(address.to_owned());
        }
        let message = BASE64
            .decode(&package.message)
            .map_err(|_| ApiError::bad_request("malformed_field", "external.message is not valid base64."))?;
        if message.len() > state.config.max_message_bytes {
            return Err(ApiError::invalid(
                "too_large",
                format!("The message is larger than {} MiB.", state.config.max_message_bytes / (1024 * 1024)),
            ));
        }
        let headers = mail_parser::MessageParser::new()
            .parse_headers(&message)
            .ok_or_else(|| ApiError::invalid("malformed_message", "external.message is not an RFC 5322 message."))?;
        if !from_is_only(&headers, sender_address) {
            return Err(ApiError::invalid(
                "wrong_sender",
                format!(
                    "Mail you send must have one From field naming only your own address, {sender_address} \
                     (and no Sender field naming another)."
                ),
            ));
        }
        if headers.header(mail_parser::HeaderName::Bcc).is_some() {
            return Err(ApiError::invalid("bcc_header", "Mail that leaves this server must not carry a Bcc field."));
        }
        packages.push((recipients, message));
    }
    Ok(packages)
}

/// Does the message have exactly one From field, naming exactly one mailbox, `address`, and no
/// Sender field naming anyone else? Readers differ on which of two From fields they show, so a
/// second one could show another local address under this server's DKIM signature.
fn from_is_only(headers: &mail_parser::Message<'_>, address: &str) -> bool {
    use mail_parser::HeaderName;
    let is_address = |value: &mail_parser::HeaderValue<'_>| {
        value.as_address().is_some_and(|list| {
            let mut mailboxes = list.iter();
            mailboxes.next().and_then(|mailbox| mailbox.address()).is_some_and(|a| a.eq_ignore_ascii_case(address))
                && mailboxes.next().is_none()
        })
    };
    let froms: Vec<_> = headers.header_values(HeaderName::From).collect();
    let senders_ok = headers.header_values(HeaderName::Sender).all(is_address);
    froms.len() == 1 && is_address(froms[0]) && senders_ok
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// The cursor of the last sync; 0 (or absent) for everything.
    #[serde(default)]
    #[param(required = false)]
    since: i64,
    /// `false` leaves the sealed summaries out (fetch them with `POST /api/v1/summaries`);
    /// `true` when absent.
    summaries: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/sync", security(("session" = [])), params(SyncQuery),
    responses((status = 200, body = SyncChanges), (status = 422, body = plico_api::ErrorBody)))]
pub async fn sync(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiQuery(query): ApiQuery<SyncQuery>,
) -> ApiResult<Json<SyncChanges>> {
    let with_summaries = query.summaries.unwrap_or(true);
    Ok(Json(state.store.changes_since(signed_in.account_id, query.since, with_summaries).await?))
}

#[utoipa::path(post, path = "/api/v1/summaries", security(("session" = [])), request_body = plico_api::mail::SummaryIds,
    responses((status = 200, body = Vec<SealedSummary>), (status = 422, body = plico_api::ErrorBody)))]
pub async fn sealed_summaries(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<plico_api::mail::SummaryIds>,
) -> ApiResult<Json<Vec<SealedSummary>>> {
    if request.ids.len() > MAX_SUMMARY_IDS {
        return Err(ApiError::invalid(
            "too_many_ids",
            format!("Ask for at most {MAX_SUMMARY_IDS} summaries at a time; {} were asked for.", request.ids.len()),
        ));
    }
    if let Some(bad) = request.ids.iter().find(|id| !crate::store::mail::is_id(id)) {
        return Err(ApiError::invalid("invalid_id", format!("{bad:?} is not a message id (32 hex digits).")));
    }
    let found = state.store.sealed_summaries(signed_in.account_id, &request.ids).await?;
    Ok(Json(found.into_iter().map(|(id, sealed_summary)| SealedSummary { id, sealed_summary }).collect()))
}
