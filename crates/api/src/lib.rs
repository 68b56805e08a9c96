//! Plico's wire types: what crosses the HTTP boundary between the browser and the server,
//! and the typed messages between the UI thread and the crypto worker.
//!
//! Architecture Invariant: this crate does no IO and knows nothing of HTTP, SQL or crypto.
//! Binary fields travel as standard base64 strings so that the JSON stays readable.

pub mod address;
pub mod calendar;
pub mod contacts;
pub mod items;
pub mod mail;
pub mod password;
pub mod privacy;
pub mod security;
pub mod worker;

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The prefix under which every JSON endpoint lives.
pub const API_PREFIX: &str = "/api/v1";

/// The header every state-changing request must carry. Browsers cannot send a custom header
/// cross-origin without a CORS preflight, which the server never grants, so this blocks CSRF
/// on top of the `SameSite=Strict` cookie.
pub const CSRF_HEADER: &str = "x-plico-csrf";

/// A hex fingerprint as people compare it aloud, the same on every screen and in every message:
/// blocks of four, a wider gap in the middle, uppercase (`C3D0 0644 … BE50  5B72 …`; sequoia
/// spaces a v4 fingerprint the same way). ASCII only: Unicode's
/// case tables would cost each browser binary kilobytes for hex digits.
pub fn group_fingerprint(hex: &str) -> String {
    let digits = hex.as_bytes();
    let middle = digits.len().div_ceil(4) / 2;
    let mut out = String::with_capacity(digits.len() + digits.len() / 4 + 1);
    for (index, digit) in digits.iter().enumerate() {
        if index > 0 && index % 4 == 0 {
            out.push_str(if index / 4 == middle { "  " } else { " " });
        }
        out.push(digit.to_ascii_uppercase() as char);
    }
    out
}

/// The one error shape of the API: `{"error":{"code":"…","message":"…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A machine-readable code and a sentence a person can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorDetail {
    /// A stable, lowercase code such as `name_taken` or `body_too_large`.
    pub code: String,
    /// A sentence that names what is wrong.
    pub message: String,
}

/// Step 1 of OPAQUE registration: the client's blinded password element.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignupStartRequest {
    /// The local part of the address, before the `@`: letters, digits, and `.`, `-` or `_`
    /// between them; case does not count.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$", min_length = 3, max_length = 32)
    )]
    pub name: String,
    /// `opaque_ke::RegistrationRequest`, base64.
    #[cfg_attr(feature = "openapi", schema(format = "opaque-registration-request"))]
    pub registration_request: String,
}

/// The server's OPAQUE registration response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SignupStartResponse {
    /// Names this sign-up in `signup/finish`, which must follow within ten minutes.
    pub signup_id: String,
    /// The full address the account will have.
    pub address: String,
    /// `opaque_ke::RegistrationResponse`, base64.
    pub registration_response: String,
    /// The proof of work this sign-up must bring to `signup/finish` (instead of a captcha);
    /// absent when the server asks none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pow: Option<PowChallenge>,
    /// The version of the terms of use in force (`GET /policy`), which `signup/finish` must
    /// name as accepted.
    pub terms_version: u32,
}

/// A proof-of-work challenge (`plico-pow`): for each of `rounds`, a nonce whose SHA-256 over
/// (salt, round, nonce) starts with `bits` zero bits. Signed by the server, bound to one
/// sign-up, valid until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PowChallenge {
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub signup_id: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub salt: String,
    pub rounds: u32,
    pub bits: u32,
    pub expires_at: i64,
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub signature: String,
}

/// A solved challenge: the challenge as it was issued, and one nonce per round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PowAnswer {
    pub challenge: PowChallenge,
    #[cfg_attr(feature = "openapi", schema(max_items = 64))]
    pub nonces: Vec<u64>,
}

/// Step 2 of registration: the sealed OPAQUE envelope plus the keys made in the browser.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignupFinishRequest {
    /// The `signup_id` `signup/start` answered, for the same name.
    pub signup_id: String,
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$", min_length = 3, max_length = 32)
    )]
    pub name: String,
    /// `opaque_ke::RegistrationUpload`, base64.
    #[cfg_attr(feature = "openapi", schema(format = "opaque-registration-upload"))]
    pub registration_upload: String,
    /// The public OpenPGP certificate, ASCII-armored. It must hold no secret key material.
    #[cfg_attr(feature = "openapi", schema(format = "openpgp-certificate"))]
    pub public_cert: String,
    /// The secret key, sealed in the browser under a key derived from OPAQUE's export key, base64.
    #[cfg_attr(feature = "openapi", schema(format = "sealed-secret-key"))]
    pub sealed_secret_key: String,
    /// An optional address outside this server for notices; an activation code is mailed there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = "email", max_length = 254))]
    pub recovery_address: Option<String>,
    /// The solved proof of work `signup/start` asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pow: Option<PowAnswer>,
    /// The version of the terms of use the user accepted: the one in force, which
    /// `signup/start` named.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub terms_version: u32,
}

/// Step 1 of OPAQUE login.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginStartRequest {
    /// A full address or just the local part.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 254))]
    pub address: String,
    /// `opaque_ke::CredentialRequest`, base64.
    #[cfg_attr(feature = "openapi", schema(format = "opaque-credential-request"))]
    pub credential_request: String,
}

