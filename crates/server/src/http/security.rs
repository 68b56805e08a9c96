//! The account's security page: the authenticator app and recovery codes, the password (a new
//! OPAQUE registration and the secret key sealed anew), and the sessions that hold the account (listed, ended one by one or all at once, and how long they idle).
//! Turning a factor on or off, new recovery codes, ending every other session and changing the
//! password ask for the password again (`login/finish` with `reauthenticate`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use plico_api::security::{
    IdleTimeout, PasskeyInfo, PasskeyRegistration, PasskeySetup, PasswordChangeFinish, PasswordChangeStart,
    PasswordChangeStarted, RecoveryCodes, RevokedSessions, SecurityOverview, SessionInfo, Sessions, TotpCode,
    TotpSetup,
};

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{decode_base64, ApiJson};
use crate::http::session::SignedIn;
use crate::{factors, totp, AppState};

#[utoipa::path(get, path = "/api/v1/account/security", security(("session" = [])),
    responses((status = 200, body = SecurityOverview), (status = 401, body = plico_api::ErrorBody)))]
pub async fn overview(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<Json<SecurityOverview>> {
    let now = state.clock.now();
    let totp_since =
        state.store.totp_factor(signed_in.account_id).await?.filter(|factor| factor.confirmed).map(|f| f.created_at);
    let passkeys = state
        .store
        .passkeys(signed_in.account_id)
        .await?
        .into_iter()
        .map(|row| PasskeyInfo {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        })
        .collect();
    let reset_ready_at = state.store.factor_reset(signed_in.account_id, now).await?.map(|reset| reset.ready_at);
    Ok(Json(SecurityOverview {
        totp_since,
        passkeys,
        reset_ready_at,
        recovery_codes_left: state.store.recovery_codes_left(signed_in.account_id).await?,
        reauthenticated_until: (signed_in.reauth_until > now).then_some(signed_in.reauth_until),
    }))
}

#[utoipa::path(post, path = "/api/v1/account/security/totp", security(("session" = [])),
    responses((status = 200, body = TotpSetup, description = "A new secret, not on until a code confirms it"),
              (status = 403, body = plico_api::ErrorBody, description = "Confirm the password first (reauth_required)"),
              (status = 409, body = plico_api::ErrorBody, description = "An authenticator is on already: turn it off first"),
              (status = 401, body = plico_api::ErrorBody)))]
pub async fn start_totp(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<Json<TotpSetup>> {
    let now = state.clock.now();
    signed_in.require_reauth(now)?;
    let account_id = signed_in.account_id;
    let (secret, sealed) = factors::new_totp_secret(&state.node, account_id).map_err(ApiError::internal)?;
    if !state.store.start_totp(account_id, &sealed, now).await? {
        return Err(ApiError::conflict(
            "totp_on",
            "An authenticator app is on already; turn it off before setting up another.",
        ));
    }
    let address = state.store.account_by_id(account_id).await?.ok_or(ApiError::Unauthorized)?.address;
    Ok(Json(TotpSetup { secret: totp::base32(&secret), uri: totp::uri(&secret, "Plico", &address) }))
}

#[utoipa::path(post, path = "/api/v1/account/security/totp/confirm", security(("session" = [])), request_body = TotpCode,
    responses((status = 200, body = RecoveryCodes, description = "On: sign-in now asks for a code. New recovery codes, shown this once, unless unused ones exist"),
              (status = 403, body = plico_api::ErrorBody, description = "Not the code the app shows now"),
              (status = 409, body = plico_api::ErrorBody, description = "No setup is waiting for a code"),
              (status = 401, body = plico_api::ErrorBody)))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<TotpCode>,
) -> ApiResult<Json<RecoveryCodes>> {
    let now = state.clock.now();
    let account_id = signed_in.account_id;
    let no_setup = || ApiError::conflict("no_totp_setup", "No authenticator setup is waiting for a code: start again.");
    let factor = state.store.totp_factor(account_id).await?.filter(|factor| !factor.confirmed).ok_or_else(no_setup)?;
    let secret = factors::open_totp_secret(&state.node, account_id, factor.sealed_secret)
        .ok_or_else(|| ApiError::internal("an authenticator secret does not open under this node's key"))?;
    let step = totp::check(&secret, &request.code, now, None).ok_or_else(|| ApiError::Forbidden {
        code: "wrong_code",
        message:
            "That is not the code the app shows now. Check the phone's clock, and that you scanned the newest QR code."
                .into(),
    })?;
    let (codes, hashes) = factors::new_recovery_codes(&state.node).map_err(ApiError::internal)?;
    let stored = state.store.confirm_totp(account_id, factor.id, step, now, &hashes).await?.ok_or_else(no_setup)?;
    tracing::info!(account_id, "authenticator app turned on");
    Ok(Json(RecoveryCodes { codes: if stored { codes } else { Vec::new() } }))
}

