//! Mail the server itself writes (notices, recovery-address codes): a plain-text message from
//! `postmaster@domain`, queued for one outside address like any other outbound mail.

use crate::AppState;

/// A plain-text message from the server, as RFC 5322.
pub fn message(domain: &str, to: &str, subject: &str, text: &str, now: i64) -> Vec<u8> {
    let id = crate::store::mail::new_id();
    format!(
        "From: Plico <postmaster@{domain}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: {}\r\n\
         Message-ID: <{id}@{domain}>\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}",
        plico_mime::format_date(now)
    )
    .into_bytes()
}

/// Queues a message the server wrote for one outside address, from `postmaster@domain`.
/// `Ok(false)`: no smarthost is configured, so nothing can go outside.
pub async fn mail_outside(state: &AppState, account_id: i64, to: &str, message: Vec<u8>) -> Result<bool, String> {
    if state.config.smarthost.is_none() {
        return Ok(false);
    }
    let id = crate::store::mail::new_id();
    let sealed_message = state.outbound.files.seal(&id, &message).map_err(|error| error.to_string())?;
    let mail_from = format!("postmaster@{}", state.config.domain);
    let recipients = [to.to_owned()];
    state
        .store
        .queue_outbound(
            account_id,
            &crate::store::outbound::NewOutbound {
                id: &id,
                mail_from: &mail_from,
                recipients: &recipients,
                sealed_message: &sealed_message,
            },
            state.clock.now(),
        )
        .await
        .map_err(|error| error.to_string())?;
    state.outbound.wake.notify_one();
    Ok(true)
}
