//! Small `fetch` helpers for the API calls the UI thread makes itself (everything that needs a
//! key goes through the worker instead).

use plico_api::ErrorBody;

use crate::json::{FromJson, ToJson};
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestCredentials, RequestInit, Response};

/// A failed API call, with the server's code and sentence when it sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiFailure {
    fn network(error: JsValue) -> Self {
        ApiFailure {
            status: 0,
            code: "network".into(),
            message: crate::i18n::tf(
                "Could not reach the server ({reason}). Check your connection.",
                &[("reason", &error.as_string().unwrap_or_default())],
            ),
        }
    }
}

async fn fetch(method: &str, path: &str) -> Result<(u16, String), ApiFailure> {
    fetch_with_body(method, path, None).await
}

async fn fetch_with_body(method: &str, path: &str, json: Option<String>) -> Result<(u16, String), ApiFailure> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(json) = &json {
        init.set_body(&JsValue::from_str(json));
    }
    let request = Request::new_with_str_and_init(&format!("{}{path}", plico_api::API_PREFIX), &init)
        .map_err(ApiFailure::network)?;
    if json.is_some() {
        request.headers().set("content-type", "application/json").map_err(ApiFailure::network)?;
    }
    if method != "GET" {
        request.headers().set(plico_api::CSRF_HEADER, "1").map_err(ApiFailure::network)?;
    }
    let window = web_sys::window().ok_or_else(|| ApiFailure::network(JsValue::from_str("no window")))?;
    let response: Response =
        JsFuture::from(window.fetch_with_request(&request)).await.map_err(ApiFailure::network)?.unchecked_into();
    let text = JsFuture::from(response.text().map_err(ApiFailure::network)?).await.map_err(ApiFailure::network)?;
    let status = response.status();
    let body = text.as_string().unwrap_or_default();
    if (200..300).contains(&status) {
        return Ok((status, body));
    }
    Err(match crate::json::parse::<ErrorBody>(&body) {
        Some(ErrorBody { error }) => ApiFailure { status, code: error.code, message: error.message },
        None => ApiFailure {
            status,
            code: "http".into(),
            message: crate::i18n::tf("The server answered HTTP {status}.", &[("status", &status.to_string())]),
        },
    })
}

/// GETs and parses JSON.
pub async fn get_json<T: FromJson>(path: &str) -> Result<T, ApiFailure> {
    let (status, body) = fetch("GET", path).await?;
    crate::json::parse(&body).ok_or_else(|| ApiFailure {
        status,
        code: "unexpected_body".into(),
        message: crate::i18n::t("The server sent an answer this page cannot read; reload the page."),
    })
}

/// Sends a JSON body with `method` and ignores the answer's body.
pub async fn send_json<B: ToJson>(method: &str, path: &str, body: &B) -> Result<(), ApiFailure> {
    let json = crate::json::stringify(body).ok_or_else(|| ApiFailure {
        status: 0,
        code: "unserialisable".into(),
        message: crate::i18n::t("The request could not be written."),
    })?;
    fetch_with_body(method, path, Some(json)).await.map(|_| ())
}

/// Sends a bodiless request (DELETE, or a POST such as logout).
pub async fn send(method: &str, path: &str) -> Result<(), ApiFailure> {
    fetch(method, path).await.map(|_| ())
}

/// Sends `body` (or nothing) with `method` and parses the answer.
pub async fn call_json<T: FromJson>(method: &str, path: &str, body: Option<&dyn ToJson>) -> Result<T, ApiFailure> {
    let json = body.and_then(crate::json::stringify_dyn);
    let (status, text) = fetch_with_body(method, path, json).await?;
    crate::json::parse(&text).ok_or_else(|| ApiFailure {
        status,
        code: "unexpected_body".into(),
        message: crate::i18n::t("The server sent an answer this page cannot read; reload the page."),
    })
}
