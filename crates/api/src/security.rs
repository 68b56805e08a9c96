//! Wire types of account security: second factors (authenticator codes and recovery codes),
//! the half-signed-in step of a sign-in, re-authentication, and the account's sessions.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A way to prove the second factor at sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SecondFactorKind {
    /// A six-digit code from an authenticator app (RFC 6238).
    Totp,
    /// One of the ten single-use recovery codes.
    RecoveryCode,
    /// A passkey or security key (WebAuthn).
    Passkey,
    /// The code of a second-factor reset, mailed to the recovery address, once its waiting
    /// period is over. It turns every second factor off.
    ResetCode,
}

/// `login/finish`'s answer (202) when the account has a second factor: the password is proven,
/// but no session exists yet and nothing can be read. Finish with `login/second-factor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SecondFactorRequired {
    pub pending_id: String,
    /// What the account accepts.
    pub methods: Vec<SecondFactorKind>,
    /// How long the pending sign-in waits for the factor.
    pub expires_in_seconds: u32,
    /// With a passkey among the methods: the options for `navigator.credentials.get`, as the
    /// WebAuthn JSON text (`{"publicKey": {...}}`, buffers in base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = "webauthn-request-options"))]
    pub passkey_options: Option<String>,
}

/// The second step of a sign-in with a second factor.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SecondFactorProof {
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub pending_id: String,
    pub kind: SecondFactorKind,
    /// The authenticator's six digits, or a recovery code (spaces and dashes are ignored); empty
    /// for a passkey.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub code: String,
    /// For a passkey: the `PublicKeyCredential` the browser made, as its `toJSON()` text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = "webauthn-assertion", max_length = 16384))]
    pub credential: Option<String>,
}

/// The account's second factors as its security page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SecurityOverview {
    /// When the authenticator app was turned on (Unix seconds); absent when it is off.
    pub totp_since: Option<i64>,
    /// Unused recovery codes left.
    pub recovery_codes_left: u32,
    /// The account's passkeys, oldest first.
    #[serde(default)]
    pub passkeys: Vec<PasskeyInfo>,
    /// A second-factor reset was asked at sign-in: its code works from then on (Unix seconds),
    /// unless the owner cancels it or signs in with a second factor first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_ready_at: Option<i64>,
    /// Until when this session may make changes that ask for the password again (Unix
    /// seconds); absent when it must re-authenticate first.
    pub reauthenticated_until: Option<i64>,
}

/// A new authenticator secret, not yet on: confirm it with one code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TotpSetup {
    /// The secret in base32, for typing into the app.
    pub secret: String,
    /// The `otpauth://totp/…` URI the QR code holds.
    pub uri: String,
}

/// Asks for a second-factor reset, from the pending sign-in whose password was proven.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FactorResetRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub pending_id: String,
}

/// A second-factor reset on its way: a code went to the recovery address (shown masked), and it
/// works from `ready_at` until `expires_at`. A sign-in with a second factor before then cancels it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FactorResetStarted {
    pub ready_at: i64,
    pub expires_at: i64,
    /// The recovery address the code went to, masked (`m…@example.org`).
    pub mailed_to: String,
}

/// A passkey of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PasskeyInfo {
    pub id: i64,
    /// The owner's name for it ("Laptop", "YubiKey").
    pub name: String,
    pub created_at: i64,
    /// The last sign-in with it; absent when never used.
    pub last_used_at: Option<i64>,
}

/// A passkey registration, started: the options for `navigator.credentials.create`, and the
/// server's sealed state to bring back with the credential (five minutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PasskeySetup {
    /// WebAuthn JSON text, `{"publicKey": {...}}`, buffers in base64url.
    #[cfg_attr(feature = "openapi", schema(format = "webauthn-creation-options"))]
    pub options: String,
    pub state: String,
}

/// A passkey registration, finished with the credential the browser made.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegistration {
    /// `PasskeySetup::state`, as it came.
    #[cfg_attr(feature = "openapi", schema(max_length = 8192))]
    pub state: String,
    /// What to call it.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    /// The `PublicKeyCredential`'s `toJSON()` text.
    #[cfg_attr(feature = "openapi", schema(format = "webauthn-attestation", max_length = 16384))]
    pub credential: String,
}

/// One code from the authenticator app.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    #[cfg_attr(feature = "openapi", schema(max_length = 16))]
    pub code: String,
}

/// Recovery codes, shown once: the server keeps only their hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecoveryCodes {
    /// Ten new codes; empty when turning a factor on found unused codes already made.
    pub codes: Vec<String>,
}

/// One session of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SessionInfo {
    /// The session's public id (not its cookie).
    pub id: String,
    pub started_at: i64,
    pub last_seen_at: i64,
    pub ip: String,
    /// The approximate country of `ip` (ISO 3166-1 alpha-2), when the operator gave the server
    /// a country database; looked up when listed, never stored.
    pub country: Option<String>,
    pub user_agent: String,
    /// The session asking.
    pub current: bool,
    /// Signed in with "Keep me signed in": no idle timeout, only the absolute lifetime.
    pub keep_signed_in: bool,
    pub expires_at: i64,
}

