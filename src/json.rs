//! JSON for the UI's own API calls through the browser's `JSON.parse` and `JSON.stringify`, read
//! and written field by field. The UI thread makes only a handful of calls that need no key;
//! serde_json's parser and writer cost more of the UI's size budget than these few types.
//! Everything that needs a key goes through the worker, which keeps serde_json.

use js_sys::{Array, Object, Reflect, JSON};
use plico_api::mail::{MessageIds, MessageUpdate};
use plico_api::{Account, AccountSettings, ErrorBody, ErrorDetail, ServerInfo, StorageUsage};
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
    stringify_dyn(value)
}

pub fn stringify_dyn(value: &dyn ToJson) -> Option<String> {
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

impl FromJson for StorageUsage {
    fn from_js(value: &JsValue) -> Option<Self> {
        Some(StorageUsage {
            used_bytes: u64::try_from(integer(value, "used_bytes")?).ok()?,
            quota_bytes: u64::try_from(integer(value, "quota_bytes")?).ok()?,
        })
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

mod privacy {
    //! The privacy pages' answers, and the consent receipts kept in this browser.

    use js_sys::{Array, Object};
    use plico_api::privacy::{
        ClosedAccount, ConfirmRecoveryAddress, ConsentCategory, ConsentMethod, ConsentReceipt, DataHeld, HeldItem,
        Integration, Policy, RecoveryAddress, RetentionRule, SetRecoveryAddress, Transparency, TransparencyReport,
    };
    use wasm_bindgen::JsValue;

    use super::{boolean, field, integer, set, string, strings, FromJson, ToJson};

    fn list<T>(value: &JsValue, name: &str, item: impl Fn(&JsValue) -> Option<T>) -> Option<Vec<T>> {
        let items = field(value, name);
        if !Array::is_array(&items) {
            return None;
        }
        Array::from(&items).iter().map(|value| item(&value)).collect()
    }

    fn category(text: &str) -> Option<ConsentCategory> {
        Some(match text {
            "necessary" => ConsentCategory::Necessary,
            "preferences" => ConsentCategory::Preferences,
            "analytics" => ConsentCategory::Analytics,
            "marketing" => ConsentCategory::Marketing,
            _ => return None,
        })
    }

    pub fn category_name(category: ConsentCategory) -> &'static str {
        match category {
            ConsentCategory::Necessary => "necessary",
            ConsentCategory::Preferences => "preferences",
            ConsentCategory::Analytics => "analytics",
            ConsentCategory::Marketing => "marketing",
        }
    }

    fn method_name(method: ConsentMethod) -> &'static str {
        match method {
            ConsentMethod::Banner => "banner",
            ConsentMethod::Settings => "settings",
            ConsentMethod::Gpc => "gpc",
        }
    }

    fn optional_string(value: &JsValue, name: &str) -> Option<Option<String>> {
        let raw = field(value, name);
        if raw.is_null() || raw.is_undefined() {
            Some(None)
        } else {
            raw.as_string().map(Some)
        }
    }

    impl FromJson for Policy {
        fn from_js(value: &JsValue) -> Option<Self> {
            Some(Policy {
                version: u32::try_from(integer(value, "version")?).ok()?,
                published: string(value, "published")?,
                changes: string(value, "changes")?,
                privacy: string(value, "privacy")?,
                terms: string(value, "terms")?,
                retention: list(value, "retention", |row| {
                    Some(RetentionRule { data: string(row, "data")?, kept: string(row, "kept")? })
                })?,
                integrations: list(value, "integrations", |row| {
                    Some(Integration {
                        id: string(row, "id")?,
                        name: string(row, "name")?,
                        category: category(&string(row, "category")?)?,
                        script: string(row, "script")?,
                        cookies: list(row, "cookies", JsValue::as_string)?,
                    })
                })?,
                gpc: boolean(value, "gpc").unwrap_or(false),
            })
        }
    }

    impl FromJson for ConsentReceipt {
        fn from_js(value: &JsValue) -> Option<Self> {
            Some(ConsentReceipt {
                policy_version: u32::try_from(integer(value, "policy_version")?).ok()?,
                categories: list(value, "categories", |item| category(&item.as_string()?))?,
                at: integer(value, "at")?,
                method: match string(value, "method")?.as_str() {
                    "banner" => ConsentMethod::Banner,
                    "settings" => ConsentMethod::Settings,
                    "gpc" => ConsentMethod::Gpc,
                    _ => return None,
                },
            })
        }
    }

    impl ToJson for ConsentReceipt {
        fn to_js(&self) -> JsValue {
            let object = Object::new();
            set(&object, "policy_version", &JsValue::from_f64(f64::from(self.policy_version)));
            let names: Vec<String> = self.categories.iter().map(|c| category_name(*c).to_owned()).collect();
            set(&object, "categories", &strings(&names));
            set(&object, "at", &JsValue::from_f64(self.at as f64));
            set(&object, "method", &JsValue::from_str(method_name(self.method)));
            object.into()
        }
    }

    /// The receipts kept in this browser.
    pub struct Receipts(pub Vec<ConsentReceipt>);

    impl FromJson for Receipts {
        fn from_js(value: &JsValue) -> Option<Self> {
            if !Array::is_array(value) {
                return None;
            }
            Array::from(value).iter().map(|item| ConsentReceipt::from_js(&item)).collect::<Option<_>>().map(Receipts)
        }
    }

    impl ToJson for Receipts {
        fn to_js(&self) -> JsValue {
            self.0.iter().map(ToJson::to_js).collect::<Array>().into()
        }
    }

    impl FromJson for DataHeld {
        fn from_js(value: &JsValue) -> Option<Self> {
            let number = |row: &JsValue, name: &str| integer(row, name);
            Some(DataHeld {
                items: list(value, "items", |row| {
                    Some(HeldItem {
                        kind: string(row, "kind")?,
                        description: string(row, "description")?,
                        count: number(row, "count").map(|n| n as u64),
                        bytes: number(row, "bytes").map(|n| n as u64),
                        deleted_at: number(row, "deleted_at"),
                        rule: string(row, "rule")?,
                        since: number(row, "since"),
                    })
                })?,
            })
        }
    }

    impl FromJson for Transparency {
        fn from_js(value: &JsValue) -> Option<Self> {
            let canary = field(value, "canary");
            Some(Transparency {
                reports: list(value, "reports", |row| {
                    Some(TransparencyReport {
                        title: string(row, "title")?,
                        date: string(row, "date")?,
                        summary: string(row, "summary")?,
                        url: optional_string(row, "url")?,
                    })
                })?,
                canary: plico_api::privacy::Canary {
                    statement: optional_string(&canary, "statement")?,
                    service_key: optional_string(&canary, "service_key")?,
                    max_age_days: u32::try_from(integer(&canary, "max_age_days")?).ok()?,
                },
            })
        }
    }

    impl FromJson for RecoveryAddress {
        fn from_js(value: &JsValue) -> Option<Self> {
            Some(RecoveryAddress {
                address: optional_string(value, "address")?,
                confirmed: boolean(value, "confirmed")?,
                code_sent: boolean(value, "code_sent")?,
            })
        }
    }

    impl FromJson for ClosedAccount {
        fn from_js(value: &JsValue) -> Option<Self> {
            Some(ClosedAccount {
                closed_at: integer(value, "closed_at")?,
                reopen_until: integer(value, "reopen_until")?,
                purge_at: integer(value, "purge_at")?,
            })
        }
    }

    impl ToJson for SetRecoveryAddress {
        fn to_js(&self) -> JsValue {
            let object = Object::new();
            set(&object, "address", &self.address.as_deref().map(JsValue::from_str).unwrap_or(JsValue::NULL));
            object.into()
        }
    }

    impl ToJson for ConfirmRecoveryAddress {
        fn to_js(&self) -> JsValue {
            let object = Object::new();
            set(&object, "code", &JsValue::from_str(&self.code));
            object.into()
        }
    }

    impl ToJson for plico_api::security::FactorResetRequest {
        fn to_js(&self) -> JsValue {
            let object = Object::new();
            set(&object, "pending_id", &JsValue::from_str(&self.pending_id));
            object.into()
        }
    }

    impl FromJson for plico_api::security::FactorResetStarted {
        fn from_js(value: &JsValue) -> Option<Self> {
            Some(plico_api::security::FactorResetStarted {
                ready_at: integer(value, "ready_at")?,
                expires_at: integer(value, "expires_at")?,
                mailed_to: string(value, "mailed_to")?,
            })
        }
    }
}

pub use privacy::{category_name, Receipts};
