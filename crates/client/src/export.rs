//! What only the crypto worker can give "export everything" (the archive itself is made by
//! `plico-transfer`): each message's envelope from its sealed summary, and the account's keys.

use plico_api::mail::MessageMeta;

use crate::{FlowError, UnlockedSession};

/// A message's sender address (empty when unknown: the mbox says MAILER-DAEMON) and subject,
/// from its sealed summary.
pub fn envelope(session: &UnlockedSession, meta: &MessageMeta) -> (String, String) {
    let summary = crate::mail::open_summary(session, meta).ok();
    let sender = summary.as_ref().and_then(|summary| summary.from.as_ref()).map(|from| from.address.clone());
    let subject = summary.map(|summary| summary.subject).unwrap_or_default();
    (sender.unwrap_or_default(), subject)
}

/// The account's keys, armored: the certificate, and every secret key encrypted under
/// `passphrase` (at least [`plico_pgp::MIN_EXPORT_PASSPHRASE_CHARS`] characters).
pub fn keys(session: &UnlockedSession, passphrase: &str) -> Result<(String, String), FlowError> {
    let min = plico_pgp::MIN_EXPORT_PASSPHRASE_CHARS;
    if passphrase.chars().count() < min {
        return Err(FlowError::Invalid(format!(
            "The passphrase for the secret key in the archive needs at least {min} characters."
        )));
    }
    let secret = plico_pgp::armor_protected_secret_key(&session.secret_key, passphrase)
        .map_err(|error| FlowError::Crypto(error.to_string()))?;
    Ok((session.account.public_cert.clone(), secret))
}

/// The sign-ins the server keeps, as its JSON.
pub async fn login_history<T: crate::Transport>(transport: &T) -> Result<Vec<u8>, FlowError> {
    crate::flows::call(transport, "GET", "/account/logins", None).await
}
