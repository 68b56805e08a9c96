//! The privacy promises' endpoints: the published policies (with the retention table made from
//! this server's settings and the operator's optional integrations), the transparency reports
//! and warrant canary, "what Plico holds about you", and the sealed consent receipts.

use std::path::Path;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use plico_api::privacy::{
    Canary, ConsentCategory, DataHeld, HeldItem, Integration, Policy, SealedConsent, Transparency, TransparencyReport,
};

use crate::clock::DAY;
use crate::config::ServeConfig;
use crate::http::error::ApiResult;
use crate::http::extract::ApiJson;
use crate::http::sealed::{read_sealed, write_sealed, SealedRules};
use crate::http::session::SignedIn;
use crate::policy;
use crate::store::SealedDocument;
use crate::AppState;

/// The built-in policy of this release, served when the operator names no policy file.
const PRIVACY: &str = include_str!("../../policy/privacy.txt");
const TERMS: &str = include_str!("../../policy/terms.txt");
const BUILT_IN_VERSION: u32 = 2;
const BUILT_IN_PUBLISHED: &str = "2026-12-06";
/// What changed from the version before, as signed-in users are told.
const BUILT_IN_CHANGES: &str = "Contacts: what the server keeps of each contact (ciphertext, its size, version and the time \
     of its last change), and that deleted contacts are recoverable for 45 days, like mail. The retention table no longer \
     names documents, which this server does not offer.";

/// What the operator published, read once at start.
#[derive(Debug, Clone)]
pub struct Published {
    pub policy: Policy,
    pub reports: Vec<TransparencyReport>,
    pub canary: Option<String>,
    pub service_key: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: u32,
    published: String,
    #[serde(default)]
    changes: String,
    privacy: String,
    terms: String,
    #[serde(default)]
    integrations: Vec<Integration>,
}

fn is_day(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() })
}

/// The origin of an integration's script: `https://host[:port]`, `http://` only for the
/// loopback (tests, local development), or `None` for a path on this server.
pub fn script_origin(script: &str) -> Result<Option<String>, String> {
    if script.starts_with('/') && !script.starts_with("//") {
        return Ok(None);
    }
    let (scheme, rest) = script.split_once("://").ok_or_else(|| format!("{script} is neither https:// nor a path"))?;
    let host_port = rest.split('/').next().unwrap_or_default();
    let host = host_port.rsplit_once(':').map_or(host_port, |(host, _)| host);
    let valid_host = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    match scheme {
        "https" if valid_host => Ok(Some(format!("https://{host_port}"))),
        "http" if matches!(host, "127.0.0.1" | "localhost") => Ok(Some(format!("http://{host_port}"))),
        _ => Err(format!("{script}: scripts must be https:// (http:// only on 127.0.0.1 or localhost), or a path")),
    }
}

fn check_integrations(integrations: &[Integration]) -> Result<(), String> {
    let mut ids = std::collections::HashSet::new();
    for integration in integrations {
        let id = &integration.id;
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(format!("integration id {id:?} must be lowercase letters, digits and dashes"));
        }
        if !ids.insert(id.clone()) {
            return Err(format!("integration id {id:?} is used twice"));
        }
        if integration.category == ConsentCategory::Necessary {
            return Err(format!("integration {id}: an optional integration cannot be in the necessary category"));
        }
        script_origin(&integration.script).map_err(|why| format!("integration {id}: {why}"))?;
        if let Some(bad) = integration
            .cookies
            .iter()
            .find(|name| name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)))
        {
            return Err(format!("integration {id}: {bad:?} is not a cookie name"));
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))
}

