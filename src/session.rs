//! The signed-in session every feature reads: who is signed in, what the server said about
//! itself, and the crypto worker. Provided at the root ([`crate::session::App`]); a feature reads it
//! with [`use_session`] and keeps its own state in a context of its own (mail's is
//! [`crate::mail::Mail`]), so no feature imports the app root or another feature's state.

use leptos::prelude::*;
use plico_api::worker::UnlockedIdentity;

use crate::worker_client::WorkerClient;

/// What every page may need.
#[derive(Clone, Copy)]
pub struct Session {
    /// The unlocked identity; `None` until sign-in, and again after sign-out.
    pub identity: RwSignal<Option<UnlockedIdentity>>,
    /// The mail domain, from the server.
    pub domain: RwSignal<String>,
    /// The largest attachment the server takes, from the server.
    pub max_attachment_bytes: RwSignal<u64>,
    /// The address of a still-valid session cookie, to prefill sign-in after a reload.
    pub remembered_address: RwSignal<Option<String>>,
    /// The crypto worker; it lives on this thread, so it is stored locally.
    pub worker: StoredValue<Result<WorkerClient, String>, LocalStorage>,
}

impl Session {
    /// A signed-out session with a new crypto worker, provided as context.
    pub fn provide() -> Session {
        let session = Session {
            identity: RwSignal::new(None),
            domain: RwSignal::new(String::new()),
            max_attachment_bytes: RwSignal::new(25 * 1024 * 1024),
            remembered_address: RwSignal::new(None),
            worker: StoredValue::new_local(WorkerClient::spawn()),
        };
        provide_context(session);
        session
    }
}

/// The session context. Every page is rendered inside the root, which provides it.
pub fn use_session() -> Session {
    use_context::<Session>().unwrap_or_else(|| panic!("Session context is provided by App"))
}

/// The server ended this session from elsewhere (revoked, or a password change): the worker
/// has already forgotten the keys and deleted this device's copy. The dead cookie goes (sign-out
/// clears it), and the page loads again at sign-in, which says why, so nothing of the account
/// stays in this page's memory either.
pub fn ended() {
    leptos::task::spawn_local(async {
        let _ = crate::api_client::send("POST", "/logout").await;
        if let Some(window) = web_sys::window() {
            let _ = window.location().replace("/login?ended");
        }
    });
}
