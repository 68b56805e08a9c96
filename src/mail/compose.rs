//! Writing a new message.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use plico_api::worker::{KeysCommand, MailCommand};
use plico_api::worker::{OutgoingAttachment, OutgoingMessage, WorkerOutcome, WorkerStage};
use wasm_bindgen::JsCast;

use super::views::Shell;
use crate::i18n::{t, tf};
use crate::router::use_navigator;
use crate::session::use_session;
use crate::ui::{human_size, ErrorText, PaperclipIcon, StageProgress};

/// Splits a recipients field on commas, semicolons and white space.
pub fn split_addresses(field: &str) -> Vec<String> {
    field.split([',', ';', ' ', '\n']).map(str::trim).filter(|part| !part.is_empty()).map(str::to_owned).collect()
}

/// The recipients outside `domain` (bare names are local): Plico knows no key for them, so
/// they get signed mail that is not end-to-end encrypted, and the composer says so first.
pub fn outside_addresses(fields: [&str; 3], domain: &str) -> Vec<String> {
    fields
        .iter()
        .flat_map(|field| split_addresses(field))
        .filter(|address| address.rsplit_once('@').is_some_and(|(_, at)| !at.eq_ignore_ascii_case(domain)))
        .collect()
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
    pub bcc: String,
    /// Reopening a draft: its id and its attachments.
    pub draft_id: Option<String>,
    pub attachments: Vec<OutgoingAttachment>,
}

/// How long typing must pause before the draft is saved, in milliseconds.
pub const AUTOSAVE_MILLIS: u64 = 1_500;

/// See `save_track` in [`ComposePage`].
struct SaveTrack {
    running: std::cell::Cell<bool>,
    id: std::cell::RefCell<Option<String>>,
}

/// Where the draft stands, for the line under the form.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DraftState {
    Unsaved,
    Saving,
    Saved(String),
    Failed(String),
}

/// Why a picked file cannot be attached, in words that name it.
pub fn attachment_refusal(file_name: &str, size: u64, limit: u64) -> Option<String> {
    (size > limit).then(|| {
        tf(
            "{file} is {size}; attachments can be at most {limit} each.",
            &[("file", file_name), ("size", &human_size(size)), ("limit", &human_size(limit))],
        )
    })
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
            Err(_) => refused.push(tf("{file} could not be read.", &[("file", &file.name())])),
        }
    }
    (attached, refused)
}

/// A saved draft, decrypted with its attachments, ready for the composer.
pub async fn open_draft(session: crate::session::Session, id: String) -> Result<ComposeSeed, String> {
    let worker = session.worker.with_value(|worker| worker.clone())?;
    let view = match worker.call(MailCommand::OpenMessage { id: id.clone() }, |_| {}).await {
        Ok(WorkerOutcome::Opened(view)) => *view,
        Ok(_) => return Err(t("The worker answered something unexpected.")),
        Err(failure) => return Err(failure.message),
    };
    let mut attachments = Vec::with_capacity(view.attachments.len());
    for index in 0..view.attachments.len() {
        let command = MailCommand::Attachment { message_id: id.clone(), index: index as u32 };
        match worker.call(command, |_| {}).await {
            Ok(WorkerOutcome::File(file)) => attachments.push(file),
            Ok(_) => return Err(t("The worker answered something unexpected.")),
            Err(failure) => return Err(failure.message),
        }
    }
    let bare = |list: &[String]| list.iter().map(|m| super::reader::bare_address(m)).collect::<Vec<_>>().join(", ");
    Ok(ComposeSeed {
        to: bare(&view.to),
        cc: bare(&view.cc),
        bcc: bare(&view.bcc),
        subject: view.subject,
        body: view.text,
        in_reply_to: view.in_reply_to.last().cloned(),
        references: view.references,
        forward_attachments_of: None,
        draft_id: Some(id),
        attachments,
    })
}

