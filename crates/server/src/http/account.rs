//! The account: sign-up and sign-in (OPAQUE), sessions, the login history, settings, storage
//! usage, the sealed keyring, the recovery address, and closing the account.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use plico_api::address::{local_part_for_domain, normalize_name};
use plico_api::privacy::{ClosedAccount, ConfirmRecoveryAddress, RecoveryAddress, SetRecoveryAddress};
use plico_api::security::{
    FactorResetRequest, FactorResetStarted, SecondFactorKind, SecondFactorProof, SecondFactorRequired,
};
use plico_api::{
    Account, LoginFinishRequest, LoginHistory, LoginKind, LoginStartRequest, LoginStartResponse, ServerInfo,
    SignupFinishRequest, SignupStartRequest, SignupStartResponse,
};
use rand::RngCore;

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{decode_base64, ApiJson};
use crate::http::rules;
use crate::http::sealed::{read_sealed, write_sealed, SealedRules};
use crate::http::session::{self, ClientMeta, SignedIn};
use crate::policy::{self, LOGIN_HISTORY_DAYS};
use crate::store::lifecycle::CodeCheck;
use crate::store::nodes::PendingLogin;
use crate::store::security::{FactorReset, NewSession, PendingSecondFactor, ResetCheck};
use crate::store::{AccountRow, InsertError, NewAccount, NewLoginEvent, SealedDocument};
use crate::{factors, AppState, PENDING_LOGIN_SECONDS};

/// Armored certificates are a few KiB; this bounds what we parse.
const MAX_CERT_BYTES: usize = 64 * 1024;

fn rate_limited(retry_after_seconds: u64) -> ApiError {
    ApiError::RateLimited { retry_after_seconds }
}

fn account_view(row: &AccountRow) -> ApiResult<Account> {
    let cert = plico_pgp::parse_cert(&row.public_cert).map_err(ApiError::internal)?;
    Ok(Account {
        address: row.address.clone(),
        fingerprint: row.fingerprint.clone(),
        public_cert: plico_pgp::armor_public_cert(&cert).map_err(ApiError::internal)?,
        sealed_secret_key: BASE64.encode(&row.sealed_secret_key),
        created_at: row.created_at,
        mail_analysis: row.mail_analysis,
    })
}

/// Opens a session, and answers with the cookie and the account the client unlocks.
/// `vanished` is the answer when the account is gone by now.
async fn signed_in(
    state: &AppState,
    account_id: i64,
    meta: &ClientMeta,
    kind: LoginKind,
    keep_signed_in: bool,
    vanished: ApiError,
) -> ApiResult<(HeaderMap, Json<Account>)> {
    let headers = open_session(state, account_id, meta, kind, keep_signed_in).await?;
    let row = state.store.account_by_id(account_id).await?.ok_or(vanished)?;
    Ok((headers, Json(account_view(&row)?)))
}

/// Opens a session for `account_id`, records the login, and returns the cookie header.
async fn open_session(
    state: &AppState,
    account_id: i64,
    meta: &ClientMeta,
    kind: LoginKind,
    keep_signed_in: bool,
) -> ApiResult<HeaderMap> {
    let now = state.clock.now();
    let (token, token_hash) = session::new_token();
    let public_id: String =
        state.node.random_bytes(16).map_err(ApiError::internal)?.iter().map(|byte| format!("{byte:02x}")).collect();
    state
        .store
        .insert_session(&NewSession {
            token_hash: &token_hash,
            public_id: &public_id,
            account_id,
            now,
            expires_at: now + i64::from(state.config.session_hours) * 3600,
            ip: &meta.ip,
            user_agent: &meta.user_agent,
            keep_signed_in,
        })
        .await?;
    record_login(state, account_id, meta, kind).await?;
    state.store.record_activity(account_id, now).await?;
    Ok(session::with_cookie(HeaderMap::new(), session::set_cookie(state, &token, keep_signed_in)))
}

