//! The sealed-item endpoints (`/api/v1/items/{kind}…`), one set for every kind of item: sync,
//! read one, write one over its version, and move several to the recovery area and back. Every
//! one acts only on the signed-in account's own items; another account's id is not found.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use plico_api::items::{is_item_id, is_kind, Item, ItemChanges, ItemSaved, ItemWrite, MAX_ITEM_BYTES, MAX_ITEM_PAGE};

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::session::SignedIn;
use crate::store::items::{ItemError, PutItem};
use crate::AppState;

impl From<ItemError> for ApiError {
    fn from(error: ItemError) -> Self {
        match error {
            ItemError::NotFound { .. } => ApiError::NotFound { code: "not_found", message: error.to_string() },
            ItemError::Conflict { code, message } => ApiError::Conflict { code, message },
            ItemError::Full { used, quota, adding } => ApiError::quota_exceeded("Your storage", used, quota, adding),
            ItemError::Database(error) => error.into(),
        }
    }
}

/// The kind of item in a path.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct KindPath {
    /// `contact`, `contact-group`, and later kinds: a lowercase letter, then lowercase letters,
    /// digits and hyphens.
    #[param(pattern = "^[a-z][a-z0-9-]{0,31}$")]
    kind: String,
}

/// One item in a path.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ItemPath {
    /// The kind of item.
    #[param(pattern = "^[a-z][a-z0-9-]{0,31}$")]
    kind: String,
    /// The id the client gave the item: 32 lowercase hex digits.
    #[param(pattern = "^[0-9a-f]{32}$")]
    id: String,
}

/// A kind and id that name nothing (malformed) are not found: no item has them.
fn found_path(kind: &str, id: Option<&str>) -> ApiResult<()> {
    if !is_kind(kind) {
        return Err(ApiError::not_found("unknown_kind", format!("{kind:?} is not a kind of item.")));
    }
    if id.is_some_and(|id| !is_item_id(id)) {
        return Err(ApiError::not_found("not_found", format!("No {kind} with this id.")));
    }
    Ok(())
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemsQuery {
    /// The cursor of the last sync; 0 (or absent) for everything.
    #[serde(default)]
    #[param(required = false, minimum = 0)]
    since: i64,
    /// The most items to answer with (1 to 1000; 1000 when absent).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/items/{kind}", security(("session" = [])), params(KindPath, ItemsQuery),
    responses((status = 200, body = ItemChanges), (status = 404, body = plico_api::ErrorBody, description = "Not a kind of item"),
              (status = 422, body = plico_api::ErrorBody)))]
pub async fn item_changes(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(KindPath { kind }): Path<KindPath>,
    ApiQuery(query): ApiQuery<ItemsQuery>,
) -> ApiResult<Json<ItemChanges>> {
    found_path(&kind, None)?;
    if query.since < 0 {
        return Err(ApiError::invalid("invalid_query", "since is a cursor from an earlier sync, 0 or more."));
    }
    let limit = query.limit.unwrap_or(MAX_ITEM_PAGE);
    if !(1..=MAX_ITEM_PAGE).contains(&limit) {
        return Err(ApiError::invalid("invalid_query", format!("limit is from 1 to {MAX_ITEM_PAGE}; it was {limit}.")));
    }
    Ok(Json(state.store.item_changes(signed_in.account_id, &kind, query.since, limit).await?))
}

#[utoipa::path(get, path = "/api/v1/items/{kind}/{id}", security(("session" = [])), params(ItemPath),
    responses((status = 200, body = Item), (status = 404, body = plico_api::ErrorBody)))]
pub async fn get_item(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(ItemPath { kind, id }): Path<ItemPath>,
) -> ApiResult<Json<Item>> {
    found_path(&kind, Some(&id))?;
    Ok(Json(state.store.item(signed_in.account_id, &kind, &id).await?))
}

