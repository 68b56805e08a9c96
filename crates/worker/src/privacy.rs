//! Consent receipts ([`PrivacyCommand`]); the warrant canary is checked in the keys worker
//! (`crate::keys_worker::verify_canary`), which this worker starts for it.

use plico_api::worker::{PrivacyCommand, WorkerOutcome};
use plico_client::{FlowError, UnlockedSession};

use crate::transport::FetchTransport;

pub async fn handle(session: &UnlockedSession, command: PrivacyCommand) -> Result<WorkerOutcome, FlowError> {
    match command {
        PrivacyCommand::SyncConsent { receipts } => {
            let all = plico_client::privacy::sync(&FetchTransport, session, &receipts).await?;
            Ok(WorkerOutcome::Consent(all))
        }
        // Answered before the session is asked for (`crate::handle`).
        PrivacyCommand::VerifyCanary { .. } => {
            Err(FlowError::Protocol("the canary is checked in the keys worker".into()))
        }
    }
}