/// The server's OPAQUE credential response. An unknown address gets an indistinguishable
/// fake response, so the client learns only "wrong name or password".
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LoginStartResponse {
    /// Names the server-side login state for step 2; valid for one minute.
    pub login_id: String,
    /// `opaque_ke::CredentialResponse`, base64.
    pub credential_response: String,
}

/// Step 2 of login: proof that the client knows the password.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginFinishRequest {
    pub login_id: String,
    /// `opaque_ke::CredentialFinalization`, base64.
    #[cfg_attr(feature = "openapi", schema(format = "opaque-credential-finalization"))]
    pub credential_finalization: String,
    /// Reopen the account if its owner closed it (within the reopening period). Without it, a
    /// closed account's sign-in is answered 403 `account_closed` and may be finished again with
    /// this set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reopen: bool,
    /// "Keep me signed in": a cookie that outlives the browser and no idle timeout, only the
    /// absolute lifetime. Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_signed_in: bool,
    /// Re-authentication: prove the password again for the session this request carries (of
    /// the same account) instead of opening a new one; for five minutes that session may make
    /// the changes that ask for the password (turning a factor off, revoking every other
    /// session, changing the recovery address). Answered 204.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reauthenticate: bool,
}

/// The signed-in account, as the client needs it to unlock its keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Account {
    pub address: String,
    /// The primary key's fingerprint, uppercase hex.
    pub fingerprint: String,
    /// The public certificate, ASCII-armored.
    pub public_cert: String,
    /// The secret key as sealed in the browser, base64. Only the password's owner can open it.
    pub sealed_secret_key: String,
    /// Unix seconds.
    pub created_at: i64,
    /// The account's mail-analysis setting (see [`AccountSettings`]).
    pub mail_analysis: bool,
}

/// How a login happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LoginKind {
    /// The session that sign-up opens.
    Signup,
    /// A sign-in with the password.
    Password,
    /// A sign-in with the password and an authenticator code.
    Totp,
    /// A sign-in with the password and a recovery code.
    RecoveryCode,
    /// A sign-in with the password and a passkey.
    Passkey,
    /// A sign-in with the password and the code of a second-factor reset, mailed to the
    /// recovery address: every second factor is off since.
    FactorReset,
    /// A wrong password for this account.
    FailedPassword,
    /// The right password, then a wrong second factor.
    FailedSecondFactor,
}

/// One entry of the login history. It holds exactly what the privacy policy names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LoginEvent {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub ip: String,
    pub user_agent: String,
    pub kind: LoginKind,
}

/// The login history, newest first, and how long entries are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LoginHistory {
    pub events: Vec<LoginEvent>,
    pub retention_days: u32,
}

/// The account's settings the server acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    /// Let the server score incoming mail for spam (on the plaintext, in memory, before it is
    /// encrypted). Off: the server does not analyse content, and all mail goes to the Inbox.
    pub mail_analysis: bool,
}

/// How much of its storage quota the account uses: every message, Trash and the recovery area
/// included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StorageUsage {
    pub used_bytes: u64,
    pub quota_bytes: u64,
}

/// A new version of a sealed document (the keyring, the consent receipts): what a client writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SealedWrite {
    /// An OpenPGP message the client sealed to its own key, base64.
    #[cfg_attr(feature = "openapi", schema(format = "openpgp-message"))]
    pub sealed: String,
    /// The version this write replaces (0 for the first); a stale one is refused (409).
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub version: i64,
}

/// The keyring of outside recipients' keys, sealed by the client to its own key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SealedKeyring {
    /// An OpenPGP message, base64; `None` before the first key is kept.
    pub sealed: Option<String>,
    /// Read it with the keyring; a write names the version it replaces, and a stale one is
    /// refused (409) so that two devices never lose each other's keys.
    pub version: i64,
}

/// A published public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublicKey {
    pub address: String,
    pub fingerprint: String,
    /// ASCII-armored certificate.
    pub public_cert: String,
}

/// What the server says about itself to the app before sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ServerInfo {
    /// The mail domain: addresses are `name@domain`.
    pub domain: String,
    pub version: String,
    /// The largest attachment the composer accepts, in bytes.
    pub max_attachment_bytes: u64,
}

#[cfg(test)]
mod tests {
    #[test]
    fn fingerprints_are_grouped_in_fours_with_a_middle_gap() {
        let grouped = "C3D0 0644 0F89 8039 BE50  5B72 EC06 4AC9 1DEC A7FA";
        assert_eq!(super::group_fingerprint("c3d006440f898039be505b72ec064ac91deca7fa"), grouped);
        assert_eq!(super::group_fingerprint("abcd1234"), "ABCD  1234");
        assert_eq!(super::group_fingerprint(""), "");
    }

    use super::*;

    #[test]
    fn error_body_has_the_documented_shape() {
        let body =
            ErrorBody { error: ErrorDetail { code: "name_taken".into(), message: "That name is taken.".into() } };
        let json = serde_json::to_string(&body).expect("serialises");
        assert_eq!(json, r#"{"error":{"code":"name_taken","message":"That name is taken."}}"#);
    }

    #[test]
    fn login_kind_is_snake_case_on_the_wire() {
        assert_eq!(serde_json::to_string(&LoginKind::Password).expect("serialises"), "\"password\"");
    }
}