impl Published {
    /// Reads the operator's files; every error names the file and what is wrong in it.
    pub fn load(config: &ServeConfig) -> Result<Published, String> {
        let mut policy = match &config.policy_file {
            None => Policy {
                version: BUILT_IN_VERSION,
                published: BUILT_IN_PUBLISHED.into(),
                changes: BUILT_IN_CHANGES.into(),
                privacy: PRIVACY.into(),
                terms: TERMS.into(),
                retention: Vec::new(),
                integrations: Vec::new(),
                gpc: false,
            },
            Some(path) => {
                let file: PolicyFile = serde_json::from_str(&read(path)?)
                    .map_err(|error| format!("{}: not a policy file: {error}", path.display()))?;
                if file.version == 0 {
                    return Err(format!("{}: version must be 1 or more", path.display()));
                }
                if !is_day(&file.published) {
                    return Err(format!("{}: published must be a day, YYYY-MM-DD", path.display()));
                }
                check_integrations(&file.integrations).map_err(|why| format!("{}: {why}", path.display()))?;
                Policy {
                    version: file.version,
                    published: file.published,
                    changes: file.changes,
                    privacy: file.privacy,
                    terms: file.terms,
                    retention: Vec::new(),
                    integrations: file.integrations,
                    gpc: false,
                }
            }
        };
        policy.retention = policy::retention_table(config);
        let reports = match &config.transparency_file {
            None => Vec::new(),
            Some(path) => {
                let reports: Vec<TransparencyReport> = serde_json::from_str(&read(path)?)
                    .map_err(|error| format!("{}: not a list of reports: {error}", path.display()))?;
                if let Some(bad) = reports.iter().find(|report| !is_day(&report.date)) {
                    return Err(format!("{}: report {:?}: date must be YYYY-MM-DD", path.display(), bad.title));
                }
                reports
            }
        };
        let service_key = match &config.service_key {
            None => None,
            Some(path) => {
                let armored = read(path)?;
                let cert = plico_pgp::parse_cert(armored.as_bytes())
                    .map_err(|error| format!("{}: not an OpenPGP key: {error}", path.display()))?;
                Some(plico_pgp::armor_public_cert(&cert).map_err(|error| error.to_string())?)
            }
        };
        let canary = config.canary_file.as_deref().map(read).transpose()?;
        Ok(Published { policy, reports, canary, service_key })
    }

    /// The origins the integrations' scripts come from, for the CSP.
    pub fn integration_origins(&self) -> Vec<String> {
        let mut origins: Vec<String> = self
            .policy
            .integrations
            .iter()
            .filter_map(|integration| script_origin(&integration.script).ok().flatten())
            .collect();
        origins.sort();
        origins.dedup();
        origins
    }
}

#[utoipa::path(get, path = "/api/v1/policy", responses((status = 200, body = Policy)))]
pub async fn policy(State(state): State<AppState>, headers: HeaderMap) -> Json<Policy> {
    let mut policy = state.published.policy.clone();
    policy.gpc = headers.get("sec-gpc").is_some_and(|value| value.as_bytes().trim_ascii() == b"1");
    Json(policy)
}

#[utoipa::path(get, path = "/api/v1/transparency", responses((status = 200, body = Transparency)))]
pub async fn transparency(State(state): State<AppState>) -> Json<Transparency> {
    Json(Transparency {
        reports: state.published.reports.clone(),
        canary: Canary {
            statement: state.published.canary.clone(),
            service_key: state.published.service_key.clone(),
            max_age_days: state.config.canary_max_age_days,
        },
    })
}

#[utoipa::path(get, path = "/api/v1/account/consent", security(("session" = [])), responses((status = 200, body = SealedConsent), (status = 401, body = plico_api::ErrorBody)))]
pub async fn consent(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<Json<SealedConsent>> {
    let (sealed, version) = read_sealed(&state, signed_in.account_id, SealedDocument::Consent).await?;
    Ok(Json(SealedConsent { sealed, version }))
}

/// Receipts are small; thousands fit.
const CONSENT_RULES: SealedRules = SealedRules {
    max_bytes: 256 * 1024,
    too_large: "The consent receipts are larger than 256 KiB.",
    conflict_code: "consent_changed",
    conflict: "The consent receipts changed on another device since they were read; read them again.",
};

#[utoipa::path(put, path = "/api/v1/account/consent", security(("session" = [])), request_body = plico_api::SealedWrite,
    responses((status = 200, body = SealedConsent), (status = 409, body = plico_api::ErrorBody),
              (status = 422, body = plico_api::ErrorBody), (status = 401, body = plico_api::ErrorBody)))]
pub async fn replace_consent(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(consent): ApiJson<plico_api::SealedWrite>,
) -> ApiResult<Json<SealedConsent>> {
    let (sealed, version) = write_sealed(
        &state,
        signed_in.account_id,
        SealedDocument::Consent,
        &CONSENT_RULES,
        Some(consent.sealed),
        consent.version,
    )
    .await?;
    Ok(Json(SealedConsent { sealed: Some(sealed), version }))
}

fn held(
    kind: &str,
    description: &str,
    count: Option<u64>,
    bytes: Option<u64>,
    deleted_at: Option<i64>,
    rule: String,
) -> HeldItem {
    HeldItem { kind: kind.into(), description: description.into(), count, bytes, deleted_at, rule, since: None }
}

