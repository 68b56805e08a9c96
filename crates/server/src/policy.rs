//! What the privacy policy promises, in numbers: how long each kind of data is kept. The jobs
//! that delete (`jobs/`) and the pages that tell users (`http/privacy.rs`, `http/account.rs`)
//! read the same figures from here, so the promise and its enforcement cannot drift apart.

use plico_api::privacy::RetentionRule;

use crate::clock::DAY;
use crate::config::ServeConfig;

/// Login history is kept one month.
pub const LOGIN_HISTORY_DAYS: i64 = 30;

/// Blobs uploaded but never filed in a message are removed after a day.
pub const UNFILED_BLOB_DAYS: i64 = 1;

/// `n` days in seconds.
pub fn days(n: u32) -> i64 {
    i64::from(n) * DAY
}

/// When a closed account can no longer be reopened, and when it is purged.
pub fn closed_deadlines(config: &ServeConfig, closed_at: i64) -> (i64, i64) {
    let reopen_until = closed_at + days(config.reopen_days);
    (reopen_until, reopen_until + days(config.purge_after_days))
}

/// The retention table, made from the settings in force.
pub fn retention_table(config: &ServeConfig) -> Vec<RetentionRule> {
    let rule = |data: &str, kept: String| RetentionRule { data: data.into(), kept };
    vec![
        rule("Login history (time, IP address, browser)", format!("{} days", LOGIN_HISTORY_DAYS)),
        rule(
            "Deleted mail and contacts",
            format!("recoverable for {} days, then purged", plico_api::mail::RECOVERY_DAYS),
        ),
        rule("Sessions (the sign-in cookie)", format!("{} hours, or until you sign out", config.session_hours)),
        rule("Sending counts (for the daily sending limit)", "1 day".into()),
        rule(
            "Closed accounts",
            format!(
                "reopenable for {} days, then purged {} days later; the address cannot be taken for {} days",
                config.reopen_days, config.purge_after_days, config.address_quarantine_days
            ),
        ),
        rule(
            "Inactive free accounts",
            format!(
                "suspended after {} days without a sign-in, deleted {} days later; a notice {} days before each",
                config.inactive_suspend_days, config.inactive_delete_days, config.inactive_notice_days
            ),
        ),
        rule("Uploads never filed in a message", format!("{} day", UNFILED_BLOB_DAYS)),
        rule("Mail waiting for another server", format!("up to {} hours, then returned", config.queue_give_up_hours)),
    ]
}
