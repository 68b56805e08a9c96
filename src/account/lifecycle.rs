//! The account page's panels for the account's life: what Plico holds, and closing the account.
//! (The recovery address moved to the Settings app, beside the rest of security.)

use leptos::prelude::*;
use plico_api::privacy::ClosedAccount;
use plico_api::worker::SessionCommand;

use crate::api_client;
use crate::i18n::{t, tf};
use crate::router::Link;
use crate::session::use_session;
use crate::ui::format::local_date;
use crate::ui::ErrorText;

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
