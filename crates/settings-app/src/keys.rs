//! The account's keys: each with its fingerprint, creation date, algorithms and place (primary,
//! published beside it, retired, revoked), and the changes: a post-quantum key (RFC 9980) kept
//! beside the classical one, a new key in place of the primary (rotation), a key imported from
//! elsewhere, and the revocation of a key that is no longer primary. Each change asks for the
//! password, which the keys worker proves and seals the keyring under; nothing of it reaches
//! this page's server requests.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use plico_api::security::{AccountKey, AccountKeyState, AccountKeys, KeyCommand, KeyJob};
use wasm_bindgen::JsCast;

use crate::api;
use crate::history::local_time;
use crate::i18n::t;
use crate::views::{Page, WorkerCalls};

/// A fingerprint in groups of four, as people compare it.
fn grouped(fingerprint: &str) -> String {
    fingerprint
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn state_label(state: AccountKeyState) -> String {
    match state {
        AccountKeyState::Primary => t("Primary"),
        AccountKeyState::Published => t("Published"),
        AccountKeyState::Retired => t("Retired"),
        AccountKeyState::Revoked => t("Revoked"),
    }
}

fn reason_label(reason: &str) -> String {
    match reason {
        "compromised" => t("compromised"),
        "superseded" => t("superseded"),
        "retired" => t("no longer used"),
        _ => t("no reason given"),
    }
}

#[component]
pub fn KeysPanel(page: Page, worker: WorkerCalls) -> impl IntoView {
    let keys = RwSignal::new(None::<Vec<AccountKey>>);
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(None::<String>);
    let problem = RwSignal::new(None::<String>);
    let import_text = RwSignal::new(String::new());
    let passphrase = RwSignal::new(String::new());
    let load = move || {
        leptos::task::spawn_local(async move {
            match api::json::<AccountKeys>("GET", "/account/keys", None).await {
                Ok(loaded) => keys.set(Some(loaded.keys)),
                Err(failure) => page.error.set(Some(failure.message)),
            }
        });
    };
    load();
    let worker = StoredValue::new_local(worker);
    // Runs `job` with the password typed; `done` is the notice on success.
    let act = move |job: KeyJob, doing: String, done: String| {
        if busy.get_untracked().is_some() {
            return;
        }
        if password.get_untracked().is_empty() {
            problem.set(Some(t("Enter your password first: it seals your keys anew.")));
            return;
        }
        let Some(worker) = worker.try_get_value() else { return };
        busy.set(Some(doing));
        problem.set(None);
        leptos::task::spawn_local(async move {
            let command = KeyCommand { password: password.get_untracked(), job };
            let result = worker.keys(&command).await;
            busy.set(None);
            match result {
                Ok(()) => {
                    password.set(String::new());
                    import_text.set(String::new());
                    passphrase.set(String::new());
                    page.notice.set(Some(done));
                    load();
                }
                Err(failure) => problem.set(Some(failure.message)),
            }
        });
    };
    let on_import = move |event: SubmitEvent| {
        event.prevent_default();
        let armored = import_text.get_untracked().into_bytes();
        if armored.is_empty() {
            problem.set(Some(t("Choose the key file or paste the key first.")));
            return;
        }
        act(
            KeyJob::Import { armored, passphrase: passphrase.get_untracked() },
            t("Importing the key…"),
            t("The imported key is your primary key now."),
        );
    };
    let on_file = move |event: leptos::ev::Event| {
        let Some(input) = event.target().and_then(|target| target.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
        leptos::task::spawn_local(async move {
            if let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                import_text.set(text.as_string().unwrap_or_default());
            }
        });
    };
    let has_pq = move || {
        keys.get().is_some_and(|keys| keys.iter().any(|key| key.post_quantum && key.state != AccountKeyState::Revoked))
    };
    view! {
        <div class="panel" id="keys-panel">
            <h2>{t("Encryption keys")}</h2>
            <p class="muted">{t("Your primary key signs what you send and receives new mail. Keys it replaced stay here, so older mail stays readable. Each change asks for your password.")}</p>
            <ul class="key-list">
                {move || keys.get().unwrap_or_default().into_iter().map(|key| {
                    let fingerprint = key.fingerprint.clone();
                    let revocable = matches!(key.state, AccountKeyState::Published | AccountKeyState::Retired);
                    let reason = RwSignal::new(String::from("superseded"));
                    let revoke_fingerprint = fingerprint.clone();
                    view! {
                        <li class="key" data-state=format!("{:?}", key.state).to_lowercase()>
                            <div class="key-head">
                                <span class=format!("badge {}", format!("{:?}", key.state).to_lowercase())>{state_label(key.state)}</span>
                                {key.post_quantum.then(|| view! { <span class="badge pq">{t("Post-quantum")}</span> })}
                                <span class="muted">{format!("v{} · {}", key.version, key.algorithms)}</span>
                            </div>
                            <p class="mono fingerprint">{grouped(&fingerprint)}</p>
                            <p class="muted">{t("Created")}" "{local_time(key.created_at)}
                                {key.revocation_reason.clone().map(|reason| format!(" · {}: {}", t("Revoked"), reason_label(&reason)))}
                                {key.revocation_text.clone().filter(|text| !text.is_empty()).map(|text| format!(" (“{text}”)"))}
                            </p>
                            {revocable.then(|| view! {
                                <div class="inline-form">
                                    <label for=format!("reason-{fingerprint}")>{t("Reason")}</label>
                                    <select id=format!("reason-{fingerprint}") on:change=move |ev| reason.set(event_target_value(&ev))>
                                        <option value="superseded">{t("superseded")}</option>
                                        <option value="compromised">{t("compromised")}</option>
                                        <option value="retired">{t("no longer used")}</option>
                                    </select>
                                    <button type="button" class="button ghost revoke" on:click=move |_| act(
                                        KeyJob::Revoke { fingerprint: revoke_fingerprint.clone(), reason: reason.get_untracked(), text: String::new() },
                                        t("Revoking the key…"),
                                        t("The key is revoked. Correspondents who look it up learn of it."),
                                    )>{t("Revoke")}</button>
                                </div>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <label for="keys-password">{t("Your password")}</label>
            <input id="keys-password" type="password" autocomplete="current-password"
                prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
            <p class="field-error" role="alert">{move || problem.get()}</p>
            <p class="muted" role="status">{move || busy.get()}</p>
            <div class="actions">
                <button type="button" class="button primary" id="add-pq-key" hidden=has_pq disabled=move || busy.get().is_some()
                    on:click=move |_| act(KeyJob::PostQuantum, t("Making a post-quantum key…"), t("Your post-quantum key is primary now; your classical key stays published for software that cannot use it yet."))>
                    {t("Add a post-quantum key")}
                </button>
                <button type="button" class="button secondary" id="rotate-key" disabled=move || busy.get().is_some()
                    on:click=move |_| act(KeyJob::Rotate, t("Making a new key…"), t("Your new key is primary now. The old one is retired and still opens older mail."))>
                    {t("Replace the primary key")}
                </button>
            </div>
            <p class="muted">{t("A post-quantum key (ML-KEM-768 with X25519, ML-DSA-65 with Ed25519) protects mail against future quantum computers. Correspondents whose software cannot use it get your classical key.")}</p>
            <form id="import-key" on:submit=on_import>
                <h3>{t("Import a key")}</h3>
                <label for="import-file">{t("Secret key file")}</label>
                <input id="import-file" type="file" accept=".asc,.gpg,.key,.pgp,text/plain" on:change=on_file/>
                <label for="import-passphrase">{t("Its passphrase")}</label>
                <input id="import-passphrase" type="password" autocomplete="off"
                    prop:value=move || passphrase.get() on:input=move |ev| passphrase.set(event_target_value(&ev))/>
                <div class="actions">
                    <button type="submit" class="button secondary" disabled=move || busy.get().is_some()>{t("Import")}</button>
                </div>
            </form>
        </div>
    }
}
