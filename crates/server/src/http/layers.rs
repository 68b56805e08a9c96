//! The middleware (axum layers) every response passes: security headers, the CSRF check, the body limit,
//! idempotency keys, CORS for the key directory, and request logs without personal data.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::extract::{body_limit, Replay, IDEMPOTENCY_KEY};
use super::session;
use crate::AppState;

/// The Web Key Directory is read by other domains' browsers (the WKD draft asks for
/// `Access-Control-Allow-Origin: *`), on every answer: a 404 too, so that such a browser reads
/// "no key" instead of a CORS failure it cannot tell from a network error.
pub(super) async fn any_origin(mut response: Response) -> Response {
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// Refuses a body whose declared length is over the limit before reading a byte of it. Bodies
/// without a length are cut off by `DefaultBodyLimit` while streaming.
pub(super) async fn refuse_declared_oversize(State(state): State<AppState>, request: Request, next: Next) -> Response {
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

/// Requests that create something (a send, a filed message, a folder) may carry an
/// `Idempotency-Key`: the first successful answer is kept a day and given again, with
/// `Idempotent-Replayed: true`, to a repeat under the same key, so a send whose answer was lost
/// is not sent twice. A repeat is the same method on the same path: its body may differ, since a
/// device that sends again encrypts the message anew. The key is the signed-in account's; reused
/// on another endpoint it is refused (422), and while the first request runs a repeat waits
/// (409). A failed request keeps nothing, and may be tried again under the same key.
pub(super) async fn idempotent(State(state): State<AppState>, request: Request, next: Next) -> Response {
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
        Some(token) => session::live_session(&state, token).await.map(|session| session.account_id),
        None => Err(ApiError::Unauthorized),
    };
    let account_id = match account_id {
        Ok(account_id) => account_id,
        Err(ApiError::Unauthorized | ApiError::SessionRevoked) => return next.run(request).await,
        Err(error) => return error.into_response(),
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
pub(super) async fn csrf_guard(request: Request, next: Next) -> Response {
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

pub(super) async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
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
pub(super) async fn log_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // The endpoint family (signup, login, account, keys…), from a fixed list.
    let area = crate::metrics::Metrics::area_of(request.uri().path());
    let response = next.run(request).await;
    state.metrics.request(area, response.status().as_u16(), started.elapsed());
    tracing::info!(
        %method,
        area,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}
