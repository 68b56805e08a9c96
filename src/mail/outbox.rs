//! The Outbox: mail written while offline waits in the worker, sealed on this device, and goes
//! when the connection returns (the `online` event, and every sync that reaches the server).

use leptos::prelude::*;
use plico_api::worker::MailCommand;
use plico_api::worker::{OutboxItem, WorkerOutcome};

use crate::i18n::{t, tf};
use crate::session::{use_session, Session};

thread_local! {
    static SENDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn set_outbox(mail: super::Mail, items: Vec<OutboxItem>) {
    mail.mailbox.update(|state| {
        if state.outbox != items {
            state.outbox = items;
        }
    });
}

/// Reads the Outbox from the worker (at sign-in), then sends what waits.
pub async fn load(session: Session, mail: super::Mail) {
    let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
    if let Ok(WorkerOutcome::Outbox(items)) = worker.call(MailCommand::Outbox, |_| {}).await {
        set_outbox(mail, items);
    }
    send_waiting(session, mail);
}

/// Sends what waits (not what the server refused: the user sees why, and deletes it or sends
/// it again), then syncs when something went, so it shows in Sent.
pub fn send_waiting(session: Session, mail: super::Mail) {
    let waiting = mail.mailbox.with_untracked(|state| state.outbox.iter().any(|item| item.error.is_none()));
    if !waiting || SENDING.with(|busy| busy.replace(true)) {
        return;
    }
    leptos::task::spawn_local(async move {
        let _ = send(session, mail, None).await;
        SENDING.with(|busy| busy.set(false));
    });
}

/// Asks the worker to send what waits (and `again`, refused before); syncs when something
/// went, so it shows in Sent.
async fn send(session: Session, mail: super::Mail, again: Option<String>) -> Result<(), String> {
    let before = mail.mailbox.with_untracked(|state| state.outbox.len());
    let result = run(session, mail, MailCommand::SendOutbox { again }).await;
    if mail.mailbox.with_untracked(|state| state.outbox.len()) < before {
        let _ = super::state::sync_now(session, mail).await;
    }
    result
}

async fn run(session: Session, mail: super::Mail, command: MailCommand) -> Result<(), String> {
    let worker = session.worker.with_value(|worker| worker.clone())?;
    match worker.call(command, |_| {}).await {
        Ok(WorkerOutcome::Outbox(items)) => {
            set_outbox(mail, items);
            Ok(())
        }
        Ok(_) => Err(t("The worker answered something unexpected.")),
        Err(failure) => Err(failure.message),
    }
}

/// `/mail/outbox`: what waits, why, and the way to send it again or delete it.
#[component]
pub fn OutboxPage() -> impl IntoView {
    let session = use_session();
    let mail = crate::mail::use_mail();
    let (error, set_error) = signal(None::<String>);
    let items = move || mail.mailbox.with(|state| state.outbox.clone());
    let resend = move |id: String| {
        leptos::task::spawn_local(async move {
            crate::ui::set_alive(set_error, send(session, mail, Some(id)).await.err());
        });
    };
    let delete = move |id: String| {
        leptos::task::spawn_local(async move {
            crate::ui::set_alive(set_error, run(session, mail, MailCommand::DeleteOutbox { id }).await.err());
        });
    };
    view! {
        <super::Shell>
            <section class="message-list outbox" aria-labelledby="folder-title">
                <div class="folder-header">
                    <h1 id="folder-title" class="folder-title">{t("Outbox")}</h1>
                </div>
                <p class="hint">{t("Mail you send while offline waits here, encrypted on this device, and goes by itself when the connection is back.")}</p>
                <crate::ui::ErrorText message=error/>
                {move || {
                    let items = items();
                    if items.is_empty() {
                        return view! {
                            <div class="empty-state">
                                <h2>{t("Nothing waits to be sent")}</h2>
                            </div>
                        }.into_any();
                    }
                    view! {
                        <ul class="messages outbox-items" aria-label=t("Outbox")>
                            {items.into_iter().map(|item| {
                                let id = item.id.clone();
                                let id_again = item.id.clone();
                                let subject = if item.subject.is_empty() { t("(no subject)") } else { item.subject.clone() };
                                let status = match &item.error {
                                    Some(reason) => tf("Not sent: {reason}", &[("reason", reason)]),
                                    None => t("Waiting for the connection."),
                                };
                                view! {
                                    <li class="message-item outbox-item" class:failed=item.error.is_some()>
                                        <div class="message-row">
                                            <span class="row-from">{tf("To: {recipients}", &[("recipients", &item.recipients.join(", "))])}</span>
                                            <span class="row-date">{super::reader::short_time(item.queued_at)}</span>
                                            <span class="row-subject">{subject}</span>
                                            <span class="row-snippet outbox-status">{status}</span>
                                        </div>
                                        <div class="outbox-actions">
                                            <button type="button" class="button ghost small" on:click=move |_| resend(id_again.clone())>{t("Send now")}</button>
                                            <button type="button" class="button danger-ghost small" on:click=move |_| delete(id.clone())>{t("Delete")}</button>
                                        </div>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        </super::Shell>
    }
}
