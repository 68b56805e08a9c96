//! The account page.

use leptos::prelude::*;
use plico_api::{AccountSettings, StorageUsage};

use super::keyring::KeyringPanel;
use crate::api_client::{self, ApiFailure};
use crate::i18n::{t, tf};
use crate::mail::{Shell, SignOutButton};
use crate::router::Link;
use crate::session::use_session;
use crate::ui::format::group_fingerprint;
use crate::ui::ErrorText;

#[component]
pub fn AccountPage() -> impl IntoView {
    let session = use_session();

    // The spam and virus checks: on, off, or not known yet (loading, or the load failed).
    let (analysis, set_analysis) = signal(None::<bool>);
    let (settings_note, set_settings_note) = signal(None::<String>);
    let (settings_error, set_settings_error) = signal(None::<String>);
    leptos::task::spawn_local(async move {
        match api_client::get_json::<AccountSettings>("/account/settings").await {
            Ok(settings) => set_analysis.set(Some(settings.mail_analysis)),
            Err(failure) => set_settings_error.set(Some(failure.message)),
        }
    });
    let change_analysis = move |on: bool| {
        let before = analysis.get_untracked();
        set_analysis.set(Some(on));
        set_settings_note.set(None);
        set_settings_error.set(None);
        leptos::task::spawn_local(async move {
            match api_client::send_json("PUT", "/account/settings", &AccountSettings { mail_analysis: on }).await {
                Ok(()) => set_settings_note.set(Some(if on {
                    t("Saved: incoming mail is checked.")
                } else {
                    t("Saved: incoming mail is not analysed.")
                })),
                Err(failure) => {
                    set_analysis.set(before);
                    set_settings_error.set(Some(failure.message));
                }
            }
        });
    };

    let (usage, set_usage) = signal(None::<Result<StorageUsage, ApiFailure>>);
    leptos::task::spawn_local(async move {
        crate::ui::set_alive(set_usage, Some(api_client::get_json::<StorageUsage>("/account/usage").await));
    });

    view! {
        <Shell>
            <section class="account" aria-labelledby="account-title">
                <h1 id="account-title">{t("Account")}</h1>
                <div class="panel">
                    <h2>{t("Your address")}</h2>
                    <p class="address">{move || session.identity.get().map(|identity| identity.address)}</p>
                    <h2>{t("Your encryption key")}</h2>
                    <p class="muted">{t("Compare this fingerprint with the one your contacts see to be sure you hold the same key.")}</p>
                    <p class="fingerprint" aria-label=t("Key fingerprint")>
                        {move || session.identity.get().map(|identity| group_fingerprint(&identity.fingerprint))}
                    </p>
                </div>
                <div class="panel">
                    <h2>{t("Storage")}</h2>
                    {move || match usage.get() {
                        None => view! { <p class="muted">{t("Loading…")}</p> }.into_any(),
                        Some(Err(failure)) => view! { <p class="error" role="alert">{failure.message}</p> }.into_any(),
                        Some(Ok(usage)) => {
                            let used = crate::ui::human_size(usage.used_bytes);
                            let quota = crate::ui::human_size(usage.quota_bytes);
                            let full = usage.used_bytes >= usage.quota_bytes;
                            let words = tf("{used} of {quota} used", &[("used", &used), ("quota", &quota)]);
                            view! {
                                <meter class="storage-meter" min="0" max=usage.quota_bytes.to_string()
                                    low=(usage.quota_bytes / 10 * 8).to_string() high=(usage.quota_bytes / 20 * 19).to_string()
                                    optimum="0" value=usage.used_bytes.to_string() aria-label=words.clone()></meter>
                                <p class="muted">{words}</p>
                                {full.then(|| view! {
                                    <p class="error" role="alert">{t("Your mailbox is full: new mail waits with its sender, and you cannot send or save until you make room. Delete mail and empty the Trash; deleted mail counts until it is purged.")}</p>
                                })}
                            }.into_any()
                        }
                    }}
                    <p class="muted">{t("Every message counts, with its attachments, in every folder, the Trash and the recovery area.")}</p>
                </div>
                <div class="panel">
                    <h2>{t("Spam and virus checks")}</h2>
                    <p class="muted">{t("Mail from other servers arrives unencrypted. With checks on, Plico reads it in memory before encrypting it to your key, to file spam in Spam and refuse viruses; it keeps nothing it read. With checks off, it is encrypted untouched and all of it goes to your Inbox.")}</p>
                    <label class="toggle">
                        <input type="checkbox" prop:checked=move || analysis.get().unwrap_or(false)
                            disabled=move || analysis.get().is_none()
                            on:change=move |event| change_analysis(event_target_checked(&event))/>
                        {t("Check incoming mail for spam and viruses")}
                    </label>
                    <p class="muted" role="status" aria-live="polite">{move || settings_note.get()}</p>
                    <ErrorText message=settings_error/>
                </div>
                <KeyringPanel/>
                <super::lifecycle::PrivacyPanel/>
                <super::transfer::ExportPanel/>
                <super::transfer::ImportPanel/>
                <div class="panel">
                    <h2>{t("Security")}</h2>
                    <p class="muted">{t("Two-step verification, recovery codes, your password, the sessions signed in to your account, the recovery address, and the login history.")}</p>
                    <Link href="/settings" class="button secondary">{t("Security settings")}</Link>
                </div>
                <div class="panel">
                    <h2>{t("This device")}</h2>
                    <p class="muted">{t("So that your mailbox opens at once, this browser keeps a copy of your message list, encrypted under your key: only you, signed in, can read it. On a shared or borrowed computer, sign out and forget this device to delete it.")}</p>
                    <SignOutButton forget=true/>
                </div>
                <super::lifecycle::ClosePanel/>
            </section>
        </Shell>
    }
}
