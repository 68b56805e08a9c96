//! The router and the middleware every response passes: security headers, the CSRF check, the
//! body limit, JSON errors for unknown API routes, and request logs without personal data.

use std::time::Instant;

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::{api, items_api, mail_api, openapi, privacy_api, session, static_files, AppState};

/// A JSON body whose every rejection is an [`ApiError`] with the right status.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        let limit = body_limit(state, &request);
        // Into a JSON value first (any JSON is one, so every data error comes from the step after,
        // with the field's path), then into `T`.
        match axum::Json::<serde_json::Value>::from_request(request, state).await {
            Ok(axum::Json(mut value)) => {
                whole_numbers(&mut value);
                serde_path_to_error::deserialize(value).map(ApiJson).map_err(|error| {
                    let path = error.path().to_string();
                    let error = error.into_inner();
                    let message = if path == "." {
                        format!("The body does not fit: {error}.")
                    } else {
                        format!("{path}: {error}.")
                    };
                    ApiError::invalid("invalid_field", message)
                })
            }
            Err(JsonRejection::JsonSyntaxError(error)) => Err(ApiError::bad_request(
                "malformed_json",
                format!("The body is not valid JSON: {}", error.body_text()),
            )),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType {
                message: "Send the body as JSON with Content-Type: application/json.".into(),
            }),
            Err(JsonRejection::BytesRejection(error)) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge { limit })
            }
            Err(other) => Err(ApiError::bad_request("unreadable_body", other.body_text())),
        }
    }
}

/// A query string whose every rejection is an [`ApiError`] (422, naming the parameter).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::invalid("invalid_query", rejection.body_text())),
        }
    }
}

