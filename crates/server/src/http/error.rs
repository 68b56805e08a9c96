//! The API's one error type. Every failure becomes `{"error":{"code","message"}}` with the right
//! status; internal details are logged, never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use plico_api::{ErrorBody, ErrorDetail};

/// `Result` with [`ApiError`] as the default error.
pub type ApiResult<T, E = ApiError> = Result<T, E>;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is not well-formed.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 401: no valid session.
    #[error("You are not signed in.")]
    Unauthorized,
    /// 401: the session was ended from another device or by a password change; the browser
    /// wipes what it keeps.
    #[error("This session was ended from another device or by a password change. Sign in again.")]
    SessionRevoked,
    /// 401: the login proof did not check out, or the account does not exist.
    #[error("Wrong name or password.")]
    InvalidLogin,
    /// 403: the request is not allowed (for example, it failed the CSRF check).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// 404.
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// 405.
    #[error("This method is not allowed here.")]
    MethodNotAllowed,
    /// 409: the request conflicts with what is stored.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 413.
    #[error("The request body is larger than the limit of {limit} bytes.")]
    PayloadTooLarge { limit: usize },
    /// 413 with its own explanation: the request asks for more than the server takes in one go
    /// (a message for more recipients than it sends to).
    #[error("{message}")]
    TooLarge { code: &'static str, message: String },
    /// 415.
    #[error("{message}")]
    UnsupportedMediaType { message: String },
    /// 507: the account's storage quota would be passed.
    #[error("{message}")]
    QuotaExceeded { message: String },
    /// 422: well-formed but invalid.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// 429.
    #[error("Too many attempts. Try again in {retry_after_seconds} seconds.")]
    RateLimited { retry_after_seconds: u64 },
    /// 429 with its own explanation (a quota such as the sending limit).
    #[error("{message}")]
    Limited { code: &'static str, message: String, retry_after_seconds: u64 },
    /// 500. The detail is logged and never sent.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The 507 answer when `adding` more bytes would take `whose` storage past its quota.
    pub fn quota_exceeded(whose: &str, used: u64, quota: u64, adding: u64) -> ApiError {
        use crate::human_bytes;
        ApiError::QuotaExceeded {
            message: format!(
                "{whose} is full: {} of {} used, and this needs {} more. Delete mail and empty the \
                 Trash to make room (deleted mail counts until it is purged).",
                human_bytes(used),
                human_bytes(quota),
                human_bytes(adding)
            ),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest { code, message: message.into() }
    }
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid { code, message: message.into() }
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::NotFound { code, message: message.into() }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict { code, message: message.into() }
    }
    /// 403: the change asks for the password again (`login/finish` with `reauthenticate`).
    pub fn reauth_required() -> Self {
        ApiError::Forbidden {
            code: "reauth_required",
            message: "This change asks for your password again: confirm it, then retry within five minutes.".into(),
        }
    }
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ApiError::Internal(detail.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::SessionRevoked | ApiError::InvalidLogin => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } | ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::QuotaExceeded { .. } => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } | ApiError::Limited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Invalid { code, .. }
            | ApiError::TooLarge { code, .. }
            | ApiError::Limited { code, .. } => code,
            ApiError::Unauthorized => "unauthorized",
            ApiError::SessionRevoked => "session_revoked",
            ApiError::InvalidLogin => "invalid_login",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge { .. } => "body_too_large",
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type",
            ApiError::QuotaExceeded { .. } => "quota_exceeded",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "Something went wrong on the server. Nothing was changed; try again.".to_owned()
            }
            other => other.to_string(),
        };
        let body = ErrorBody { error: ErrorDetail { code: self.code().to_owned(), message } };
        let mut response = (status, axum::Json(body)).into_response();
        if let ApiError::RateLimited { retry_after_seconds } | ApiError::Limited { retry_after_seconds, .. } = self {
            if let Ok(value) = HeaderValue::from_str(&retry_after_seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// Refuses to store `adding` more bytes for `account_id` when that would pass its quota (507).
/// `whose` names the mailbox in the message: "Your mailbox", or another account's address.
pub async fn check_room(state: &crate::AppState, account_id: i64, adding: u64, whose: &str) -> ApiResult<()> {
    let (used, quota) = state.store.storage(account_id, state.default_quota()).await?;
    let usage = crate::store::Usage { used, quota };
    if !usage.would_pass(adding) {
        return Ok(());
    }
    Err(ApiError::quota_exceeded(whose, used, quota, adding))
}

impl From<crate::store::Error> for ApiError {
    fn from(error: crate::store::Error) -> Self {
        ApiError::Internal(format!("database: {error}"))
    }
}