/// Adds an entry to the account's login history.
async fn record_login(state: &AppState, account_id: i64, meta: &ClientMeta, kind: LoginKind) -> ApiResult<()> {
    let at = state.clock.now();
    let event = NewLoginEvent { account_id, at, ip: &meta.ip, user_agent: &meta.user_agent, kind };
    state.store.insert_login_event(&event).await?;
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/info", responses((status = 200, body = ServerInfo)))]
pub async fn info(State(state): State<AppState>) -> Json<ServerInfo> {
    Json(ServerInfo {
        domain: state.config.domain.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        max_attachment_bytes: state.config.max_attachment_bytes,
    })
}

/// How long a sign-up's proof of work may take (the sign-up itself waits ten minutes).
const POW_SECONDS: i64 = 600;

/// The key proofs of work are signed with: the same on every node, derived from the secret the
/// nodes share and never stored.
fn pow_key(state: &AppState) -> Vec<u8> {
    state.node.keyed_hash("signup proof of work", &[])
}

/// The proof of work sign-up `signup_id` must bring: the operator's rounds and bits, one bit
/// more for each sign-up this source started in the last hour (up to four).
async fn signup_challenge(
    state: &AppState,
    signup_id: &str,
    meta: &ClientMeta,
    now: i64,
) -> ApiResult<Option<plico_api::PowChallenge>> {
    let rounds = state.config.signup_pow_rounds;
    if rounds == 0 {
        return Ok(None);
    }
    let earlier = state.limits.signup_per_ip.count(&state.store, &format!("ip:{}", meta.ip), now).await?;
    let bits = state.config.signup_pow_bits + u32::try_from((earlier - 1).clamp(0, 4)).unwrap_or(0);
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let challenge = plico_pow::Challenge::issue(&pow_key(state), signup_id, salt, rounds, bits, now, POW_SECONDS);
    Ok(Some(challenge.into()))
}

/// Checks the proof of work a sign-up brings, when the server asks one.
fn check_pow(state: &AppState, signup_id: &str, answer: Option<&plico_api::PowAnswer>, now: i64) -> ApiResult<()> {
    if state.config.signup_pow_rounds == 0 {
        return Ok(());
    }
    let answer = answer.ok_or_else(|| {
        ApiError::invalid("pow_required", "This sign-up needs the proof of work signup/start asked for.")
    })?;
    let challenge: plico_pow::Challenge = answer.challenge.clone().into();
    challenge
        .verify(&pow_key(state), signup_id, &answer.nonces, now)
        .map_err(|error| ApiError::invalid("pow_refused", format!("The sign-up was refused: {error}.")))
}

/// A purged account's name cannot be taken during its quarantine.
async fn refuse_quarantined(state: &AppState, name: &str) -> ApiResult<()> {
    if state.store.name_quarantined(name, state.clock.now()).await? {
        return Err(ApiError::conflict(
            "name_quarantined",
            format!("The name {name} belonged to an account that was deleted; it cannot be taken again yet."),
        ));
    }
    Ok(())
}

/// A name as the API takes it: exactly the rules (no spaces around it, which the app trims),
/// any case. A reserved name breaks no rule but is not free (409).
fn checked_name(raw: &str) -> ApiResult<String> {
    if raw.trim() != raw {
        return Err(ApiError::invalid("invalid_name", "The name has spaces around it."));
    }
    normalize_name(raw).map_err(|error| match error {
        plico_api::address::NameError::Reserved => ApiError::conflict("name_taken", error.to_string()),
        error => ApiError::invalid("invalid_name", error.to_string()),
    })
}

#[utoipa::path(post, path = "/api/v1/signup/start", request_body = SignupStartRequest,
    responses((status = 200, body = SignupStartResponse), (status = 409, body = plico_api::ErrorBody),
              (status = 422, body = plico_api::ErrorBody), (status = 429, body = plico_api::ErrorBody)))]
pub async fn signup_start(
    State(state): State<AppState>,
    meta: ClientMeta,
    ApiJson(request): ApiJson<SignupStartRequest>,
) -> ApiResult<Json<SignupStartResponse>> {
    let name = checked_name(&request.name)?;
    let registration_request = decode_base64("registration_request", &request.registration_request)?;
    state
        .limits
        .signup_per_ip
        .check(&state.store, &format!("ip:{}", meta.ip), state.clock.now())
        .await?
        .map_err(rate_limited)?;
    if state.store.name_exists(&name).await? {
        return Err(ApiError::conflict("name_taken", format!("The name {name} is already taken.")));
    }
    refuse_quarantined(&state, &name).await?;
    let address = state.address_for(&name);
    let response =
        plico_opaque::server_registration_start(&state.opaque_setup, &registration_request, address.as_bytes())
            .map_err(|error| ApiError::bad_request("malformed_opaque", error.to_string()))?;
    // `signup/finish` must name this start: an account costs a start, which is limited.
    let now = state.clock.now();
    let mut id_bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id_bytes);
    let signup_id = BASE64.encode(id_bytes);
    let not_before = now - crate::PENDING_SIGNUP_SECONDS + 1;
    if !state.store.insert_pending_signup(&signup_id, &name, now, not_before, crate::MAX_PENDING_SIGNUPS).await? {
        return Err(ApiError::Limited {
            code: "rate_limited",
            message: "Too many sign-ups are under way; try again in a minute.".into(),
            retry_after_seconds: 60,
        });
    }
    let pow = signup_challenge(&state, &signup_id, &meta, now).await?;
    let terms_version = state.published.policy.version;
    Ok(Json(SignupStartResponse {
        signup_id,
        address,
        registration_response: BASE64.encode(response),
        pow,
        terms_version,
    }))
}

#[utoipa::path(post, path = "/api/v1/signup/finish", request_body = SignupFinishRequest,
    responses((status = 200, body = Account, description = "Signed up and signed in; sets the session cookie"),
              (status = 409, body = plico_api::ErrorBody), (status = 422, body = plico_api::ErrorBody), (status = 404, body = plico_api::ErrorBody, description = "No sign-up with that id was started for that name in the last ten minutes"), (status = 429, body = plico_api::ErrorBody, description = "Too many sign-ups from this address")))]
