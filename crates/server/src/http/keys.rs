//! Public keys: this server's users' keys (`/api/v1/keys`, and the Web Key Directory that other
//! domains' clients ask), and outside correspondents' keys looked up by WKD for a signed-in user.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use plico_api::address::{local_part_for_domain, normalize_name};
use plico_api::PublicKey;

use crate::http::error::{ApiError, ApiResult};
use crate::http::session::SignedIn;
use crate::store::keys::KeyState;
use crate::store::AccountRow;
use crate::AppState;

#[utoipa::path(get, path = "/api/v1/keys/{address}", params(("address" = String, Path)),
    responses((status = 200, body = PublicKey), (status = 404, body = plico_api::ErrorBody)))]
pub async fn public_key(State(state): State<AppState>, Path(address): Path<String>) -> ApiResult<Json<PublicKey>> {
    let not_found = || ApiError::not_found("no_such_key", format!("No key is published for {address}."));
    let name = local_part_for_domain(&address, &state.config.domain)
        .and_then(|local| normalize_name(local).ok())
        .ok_or_else(not_found)?;
    let row = state.store.account_by_name(&name).await?.filter(AccountRow::is_active).ok_or_else(not_found)?;
    let cert = plico_pgp::parse_cert(&row.public_cert).map_err(ApiError::internal)?;
    Ok(Json(PublicKey {
        address: row.address,
        fingerprint: row.fingerprint,
        public_cert: plico_pgp::armor_public_cert(&cert).map_err(ApiError::internal)?,
    }))
}

#[utoipa::path(get, path = "/api/v1/keys/outside/{address}", security(("session" = [])), params(("address" = String, Path, format = "email", max_length = 254)),
    responses((status = 200, body = PublicKey), (status = 404, body = plico_api::ErrorBody),
              (status = 422, body = plico_api::ErrorBody), (status = 401, body = plico_api::ErrorBody)))]
/// The key of someone on another server, found by WKD for a signed-in user.
pub async fn outside_key(
    State(state): State<AppState>,
    _signed_in: SignedIn,
    Path(address): Path<String>,
) -> ApiResult<Json<PublicKey>> {
    let address = address.trim().to_ascii_lowercase();
    plico_api::address::check_mail_address(&address)
        .map_err(|why| ApiError::invalid("bad_address", format!("Cannot look this up: {why}.")))?;
    if address.rsplit_once('@').is_some_and(|(_, domain)| domain == state.config.domain) {
        return Err(ApiError::not_found("local_address", format!("{address} is here: ask /keys/{address}.")));
    }
    let not_found = |why: &str| ApiError::not_found("no_such_key", format!("No key is published for {address}{why}."));
    if state.config.no_wkd {
        return Err(not_found(" that this server may look up (WKD lookups are off)"));
    }
    let bytes = match state.wkd.lookup(&address).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(not_found("")),
        // One sentence whatever failed: a refused port and a TLS failure must look alike, or the
        // lookup would map what listens where.
        Err(_) => return Err(not_found(" (its key directory could not be asked)")),
    };
    let certs = plico_pgp::parse_keyring(&bytes)
        .map_err(|_| not_found(" (its key directory answered something that is not a key)"))?;
    // WKD serves keys under a hash of the local part; one counts only with a User ID naming the
    // address itself, valid and not revoked. Of several (a post-quantum key published beside a
    // classical one), the post-quantum one.
    let Some(cert) = plico_pgp::pick_for_encryption(certs, &address) else {
        return Err(not_found(" (no published key names this address and can receive mail)"));
    };
    Ok(Json(PublicKey {
        address,
        fingerprint: plico_pgp::fingerprint_hex(&cert),
        public_cert: plico_pgp::armor_public_cert(&cert).map_err(ApiError::internal)?,
    }))
}

#[derive(serde::Deserialize)]
pub struct WkdQuery {
    l: Option<String>,
}

/// WKD direct method: the binary certificate for a hashed local part.
pub async fn wkd_lookup(
    State(state): State<AppState>,
    Path(hash): Path<String>,
    Query(query): Query<WkdQuery>,
) -> Response {
    // Every answer carries `Access-Control-Allow-Origin: *` (`http/layers.rs`).
    let not_found = || (StatusCode::NOT_FOUND, "no key for this hash\n").into_response();
    let Ok(Some(row)) = state.store.account_by_wkd_hash(&hash).await else {
        return not_found();
    };
    if !row.is_active() {
        return not_found();
    }
    // When the client says which local part it hashed, it must match (the draft's `l`).
    if query.l.as_deref().is_some_and(|local| !local.eq_ignore_ascii_case(&row.name)) {
        return not_found();
    }
    // The primary key, then the keys published beside it and the revoked ones (so that
    // correspondents learn of a revocation); retired keys are no longer served.
    let Ok(others) = state.store.other_keys(row.id).await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let mut body = row.public_cert;
    for other in others.into_iter().filter(|key| key.state != KeyState::Retired) {
        body.extend_from_slice(&other.public_cert);
    }
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    response
}

/// WKD's policy file; its presence says this domain publishes keys.
pub async fn wkd_policy() -> Response {
    let mut response = "".into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}