/// JSON has one kind of number: `3.0` is the integer 3 (JSON Schema agrees), which serde would
/// refuse for an integer field. Numbers with no fraction become integers.
fn whole_numbers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(number) if number.is_f64() => {
            if let Some(float) = number.as_f64() {
                if float.fract() == 0.0 && float.abs() < 9.0e15 {
                    *value = serde_json::Value::from(float as i64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// A raw request body (a whole encrypted message) whose rejections are [`ApiError`]s.
pub struct MessageBody(pub axum::body::Bytes);

impl FromRequest<AppState> for MessageBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(MessageBody(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge { limit: state.config.max_message_bytes })
            }
            Err(rejection) => Err(ApiError::bad_request("unreadable_body", rejection.body_text())),
        }
    }
}

/// The Web Key Directory is read by other domains' browsers (the WKD draft asks for
/// `Access-Control-Allow-Origin: *`), on every answer: a 404 too, so that such a browser reads
/// "no key" instead of a CORS failure it cannot tell from a network error.
async fn any_origin(mut response: Response) -> Response {
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/info", get(api::info))
        .route("/signup/start", post(api::signup_start))
        .route("/signup/finish", post(api::signup_finish))
        .route("/login/start", post(api::login_start))
        .route("/login/finish", post(api::login_finish))
        .route("/logout", post(api::logout))
        .route("/session", get(api::session))
        .route("/account/logins", get(api::login_history).delete(api::delete_login_history))
        .route("/account/logins/{id}", delete(api::delete_login_event))
        .route("/account/settings", get(api::account_settings).put(api::update_account_settings))
        .route("/account/usage", get(api::storage_usage))
        .route("/account/keyring", get(api::keyring).put(api::replace_keyring))
        .route("/account/close", post(privacy_api::close_account))
        .route("/account/recovery", get(privacy_api::recovery).put(privacy_api::update_recovery))
        .route("/account/recovery/confirm", post(privacy_api::confirm_recovery))
        .route("/account/consent", get(privacy_api::consent).put(privacy_api::replace_consent))
        .route("/account/data", get(privacy_api::data_held))
        .route("/policy", get(privacy_api::policy))
        .route("/transparency", get(privacy_api::transparency))
        .route("/keys/{address}", get(api::public_key))
        .route("/keys/outside/{address}", get(api::outside_key))
        .route(
            "/blobs",
            post(mail_api::upload_blob).layer(axum::extract::DefaultBodyLimit::max(state.config.max_message_bytes)),
        )
        .route("/blobs/{hash}", get(mail_api::download_blob))
        .route(
            "/folders",
            get(mail_api::list_folders)
                .post(mail_api::create_folder)
                .route_layer(middleware::from_fn_with_state(state.clone(), idempotent)),
        )
        .route("/folders/{id}", patch(mail_api::rename_folder).delete(mail_api::delete_folder))
        .route(
            "/messages",
            post(mail_api::file_message)
                .route_layer(middleware::from_fn_with_state(state.clone(), idempotent))
                .patch(mail_api::update_messages),
        )
        // Mail to other servers travels in the send request itself (base64), so it may be as
        // big as a message.
        .route(
            "/messages/send",
            post(mail_api::send_message)
                .layer(axum::extract::DefaultBodyLimit::max(send_body_limit(&state)))
                .route_layer(middleware::from_fn_with_state(state.clone(), idempotent)),
        )
        .route("/drafts/{id}", put(mail_api::replace_draft).delete(mail_api::discard_draft))
        .route("/messages/delete", post(mail_api::delete_messages))
        .route("/messages/recover", post(mail_api::recover_messages))
        .route("/sync", get(mail_api::sync))
        .route("/summaries", post(mail_api::sealed_summaries))
        .route("/items/{kind}", get(items_api::item_changes))
        .route("/items/{kind}/delete", post(items_api::delete_items))
        .route("/items/{kind}/recover", post(items_api::recover_items))
        .route("/items/{kind}/{id}", get(items_api::get_item).put(items_api::put_item))
        .route("/openapi.json", get(openapi::serve))
        .fallback(api_not_found)
        .method_not_allowed_fallback(api_method_not_allowed)
        .layer(middleware::from_fn(csrf_guard));

    Router::new()
        .nest(plico_api::API_PREFIX, api.layer(axum::extract::DefaultBodyLimit::max(state.config.max_body_bytes)))
        .merge(
            Router::new()
                .route("/.well-known/openpgpkey/hu/{hash}", get(api::wkd_lookup))
                .route("/.well-known/openpgpkey/policy", get(api::wkd_policy))
                .layer(middleware::map_response(any_origin)),
        )
        .fallback(static_files::serve)
        .layer(middleware::from_fn_with_state(state.clone(), refuse_declared_oversize))
        .layer(middleware::from_fn_with_state(state.clone(), security_headers))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

async fn api_not_found() -> ApiError {
    ApiError::not_found("no_such_endpoint", "There is no API endpoint at this path.")
}

async fn api_method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// A send carries mail to other servers in the request itself (base64), so it may be as big as a
/// message a third over, and the rest of the request.
fn send_body_limit(state: &AppState) -> usize {
    state.config.max_message_bytes / 3 * 4 + state.config.max_body_bytes
}

/// The body limit for a request: blob uploads may carry a whole message, a send a whole message
/// in base64, everything else is small. The declared length is held to the same limit as the
/// body itself ([`refuse_declared_oversize`]).
fn body_limit(state: &AppState, request: &Request) -> usize {
    // Inside the API's nested router the prefix is already gone from the path.
    let path = request.uri().path();
    match path.strip_prefix(plico_api::API_PREFIX).unwrap_or(path) {
        "/blobs" => state.config.max_message_bytes,
        "/messages/send" => send_body_limit(state),
        _ => state.config.max_body_bytes,
    }
}

/// Refuses a body whose declared length is over the limit before reading a byte of it. Bodies
/// without a length are cut off by `DefaultBodyLimit` while streaming.
async fn refuse_declared_oversize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = body_limit(&state, &request);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return ApiError::PayloadTooLarge { limit }.into_response();
    }
    next.run(request).await
}

/// The first answer to a request whose `Idempotency-Key` is repeated: its handler checks the
/// repeat, then answers with this instead of acting again ([`Replay::answer`]).
#[derive(Clone)]
pub struct Replay {
    status: u16,
    body: Vec<u8>,
}

impl Replay {
    /// The first answer, marked `Idempotent-Replayed: true`.
    pub fn answer(self) -> Response {
        let mut response = (StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK), self.body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
        response
    }
}

