//! The OpenAPI document: the server's exact contract (issue 28).
//!
//! One source of truth: each handler's `#[utoipa::path]` names its own answers (404, 409, 507…)
//! and whether it needs a session (`security(("session" = []))`), the wire types in `plico-api`
//! give the bodies (with `additionalProperties: false` where unknown fields are refused), and
//! [`document`] adds what the layers every request passes through answer, derived from each
//! operation's own declaration: 401 where a session is needed, 403 (the CSRF check) on every
//! request that changes state, 400/413/415/422 where there is a JSON body, 413 where there is
//! any body, and the `Idempotency-Key` header where the idempotency layer runs. Schemathesis
//! holds the server to it (`crates/server/tests/api_contract.rs`).

use std::sync::OnceLock;

use axum::Json;
use serde_json::{json, Value};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Plico API",
        description = "The storage backend of Plico, an end-to-end encrypted webmail. It never sees a password, a secret key or plaintext mail. \
            Every error is `{\"error\": {\"code\", \"message\"}}` with the status that says its kind. \
            A request that changes state carries the `x-plico-csrf: 1` header (else 403); one that needs a session carries the session cookie (else 401)."
    ),
    paths(
        crate::http::account::info,
        crate::http::account::signup_start,
        crate::http::account::signup_finish,
        crate::http::account::login_start,
        crate::http::account::login_finish,
        crate::http::account::login_second_factor,
        crate::http::account::logout,
        crate::http::account::session,
        crate::http::account::login_history,
        crate::http::account::delete_login_history,
        crate::http::account::delete_login_event,
        crate::http::account::account_settings,
        crate::http::account::storage_usage,
        crate::http::account::update_account_settings,
        crate::http::account::keyring,
        crate::http::keys::outside_key,
        crate::http::account::replace_keyring,
        crate::http::keys::public_key,
        crate::http::mail::upload_blob,
        crate::http::mail::download_blob,
        crate::http::mail::list_folders,
        crate::http::mail::create_folder,
        crate::http::mail::rename_folder,
        crate::http::mail::delete_folder,
        crate::http::mail::file_message,
        crate::http::mail::update_messages,
        crate::http::mail::send_message,
        crate::http::mail::replace_draft,
        crate::http::mail::discard_draft,
        crate::http::mail::delete_messages,
        crate::http::mail::recover_messages,
        crate::http::mail::sync,
        crate::http::mail::sealed_summaries,
        crate::http::privacy::policy,
        crate::http::privacy::transparency,
        crate::http::account::close_account,
        crate::http::account::recovery,
        crate::http::account::update_recovery,
        crate::http::account::confirm_recovery,
        crate::http::security::overview,
        crate::http::account_keys::list,
        crate::http::account_keys::add_primary,
        crate::http::account_keys::revoke,
        crate::http::security::start_totp,
        crate::http::security::confirm_totp,
        crate::http::security::delete_totp,
        crate::http::security::new_recovery_codes,
        crate::http::security::start_passkey,
        crate::http::security::finish_passkey,
        crate::http::security::delete_passkey,
        crate::http::security::cancel_factor_reset,
        crate::http::account::login_factor_reset,
        crate::http::security::start_password_change,
        crate::http::security::finish_password_change,
        crate::http::security::sessions,
        crate::http::security::set_idle_timeout,
        crate::http::security::revoke_session,
        crate::http::security::revoke_other_sessions,
        crate::http::privacy::consent,
        crate::http::privacy::replace_consent,
        crate::http::privacy::data_held,
        crate::http::items::item_changes,
        crate::http::items::get_item,
        crate::http::items::put_item,
        crate::http::items::delete_items,
        crate::http::items::recover_items,
    ),
    components(schemas(plico_api::ErrorBody, plico_api::ErrorDetail, plico_api::LoginKind, plico_api::LoginEvent))
)]
pub struct ApiDoc;

/// The operations behind the idempotency layer (`http::idempotent`).
const IDEMPOTENT: &[&str] = &["create_folder", "file_message", "send_message"];

