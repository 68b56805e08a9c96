//! Contacts, seen from the crypto worker: the work is the contacts worker's (`plico-contacts`,
//! started the first time contacts are used). This worker hands it the account's item key once
//! and then passes each command's bytes on unread, so the contacts protocol
//! (`plico_api::contacts`) grows without growing this worker.

use std::cell::RefCell;
use std::rc::Rc;

use plico_api::contacts::{
    ContactsKey, EXPORT_TAG, EXPORT_WITH_KEYS_TAG, FIND_KEY_TAG, INDEX_OUTCOME_TAG, INDEX_TAG, KEYS_OUTCOME_TAG,
    KEYS_TAG, LOOKED_UP_TAG, LOOK_UP_KEY_TAG, VERIFY_KEY_TAG,
};
use plico_api::worker::{KeysCommand, WorkerOutcome};
use plico_client::{keyring, FlowError, UnlockedSession};

use crate::nested::{varint, Nested};
use crate::transport::FetchTransport;

use plico_api::contacts::WORKER_URL as CONTACTS_URL;

thread_local! {
    static CONTACTS: RefCell<Option<Rc<Nested>>> = const { RefCell::new(None) };
}

async fn running(session: &UnlockedSession) -> Result<Rc<Nested>, FlowError> {
    if let Some(inner) = CONTACTS.with(|slot| slot.borrow().clone()).filter(|inner| !inner.stopped()) {
        return Ok(inner);
    }
    let secret = keyring::item_secret(&FetchTransport, session).await?;
    let inner = Nested::spawn(CONTACTS_URL, "plico-contacts", "contacts worker").map_err(FlowError::Protocol)?;
    let device = plico_client::cache::device_key(session).map(|key| key.subkey("contacts").to_vec().into());
    let key = ContactsKey { id: 0, account: session.account.address.clone(), secret, device };
    inner.tell(postcard::to_allocvec(&key).map_err(|error| FlowError::Protocol(error.to_string()))?);
    CONTACTS.with(|slot| *slot.borrow_mut() = Some(Rc::clone(&inner)));
    Ok(inner)
}

/// Signing out: the contacts worker stops, and with it the item key and every opened contact.
pub fn forget() {
    if let Some(inner) = CONTACTS.with(|slot| slot.borrow_mut().take()) {
        inner.terminate();
    }
}

fn protocol(error: postcard::Error) -> FlowError {
    FlowError::Protocol(error.to_string())
}

/// Brings this device's search index up to the contacts, before a search: the contacts worker
/// writes the search commands (`ContactsCommand::IndexDocs`), this worker hands them on in order.
/// Contacts that cannot be read now (offline, locked) leave the index as it is. The index keeps
/// the contacts it was given in earlier sessions (sealed, on this device) until the next update.
/// Only a contacts worker this session already started is asked (the Contacts app or the
/// composer started it): a search does not load the contacts worker's code by itself.
pub async fn index(session: &UnlockedSession) {
    if CONTACTS.with(|slot| slot.borrow().as_ref().is_none_or(|inner| inner.stopped())) {
        return;
    }
    let Ok(reply) = ask(session, vec![INDEX_TAG]).await else { return };
    // Read by hand, to keep this worker small: the reply's id, `Ok` (0), the outcome's tag, how
    // many commands, and each as its length and bytes (postcard's `Vec<ByteBuf>`).
    let Some((_, [0, INDEX_OUTCOME_TAG, rest @ ..])) = varint(&reply) else { return };
    let Some((count, mut rest)) = varint(rest) else { return };
    for _ in 0..count {
        let Some((length, after)) = varint(rest) else { return };
        let Some((command, after)) = after.split_at_checked(length as usize) else { return };
        crate::search::ask_raw(command).await;
        rest = after;
    }
}

