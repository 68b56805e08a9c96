//! Account rules that more than one handler applies: what a recovery address may be, setting
//! one (which mails it a code), and what signing in to a closed account does.

use rand::Rng;

use crate::http::error::{ApiError, ApiResult};
use crate::policy;
use crate::AppState;

/// How long a recovery address's activation code may be used.
const CODE_SECONDS: i64 = 24 * 3600;

/// A usable recovery address, lowercased: a mail address outside this server's domain.
pub fn check_recovery_address(state: &AppState, address: &str) -> ApiResult<String> {
    let address = address.trim().to_ascii_lowercase();
    plico_api::address::check_mail_address(&address).map_err(|why| {
        ApiError::invalid("bad_recovery_address", format!("The recovery address is not usable: {why}."))
    })?;
    if address.rsplit_once('@').is_some_and(|(_, domain)| domain == state.config.domain) {
        return Err(ApiError::conflict(
            "recovery_address_here",
            format!(
                "A recovery address must be outside {}: it is for when this account cannot be used.",
                state.config.domain
            ),
        ));
    }
    Ok(address)
}

/// Sets the recovery address and mails it an activation code (through the smarthost).
pub async fn set_recovery_address(state: &AppState, account_id: i64, address: Option<&str>) -> ApiResult<bool> {
    let checked = address.map(|address| check_recovery_address(state, address)).transpose()?;
    // A confirmed address that is replaced or removed hears of it, so that someone who took
    // over the session cannot quietly move the account's notices elsewhere.
    if let (Some(old), true) = state.store.recovery_address(account_id).await? {
        if checked.as_deref() != Some(old.as_str()) {
            notify_old_recovery_address(state, account_id, &old, checked.as_deref()).await;
        }
    }
    let Some(address) = checked else {
        state.store.set_recovery_address(account_id, None, None, 0).await?;
        return Ok(false);
    };
    let now = state.clock.now();
    // Each code is mail to an address the user names: limited per day, and counted against the
    // sending limit like any other mail the account sends.
    if state.config.smarthost.is_some() {
        state.limits.recovery_mail.check(&state.store, &format!("account:{account_id}"), now).await?.map_err(
            |retry_after_seconds| ApiError::Limited {
                code: "recovery_limit",
                message: format!(
                    "A recovery address can be set {} times a day, and each time a code is mailed to it; \
                     try again in {} hours.",
                    crate::http::rate_limit::RECOVERY_CODES_PER_DAY,
                    retry_after_seconds.div_ceil(3600)
                ),
                retry_after_seconds,
            },
        )?;
        let budget = crate::store::mail::SendBudget { now, recipients_per_day: state.config.send_limit_per_day };
        state.store.spend_send_budget(account_id, 1, budget).await?;
    }
    let code = format!("{:08}", rand::rngs::OsRng.gen_range(0..100_000_000u32));
    let hash = crate::store::lifecycle::code_hash(account_id, &code);
    state.store.set_recovery_address(account_id, Some(&address), Some(&hash), now + CODE_SECONDS).await?;
    let own = state.store.account_by_id(account_id).await?.ok_or(ApiError::Unauthorized)?;
    let text = format!(
        "Someone asked to use this address to recover {} and to receive its notices.\r\n\r\n\
         If it was you, enter this code on the account page within 24 hours:\r\n\r\n    {code}\r\n\r\n\
         If it was not you, ignore this message: the address will not be used.\r\n",
        own.address
    );
    let mail =
        crate::outbound::system::message(&state.config.domain, &address, "Confirm your recovery address", &text, now);
    crate::outbound::system::mail_outside(state, account_id, &address, mail).await.map_err(ApiError::internal)
}

/// `alice@example.org` as `a…@example.org`: enough for the owner to recognise, not to learn.
pub fn masked(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => format!("{}…@{domain}", local.chars().next().unwrap_or('?')),
        None => "…".into(),
    }
}

/// Tells the confirmed recovery address `old` that it no longer is one. Best effort: a failure
/// to queue it is logged, not fatal to the change the owner asked for.
async fn notify_old_recovery_address(state: &AppState, account_id: i64, old: &str, new: Option<&str>) {
    let Ok(Some(own)) = state.store.account_by_id(account_id).await else { return };
    let change = match new {
        Some(new) => format!("was changed to {}", masked(new)),
        None => "was removed".to_owned(),
    };
    let text = format!(
        "The recovery address of {} {change}: this address will no longer receive its notices.\r\n\r\n\
         If you did not do this, sign in, look at the account's sessions (Settings, Security), end the \
         ones you do not know, and change the password.\r\n",
        own.address
    );
    let now = state.clock.now();
    let mail =
        crate::outbound::system::message(&state.config.domain, old, "Your recovery address was changed", &text, now);
    if let Err(error) = crate::outbound::system::mail_outside(state, account_id, old, mail).await {
        tracing::warn!(%error, "the old recovery address was not told of the change");
    }
}

/// A closed account's sign-in: refused with when it can still be reopened, or reopened.
pub async fn check_closed(state: &AppState, account_id: i64, reopen: bool) -> ApiResult<()> {
    let Some((status, since)) = state.store.account_status(account_id).await? else { return Ok(()) };
    if status != plico_api::privacy::AccountStatus::Closed {
        return Ok(());
    }
    let (reopen_until, _) = policy::closed_deadlines(&state.config, since.unwrap_or(0));
    if state.clock.now() >= reopen_until {
        return Err(ApiError::Forbidden {
            code: "account_closed",
            message: "This account was closed and can no longer be reopened: its data is being deleted.".into(),
        });
    }
    if !reopen {
        return Err(ApiError::Forbidden {
            code: "account_closed",
            message: format!(
                "This account was closed on {}. You can reopen it until {}.",
                plico_mime::format_date(since.unwrap_or(0)),
                plico_mime::format_date(reopen_until)
            ),
        });
    }
    state.store.reopen_account(account_id).await?;
    tracing::info!(account_id, "account reopened");
    Ok(())
}

/// Tells the account something about its security: a notice filed in its Inbox (encrypted to its
/// key like any arriving mail) and mailed to its confirmed recovery address. Best effort: a
/// failure is logged, never fatal to what the owner asked.
pub async fn notify_account(state: &AppState, account_id: i64, subject: &str, text: &str) {
    let now = state.clock.now();
    let Ok(Some(own)) = state.store.account_by_id(account_id).await else { return };
    let inbox = crate::outbound::system::message(&state.config.domain, &own.address, subject, text, now);
    if let Err(error) = crate::inbound::file_report(state, account_id, &own.public_cert, inbox).await {
        tracing::error!(?error, "a security notice could not be filed in the Inbox");
    }
    if let Ok((Some(recovery), true)) = state.store.recovery_address(account_id).await {
        let mail = crate::outbound::system::message(&state.config.domain, &recovery, subject, text, now);
        if let Err(error) = crate::outbound::system::mail_outside(state, account_id, &recovery, mail).await {
            tracing::error!(%error, "a security notice could not be queued for the recovery address");
        }
    }
}