/// The document as served: the derived one, completed with what the shared layers answer.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serializes");
        complete(&mut document);
        document
    })
}

pub async fn serve() -> Json<&'static Value> {
    Json(document())
}

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } }
    })
}

/// Adds a response unless the operation already names that status.
fn answer(operation: &mut Value, status: &str, description: &str) {
    let responses = operation["responses"].as_object_mut().expect("every operation has responses");
    responses.entry(status).or_insert_with(|| error(description));
}

fn complete(document: &mut Value) {
    let components = document["components"].as_object_mut().expect("components");
    components.insert(
        "securitySchemes".into(),
        json!({
            "session": {
                "type": "apiKey", "in": "cookie", "name": crate::http::session::cookie_name(false),
                "description": "The session cookie that signing up or signing in sets (`__Host-plico_session` behind TLS)."
            },
            "csrf": {
                "type": "apiKey", "in": "header", "name": plico_api::CSRF_HEADER,
                "description": "Must be `1` on every request that changes state: a cross-site form cannot send it."
            }
        }),
    );
    // What a type cannot say by itself: a send has a recipient here or outside.
    if let Some(send) = document["components"]["schemas"].get_mut("SendRequest") {
        send["anyOf"] = json!([
            { "properties": { "recipients": { "minItems": 1 } } },
            { "properties": { "external": { "minItems": 1 } }, "required": ["external"] }
        ]);
    }
    // The idle timeouts an account may pick.
    if let Some(idle) = document["components"]["schemas"].get_mut("IdleTimeout") {
        idle["properties"]["idle_minutes"]["enum"] = json!(crate::factors::IDLE_CHOICES);
    }
    let paths = document["paths"].as_object_mut().expect("paths");
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, operation) in item.iter_mut() {
            complete_operation(path, method, operation);
        }
    }
    for (from, name, to, parameters, body) in LINKS {
        let parameters: serde_json::Map<String, Value> =
            parameters.iter().map(|(name, value)| ((*name).to_owned(), json!(value))).collect();
        let mut link = json!({ "operationId": to });
        if !parameters.is_empty() {
            link["parameters"] = Value::Object(parameters);
        }
        if !body.is_empty() {
            let body: serde_json::Map<String, Value> =
                body.iter().map(|(name, value)| ((*name).to_owned(), json!(value))).collect();
            link["requestBody"] = Value::Object(body);
        }
        let operation = operation_mut(document, from).expect("a link starts at a documented operation");
        let response = operation["responses"]["200"].as_object_mut().expect("a link starts at a 200 answer");
        response.entry("links").or_insert_with(|| json!({}))[*name] = link;
    }
}

type Pairs = &'static [(&'static str, &'static str)];

/// How one operation's answer feeds the next (OpenAPI links): what a client does with a new
/// blob, folder or draft, and what the stateful tests follow. No link leads from a sign-up's start
/// to its finish: finishing needs OPAQUE's answer to the start, which no generated value is.
const LINKS: &[(&str, &str, &str, Pairs, Pairs)] = &[
    ("upload_blob", "DownloadBlob", "download_blob", &[("hash", "$response.body#/hash")], &[]),
    (
        "upload_blob",
        "FileMessage",
        "file_message",
        &[],
        &[("blob_hash", "$response.body#/hash"), ("size", "$response.body#/size")],
    ),
    ("create_folder", "RenameFolder", "rename_folder", &[("id", "$response.body#/id")], &[]),
    ("create_folder", "DeleteFolder", "delete_folder", &[("id", "$response.body#/id")], &[]),
    ("create_folder", "FileMessageHere", "file_message", &[], &[("folder_id", "$response.body#/id")]),
    ("file_message", "ReplaceDraft", "replace_draft", &[("id", "$response.body#/id")], &[]),
    ("file_message", "DiscardDraft", "discard_draft", &[("id", "$response.body#/id")], &[]),
    ("replace_draft", "DiscardThisDraft", "discard_draft", &[("id", "$response.body#/id")], &[]),
    ("put_item", "GetItem", "get_item", &[("kind", "$request.path.kind"), ("id", "$response.body#/id")], &[]),
    (
        "put_item",
        "UpdateItem",
        "put_item",
        &[("kind", "$request.path.kind"), ("id", "$response.body#/id")],
        &[("version", "$response.body#/version")],
    ),
    ("login_history", "DeleteLoginEvent", "delete_login_event", &[("id", "$response.body#/events/0/id")], &[]),
];

