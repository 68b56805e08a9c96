//! The recovery address: an address outside Plico for the account's notices (inactivity,
//! closure, policy changes). Setting, replacing or removing it asks
//! for the password again (a browser left open must not be enough to move it); it counts once
//! confirmed with the code mailed to it, and a confirmed address hears when it is replaced.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use plico_api::privacy::RecoveryAddress;

use crate::api;
use crate::i18n::t;
use crate::views::{change, run, Page};

#[component]
pub fn RecoveryAddressPanel(page: Page) -> impl IntoView {
    let state = RwSignal::new(None::<RecoveryAddress>);
    let address = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    leptos::task::spawn_local(async move {
        match api::json::<RecoveryAddress>("GET", "/account/recovery", None).await {
            Ok(loaded) => state.set(Some(loaded)),
            Err(failure) => page.error.set(Some(failure.message)),
        }
    });
    // One change saves the address typed, the other removes it; each may wait for the password.
    let set = move |remove: bool| {
        change(page, move || async move {
            let value = (!remove).then(|| address.get_untracked().trim().to_owned());
            let body = serde_json::json!({ "address": value });
            let saved = api::json::<RecoveryAddress>("PUT", "/account/recovery", Some(body)).await?;
            address.set(String::new());
            code.set(String::new());
            page.notice.set(Some(if saved.code_sent {
                t("A code is on its way to that address. Enter it here to confirm the address.")
            } else if saved.address.is_none() {
                t("The recovery address is removed.")
            } else {
                t("The recovery address is saved.")
            }));
            state.set(Some(saved));
            Ok(())
        })
    };
    let save = set(false);
    let remove = set(true);
    let on_save = move |event: SubmitEvent| {
        event.prevent_default();
        run(save);
    };
    let confirm = change(page, move || async move {
        let body = serde_json::json!({ "code": code.get_untracked().trim() });
        let confirmed = api::json::<RecoveryAddress>("POST", "/account/recovery/confirm", Some(body)).await?;
        code.set(String::new());
        page.notice.set(Some(t("The recovery address is confirmed.")));
        state.set(Some(confirmed));
        Ok(())
    });
    let on_confirm = move |event: SubmitEvent| {
        event.prevent_default();
        run(confirm);
    };
    view! {
        <div class="panel" id="recovery-panel">
            <h2>{t("Recovery address")}</h2>
            <p class="muted">{t("An address outside Plico for notices about this account (before an inactive account is suspended or deleted, when it is closed, when the policy changes). It never opens your mail. It counts once confirmed with a code sent there.")}</p>
            {move || state.get().map(|recovery| match recovery.address {
                Some(current) => view! {
                    <p class="status" id="recovery-status"><span class="mono">{current}</span>" — "
                        {if recovery.confirmed { t("confirmed") } else { t("not confirmed yet") }}</p>
                    {(!recovery.confirmed).then(|| view! {
                        <form class="inline-form" on:submit=on_confirm>
                            <label for="recovery-code">{t("Code from the message")}</label>
                            <input id="recovery-code" inputmode="numeric" autocomplete="one-time-code" maxlength="8"
                                prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                            <button type="submit" class="button secondary">{t("Confirm")}</button>
                        </form>
                    })}
                    <div class="actions">
                        <button type="button" class="button ghost" id="recovery-remove" on:click=move |_| run(remove)>{t("Remove")}</button>
                    </div>
                }.into_any(),
                None => view! {
                    <form class="inline-form" on:submit=on_save>
                        <label for="recovery-address">{t("Address")}</label>
                        <input id="recovery-address" type="email" autocomplete="email"
                            prop:value=move || address.get() on:input=move |ev| address.set(event_target_value(&ev))/>
                        <button type="submit" class="button secondary">{t("Save and send a code")}</button>
                    </form>
                }.into_any(),
            })}
        </div>
    }
}