#[component]
pub fn ComposePage() -> impl IntoView {
    let (error, set_error) = signal(None::<String>);
    // A send refused because a recipient's key changed: the user may choose the new key here.
    let (key_changed, set_key_changed) = signal(false);
    let (key_note, set_key_note) = signal(None::<String>);
    let session = use_session();
    let mail = crate::mail::use_mail();
    let navigator = use_navigator();
    let seed = mail.compose_seed.try_update(Option::take).flatten().unwrap_or_default();
    let to = RwSignal::new(seed.to);
    let cc = RwSignal::new(seed.cc);
    let bcc = RwSignal::new(seed.bcc);
    let subject = RwSignal::new(seed.subject);
    let body = RwSignal::new(seed.body);
    let threading = StoredValue::new((seed.in_reply_to, seed.references, seed.forward_attachments_of.clone()));
    let forwarding = seed.forward_attachments_of.is_some();
    let attachments = RwSignal::new(seed.attachments);
    // The draft's id and whether a save is running, kept outside the page's reactive values so
    // the last save on leaving (which runs after they are gone) can wait for a running save and
    // reuse the id it got, instead of filing a second draft.
    let save_track = StoredValue::new_local(std::rc::Rc::new(SaveTrack {
        running: std::cell::Cell::new(false),
        id: std::cell::RefCell::new(seed.draft_id.clone()),
    }));
    let draft_id = RwSignal::new(seed.draft_id);
    let draft_state = RwSignal::new(DraftState::Unsaved);
    let saves = RwSignal::new(0u32);
    let on_files = move |event: leptos::ev::Event| {
        let Some(input) = event.target().and_then(|target| target.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        let Some(files) = input.files() else { return };
        let limit = session.max_attachment_bytes.get_untracked();
        leptos::task::spawn_local(async move {
            let (attached, refused) = read_files(files, limit).await;
            let _ = attachments.try_update(|list| list.extend(attached));
            crate::ui::set_alive(set_error, (!refused.is_empty()).then(|| refused.join(" ")));
            input.set_value("");
        });
    };
    let (stage, set_stage) = signal(None::<WorkerStage>);
    let busy = RwSignal::new(false);

    // Outside recipients whose key is known (the keyring, or their domain's WKD) get encrypted
    // mail; the rest are named in the notice. The worker is asked once typing has paused, so
    // half-typed addresses are not looked up at other people's domains.
    let keyed = RwSignal::new(Vec::<String>::new());
    let typed = Memo::new(move |_| outside_addresses([&to.get(), &cc.get(), &bcc.get()], &session.domain.get()));
    let outside = move || {
        let known = keyed.get();
        let mut addresses = typed.get();
        addresses.retain(|address| !known.iter().any(|key| key.eq_ignore_ascii_case(address)));
        addresses
    };
    Effect::new(move |_| {
        let addresses = typed.get();
        if addresses.is_empty() {
            return;
        }
        leptos::prelude::set_timeout(
            move || {
                // Still what is typed 700 ms later: ask.
                if typed.try_get_untracked().as_ref() != Some(&addresses) {
                    return;
                }
                leptos::task::spawn_local(async move {
                    let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
                    let command = KeysCommand::KnownKeys { addresses };
                    if let Ok(WorkerOutcome::KnownKeys(known)) = worker.call(command, |_| {}).await {
                        crate::ui::set_alive(keyed, known);
                    }
                });
            },
            std::time::Duration::from_millis(700),
        );
    });
    // What is on screen, as the worker takes it.
    let snapshot = move || {
        let (in_reply_to, references, forward_attachments_of) = threading.get_value();
        OutgoingMessage {
            to: split_addresses(&to.get_untracked()),
            cc: split_addresses(&cc.get_untracked()),
            bcc: split_addresses(&bcc.get_untracked()),
            subject: subject.get_untracked(),
            text: body.get_untracked(),
            in_reply_to,
            references,
            attachments: attachments.get_untracked(),
            forward_attachments_of,
            draft_id: draft_id.get_untracked(),
            // The notice below has said so since the first outside address was typed.
            send_unencrypted: !untrack(outside).is_empty(),
        }
    };

    // Autosave: every change bumps the edit count; a save starts once typing has paused, one at
    // a time, and a change made during a save schedules the next.
    let edits = RwSignal::new(0u64);
    let saved_edits = StoredValue::new(0u64);
    let saving = RwSignal::new(false);
    let save_now = move || {
        let edit = edits.get_untracked();
        if saving.get_untracked() || busy.get_untracked() || edit == saved_edits.get_value() {
            return;
        }
        let message = snapshot();
        let empty = message.to.is_empty()
            && message.cc.is_empty()
            && message.bcc.is_empty()
            && message.subject.trim().is_empty()
            && message.text.trim().is_empty()
            && message.attachments.is_empty();
        if empty && draft_id.get_untracked().is_none() {
            return;
        }
        saving.set(true);
        draft_state.set(DraftState::Saving);
        let track = save_track.get_value();
        track.running.set(true);
        leptos::task::spawn_local(async move {
            let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else {
                track.running.set(false);
                return;
            };
            match worker.call(MailCommand::SaveDraft(message), |_| {}).await {
                Ok(WorkerOutcome::DraftSaved { id }) => {
                    *track.id.borrow_mut() = Some(id.clone());
                    crate::ui::set_alive(draft_id, Some(id));
                    saved_edits.set_value(edit);
                    let now = js_sys::Date::new_0();
                    let time = String::from(now.to_locale_time_string(crate::i18n::lang().code()));
                    crate::ui::set_alive(draft_state, DraftState::Saved(time));
                    let _ = saves.try_update(|count| *count += 1);
                }
                Ok(_) => crate::ui::set_alive(
                    draft_state,
                    DraftState::Failed(t("The worker answered something unexpected.")),
                ),
                Err(failure) if failure.code == "network" => crate::ui::set_alive(
                    draft_state,
                    DraftState::Failed(t("you are offline. Send keeps the message in the Outbox.")),
                ),
                Err(failure) => crate::ui::set_alive(draft_state, DraftState::Failed(failure.message)),
            }
            track.running.set(false);
            crate::ui::set_alive(saving, false);
        });
    };
    Effect::new(move |first: Option<()>| {
        to.track();
        cc.track();
        bcc.track();
        subject.track();
        body.track();
        attachments.track();
        if first.is_some() {
            edits.update(|count| *count += 1);
        }
    });
    Effect::new(move |_| {
        let edit = edits.get();
        let saving_now = saving.get();
        if edit == 0 || saving_now {
            return;
        }
        leptos::prelude::set_timeout(
            move || {
                if edits.try_get_untracked() == Some(edit) {
                    save_now();
                }
            },
            std::time::Duration::from_millis(AUTOSAVE_MILLIS),
        );
    });

    // Leaving with unsaved changes saves them once more; nothing of the page is touched after.
    on_cleanup(move || {
        let unsaved =
            edits.try_get_untracked().zip(saved_edits.try_get_value()).is_some_and(|(edit, saved)| edit != saved);
        let leaving_by_send_or_discard = busy.try_get_untracked().unwrap_or(true);
        if !unsaved || leaving_by_send_or_discard {
            return;
        }
        let message = snapshot();
        let Some(track) = save_track.try_get_value() else { return };
        leptos::task::spawn_local(async move {
            let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
            // A save still running may be the one that creates the draft: wait, and save over it.
            while track.running.get() {
                crate::ui::sleep(50).await;
            }
            let message = OutgoingMessage { draft_id: track.id.borrow().clone(), ..message };
            if worker.call(MailCommand::SaveDraft(message), |_| {}).await.is_ok() {
                let _ = super::state::sync_now(session, mail).await;
            }
        });
    });

    let on_discard = move |_| {
        let id = draft_id.get_untracked();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let had_draft = id.is_some();
            if let Some(id) = id {
                if let Err(failure) = crate::api_client::send("DELETE", &format!("/drafts/{id}")).await {
                    crate::ui::set_alive(busy, false);
                    crate::ui::set_alive(set_error, Some(failure.message));
                    return;
                }
            }
            let _ = super::state::sync_now(session, mail).await;
            navigator.go(if had_draft { "/mail/drafts" } else { "/mail/inbox" });
        });
    };

    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        set_error.set(None);
        set_key_changed.set(false);
        set_key_note.set(None);
        let message = snapshot();
        if message.to.is_empty() && message.cc.is_empty() && message.bcc.is_empty() {
            set_error.set(Some(t("Add at least one recipient.")));
            return;
        }
        let all: Vec<String> = message.to.iter().chain(&message.cc).chain(&message.bcc).cloned().collect();
        if let Some(bad) = first_malformed(&all) {
            set_error.set(Some(tf("{address} is not a valid address.", &[("address", bad)])));
            return;
        }
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
            // A save still running would file a draft after the message left: wait for it, then
            // send with the draft's id so the server removes it with the send.
            while saving.try_get_untracked().unwrap_or(false) {
                crate::ui::sleep(50).await;
            }
            let message = OutgoingMessage { draft_id: draft_id.try_get_untracked().flatten(), ..message };
            let result =
                worker.call(MailCommand::Send(message), move |next| crate::ui::set_alive(set_stage, Some(next))).await;
            crate::ui::set_alive(set_stage, None);
            match result {
                // Still busy while the page goes: leaving after a send saves no draft.
                // No network: it waits, sealed on this device, and goes when the connection is back.
                Ok(WorkerOutcome::Queued(items)) => {
                    mail.mailbox.update(|state| state.outbox = items);
                    navigator.go("/mail/outbox");
                }
                Ok(_) => navigator.go("/mail/sent"),
                Err(failure) => {
                    crate::ui::set_alive(busy, false);
                    crate::ui::set_alive(set_key_changed, failure.code == "key_changed");
                    crate::ui::set_alive(set_error, Some(failure.message));
                }
            }
        });
    };

    // "Use the new key": the directory's keys replace the kept ones for these recipients; "Keep
    // the old key": the new keys are refused, and mail stays encrypted to the kept ones. The user
    // sends again.
    let choose_keys = move |event: leptos::ev::MouseEvent| {
        // One handler for both buttons (their `value` says which).
        let keep_kept = event_target_value(&event) == "keep";
        let message = snapshot();
        let addresses: Vec<String> = message.to.into_iter().chain(message.cc).chain(message.bcc).collect();
        leptos::task::spawn_local(async move {
            let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
            match worker.call(KeysCommand::UseDirectoryKeys { addresses, keep_kept }, |_| {}).await {
                Ok(WorkerOutcome::KeyImported(chosen)) => {
                    crate::ui::set_alive(set_key_changed, false);
                    crate::ui::set_alive(set_error, None);
                    let chosen = chosen.join(", ");
                    let addresses = [("addresses", chosen.as_str())];
                    let note = if keep_kept {
                        tf("Mail to {addresses} stays encrypted to the key you kept. Send again.", &addresses)
                    } else {
                        tf("Mail to {addresses} is now encrypted to their new key. Send again.", &addresses)
                    };
                    crate::ui::set_alive(set_key_note, Some(note));
                }
                Ok(_) => {}
                Err(failure) => crate::ui::set_alive(set_error, Some(failure.message)),
            }
        });
    };

    view! {
        <Shell>
            <section class="compose" aria-labelledby="compose-title">
                <div class="compose-header">
                    <h1 id="compose-title">{move || if draft_id.get().is_some() { t("Draft") } else { t("New message") }}</h1>
                    <span class="badge-e2e" class:plain=move || !outside().is_empty()>
                        {move || if outside().is_empty() { t("End-to-end encrypted") } else { t("Not end-to-end encrypted") }}
                    </span>
                </div>
                <form on:submit=on_submit novalidate>
                    <label for="compose-to">{t("To")}</label>
                    <super::recipients::RecipientInput id="compose-to" value=to/>
                    <div class="compose-row">
                        <div>
                            <label for="compose-cc">{t("Cc")}</label>
                            <super::recipients::RecipientInput id="compose-cc" value=cc/>
                        </div>
                        <div>
                            <label for="compose-bcc">{t("Bcc")}</label>
                            <super::recipients::RecipientInput id="compose-bcc" value=bcc/>
                        </div>
                    </div>
                    <label for="compose-subject">{t("Subject")}</label>
                    <input id="compose-subject" type="text"
                        prop:value=move || subject.get() on:input=move |ev| subject.set(event_target_value(&ev))/>
                    <label for="compose-body">{t("Message")}</label>
                    <textarea id="compose-body" rows="12"
                        prop:value=move || body.get() on:input=move |ev| body.set(event_target_value(&ev))></textarea>
                    <div class="attach-row">
                        <label class="button ghost small attach-button" for="compose-files">{t("Attach files")}</label>
                        <input id="compose-files" class="visually-hidden" type="file" multiple on:change=on_files/>
                        <span class="hint">{move || tf("Up to {size} each.", &[("size", &human_size(session.max_attachment_bytes.get()))])}</span>
                        {forwarding.then(|| view! { <span class="hint">{t("The forwarded message's attachments go along.")}</span> })}
                    </div>
                    <ul class="compose-attachments" aria-label=t("Attachments")>
                        {move || attachments.get().into_iter().enumerate().map(|(index, file)| view! {
                            <li>
                                <span><PaperclipIcon/>{format!("{} ({})", file.file_name, human_size(file.data.len() as u64))}</span>
                                <button type="button" class="link-button" aria-label=tf("Remove {file}", &[("file", &file.file_name)])
                                    on:click=move |_| attachments.update(|list| { if index < list.len() { list.remove(index); } })>{t("Remove")}</button>
                            </li>
                        }).collect_view()}
                    </ul>
                    <p class="hint">{t("Encrypted in this browser to you and every recipient whose key Plico knows, and signed with your key.")}</p>
                    {move || { let names = outside(); (!names.is_empty()).then(|| view! {
                        <p class="notice-plain" role="note">{tf("Not end-to-end encrypted: Plico knows no key for {addresses}. They get a signed message that the servers it passes through can read.", &[("addresses", &names.join(", "))])}</p>
                    }) }}
                    <ErrorText message=error/>
                    {move || key_changed.get().then(|| view! {
                        <div class="key-changed">
                            <p>{t("Choose the new key only if you checked its fingerprint with them another way (in person, by phone). Otherwise keep the old key.")}</p>
                            <button type="button" class="button ghost small" value="use" on:click=choose_keys>{t("Use the new key")}</button>
                            <button type="button" class="button ghost small" value="keep" on:click=choose_keys>{t("Keep the old key")}</button>
                        </div>
                    })}
                    {move || key_note.get().map(|note| view! { <p class="hint" role="status">{note}</p> })}
                    <StageProgress stage=stage/>
                    <div class="compose-actions">
                        <button type="submit" class="button primary send" disabled=move || busy.get()>
                            {move || if busy.get() { t("Sending…") } else if outside().is_empty() { t("Send encrypted") } else { t("Send without end-to-end encryption") }}
                        </button>
                        <button type="button" class="button ghost" disabled=move || busy.get() on:click=on_discard>{t("Discard")}</button>
                        <span class="draft-state" role="status" aria-live="polite" data-saves=move || saves.get()>{move || match draft_state.get() {
                            DraftState::Unsaved => String::new(),
                            DraftState::Saving => t("Saving draft…"),
                            DraftState::Saved(time) => tf("Draft saved, encrypted, at {time}", &[("time", &time)]),
                            DraftState::Failed(message) => tf("The draft could not be saved: {message}", &[("message", &message)]),
                        }}</span>
                    </div>
                </form>
            </section>
        </Shell>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_recipients_are_the_ones_at_other_domains() {
        let outside = outside_addresses(["bob, dave@Example.org", "carol@PLICO.test", "eve@x.net"], "plico.test");
        assert_eq!(outside, ["dave@Example.org", "eve@x.net"]);
        assert!(outside_addresses(["bob", "", ""], "plico.test").is_empty());
    }

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
