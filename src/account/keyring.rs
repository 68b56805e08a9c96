//! The account page's keys of correspondents: the keyring's entries (kept on first use, from
//! mail, or imported), import of a pasted public key, and removal. The worker holds the keyring (sealed to the account's key on
//! the server); this view only lists and asks.

use leptos::prelude::*;
use plico_api::worker::KeysCommand;
use plico_api::worker::{KeyringEntry, KeyringSource, WorkerOutcome};

use super::model::describe_imported;
use crate::i18n::{t, tf};
use crate::session::use_session;
use crate::ui::format::group_fingerprint;
use crate::ui::ErrorText;

#[component]
pub fn KeyringPanel() -> impl IntoView {
    let session = use_session();
    let (entries, set_entries) = signal(None::<Vec<KeyringEntry>>);
    let (pasted, set_pasted) = signal(String::new());
    let (busy, set_busy) = signal(false);
    let (note, set_note) = signal(None::<String>);
    let (error, set_error) = signal(None::<String>);

    let ask = move |command: KeysCommand| async move {
        let worker = session.worker.with_value(|worker| worker.clone())?;
        worker.call(command, |_| {}).await.map_err(|failure| failure.message)
    };
    let reload = move || {
        leptos::task::spawn_local(async move {
            match ask(KeysCommand::Keyring).await {
                Ok(WorkerOutcome::Keyring(list)) => set_entries.set(Some(list)),
                Ok(_) => set_error.set(Some(t("The worker answered something unexpected."))),
                Err(message) => set_error.set(Some(message)),
            }
        })
    };
    reload();

    let import = move |_| {
        set_note.set(None);
        set_error.set(None);
        set_busy.set(true);
        let armored = pasted.get_untracked();
        leptos::task::spawn_local(async move {
            match ask(KeysCommand::ImportKey { armored }).await {
                Ok(WorkerOutcome::KeyImported(addresses)) => {
                    set_note.set(Some(describe_imported(&addresses)));
                    set_pasted.set(String::new());
                    reload();
                }
                Ok(_) => set_error.set(Some(t("The worker answered something unexpected."))),
                Err(message) => set_error.set(Some(message)),
            }
            set_busy.set(false);
        });
    };
    let verify = move |address: String, fingerprint: String| {
        set_note.set(None);
        set_error.set(None);
        leptos::task::spawn_local(async move {
            match ask(KeysCommand::VerifyKey { address: address.clone(), fingerprint }).await {
                Ok(WorkerOutcome::Keyring(list)) => {
                    set_entries.set(Some(list));
                    set_note.set(Some(tf("The key for {address} is marked verified.", &[("address", &address)])));
                }
                Ok(_) => set_error.set(Some(t("The worker answered something unexpected."))),
                Err(message) => set_error.set(Some(message)),
            }
        });
    };
    let remove = move |address: String| {
        set_note.set(None);
        set_error.set(None);
        leptos::task::spawn_local(async move {
            match ask(KeysCommand::RemoveKey { address: address.clone() }).await {
                Ok(_) => {
                    set_note.set(Some(tf("Forgot the key for {address}.", &[("address", &address)])));
                    reload();
                }
                Err(message) => set_error.set(Some(message)),
            }
        });
    };

    view! {
        <div class="panel">
            <h2 id="keyring-title">{t("Keys of your correspondents")}</h2>
            <p class="muted">{t("The first key you write to for an address is kept, and mail to it is encrypted to that key only: if the server or the network later offers another, Plico tells you and sends nothing until you choose. Keys also arrive with mail (Autocrypt) or are imported here; only you can read this list.")}</p>
            <p class="muted">{t("Compare a fingerprint with the one your correspondent sees on their account page, in person or by phone, then mark it verified.")}</p>
            {move || match entries.get() {
                None => view! { <p class="muted">{t("Loading…")}</p> }.into_any(),
                Some(list) if list.is_empty() => view! { <p class="empty-history">{t("No keys yet.")}</p> }.into_any(),
                Some(list) => view! {
                    <table class="login-history" aria-labelledby="keyring-title">
                        <thead><tr>
                            <th scope="col">{t("Address")}</th>
                            <th scope="col">{t("Fingerprint")}</th>
                            <th scope="col">{t("From")}</th>
                            <th scope="col">{t("Trust")}</th>
                            <th scope="col"><span class="visually-hidden">{t("Actions")}</span></th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|entry| {
                                let label = tf("Forget the key for {address}", &[("address", &entry.address)]);
                                let verify_label = tf("Mark verified the key for {address}: you compared its fingerprint with theirs", &[("address", &entry.address)]);
                                let address = entry.address.clone();
                                let to_verify = (entry.address.clone(), entry.fingerprint.clone());
                                let trust = if entry.verified {
                                    t("Verified")
                                } else {
                                    match entry.source {
                                        KeyringSource::Autocrypt => t("Unconfirmed"),
                                        KeyringSource::Imported => t("Chosen by you"),
                                        KeyringSource::Directory | KeyringSource::Wkd => t("Kept on first use"),
                                    }
                                };
                                view! {
                                    <tr>
                                        <td>{entry.address}</td>
                                        <td class="mono">{group_fingerprint(&entry.fingerprint)}</td>
                                        <td>{match entry.source {
                                            KeyringSource::Imported => t("Imported"),
                                            KeyringSource::Autocrypt => t("Their mail"),
                                            KeyringSource::Directory => t("Plico directory"),
                                            KeyringSource::Wkd => t("Their domain (WKD)"),
                                        }}</td>
                                        <td class:verified=entry.verified>{trust}</td>
                                        <td class="row-actions">
                                            {(!entry.verified).then(|| view! {
                                                <button type="button" class="button small ghost" aria-label=verify_label
                                                    on:click=move |_| verify(to_verify.0.clone(), to_verify.1.clone())>{t("Mark verified")}</button>
                                            })}
                                            <button type="button" class="button small ghost" aria-label=label
                                                on:click=move |_| remove(address.clone())>{t("Forget")}</button>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
            <label class="field" for="import-key">{t("Import a public key")}</label>
            <textarea id="import-key" class="key-paste" rows="4" spellcheck="false"
                placeholder="-----BEGIN PGP PUBLIC KEY BLOCK-----"
                prop:value=move || pasted.get()
                on:input=move |event| set_pasted.set(event_target_value(&event))></textarea>
            <button type="button" class="button" on:click=import
                disabled=move || busy.get() || pasted.with(|text| text.trim().is_empty())>{t("Import key")}</button>
            <p class="muted" role="status" aria-live="polite">{move || note.get()}</p>
            <ErrorText message=error/>
        </div>
    }
}
