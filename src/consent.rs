//! Cookie and script consent, in the browser: nothing optional loads before the user chooses,
//! "Accept all" and "Reject all" are equally prominent, choices are per category, Global
//! Privacy Control counts as a refusal, and each decision is a receipt (kept in this browser
//! and, signed in, sealed to the account's key on the server). A new policy version asks again.

use leptos::prelude::*;
use plico_api::privacy::{ConsentCategory, ConsentMethod, ConsentReceipt, Integration, Policy};
use plico_api::worker::PrivacyCommand;
use plico_api::worker::WorkerOutcome;
use wasm_bindgen::{JsCast, JsValue};

use crate::i18n::n;
use crate::json::Receipts;
use crate::session::Session;

const RECEIPTS_KEY: &str = "plico.consent";
const GPC_SEEN_KEY: &str = "plico.gpc-seen";
/// What this device remembers only with the Preferences consent: the language and whether
/// keyboard shortcuts are off. Without it, such a choice lasts until the page closes.
pub const PREFERENCE_KEYS: [&str; 2] = [crate::i18n::CHOICE_KEY, SHORTCUTS_OFF_KEY];

/// Where the keyboard shortcuts' off switch is kept (`crate::shortcuts`), with Preferences consent.
pub const SHORTCUTS_OFF_KEY: &str = "plico.shortcuts";

/// The optional categories, in the order the chooser lists them.
pub const OPTIONAL: [(ConsentCategory, &str, &str); 3] = [
    (
        ConsentCategory::Preferences,
        n("Preferences"),
        n("Remember choices such as the language and keyboard shortcuts between visits."),
    ),
    (ConsentCategory::Analytics, n("Analytics"), n("Count visits and errors to improve the service.")),
    (ConsentCategory::Marketing, n("Marketing"), n("Measure campaigns.")),
];

/// The consent state, provided at the root.
#[derive(Clone, Copy)]
pub struct Consent {
    pub policy: RwSignal<Option<Policy>>,
    pub receipts: RwSignal<Vec<ConsentReceipt>>,
    /// The browser sends Global Privacy Control (the navigator says so, or its requests carry
    /// `Sec-GPC`, as the server reports with the policy).
    pub gpc: RwSignal<bool>,
    /// The banner (or, with `choosing`, the per-category chooser) is showing.
    pub open: RwSignal<bool>,
    pub choosing: RwSignal<bool>,
    /// Opened from the settings rather than shown on arrival.
    pub from_settings: RwSignal<bool>,
    /// The GPC notice is showing.
    pub gpc_notice: RwSignal<bool>,
    /// Integrations whose script this page loaded.
    loaded: RwSignal<Vec<String>>,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|window| window.local_storage().ok().flatten())
}

fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn gpc_on() -> bool {
    web_sys::window()
        .and_then(|window| js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("globalPrivacyControl")).ok())
        .and_then(|value| value.as_bool())
        .unwrap_or(false)
}

fn document() -> Option<web_sys::HtmlDocument> {
    web_sys::window().and_then(|window| window.document()).and_then(|document| document.dyn_into().ok())
}

/// Deletes the integration's cookies (on this path and the root).
fn remove_cookies(integration: &Integration) {
    let Some(document) = document() else { return };
    for name in &integration.cookies {
        let _ = document.set_cookie(&format!("{name}=; Max-Age=0; path=/"));
    }
}

fn load_script(integration: &Integration) {
    let Some(document) = document() else { return };
    let Ok(script) = document.create_element("script") else { return };
    let _ = script.set_attribute("src", &integration.script);
    let _ = script.set_attribute("data-integration", &integration.id);
    let _ = script.set_attribute("async", "");
    if let Some(head) = document.head() {
        let _ = head.append_child(&script);
    }
}

impl Consent {
    /// The decision in force for the current policy version.
    pub fn current(&self) -> Option<ConsentReceipt> {
        let version = self.policy.with(|policy| policy.as_ref().map(|policy| policy.version))?;
        self.receipts.with(|receipts| {
            receipts.iter().filter(|receipt| receipt.policy_version == version).max_by_key(|r| r.at).cloned()
        })
    }

    /// The user chose under an older version, and has not chosen under this one.
    pub fn policy_changed(&self) -> bool {
        let Some(version) = self.policy.with(|policy| policy.as_ref().map(|policy| policy.version)) else {
            return false;
        };
        self.current().is_none()
            && self.receipts.with(|receipts| receipts.iter().any(|receipt| receipt.policy_version < version))
    }

    pub fn granted(&self, category: ConsentCategory) -> bool {
        category == ConsentCategory::Necessary
            || self.current().is_some_and(|receipt| receipt.categories.contains(&category))
    }

    fn save_locally(&self) {
        if let (Some(storage), Some(text)) =
            (storage(), crate::json::stringify(&Receipts(self.receipts.get_untracked())))
        {
            let _ = storage.set_item(RECEIPTS_KEY, &text);
        }
    }

    /// Records a decision and acts on it.
    pub fn decide(&self, session: Session, mut categories: Vec<ConsentCategory>, method: ConsentMethod) {
        let Some(version) = self.policy.with_untracked(|policy| policy.as_ref().map(|policy| policy.version)) else {
            return;
        };
        categories.push(ConsentCategory::Necessary);
        categories.sort();
        categories.dedup();
        self.receipts.update(|receipts| {
            receipts.push(ConsentReceipt { policy_version: version, categories, at: now(), method })
        });
        self.save_locally();
        self.open.set(false);
        self.choosing.set(false);
        self.apply();
        self.sync(session);
    }