fn operation_mut<'a>(document: &'a mut Value, id: &str) -> Option<&'a mut Value> {
    document["paths"]
        .as_object_mut()?
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .find(|operation| operation["operationId"] == id)
}

fn complete_operation(path: &str, method: &str, operation: &mut Value) {
    let id = operation["operationId"].as_str().unwrap_or_default().to_owned();
    let needs_session = operation["security"]
        .as_array()
        .is_some_and(|requirements| requirements.iter().any(|requirement| requirement.get("session").is_some()));
    let changes_state = method != "get";
    // The security each request must carry: the session where needed, the CSRF header on
    // writes. An empty requirement list says "none".
    let mut requirement = serde_json::Map::new();
    if needs_session {
        requirement.insert("session".into(), json!([]));
        answer(operation, "401", "No valid session: sign in first");
    }
    if changes_state {
        requirement.insert("csrf".into(), json!([]));
        answer(operation, "403", "The x-plico-csrf header is missing (or the request came from another site)");
    }
    operation["security"] = if requirement.is_empty() { json!([]) } else { json!([requirement]) };

    let content = operation["requestBody"]["content"].as_object().map(|content| content.keys().cloned().collect());
    let content: Vec<String> = content.unwrap_or_default();
    if content.iter().any(|kind| kind == "application/json") {
        answer(operation, "400", "The body is not well-formed JSON");
        answer(operation, "415", "The body is not sent as application/json");
        answer(operation, "422", "A field is missing, unknown or invalid; the message names it");
    }
    if !content.is_empty() {
        answer(operation, "413", "The body is larger than this endpoint's limit");
    }
    if path.contains('{') {
        answer(operation, "404", "Nothing of yours has that identifier");
    }
    if IDEMPOTENT.contains(&id.as_str()) {
        let parameters = operation["parameters"].as_array_mut().map(std::mem::take).unwrap_or_default();
        let mut parameters = parameters;
        parameters.push(json!({
            "name": crate::http::extract::IDEMPOTENCY_KEY,
            "in": "header",
            "required": false,
            "description": "Makes a repeat of this request (same method and path, same account) answer as the first did, for a day, instead of acting twice.",
            "schema": { "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$" }
        }));
        operation["parameters"] = Value::Array(parameters);
        answer(operation, "400", "The Idempotency-Key is not 1 to 255 printable ASCII characters");
        answer(operation, "409", "The same request is still being handled");
        answer(operation, "422", "The Idempotency-Key was used for another kind of request");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_that_is_not_a_success_is_the_error_body() {
        let document = document();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("item") {
                for (status, response) in operation["responses"].as_object().expect("responses") {
                    if status.starts_with('2') {
                        continue;
                    }
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }

    #[test]
    fn writes_need_the_csrf_header_and_private_reads_a_session() {
        let document = document();
        let operation = |path: &str, method: &str| document["paths"][path][method].clone();
        assert_eq!(operation("/api/v1/folders", "post")["security"], json!([{ "session": [], "csrf": [] }]));
        assert_eq!(operation("/api/v1/folders", "get")["security"], json!([{ "session": [] }]));
        assert_eq!(operation("/api/v1/login/start", "post")["security"], json!([{ "csrf": [] }]));
        assert_eq!(operation("/api/v1/info", "get")["security"], json!([]));
        assert!(operation("/api/v1/folders", "post")["responses"].get("415").is_some());
    }
}
