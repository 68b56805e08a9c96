//! JSON for the UI's own API calls through the browser's `JSON.parse` and `JSON.stringify`, read
//! and written field by field. The UI thread makes only a handful of calls that need no key;
//! serde_json's parser and writer cost more of the UI's size budget than these few types.
//! Everything that needs a key goes through the worker, which keeps serde_json.

use js_sys::{Array, Object, Reflect, JSON};
use plico_api::mail::{MessageIds, MessageUpdate};
use plico_api::{Account, AccountSettings, ErrorBody, ErrorDetail, LoginEvent, LoginHistory, LoginKind, ServerInfo};
use wasm_bindgen::JsValue;

/// A type the UI reads from an API answer.
pub trait FromJson: Sized {
    fn from_js(value: &JsValue) -> Option<Self>;
}

/// A type the UI sends as a request body.
pub trait ToJson {
    fn to_js(&self) -> JsValue;
}

/// Parses `text`; `None` when it is not JSON or not of the expected shape.
pub fn parse<T: FromJson>(text: &str) -> Option<T> {
    JSON::parse(text).ok().and_then(|value| T::from_js(&value))
}

pub fn stringify(value: &impl ToJson) -> Option<String> {
    JSON::stringify(&value.to_js()).ok().and_then(|text| text.as_string())
}

fn field(value: &JsValue, name: &str) -> JsValue {
    if !value.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(value, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn string(value: &JsValue, name: &str) -> Option<String> {
    field(value, name).as_string()
}

/// A whole number within the range JSON numbers carry exactly.
fn integer(value: &JsValue, name: &str) -> Option<i64> {
    let number = field(value, name).as_f64()?;
    let whole = number as i64;
    (whole as f64 == number && whole.unsigned_abs() < (1 << 53)).then_some(whole)
}

fn boolean(value: &JsValue, name: &str) -> Option<bool> {
    field(value, name).as_bool()
}

fn set(object: &Object, name: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(name), value);
}

fn strings(values: &[String]) -> JsValue {
    values.iter().map(|value| JsValue::from_str(value)).collect::<Array>().into()
}

impl FromJson for ErrorBody {
    fn from_js(value: &JsValue) -> Option<Self> {
        let error = field(value, "error");
        Some(ErrorBody { error: ErrorDetail { code: string(&error, "code")?, message: string(&error, "message")? } })
    }
}

impl FromJson for ServerInfo {
    fn from_js(value: &JsValue) -> Option<Self> {
        Some(ServerInfo {
            domain: string(value, "domain")?,
            version: string(value, "version")?,
            max_attachment_bytes: u64::try_from(integer(value, "max_attachment_bytes")?).ok()?,
        })
    }
}

impl FromJson for Account {
    fn from_js(value: &JsValue) -> Option<Self> {
        Some(Account {
            address: string(value, "address")?,
            fingerprint: string(value, "fingerprint")?,
            public_cert: string(value, "public_cert")?,
            sealed_secret_key: string(value, "sealed_secret_key")?,
            created_at: integer(value, "created_at")?,
            mail_analysis: boolean(value, "mail_analysis")?,
        })
    }
}

impl FromJson for AccountSettings {
    fn from_js(value: &JsValue) -> Option<Self> {
        Some(AccountSettings { mail_analysis: boolean(value, "mail_analysis")? })
    }
}

impl FromJson for LoginHistory {
    fn from_js(value: &JsValue) -> Option<Self> {
        let events = field(value, "events");
        if !Array::is_array(&events) {
            return None;
        }
        let events = Array::from(&events)
            .iter()
            .map(|event| {
                Some(LoginEvent {
                    id: integer(&event, "id")?,
                    at: integer(&event, "at")?,
                    ip: string(&event, "ip")?,
                    user_agent: string(&event, "user_agent")?,
                    kind: match string(&event, "kind")?.as_str() {
                        "signup" => LoginKind::Signup,
                        "password" => LoginKind::Password,
                        _ => return None,
                    },
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(LoginHistory { events, retention_days: u32::try_from(integer(value, "retention_days")?).ok()? })
    }
}

impl ToJson for MessageUpdate {
    fn to_js(&self) -> JsValue {
        let object = Object::new();
        set(&object, "ids", &strings(&self.ids));
        let folder = self.folder_id.as_deref().map(JsValue::from_str).unwrap_or(JsValue::NULL);
        set(&object, "folder_id", &folder);
        set(&object, "add_flags", &JsValue::from_f64(f64::from(self.add_flags)));
        set(&object, "remove_flags", &JsValue::from_f64(f64::from(self.remove_flags)));
        object.into()
    }
}

impl ToJson for MessageIds {
    fn to_js(&self) -> JsValue {
        let object = Object::new();
        set(&object, "ids", &strings(&self.ids));
        object.into()
    }
}

impl ToJson for AccountSettings {
    fn to_js(&self) -> JsValue {
        let object = Object::new();
        set(&object, "mail_analysis", &JsValue::from_bool(self.mail_analysis));
        object.into()
    }
}