#[utoipa::path(delete, path = "/api/v1/account/security/totp", security(("session" = [])),
    responses((status = 204, description = "Off; with no second factor left, the recovery codes are gone too"),
              (status = 403, body = plico_api::ErrorBody, description = "Confirm the password first (reauth_required)"),
              (status = 404, body = plico_api::ErrorBody, description = "No authenticator is set up"),
              (status = 401, body = plico_api::ErrorBody)))]
pub async fn delete_totp(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<StatusCode> {
    signed_in.require_reauth(state.clock.now())?;
    if state.store.delete_totp(signed_in.account_id).await? {
        tracing::info!(account_id = signed_in.account_id, "authenticator app turned off");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no_totp", "No authenticator app is set up."))
    }
}

#[utoipa::path(post, path = "/api/v1/account/security/passkeys", security(("session" = [])),
    responses((status = 200, body = PasskeySetup, description = "The options for navigator.credentials.create, and the state to bring back within five minutes"),
              (status = 403, body = plico_api::ErrorBody, description = "Confirm the password first (reauth_required)"),
              (status = 409, body = plico_api::ErrorBody, description = "The account has as many passkeys as it may"),
              (status = 401, body = plico_api::ErrorBody)))]
pub async fn start_passkey(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<Json<PasskeySetup>> {
    let now = state.clock.now();
    signed_in.require_reauth(now)?;
    let account_id = signed_in.account_id;
    let existing: Vec<_> = factors::passkeys(&state.store, &state.node, account_id)
        .await?
        .into_iter()
        .map(|(_, passkey)| passkey)
        .collect();
    if existing.len() >= factors::MAX_PASSKEYS {
        return Err(ApiError::conflict(
            "too_many_passkeys",
            format!("An account may have {} passkeys; remove one first.", factors::MAX_PASSKEYS),
        ));
    }
    let address = state.store.account_by_id(account_id).await?.ok_or(ApiError::Unauthorized)?.address;
    let (options, sealed) = state
        .passkeys
        .start_registration(&state.node, account_id, &address, &existing, now)
        .map_err(|error| ApiError::internal(error.to_string()))?;
    Ok(Json(PasskeySetup { options, state: sealed }))
}

#[utoipa::path(post, path = "/api/v1/account/security/passkeys/finish", security(("session" = [])), request_body = PasskeyRegistration,
    responses((status = 200, body = RecoveryCodes, description = "Registered: sign-in now takes it. New recovery codes, shown this once, when it is the first second factor"),
              (status = 403, body = plico_api::ErrorBody, description = "The authenticator's answer does not verify (passkey_refused)"),
              (status = 409, body = plico_api::ErrorBody, description = "The setup expired, or this authenticator is registered already"),
              (status = 422, body = plico_api::ErrorBody, description = "The name or the credential is malformed"),
              (status = 401, body = plico_api::ErrorBody)))]
