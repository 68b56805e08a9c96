//! The account's life, as the retention task runs it: closed accounts purged after the
//! reopening period and the purge delay, inactive free accounts suspended and then deleted,
//! each step announced by a notice at least `--inactive-notice-days` before it.
//!
//! A notice is filed in the account's own Inbox (encrypted to its key, like any mail from
//! outside) and, when a confirmed recovery address is set and a smarthost is configured, mailed
//! there in plain text.

use plico_api::privacy::AccountStatus;

use crate::policy::days;
use crate::store::lifecycle::LifecycleRow;
use crate::AppState;

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LifecycleReport {
    /// Closed accounts purged after their reopening period and the purge delay.
    pub purged_closed: u64,
    /// Inactive free accounts suspended.
    pub suspended: u64,
    /// Suspended inactive accounts deleted.
    pub deleted_inactive: u64,
    /// Notices filed (each may also have been mailed to a recovery address).
    pub notices: u64,
    /// Messages removed with the purged accounts.
    pub messages: u64,
    /// Blob files removed with them.
    pub blobs: u64,
}

/// One pass of the account-lifecycle rules at the clock's "now".
pub async fn run_once(state: &AppState) -> Result<LifecycleReport, crate::store::Error> {
    let config = &state.config;
    let now = state.clock.now();
    let mut report = LifecycleReport::default();

    let closed_cutoff = now - days(config.reopen_days) - days(config.purge_after_days);
    for row in state.store.closed_before(closed_cutoff).await? {
        purge(state, row.id, &mut report).await?;
        report.purged_closed += 1;
    }

    let notice = days(config.inactive_notice_days);
    let suspend_after = days(config.inactive_suspend_days);
    let delete_after = days(config.inactive_delete_days);
    let last_notice_before = now - notice;

    // 1. The notice that suspension is coming.
    for row in state.store.inactive(AccountStatus::Active, now - (suspend_after - notice), 0, i64::MAX).await? {
        let suspend_on = (row.last_login_at + suspend_after).max(now + notice);
        let text = format!(
            "Nobody has signed in to {} since {}.\r\n\r\nFree accounts without a sign-in for {} days are suspended: \
             unless you sign in before {}, this account will be suspended then and stop receiving mail, and \
             {} days later it will be deleted with all its mail.\r\n\r\nSigning in once is enough to keep it.\r\n",
            row.address,
            plico_mime::format_date(row.last_login_at),
            config.inactive_suspend_days,
            plico_mime::format_date(suspend_on),
            config.inactive_delete_days,
        );
        notify(state, &row, "Your Plico account will be suspended", &text).await;
        state.store.set_inactivity_notices(row.id, 1, now).await?;
        report.notices += 1;
    }
    // 2. Suspension, at least the notice period after its notice.
    for row in state.store.inactive(AccountStatus::Active, now - suspend_after, 1, last_notice_before + 1).await? {
        state.store.suspend_account(row.id, now).await?;
        report.suspended += 1;
    }
    // 3. The notice that deletion is coming.
    for row in state.store.inactive(AccountStatus::Suspended, now - (delete_after - notice), 1, i64::MAX).await? {
        let suspended_at = row.status_since.unwrap_or(now);
        let delete_on = (suspended_at + delete_after).max(now + notice);
        let text = format!(
            "{} was suspended on {} because nobody had signed in for {} days.\r\n\r\nUnless you sign in before {}, \
             it will be deleted then, with all its mail, contacts and keys, and cannot be recovered.\r\n",
            row.address,
            plico_mime::format_date(suspended_at),
            config.inactive_suspend_days,
            plico_mime::format_date(delete_on),
        );
        notify(state, &row, "Your Plico account will be deleted", &text).await;
        state.store.set_inactivity_notices(row.id, 2, now).await?;
        report.notices += 1;
    }
    // 4. Deletion.
    for row in state.store.inactive(AccountStatus::Suspended, now - delete_after, 2, last_notice_before + 1).await? {
        purge(state, row.id, &mut report).await?;
        report.deleted_inactive += 1;
    }
    state.store.purge_quarantine_before(now).await?;
    Ok(report)
}

/// Deletes an account's rows, then the blob files only it referred to, then their rows.
async fn purge(state: &AppState, account_id: i64, report: &mut LifecycleReport) -> Result<(), crate::store::Error> {
    let quarantine_until = state.clock.now() + days(state.config.address_quarantine_days);
    let purged = state.store.purge_account(account_id, quarantine_until).await?;
    for hash in &purged.orphan_blobs {
        match state.blobs.delete(hash) {
            Ok(()) => report.blobs += 1,
            Err(error) => tracing::error!(%error, "could not delete a purged account's blob"),
        }
    }
    state.store.forget_blobs(&purged.orphan_blobs).await?;
    report.messages += purged.messages;
    tracing::info!(account_id, messages = purged.messages, "account purged");
    Ok(())
}

/// Files a notice in the account's Inbox and mails it to its confirmed recovery address.
async fn notify(state: &AppState, row: &LifecycleRow, subject: &str, text: &str) {
    let now = state.clock.now();
    let inbox = crate::outbound::system::message(&state.config.domain, &row.address, subject, text, now);
    if let Err(error) = crate::inbound::file_report(state, row.id, &row.public_cert, inbox).await {
        tracing::error!(?error, "a lifecycle notice could not be filed");
    }
    if let Some(recovery) = &row.recovery_address {
        let mail = crate::outbound::system::message(&state.config.domain, recovery, subject, text, now);
        if let Err(error) = crate::outbound::system::mail_outside(state, row.id, recovery, mail).await {
            tracing::error!(%error, "a lifecycle notice could not be queued for the recovery address");
        }
    }
}
