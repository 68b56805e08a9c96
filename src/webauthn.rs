//! Passkeys in the page: `navigator.credentials.create` and `.get` with the server's options
//! (WebAuthn's JSON form, `{"publicKey": {...}}`), answered as the credential's `toJSON()` text
//! for the server. Through `js_sys::Reflect` and the browser's own JSON parsers
//! (`PublicKeyCredential.parse*OptionsFromJSON`), so no web-sys features and little size. The
//! Settings app shares this file (it registers passkeys; the sign-in page uses them).

use js_sys::{Function, Object, Promise, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};

/// Why the browser gave no credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The user cancelled, or no authenticator answered in time.
    Cancelled,
    /// This browser has no WebAuthn (or not its JSON methods).
    Unsupported,
    /// The page is not on the address passkeys are bound to (the server's `--public-url`).
    WrongAddress,
    /// The authenticator holds a passkey for this account already.
    Registered,
    /// Anything else, as the browser said it.
    Other(String),
}

impl Refusal {
    /// What to tell the user.
    pub fn describe(&self) -> String {
        use crate::i18n::{t, tf};
        match self {
            Refusal::Cancelled => t("No passkey was used: the request was cancelled or timed out. Try again."),
            Refusal::Unsupported => t("This browser cannot use passkeys."),
            Refusal::WrongAddress => {
                t("Passkeys work only at the address this Plico server is set up for. Open Plico there and try again.")
            }
            Refusal::Registered => t("This authenticator holds a passkey for your account already."),
            Refusal::Other(why) => tf("The passkey could not be used: {why}", &[("why", why)]),
        }
    }
}

/// Makes a passkey with `options` (`navigator.credentials.create`).
pub async fn create(options: &str) -> Result<String, Refusal> {
    ceremony("create", "parseCreationOptionsFromJSON", options).await
}

/// Signs in with a passkey for `options` (`navigator.credentials.get`).
pub async fn get(options: &str) -> Result<String, Refusal> {
    ceremony("get", "parseRequestOptionsFromJSON", options).await
}

fn field(from: &JsValue, name: &str) -> Result<JsValue, Refusal> {
    Reflect::get(from, &JsValue::from_str(name))
        .ok()
        .filter(|value| !value.is_undefined() && !value.is_null())
        .ok_or(Refusal::Unsupported)
}

fn function(from: &JsValue, name: &str) -> Result<Function, Refusal> {
    field(from, name)?.dyn_into::<Function>().map_err(|_| Refusal::Unsupported)
}

fn refusal(error: JsValue) -> Refusal {
    let text = |name: &str| Reflect::get(&error, &JsValue::from_str(name)).ok().and_then(|value| value.as_string());
    match text("name").as_deref() {
        Some("NotAllowedError" | "AbortError") => Refusal::Cancelled,
        Some("SecurityError") => Refusal::WrongAddress,
        Some("InvalidStateError") => Refusal::Registered,
        Some("NotSupportedError") => Refusal::Unsupported,
        _ => Refusal::Other(text("message").or_else(|| error.as_string()).unwrap_or_default()),
    }
}

async fn ceremony(method: &str, parser: &str, options: &str) -> Result<String, Refusal> {
    let global = js_sys::global();
    let class = field(&global, "PublicKeyCredential")?;
    let parse = function(&class, parser)?;
    let json = JSON::parse(options).map_err(refusal)?;
    let public_key = parse.call1(&class, &field(&json, "publicKey")?).map_err(refusal)?;
    let request = Object::new();
    Reflect::set(&request, &JsValue::from_str("publicKey"), &public_key).map_err(refusal)?;
    let credentials = field(&field(&global, "navigator")?, "credentials")?;
    let promise = function(&credentials, method)?.call1(&credentials, &request).map_err(refusal)?;
    let credential =
        wasm_bindgen_futures::JsFuture::from(promise.unchecked_into::<Promise>()).await.map_err(refusal)?;
    if credential.is_null() || credential.is_undefined() {
        return Err(Refusal::Cancelled);
    }
    let answer = function(&credential, "toJSON")?.call0(&credential).map_err(refusal)?;
    JSON::stringify(&answer).map_err(refusal)?.as_string().ok_or(Refusal::Unsupported)
}
