//! The extractors every handler shares: JSON bodies and query strings whose rejections are
//! [`ApiError`]s naming what is wrong, raw message bodies, the body limits, and the first answer
//! a repeated `Idempotency-Key` replays.

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::de::DeserializeOwned;

use super::error::{ApiError, ApiResult};
use crate::AppState;

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

/// A send carries mail to other servers in the request itself (base64), so it may be as big as a
/// message a third over, and the rest of the request.
pub(super) fn send_body_limit(state: &AppState) -> usize {
    state.config.max_message_bytes / 3 * 4 + state.config.max_body_bytes
}

/// The body limit for a request: blob uploads may carry a whole message, a send a whole message
/// in base64, everything else is small. The declared length is held to the same limit as the
/// body itself ([`refuse_declared_oversize`]).
pub(super) fn body_limit(state: &AppState, request: &Request) -> usize {
    // Inside the API's nested router the prefix is already gone from the path.
    let path = request.uri().path();
    match path.strip_prefix(plico_api::API_PREFIX).unwrap_or(path) {
        "/blobs" => state.config.max_message_bytes,
        "/messages/send" => send_body_limit(state),
        _ => state.config.max_body_bytes,
    }
}

/// The first answer to a request whose `Idempotency-Key` is repeated: its handler checks the
/// repeat, then answers with this instead of acting again ([`Replay::answer`]).
#[derive(Clone)]
pub struct Replay {
    pub(super) status: u16,
    pub(super) body: Vec<u8>,
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

/// A base64 field's bytes, or a 400 naming the field.
pub fn decode_base64(field: &'static str, value: &str) -> ApiResult<Vec<u8>> {
    BASE64.decode(value).map_err(|_| ApiError::bad_request("malformed_field", format!("{field} is not valid base64.")))
}
