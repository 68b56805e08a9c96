//! The account's own OpenPGP keys: the list (the primary, and the keys beside it), a new primary
//! (a post-quantum key kept next to the classical one, a rotation, an imported key) with the
//! keyring sealed anew in the browser, and the revocation of a key that is no longer primary.
//! Changing keys asks for the password again. The server reads public certificates only.

use axum::extract::{Path, State};
use axum::Json;
use plico_api::security::{
    AccountKey, AccountKeyState, AccountKeys, KeyRevocation, NewPrimaryKey, MAX_SEALED_KEYRING_BYTES,
};

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{decode_base64, ApiJson};
use crate::http::session::SignedIn;
use crate::store::keys::{KeyState, NewPrimary, NewPrimaryRefused, OtherKey};
use crate::AppState;

/// The most keys an account keeps (the keyring is sealed whole into one row).
pub const MAX_ACCOUNT_KEYS: usize = 20;

#[utoipa::path(get, path = "/api/v1/account/keys", security(("session" = [])),
    responses((status = 200, body = AccountKeys), (status = 401, body = plico_api::ErrorBody)))]
pub async fn list(State(state): State<AppState>, signed_in: SignedIn) -> ApiResult<Json<AccountKeys>> {
    Ok(Json(keys_of(&state, signed_in.account_id).await?))
}

async fn keys_of(state: &AppState, account_id: i64) -> ApiResult<AccountKeys> {
    let account = state.store.account_by_id(account_id).await?.ok_or(ApiError::Unauthorized)?;
    let primary = plico_pgp::parse_cert(&account.public_cert).map_err(ApiError::internal)?;
    let mut keys = vec![describe(&primary, AccountKeyState::Primary, None)];
    for other in state.store.other_keys(account_id).await? {
        let cert = plico_pgp::parse_cert(&other.public_cert).map_err(ApiError::internal)?;
        keys.push(describe(&cert, wire_state(other.state), Some(&other)));
    }
    Ok(AccountKeys { keys })
}

fn describe(cert: &plico_pgp::Certificate, state: AccountKeyState, other: Option<&OtherKey>) -> AccountKey {
    let info = plico_pgp::describe_key(cert);
    let (revocation_reason, revocation_text) = match info.revocation {
        Some((reason, text)) => (Some(reason.as_str().to_owned()), Some(text)),
        None => (None, None),
    };
    AccountKey {
        fingerprint: info.fingerprint,
        created_at: info.created_at,
        version: info.version,
        algorithms: info.algorithms,
        post_quantum: info.post_quantum,
        state,
        since: other.map(|other| other.revoked_at.unwrap_or(other.added_at)),
        revocation_reason,
        revocation_text,
    }
}

fn wire_state(state: KeyState) -> AccountKeyState {
    match state {
        KeyState::Published => AccountKeyState::Published,
        KeyState::Retired => AccountKeyState::Retired,
        KeyState::Revoked => AccountKeyState::Revoked,
    }
}

#[utoipa::path(post, path = "/api/v1/account/keys", security(("session" = [])), request_body = NewPrimaryKey,
    responses((status = 200, body = AccountKeys, description = "The new key is primary"),
              (status = 403, body = plico_api::ErrorBody, description = "Confirm the password first (reauth_required)"),
              (status = 409, body = plico_api::ErrorBody, description = "The account has this key already, or as many keys as it may"),
              (status = 422, body = plico_api::ErrorBody, description = "The certificate or the sealed keyring is not acceptable"),
              (status = 401, body = plico_api::ErrorBody)))]
