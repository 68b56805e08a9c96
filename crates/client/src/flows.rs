//! The sign-up and sign-in flows, over any [`Transport`] that can POST JSON to the API.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use plico_api::worker::WorkerStage;
use plico_api::{
    Account, ErrorBody, LoginFinishRequest, LoginStartRequest, LoginStartResponse, SignupFinishRequest,
    SignupStartRequest, SignupStartResponse,
};
use plico_opaque::OpaqueError;
use plico_pgp::Certificate;

use crate::seal::{open_secret_key, seal_secret_key};

/// An HTTP response as the flows need it.
#[derive(Clone)]
pub struct TransportResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// A request body and its content type.
pub struct TransportBody {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    /// Sent as the `Idempotency-Key` header: a request that creates something, sent again
    /// under the same key, is answered as the first time and not done twice.
    pub idempotency_key: Option<String>,
}

impl TransportBody {
    pub fn new(content_type: &'static str, bytes: Vec<u8>) -> Self {
        TransportBody { content_type, bytes, idempotency_key: None }
    }
}

/// Why a message's blob is being read: it decides whether, and how dearly, a device keeps a
/// copy for reading offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobUse {
    /// The user opens the message: kept before any copy that was only synced.
    Read,
    /// Indexed for search: kept while there is room, newer mail before older.
    Indexed { received_at: i64 },
    /// Read once (an export): not kept.
    Once,
}