/// The key `address`'s domain publishes (WKD), as the contacts worker looked it up: from the
/// browser straight when the domain's CORS allows, else through the server
/// (`ContactsCommand::LookUpKey`). This worker, which holds the account's secret key, makes no
/// request outside its own origin.
pub async fn look_up(session: &UnlockedSession, address: &str) -> Result<Option<Vec<u8>>, String> {
    // postcard's string, by hand: its length as a varint, then its bytes.
    let mut command = vec![LOOK_UP_KEY_TAG];
    let mut length = address.len();
    while length >= 0x80 {
        command.push(length as u8 | 0x80);
        length >>= 7;
    }
    command.push(length as u8);
    command.extend_from_slice(address.as_bytes());
    let reply = ask(session, command).await.map_err(|error| error.to_string())?;
    // Read by hand: the id, `Ok` (0) and the outcome's tag, then postcard's `Option<bytes>`; or
    // `Err` (1) and its sentence. Bytes and a string are both a length and the bytes.
    let bytes = |rest| varint(rest).and_then(|(length, bytes): (u32, &[u8])| bytes.get(..length as usize));
    match varint(&reply).map(|(_, rest)| rest) {
        Some([0, LOOKED_UP_TAG, 0]) => Some(Ok(None)),
        Some([0, LOOKED_UP_TAG, 1, rest @ ..]) => bytes(rest).map(|key| Ok(Some(key.to_vec()))),
        Some([1, rest @ ..]) => bytes(rest).map(|why| Err(String::from_utf8_lossy(why).into_owned())),
        _ => None,
    }
    .unwrap_or_else(|| Err("unreadable answer".to_owned()))
}

/// Passes command bytes to the contacts worker, under this channel's next id, and answers with
/// its reply's bytes.
async fn ask(session: &UnlockedSession, command: Vec<u8>) -> Result<Vec<u8>, FlowError> {
    let worker = running(session).await?;
    let id = worker.next_id();
    let mut request = postcard::to_allocvec(&id).map_err(protocol)?;
    request.extend_from_slice(&command);
    worker.ask(id, request).await.map_err(FlowError::Protocol)
}

/// Passes one `ContactsCommand` (postcard bytes) to the contacts worker, as a
/// `ContactsRequest` under this channel's id, and answers with its reply's bytes.
pub async fn handle(session: &UnlockedSession, command: Vec<u8>) -> Result<WorkerOutcome, FlowError> {
    // The two key commands are this worker's: the keyring is sealed to the account's OpenPGP key.
    let keys = match command.first() {
        Some(&KEYS_TAG) => Some(KeysCommand::Keyring),
        Some(&VERIFY_KEY_TAG) => {
            let (address, fingerprint) = postcard::from_bytes(&command[1..]).map_err(protocol)?;
            Some(KeysCommand::VerifyKey { address, fingerprint })
        }
        Some(&FIND_KEY_TAG) => {
            let address: String = postcard::from_bytes(&command[1..]).map_err(protocol)?;
            plico_client::mail::known_keys(&FetchTransport, session, &[address], crate::now()).await?;
            Some(KeysCommand::Keyring)
        }
        _ => None,
    };
    if let Some(keys) = keys {
        // The reply as the contacts worker would write it: id 0, `Ok`, the outcome, the entries.
        // A failure goes back as the call's error.
        let mut reply = vec![0, 0, KEYS_OUTCOME_TAG];
        if let WorkerOutcome::Keyring(entries) = crate::keys::handle(session, keys).await? {
            reply.extend(postcard::to_allocvec(&entries).map_err(protocol)?);
        }
        return Ok(WorkerOutcome::Contacts(reply));
    }
    // An export carries the keyring's keys, which only this worker can read, as vCard `KEY`s.
    let command = match command.first() {
        Some(&EXPORT_TAG) => {
            let (mut keyring, _) = keyring::load(&FetchTransport, session).await?;
            // The contacts worker has its own copy of the item secret; the keys are what it needs.
            keyring.item_secret = None;
            let json = serde_json::to_vec(&keyring).map_err(|error| FlowError::Protocol(error.to_string()))?;
            let mut spliced = vec![EXPORT_WITH_KEYS_TAG];
            spliced.extend_from_slice(&command[1..]);
            // postcard's string: its length, then its bytes.
            spliced.extend(postcard::to_allocvec(&json.len()).map_err(protocol)?);
            spliced.extend(json);
            spliced
        }
        _ => command,
    };
    Ok(WorkerOutcome::Contacts(ask(session, command).await?))
}
