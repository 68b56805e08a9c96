//! Signing in and out ([`SessionCommand`]) and the unlocked session the other features use.

use std::cell::RefCell;
use std::rc::Rc;

use plico_api::security::SecondFactorKind;
use plico_api::worker::{SessionCommand, UnlockedIdentity, WorkerEvent, WorkerOutcome, WorkerStage};
use plico_client::flows::{SignInOptions, SignInStep};
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

thread_local! {
    /// A sign-in waiting for its second factor, with what it does once finished.
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

struct Pending {
    sign_in: plico_client::flows::PendingSignIn,
    password: String,
    keep_offline: bool,
}

/// How a sign-in went: unlocked (online or offline), or waiting for a second factor.
enum SignIn {
    Unlocked(Box<UnlockedSession>, bool),
    SecondFactor(Vec<SecondFactorKind>, Option<String>, String),
}

/// Keeps (or deletes) this device's own way in after an online sign-in, once the answer is out.
fn keep_device(signed_in: plico_client::SignedIn, password: String, keep_offline: bool) -> UnlockedSession {
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
    session
}

/// Signs in with the server; without it, from this device's own way in if the user kept one.
async fn sign_in(
    address: String,
    password: String,
    options: SignInOptions,
    keep_offline: bool,
    progress: impl Fn(WorkerStage),
) -> Result<SignIn, FlowError> {
    match plico_client::flows::sign_in_steps(&FetchTransport, &address, &password, options, &progress).await {
        Ok(SignInStep::Done(signed_in)) => {
            Ok(SignIn::Unlocked(Box::new(keep_device(*signed_in, password, keep_offline)), false))
        }
        Ok(SignInStep::SecondFactor(sign_in)) => {
            let methods = sign_in.required.methods.clone();
            let passkey_options = sign_in.required.passkey_options.clone();
            let pending_id = sign_in.required.pending_id.clone();
            PENDING.with(|slot| *slot.borrow_mut() = Some(Pending { sign_in, password, keep_offline }));
            Ok(SignIn::SecondFactor(methods, passkey_options, pending_id))
        }
        Err(FlowError::Network(reason)) if !options.reopen => match offline::device_unlock(&address).await {
            Some(record) => {
                progress(WorkerStage::StretchingPassword);
                plico_client::device_unlock::unlock(&address, &password, &record)
                    .map(|session| SignIn::Unlocked(Box::new(session), true))
            }
            None => Err(FlowError::Network(reason)),
        },
        Err(error) => Err(error),
    }
}

/// Finishes the sign-in waiting for its second factor. It keeps waiting after a wrong code,
/// and is forgotten once the server says it is over.
async fn second_factor(kind: SecondFactorKind, code: String) -> Result<UnlockedSession, FlowError> {
    let Some(pending) = PENDING.with(|slot| slot.borrow_mut().take()) else {
        return Err(FlowError::Api {
            status: 404,
            code: "second_factor_expired".into(),
            message: "No sign-in is waiting for a second factor: sign in again.".into(),
        });
    };
    match plico_client::flows::finish_second_factor(&FetchTransport, &pending.sign_in, kind, &code).await {
        Ok(signed_in) => Ok(keep_device(signed_in, pending.password, pending.keep_offline)),
        Err(error) => {
            if error.code() != "second_factor_expired" && !error.to_string().contains("last try") {
                PENDING.with(|slot| *slot.borrow_mut() = Some(pending));
            }
            Err(error)
        }
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

/// The server said this session was revoked (from another device, or by a password change):
/// everything this device keeps goes, as "forget this device" does, before the answer reaches
/// the page.
pub async fn revoked() {
    forget_secrets().await;
    offline::lock().await;
    search::close().await;
    if let Err(error) = mailbox::forget().await {
        web_sys::console::error_1(&format!("the revoked session's data could not be deleted: {error}").into());
    }
}

/// Forgets every secret held in memory.
async fn forget_secrets() {
    SESSION.with(|session| session.borrow_mut().take());
    PENDING.with(|pending| pending.borrow_mut().take());
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
        SessionCommand::Login { address, password, reopen, keep_offline, keep_signed_in } => {
            let options = SignInOptions { reopen, keep_signed_in };
            match Box::pin(sign_in(address, password, options, keep_offline, progress)).await? {
                SignIn::Unlocked(session, offline) => Ok(unlocked(*session, offline)),
                SignIn::SecondFactor(methods, passkey_options, pending_id) => {
                    Ok(WorkerOutcome::SecondFactorRequired { methods, passkey_options, pending_id })
                }
            }
        }
        SessionCommand::Reauthenticate { password } => {
            let address = current().ok_or_else(locked)?.account.address.clone();
            Box::pin(plico_client::flows::reauthenticate(&FetchTransport, &address, &password)).await?;
            Ok(WorkerOutcome::Reauthenticated)
        }
        SessionCommand::ChangePassword { password, sign_out_others } => {
            let session = current().ok_or_else(locked)?;
            let export_key =
                Box::pin(crate::keys_worker::change_password(id, &session, password.clone(), sign_out_others)).await?;
            // A device that keeps its own way in offline keeps it under the new password.
            let address = session.account.address.clone();
            if offline::device_unlock(&address).await.is_some() {
                let record = plico_client::device_unlock::record(&password, &export_key, &session.account).ok();
                offline::set_device_unlock(&address, record).await;
            }
            Ok(WorkerOutcome::Reauthenticated)
        }
        SessionCommand::AccountKeys(command) => {
            let session = current().ok_or_else(locked)?;
            let address = session.account.address.clone();
            let keep_device = offline::device_unlock(&address).await.is_some();
            let changed = Box::pin(crate::keys_worker::change_keys(id, &session, command, keep_device)).await?;
            if let Some((new, record)) = changed {
                // A device that keeps its own way in offline keeps it for the new keyring.
                if keep_device {
                    offline::set_device_unlock(&address, record).await;
                }
                SESSION.with(|slot| *slot.borrow_mut() = Some(Rc::new(new)));
            }
            Ok(WorkerOutcome::Reauthenticated)
        }
        SessionCommand::SecondFactor { kind, code } => {
            Box::pin(second_factor(kind, code)).await.map(|session| unlocked(session, false))
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
