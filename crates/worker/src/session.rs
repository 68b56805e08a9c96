//! Signing in and out ([`SessionCommand`]) and the unlocked session the other features use.

use std::cell::RefCell;
use std::rc::Rc;

use plico_api::worker::{SessionCommand, UnlockedIdentity, WorkerEvent, WorkerOutcome, WorkerStage};
use plico_client::{FlowError, UnlockedSession};

use crate::transport::FetchTransport;
use crate::{contacts, mail, mailbox, offline, post, render, search, transfer};

thread_local! {
    /// Shared, so a command keeps its session while it runs; Lock drops the slot's copy at once
    /// and the last in-flight command drops the rest.
    static SESSION: RefCell<Option<Rc<UnlockedSession>>> = const { RefCell::new(None) };
}

/// The unlocked session, if any.
pub fn current() -> Option<Rc<UnlockedSession>> {
    SESSION.with(|slot| slot.borrow().clone())
}

pub fn locked() -> FlowError {
    FlowError::Crypto("Your keys are locked; sign in again.".into())
}

fn identity(session: &UnlockedSession, offline: bool) -> WorkerOutcome {
    WorkerOutcome::Unlocked(UnlockedIdentity {
        address: session.account.address.clone(),
        fingerprint: session.account.fingerprint.clone(),
        offline,
    })
}

/// Signs in with the server; without it, from this device's own way in if the user kept one.
/// Returns the session and whether it was unlocked offline.
async fn sign_in(
    address: String,
    password: String,
    reopen: bool,
    keep_offline: bool,
    progress: impl Fn(WorkerStage),
) -> Result<(UnlockedSession, bool), FlowError> {
    match plico_client::sign_in(&FetchTransport, &address, &password, reopen, &progress).await {
        Ok(signed_in) => {
            let session = signed_in.session;
            let account = session.account.clone();
            // After the answer, so sign-in does not wait on a second Argon2id.
            wasm_bindgen_futures::spawn_local(async move {
                // Unticked, or a record that could not be made: this device keeps none.
                let record = match keep_offline {
                    false => None,
                    true => match plico_client::device_unlock::record(&password, &signed_in.export_key, &account) {
                        Ok(record) => Some(record),
                        Err(error) => {
                            web_sys::console::warn_1(&format!("offline sign-in not kept: {error}").into());
                            None
                        }
                    },
                };
                offline::set_device_unlock(&account.address, record).await;
            });
            Ok((session, false))
        }
        Err(FlowError::Network(reason)) if !reopen => match offline::device_unlock(&address).await {
            Some(record) => {
                progress(WorkerStage::StretchingPassword);
                plico_client::device_unlock::unlock(&address, &password, &record).map(|session| (session, true))
            }
            None => Err(FlowError::Network(reason)),
        },
        Err(error) => Err(error),
    }
}

/// Keeps a new session and starts what the signed-in pages need next.
fn unlocked(session: UnlockedSession, offline: bool) -> WorkerOutcome {
    let outcome = identity(&session, offline);
    mailbox::unlocked(plico_client::cache::device_key(&session));
    let session = Rc::new(session);
    SESSION.with(|slot| *slot.borrow_mut() = Some(Rc::clone(&session)));
    // After the answer is posted: the search index opens while the first screen loads, and the
    // render worker starts loading (mail is next).
    wasm_bindgen_futures::spawn_local(async move {
        render::warm_up();
        search::open(&session).await
    });
    outcome
}

/// Forgets every secret held in memory.
async fn forget_secrets() {
    SESSION.with(|session| session.borrow_mut().take());
    mail::forget();
    transfer::forget();
    contacts::forget();
    crate::transport::forget();
}

pub async fn handle(id: u32, command: SessionCommand) -> Result<WorkerOutcome, FlowError> {
    let progress = move |stage| post(&WorkerEvent::Progress { id, stage });
    match command {
        SessionCommand::Signup { name, password, recovery_address } => {
            Box::pin(crate::keys_worker::signup(id, name, password, recovery_address))
                .await
                .map(|session| unlocked(session, false))
        }
        SessionCommand::Login { address, password, reopen, keep_offline } => {
            Box::pin(sign_in(address, password, reopen, keep_offline, progress))
                .await
                .map(|(session, offline)| unlocked(session, offline))
        }
        SessionCommand::DeviceKept { address } => {
            Ok(WorkerOutcome::DeviceKept(offline::device_unlock(&address).await.is_some()))
        }
        SessionCommand::Lock => {
            forget_secrets().await;
            search::close().await;
            offline::lock().await;
            mailbox::lock().await;
            Ok(WorkerOutcome::Locked)
        }
        SessionCommand::ForgetDevice => {
            forget_secrets().await;
            offline::lock().await;
            // The index lives in the database `forget` deletes; its worker lets go first.
            search::close().await;
            mailbox::forget().await.map(|()| WorkerOutcome::Locked).map_err(|message| FlowError::Api {
                status: 0,
                code: "local_storage".into(),
                message,
            })
        }
    }
}