#[utoipa::path(get, path = "/api/v1/account/data", security(("session" = [])), responses((status = 200, body = DataHeld), (status = 401, body = plico_api::ErrorBody)))]
pub async fn data_held(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<Json<DataHeld>> {
    let config = &state.config;
    let h = state.store.holdings(signed_in.account_id).await?;
    let until_closed = "Until the account is closed and purged".to_owned();
    let inactive_deadline =
        h.last_login_at + i64::from(config.inactive_suspend_days + config.inactive_delete_days) * DAY;
    let mut items = vec![
        held("address", "Your address and the date the account was made", None, None, None, until_closed.clone()),
        held("public_key", "Your public key, published so others can encrypt to you", None, None, None, until_closed.clone()),
        held(
            "sealed_secret_key",
            "Your secret key, sealed in your browser under your password (the server cannot open it)",
            None,
            None,
            None,
            until_closed.clone(),
        ),
        held(
            "login_history",
            "When you signed in, from which IP address and with which browser",
            Some(h.login_events),
            None,
            h.oldest_login.map(|at| at + policy::LOGIN_HISTORY_DAYS * DAY),
            format!("Each entry {} days after the sign-in; you can delete them sooner", policy::LOGIN_HISTORY_DAYS),
        ),
        held(
            "last_sign_in",
            "The date of your last sign-in, for the inactivity rule",
            None,
            None,
            Some(inactive_deadline),
            format!(
                "Replaced at each sign-in; a free account without one for {} days is suspended, then deleted {} days later",
                config.inactive_suspend_days, config.inactive_delete_days
            ),
        ),
        held(
            "messages",
            "Per message: its size, arrival time, flags and folder, next to the encrypted message and summary",
            Some(h.messages),
            Some(h.message_bytes),
            None,
            "Until you delete them".into(),
        ),
        held(
            "deleted_messages",
            "Messages deleted from Trash, still recoverable",
            Some(h.deleted_messages),
            Some(h.deleted_bytes),
            h.oldest_deleted.map(|at| at + plico_api::mail::RECOVERY_DAYS * DAY),
            format!("Purged {} days after deletion", plico_api::mail::RECOVERY_DAYS),
        ),
        held(
            "items",
            "Your contacts and contact groups, each encrypted and signed in your browser; per item its kind, size and the time of its last change",
            Some(h.items),
            Some(h.item_bytes),
            None,
            "Until you delete them".into(),
        ),
        held(
            "deleted_items",
            "Contacts and groups you deleted, still recoverable",
            Some(h.deleted_items),
            Some(h.deleted_item_bytes),
            h.oldest_deleted_item.map(|at| at + plico_api::mail::RECOVERY_DAYS * DAY),
            format!("Purged {} days after deletion", plico_api::mail::RECOVERY_DAYS),
        ),
        held(
            "folders",
            "Your own folders, with names encrypted in your browser",
            Some(h.user_folders),
            None,
            None,
            "Until you delete them".into(),
        ),
        held(
            "sessions",
            "Signed-in sessions (a hash of each cookie, with its start and end)",
            Some(h.sessions),
            None,
            h.first_session_expiry,
            format!("When they expire ({} hours) or you sign out", config.session_hours),
        ),
        held(
            "send_counts",
            "How many recipients you wrote to, per send, for the daily limit",
            Some(h.sends),
            None,
            h.oldest_send.map(|at| at + DAY),
            "1 day after each send".into(),
        ),
    ];
    if h.queued > 0 {
        items.push(held(
            "outbound_queue",
            "Mail waiting to be delivered to other servers (sealed on disk)",
            Some(h.queued),
            None,
            None,
            format!("Until delivered, or returned after {} hours", config.queue_give_up_hours),
        ));
    }
    if let Some((version, at)) = h.terms {
        let accepted = format!("That you accepted version {version} of the terms of use when you signed up");
        items.push(HeldItem { since: Some(at), ..held("terms", &accepted, None, None, None, until_closed.clone()) });
    }
    if h.recovery_address {
        items.push(held("recovery_address", "Your recovery address", None, None, None, "Until you remove it".into()));
    }
    if let Some(bytes) = h.keyring_bytes {
        items.push(held(
            "keyring",
            "Keys of your correspondents on other servers, encrypted in your browser",
            None,
            Some(bytes),
            None,
            until_closed.clone(),
        ));
    }
    if let Some(bytes) = h.consent_bytes {
        items.push(held(
            "consent_receipts",
            "Your cookie-consent receipts, encrypted in your browser",
            None,
            Some(bytes),
            None,
            until_closed,
        ));
    }
    Ok(Json(DataHeld { items }))
}
