//! Plico's OPAQUE (RFC 9807) protocol, as bytes-in, bytes-out steps for both sides.
//!
//! The browser worker calls the `client_*` functions and the server the `server_*` ones, so
//! neither needs opaque-ke's generics. The password never leaves the client: the server only
//! ever holds a password file that is useless for an offline dictionary attack without the
//! OPRF seed inside its [`ServerSetup`], which the server keeps in its own file.
//!
//! Architecture Invariant: this crate does no IO.

use opaque_ke::ciphersuite::CipherSuite;
use opaque_ke::errors::ProtocolError;
use opaque_ke::{
    ClientLogin, ClientLoginFinishParameters, ClientRegistration, ClientRegistrationFinishParameters,
    CredentialFinalization, CredentialRequest, CredentialResponse, Identifiers, RegistrationRequest,
    RegistrationResponse, RegistrationUpload, ServerLogin, ServerLoginStartParameters, ServerRegistration,
};
use rand::rngs::OsRng;

/// The suite: ristretto255 for the OPRF and the key exchange, and Argon2id as the key-stretching
/// function, so that a stolen password file also costs an attacker Argon2 per guess.
pub struct PlicoSuite;

impl CipherSuite for PlicoSuite {
    type OprfCs = opaque_ke::Ristretto255;
    type KeGroup = opaque_ke::Ristretto255;
    type KeyExchange = opaque_ke::key_exchange::tripledh::TripleDh;
    type Ksf = argon2::Argon2<'static>;
}

/// Argon2id memory cost in KiB: 64 MiB.
pub const ARGON2_MEMORY_KIB: u32 = 64 * 1024;
/// Argon2id passes over memory.
pub const ARGON2_ITERATIONS: u32 = 3;
/// Argon2id lanes. One, because the browser worker has a single thread.
pub const ARGON2_LANES: u32 = 1;

/// The server's long-term OPAQUE secret: the OPRF seed and the server's key pair.
pub type ServerSetup = opaque_ke::ServerSetup<PlicoSuite>;

/// Why an OPAQUE step failed.
#[derive(Debug, thiserror::Error)]
pub enum OpaqueError {
    /// A message from the other side did not parse.
    #[error("the {0} message is malformed")]
    Malformed(&'static str),
    /// The password was wrong, or the account does not exist; the two are indistinguishable.
    #[error("wrong name or password")]
    InvalidLogin,
    #[error("OPAQUE protocol error: {0}")]
    Protocol(String),
}

impl From<ProtocolError> for OpaqueError {
    fn from(error: ProtocolError) -> Self {
        match error {
            ProtocolError::InvalidLoginError => OpaqueError::InvalidLogin,
            ProtocolError::SerializationError => OpaqueError::Malformed("OPAQUE"),
            other => OpaqueError::Protocol(other.to_string()),
        }
    }
}

/// The key-stretching function with Plico's parameters.
fn stretching() -> argon2::Argon2<'static> {
    // The parameters are constants within argon2's documented bounds, so this cannot fail.
    #[allow(clippy::expect_used)]
    let params = argon2::Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_LANES, None)
        .expect("constant Argon2 parameters are valid");
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// Stretches `password` with Plico's Argon2id parameters under `salt` into a 32-byte key, for
/// what the client seals on its own device (the way in offline, `plico_client::device_unlock`):
/// each guess at a stolen device's record costs an attacker what a guess at OPAQUE costs.
pub fn stretch_password(password: &[u8], salt: &[u8]) -> Result<[u8; 32], OpaqueError> {
    let mut key = [0u8; 32];
    stretching()
        .hash_password_into(password, salt, &mut key)
        .map_err(|error| OpaqueError::Protocol(format!("Argon2id: {error}")))?;
    Ok(key)
}

/// Makes a new server secret. Called once, when a data directory is first used.
pub fn server_setup_new() -> ServerSetup {
    ServerSetup::new(&mut OsRng)
}

/// Serialises the server secret for its file.
pub fn server_setup_to_bytes(setup: &ServerSetup) -> Vec<u8> {
    setup.serialize().to_vec()
}

/// Reads the server secret back from its file.
pub fn server_setup_from_bytes(bytes: &[u8]) -> Result<ServerSetup, OpaqueError> {
    ServerSetup::deserialize(bytes).map_err(|_| OpaqueError::Malformed("server setup"))
}

