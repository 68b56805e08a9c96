//! The sign-up and sign-in screens.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use plico_api::security::SecondFactorKind;
use plico_api::worker::SessionCommand;
use plico_api::worker::{WorkerOutcome, WorkerStage};

use super::model::SignupForm;
use crate::i18n::{t, tf};
use crate::router::{use_navigator, Link};
use crate::session::{use_session, Session};
use crate::ui::{Brand, ErrorText, StageProgress};

/// What a sign-in waiting for its second factor takes: the kinds, with a passkey among them the
/// options for the browser, and the pending sign-in's id (for a reset).
type Waiting = (Vec<SecondFactorKind>, Option<String>, String);

/// Runs a sign-up or sign-in command in the worker and signs the UI in on success. `Ok(Some)`:
/// the password was right and the account asks for one of these second factors.
async fn unlock(
    session: Session,
    command: SessionCommand,
    stage: WriteSignal<Option<WorkerStage>>,
) -> Result<Option<Waiting>, (String, String)> {
    let worker = session.worker.with_value(|worker| worker.clone()).map_err(|message| (String::new(), message))?;
    let outcome = worker.call(command, move |next| stage.set(Some(next))).await;
    stage.set(None);
    match outcome {
        Ok(WorkerOutcome::Unlocked(identity)) => {
            session.remembered_address.set(Some(identity.address.clone()));
            session.identity.set(Some(identity));
            Ok(None)
        }
        Ok(WorkerOutcome::SecondFactorRequired { methods, passkey_options, pending_id }) => {
            Ok(Some((methods, passkey_options, pending_id)))
        }
        Ok(_) => Err((String::new(), t("The keys could not be unlocked."))),
        Err(failure) => Err((failure.code, failure.message)),
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let session = use_session();
    let navigator = use_navigator();
    let form = RwSignal::new(SignupForm::default());
    let submitted = RwSignal::new(false);
    let (stage, set_stage) = signal(None::<WorkerStage>);
    let (server_error, set_server_error) = signal(None::<String>);
    let busy = RwSignal::new(false);
    let problems = Memo::new(move |_| form.get().problems(submitted.get()));

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        submitted.set(true);
        set_server_error.set(None);
        if !form.get_untracked().problems(true).is_empty() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        let SignupForm { name, password, recovery, .. } = form.get_untracked();
        let recovery_address = Some(recovery.trim().to_owned()).filter(|address| !address.is_empty());
        leptos::task::spawn_local(async move {
            let result = unlock(session, SessionCommand::Signup { name, password, recovery_address }, set_stage).await;
            busy.set(false);
            match result {
                Ok(_) => {
                    form.set(SignupForm::default());
                    navigator.go("/mail/inbox");
                }
                Err((_, message)) => set_server_error.set(Some(message)),
            }
        });
    };

    let domain = move || {
        let domain = session.domain.get();
        if domain.is_empty() {
            String::new()
        } else {
            format!("@{domain}")
        }
    };

    view! {
        <main class="auth-page">
            <section class="card" aria-labelledby="signup-title">
                <Brand/>
                <h1 id="signup-title">{t("Create your encrypted mailbox")}</h1>
                <p class="lede">{t("Your password never leaves this device. It also locks your private key, which is made right here in your browser.")}</p>
                <form on:submit=on_submit novalidate>
                    <label for="signup-name">{t("Address")}</label>
                    <div class="address-field">
                        <input id="signup-name" name="name" type="text" autocomplete="username" autocapitalize="off" spellcheck="false"
                            aria-describedby="signup-name-error" aria-invalid=move || problems.get().name.is_some().to_string()
                            prop:value=move || form.get().name
                            on:input=move |ev| form.update(|f| f.name = event_target_value(&ev))/>
                        <span class="domain">{domain}</span>
                    </div>
                    <p id="signup-name-error" class="field-error">{move || problems.get().name}</p>

                    <label for="signup-password">{t("Password")}</label>
                    <input id="signup-password" name="password" type="password" autocomplete="new-password"
                        aria-describedby="signup-password-error" aria-invalid=move || problems.get().password.is_some().to_string()
                        prop:value=move || form.get().password
                        on:input=move |ev| form.update(|f| f.password = event_target_value(&ev))/>
                    <p id="signup-password-error" class="field-error">{move || problems.get().password}</p>

                    <label for="signup-confirmation">{t("Confirm password")}</label>
                    <input id="signup-confirmation" name="confirmation" type="password" autocomplete="new-password"
                        aria-describedby="signup-confirmation-error"
                        prop:value=move || form.get().confirmation
                        on:input=move |ev| form.update(|f| f.confirmation = event_target_value(&ev))/>
                    <p id="signup-confirmation-error" class="field-error">{move || problems.get().confirmation}</p>

                    <label for="signup-recovery">{t("Recovery address")}" "<span class="muted">{t("(optional)")}</span></label>
                    <input id="signup-recovery" name="recovery" type="email" autocomplete="email"
                        aria-describedby="signup-recovery-error"
                        prop:value=move || form.get().recovery
                        on:input=move |ev| form.update(|f| f.recovery = event_target_value(&ev))/>
                    <p id="signup-recovery-error" class="field-error">{move || problems.get().recovery}</p>

                    <p class="hint">{t("At least 8 characters. A few unrelated words make a strong, memorable password. If you forget it, your mail cannot be recovered.")}</p>
                    <label class="toggle terms">
                        <input id="signup-terms" type="checkbox" aria-describedby="signup-terms-error"
                            prop:checked=move || form.get().terms
                            on:change=move |ev| form.update(|f| f.terms = event_target_checked(&ev))/>
                        {t("I accept the terms of use")}
                    </label>
                    <p class="terms-link"><a href="/terms" target="_blank" rel="noopener">{t("Read the terms of use")}</a></p>
                    <p id="signup-terms-error" class="field-error">{move || problems.get().terms}</p>
                    <ErrorText message=server_error/>
                    <StageProgress stage=stage/>
                    <button type="submit" class="button primary" disabled=move || busy.get()>
                        {move || if busy.get() { t("Creating your keys…") } else { t("Create account") }}
                    </button>
                </form>
                <p class="switch">{t("Already have an account?")}" "<Link href="/login">{t("Sign in")}</Link></p>
            </section>
        </main>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let navigator = use_navigator();
    let address = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let (stage, set_stage) = signal(None::<WorkerStage>);
    // `/login?ended`: the session was ended from elsewhere, and this device's copy deleted.
    let ended = window().location().search().is_ok_and(|query| query == "?ended");
    let (error, set_error) = signal(ended.then(|| {
        t("You were signed out: this session was ended from another device or by a password change, and what this browser kept of your mail was deleted.")
    }));
    let busy = RwSignal::new(false);
    // The account was closed by its owner: offer to reopen it.
    let closed = RwSignal::new(false);
    // Keep this device's own way in (the worker's `device_unlock`). The box starts as this device
    // was left for the address typed, until the user ticks or unticks it.
    let keep_offline = RwSignal::new(false);
    let keep_touched = RwSignal::new(false);
    let keep_signed_in = RwSignal::new(false);
    // The second step, when the account has a second factor: which kinds it takes, and the code.
    let factors = RwSignal::new(None::<Waiting>);
    let code = RwSignal::new(String::new());
    Effect::new(move |_| {
        let typed = address.get();
        if typed.trim().is_empty() || keep_touched.get_untracked() {
            return;
        }
        let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
        leptos::task::spawn_local(async move {
            let asked = SessionCommand::DeviceKept { address: typed.clone() };
            if let Ok(WorkerOutcome::DeviceKept(kept)) = worker.call(asked, |_| {}).await {
                let still = address.try_get_untracked().is_some_and(|now| now == typed);
                if still && keep_touched.try_get_untracked() == Some(false) {
                    crate::ui::set_alive(keep_offline, kept);
                }
            }
        });
    });

    // After a reload the session cookie may still be valid while the keys are gone from memory:
    // offer to unlock that account. Only until the user comes to the field: the cookie's answer
    // can arrive while they type, and writing it then would join it to what they typed
    // ("alice@plico.testalice"), a sign-in that cannot succeed.
    let address_touched = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(remembered) = session.remembered_address.get() {
            if !address_touched.get_untracked() && address.get_untracked().is_empty() {
                address.set(remembered);
            }
        }
    });

    let run = move |command: SessionCommand| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = unlock(session, command, set_stage).await;
            busy.set(false);
            match result {
                Ok(Some(methods)) => {
                    code.set(String::new());
                    factors.set(Some(methods));
                }
                Ok(None) => {
                    password.set(String::new());
                    code.set(String::new());
                    factors.set(None);
                    closed.set(false);
                    navigator.go("/mail/inbox");
                }
                Err((code, message)) if code == "second_factor_expired" => {
                    factors.set(None);
                    set_error.set(Some(message));
                }
                Err((code, message)) => {
                    closed.set(code == "account_closed" && message.contains("reopen it until"));
                    set_error.set(Some(message));
                }
            }
        });
    };
    let sign_in = move |reopen: bool| {
        set_error.set(None);
        let waiting = factors.get_untracked().is_some();
        if waiting && code.get_untracked().trim().is_empty() {
            set_error.set(Some(t("Enter the code.")));
            return;
        }
        if !waiting && (address.get_untracked().trim().is_empty() || password.get_untracked().is_empty()) {
            set_error.set(Some(t("Enter your address and your password.")));
            return;
        }
        let command = match factors.get_untracked() {
            Some(_) => {
                // Six digits are the authenticator's, eight a reset code's (mailed); anything else
                // is a recovery code.
                let code = code.get_untracked();
                let digits = code.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>();
                let kind = match digits.len() {
                    6 | 8 if digits.bytes().all(|b| b.is_ascii_digit()) => {
                        if digits.len() == 6 {
                            SecondFactorKind::Totp
                        } else {
                            SecondFactorKind::ResetCode
                        }
                    }
                    _ => SecondFactorKind::RecoveryCode,
                };
                SessionCommand::SecondFactor { kind, code }
            }
            None => SessionCommand::Login {
                address: address.get_untracked(),
                password: password.get_untracked(),
                reopen,
                keep_offline: keep_offline.get_untracked(),
                keep_signed_in: keep_signed_in.get_untracked(),
            },
        };
        run(command);
    };
    // Every factor lost: a code to the recovery address, which works after a waiting period.
    let reset_notice = RwSignal::new(None::<String>);
    let reset = move |_| {
        let Some((_, _, pending_id)) = factors.get_untracked() else { return };
        set_error.set(None);
        leptos::task::spawn_local(async move {
            let body = plico_api::security::FactorResetRequest { pending_id };
            let started: Result<plico_api::security::FactorResetStarted, _> =
                crate::api_client::call_json("POST", "/login/second-factor/reset", Some(&body)).await;
            match started {
                Ok(started) => reset_notice.set(Some(tf(
                    "A reset code went to {address}. It works from {date}: then sign in with your password and enter it here. Signing in with your second factor before then cancels the reset.",
                    &[("address", &started.mailed_to), ("date", &crate::ui::format::local_date(started.ready_at))],
                ))),
                Err(failure) => set_error.set(Some(failure.message)),
            }
        });
    };
    // The passkey: the browser asks the authenticator, then the worker finishes the sign-in.
    let use_passkey = move |_| {
        let Some((_, Some(options), _)) = factors.get_untracked() else { return };
        if busy.get_untracked() {
            return;
        }
        set_error.set(None);
        leptos::task::spawn_local(async move {
            match crate::webauthn::get(&options).await {
                Ok(credential) => {
                    run(SessionCommand::SecondFactor { kind: SecondFactorKind::Passkey, code: credential })
                }
                Err(refusal) => set_error.set(Some(refusal.describe())),
            }
        });
    };
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        sign_in(false);
    };
    let takes = move |kind: SecondFactorKind| {
        factors.with(|waiting| waiting.as_ref().is_some_and(|(m, _, _)| m.contains(&kind)))
    };
    let takes_code = move || takes(SecondFactorKind::Totp) || takes(SecondFactorKind::RecoveryCode);

    view! {
        <main class="auth-page">
            <section class="card" aria-labelledby="login-title">
                <Brand/>
                <h1 id="login-title">{t("Sign in")}</h1>
                <p class="lede">{move || if session.remembered_address.get().is_some() {
                    t("Enter your password to unlock your mailbox on this device.")
                } else {
                    t("Your password unlocks your private key on this device. It is never sent to the server.")
                }}</p>
                <form on:submit=on_submit novalidate>
                    <div hidden=move || factors.get().is_some()>
                    <label for="login-address">{t("Address")}</label>
                    <input id="login-address" name="address" type="text" autocomplete="username" autocapitalize="off" spellcheck="false"
                        prop:value=move || address.get() on:focus=move |_| address_touched.set(true)
                        on:input=move |ev| {
                            address_touched.set(true);
                            address.set(event_target_value(&ev));
                        }/>
                    <label for="login-password">{t("Password")}</label>
                    <input id="login-password" name="password" type="password" autocomplete="current-password"
                        prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                    <label class="toggle">
                        <input type="checkbox" id="keep-offline" aria-describedby="keep-offline-hint"
                            prop:checked=move || keep_offline.get()
                            on:change=move |ev| {
                                keep_touched.set(true);
                                keep_offline.set(event_target_checked(&ev));
                            }/>
                        {t("Keep this device usable offline")}
                    </label>
                    <p class="hint" id="keep-offline-hint">{t("Your mail stays readable here without a connection: this device keeps your key, locked by your password. Only on a device you alone use.")}</p>
                    <label class="toggle">
                        <input type="checkbox" id="keep-signed-in" prop:checked=move || keep_signed_in.get()
                            on:change=move |ev| keep_signed_in.set(event_target_checked(&ev))/>
                        {t("Keep me signed in")}
                    </label>
                    </div>
                    <div hidden=move || factors.get().is_none()>
                        <div hidden=move || !takes(SecondFactorKind::Passkey)>
                            <p>{t("Two-step verification: use your passkey or security key.")}</p>
                            <button type="button" class="button primary" id="use-passkey" disabled=move || busy.get()
                                on:click=use_passkey>{t("Use a passkey")}</button>
                        </div>
                        <div hidden=move || !takes_code()>
                            <label for="second-factor-code">{move || if takes(SecondFactorKind::Totp) {
                                t("Two-step verification: the 6-digit code from your authenticator app, or one of your recovery codes")
                            } else {
                                t("Or one of your recovery codes")
                            }}</label>
                            <input id="second-factor-code" name="code" type="text" autocomplete="one-time-code" spellcheck="false"
                                prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                        </div>
                        <button type="button" class="link-button" id="lost-factor" on:click=reset>{t("Lost your second factor?")}</button>
                        <p class="notice-plain" role="status" hidden=move || reset_notice.get().is_none()>{move || reset_notice.get()}</p>
                    </div>
                    <ErrorText message=error/>
                    {move || closed.get().then(|| view! {
                        <button type="button" class="button secondary" id="reopen" disabled=move || busy.get()
                            on:click=move |_| sign_in(true)>{t("Reopen my account")}</button>
                    })}
                    <StageProgress stage=stage/>
                    <button type="submit" disabled=move || busy.get() hidden=move || factors.get().is_some() && !takes_code()
                        class=move || if takes(SecondFactorKind::Passkey) { "button secondary" } else { "button primary" }>
                        {move || if busy.get() { t("Unlocking…") } else if factors.get().is_some() { t("Verify") } else { t("Sign in") }}
                    </button>
                </form>
                <p class="switch">{t("New to Plico?")}" "<Link href="/signup">{t("Create an account")}</Link></p>
            </section>
        </main>
    }
}