#[utoipa::path(put, path = "/api/v1/items/{kind}/{id}", security(("session" = [])), params(ItemPath), request_body = ItemWrite,
    responses((status = 200, body = ItemSaved),
              (status = 404, body = plico_api::ErrorBody, description = "A write over a version of an item that does not exist, or a malformed kind or id"),
              (status = 409, body = plico_api::ErrorBody, description = "The id is taken (version 0), the version is stale, or the item is in the recovery area"),
              (status = 422, body = plico_api::ErrorBody), (status = 413, body = plico_api::ErrorBody),
              (status = 507, body = plico_api::ErrorBody, description = "The account is over its storage quota")))]
pub async fn put_item(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(ItemPath { kind, id }): Path<ItemPath>,
    ApiJson(write): ApiJson<ItemWrite>,
) -> ApiResult<Json<ItemSaved>> {
    found_path(&kind, Some(&id))?;
    if write.version < 0 {
        return Err(ApiError::invalid("invalid_version", "version is the version this write replaces, 0 or more."));
    }
    let sealed = BASE64
        .decode(&write.sealed)
        .map_err(|_| ApiError::bad_request("malformed_field", "sealed is not valid base64."))?;
    if sealed.len() > MAX_ITEM_BYTES {
        return Err(ApiError::TooLarge {
            code: "item_too_large",
            message: format!("An item is at most 512 KiB sealed; this one is {} bytes.", sealed.len()),
        });
    }
    // The item is the user's alone to read, so it must be sealed.
    plico_api::items::check_sealed(&sealed)
        .map_err(|why| ApiError::invalid("not_encrypted", format!("sealed: not a sealed item: {why}")))?;
    let saved = state
        .store
        .put_item(
            signed_in.account_id,
            &PutItem { kind: &kind, id: &id, sealed: &sealed, version: write.version },
            state.clock.now(),
            state.default_quota(),
        )
        .await?;
    Ok(Json(saved))
}

/// Several items of one kind.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemIds {
    #[schema(min_items = 1, max_items = 1000, inline, value_type = Vec<ItemId>)]
    ids: Vec<String>,
}

/// An item id: 32 lowercase hex digits.
#[derive(utoipa::ToSchema)]
#[schema(pattern = "^[0-9a-f]{32}$")]
pub struct ItemId(#[allow(dead_code)] String);

/// Checks a batch, then applies `deleted` to each, all or nothing: an id that names none of the
/// account's items of this kind refuses the whole request before anything changes.
async fn set_deleted(
    state: &AppState,
    account_id: i64,
    kind: &str,
    ids: &[String],
    deleted: Option<i64>,
) -> ApiResult<()> {
    found_path(kind, None)?;
    if ids.is_empty() || ids.len() > 1000 {
        return Err(ApiError::invalid("invalid_ids", "Name from 1 to 1000 items at once."));
    }
    if let Some(bad) = ids.iter().find(|id| !is_item_id(id)) {
        return Err(ApiError::invalid("invalid_id", format!("{bad:?} is not an item id (32 hex digits).")));
    }
    state.store.set_items_deleted(account_id, kind, ids, deleted).await?;
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/items/{kind}/delete", security(("session" = [])), params(KindPath), request_body = ItemIds,
    responses((status = 204, description = "Moved to the recovery area, from which they are purged after 45 days"),
              (status = 404, body = plico_api::ErrorBody, description = "An id names none of your items of this kind; nothing changed"),
              (status = 422, body = plico_api::ErrorBody)))]
pub async fn delete_items(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(KindPath { kind }): Path<KindPath>,
    ApiJson(request): ApiJson<ItemIds>,
) -> ApiResult<StatusCode> {
    set_deleted(&state, signed_in.account_id, &kind, &request.ids, Some(state.clock.now())).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/items/{kind}/recover", security(("session" = [])), params(KindPath), request_body = ItemIds,
    responses((status = 204, description = "Back from the recovery area"),
              (status = 404, body = plico_api::ErrorBody, description = "An id names none of your items of this kind; nothing changed"),
              (status = 422, body = plico_api::ErrorBody)))]
pub async fn recover_items(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(KindPath { kind }): Path<KindPath>,
    ApiJson(request): ApiJson<ItemIds>,
) -> ApiResult<StatusCode> {
    set_deleted(&state, signed_in.account_id, &kind, &request.ids, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
