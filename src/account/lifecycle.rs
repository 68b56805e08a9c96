//! The account page's panels for the account's life: the recovery address (set, confirm with
//! the mailed code, remove), what Plico holds, and closing the account.

use leptos::prelude::*;
use plico_api::privacy::{ClosedAccount, ConfirmRecoveryAddress, RecoveryAddress, SetRecoveryAddress};
use plico_api::worker::SessionCommand;

use crate::api_client::{self, ApiFailure};
use crate::i18n::{t, tf};
use crate::router::Link;
use crate::session::use_session;
use crate::ui::format::local_date;
use crate::ui::ErrorText;

#[component]
pub fn RecoveryPanel() -> impl IntoView {
    let (state, set_state) = signal(None::<RecoveryAddress>);
    let (error, set_error) = signal(None::<String>);
    let address = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    leptos::task::spawn_local(async move {
        match api_client::get_json::<RecoveryAddress>("/account/recovery").await {
            Ok(recovery) => set_state.set(Some(recovery)),
            Err(failure) => set_error.set(Some(failure.message)),
        }
    });
    let answer = move |result: Result<RecoveryAddress, ApiFailure>| match result {
        Ok(recovery) => {
            set_error.set(None);
            set_state.set(Some(recovery));
        }
        Err(failure) => set_error.set(Some(failure.message)),
    };
    let save = move |value: Option<String>| {
        leptos::task::spawn_local(async move {
            let body = SetRecoveryAddress { address: value };
            answer(api_client::call_json("PUT", "/account/recovery", Some(&body)).await);
        })
    };
    let confirm = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let body = ConfirmRecoveryAddress { code: code.get_untracked() };
        leptos::task::spawn_local(async move {
            answer(api_client::call_json("POST", "/account/recovery/confirm", Some(&body)).await);
        });
    };
    view! {
        <div class="panel" id="recovery-panel">
            <h2>{t("Recovery address")}</h2>
            <p class="muted">{t("An address outside Plico for notices about this account (before an inactive account is suspended or deleted). It is confirmed with a code sent there.")}</p>
            {move || state.get().map(|recovery| match recovery.address {
                Some(current) => view! {
                    <p><span class="mono">{current}</span>" — "{if recovery.confirmed { t("confirmed") } else { t("not confirmed yet") }}</p>
                    {(!recovery.confirmed).then(|| view! {
                        <form class="inline-form" on:submit=confirm>
                            <label for="recovery-code">{t("Code from the message")}</label>
                            <input id="recovery-code" inputmode="numeric" autocomplete="one-time-code" prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                            <button type="submit" class="button secondary">{t("Confirm")}</button>
                        </form>
                    })}
                    <button type="button" class="button ghost" on:click=move |_| save(None)>{t("Remove")}</button>
                }.into_any(),
                None => view! {
                    <form class="inline-form" on:submit=move |event: leptos::ev::SubmitEvent| { event.prevent_default(); save(Some(address.get_untracked())); }>
                        <label for="recovery-address">{t("Address")}</label>
                        <input id="recovery-address" type="email" autocomplete="email" prop:value=move || address.get() on:input=move |ev| address.set(event_target_value(&ev))/>
                        <button type="submit" class="button secondary">{t("Save and send a code")}</button>
                    </form>
                }.into_any(),
            })}
            <ErrorText message=error/>
        </div>
    }
}

#[component]
pub fn PrivacyPanel() -> impl IntoView {
    let consent = crate::consent::use_consent();
    view! {
        <div class="panel">
            <h2>{t("Privacy")}</h2>
            <p><Link href="/account/data">{t("What Plico holds about you")}</Link>" · "<Link href="/privacy">{t("Privacy policy and consent receipts")}</Link></p>
            <button type="button" class="button secondary" on:click=move |_| consent.open_settings()>{t("Cookie settings")}</button>
        </div>
    }
}

#[component]
pub fn ClosePanel() -> impl IntoView {
    let session = use_session();
    let asking = RwSignal::new(false);
    let (error, set_error) = signal(None::<String>);
    let (closed, set_closed) = signal(None::<ClosedAccount>);
    let close = move |_| {
        leptos::task::spawn_local(async move {
            match api_client::call_json::<ClosedAccount>("POST", "/account/close", None).await {
                Ok(answer) => {
                    set_closed.set(Some(answer));
                    if let Ok(worker) = session.worker.with_value(|worker| worker.clone()) {
                        let _ = worker.call(SessionCommand::ForgetDevice, |_| {}).await;
                    }
                    session.identity.set(None);
                    session.remembered_address.set(None);
                }
                Err(failure) => set_error.set(Some(failure.message)),
            }
        });
    };
    view! {
        <div class="panel danger-zone">
            <h2>{t("Close your account")}</h2>
            <p class="muted">{t("Closing signs you out everywhere and stops all mail at once. You can reopen the account by signing in during the reopening period; after it, everything is deleted for good and nobody can take the address for a while.")}</p>
            {move || closed.get().map(|closed| view! {
                <p role="status">{tf("Closed. You can reopen it until {reopen}; it will be deleted on {purge}.", &[("reopen", &local_date(closed.reopen_until)), ("purge", &local_date(closed.purge_at))])}</p>
            })}
            {move || if asking.get() {
                view! {
                    <p role="alert"><strong>{t("Close this account now?")}</strong></p>
                    <button type="button" class="button danger" on:click=close>{t("Yes, close my account")}</button>
                    <button type="button" class="button ghost" on:click=move |_| asking.set(false)>{t("Keep it")}</button>
                }.into_any()
            } else {
                view! { <button type="button" class="button danger-ghost" on:click=move |_| asking.set(true)>{t("Close account…")}</button> }.into_any()
            }}
            <ErrorText message=error/>
        </div>
    }
}