/// The client's state between the two registration steps.
pub struct ClientRegistrationState(ClientRegistration<PlicoSuite>);

/// The client's state between the two login steps.
pub struct ClientLoginState(ClientLogin<PlicoSuite>);

/// What a finished client step yields besides its message: OPAQUE's export key, a secret that
/// only the password's owner can derive and that is the same at every login.
pub struct ExportKey(pub Vec<u8>);

/// Registration, client step 1: blind the password.
pub fn client_registration_start(password: &[u8]) -> Result<(ClientRegistrationState, Vec<u8>), OpaqueError> {
    let start = ClientRegistration::<PlicoSuite>::start(&mut OsRng, password)?;
    Ok((ClientRegistrationState(start.state), start.message.serialize().to_vec()))
}

/// Registration, client step 2: stretch the password, seal the envelope, and return the upload.
pub fn client_registration_finish(
    state: ClientRegistrationState,
    password: &[u8],
    registration_response: &[u8],
) -> Result<(Vec<u8>, ExportKey), OpaqueError> {
    let response = RegistrationResponse::<PlicoSuite>::deserialize(registration_response)
        .map_err(|_| OpaqueError::Malformed("registration response"))?;
    let ksf = stretching();
    let params = ClientRegistrationFinishParameters::new(Identifiers::default(), Some(&ksf));
    let finish = state.0.finish(&mut OsRng, password, response, params)?;
    Ok((finish.message.serialize().to_vec(), ExportKey(finish.export_key.to_vec())))
}

/// Registration, server step 1: evaluate the blinded password under this account's OPRF key.
pub fn server_registration_start(
    setup: &ServerSetup,
    registration_request: &[u8],
    credential_identifier: &[u8],
) -> Result<Vec<u8>, OpaqueError> {
    let request = RegistrationRequest::<PlicoSuite>::deserialize(registration_request)
        .map_err(|_| OpaqueError::Malformed("registration request"))?;
    let start = ServerRegistration::<PlicoSuite>::start(setup, request, credential_identifier)?;
    Ok(start.message.serialize().to_vec())
}

/// Registration, server step 2: the upload becomes the stored password file.
pub fn server_registration_finish(registration_upload: &[u8]) -> Result<Vec<u8>, OpaqueError> {
    let upload = RegistrationUpload::<PlicoSuite>::deserialize(registration_upload)
        .map_err(|_| OpaqueError::Malformed("registration upload"))?;
    Ok(ServerRegistration::<PlicoSuite>::finish(upload).serialize().to_vec())
}

/// Login, client step 1.
pub fn client_login_start(password: &[u8]) -> Result<(ClientLoginState, Vec<u8>), OpaqueError> {
    let start = ClientLogin::<PlicoSuite>::start(&mut OsRng, password)?;
    Ok((ClientLoginState(start.state), start.message.serialize().to_vec()))
}

/// Login, client step 2: stretch the password and open the envelope. A wrong password, and an
/// unknown account, both end here in [`OpaqueError::InvalidLogin`].
pub fn client_login_finish(
    state: ClientLoginState,
    password: &[u8],
    credential_response: &[u8],
) -> Result<(Vec<u8>, ExportKey), OpaqueError> {
    let response = CredentialResponse::<PlicoSuite>::deserialize(credential_response)
        .map_err(|_| OpaqueError::Malformed("credential response"))?;
    let ksf = stretching();
    let params = ClientLoginFinishParameters::new(None, Identifiers::default(), Some(&ksf));
    let finish = state.0.finish(password, response, params)?;
    Ok((finish.message.serialize().to_vec(), ExportKey(finish.export_key.to_vec())))
}

/// The server's state between the two login steps, serialised so the server can keep it anywhere.
pub struct ServerLoginState(pub Vec<u8>);

/// Login, server step 1. `password_file` is `None` for an unknown account: OPAQUE then answers
/// with a fake response that the client cannot tell from a real one.
pub fn server_login_start(
    setup: &ServerSetup,
    password_file: Option<&[u8]>,
    credential_request: &[u8],
    credential_identifier: &[u8],
) -> Result<(ServerLoginState, Vec<u8>), OpaqueError> {
    let password_file = match password_file {
        Some(bytes) => Some(
            ServerRegistration::<PlicoSuite>::deserialize(bytes)
                .map_err(|_| OpaqueError::Malformed("stored password file"))?,
        ),
        None => None,
    };
    let request = CredentialRequest::<PlicoSuite>::deserialize(credential_request)
        .map_err(|_| OpaqueError::Malformed("credential request"))?;
    let start = ServerLogin::start(
        &mut OsRng,
        setup,
        password_file,
        request,
        credential_identifier,
        ServerLoginStartParameters::default(),
    )?;
    Ok((ServerLoginState(start.state.serialize().to_vec()), start.message.serialize().to_vec()))
}

