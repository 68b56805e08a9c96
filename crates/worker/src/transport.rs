//! `fetch` from the worker, same-origin, with the CSRF header the API asks for.

use plico_client::flows::{Transport, TransportBody, TransportResponse};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, Request, RequestCredentials, RequestInit, Response};

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

pub struct FetchTransport;

fn js_error(value: JsValue) -> String {
    value
        .as_string()
        .or_else(|| js_sys::JSON::stringify(&value).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "unknown error".into())
}

impl Transport for FetchTransport {
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<TransportBody>,
    ) -> Result<TransportResponse, String> {
        let init = RequestInit::new();
        init.set_method(method);
        init.set_credentials(RequestCredentials::SameOrigin);
        let content_type = body.as_ref().map(|body| body.content_type);
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
        let response: Response = wasm_bindgen_futures::JsFuture::from(scope().fetch_with_request(&request))
            .await
            .map_err(js_error)?
            .unchecked_into();
        let buffer =
            wasm_bindgen_futures::JsFuture::from(response.array_buffer().map_err(js_error)?).await.map_err(js_error)?;
        Ok(TransportResponse { status: response.status(), body: js_sys::Uint8Array::new(&buffer).to_vec() })
    }
}