pub async fn add_primary(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ApiJson(request): ApiJson<NewPrimaryKey>,
) -> ApiResult<Json<AccountKeys>> {
    let now = state.clock.now();
    signed_in.require_reauth(now)?;
    let previous = match request.previous {
        AccountKeyState::Published => KeyState::Published,
        AccountKeyState::Retired => KeyState::Retired,
        AccountKeyState::Primary | AccountKeyState::Revoked => {
            return Err(ApiError::invalid(
                "bad_previous_state",
                "The key that was primary can stay published or be retired; revoke it afterwards if you must.",
            ))
        }
    };
    let sealed = decode_base64("sealed_secret_key", &request.sealed_secret_key)?;
    if sealed.is_empty() || sealed.len() > MAX_SEALED_KEYRING_BYTES {
        return Err(ApiError::invalid(
            "invalid_sealed_key",
            format!("The sealed keyring is empty or larger than {} KiB.", MAX_SEALED_KEYRING_BYTES / 1024),
        ));
    }
    let account = state.store.account_by_id(signed_in.account_id).await?.ok_or(ApiError::Unauthorized)?;
    let checked =
        plico_pgp::check_uploaded_public_cert(request.public_cert.as_bytes(), &account.address).map_err(|error| {
            ApiError::invalid("invalid_certificate", format!("This key cannot be the account's: {error}."))
        })?;
    if state.store.other_keys(signed_in.account_id).await?.len() + 1 >= MAX_ACCOUNT_KEYS {
        return Err(ApiError::conflict("too_many_keys", format!("An account keeps at most {MAX_ACCOUNT_KEYS} keys.")));
    }
    let public_cert = plico_pgp::public_cert_bytes(&checked.cert).map_err(ApiError::internal)?;
    let key = NewPrimary {
        fingerprint: &checked.fingerprint,
        public_cert: &public_cert,
        sealed_keyring: &sealed,
        previous,
        now,
    };
    match state.store.set_primary_key(signed_in.account_id, key).await? {
        Ok(()) => {}
        Err(NewPrimaryRefused::Known) => {
            return Err(ApiError::conflict("key_known", "The account has this key already."));
        }
        Err(NewPrimaryRefused::NoAccount) => return Err(ApiError::Unauthorized),
    }
    tracing::info!(account_id = signed_in.account_id, "new primary key");
    Ok(Json(keys_of(&state, signed_in.account_id).await?))
}

#[utoipa::path(post, path = "/api/v1/account/keys/{fingerprint}/revoke", security(("session" = [])), request_body = KeyRevocation,
    params(("fingerprint" = String, Path, description = "The key's fingerprint, hex")),
    responses((status = 200, body = AccountKeys, description = "The key is revoked; WKD serves the revocation"),
              (status = 403, body = plico_api::ErrorBody, description = "Confirm the password first (reauth_required)"),
              (status = 404, body = plico_api::ErrorBody, description = "The account has no such key"),
              (status = 409, body = plico_api::ErrorBody, description = "The primary key, or a key revoked already"),
              (status = 422, body = plico_api::ErrorBody, description = "The certificate is not this key with a valid revocation"),
              (status = 401, body = plico_api::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(fingerprint): Path<String>,
    ApiJson(request): ApiJson<KeyRevocation>,
) -> ApiResult<Json<AccountKeys>> {
    let now = state.clock.now();
    signed_in.require_reauth(now)?;
    let fingerprint = fingerprint.to_ascii_uppercase();
    let account = state.store.account_by_id(signed_in.account_id).await?.ok_or(ApiError::Unauthorized)?;
    if account.fingerprint.eq_ignore_ascii_case(&fingerprint) {
        return Err(ApiError::conflict(
            "primary_key",
            "This is the primary key: make another key primary first, then revoke this one.",
        ));
    }
    let others = state.store.other_keys(signed_in.account_id).await?;
    let Some(key) = others.iter().find(|key| key.fingerprint.eq_ignore_ascii_case(&fingerprint)) else {
        return Err(ApiError::not_found("no_such_key", "The account has no key with this fingerprint."));
    };
    if key.state == KeyState::Revoked {
        return Err(ApiError::conflict("already_revoked", "This key is revoked already."));
    }
    let (cert, reason, _) =
        plico_pgp::check_revoked_cert(request.revoked_cert.as_bytes(), &key.fingerprint).map_err(|error| {
            ApiError::invalid("invalid_revocation", format!("This is not a revocation of the key: {error}."))
        })?;
    // The stored certificate merged with the upload: what was published stays, the revocation joins it.
    let stored = plico_pgp::parse_cert(&key.public_cert).map_err(ApiError::internal)?;
    let merged = stored.merge_public(cert).map_err(ApiError::internal)?;
    let bytes = plico_pgp::public_cert_bytes(&merged).map_err(ApiError::internal)?;
    if !state.store.revoke_other_key(signed_in.account_id, &key.fingerprint, &bytes, reason.as_str(), now).await? {
        return Err(ApiError::not_found("no_such_key", "The account has no key with this fingerprint."));
    }
    tracing::info!(account_id = signed_in.account_id, "key revoked");
    Ok(Json(keys_of(&state, signed_in.account_id).await?))
}