pub async fn signup_finish(
    State(state): State<AppState>,
    meta: ClientMeta,
    ApiJson(request): ApiJson<SignupFinishRequest>,
) -> ApiResult<(HeaderMap, Json<Account>)> {
    let name = checked_name(&request.name)?;
    let now = state.clock.now();
    state
        .limits
        .signup_finish_per_ip
        .check(&state.store, &format!("ip:{}", meta.ip), now)
        .await?
        .map_err(rate_limited)?;
    let not_before = now - crate::PENDING_SIGNUP_SECONDS + 1;
    let started = state.store.take_pending_signup(&request.signup_id, not_before).await?;
    if started.as_deref() != Some(name.as_str()) {
        return Err(ApiError::not_found(
            "signup_expired",
            "This sign-up was not started, was for another name, or took longer than ten minutes: start again.",
        ));
    }
    // The sign-up is spent now: its proof of work cannot serve another.
    check_pow(&state, &request.signup_id, request.pow.as_ref(), now)?;
    let terms = state.published.policy.version;
    if request.terms_version != terms {
        return Err(ApiError::conflict(
            "terms_changed",
            format!(
                "You accepted version {} of the terms, but version {terms} is in force now: read it and sign up again.",
                request.terms_version
            ),
        ));
    }
    refuse_quarantined(&state, &name).await?;
    let recovery = match request.recovery_address.as_deref().map(str::trim).filter(|address| !address.is_empty()) {
        Some(address) => Some(rules::check_recovery_address(&state, address)?),
        None if request.recovery_address.is_some() => {
            return Err(ApiError::invalid(
                "bad_recovery_address",
                "The recovery address is empty; leave it out instead.",
            ))
        }
        None => None,
    };
    let address = state.address_for(&name);
    let upload = decode_base64("registration_upload", &request.registration_upload)?;
    let sealed_secret_key = decode_base64("sealed_secret_key", &request.sealed_secret_key)?;
    if request.public_cert.len() > MAX_CERT_BYTES {
        return Err(ApiError::invalid("invalid_cert", "The certificate is larger than 64 KiB."));
    }
    if sealed_secret_key.is_empty() || sealed_secret_key.len() > MAX_CERT_BYTES {
        return Err(ApiError::invalid("invalid_sealed_key", "The sealed secret key is empty or larger than 64 KiB."));
    }
    let password_file = plico_opaque::server_registration_finish(&upload)
        .map_err(|error| ApiError::bad_request("malformed_opaque", error.to_string()))?;
    // The certificate must be public only, valid, and for this address. A secret key sent in the
    // clear is refused, so the server never stores one.
    let checked = plico_pgp::check_uploaded_public_cert(request.public_cert.as_bytes(), &address)
        .map_err(|error| ApiError::invalid("invalid_cert", error.to_string()))?;
    let public_cert = plico_pgp::public_cert_bytes(&checked.cert).map_err(ApiError::internal)?;
    let account_id = state
        .store
        .insert_account(&NewAccount {
            name: &name,
            address: &address,
            opaque_password_file: &password_file,
            public_cert: &public_cert,
            fingerprint: &checked.fingerprint,
            wkd_hash: &crate::wkd::wkd_hash(&name),
            sealed_secret_key: &sealed_secret_key,
            created_at: now,
            terms_version: Some(terms),
        })
        .await
        .map_err(|error| match error {
            InsertError::NameTaken => ApiError::conflict("name_taken", format!("The name {name} is already taken.")),
            InsertError::Database(error) => error.into(),
        })?;
    tracing::info!(account_id, "account created");
    let answer =
        signed_in(&state, account_id, &meta, LoginKind::Signup, false, ApiError::internal("account vanished")).await?;
    if let Some(recovery) = recovery {
        // Checked before the account was made; what can fail now is queueing the code, which
        // the account page can ask for again.
        if let Err(error) = rules::set_recovery_address(&state, account_id, Some(&recovery)).await {
            tracing::warn!(%error, "the recovery address given at sign-up was not set");
        }
    }
    Ok(answer)
}

#[utoipa::path(post, path = "/api/v1/login/start", request_body = LoginStartRequest,
    responses((status = 200, body = LoginStartResponse, description = "Also for unknown names: the response is a fake that cannot finish"),
              (status = 429, body = plico_api::ErrorBody), (status = 422, body = plico_api::ErrorBody, description = "The address is empty or too long")))]
pub async fn login_start(
    State(state): State<AppState>,
    meta: ClientMeta,
    ApiJson(request): ApiJson<LoginStartRequest>,
) -> ApiResult<Json<LoginStartResponse>> {
    let now = state.clock.now();
    if request.address.is_empty() || request.address.len() > 254 {
        return Err(ApiError::invalid("invalid_address", "Give the account's address or name (1 to 254 characters)."));
    }
    let credential_request = decode_base64("credential_request", &request.credential_request)?;
    state.limits.login_per_ip.check(&state.store, &format!("ip:{}", meta.ip), now).await?.map_err(rate_limited)?;
    // A name from another domain, or one that breaks the rules, cannot exist here; it still gets
    // the same fake answer as an unknown one, so nothing tells the two apart.
    let name = local_part_for_domain(&request.address, &state.config.domain)
        .and_then(|local| normalize_name(local).ok())
        .unwrap_or_default();
    // Guessing is held back per account and source, so a stranger who tries a name locks out
    // only themselves; guessing spread over many sources is held back for the account as a whole,
    // except from devices that signed in to it before.
    state
        .limits
        .login_per_account
        .check(&state.store, &format!("name:{name} ip:{}", meta.ip), now)
        .await?
        .map_err(rate_limited)?;
    let account = if name.is_empty() { None } else { state.store.account_by_name(&name).await? };
    let known = match &account {
        Some(row) => state.store.signed_in_from(row.id, &meta.ip).await?,
        None => false,
    };
    if !known {
        state
            .limits
            .login_account_wide
            .check(&state.store, &format!("name:{name}"), now)
            .await?
            .map_err(rate_limited)?;
    }
    let identifier = state.address_for(&name);
    let (server_state, response) = plico_opaque::server_login_start(
        &state.opaque_setup,
        account.as_ref().map(|row| row.opaque_password_file.as_slice()),
        &credential_request,
        identifier.as_bytes(),
    )
    .map_err(|error| ApiError::bad_request("malformed_opaque", error.to_string()))?;

    let mut id_bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id_bytes);
    let login_id = BASE64.encode(id_bytes);
    // The OPAQUE state waits in the database, sealed under a key only the nodes hold, so the
    // finish may arrive at any node.
    let sealed_state =
        state.node.seal("pending login", login_id.as_bytes(), &server_state.0).map_err(ApiError::internal)?;
    let pending = PendingLogin {
        sealed_state,
        account_id: account.map(|row| row.id),
        name,
        started_at: now,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
    };
    state.store.insert_pending_login(&login_id, &pending).await?;
    Ok(Json(LoginStartResponse { login_id, credential_response: BASE64.encode(response) }))
}

