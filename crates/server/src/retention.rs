//! Retention: the background task that deletes what the privacy policy says must go.

use crate::clock::DAY;
use crate::AppState;

/// Login history is kept one month.
pub const LOGIN_HISTORY_DAYS: i64 = 30;

/// How many rows one pass deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub login_events: u64,
    pub sessions: u64,
}

/// One pass of every retention rule, at the injected clock's "now".
pub async fn run_once(state: &AppState) -> Result<RetentionReport, sqlx::Error> {
    let now = state.clock.now();
    let login_events = state.store.purge_login_events_before(now - LOGIN_HISTORY_DAYS * DAY).await?;
    let sessions = state.store.purge_expired_sessions(now).await?;
    if let Ok(mut pending) = state.pending_logins.lock() {
        pending.retain(|_, login| now - login.started_at < crate::PENDING_LOGIN_SECONDS);
    }
    Ok(RetentionReport { login_events, sessions })
}

/// Runs [`run_once`] now and then every `interval`.
pub async fn run_forever(state: AppState, interval: std::time::Duration) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        match run_once(&state).await {
            Ok(report) => {
                tracing::info!(login_events = report.login_events, sessions = report.sessions, "retention pass")
            }
            Err(error) => tracing::error!(%error, "retention pass failed"),
        }
    }
}
