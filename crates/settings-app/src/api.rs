//! The API from the page: same-origin `fetch` with the session cookie, JSON in and out, the
//! CSRF header on every request that changes state, and the API's errors as they come.

use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use web_sys::{Request, RequestCredentials, RequestInit, Response};

/// How a request failed: the API's error code and message, or what went wrong on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

impl Failure {
    fn network(message: String) -> Failure {
        Failure { code: "network".into(), message }
    }
}

fn describe(error: wasm_bindgen::JsValue) -> String {
    error.as_string().unwrap_or_else(|| crate::i18n::t("The server could not be reached."))
}

/// `method` on the API's `path` (below `/api/v1`) with an optional JSON body; the answer's
/// bytes (empty for 204).
pub async fn call(method: &str, path: &str, body: Option<serde_json::Value>) -> Result<Vec<u8>, Failure> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(body) = &body {
        init.set_body(&wasm_bindgen::JsValue::from_str(&body.to_string()));
    }
    let request = Request::new_with_str_and_init(&format!("{}{path}", plico_api::API_PREFIX), &init)
        .map_err(|error| Failure::network(describe(error)))?;
    let headers = request.headers();
    if body.is_some() {
        let _ = headers.set("content-type", "application/json");
    }
    if method != "GET" {
        let _ = headers.set(plico_api::CSRF_HEADER, "1");
    }
    let window = web_sys::window().ok_or_else(|| Failure::network("no window".into()))?;
    let response: Response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|error| Failure::network(describe(error)))?
        .unchecked_into();
    let buffer =
        wasm_bindgen_futures::JsFuture::from(response.array_buffer().map_err(|e| Failure::network(describe(e)))?)
            .await
            .map_err(|error| Failure::network(describe(error)))?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    if response.ok() {
        return Ok(bytes);
    }
    match serde_json::from_slice::<plico_api::ErrorBody>(&bytes) {
        Ok(body) => Err(Failure { code: body.error.code, message: body.error.message }),
        Err(_) => Err(Failure::network(format!("HTTP {}", response.status()))),
    }
}

/// [`call`], with the answer read as `T`.
pub async fn json<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<T, Failure> {
    let bytes = call(method, path, body).await?;
    serde_json::from_slice(&bytes).map_err(|error| Failure::network(error.to_string()))
}
