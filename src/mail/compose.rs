//! Writing a new message.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use plico_api::worker::{OutgoingAttachment, OutgoingMessage, WorkerCommand, WorkerStage};
use wasm_bindgen::JsCast;

use super::views::Shell;
use crate::app::use_session;
use crate::router::use_navigator;
use crate::ui::{human_size, ErrorText, PaperclipIcon, StageProgress};

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

/// What the composer starts with: empty for a new message, filled for a reply or a forward.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComposeSeed {
    pub to: String,
    pub cc: String,
    pub subject: String,
    pub body: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// Forwarding: the message whose attachments go along.
    pub forward_attachments_of: Option<String>,
}

/// Why a picked file cannot be attached, in words that name it.
pub fn attachment_refusal(file_name: &str, size: u64, limit: u64) -> Option<String> {
    (size > limit)
        .then(|| format!("{file_name} is {}; attachments can be at most {} each.", human_size(size), human_size(limit)))
}

/// Reads the picked files into attachments, refusing oversized ones by name.
async fn read_files(files: web_sys::FileList, limit: u64) -> (Vec<OutgoingAttachment>, Vec<String>) {
    let mut attached = Vec::new();
    let mut refused = Vec::new();
    for index in 0..files.length() {
        let Some(file) = files.get(index) else { continue };
        let size = file.size() as u64;
        if let Some(refusal) = attachment_refusal(&file.name(), size, limit) {
            refused.push(refusal);
            continue;
        }
        match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
            Ok(buffer) => attached.push(OutgoingAttachment {
                file_name: file.name(),
                content_type: if file.type_().is_empty() { "application/octet-stream".into() } else { file.type_() },
                data: js_sys::Uint8Array::new(&buffer).to_vec(),
            }),
            Err(_) => refused.push(format!("{} could not be read.", file.name())),
        }
    }
    (attached, refused)
}

#[component]
pub fn ComposePage() -> impl IntoView {
    let (error, set_error) = signal(None::<String>);
    let session = use_session();
    let navigator = use_navigator();
    let seed = session.compose_seed.try_update(Option::take).flatten().unwrap_or_default();
    let to = RwSignal::new(seed.to);
    let cc = RwSignal::new(seed.cc);
    let bcc = RwSignal::new(String::new());
    let subject = RwSignal::new(seed.subject);
    let body = RwSignal::new(seed.body);
    let threading = StoredValue::new((seed.in_reply_to, seed.references, seed.forward_attachments_of.clone()));
    let forwarding = seed.forward_attachments_of.is_some();
    let attachments = RwSignal::new(Vec::<OutgoingAttachment>::new());
    let on_files = move |event: leptos::ev::Event| {
        let Some(input) = event.target().and_then(|target| target.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        let Some(files) = input.files() else { return };
        let limit = session.max_attachment_bytes.get_untracked();
        leptos::task::spawn_local(async move {
            let (attached, refused) = read_files(files, limit).await;
            attachments.update(|list| list.extend(attached));
            set_error.set((!refused.is_empty()).then(|| refused.join(" ")));
            input.set_value("");
        });
    };
    let (stage, set_stage) = signal(None::<WorkerStage>);
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
        let (in_reply_to, references, forward_attachments_of) = threading.get_value();
        let message = OutgoingMessage {
            to: to_list,
            cc: cc_list,
            bcc: bcc_list,
            subject: subject.get_untracked(),
            text: body.get_untracked(),
            in_reply_to,
            references,
            attachments: attachments.get_untracked(),
            forward_attachments_of,
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
                    <div class="attach-row">
                        <label class="button ghost small attach-button" for="compose-files">"Attach files"</label>
                        <input id="compose-files" class="visually-hidden" type="file" multiple on:change=on_files/>
                        <span class="hint">{move || format!("Up to {} each.", human_size(session.max_attachment_bytes.get()))}</span>
                        {forwarding.then(|| view! { <span class="hint">"The forwarded message's attachments go along."</span> })}
                    </div>
                    <ul class="compose-attachments" aria-label="Attachments">
                        {move || attachments.get().into_iter().enumerate().map(|(index, file)| view! {
                            <li>
                                <span><PaperclipIcon/>{format!("{} ({})", file.file_name, human_size(file.data.len() as u64))}</span>
                                <button type="button" class="link-button" aria-label=format!("Remove {}", file.file_name)
                                    on:click=move |_| attachments.update(|list| { if index < list.len() { list.remove(index); } })>"Remove"</button>
                            </li>
                        }).collect_view()}
                    </ul>
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

    #[test]
    fn oversized_attachments_are_refused_by_name() {
        let limit = 25 * 1024 * 1024;
        assert_eq!(attachment_refusal("small.pdf", 1024, limit), None);
        assert_eq!(attachment_refusal("exact.bin", limit, limit), None);
        assert_eq!(
            attachment_refusal("huge.iso", limit + 1, limit).as_deref(),
            Some("huge.iso is 25 MB; attachments can be at most 25 MB each.")
        );
        assert_eq!(
            attachment_refusal("huge.iso", limit + 200 * 1024, limit).as_deref(),
            Some("huge.iso is 25.2 MB; attachments can be at most 25 MB each.")
        );
    }
}
