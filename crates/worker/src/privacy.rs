//! Consent receipts and the warrant canary ([`PrivacyCommand`]).

use plico_api::worker::{PrivacyCommand, WorkerOutcome};
use plico_client::{FlowError, UnlockedSession};

use crate::transport::FetchTransport;

/// Checks the canary; it needs no session.
pub fn verify_canary(statement: &str, service_key: &str, max_age_days: u32, now: i64) -> WorkerOutcome {
    WorkerOutcome::Canary(plico_client::privacy::check_canary(statement, service_key, max_age_days, now))
}

pub async fn handle(session: &UnlockedSession, command: PrivacyCommand) -> Result<WorkerOutcome, FlowError> {
    match command {
        PrivacyCommand::SyncConsent { receipts } => {
            let all = plico_client::privacy::sync(&FetchTransport, session, &receipts).await?;
            Ok(WorkerOutcome::Consent(all))
        }
        PrivacyCommand::VerifyCanary { statement, service_key, max_age_days, now } => {
            Ok(verify_canary(&statement, &service_key, max_age_days, now))
        }
    }
}
