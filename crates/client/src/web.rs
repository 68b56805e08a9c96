//! The API request every worker makes: `fetch` from the worker's scope, same-origin, with the
//! CSRF header the API asks for on every request that changes state (wasm only).

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Request, RequestCredentials, RequestInit, Response, WorkerGlobalScope};

use crate::flows::{Transport, TransportBody, TransportResponse};

/// A thrown JavaScript value as text.
pub fn js_error(value: JsValue) -> String {
    value
        .as_string()
        .or_else(|| js_sys::JSON::stringify(&value).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "unknown error".into())
}

/// `method` on the API's `path` (below `/api/v1`), with `body`.
pub async fn fetch(method: &str, path: &str, body: Option<TransportBody>) -> Result<TransportResponse, String> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    let content_type = body.as_ref().map(|body| body.content_type);
    let idempotency_key = body.as_ref().and_then(|body| body.idempotency_key.clone());
    if let Some(body) = &body {
        init.set_body(&js_sys::Uint8Array::from(body.bytes.as_slice()));
    }
    let request =
        Request::new_with_str_and_init(&format!("{}{path}", plico_api::API_PREFIX), &init).map_err(js_error)?;
    if let Some(content_type) = content_type {
        request.headers().set("content-type", content_type).map_err(js_error)?;
    }
    if method != "GET" {
        request.headers().set(plico_api::CSRF_HEADER, "1").map_err(js_error)?;
    }
    if let Some(key) = idempotency_key {
        request.headers().set("idempotency-key", &key).map_err(js_error)?;
    }
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    let response: Response = wasm_bindgen_futures::JsFuture::from(scope.fetch_with_request(&request))
        .await
        .map_err(js_error)?
        .unchecked_into();
    let buffer =
        wasm_bindgen_futures::JsFuture::from(response.array_buffer().map_err(js_error)?).await.map_err(js_error)?;
    Ok(TransportResponse { status: response.status(), body: js_sys::Uint8Array::new(&buffer).to_vec() })
}

/// The API as a [`Transport`], for a worker that needs nothing more than [`fetch`].
pub struct Fetch;

impl Transport for Fetch {
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<TransportBody>,
    ) -> Result<TransportResponse, String> {
        fetch(method, path, body).await
    }
}