#[utoipa::path(post, path = "/api/v1/login/finish", request_body = LoginFinishRequest,
    responses((status = 200, body = Account, description = "Signed in; sets the session cookie"),
              (status = 202, body = SecondFactorRequired, description = "The password is right and the account has a second factor: no session yet; finish with login/second-factor"),
              (status = 204, description = "Re-authenticated: the session this request carries may make the changes that ask for the password, for five minutes"),
              (status = 401, body = plico_api::ErrorBody), (status = 403, body = plico_api::ErrorBody, description = "The account is closed: finish again with reopen")))]
pub async fn login_finish(
    State(state): State<AppState>,
    meta: ClientMeta,
    headers: HeaderMap,
    ApiJson(request): ApiJson<LoginFinishRequest>,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let invalid = || ApiError::InvalidLogin;
    if request.login_id.len() > 64 {
        return Err(invalid());
    }
    let not_before = now - PENDING_LOGIN_SECONDS + 1;
    let pending = state.store.take_pending_login(&request.login_id, not_before).await?.ok_or_else(invalid)?;
    let server_state = state
        .node
        .open("pending login", request.login_id.as_bytes(), pending.sealed_state)
        .map(plico_opaque::ServerLoginState)
        .ok_or_else(invalid)?;
    // A finalization that is not even base64 fails like a wrong one: the login is spent.
    let proven = decode_base64("credential_finalization", &request.credential_finalization)
        .ok()
        .is_some_and(|finalization| plico_opaque::server_login_finish(&server_state, &finalization).is_ok());
    let account_id = pending.account_id.ok_or_else(invalid)?;
    if !proven {
        // The owner sees wrong passwords in the login history; unknown names leave nothing.
        record_login(&state, account_id, &meta, LoginKind::FailedPassword).await?;
        return Err(invalid());
    }
    state.limits.login_per_account.reset(&state.store, &format!("name:{} ip:{}", pending.name, meta.ip)).await?;
    if request.reauthenticate {
        return reauthenticate(&state, &headers, account_id).await;
    }
    let second_factor = state.store.has_second_factor(account_id).await?;
    // With a second factor, a closed account reopens only once the factor is proven too.
    if !(second_factor && request.reopen) {
        rules::check_closed(&state, account_id, request.reopen && !second_factor).await?;
    }
    if second_factor {
        let pending_id = BASE64.encode(state.node.random_bytes(16).map_err(ApiError::internal)?);
        let mut methods = Vec::new();
        if state.store.totp_factor(account_id).await?.is_some_and(|factor| factor.confirmed) {
            methods.push(SecondFactorKind::Totp);
        }
        // With passkeys, the challenge for them is made now and kept with the pending sign-in.
        let passkeys: Vec<_> = factors::passkeys(&state.store, &state.node, account_id)
            .await?
            .into_iter()
            .map(|(_, passkey)| passkey)
            .collect();
        let (passkey_options, passkey_state) = if passkeys.is_empty() {
            (None, None)
        } else {
            let (options, sealed) = state
                .passkeys
                .start_sign_in(&state.node, &pending_id, &passkeys, now)
                .map_err(|error| ApiError::internal(error.to_string()))?;
            methods.push(SecondFactorKind::Passkey);
            (Some(options), Some(sealed))
        };
        if state.store.recovery_codes_left(account_id).await? > 0 {
            methods.push(SecondFactorKind::RecoveryCode);
        }
        let waiting = PendingSecondFactor {
            account_id,
            started_at: now,
            keep_signed_in: request.keep_signed_in,
            reopen: request.reopen,
            tries: 0,
            passkey_state,
        };
        state.store.insert_pending_second_factor(&pending_id, &waiting).await?;
        let answer = SecondFactorRequired {
            pending_id,
            methods,
            expires_in_seconds: factors::PENDING_SECONDS as u32,
            passkey_options,
        };
        return Ok((StatusCode::ACCEPTED, Json(answer)).into_response());
    }
    let answer = signed_in(&state, account_id, &meta, LoginKind::Password, request.keep_signed_in, invalid()).await?;
    Ok(answer.into_response())
}

