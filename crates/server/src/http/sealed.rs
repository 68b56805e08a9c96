//! Documents the client sealed to the account's own key and the server keeps in the account's
//! row with a version (the keyring, the consent receipts): reading them, and writing them only
//! over the version the client read, so that two devices never lose each other's writes.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::decode_base64;
use crate::store::SealedDocument;
use crate::AppState;

/// A sealed document, as base64, and its version.
pub async fn read_sealed(
    state: &AppState,
    account_id: i64,
    document: SealedDocument,
) -> ApiResult<(Option<String>, i64)> {
    let (sealed, version) = state.store.sealed_document(account_id, document).await?;
    Ok((sealed.map(|bytes| BASE64.encode(bytes)), version))
}

/// What a sealed document may be, and what a refusal says.
pub struct SealedRules {
    pub max_bytes: usize,
    pub too_large: &'static str,
    pub conflict_code: &'static str,
    pub conflict: &'static str,
}

/// Stores a sealed document written at `version`: it must be an OpenPGP encrypted message within
/// the size limit. Returns it and its new version; 409 when another device wrote first.
pub async fn write_sealed(
    state: &AppState,
    account_id: i64,
    document: SealedDocument,
    rules: &SealedRules,
    sealed: Option<String>,
    version: i64,
) -> ApiResult<(String, i64)> {
    let encoded = sealed.ok_or_else(|| ApiError::invalid("missing_field", "sealed is required."))?;
    let bytes = decode_base64("sealed", &encoded)?;
    if bytes.len() > rules.max_bytes {
        return Err(ApiError::invalid("too_large", rules.too_large));
    }
    // The document is the user's alone to read, so it must be encrypted.
    plico_pgp::check_encrypted_message(&bytes)
        .map_err(|error| ApiError::invalid("not_encrypted", format!("sealed: {error}")))?;
    match state.store.replace_sealed_document(account_id, document, &bytes, version).await? {
        Some(version) => Ok((encoded, version)),
        None => Err(ApiError::conflict(rules.conflict_code, rules.conflict)),
    }
}