pub async fn finish_passkey(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<PasskeyRegistration>,
) -> ApiResult<Json<RecoveryCodes>> {
    use crate::passkeys::PasskeyError;
    let now = state.clock.now();
    let account_id = signed_in.account_id;
    if request.name.is_empty() || request.name.chars().count() > 64 {
        return Err(ApiError::invalid("bad_passkey_name", "Name the passkey in 1 to 64 characters."));
    }
    // Control characters become spaces; a name of nothing but spaces becomes "Passkey".
    let cleaned: String = request.name.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let name = match cleaned.trim() {
        "" => "Passkey",
        name => name,
    };
    if request.credential.len() > crate::passkeys::MAX_CREDENTIAL_BYTES || request.state.len() > 8192 {
        return Err(ApiError::invalid("credential_too_large", "The passkey's answer is larger than 16 KiB."));
    }
    let existing: Vec<_> = factors::passkeys(&state.store, &state.node, account_id)
        .await?
        .into_iter()
        .map(|(_, passkey)| passkey)
        .collect();
    let passkey = state
        .passkeys
        .finish_registration(&state.node, account_id, &request.state, &request.credential, &existing, now)
        .map_err(|error| match error {
            PasskeyError::Expired => ApiError::conflict("passkey_setup_expired", error.to_string()),
            PasskeyError::Malformed(_) => ApiError::invalid("bad_credential", error.to_string()),
            PasskeyError::Refused(_) => ApiError::Forbidden { code: "passkey_refused", message: error.to_string() },
            PasskeyError::Registered => ApiError::conflict("passkey_registered", error.to_string()),
            PasskeyError::Internal(why) => ApiError::internal(why),
        })?;
    let sealed = crate::passkeys::seal_credential(&state.node, account_id, &passkey).map_err(ApiError::internal)?;
    let (codes, hashes) = factors::new_recovery_codes(&state.node).map_err(ApiError::internal)?;
    let stored = state
        .store
        .add_passkey(account_id, passkey.cred_id().as_ref(), name, &sealed, now, &hashes)
        .await?
        .ok_or_else(|| ApiError::conflict("passkey_registered", "This passkey is registered already."))?;
    tracing::info!(account_id, "passkey added");
    Ok(Json(RecoveryCodes { codes: if stored { codes } else { Vec::new() } }))
}

#[utoipa::path(delete, path = "/api/v1/account/security/passkeys/{id}", security(("session" = [])),
    params(("id" = i64, Path, description = "The passkey's id, as the security overview lists it")),
    responses((status = 204, description = "Removed; with no second factor left, the recovery codes are gone too"),
              (status = 403, body = plico_api::ErrorBody, description = "Confirm the password first (reauth_required)"),
              (status = 404, body = plico_api::ErrorBody, description = "No such passkey on this account"),
              (status = 401, body = plico_api::ErrorBody)))]
pub async fn delete_passkey(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    signed_in.require_reauth(state.clock.now())?;
    // An id that is not a number (or too big for one) names no passkey.
    let deleted = match id.parse::<i64>() {
        Ok(id) => state.store.delete_passkey(signed_in.account_id, id).await?,
        Err(_) => false,
    };
    if deleted {
        tracing::info!(account_id = signed_in.account_id, "passkey removed");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no_passkey", "This account has no such passkey."))
    }
}

#[utoipa::path(delete, path = "/api/v1/account/security/reset", security(("session" = [])),
    responses((status = 204, description = "The second-factor reset that was asked is cancelled"),
              (status = 404, body = plico_api::ErrorBody, description = "No reset is waiting"),
              (status = 401, body = plico_api::ErrorBody)))]