/// The header a request that creates something may carry (draft-ietf-httpapi-idempotency-key).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Requests that create something (a send, a filed message, a folder) may carry an
/// `Idempotency-Key`: the first successful answer is kept a day and given again, with
/// `Idempotent-Replayed: true`, to a repeat under the same key, so a send whose answer was lost
/// is not sent twice. A repeat is the same method on the same path: its body may differ, since a
/// device that sends again encrypts the message anew. The key is the signed-in account's; reused
/// on another endpoint it is refused (422), and while the first request runs a repeat waits
/// (409). A failed request keeps nothing, and may be tried again under the same key.
async fn idempotent(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(key) = request.headers().get(IDEMPOTENCY_KEY).map(|value| value.to_str().map(str::to_owned)) else {
        return next.run(request).await;
    };
    let key = match key {
        Ok(key) if !key.is_empty() && key.len() <= 255 && key.bytes().all(|byte| byte.is_ascii_graphic()) => key,
        _ => {
            return ApiError::bad_request(
                "bad_idempotency_key",
                "The Idempotency-Key must be 1 to 255 printable ASCII characters.",
            )
            .into_response()
        }
    };
    // Whose key: without a session the handler answers 401 itself.
    let token = session::read_cookie(request.headers(), session::cookie_name(state.config.behind_tls));
    let account_id = match token {
        Some(token) => state.store.session_account(&session::hash_token(token), state.clock.now()).await,
        None => Ok(None),
    };
    let account_id = match account_id {
        Ok(Some(account_id)) => account_id,
        Ok(None) => return next.run(request).await,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let limit = body_limit(&state, &request);
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return ApiError::PayloadTooLarge { limit }.into_response();
    };
    let fingerprint = {
        use sha2::Digest;
        let mut hash = sha2::Sha256::new();
        hash.update(parts.method.as_str().as_bytes());
        hash.update([0]);
        hash.update(parts.uri.path().as_bytes());
        hash.finalize().to_vec()
    };
    use crate::store::idempotency::Begin;
    match state.store.begin_idempotent(account_id, &key, &fingerprint, state.clock.now()).await {
        Err(error) => ApiError::from(error).into_response(),
        Ok(Begin::Reused) => ApiError::conflict(
            "idempotency_key_reused",
            "This Idempotency-Key was used for another kind of request; use a new key for a new request.",
        )
        .into_response(),
        Ok(Begin::Running) => ApiError::conflict(
            "request_in_progress",
            "The same request is still being handled; wait for its answer, then ask again.",
        )
        .into_response(),
        // The repeat goes to its handler, which checks it as it checks any request and answers
        // with the first answer only if it is valid: a used key is no pass for a malformed body.
        Ok(Begin::Replay { status, body }) => {
            let mut request = Request::from_parts(parts, axum::body::Body::from(bytes));
            request.extensions_mut().insert(Replay { status, body });
            next.run(request).await
        }
        Ok(Begin::Run) => {
            let response = next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await;
            if !response.status().is_success() {
                if let Err(error) = state.store.abandon_idempotent(account_id, &key).await {
                    tracing::warn!(%error, "an idempotency key could not be let go");
                }
                return response;
            }
            let (parts, body) = response.into_parts();
            let Ok(body) = axum::body::to_bytes(body, 16 << 20).await else {
                return ApiError::internal("an answer could not be kept").into_response();
            };
            if let Err(error) = state.store.finish_idempotent(account_id, &key, parts.status.as_u16(), &body).await {
                tracing::warn!(%error, "an answer could not be kept for its idempotency key");
            }
            Response::from_parts(parts, axum::body::Body::from(body))
        }
    }
}

/// State-changing API requests must carry the `x-plico-csrf` header, which a cross-site form or
/// script cannot send without a CORS preflight that this server never grants.
async fn csrf_guard(request: Request, next: Next) -> Response {
    let changes_state = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes_state {
        let has_header = request.headers().get(plico_api::CSRF_HEADER).is_some_and(|value| value == "1");
        let cross_site = request
            .headers()
            .get("sec-fetch-site")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|site| site == "cross-site" || site == "same-site");
        if !has_header || cross_site {
            return ApiError::Forbidden {
                code: "csrf",
                message: format!(
                    "State-changing requests must come from the Plico app (missing {} header).",
                    plico_api::CSRF_HEADER
                ),
            }
            .into_response();
        }
    }
    next.run(request).await
}

async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let policy = state.static_files.content_security_policy_for(request.uri().path());
    let policy = HeaderValue::from_str(policy);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(csp) = policy {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    if state.config.behind_tls {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Logs the kind of request, never the raw path or query (which may carry a key hash or an
/// address), with the status and duration.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path();
    let area = if let Some(rest) = path.strip_prefix("/api/v1/") {
        // The first segment names the endpoint family (signup, login, account, keys…).
        rest.split('/').next().unwrap_or("").chars().take(32).collect::<String>()
    } else if path.starts_with("/.well-known/") {
        "wkd".to_owned()
    } else {
        "app".to_owned()
    };
    let response = next.run(request).await;
    tracing::info!(
        %method,
        area,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}
