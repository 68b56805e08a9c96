//! Correspondents' kept keys ([`KeysCommand`]): which addresses have one, the keyring,
//! importing and forgetting a key, and keeping the changed key a message carries.

use plico_api::worker::KeyringSource;
use plico_api::worker::{KeysCommand, WorkerOutcome};
use plico_client::keyring::KeySource;
use plico_client::mail;
use plico_client::{FlowError, UnlockedSession};

use crate::now;
use crate::transport::FetchTransport;

pub async fn handle(session: &UnlockedSession, command: KeysCommand) -> Result<WorkerOutcome, FlowError> {
    match command {
        KeysCommand::KnownKeys { addresses } => {
            Ok(WorkerOutcome::KnownKeys(mail::known_keys(&FetchTransport, session, &addresses, now()).await?))
        }
        KeysCommand::Keyring => {
            Ok(WorkerOutcome::Keyring(entries(plico_client::keyring::load(&FetchTransport, session).await?.0)))
        }
        KeysCommand::VerifyKey { address, fingerprint } => {
            let (keyring, _) = plico_client::keyring::update(&FetchTransport, session, &|keyring| {
                keyring.verify(&address, &fingerprint)
            })
            .await?;
            Ok(WorkerOutcome::Keyring(entries(keyring)))
        }
        KeysCommand::ImportKey { armored } => {
            let keys = plico_client::keyring::imported_keys(&armored, now()).map_err(FlowError::Invalid)?;
            plico_client::keyring::update(&FetchTransport, session, &|keyring| {
                // Every key is applied: no short circuit.
                let mut changed = false;
                for key in &keys {
                    changed |= keyring.upsert(key.clone());
                }
                changed
            })
            .await?;
            Ok(WorkerOutcome::KeyImported(keys.into_iter().map(|key| key.address).collect()))
        }
        KeysCommand::RemoveKey { address } => {
            plico_client::keyring::update(&FetchTransport, session, &|keyring| {
                let before = keyring.keys.len();
                keyring.keys.retain(|key| !key.address.eq_ignore_ascii_case(&address));
                keyring.keys.len() != before
            })
            .await?;
            Ok(WorkerOutcome::KeyRemoved)
        }
        KeysCommand::UseDirectoryKeys { addresses, keep_kept } => Ok(WorkerOutcome::KeyImported(
            mail::use_directory_keys(&FetchTransport, session, &addresses, keep_kept, now()).await?,
        )),
        KeysCommand::UseNewKey { message_id } => {
            let chosen = crate::mail::new_key_of(&message_id);
            let mut key =
                chosen.ok_or_else(|| FlowError::Protocol("Open the message again to choose its key.".into()))?;
            // The user's choice: kept as imported, so no Autocrypt header replaces it.
            key.source = plico_client::keyring::KeySource::Imported;
            key.updated_at = now();
            let address = key.address.clone();
            plico_client::keyring::update(&FetchTransport, session, &|keyring| keyring.upsert(key.clone())).await?;
            Ok(WorkerOutcome::KeyImported(vec![address]))
        }
    }
}

/// The keyring as the account page lists it, by address.
fn entries(keyring: plico_client::keyring::Keyring) -> Vec<plico_api::worker::KeyringEntry> {
    let mut entries: Vec<plico_api::worker::KeyringEntry> = keyring
        .keys
        .into_iter()
        .map(|key| plico_api::worker::KeyringEntry {
            address: key.address,
            fingerprint: key.fingerprint,
            source: match key.source {
                KeySource::Autocrypt => KeyringSource::Autocrypt,
                KeySource::Imported => KeyringSource::Imported,
                KeySource::Directory => KeyringSource::Directory,
                KeySource::Wkd => KeyringSource::Wkd,
            },
            updated_at: key.updated_at,
            verified: key.verified,
        })
        .collect();
    entries.sort_by(|a, b| a.address.cmp(&b.address));
    entries
}