/// Cancels a second-factor reset (protective: no password asked again).
pub async fn cancel_factor_reset(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<StatusCode> {
    if state.store.cancel_factor_reset(signed_in.account_id).await? {
        tracing::info!(account_id = signed_in.account_id, "second-factor reset cancelled by the owner");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no_reset", "No reset of two-step verification is waiting."))
    }
}

#[utoipa::path(post, path = "/api/v1/account/security/recovery-codes", security(("session" = [])),
    responses((status = 200, body = RecoveryCodes, description = "Ten new codes, shown this once; the old ones no longer work"),
              (status = 403, body = plico_api::ErrorBody, description = "Confirm the password first (reauth_required)"),
              (status = 409, body = plico_api::ErrorBody, description = "No second factor is on"),
              (status = 401, body = plico_api::ErrorBody)))]
pub async fn new_recovery_codes(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<Json<RecoveryCodes>> {
    signed_in.require_reauth(state.clock.now())?;
    if !state.store.has_second_factor(signed_in.account_id).await? {
        return Err(ApiError::conflict(
            "no_second_factor",
            "Recovery codes stand in for a second factor: turn one on first.",
        ));
    }
    let (codes, hashes) = factors::new_recovery_codes(&state.node).map_err(ApiError::internal)?;
    state.store.replace_recovery_codes(signed_in.account_id, &hashes).await?;
    Ok(Json(RecoveryCodes { codes }))
}

async fn sessions_view(state: &AppState, signed_in: &SignedIn) -> ApiResult<Json<Sessions>> {
    let now = state.clock.now();
    let default_idle = state.config.session_idle_minutes;
    let rows = state.store.sessions(signed_in.account_id, now, default_idle).await?;
    let idle_minutes = state.store.idle_minutes(signed_in.account_id).await?.unwrap_or(default_idle);
    let sessions = rows
        .into_iter()
        .map(|row| SessionInfo {
            current: row.public_id == signed_in.session_id,
            id: row.public_id,
            started_at: row.created_at,
            last_seen_at: row.last_seen_at,
            country: state.countries.as_ref().and_then(|countries| countries.country(&row.ip)),
            ip: row.ip,
            user_agent: row.user_agent,
            keep_signed_in: row.keep_signed_in,
            expires_at: row.expires_at,
        })
        .collect();
    Ok(Json(Sessions {
        sessions,
        idle_minutes,
        idle_choices: factors::IDLE_CHOICES.to_vec(),
        lifetime_hours: state.config.session_hours,
    }))
}

#[utoipa::path(get, path = "/api/v1/account/sessions", security(("session" = [])),
    responses((status = 200, body = Sessions), (status = 401, body = plico_api::ErrorBody)))]
pub async fn sessions(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<Json<Sessions>> {
    sessions_view(&state, &signed_in).await
}

#[utoipa::path(put, path = "/api/v1/account/sessions/idle", security(("session" = [])), request_body = IdleTimeout,
    responses((status = 200, body = Sessions), (status = 422, body = plico_api::ErrorBody, description = "Not one of the choices"),
              (status = 401, body = plico_api::ErrorBody)))]
pub async fn set_idle_timeout(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<IdleTimeout>,
) -> ApiResult<Json<Sessions>> {
    if !factors::IDLE_CHOICES.contains(&request.idle_minutes) {
        return Err(ApiError::invalid(
            "bad_idle_minutes",
            format!("The idle timeout must be one of {:?} minutes (0: none).", factors::IDLE_CHOICES),
        ));
    }
    state.store.set_idle_minutes(signed_in.account_id, request.idle_minutes).await?;
    sessions_view(&state, &signed_in).await
}

#[utoipa::path(delete, path = "/api/v1/account/sessions/{id}", security(("session" = [])), params(("id" = String, Path)),
    responses((status = 204, description = "Ended: that browser is told at its next request, and wipes what it keeps"),
              (status = 404, body = plico_api::ErrorBody), (status = 401, body = plico_api::ErrorBody)))]
pub async fn revoke_session(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if id.len() <= 64 && state.store.revoke_session(signed_in.account_id, &id).await? {
        tracing::info!(account_id = signed_in.account_id, "a session was revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no_such_session", "There is no session with that id on your account."))
    }
}

