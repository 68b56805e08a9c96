//! HTTP: the router, and one module per resource. Only this module knows HTTP.
//!
//! Handler modules (`account`, `security`, `keys`, `mail`, `items`, `privacy`, `health`, `metrics`, `static_files`) each answer
//! one resource and never import one another; what they share lives in `error`, `extract`,
//! `session`, `sealed` and `rate_limit`. `mod.rs` (the routes) and `openapi.rs` (the document)
//! are the two indexes that name every handler. The tidy test in `crates/xtask` holds this.

use axum::middleware;
use axum::routing::{delete, get, patch, post, put};
use axum::Router;

pub mod account;
pub mod account_keys;
pub mod error;
pub mod extract;
pub mod health;
pub mod items;
pub mod keys;
mod layers;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod privacy;
pub mod rate_limit;
pub mod rules;
pub mod sealed;
pub mod security;
pub mod session;
pub mod static_files;

use error::ApiError;
use layers::{any_origin, csrf_guard, idempotent, log_request, refuse_declared_oversize, security_headers};

use crate::AppState;

/// Builds the whole HTTP application: API, key directory, app files, and the middleware.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/info", get(account::info))
        .route("/signup/start", post(account::signup_start))
        .route("/signup/finish", post(account::signup_finish))
        .route("/login/start", post(account::login_start))
        .route("/login/finish", post(account::login_finish))
        .route("/login/second-factor", post(account::login_second_factor))
        .route("/login/second-factor/reset", post(account::login_factor_reset))
        .route("/logout", post(account::logout))
        .route("/session", get(account::session))
        .route("/account/logins", get(account::login_history).delete(account::delete_login_history))
        .route("/account/logins/{id}", delete(account::delete_login_event))
        .route("/account/settings", get(account::account_settings).put(account::update_account_settings))
        .route("/account/usage", get(account::storage_usage))
        .route("/account/keyring", get(account::keyring).put(account::replace_keyring))
        .route("/account/close", post(account::close_account))
        .route("/account/keys", get(account_keys::list).post(account_keys::add_primary))
        .route("/account/keys/{fingerprint}/revoke", post(account_keys::revoke))
        .route("/account/security", get(security::overview))
        .route("/account/security/totp", post(security::start_totp).delete(security::delete_totp))
        .route("/account/security/totp/confirm", post(security::confirm_totp))
        .route("/account/security/recovery-codes", post(security::new_recovery_codes))
        .route("/account/security/passkeys", post(security::start_passkey))
        .route("/account/security/reset", delete(security::cancel_factor_reset))
        .route("/account/security/passkeys/finish", post(security::finish_passkey))
        .route("/account/security/passkeys/{id}", delete(security::delete_passkey))
        .route("/account/password/start", post(security::start_password_change))
        .route("/account/password/finish", post(security::finish_password_change))
        .route("/account/sessions", get(security::sessions))
        .route("/account/sessions/idle", put(security::set_idle_timeout))
        .route("/account/sessions/revoke-others", post(security::revoke_other_sessions))
        .route("/account/sessions/{id}", delete(security::revoke_session))
        .route("/account/recovery", get(account::recovery).put(account::update_recovery))
        .route("/account/recovery/confirm", post(account::confirm_recovery))
        .route("/account/consent", get(privacy::consent).put(privacy::replace_consent))
        .route("/account/data", get(privacy::data_held))
        .route("/policy", get(privacy::policy))
        .route("/transparency", get(privacy::transparency))
        .route("/keys/{address}", get(keys::public_key))
        .route("/keys/outside/{address}", get(keys::outside_key))
        .route(
            "/blobs",
            post(mail::upload_blob).layer(axum::extract::DefaultBodyLimit::max(state.config.max_message_bytes)),
        )
        .route("/blobs/{hash}", get(mail::download_blob))
        .route(
            "/folders",
            get(mail::list_folders)
                .post(mail::create_folder)
                .route_layer(middleware::from_fn_with_state(state.clone(), idempotent)),
        )
        .route("/folders/{id}", patch(mail::rename_folder).delete(mail::delete_folder))
        .route(
            "/messages",
            post(mail::file_message)
                .route_layer(middleware::from_fn_with_state(state.clone(), idempotent))
                .patch(mail::update_messages),
        )
        // Mail to other servers travels in the send request itself (base64), so it may be as
        // big as a message.
        .route(
            "/messages/send",
            post(mail::send_message)
                .layer(axum::extract::DefaultBodyLimit::max(extract::send_body_limit(&state)))
                .route_layer(middleware::from_fn_with_state(state.clone(), idempotent)),
        )
        .route("/drafts/{id}", put(mail::replace_draft).delete(mail::discard_draft))
        .route("/messages/delete", post(mail::delete_messages))
        .route("/messages/recover", post(mail::recover_messages))
        .route("/sync", get(mail::sync))
        .route("/summaries", post(mail::sealed_summaries))
        .route("/items/{kind}", get(items::item_changes))
        .route("/items/{kind}/delete", post(items::delete_items))
        .route("/items/{kind}/recover", post(items::recover_items))
        .route("/items/{kind}/{id}", get(items::get_item).put(items::put_item))
        .route("/openapi.json", get(openapi::serve))
        .fallback(api_not_found)
        .method_not_allowed_fallback(api_method_not_allowed)
        .layer(middleware::from_fn(csrf_guard));

    Router::new()
        .nest(plico_api::API_PREFIX, api.layer(axum::extract::DefaultBodyLimit::max(state.config.max_body_bytes)))
        .merge(
            Router::new()
                .route("/.well-known/openpgpkey/hu/{hash}", get(keys::wkd_lookup))
                .route("/.well-known/openpgpkey/policy", get(keys::wkd_policy))
                .layer(middleware::map_response(any_origin)),
        )
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(metrics::serve))
        .fallback(static_files::serve)
        .layer(middleware::from_fn_with_state(state.clone(), refuse_declared_oversize))
        .layer(middleware::from_fn_with_state(state.clone(), security_headers))
        .layer(middleware::from_fn_with_state(state.clone(), log_request))
        .with_state(state)
}

async fn api_not_found() -> ApiError {
    ApiError::not_found("no_such_endpoint", "There is no API endpoint at this path.")
}

async fn api_method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