    /// Signed in: adds this browser's receipts to the account's (sealed on the server) and
    /// takes the account's back.
    pub fn sync(&self, session: Session) {
        if session.identity.get_untracked().is_none() {
            return;
        }
        let this = *self;
        let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
        leptos::task::spawn_local(async move {
            let receipts = this.receipts.get_untracked();
            if let Ok(WorkerOutcome::Consent(all)) = worker.call(PrivacyCommand::SyncConsent { receipts }, |_| {}).await
            {
                this.receipts.set(all);
                this.save_locally();
                this.settle();
            }
        });
    }

    /// Loads what is consented to and stops what is not: a withdrawn integration's cookies are
    /// deleted, and when its script ran in this page, the page reloads so it stops for sure.
    pub fn apply(&self) {
        let Some(policy) = self.policy.get_untracked() else { return };
        if !self.granted(ConsentCategory::Preferences) {
            if let Some(storage) = storage() {
                for key in PREFERENCE_KEYS {
                    let _ = storage.remove_item(key);
                }
            }
        }
        let mut reload = false;
        for integration in &policy.integrations {
            let loaded = self.loaded.with_untracked(|loaded| loaded.contains(&integration.id));
            match (self.granted(integration.category), loaded) {
                (true, false) => {
                    load_script(integration);
                    self.loaded.update(|loaded| loaded.push(integration.id.clone()));
                }
                (false, true) => {
                    remove_cookies(integration);
                    reload = true;
                }
                (false, false) => remove_cookies(integration),
                (true, true) => {}
            }
        }
        if reload {
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        }
    }

    /// Decides what to show once the policy and the receipts are known.
    fn settle(&self) {
        if self.policy.with_untracked(Option::is_none) {
            return;
        }
        if self.current().is_none() {
            if self.gpc.get_untracked() {
                let Some(version) = self.policy.with_untracked(|p| p.as_ref().map(|p| p.version)) else { return };
                self.receipts.update(|receipts| {
                    receipts.push(ConsentReceipt {
                        policy_version: version,
                        categories: vec![ConsentCategory::Necessary],
                        at: now(),
                        method: ConsentMethod::Gpc,
                    })
                });
                self.save_locally();
                let seen = storage().and_then(|s| s.get_item(GPC_SEEN_KEY).ok().flatten());
                self.gpc_notice.set(seen.as_deref() != Some(version.to_string().as_str()));
            } else {
                self.open.set(true);
            }
        } else if !self.from_settings.get_untracked() {
            self.open.set(false);
        }
        self.apply();
    }

    /// Keeps a preference (`None` removes it) on this device, only with the Preferences
    /// consent; says whether it was kept.
    pub fn remember(&self, key: &str, value: Option<&str>) -> bool {
        if !self.granted(ConsentCategory::Preferences) {
            return false;
        }
        let Some(storage) = storage() else { return false };
        match value {
            Some(value) => storage.set_item(key, value).is_ok(),
            None => storage.remove_item(key).is_ok(),
        }
    }

    pub fn dismiss_gpc_notice(&self) {
        if let (Some(storage), Some(policy)) = (storage(), self.policy.get_untracked()) {
            let _ = storage.set_item(GPC_SEEN_KEY, &policy.version.to_string());
        }
        self.gpc_notice.set(false);
    }

    /// Opens the chooser from the settings (footer, account page).
    pub fn open_settings(&self) {
        self.from_settings.set(true);
        self.choosing.set(true);
        self.open.set(true);
    }
}

/// Sets up consent at start: this browser's receipts, GPC, the policy in force.
pub fn provide_consent(session: Session) -> Consent {
    let stored = storage().and_then(|s| s.get_item(RECEIPTS_KEY).ok().flatten());
    let receipts = stored.and_then(|text| crate::json::parse::<Receipts>(&text)).map(|r| r.0).unwrap_or_default();
    let consent = Consent {
        policy: RwSignal::new(None),
        receipts: RwSignal::new(receipts),
        gpc: RwSignal::new(gpc_on()),
        open: RwSignal::new(false),
        choosing: RwSignal::new(false),
        from_settings: RwSignal::new(false),
        gpc_notice: RwSignal::new(false),
        loaded: RwSignal::new(Vec::new()),
    };
    provide_context(consent);
    leptos::task::spawn_local(async move {
        if let Ok(policy) = crate::api_client::get_json::<Policy>("/policy").await {
            if policy.gpc {
                consent.gpc.set(true);
            }
            consent.policy.set(Some(policy));
            consent.settle();
        }
    });
    // Signing in brings the receipts made on the account's other devices, and keeps this one's.
    Effect::new(move |was_signed_in: Option<bool>| {
        let signed_in = session.identity.with(Option::is_some);
        if signed_in && was_signed_in != Some(true) {
            consent.sync(session);
        }
        signed_in
    });
    consent
}

pub fn use_consent() -> Consent {
    use_context::<Consent>().unwrap_or_else(|| panic!("Consent is provided by App"))
}