#[utoipa::path(post, path = "/api/v1/account/sessions/revoke-others", security(("session" = [])),
    responses((status = 200, body = RevokedSessions, description = "Every other session ended"),
              (status = 403, body = plico_api::ErrorBody, description = "Confirm the password first (reauth_required)"),
              (status = 401, body = plico_api::ErrorBody)))]
pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> ApiResult<Json<RevokedSessions>> {
    signed_in.require_reauth(state.clock.now())?;
    let revoked = state.store.revoke_other_sessions(signed_in.account_id, &signed_in.token_hash).await?;
    Ok(Json(RevokedSessions { revoked: u32::try_from(revoked).unwrap_or(u32::MAX) }))
}

#[utoipa::path(post, path = "/api/v1/account/password/start", security(("session" = [])), request_body = PasswordChangeStart,
    responses((status = 200, body = PasswordChangeStarted),
              (status = 400, body = plico_api::ErrorBody, description = "The registration request is malformed"),
              (status = 403, body = plico_api::ErrorBody, description = "Confirm the password first (reauth_required)"),
              (status = 401, body = plico_api::ErrorBody)))]
pub async fn start_password_change(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<PasswordChangeStart>,
) -> ApiResult<Json<PasswordChangeStarted>> {
    signed_in.require_reauth(state.clock.now())?;
    let registration_request = decode_base64("registration_request", &request.registration_request)?;
    let address = state.store.account_by_id(signed_in.account_id).await?.ok_or(ApiError::Unauthorized)?.address;
    let response =
        plico_opaque::server_registration_start(&state.opaque_setup, &registration_request, address.as_bytes())
            .map_err(|error| ApiError::bad_request("malformed_opaque", error.to_string()))?;
    Ok(Json(PasswordChangeStarted { registration_response: BASE64.encode(response) }))
}

#[utoipa::path(post, path = "/api/v1/account/password/finish", security(("session" = [])), request_body = PasswordChangeFinish,
    responses((status = 200, body = RevokedSessions, description = "The new password works from now on; the old one no longer does. How many other sessions were ended"),
              (status = 400, body = plico_api::ErrorBody, description = "The registration upload is malformed"),
              (status = 403, body = plico_api::ErrorBody, description = "Confirm the password first (reauth_required)"),
              (status = 422, body = plico_api::ErrorBody, description = "The sealed secret key is empty or too large"),
              (status = 401, body = plico_api::ErrorBody)))]
pub async fn finish_password_change(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<PasswordChangeFinish>,
) -> ApiResult<Json<RevokedSessions>> {
    signed_in.require_reauth(state.clock.now())?;
    let upload = decode_base64("registration_upload", &request.registration_upload)?;
    let sealed_secret_key = decode_base64("sealed_secret_key", &request.sealed_secret_key)?;
    if sealed_secret_key.is_empty() || sealed_secret_key.len() > plico_api::security::MAX_SEALED_KEYRING_BYTES {
        return Err(ApiError::invalid(
            "invalid_sealed_key",
            format!(
                "The sealed keyring is empty or larger than {} KiB.",
                plico_api::security::MAX_SEALED_KEYRING_BYTES / 1024
            ),
        ));
    }
    let password_file = plico_opaque::server_registration_finish(&upload)
        .map_err(|error| ApiError::bad_request("malformed_opaque", error.to_string()))?;
    if !state.store.set_password(signed_in.account_id, &password_file, &sealed_secret_key).await? {
        return Err(ApiError::Unauthorized);
    }
    tracing::info!(account_id = signed_in.account_id, "password changed");
    let revoked = if request.sign_out_others {
        state.store.revoke_other_sessions(signed_in.account_id, &signed_in.token_hash).await?
    } else {
        0
    };
    Ok(Json(RevokedSessions { revoked: u32::try_from(revoked).unwrap_or(u32::MAX) }))
}
