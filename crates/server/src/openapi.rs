//! The OpenAPI document, generated from the handlers' annotations and the wire types.

use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Plico API",
        description = "The storage backend of Plico, an end-to-end encrypted webmail. It never sees a password, a secret key or plaintext mail."
    ),
    paths(
        crate::api::info,
        crate::api::signup_start,
        crate::api::signup_finish,
        crate::api::login_start,
        crate::api::login_finish,
        crate::api::logout,
        crate::api::session,
        crate::api::login_history,
        crate::api::delete_login_history,
        crate::api::delete_login_event,
        crate::api::account_settings,
        crate::api::storage_usage,
        crate::api::update_account_settings,
        crate::api::keyring,
        crate::api::outside_key,
        crate::api::replace_keyring,
        crate::api::public_key,
        crate::mail_api::upload_blob,
        crate::mail_api::download_blob,
        crate::mail_api::list_folders,
        crate::mail_api::create_folder,
        crate::mail_api::rename_folder,
        crate::mail_api::delete_folder,
        crate::mail_api::file_message,
        crate::mail_api::update_messages,
        crate::mail_api::send_message,
        crate::mail_api::replace_draft,
        crate::mail_api::discard_draft,
        crate::mail_api::delete_messages,
        crate::mail_api::recover_messages,
        crate::mail_api::sync,
        crate::mail_api::sealed_summaries,
        crate::privacy_api::policy,
        crate::privacy_api::transparency,
        crate::privacy_api::close_account,
        crate::privacy_api::recovery,
        crate::privacy_api::update_recovery,
        crate::privacy_api::confirm_recovery,
        crate::privacy_api::consent,
        crate::privacy_api::replace_consent,
        crate::privacy_api::data_held,
    ),
    components(schemas(plico_api::ErrorBody, plico_api::ErrorDetail, plico_api::LoginKind, plico_api::LoginEvent))
)]
pub struct ApiDoc;

pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