/// The account's sessions and the timeouts that end them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Sessions {
    /// Newest first.
    pub sessions: Vec<SessionInfo>,
    /// Minutes without contact after which a session that was not kept signed in ends; 0 when
    /// there is no idle timeout.
    pub idle_minutes: u32,
    /// The choices the account may make for `idle_minutes`.
    pub idle_choices: Vec<u32>,
    /// The absolute lifetime of every session, in hours.
    pub lifetime_hours: u32,
}

/// The account's choice of idle timeout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IdleTimeout {
    /// One of `Sessions::idle_choices`.
    pub idle_minutes: u32,
}

/// How many sessions a revocation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RevokedSessions {
    pub revoked: u32,
}

/// A password change, step 1: a new OPAQUE registration for the signed-in account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeStart {
    /// `opaque_ke::RegistrationRequest`, base64.
    #[cfg_attr(feature = "openapi", schema(format = "opaque-registration-request", max_length = 1024))]
    pub registration_request: String,
}

/// The server's answer to step 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PasswordChangeStarted {
    /// `opaque_ke::RegistrationResponse`, base64.
    pub registration_response: String,
}

/// A password change, step 2: the new password file and the secret key sealed under the new
/// export key, swapped together.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeFinish {
    /// `opaque_ke::RegistrationUpload`, base64.
    #[cfg_attr(feature = "openapi", schema(format = "opaque-registration-upload", max_length = 4096))]
    pub registration_upload: String,
    /// The same keyring, sealed under the new export key, base64.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9+/]*={0,2}$", max_length = 400000))]
    pub sealed_secret_key: String,
    /// End every other session (they are told, and wipe what they keep).
    #[serde(default)]
    pub sign_out_others: bool,
}

/// The largest sealed keyring the server takes (sign-up, a password change, a new primary key):
/// room for twenty post-quantum keys with their secrets.
pub const MAX_SEALED_KEYRING_BYTES: usize = 300 * 1024;

/// Where one of the account's keys stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AccountKeyState {
    /// Signs what the account sends and receives new mail; `/keys/{address}` and WKD serve it.
    Primary,
    /// Served by WKD beside the primary (the classical key kept next to a post-quantum one).
    Published,
    /// Replaced by a newer primary: no longer served, still opening the mail sent to it.
    Retired,
    /// Revoked: WKD serves it with its revocation so correspondents learn of it.
    Revoked,
}

/// One of the account's OpenPGP keys, as the server reads its public certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AccountKey {
    /// Uppercase hex (40 digits for a v4 key, 64 for v6).
    pub fingerprint: String,
    /// The key's creation time, Unix seconds.
    pub created_at: i64,
    /// The OpenPGP key version: 4, or 6 (RFC 9580).
    pub version: u8,
    /// The primary key's algorithm, then the encryption subkeys' ("Ed25519, X25519").
    pub algorithms: String,
    /// Whether it receives post-quantum encryption (ML-KEM, RFC 9980).
    pub post_quantum: bool,
    pub state: AccountKeyState,
    /// When it left the primary place or was revoked (Unix seconds); absent for the primary.
    pub since: Option<i64>,
    /// Why it was revoked: compromised, superseded, retired or unspecified.
    pub revocation_reason: Option<String>,
    /// What its owner wrote when revoking it.
    pub revocation_text: Option<String>,
}

/// The account's keys: the primary first, then the others, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AccountKeys {
    pub keys: Vec<AccountKey>,
}

/// A new primary key: made in the browser (a post-quantum key, a rotation) or imported. The
/// keyring arrives sealed whole, the new key first (the server cannot open it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPrimaryKey {
    /// The new key's public certificate, ASCII-armored, with a User ID for the account's address.
    #[cfg_attr(feature = "openapi", schema(format = "openpgp-certificate", max_length = 65536))]
    pub public_cert: String,
    /// The keyring (the new key first, then every key before it) sealed under the export key, base64.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9+/]*={0,2}$", max_length = 400000))]
    pub sealed_secret_key: String,
    /// Where the key that was primary goes: `published` (served beside the new one, as the
    /// classical key next to a post-quantum one) or `retired` (a rotation).
    pub previous: AccountKeyState,
}

/// A revocation of one of the account's keys other than the primary.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyRevocation {
    /// The key's public certificate with its revocation signature, ASCII-armored.
    #[cfg_attr(feature = "openapi", schema(format = "openpgp-certificate", max_length = 65536))]
    pub revoked_cert: String,
}

/// A change to the account's keys, as the Settings app asks the crypto worker for it (postcard,
/// through the mail app, which passes the bytes on unread): the password proves the change and
/// brings the export key the keyring is sealed under anew.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyCommand {
    pub password: String,
    pub job: KeyJob,
}

/// What to do with the account's keys (the keys worker does it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum KeyJob {
    /// A new post-quantum key becomes primary; the classical key stays published beside it.
    PostQuantum,
    /// A new key like the primary one replaces it; the old one is retired (still opening old mail).
    Rotate,
    /// A key made elsewhere (armored or binary secret key, with its passphrase) becomes primary;
    /// the old one is retired.
    Import { armored: Vec<u8>, passphrase: String },
    /// Revoke the key `fingerprint` (not the primary) for `reason` (compromised, superseded,
    /// retired, unspecified), with `text` saying more.
    Revoke { fingerprint: String, reason: String, text: String },
}