/// The password was proven again for the session the request carries, which must be the same
/// account's: it may make the changes that ask for the password for a few minutes.
async fn reauthenticate(state: &AppState, headers: &HeaderMap, account_id: i64) -> ApiResult<Response> {
    let token =
        session::read_cookie(headers, session::cookie_name(state.config.behind_tls)).ok_or(ApiError::Unauthorized)?;
    let current = session::live_session(state, token).await?;
    if current.account_id != account_id {
        return Err(ApiError::InvalidLogin);
    }
    let until = state.clock.now() + factors::REAUTH_SECONDS;
    state.store.set_reauthenticated(&session::hash_token(token), until).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/v1/login/second-factor", request_body = SecondFactorProof,
    responses((status = 200, body = Account, description = "Signed in; sets the session cookie"),
              (status = 403, body = plico_api::ErrorBody, description = "The code is wrong or was used before; the answer says how many tries are left"),
              (status = 404, body = plico_api::ErrorBody, description = "No sign-in waits for a second factor under that id: it took longer than five minutes, was tried too often, or is done")))]
pub async fn login_second_factor(
    State(state): State<AppState>,
    meta: ClientMeta,
    ApiJson(proof): ApiJson<SecondFactorProof>,
) -> ApiResult<(HeaderMap, Json<Account>)> {
    let now = state.clock.now();
    let gone = || {
        ApiError::not_found(
            "second_factor_expired",
            "This sign-in waited longer than five minutes for its second factor, was tried too often, or is done: sign in again.",
        )
    };
    if proof.pending_id.len() > 64 || proof.code.len() > 64 {
        return Err(gone());
    }
    if proof.credential.as_ref().is_some_and(|credential| credential.len() > crate::passkeys::MAX_CREDENTIAL_BYTES) {
        return Err(ApiError::invalid("credential_too_large", "The passkey's answer is larger than 16 KiB."));
    }
    let not_before = now - factors::PENDING_SECONDS + 1;
    let pending = state.store.take_pending_second_factor(&proof.pending_id, not_before).await?.ok_or_else(gone)?;
    let account_id = pending.account_id;
    let (right, kind) = match proof.kind {
        SecondFactorKind::Totp => {
            (factors::check_totp(&state.store, &state.node, account_id, &proof.code, now).await?, LoginKind::Totp)
        }
        SecondFactorKind::RecoveryCode => {
            let hash = factors::recovery_hash(&state.node, &proof.code);
            (state.store.use_recovery_code(account_id, &hash, now).await?, LoginKind::RecoveryCode)
        }
        SecondFactorKind::Passkey => {
            (check_passkey(&state, &proof, pending.passkey_state.clone(), account_id, now).await?, LoginKind::Passkey)
        }
        SecondFactorKind::ResetCode => {
            let hash = factors::reset_hash(&state.node, account_id, &proof.code);
            match state.store.finish_factor_reset(account_id, &hash, now).await? {
                ResetCheck::Done => (true, LoginKind::FactorReset),
                ResetCheck::NotReady { ready_at } => {
                    // Not a try: the pending sign-in waits on, and nothing is counted.
                    state.store.insert_pending_second_factor(&proof.pending_id, &pending).await?;
                    return Err(ApiError::Forbidden {
                        code: "reset_not_ready",
                        message: format!(
                            "The reset code works from {} (UTC), after the waiting period; until then, a sign-in with your second factor cancels the reset.",
                            plico_mime::format_date(ready_at)
                        ),
                    });
                }
                ResetCheck::Wrong { .. } | ResetCheck::Nothing => (false, LoginKind::FactorReset),
            }
        }
    };
    if !right {
        record_login(&state, account_id, &meta, LoginKind::FailedSecondFactor).await?;
        let tries = pending.tries + 1;
        let left = factors::MAX_TRIES - tries;
        if left > 0 {
            state
                .store
                .insert_pending_second_factor(&proof.pending_id, &PendingSecondFactor { tries, ..pending })
                .await?;
        }
        let what = match proof.kind {
            SecondFactorKind::Totp => "That is not the code your authenticator app shows now, or it was used already",
            SecondFactorKind::RecoveryCode => "That is not one of your unused recovery codes",
            SecondFactorKind::Passkey => "That passkey is not one of this account's, or its answer was not valid",
            SecondFactorKind::ResetCode => {
                "That is not the reset code mailed to your recovery address, or no reset is waiting"
            }
        };
        let message = if left > 0 {
            format!("{what}; {left} tries left.")
        } else {
            format!("{what}. That was the last try: sign in again.")
        };
        return Err(ApiError::Forbidden { code: "wrong_second_factor", message });
    }
    if pending.reopen {
        rules::check_closed(&state, account_id, true).await?;
    }
    if kind == LoginKind::FactorReset {
        tracing::info!(account_id, "second factors reset through the recovery address");
        rules::notify_account(
            &state,
            account_id,
            "Two-step verification was turned off",
            "Two-step verification was turned off for your account with the code mailed to your recovery \
             address, after the waiting period. Signing in now takes the password alone.\r\n\r\n\
             If this was you, turn it on again in Settings, Security. If it was not, someone knows your \
             password and can read your recovery address's mail: change both, and end the sessions you do \
             not know.\r\n",
        )
        .await;
    } else if state.store.cancel_factor_reset(account_id).await? {
        // The owner still has a factor: whoever asked for the reset does not get it.
        rules::notify_account(
            &state,
            account_id,
            "The reset of two-step verification was cancelled",
            "Someone asked to reset two-step verification for your account; you have since signed in with \
             your second factor, which cancels that. If you did not ask for it, someone knows your \
             password: change it in Settings, Security.\r\n",
        )
        .await;
    }
    signed_in(&state, account_id, &meta, kind, pending.keep_signed_in, gone()).await
}

