//! The consent receipts an account keeps on the server, sealed to its own key (so the server
//! learns neither the choices nor when they were made), and the check of the warrant canary.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use plico_api::privacy::{ConsentReceipt, SealedConsent};
use plico_api::worker::{CanaryStatus, CanaryView};

use crate::flows::{call_json, FlowError, Transport, UnlockedSession};

fn crypto(error: impl std::fmt::Display) -> FlowError {
    FlowError::Crypto(error.to_string())
}

/// The union of two lists of receipts, oldest first, without duplicates.
pub fn merge_receipts(mut ours: Vec<ConsentReceipt>, theirs: &[ConsentReceipt]) -> Vec<ConsentReceipt> {
    for receipt in theirs {
        if !ours.contains(receipt) {
            ours.push(receipt.clone());
        }
    }
    ours.sort_by_key(|receipt| receipt.at);
    ours
}

/// Reads the account's receipts and their version.
pub async fn load<T: Transport>(
    transport: &T,
    session: &UnlockedSession,
) -> Result<(Vec<ConsentReceipt>, i64), FlowError> {
    let stored: SealedConsent = call_json::<T, (), _>(transport, "GET", "/account/consent", None).await?;
    let receipts = match stored.sealed {
        None => Vec::new(),
        Some(sealed) => {
            let bytes = BASE64.decode(sealed).map_err(crypto)?;
            let opened = plico_pgp::decrypt_and_verify(&bytes, &session.secret_key, &[]).map_err(crypto)?;
            serde_json::from_slice(&opened.plaintext).map_err(|e| FlowError::Protocol(e.to_string()))?
        }
    };
    Ok((receipts, stored.version))
}

/// Adds this browser's receipts to the account's, stores the union when it grew (reading
/// again when another device wrote in between), and returns it.
pub async fn sync<T: Transport>(
    transport: &T,
    session: &UnlockedSession,
    local: &[ConsentReceipt],
) -> Result<Vec<ConsentReceipt>, FlowError> {
    let own = plico_pgp::parse_cert(session.account.public_cert.as_bytes()).map_err(crypto)?;
    for _ in 0..3 {
        let (stored, version) = load(transport, session).await?;
        let merged = merge_receipts(stored.clone(), local);
        if merged.len() == stored.len() {
            return Ok(merged);
        }
        let json = serde_json::to_vec(&merged).map_err(|e| FlowError::Protocol(e.to_string()))?;
        let sealed = plico_pgp::encrypt_to(&json, std::slice::from_ref(&own)).map_err(crypto)?;
        let write = SealedConsent { sealed: Some(BASE64.encode(sealed)), version };
        match call_json::<T, _, SealedConsent>(transport, "PUT", "/account/consent", Some(&write)).await {
            Ok(_) => return Ok(merged),
            Err(FlowError::Api { status: 409, .. }) => continue,
            Err(error) => return Err(error),
        }
    }
    Err(FlowError::Protocol("The consent receipts kept changing on another device; try again.".into()))
}

/// Checks a clear-signed canary: signed by `service_key`, and at most `max_age_days` old at
/// `now` (a signature from the future, beyond a day of clock skew, is not fresh either).
pub fn check_canary(statement: &str, service_key: &str, max_age_days: u32, now: i64) -> CanaryView {
    let missing = |text: &str| CanaryView {
        status: CanaryStatus::Missing,
        text: text.into(),
        signed_at: None,
        fingerprint: None,
    };
    if statement.trim().is_empty() {
        return missing("");
    }
    let Ok(cert) = plico_pgp::parse_cert(service_key.as_bytes()) else { return missing(statement) };
    let fingerprint = Some(plico_pgp::fingerprint_hex(&cert));
    if !statement.trim_start().starts_with("-----BEGIN PGP SIGNED MESSAGE-----") {
        return CanaryView { status: CanaryStatus::Unsigned, text: statement.into(), signed_at: None, fingerprint };
    }
    let (text, good) = match plico_pgp::verify_inline(statement.as_bytes(), std::slice::from_ref(&cert)) {
        Ok((data, good)) => (String::from_utf8_lossy(&data).into_owned(), good),
        Err(_) => (statement.to_owned(), Vec::new()),
    };
    let signed_at = good
        .iter()
        .filter_map(|verification| verification.created.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|since| since.as_secs() as i64)
        .max();
    let status = match signed_at {
        None => CanaryStatus::BadSignature,
        Some(at) if at > now + 86_400 || now - at > i64::from(max_age_days) * 86_400 => CanaryStatus::Stale,
        Some(_) => CanaryStatus::Fresh,
    };
    CanaryView { status, text, signed_at, fingerprint }
}
