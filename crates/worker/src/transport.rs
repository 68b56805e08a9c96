//! The crypto worker's transport: `plico_client::web::fetch`, with the last key lookups kept
//! for offline use, blobs read through the device's copies, and uploads with progress.

use futures_util::StreamExt;
use std::cell::RefCell;
use std::collections::HashMap;

use plico_client::flows::{BlobUse, Transport, TransportBody, TransportResponse};
use plico_client::FlowError;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ProgressEvent, XmlHttpRequest, XmlHttpRequestResponseType};

pub struct FetchTransport;

thread_local! {
    /// The last answer to each key lookup (the directory, WKD through the server, the keyring),
    /// for when the network is down: a message opened offline still has its signature checked
    /// with the key fetched earlier this session.
    static LAST_KEYS: RefCell<HashMap<String, TransportResponse>> = RefCell::new(HashMap::new());
}

/// Forgets the remembered key lookups (sign-out).
pub fn forget() {
    LAST_KEYS.with(|keys| keys.borrow_mut().clear());
}

fn remembered(path: &str) -> bool {
    path.starts_with("/keys/") || path == "/account/keyring"
}

use plico_client::web::{fetch, js_error};

/// A 401 `session_revoked` means the account's owner ended this session elsewhere: this device
/// forgets the keys and deletes what it keeps before the answer goes on.
async fn fetch_checked(method: &str, path: &str, body: Option<TransportBody>) -> Result<TransportResponse, String> {
    let response = fetch(method, path, body).await;
    if let Ok(answer) = &response {
        if answer.status == 401 && answer.body.windows(15).any(|window| window == b"session_revoked") {
            crate::session::revoked().await;
        }
    }
    response
}

impl Transport for FetchTransport {
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<TransportBody>,
    ) -> Result<TransportResponse, String> {
        if !remembered(path) {
            return fetch_checked(method, path, body).await;
        }
        if method != "GET" {
            // A write makes the remembered answer stale: offline, an older keyring than this
            // device has seen would read as a rollback, and sending would fail instead of
            // waiting in the Outbox.
            LAST_KEYS.with(|keys| keys.borrow_mut().remove(path));
            return fetch_checked(method, path, body).await;
        }
        match fetch_checked(method, path, body).await {
            Ok(response) => {
                if matches!(response.status, 200 | 404) {
                    LAST_KEYS.with(|keys| keys.borrow_mut().insert(path.to_owned(), response.clone()));
                }
                Ok(response)
            }
            Err(error) => LAST_KEYS.with(|keys| keys.borrow().get(path).cloned()).ok_or(error),
        }
    }

    async fn kept_blob(&self, hash: &str) -> Option<Vec<u8>> {
        crate::offline::kept(hash).await
    }

    fn keep_blob(&self, hash: &str, blob: &[u8], why: BlobUse) {
        crate::offline::keep(hash, blob, why)
    }

    async fn seen_version(&self, path: &str) -> i64 {
        crate::offline::seen_version(path).await
    }

    async fn saw_version(&self, path: &str, version: i64) {
        crate::offline::saw_version(path, version).await
    }

    /// Outside keys are looked up by the contacts worker, from the browser (`contacts::look_up`),
    /// never by the server's `/keys/outside` straight from here.
    async fn outside_key(&self, address: &str) -> Result<Option<Vec<u8>>, FlowError> {
        let session = crate::session::current().ok_or_else(crate::session::locked)?;
        Box::pin(crate::contacts::look_up(&session, address)).await.map_err(FlowError::Network)
    }

    /// XMLHttpRequest, for its upload progress events (fetch has none for request bodies).
    async fn upload(
        &self,
        path: &str,
        body: TransportBody,
        progress: &dyn Fn(u64, u64),
    ) -> Result<TransportResponse, String> {
        let xhr = XmlHttpRequest::new().map_err(js_error)?;
        xhr.open("POST", &format!("{}{path}", plico_api::API_PREFIX)).map_err(js_error)?;
        xhr.set_request_header("content-type", body.content_type).map_err(js_error)?;
        xhr.set_request_header(plico_api::CSRF_HEADER, "1").map_err(js_error)?;
        xhr.set_response_type(XmlHttpRequestResponseType::Arraybuffer);
        // The progress callback lives on this stack frame; the events arrive while it awaits
        // below, and the handlers are removed before it returns.
        let (sender, receiver) = futures_channel::mpsc::unbounded::<(u64, u64)>();
        let on_progress = Closure::<dyn Fn(ProgressEvent)>::new(move |event: ProgressEvent| {
            let _ = sender.unbounded_send((event.loaded() as u64, event.total() as u64));
        });
        let upload = xhr.upload().map_err(js_error)?;
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        let done = js_sys::Promise::new(&mut |resolve, reject| {
            xhr.set_onload(Some(&resolve));
            xhr.set_onerror(Some(&reject));
            xhr.set_onabort(Some(&reject));
        });
        let array = js_sys::Uint8Array::from(body.bytes.as_slice());
        drop(body);
        xhr.send_with_opt_buffer_source(Some(&array)).map_err(js_error)?;
        let mut events = receiver;
        let finished = wasm_bindgen_futures::JsFuture::from(done);
        futures_util::pin_mut!(finished);
        let outcome = loop {
            match futures_util::future::select(events.next(), finished.as_mut()).await {
                futures_util::future::Either::Left((Some((sent, total)), _)) => progress(sent, total),
                futures_util::future::Either::Left((None, rest)) => break rest.await,
                futures_util::future::Either::Right((result, _)) => break result,
            }
        };
        upload.set_onprogress(None);
        xhr.set_onload(None);
        xhr.set_onerror(None);
        xhr.set_onabort(None);
        outcome.map_err(|_| "the upload failed: the connection was lost".to_owned())?;
        let total = array.length() as u64;
        progress(total, total);
        let body = xhr.response().map(|buffer| js_sys::Uint8Array::new(&buffer).to_vec()).unwrap_or_default();
        Ok(TransportResponse { status: xhr.status().map_err(js_error)?, body })
    }
}