#[utoipa::path(post, path = "/api/v1/login/second-factor/reset", request_body = FactorResetRequest,
    responses((status = 202, body = FactorResetStarted, description = "A code went to the recovery address; it works after the waiting period (or one was waiting already, which is answered)"),
              (status = 404, body = plico_api::ErrorBody, description = "No sign-in waits for a second factor under that id"),
              (status = 409, body = plico_api::ErrorBody, description = "The account has no confirmed recovery address, or this server sends no mail outside"),
              (status = 429, body = plico_api::ErrorBody, description = "Too much mail to the recovery address today")))]
/// The owner lost every second factor: after the password (a pending sign-in), a code goes to the
/// confirmed recovery address and works after a waiting period, in which the account is told and
/// a sign-in with a factor cancels it (`docs/SECURITY.md`).
pub async fn login_factor_reset(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<FactorResetRequest>,
) -> ApiResult<(StatusCode, Json<FactorResetStarted>)> {
    let now = state.clock.now();
    let gone = || {
        ApiError::not_found(
            "second_factor_expired",
            "This sign-in waited longer than five minutes for its second factor, or is done: sign in again.",
        )
    };
    if request.pending_id.len() > 64 {
        return Err(gone());
    }
    // The pending sign-in (its password proven) is read, not spent: it is put back as it was.
    let not_before = now - factors::PENDING_SECONDS + 1;
    let pending = state.store.take_pending_second_factor(&request.pending_id, not_before).await?.ok_or_else(gone)?;
    state.store.insert_pending_second_factor(&request.pending_id, &pending).await?;
    let account_id = pending.account_id;
    let (Some(recovery), true) = state.store.recovery_address(account_id).await? else {
        return Err(ApiError::conflict(
            "no_recovery_address",
            "This account has no confirmed recovery address, so two-step verification cannot be reset by mail. The operator can help after checking who you are.",
        ));
    };
    if state.config.smarthost.is_none() {
        return Err(ApiError::conflict(
            "no_outside_mail",
            "This server sends no mail outside, so no reset code can reach your recovery address.",
        ));
    }
    let wait = i64::from(state.config.factor_reset_wait_hours) * 3600;
    let (code, hash) = factors::new_reset_code(&state.node, account_id).map_err(ApiError::internal)?;
    let reset =
        FactorReset { requested_at: now, ready_at: now + wait, expires_at: now + wait + factors::RESET_VALID_SECONDS };
    // Asking again answers the reset already waiting (its clock does not move, no mail goes).
    let waiting = state.store.factor_reset(account_id, now).await?;
    if waiting.is_none() {
        // Mail to an outside address: limited and counted like a recovery code.
        state.limits.recovery_mail.check(&state.store, &format!("account:{account_id}"), now).await?.map_err(
            |retry_after_seconds| ApiError::Limited {
                code: "recovery_limit",
                message: "Too much mail went to the recovery address today; try again tomorrow.".into(),
                retry_after_seconds,
            },
        )?;
        let budget = crate::store::mail::SendBudget { now, recipients_per_day: state.config.send_limit_per_day };
        state.store.spend_send_budget(account_id, 1, budget).await?;
    }
    let reset = match state.store.start_factor_reset(account_id, &hash, reset).await? {
        Ok(()) => {
            let own = state.store.account_by_id(account_id).await?.ok_or_else(gone)?;
            let ready = plico_mime::format_date(reset.ready_at);
            let text = format!(
                "Someone who knows the password of {} asked to turn off its two-step verification, because \
                 they no longer have their authenticator app, passkey or recovery codes.\r\n\r\n\
                 If it was you: from {ready} (UTC), sign in with your password and enter this code where the \
                 second step asks for one:\r\n\r\n    {code}\r\n\r\n\
                 If it was not you: sign in with your second factor before then. That cancels the reset. Then \
                 change your password, which the person who asked knows.\r\n",
                own.address
            );
            let mail = crate::outbound::system::message(
                &state.config.domain,
                &recovery,
                "Reset of two-step verification asked",
                &text,
                now,
            );
            crate::outbound::system::mail_outside(&state, account_id, &recovery, mail)
                .await
                .map_err(ApiError::internal)?;
            let notice = format!(
                "Someone who knows your password asked to turn off two-step verification for this account. A \
                 code went to your recovery address; it works from {ready} (UTC). If this was not you, sign in \
                 with your second factor before then (that cancels the reset) and change your password.\r\n"
            );
            let inbox = crate::outbound::system::message(
                &state.config.domain,
                &own.address,
                "Reset of two-step verification asked",
                &notice,
                now,
            );
            if let Err(error) = crate::inbound::file_report(&state, account_id, &own.public_cert, inbox).await {
                tracing::error!(?error, "the reset notice could not be filed in the Inbox");
            }
            tracing::info!(account_id, "second-factor reset asked");
            reset
        }
        Err(waiting) => waiting,
    };
    let mailed_to = rules::masked(&recovery);
    Ok((
        StatusCode::ACCEPTED,
        Json(FactorResetStarted { ready_at: reset.ready_at, expires_at: reset.expires_at, mailed_to }),
    ))
}

