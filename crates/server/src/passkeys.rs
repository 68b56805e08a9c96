//! Passkeys and security keys (WebAuthn) as a second factor, through webauthn-rs. The relying
//! party is the host of `--public-url` (http://localhost on any port without it, for
//! development). The ceremonies' states travel sealed under the node key, so any node finishes
//! what another started: a registration's with the browser (bound to the account, five
//! minutes), a sign-in's in the pending sign-in's row (bound to its id, used once with it). The
//! credentials are stored sealed the same way, so a database changed alone cannot slip in a key.

use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::config::ServeConfig;
use crate::node::Node;

/// The largest passkey answer taken (a `PublicKeyCredential`'s JSON; real ones are about 1 KiB).
pub const MAX_CREDENTIAL_BYTES: usize = 16 * 1024;

/// How long a ceremony the browser started may take.
pub const CEREMONY_SECONDS: i64 = 300;

const REGISTRATION_PURPOSE: &str = "passkey registration";
const CREDENTIAL_PURPOSE: &str = "passkey credential";
const SIGN_IN_PURPOSE: &str = "passkey sign-in";
const USER_ID_PURPOSE: &str = "passkey user id";

/// The relying party.
pub struct Passkeys {
    webauthn: Webauthn,
}

/// A ceremony's state with its deadline, as sealed.
#[derive(Serialize, Deserialize)]
struct Sealed<T> {
    state: T,
    expires_at: i64,
}

/// Why a passkey was not accepted, in words for the user.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("This passkey setup took longer than five minutes or is not this account's: start again.")]
    Expired,
    #[error("The browser's answer is not a WebAuthn credential: {0}")]
    Malformed(String),
    #[error("The passkey was not accepted: {0}")]
    Refused(String),
    #[error("This passkey is registered already.")]
    Registered,
    #[error("{0}")]
    Internal(String),
}

impl Passkeys {
    /// The relying party for `config`'s public URL.
    pub fn new(config: &ServeConfig) -> Result<Passkeys, String> {
        let (origin, any_port) = match &config.public_url {
            Some(url) => (Url::parse(url).map_err(|error| format!("--public-url {url}: {error}"))?, false),
            None => (Url::parse("http://localhost").expect("a valid URL"), true),
        };
        let rp_id = origin.host_str().ok_or_else(|| format!("--public-url {origin} has no host name"))?.to_owned();
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .and_then(|builder| builder.rp_name("Plico").allow_any_port(any_port).build())
            .map_err(|error| format!("passkeys for {origin}: {error}"))?;
        Ok(Passkeys { webauthn })
    }

    /// Starts registering a passkey for the account: the browser's options (JSON text) and the
    /// sealed state it brings back. `existing` are excluded (an authenticator registers once).
    pub fn start_registration(
        &self,
        node: &Node,
        account_id: i64,
        address: &str,
        existing: &[Passkey],
        now: i64,
    ) -> Result<(String, String), PasskeyError> {
        let user_id = user_id(node, account_id);
        let exclude = Some(existing.iter().map(|passkey| passkey.cred_id().clone()).collect());
        let (options, state) = self
            .webauthn
            .start_passkey_registration(user_id, address, address, exclude)
            .map_err(|error| PasskeyError::Internal(error.to_string()))?;
        let options = serde_json::to_string(&options).map_err(|error| PasskeyError::Internal(error.to_string()))?;
        let sealed = seal(node, REGISTRATION_PURPOSE, &account_id.to_be_bytes(), state, now)?;
        Ok((options, base64url(&sealed)))
    }

    /// Finishes a registration: the new passkey, checked against the state the account's start
    /// sealed. `existing`: the account's passkeys.
    pub fn finish_registration(
        &self,
        node: &Node,
        account_id: i64,
        sealed_state: &str,
        credential: &str,
        existing: &[Passkey],
        now: i64,
    ) -> Result<Passkey, PasskeyError> {
        let sealed = unbase64url(sealed_state).ok_or(PasskeyError::Expired)?;
        let state: PasskeyRegistration =
            open(node, REGISTRATION_PURPOSE, &account_id.to_be_bytes(), sealed, now).ok_or(PasskeyError::Expired)?;
        let credential: RegisterPublicKeyCredential =
            serde_json::from_str(credential).map_err(|error| PasskeyError::Malformed(error.to_string()))?;
        // webauthn-rs refuses an excluded (registered) authenticator as an "altered algorithm";
        // the id the browser names says which it is, for the message.
        if existing.iter().any(|passkey| AsRef::<[u8]>::as_ref(passkey.cred_id()) == credential.raw_id.as_slice()) {
            return Err(PasskeyError::Registered);
        }
        self.webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(|error| PasskeyError::Refused(error.to_string()))
    }

