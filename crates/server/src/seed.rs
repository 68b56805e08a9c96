//! `plico seed`: fills an account's Inbox with encrypted messages, for the mailbox-load benchmark
//! and for trying the app with a full mailbox. Everything is encrypted to the account's published
//! key, exactly as mail arriving from outside will be: the server never writes plaintext.
//!
//! The messages share one PGP/MIME blob (the list needs only the summaries); each has its own
//! sealed summary and received time, one minute apart, newest now.

use plico_api::mail::FolderRole;
use plico_mime::{Draft, Mailbox, OuterHeaders, Summary};

use crate::AppState;

/// Seeds `count` messages into the Inbox of the account called `name`.
pub async fn seed(state: &AppState, name: &str, count: usize) -> Result<(), String> {
    let account = state
        .store
        .account_by_name(name)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("there is no account called {name}"))?;
    let cert = plico_pgp::parse_cert(&account.public_cert).map_err(|e| e.to_string())?;
    let now = state.clock.now();
    let sender = Mailbox::new(Some("Plico seed"), &format!("seed@{}", state.config.domain));
    let draft = Draft {
        from: Some(sender.clone()),
        to: vec![Mailbox::new(None, &account.address)],
        subject: "Seeded message".into(),
        text: "This message was made by plico seed.".into(),
        message_id: format!("seed.{now}@{}", state.config.domain),
        date: now,
        ..Draft::default()
    };
    let inner = plico_mime::compose_inner(&draft).map_err(|e| e.to_string())?;
    let armored =
        String::from_utf8(plico_pgp::encrypt_to(&inner, std::slice::from_ref(&cert)).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let outer = OuterHeaders {
        from: draft.from.clone(),
        to: draft.to.clone(),
        cc: Vec::new(),
        message_id: draft.message_id.clone(),
        date: now,
        autocrypt: None,
    };
    let message = plico_mime::wrap_pgp_mime(&outer, &armored).map_err(|e| e.to_string())?;
    let hash = state.blobs.put(&message).map_err(|e| e.to_string())?;
    state.store.record_blob(&hash, message.len() as u64, now, account.id).await.map_err(|e| e.to_string())?;

    let mut entries = Vec::with_capacity(count);
    for n in 0..count {
        let received_at = now - 60 * n as i64;
        let summary = Summary {
            subject: format!("Seeded message {n}"),
            from: Some(sender.clone()),
            date: Some(received_at),
            snippet: format!("Message {n} of {count}, made by plico seed to fill a mailbox."),
            has_attachments: false,
            message_id: Some(format!("seed.{now}.{n}@{}", state.config.domain)),
            in_reply_to: Vec::new(),
            references: Vec::new(),
            authentication_results: None,
            blob: None,
        };
        let json = serde_json::to_vec(&summary).map_err(|e| e.to_string())?;
        let sealed = plico_pgp::encrypt_to(&json, std::slice::from_ref(&cert)).map_err(|e| e.to_string())?;
        entries.push((sealed, received_at));
    }
    for chunk in entries.chunks(1000) {
        state
            .store
            .file_many(account.id, FolderRole::Inbox, &hash, message.len() as u64, chunk)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