/// Checks a sign-in's passkey against the challenge its pending sign-in kept; the passkey's
/// sign counter is stored as it moved on.
async fn check_passkey(
    state: &AppState,
    proof: &SecondFactorProof,
    sealed_state: Option<Vec<u8>>,
    account_id: i64,
    now: i64,
) -> ApiResult<bool> {
    let (Some(credential), Some(sealed_state)) = (proof.credential.as_deref(), sealed_state) else {
        return Ok(false);
    };
    let stored = factors::passkeys(&state.store, &state.node, account_id).await?;
    let passkeys: Vec<_> = stored.iter().map(|(_, passkey)| passkey.clone()).collect();
    match state.passkeys.finish_sign_in(&state.node, &proof.pending_id, sealed_state, credential, &passkeys, now) {
        Ok((index, used)) => {
            let sealed =
                crate::passkeys::seal_credential(&state.node, account_id, &used).map_err(ApiError::internal)?;
            state.store.passkey_used(stored[index].0.id, &sealed, now).await?;
            Ok(true)
        }
        Err(error) => {
            tracing::info!(account_id, %error, "a passkey was not accepted at sign-in");
            Ok(false)
        }
    }
}

#[utoipa::path(post, path = "/api/v1/logout", responses((status = 204, description = "The session is deleted on the server and the cookie cleared")))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(token) = session::read_cookie(&headers, session::cookie_name(state.config.behind_tls)) {
        state.store.delete_session(&session::hash_token(token)).await?;
    }
    let headers = session::with_cookie(HeaderMap::new(), session::clear_cookie(&state));
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