/// Login, server step 2: check the client's proof.
pub fn server_login_finish(state: &ServerLoginState, credential_finalization: &[u8]) -> Result<(), OpaqueError> {
    let state = ServerLogin::<PlicoSuite>::deserialize(&state.0).map_err(|_| OpaqueError::Malformed("login state"))?;
    let finalization = CredentialFinalization::<PlicoSuite>::deserialize(credential_finalization)
        .map_err(|_| OpaqueError::Malformed("credential finalization"))?;
    state.finish(finalization).map_err(|_| OpaqueError::InvalidLogin)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretching_depends_on_password_and_salt_and_repeats() {
        let key = stretch_password(b"correct horse", &[1; 16]).expect("stretches");
        assert_eq!(key, stretch_password(b"correct horse", &[1; 16]).expect("stretches"));
        assert_ne!(key, stretch_password(b"correct horsf", &[1; 16]).expect("stretches"));
        assert_ne!(key, stretch_password(b"correct horse", &[2; 16]).expect("stretches"));
        assert!(stretch_password(b"correct horse", &[1; 4]).is_err(), "Argon2 needs at least 8 bytes of salt");
    }

    fn register(setup: &ServerSetup, identifier: &[u8], password: &[u8]) -> (Vec<u8>, ExportKey) {
        let (state, request) = client_registration_start(password).expect("start");
        let response = server_registration_start(setup, &request, identifier).expect("server start");
        let (upload, export_key) = client_registration_finish(state, password, &response).expect("finish");
        (server_registration_finish(&upload).expect("server finish"), export_key)
    }

    fn login(
        setup: &ServerSetup,
        file: Option<&[u8]>,
        identifier: &[u8],
        password: &[u8],
    ) -> Result<ExportKey, OpaqueError> {
        let (state, request) = client_login_start(password)?;
        let (server_state, response) = server_login_start(setup, file, &request, identifier)?;
        let (finalization, export_key) = client_login_finish(state, password, &response)?;
        server_login_finish(&server_state, &finalization)?;
        Ok(export_key)
    }

    #[test]
    fn registration_then_login_yields_the_same_export_key() {
        let setup = server_setup_new();
        let (file, registered) = register(&setup, b"alice@plico.test", b"correct horse battery");
        let logged_in = login(&setup, Some(&file), b"alice@plico.test", b"correct horse battery").expect("login");
        assert_eq!(registered.0, logged_in.0);
        assert_eq!(registered.0.len(), 64);
        // The server's password file never contains the password.
        assert!(!file.windows(8).any(|w| w == b"correct "));
    }

    #[test]
    fn wrong_password_and_unknown_account_fail_the_same_way() {
        let setup = server_setup_new();
        let (file, _) = register(&setup, b"bob@plico.test", b"a good passphrase");
        let wrong = login(&setup, Some(&file), b"bob@plico.test", b"not the passphrase");
        let unknown = login(&setup, None, b"nobody@plico.test", b"a good passphrase");
        assert!(matches!(wrong, Err(OpaqueError::InvalidLogin)), "{:?}", wrong.err());
        assert!(matches!(unknown, Err(OpaqueError::InvalidLogin)), "{:?}", unknown.err());
    }

    #[test]
    fn server_setup_survives_a_round_trip_through_bytes() {
        let setup = server_setup_new();
        let restored = server_setup_from_bytes(&server_setup_to_bytes(&setup)).expect("restores");
        let (file, _) = register(&setup, b"carol@plico.test", b"password for carol");
        login(&restored, Some(&file), b"carol@plico.test", b"password for carol").expect("login with restored setup");
    }

    #[test]
    fn malformed_messages_are_named() {
        let setup = server_setup_new();
        let error = server_registration_start(&setup, b"short", b"x").expect_err("rejects");
        assert_eq!(error.to_string(), "the registration request message is malformed");
    }
}