    /// Starts a sign-in's passkey step for `passkeys`: the browser's options (JSON text), and
    /// the sealed state the pending sign-in `pending_id` keeps.
    pub fn start_sign_in(
        &self,
        node: &Node,
        pending_id: &str,
        passkeys: &[Passkey],
        now: i64,
    ) -> Result<(String, Vec<u8>), PasskeyError> {
        let (options, state) = self
            .webauthn
            .start_passkey_authentication(passkeys)
            .map_err(|error| PasskeyError::Internal(error.to_string()))?;
        let options = serde_json::to_string(&options).map_err(|error| PasskeyError::Internal(error.to_string()))?;
        Ok((options, seal(node, SIGN_IN_PURPOSE, pending_id.as_bytes(), state, now)?))
    }

    /// Checks a sign-in's assertion. On success: which of `passkeys` it was, updated (its sign
    /// counter moved on).
    pub fn finish_sign_in(
        &self,
        node: &Node,
        pending_id: &str,
        sealed_state: Vec<u8>,
        credential: &str,
        passkeys: &[Passkey],
        now: i64,
    ) -> Result<(usize, Passkey), PasskeyError> {
        let state: PasskeyAuthentication =
            open(node, SIGN_IN_PURPOSE, pending_id.as_bytes(), sealed_state, now).ok_or(PasskeyError::Expired)?;
        let credential: PublicKeyCredential =
            serde_json::from_str(credential).map_err(|error| PasskeyError::Malformed(error.to_string()))?;
        let result = self
            .webauthn
            .finish_passkey_authentication(&credential, &state)
            .map_err(|error| PasskeyError::Refused(error.to_string()))?;
        let index = passkeys
            .iter()
            .position(|passkey| passkey.cred_id() == result.cred_id())
            .ok_or_else(|| PasskeyError::Refused("it is not one of this account's passkeys".into()))?;
        let mut used = passkeys[index].clone();
        used.update_credential(&result);
        Ok((index, used))
    }
}

/// A credential sealed for storage.
pub fn seal_credential(node: &Node, account_id: i64, passkey: &Passkey) -> Result<Vec<u8>, String> {
    let bytes = serde_json::to_vec(passkey).map_err(|error| error.to_string())?;
    node.seal(CREDENTIAL_PURPOSE, &account_id.to_be_bytes(), &bytes)
}

/// A stored credential, opened; `None` when it does not open under this node's key (or was
/// changed).
pub fn open_credential(node: &Node, account_id: i64, sealed: Vec<u8>) -> Option<Passkey> {
    let bytes = node.open(CREDENTIAL_PURPOSE, &account_id.to_be_bytes(), sealed)?;
    serde_json::from_slice(&bytes).ok()
}

/// The account's WebAuthn user handle: stable, and says nothing of the account to anyone
/// without the server's key.
fn user_id(node: &Node, account_id: i64) -> Uuid {
    let hash = node.keyed_hash(USER_ID_PURPOSE, &account_id.to_be_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    Uuid::from_bytes(bytes)
}

fn seal<T: Serialize>(node: &Node, purpose: &str, id: &[u8], state: T, now: i64) -> Result<Vec<u8>, PasskeyError> {
    let bytes = serde_json::to_vec(&Sealed { state, expires_at: now + CEREMONY_SECONDS })
        .map_err(|error| PasskeyError::Internal(error.to_string()))?;
    node.seal(purpose, id, &bytes).map_err(PasskeyError::Internal)
}

fn open<T: for<'de> Deserialize<'de>>(node: &Node, purpose: &str, id: &[u8], sealed: Vec<u8>, now: i64) -> Option<T> {
    let bytes = node.open(purpose, id, sealed)?;
    let sealed: Sealed<T> = serde_json::from_slice(&bytes).ok()?;
    (sealed.expires_at > now).then_some(sealed.state)
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unbase64url(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()
}