/// Something that can send a request to a path under the API and return the response.
/// The worker implements it with `fetch`; the server's tests with the router itself.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// `path` is relative to `/api/v1`. Requests other than GET carry the CSRF header.
    async fn request(&self, method: &str, path: &str, body: Option<TransportBody>)
        -> Result<TransportResponse, String>;

    /// A POST whose body is large; `progress` hears (bytes sent, bytes in all) as it goes. The
    /// worker reports real upload progress; without a way to watch, it is one plain request.
    async fn upload(
        &self,
        path: &str,
        body: TransportBody,
        progress: &dyn Fn(u64, u64),
    ) -> Result<TransportResponse, String> {
        let total = body.bytes.len() as u64;
        let response = self.request("POST", path, Some(body)).await;
        progress(total, total);
        response
    }

    /// The copy of blob `hash` this device kept, if any, so a message opens without the
    /// network. Blobs never change under their hash. Without a device store: none.
    async fn kept_blob(&self, _hash: &str) -> Option<Vec<u8>> {
        None
    }

    /// Blob `hash` was read (downloaded, or from the kept copy) for `why`; the device may keep
    /// it. Without a device store: nothing is kept.
    fn keep_blob(&self, _hash: &str, _blob: &[u8], _why: BlobUse) {}

    /// The highest version of the sealed document at `path` this device has read or written
    /// (`crate::sealed`): a lower one from the server is a rollback. 0 when none.
    async fn seen_version(&self, _path: &str) -> i64 {
        0
    }

    /// The sealed document at `path` was read or written at `version`; a device store keeps
    /// the highest.
    async fn saw_version(&self, _path: &str, _version: i64) {}

    /// The key `address`'s domain publishes (WKD), as published (binary or armored, not yet
    /// checked), or `None` when it publishes none. Here the server looks it up
    /// (`/keys/outside`); the browser's transport asks the domain itself when the domain's CORS
    /// allows, and the server only when it does not.
    async fn outside_key(&self, address: &str) -> Result<Option<Vec<u8>>, FlowError>
    where
        Self: Sized,
    {
        let path = format!("/keys/outside/{address}");
        match call_json::<Self, (), plico_api::PublicKey>(self, "GET", &path, None).await {
            Ok(key) => Ok(Some(key.public_cert.into_bytes())),
            Err(FlowError::Api { status: 404 | 422, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// Why a flow failed, in terms the UI can show.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The server refused; `code` and `message` come from its error body.
    #[error("{message}")]
    Api { status: u16, code: String, message: String },
    #[error("Wrong name or password.")]
    InvalidLogin,
    #[error("{0}")]
    Name(#[from] plico_api::address::NameError),
    #[error("{0}")]
    Password(#[from] plico_api::password::PasswordError),
    #[error("Could not reach the server: {0}")]
    Network(String),
    #[error("The server sent something unexpected: {0}")]
    Protocol(String),
    #[error("Encryption failed: {0}")]
    Crypto(String),
    /// What the user gave cannot be used; the sentence says why.
    #[error("{0}")]
    Invalid(String),
}

impl FlowError {
    /// A stable code for the UI and the tests.
    pub fn code(&self) -> String {
        match self {
            FlowError::Api { code, .. } => code.clone(),
            FlowError::InvalidLogin => "invalid_login".into(),
            FlowError::Name(_) => "invalid_name".into(),
            FlowError::Password(_) => "weak_password".into(),
            FlowError::Network(_) => "network".into(),
            FlowError::Protocol(_) => "protocol".into(),
            FlowError::Crypto(_) => "crypto".into(),
            FlowError::Invalid(_) => "invalid_input".into(),
        }
    }
}

impl From<OpaqueError> for FlowError {
    fn from(error: OpaqueError) -> Self {
        match error {
            OpaqueError::InvalidLogin => FlowError::InvalidLogin,
            other => FlowError::Protocol(other.to_string()),
        }
    }
}

/// The signed-in user with the secret keys open in memory.
pub struct UnlockedSession {
    pub account: Account,
    /// The primary key: it signs what the account sends and seals for itself.
    pub secret_key: Certificate,
    /// Every key of the account with its secret, the primary first, then the keys it replaced
    /// (newest first): mail and records sealed to an older key stay readable, and what an older
    /// key signed is still the account's own.
    pub keyring: Vec<Certificate>,
}

impl UnlockedSession {
    /// A session with `keyring` (the primary first; never empty).
    pub fn new(account: Account, keyring: Vec<Certificate>) -> UnlockedSession {
        UnlockedSession { account, secret_key: keyring[0].clone(), keyring }
    }

    /// Whether the key with `fingerprint` (hex) is one of the account's own.
    pub fn is_own(&self, fingerprint: &str) -> bool {
        self.keyring.iter().any(|key| key.fingerprint().to_hex() == fingerprint)
    }
}

/// Sends a request and returns the body of a 2xx response, or the server's error.
pub(crate) async fn call<T: Transport>(
    transport: &T,
    method: &str,
    path: &str,
    body: Option<TransportBody>,
) -> Result<Vec<u8>, FlowError> {
    let response = transport.request(method, path, body).await.map_err(FlowError::Network)?;
    answer(response)
}

/// A response's body, or the error its JSON body names.
pub(crate) fn answer(response: TransportResponse) -> Result<Vec<u8>, FlowError> {
    if (200..300).contains(&response.status) {
        return Ok(response.body);
    }
    match serde_json::from_slice::<ErrorBody>(&response.body) {
        Ok(ErrorBody { error }) => {
            Err(FlowError::Api { status: response.status, code: error.code, message: error.message })
        }
        Err(_) => Err(FlowError::Protocol(format!("HTTP {} without an error body", response.status))),
    }
}

/// Sends JSON (or nothing) and parses a JSON answer.
pub(crate) async fn call_json<T: Transport, B: serde::Serialize, R: serde::de::DeserializeOwned>(
    transport: &T,
    method: &str,
    path: &str,
    body: Option<&B>,
) -> Result<R, FlowError> {
    call_json_once(transport, method, path, body, None).await
}

/// [`call_json`] under an idempotency key, for a request that creates something.
pub(crate) async fn call_json_once<T: Transport, B: serde::Serialize, R: serde::de::DeserializeOwned>(
    transport: &T,
    method: &str,
    path: &str,
    body: Option<&B>,
    idempotency_key: Option<&str>,
) -> Result<R, FlowError> {
    let body = match body {
        Some(body) => Some(TransportBody {
            content_type: "application/json",
            bytes: serde_json::to_vec(body).map_err(|e| FlowError::Protocol(e.to_string()))?,
            idempotency_key: idempotency_key.map(str::to_owned),
        }),
        None => None,
    };
    let answer = call(transport, method, path, body).await?;
    serde_json::from_slice(&answer).map_err(|e| FlowError::Protocol(e.to_string()))
}

pub(crate) async fn post<T: Transport, B: serde::Serialize, R: serde::de::DeserializeOwned>(
    transport: &T,
    path: &str,
    body: &B,
) -> Result<R, FlowError> {
    call_json(transport, "POST", path, Some(body)).await
}

fn decode(field: &str, value: &str) -> Result<Vec<u8>, FlowError> {
    BASE64.decode(value).map_err(|_| FlowError::Protocol(format!("{field} is not base64")))
}

fn crypto(error: impl std::fmt::Display) -> FlowError {
    FlowError::Crypto(error.to_string())
}

/// Signs up: OPAQUE registration, a new OpenPGP certificate, and the sealed secret key.
/// The server opens a session on success, so the user is signed in afterwards.
pub async fn signup<T: Transport>(
    transport: &T,
    name: &str,
    password: &str,
    progress: impl Fn(WorkerStage),
) -> Result<UnlockedSession, FlowError> {
    signup_with_recovery(transport, name, password, None, progress).await
}

/// Signs up with an optional recovery address outside this server (an activation code is
/// mailed there when the server sends mail outside).
pub async fn signup_with_recovery<T: Transport>(
    transport: &T,
    name: &str,
    password: &str,
    recovery_address: Option<String>,
    progress: impl Fn(WorkerStage),
) -> Result<UnlockedSession, FlowError> {
    let name = plico_api::address::normalize_name(name)?;
    plico_api::password::check_new_password(password, &name)?;

    let (state, registration_request) = plico_opaque::client_registration_start(password.as_bytes())?;
    let started: SignupStartResponse = post(
        transport,
        "/signup/start",
        &SignupStartRequest { name: name.clone(), registration_request: BASE64.encode(registration_request) },
    )
    .await?;

    progress(WorkerStage::StretchingPassword);
    let response = decode("registration_response", &started.registration_response)?;
    let (upload, export_key) = plico_opaque::client_registration_finish(state, password.as_bytes(), &response)?;

    // The proof of work the server asks instead of a captcha, with its progress.
    let pow = started.pow.clone().map(|challenge| {
        let nonces = plico_pow::solve(&challenge.clone().into(), |done, total| {
            progress(WorkerStage::ProvingWork { done, total })
        });
        plico_api::PowAnswer { challenge, nonces }
    });

    progress(WorkerStage::GeneratingKeys);
    let generated = plico_pgp::generate_cert(&started.address).map_err(crypto)?;

    progress(WorkerStage::SealingKeys);
    let sealed = seal_secret_key(&export_key.0, &started.address, &generated.secret_key).map_err(crypto)?;

    progress(WorkerStage::Uploading);
    let account: Account = post(
        transport,
        "/signup/finish",
        &SignupFinishRequest {
            signup_id: started.signup_id,
            name,
            registration_upload: BASE64.encode(upload),
            public_cert: generated.public_cert_armored,
            sealed_secret_key: BASE64.encode(sealed),
            recovery_address,
            pow,
            // The screen asks for the terms to be accepted before it starts a sign-up.
            terms_version: started.terms_version,
        },
    )
    .await?;
    let secret_key = plico_pgp::parse_cert(&generated.secret_key).map_err(crypto)?;
    Ok(UnlockedSession::new(account, vec![secret_key]))
}

/// Signs in with OPAQUE and opens the sealed secret key. A closed account is refused with
/// `account_closed` (its message says until when it can be reopened); see [`login_reopening`].
pub async fn login<T: Transport>(
    transport: &T,
    address: &str,
    password: &str,
    progress: impl Fn(WorkerStage),
) -> Result<UnlockedSession, FlowError> {
    Ok(login_inner(transport, address, password, false, &progress).await?.session)
}

/// Signs in and reopens the account if its owner closed it, within the reopening period.
pub async fn login_reopening<T: Transport>(
    transport: &T,
    address: &str,
    password: &str,
    progress: impl Fn(WorkerStage),
) -> Result<UnlockedSession, FlowError> {
    Ok(login_inner(transport, address, password, true, &progress).await?.session)
}

/// A sign-in with what the device may keep besides the session: OPAQUE's export key, from which
/// [`crate::device_unlock::record`] makes this device's own way in for when the server cannot
/// be reached.
pub struct SignedIn {
    pub session: UnlockedSession,
    pub export_key: Vec<u8>,
}

/// Signs in (reopening a closed account when `reopen`), keeping the export key; see [`SignedIn`].
pub async fn sign_in<T: Transport>(
    transport: &T,
    address: &str,
    password: &str,
    reopen: bool,
    progress: impl Fn(WorkerStage),
) -> Result<SignedIn, FlowError> {
    login_inner(transport, address, password, reopen, &progress).await
}

async fn login_inner<T: Transport>(
    transport: &T,
    address: &str,
    password: &str,
    reopen: bool,
    progress: &dyn Fn(WorkerStage),
) -> Result<SignedIn, FlowError> {
    let options = SignInOptions { reopen, keep_signed_in: false };
    match sign_in_steps(transport, address, password, options, progress).await? {
        SignInStep::Done(signed_in) => Ok(*signed_in),
        SignInStep::SecondFactor(_) => Err(FlowError::Api {
            status: 202,
            code: "second_factor_required".into(),
            message: "This account asks for a second factor after the password.".into(),
        }),
    }
}

/// What a sign-in asks besides the address and password.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignInOptions {
    /// Reopen the account if its owner closed it, within the reopening period.
    pub reopen: bool,
    /// "Keep me signed in": a cookie that outlives the browser, and no idle timeout.
    pub keep_signed_in: bool,
}

/// Where a sign-in stands after the password.
pub enum SignInStep {
    Done(Box<SignedIn>),
    /// The password is right; the account asks for a second factor ([`finish_second_factor`]).
    /// No session exists yet.
    SecondFactor(PendingSignIn),
}

/// A sign-in waiting for its second factor. It keeps OPAQUE's export key, which unlocks the
/// secret key once the server opens the session.
pub struct PendingSignIn {
    pub required: plico_api::security::SecondFactorRequired,
    export_key: Vec<u8>,
}

/// Signs in with the password: done, or waiting for a second factor.
pub async fn sign_in_steps<T: Transport>(
    transport: &T,
    address: &str,
    password: &str,
    options: SignInOptions,
    progress: &dyn Fn(WorkerStage),
) -> Result<SignInStep, FlowError> {
    let (finalization, login_id, export_key) = password_proof(transport, address, password, progress).await?;
    let request = LoginFinishRequest {
        login_id,
        credential_finalization: BASE64.encode(finalization),
        reopen: options.reopen,
        keep_signed_in: options.keep_signed_in,
        reauthenticate: false,
    };
    let response = send_json(transport, "/login/finish", &request).await?;
    if response.status == 202 {
        let required = serde_json::from_slice(&response.body).map_err(|e| FlowError::Protocol(e.to_string()))?;
        return Ok(SignInStep::SecondFactor(PendingSignIn { required, export_key }));
    }
    let account: Account =
        serde_json::from_slice(&answer(response)?).map_err(|e| FlowError::Protocol(e.to_string()))?;
    progress(WorkerStage::UnlockingKeys);
    let session = unlock_account(account, &export_key)?;
    Ok(SignInStep::Done(Box::new(SignedIn { session, export_key })))
}

/// Finishes a sign-in with its second factor: `code` is the authenticator's or recovery code,
/// or for a passkey the `PublicKeyCredential`'s JSON. A wrong one leaves `pending` usable for
/// the tries the server's answer says are left.
pub async fn finish_second_factor<T: Transport>(
    transport: &T,
    pending: &PendingSignIn,
    kind: plico_api::security::SecondFactorKind,
    code: &str,
) -> Result<SignedIn, FlowError> {
    // A passkey's answer is the credential's JSON, in its own field.
    let passkey = kind == plico_api::security::SecondFactorKind::Passkey;
    let proof = plico_api::security::SecondFactorProof {
        pending_id: pending.required.pending_id.clone(),
        kind,
        code: if passkey { String::new() } else { code.to_owned() },
        credential: passkey.then(|| code.to_owned()),
    };
    let account: Account = post(transport, "/login/second-factor", &proof).await?;
    let session = unlock_account(account, &pending.export_key)?;
    Ok(SignedIn { session, export_key: pending.export_key.clone() })
}

/// Proves the password again for the session this transport holds, so that for a few minutes
/// it may make the changes that ask for it (a second factor off, every other session ended).
pub async fn reauthenticate<T: Transport>(transport: &T, address: &str, password: &str) -> Result<(), FlowError> {
    reauthenticated_export_key(transport, address, password).await.map(drop)
}

/// [`reauthenticate`], giving the export key the proof brings (to seal the keyring anew).
pub(crate) async fn reauthenticated_export_key<T: Transport>(
    transport: &T,
    address: &str,
    password: &str,
) -> Result<Vec<u8>, FlowError> {
    let (finalization, login_id, export_key) = password_proof(transport, address, password, &|_| {}).await?;
    let request = LoginFinishRequest {
        login_id,
        credential_finalization: BASE64.encode(finalization),
        reopen: false,
        keep_signed_in: false,
        reauthenticate: true,
    };
    answer(send_json(transport, "/login/finish", &request).await?)?;
    Ok(export_key)
}

/// Changes the signed-in account's password: a new OPAQUE registration, and `secret_key` sealed
/// under the new export key, swapped on the server together (after a re-authentication). With
/// `sign_out_others`, every other session ends. Returns the new export key, for this device's
/// own way in offline.
pub async fn change_password<T: Transport>(
    transport: &T,
    account: &Account,
    keyring: &[Certificate],
    new_password: &str,
    sign_out_others: bool,
) -> Result<Vec<u8>, FlowError> {
    let name = account.address.split('@').next().unwrap_or_default();
    plico_api::password::check_new_password(new_password, name)?;
    let (state, registration_request) = plico_opaque::client_registration_start(new_password.as_bytes())?;
    let started: plico_api::security::PasswordChangeStarted = post(
        transport,
        "/account/password/start",
        &plico_api::security::PasswordChangeStart { registration_request: BASE64.encode(registration_request) },
    )
    .await?;
    let response = decode("registration_response", &started.registration_response)?;
    let (upload, export_key) = plico_opaque::client_registration_finish(state, new_password.as_bytes(), &response)?;
    let secret = plico_pgp::keyring_bytes(keyring).map_err(crypto)?;
    let sealed = seal_secret_key(&export_key.0, &account.address, &secret).map_err(crypto)?;
    let _: plico_api::security::RevokedSessions = post(
        transport,
        "/account/password/finish",
        &plico_api::security::PasswordChangeFinish {
            registration_upload: BASE64.encode(upload),
            sealed_secret_key: BASE64.encode(sealed),
            sign_out_others,
        },
    )
    .await?;
    Ok(export_key.0)
}

/// OPAQUE's login up to the proof: the finalization to send, the login's id, the export key.
async fn password_proof<T: Transport>(
    transport: &T,
    address: &str,
    password: &str,
    progress: &dyn Fn(WorkerStage),
) -> Result<(Vec<u8>, String, Vec<u8>), FlowError> {
    let (state, credential_request) = plico_opaque::client_login_start(password.as_bytes())?;
    let started: LoginStartResponse = post(
        transport,
        "/login/start",
        &LoginStartRequest {
            address: address.trim().to_owned(),
            credential_request: BASE64.encode(credential_request),
        },
    )
    .await?;
    progress(WorkerStage::StretchingPassword);
    let response = decode("credential_response", &started.credential_response)?;
    let (finalization, export_key) = plico_opaque::client_login_finish(state, password.as_bytes(), &response)?;
    Ok((finalization, started.login_id, export_key.0))
}

/// Sends `body` as JSON and gives back the answer whatever its status.
async fn send_json<T: Transport, B: serde::Serialize>(
    transport: &T,
    path: &str,
    body: &B,
) -> Result<TransportResponse, FlowError> {
    let bytes = serde_json::to_vec(body).map_err(|e| FlowError::Protocol(e.to_string()))?;
    transport
        .request("POST", path, Some(TransportBody::new("application/json", bytes)))
        .await
        .map_err(FlowError::Network)
}

/// Opens the account's sealed secret key with the export key and checks it is the account's:
/// the fingerprint the server gives, and every key of the certificate it publishes, must be the
/// unlocked key's, so a changed database cannot slip another key in beside ours. What the client
/// seals for itself it seals with the unlocked key itself (`crate::sealed`).
pub(crate) fn unlock_account(account: Account, export_key: &[u8]) -> Result<UnlockedSession, FlowError> {
    let sealed = decode("sealed_secret_key", &account.sealed_secret_key)?;
    let secret = open_secret_key(export_key, &account.address, &sealed).map_err(crypto)?;
    // A keyring: the primary key first, then the keys it replaced.
    let keyring = plico_pgp::parse_keyring(&secret).map_err(crypto)?;
    let secret_key = &keyring[0];
    if plico_pgp::fingerprint_hex(secret_key) != account.fingerprint {
        return Err(FlowError::Crypto("the unlocked key does not match the account's certificate".into()));
    }
    let published = plico_pgp::parse_cert(account.public_cert.as_bytes()).map_err(crypto)?;
    if plico_pgp::key_fingerprints(&published) != plico_pgp::key_fingerprints(secret_key) {
        return Err(FlowError::Crypto(
            "the public key the server publishes for your account is not the public part of your secret key; \
             someone changed it. Do not use this account until the server's operator has looked into it"
                .into(),
        ));
    }
    Ok(UnlockedSession::new(account, keyring))
}
