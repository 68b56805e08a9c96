//! Writing a new message.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use plico_api::worker::{OutgoingMessage, WorkerCommand, WorkerStage};

use super::views::Shell;
use crate::app::use_session;
use crate::router::use_navigator;
use crate::ui::{ErrorText, StageProgress};

/// Splits a recipients field on commas, semicolons and white space.
pub fn split_addresses(field: &str) -> Vec<String> {
    field.split([',', ';', ' ', '\n']).map(str::trim).filter(|part| !part.is_empty()).map(str::to_owned).collect()
}

/// The first address in a field that cannot be an e-mail address, to name it before sending.
pub fn first_malformed(addresses: &[String]) -> Option<&str> {
    addresses
        .iter()
        .find(|address| match address.rsplit_once('@') {
            Some((local, domain)) => {
                local.is_empty() || domain.is_empty() || !domain.contains('.') && domain != "localhost"
            }
            None => false,
        })
        .map(String::as_str)
}

#[component]
pub fn ComposePage() -> impl IntoView {
    let session = use_session();
    let navigator = use_navigator();
    let to = RwSignal::new(String::new());
    let cc = RwSignal::new(String::new());
    let bcc = RwSignal::new(String::new());
    let subject = RwSignal::new(String::new());
    let body = RwSignal::new(String::new());
    let (stage, set_stage) = signal(None::<WorkerStage>);
    let (error, set_error) = signal(None::<String>);
    let busy = RwSignal::new(false);

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        set_error.set(None);
        let (to_list, cc_list, bcc_list) = (
            split_addresses(&to.get_untracked()),
            split_addresses(&cc.get_untracked()),
            split_addresses(&bcc.get_untracked()),
        );
        if to_list.is_empty() && cc_list.is_empty() && bcc_list.is_empty() {
            set_error.set(Some("Add at least one recipient.".into()));
            return;
        }
        let all: Vec<String> = to_list.iter().chain(&cc_list).chain(&bcc_list).cloned().collect();
        if let Some(bad) = first_malformed(&all) {
            set_error.set(Some(format!("{bad} is not a valid address.")));
            return;
        }
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let message = OutgoingMessage {
            to: to_list,
            cc: cc_list,
            bcc: bcc_list,
            subject: subject.get_untracked(),
            text: body.get_untracked(),
            in_reply_to: None,
            references: Vec::new(),
            attachments: Vec::new(),
        };
        leptos::task::spawn_local(async move {
            let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
            let result = worker.call(WorkerCommand::Send(message), move |next| set_stage.set(Some(next))).await;
            set_stage.set(None);
            busy.set(false);
            match result {
                Ok(_) => navigator.go("/mail/sent"),
                Err(failure) => set_error.set(Some(failure.message)),
            }
        });
    };

    view! {
        <Shell>
            <section class="compose" aria-labelledby="compose-title">
                <div class="compose-header">
                    <h1 id="compose-title">"New message"</h1>
                    <span class="badge-e2e">"End-to-end encrypted"</span>
                </div>
                <form on:submit=on_submit novalidate>
                    <label for="compose-to">"To"</label>
                    <input id="compose-to" type="text" autocomplete="off" spellcheck="false"
                        prop:value=move || to.get() on:input=move |ev| to.set(event_target_value(&ev))/>
                    <div class="compose-row">
                        <div>
                            <label for="compose-cc">"Cc"</label>
                            <input id="compose-cc" type="text" autocomplete="off" spellcheck="false"
                                prop:value=move || cc.get() on:input=move |ev| cc.set(event_target_value(&ev))/>
                        </div>
                        <div>
                            <label for="compose-bcc">"Bcc"</label>
                            <input id="compose-bcc" type="text" autocomplete="off" spellcheck="false"
                                prop:value=move || bcc.get() on:input=move |ev| bcc.set(event_target_value(&ev))/>
                        </div>
                    </div>
                    <label for="compose-subject">"Subject"</label>
                    <input id="compose-subject" type="text"
                        prop:value=move || subject.get() on:input=move |ev| subject.set(event_target_value(&ev))/>
                    <label for="compose-body">"Message"</label>
                    <textarea id="compose-body" rows="12"
                        prop:value=move || body.get() on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                    <p class="hint">"Encrypted in this browser to every recipient and to you, and signed with your key. Recipients must have a Plico address here for now."</p>
                    <ErrorText message=error/>
                    <StageProgress stage=stage/>
                    <button type="submit" class="button primary send" disabled=move || busy.get()>
                        {move || if busy.get() { "Sending…" } else { "Send encrypted" }}
                    </button>
                </form>
            </section>
        </Shell>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_split_and_malformed_ones_named() {
        assert_eq!(split_addresses(" bob@plico.test, carol ;dave@x.org\n"), ["bob@plico.test", "carol", "dave@x.org"]);
        assert_eq!(first_malformed(&split_addresses("bob@plico.test, @x.org")), Some("@x.org"));
        assert_eq!(first_malformed(&split_addresses("bob@nodot")), Some("bob@nodot"));
        assert_eq!(first_malformed(&split_addresses("bob, carol@localhost")), None, "bare names are local");
    }
}
