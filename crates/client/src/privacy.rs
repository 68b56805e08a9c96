//! The consent receipts an account keeps on the server, sealed to its own key (so the server
//! learns neither the choices nor when they were made), and the check of the warrant canary.

use plico_api::privacy::ConsentReceipt;
use plico_api::worker::{CanaryStatus, CanaryView};

use crate::flows::{FlowError, Transport, UnlockedSession};

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

/// Adds this browser's receipts to the account's (sealed on the server), stores the union
/// when it grew, and returns it.
pub async fn sync<T: Transport>(
    transport: &T,
    session: &UnlockedSession,
    local: &[ConsentReceipt],
) -> Result<Vec<ConsentReceipt>, FlowError> {
    let (all, _) = crate::sealed::update(
        transport,
        session,
        "/account/consent",
        "The consent receipts",
        |stored: &mut Vec<ConsentReceipt>| {
            let before = stored.len();
            *stored = merge_receipts(std::mem::take(stored), local);
            stored.len() != before
        },
    )
    .await?;
    Ok(all)
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