#[utoipa::path(get, path = "/api/v1/session", security(("session" = [])), responses((status = 200, body = Account), (status = 401, body = plico_api::ErrorBody)))]
pub async fn session(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<Json<Account>> {
    let row = state.store.account_by_id(signed_in.account_id).await?.ok_or(ApiError::Unauthorized)?;
    Ok(Json(account_view(&row)?))
}

#[utoipa::path(get, path = "/api/v1/account/logins", security(("session" = [])), responses((status = 200, body = LoginHistory), (status = 401, body = plico_api::ErrorBody)))]
pub async fn login_history(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<Json<LoginHistory>> {
    // Sign-ins that never finished are failed ones by now.
    let before = state.clock.now() - PENDING_LOGIN_SECONDS;
    state.store.settle_pending_logins(before, Some(signed_in.account_id)).await?;
    let events = state.store.login_events(signed_in.account_id).await?;
    Ok(Json(LoginHistory { events, retention_days: LOGIN_HISTORY_DAYS as u32 }))
}

#[utoipa::path(get, path = "/api/v1/account/usage", security(("session" = [])), responses((status = 200, body = plico_api::StorageUsage), (status = 401, body = plico_api::ErrorBody)))]
pub async fn storage_usage(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> ApiResult<Json<plico_api::StorageUsage>> {
    let (used_bytes, quota_bytes) = state.store.storage(signed_in.account_id, state.default_quota()).await?;
    Ok(Json(plico_api::StorageUsage { used_bytes, quota_bytes }))
}

#[utoipa::path(get, path = "/api/v1/account/settings", security(("session" = [])), responses((status = 200, body = plico_api::AccountSettings), (status = 401, body = plico_api::ErrorBody)))]
pub async fn account_settings(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> ApiResult<Json<plico_api::AccountSettings>> {
    let mail_analysis = state.store.mail_analysis(signed_in.account_id).await?;
    Ok(Json(plico_api::AccountSettings { mail_analysis }))
}

#[utoipa::path(put, path = "/api/v1/account/settings", security(("session" = [])), request_body = plico_api::AccountSettings,
    responses((status = 200, body = plico_api::AccountSettings), (status = 422, body = plico_api::ErrorBody), (status = 401, body = plico_api::ErrorBody)))]
pub async fn update_account_settings(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(settings): ApiJson<plico_api::AccountSettings>,
) -> ApiResult<Json<plico_api::AccountSettings>> {
    state.store.set_mail_analysis(signed_in.account_id, settings.mail_analysis).await?;
    Ok(Json(settings))
}

#[utoipa::path(get, path = "/api/v1/account/keyring", security(("session" = [])), responses((status = 200, body = plico_api::SealedKeyring), (status = 401, body = plico_api::ErrorBody)))]
pub async fn keyring(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<Json<plico_api::SealedKeyring>> {
    let (sealed, version) = read_sealed(&state, signed_in.account_id, SealedDocument::Keyring).await?;
    Ok(Json(plico_api::SealedKeyring { sealed, version }))
}

/// The largest sealed keyring: some thousands of keys.
const KEYRING_RULES: SealedRules = SealedRules {
    max_bytes: 4 * 1024 * 1024,
    too_large: "The keyring is larger than 4 MiB.",
    conflict_code: "keyring_changed",
    conflict: "The keyring changed on another device since it was read; read it again and reapply the change.",
};

#[utoipa::path(put, path = "/api/v1/account/keyring", security(("session" = [])), request_body = plico_api::SealedWrite,
    responses((status = 200, body = plico_api::SealedKeyring), (status = 409, body = plico_api::ErrorBody),
              (status = 422, body = plico_api::ErrorBody), (status = 401, body = plico_api::ErrorBody)))]
pub async fn replace_keyring(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(keyring): ApiJson<plico_api::SealedWrite>,
) -> ApiResult<Json<plico_api::SealedKeyring>> {
    let (sealed, version) = write_sealed(
        &state,
        signed_in.account_id,
        SealedDocument::Keyring,
        &KEYRING_RULES,
        Some(keyring.sealed),
        keyring.version,
    )
    .await?;
    Ok(Json(plico_api::SealedKeyring { sealed: Some(sealed), version }))
}

#[utoipa::path(delete, path = "/api/v1/account/logins", security(("session" = [])), responses((status = 204), (status = 401, body = plico_api::ErrorBody)))]
pub async fn delete_login_history(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<StatusCode> {
    state.store.delete_all_login_events(signed_in.account_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/account/logins/{id}", security(("session" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = plico_api::ErrorBody)))]
pub async fn delete_login_event(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let no_such = || ApiError::not_found("no_such_login", "There is no login with that id in your history.");
    // An id that is not a number names no login.
    let id: i64 = id.parse().map_err(|_| no_such())?;
    if state.store.delete_login_event(signed_in.account_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_such())
    }
}

#[utoipa::path(post, path = "/api/v1/account/close", security(("session" = [])),
    responses((status = 200, body = ClosedAccount, description = "Closed; every session ended and the cookie cleared"),
              (status = 401, body = plico_api::ErrorBody)))]
pub async fn close_account(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<Response> {
    let now = state.clock.now();
    state.store.close_account(signed_in.account_id, now).await?;
    tracing::info!(account_id = signed_in.account_id, "account closed");
    let (reopen_until, purge_at) = policy::closed_deadlines(&state.config, now);
    let headers = session::with_cookie(HeaderMap::new(), session::clear_cookie(&state));
    Ok((headers, Json(ClosedAccount { closed_at: now, reopen_until, purge_at })).into_response())
}

async fn recovery_view(state: &AppState, account_id: i64, code_sent: bool) -> ApiResult<Json<RecoveryAddress>> {
    let (address, confirmed) = state.store.recovery_address(account_id).await?;
    Ok(Json(RecoveryAddress { address, confirmed, code_sent }))
}

#[utoipa::path(get, path = "/api/v1/account/recovery", security(("session" = [])), responses((status = 200, body = RecoveryAddress), (status = 401, body = plico_api::ErrorBody)))]
pub async fn recovery(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<Json<RecoveryAddress>> {
    recovery_view(&state, signed_in.account_id, false).await
}

#[utoipa::path(put, path = "/api/v1/account/recovery", security(("session" = [])), request_body = SetRecoveryAddress,
    responses((status = 200, body = RecoveryAddress), (status = 422, body = plico_api::ErrorBody), (status = 401, body = plico_api::ErrorBody), (status = 403, body = plico_api::ErrorBody, description = "reauth_required: prove the password again first"), (status = 409, body = plico_api::ErrorBody, description = "The address is on this server"), (status = 429, body = plico_api::ErrorBody, description = "A recovery address was set too often today")))]
pub async fn update_recovery(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<SetRecoveryAddress>,
) -> ApiResult<Json<RecoveryAddress>> {
    // The address receives the account's notices and its second-factor reset: a browser left
    // open must not be enough to move it.
    signed_in.require_reauth(state.clock.now())?;
    let sent = rules::set_recovery_address(&state, signed_in.account_id, request.address.as_deref()).await?;
    recovery_view(&state, signed_in.account_id, sent).await
}

#[utoipa::path(post, path = "/api/v1/account/recovery/confirm", security(("session" = [])), request_body = ConfirmRecoveryAddress,
    responses((status = 200, body = RecoveryAddress), (status = 422, body = plico_api::ErrorBody), (status = 401, body = plico_api::ErrorBody), (status = 403, body = plico_api::ErrorBody, description = "That is not the code that was sent"), (status = 409, body = plico_api::ErrorBody, description = "No code is waiting, or it expired")))]
pub async fn confirm_recovery(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<ConfirmRecoveryAddress>,
) -> ApiResult<Json<RecoveryAddress>> {
    match state.store.confirm_recovery_code(signed_in.account_id, &request.code, state.clock.now()).await? {
        CodeCheck::Confirmed => recovery_view(&state, signed_in.account_id, false).await,
        CodeCheck::Wrong { tries_left } => Err(ApiError::Forbidden {
            code: "wrong_code",
            message: format!(
                "That is not the code that was sent; {tries_left} tries left before a new code is needed."
            ),
        }),
        CodeCheck::Expired => Err(ApiError::conflict(
            "code_expired",
            "That code has expired or was tried too often: set the recovery address again for a new one.",
        )),
        CodeCheck::NoneSent => {
            Err(ApiError::conflict("no_code", "No activation code is waiting: set a recovery address first."))
        }
    }
}
