//! Outside correspondents' keys, looked up from the browser ([`ContactsCommand::LookUpKey`],
//! wasm only): the WKD draft asks each domain to answer any origin
//! (`Access-Control-Allow-Origin: *`), so this worker asks the domain itself and the server never
//! learns whose key was wanted. Only when neither of the domain's two places gives an answer this
//! worker may read (no CORS header, no such host, no answer in time) does it ask the server's
//! `/keys/outside`, which looks the key up the same way from the server.
//!
//! The contacts worker is served with a policy of its own that lets it connect to `https:`
//! origins (`plico_server::static_files`); the page and the crypto worker, which holds the
//! account's secret key, keep `connect-src 'self'`. Requests go without cookies, without a
//! referrer (the worker's `Referrer-Policy`), five seconds each. What comes back is checked by
//! the crypto worker (`plico_client::mail::fetch_outside_cert`): a key counts only with a User ID
//! naming the address.
//!
//! [`ContactsCommand::LookUpKey`]: plico_api::contacts::ContactsCommand::LookUpKey

use js_sys::Uint8Array;
use plico_client::flows::Transport;
use plico_wkd::{lookups, MAX_KEY_BYTES};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, RequestCredentials, RequestInit, RequestMode, Response};

use crate::worker::{scope, Fetch};

/// How long each of the domain's places is given.
const TIMEOUT_MS: u32 = 5_000;

/// The certificate `address`'s domain publishes, as published (binary or armored); `None` when
/// it publishes none.
pub async fn look_up(address: &str) -> Result<Option<Vec<u8>>, String> {
    let address = address.trim();
    let places = lookups(address).ok_or_else(|| format!("{address} is not an e-mail address."))?;
    let mut answered = false;
    for (host, path) in places {
        match get(&format!("https://{host}{path}")).await {
            Some(Some(key)) => return Ok(Some(key)),
            Some(None) => answered = true,
            None => {}
        }
    }
    if answered {
        return Ok(None);
    }
    // The server's lookup, as every transport asks it by default.
    Fetch.outside_key(address).await.map_err(|error| error.to_string())
}

/// A GET to another origin: `Some(Some(body))` for a key, `Some(None)` for "none here" (a 404
/// this worker could read), `None` when nothing could be read (the network, CORS, the time, an
/// answer too large or of another kind).
async fn get(url: &str) -> Option<Option<Vec<u8>>> {
    let init = RequestInit::new();
    init.set_mode(RequestMode::Cors);
    init.set_credentials(RequestCredentials::Omit);
    init.set_signal(Some(&AbortSignal::timeout_with_u32(TIMEOUT_MS)));
    let response: Response = JsFuture::from(scope().fetch_with_str_and_init(url, &init)).await.ok()?.unchecked_into();
    match response.status() {
        200 => {
            let buffer = JsFuture::from(response.array_buffer().ok()?).await.ok()?;
            let bytes = Uint8Array::new(&buffer);
            ((bytes.length() as usize) <= MAX_KEY_BYTES).then(|| Some(bytes.to_vec()))
        }
        404 => Some(None),
        _ => None,
    }
}
