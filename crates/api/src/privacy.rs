//! Wire types of the privacy promises: the account's life (closing, reopening, the recovery
//! address), what the server holds, the versioned policies with their optional integrations,
//! the consent receipts, the warrant canary and the transparency reports.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// Where an account is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    /// Closed by its owner: no sign-in, no mail, no published key; reopened by signing in
    /// before `reopen_until`.
    Closed,
    /// Suspended after months without a sign-in; the next sign-in makes it active again.
    Suspended,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Closed => "closed",
            AccountStatus::Suspended => "suspended",
        }
    }

    pub fn parse(text: &str) -> Option<AccountStatus> {
        match text {
            "active" => Some(AccountStatus::Active),
            "closed" => Some(AccountStatus::Closed),
            "suspended" => Some(AccountStatus::Suspended),
            _ => None,
        }
    }
}

/// The answer to closing an account: when it can no longer be reopened, and when it is purged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ClosedAccount {
    /// Unix seconds.
    pub closed_at: i64,
    /// Signing in before this reopens the account.
    pub reopen_until: i64,
    /// Everything is deleted at this time.
    pub purge_at: i64,
}

/// The recovery address and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecoveryAddress {
    /// `None`: no recovery address is set.
    pub address: Option<String>,
    pub confirmed: bool,
    /// The activation code went out by mail (false when the server sends no mail outside).
    pub code_sent: bool,
}

/// Sets (or, with `None`, removes) the recovery address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetRecoveryAddress {
    #[cfg_attr(feature = "openapi", schema(format = "email", max_length = 254))]
    pub address: Option<String>,
}

/// The activation code sent to the recovery address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConfirmRecoveryAddress {
    pub code: String,
}

/// One kind of data the server keeps for the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct HeldItem {
    /// A stable key: `address`, `public_key`, `login_history`, `messages`, …
    pub kind: String,
    /// What it is, in a sentence.
    pub description: String,
    /// How many of it there are (rows, messages), when that is a count.
    pub count: Option<u64>,
    /// Bytes, when it has a size.
    pub bytes: Option<u64>,
    /// When the oldest of it will be deleted (Unix seconds), when that is known.
    pub deleted_at: Option<i64>,
    /// The rule, in words ("30 days after each sign-in", "when the account is purged").
    pub rule: String,
    /// When it was recorded (Unix seconds), for a record of one moment such as the terms
    /// accepted at sign-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
}

/// "What Plico holds about you".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DataHeld {
    pub items: Vec<HeldItem>,
}

/// The optional cookie and script categories. `Necessary` is always on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentCategory {
    Necessary,
    Preferences,
    Analytics,
    Marketing,
}

/// An optional integration the operator configured (a self-hosted analytics script, …). It is
/// loaded only after consent to its category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Integration {
    pub id: String,
    pub name: String,
    pub category: ConsentCategory,
    /// The script's URL (https, or a path on this server).
    pub script: String,
    /// The cookies it sets, removed when consent is withdrawn.
    #[serde(default)]
    pub cookies: Vec<String>,
}

/// One row of the retention table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RetentionRule {
    pub data: String,
    pub kept: String,
}

/// The operator's policies, versioned. `version` grows with each published change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Policy {
    pub version: u32,
    /// The day it took effect, `YYYY-MM-DD`.
    pub published: String,
    /// What changed since the previous version, in words.
    pub changes: String,
    /// The privacy policy; paragraphs separated by blank lines, `# ` starts a heading.
    pub privacy: String,
    /// The terms of use, in the same form.
    pub terms: String,
    /// The data-retention table, made from the server's configuration.
    #[serde(default)]
    pub retention: Vec<RetentionRule>,
    #[serde(default)]
    pub integrations: Vec<Integration>,
    /// The request for this policy carried `Sec-GPC: 1`: the browser sends Global Privacy
    /// Control, which counts as a refusal of the optional categories.
    #[serde(default)]
    pub gpc: bool,
}

/// How a consent decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentMethod {
    Banner,
    Settings,
    /// Global Privacy Control: the browser refused the optional categories.
    Gpc,
}

/// One consent decision, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ConsentReceipt {
    pub policy_version: u32,
    /// The categories consented to (always including `necessary`).
    pub categories: Vec<ConsentCategory>,
    /// Unix seconds.
    pub at: i64,
    pub method: ConsentMethod,
}

/// The consent receipts of a signed-in account, encrypted by the client to its own key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SealedConsent {
    /// An OpenPGP message, base64; `None` before the first receipt is kept.
    pub sealed: Option<String>,
    /// As for the keyring: a write names the version it replaces (409 when stale).
    pub version: i64,
}

/// The warrant canary as the operator published it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Canary {
    /// The clear-signed statement; `None` when the operator published none.
    pub statement: Option<String>,
    /// The service's public key, armored; `None` when none is configured.
    pub service_key: Option<String>,
    /// The signature must be at most this many days old.
    pub max_age_days: u32,
}

/// One transparency report the operator published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TransparencyReport {
    pub title: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub summary: String,
    #[serde(default)]
    pub url: Option<String>,
}

/// The transparency page: the reports and the canary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Transparency {
    pub reports: Vec<TransparencyReport>,
    pub canary: Canary,
}
