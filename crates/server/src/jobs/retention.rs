//! Retention: the background task that deletes what the privacy policy says must go.

use crate::clock::DAY;
use crate::policy::{LOGIN_HISTORY_DAYS, UNFILED_BLOB_DAYS};
use crate::AppState;

/// How many rows one pass deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub login_events: u64,
    pub sessions: u64,
    /// Messages deleted from Trash more than 45 days ago, now gone from the database.
    pub messages: u64,
    /// Items (contacts…) deleted more than 45 days ago, now gone from the database.
    pub items: u64,
    /// Blob files removed from disk (of purged mail, not of purged accounts).
    pub blobs: u64,
    /// The account-lifecycle rules' pass.
    pub accounts: crate::jobs::lifecycle::LifecycleReport,
}

/// One pass of every retention rule, at the injected clock's "now".
pub async fn run_once(state: &AppState) -> Result<RetentionReport, crate::store::Error> {
    let now = state.clock.now();
    let login_events = state.store.purge_login_events_before(now - LOGIN_HISTORY_DAYS * DAY).await?;
    let sessions = state.store.purge_expired_sessions(now).await?;
    state.store.purge_send_log_before(now - DAY).await?;
    state.store.purge_idempotency_keys_before(now - DAY).await?;
    let (messages, mut orphans) =
        state.store.purge_deleted_messages(now - plico_api::mail::RECOVERY_DAYS * DAY).await?;
    let items = state.store.purge_deleted_items(now - plico_api::mail::RECOVERY_DAYS * DAY).await?;
    orphans.extend(state.store.unreferenced_blobs_before(now - UNFILED_BLOB_DAYS * DAY).await?);
    orphans.sort();
    orphans.dedup();
    // Files go first, rows after: a crash in between leaves a row for a missing file that no
    // message refers to, which the next pass clears.
    let mut blobs = 0;
    for hash in &orphans {
        match state.blobs.delete(hash) {
            Ok(()) => blobs += 1,
            Err(error) => tracing::error!(%error, "could not delete a purged blob"),
        }
    }
    state.store.forget_blobs(&orphans).await?;
    state.store.purge_pending(now - crate::PENDING_LOGIN_SECONDS, now - crate::PENDING_SIGNUP_SECONDS).await?;
    state.store.purge_security(now, now - crate::factors::PENDING_SECONDS).await?;
    state.store.purge_rate_windows(now).await?;
    let accounts = crate::jobs::lifecycle::run_once(state).await?;
    Ok(RetentionReport { login_events, sessions, messages, items, blobs, accounts })
}

/// The job's name in `job_runs`.
pub const JOB: &str = "retention";

/// Runs [`run_once`] if no node ran it in the last `interval` (less a tenth, so that a node
/// whose timer fires a little early still takes its turn); `None` when another node has.
pub async fn run_claimed(
    state: &AppState,
    interval: std::time::Duration,
) -> Result<Option<RetentionReport>, crate::store::Error> {
    let period = (interval.as_secs() as i64 * 9 / 10).max(1);
    if !state.store.claim_job(JOB, state.clock.now(), period).await? {
        return Ok(None);
    }
    run_once(state).await.map(Some)
}

/// Runs [`run_once`] once per `interval` across every node on the database: each node wakes
/// every `interval`, and the one that claims the period's run (`Store::claim_job`) runs it.
pub async fn run_forever(state: AppState, interval: std::time::Duration) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        match run_claimed(&state, interval).await {
            Ok(None) => {}
            Ok(Some(report)) => {
                tracing::info!(
                    login_events = report.login_events,
                    sessions = report.sessions,
                    messages = report.messages,
                    items = report.items,
                    blobs = report.blobs,
                    accounts_purged = report.accounts.purged_closed + report.accounts.deleted_inactive,
                    accounts_suspended = report.accounts.suspended,
                    notices = report.accounts.notices,
                    "retention pass"
                )
            }
            Err(error) => {
                state.metrics.job_failed();
                tracing::error!(%error, "retention pass failed")
            }
        }
    }
}
