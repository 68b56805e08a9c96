//! The reading pane: decrypts, verifies and shows one message and its conversation.
//!
//! HTML mail is shown in an `<iframe sandbox srcdoc>` with no allowances (no scripts, no forms,
//! no popups, no navigation, an opaque origin) and its own CSP: images only from `data:` until
//! the user loads remote content for this message, then also from `https:`. The render worker
//! sanitised the HTML before it got here; the frame is the boundary that holds even when the
//! sanitiser misses something. The frame cannot open links, so the reader lists them below it.

use leptos::prelude::*;
use plico_api::worker::{KeysCommand, MailCommand};
use plico_api::worker::{OpenedMessageView, SignatureView, WorkerOutcome};

use super::compose::ComposeSeed;
use super::state::MailboxState;
use crate::i18n::{t, tf};
use crate::router::use_navigator;
use crate::session::{use_session, Session};

/// The CSP of the message frame: nothing but inline styles and `data:` images, and `https:`
/// images once the user asked for remote content.
pub fn frame_policy(remote: bool) -> String {
    let images = if remote { "data: https:" } else { "data:" };
    format!("default-src 'none'; style-src 'unsafe-inline'; img-src {images}; form-action 'none'; base-uri 'none'")
}

/// The document the frame shows: the sanitised body under the frame's own CSP. The frame also
/// inherits the app's policy, which allows no inline styles, so the default face comes from a
/// presentational `<font>` element, which no policy governs.
pub fn frame_document(html: &str, remote: bool) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\"></head>\
         <body><font face=\"system-ui, sans-serif\">{html}</font></body></html>",
        frame_policy(remote)
    )
}

/// Unix seconds as a short local date and time.
pub fn short_time(seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(seconds as f64 * 1000.0));
    String::from(date.to_locale_string(crate::i18n::lang().code(), &wasm_bindgen::JsValue::UNDEFINED))
}

fn signature_words(message: &OpenedMessageView) -> (&'static str, String) {
    match &message.signature {
        SignatureView::Valid { .. } => (
            "signature valid",
            tf("Signed by {sender}: the signature is valid.", &[("sender", &message.from.clone().unwrap_or_default())]),
        ),
        SignatureView::Unconfirmed { first_seen: true, .. } => (
            "signature unknown",
            tf(
                "Signed with a key that came with this message: nothing confirms it is {sender}'s.",
                &[("sender", &message.from.clone().unwrap_or_default())],
            ),
        ),
        SignatureView::Unconfirmed { first_seen: false, .. } => (
            "signature unknown",
            tf(
                "Signed with the key earlier mail from {sender} carried; nobody has confirmed it is theirs.",
                &[("sender", &message.from.clone().unwrap_or_default())],
            ),
        ),
        SignatureView::UnknownKey => {
            ("signature unknown", t("Signed with a key Plico does not know: the sender cannot be confirmed."))
        }
        SignatureView::Bad => ("signature bad", t("Bad signature: this message may have been altered.")),
        SignatureView::Unsigned => ("signature unknown", t("Not signed: the sender cannot be confirmed.")),
    }
}

fn quote(text: &str) -> String {
    text.lines()
        .map(|line| if line.is_empty() { ">".to_owned() } else { format!("> {line}") })
        .collect::<Vec<_>>()
        .join("\n")
}

fn prefixed(prefix: &str, subject: &str) -> String {
    if subject.to_ascii_lowercase().starts_with(&prefix.to_ascii_lowercase()) {
        subject.to_owned()
    } else {
        format!("{prefix} {subject}")
    }
}

/// The address part of a `Name <address>` mailbox.
pub fn bare_address(mailbox: &str) -> String {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(start), Some(end)) if start < end => mailbox[start + 1..end].to_owned(),
        _ => mailbox.trim().to_owned(),
    }
}

/// The display name of a `Name <address>` mailbox, without quotes; empty for a bare address.
fn display_name(mailbox: &str) -> String {
    match mailbox.rfind('<') {
        Some(start) => mailbox[..start].trim().trim_matches('"').trim().to_owned(),
        None => String::new(),
    }
}

/// "Add to contacts" for the sender: a contact with the name and address the message shows,
/// unless one has the address already (then it says so).
#[component]
fn AddToContacts(from: String) -> impl IntoView {
    let session = use_session();
    let (said, set_said) = signal(None::<String>);
    let from = StoredValue::new(from);
    let add = move |_| {
        let (name, address) = from.with_value(|from| (display_name(from), bare_address(from)));
        leptos::task::spawn_local(async move {
            let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
            let command = plico_api::contacts::MailContactsCommand::AddAddress { name, address: address.clone() };
            let words = match worker.contacts(&command).await {
                Ok(plico_api::contacts::MailContactsOutcome::Added { created: true, .. }) => {
                    tf("{address} is in your contacts now.", &[("address", &address)])
                }
                Ok(_) => tf("{address} was already in your contacts.", &[("address", &address)]),
                Err(message) => message,
            };
            crate::ui::set_alive(set_said, Some(words));
        });
    };
    view! {
        <button type="button" class="link-button add-contact" aria-live="polite" disabled=move || said.with(Option::is_some) on:click=add>
            {move || said.get().unwrap_or_else(|| t("Add to contacts"))}
        </button>
    }
}

/// What Reply, Reply all and Forward start the composer with.
pub fn reply_seed(message: &OpenedMessageView, own_address: &str, all: bool) -> ComposeSeed {
    let from = message.from.as_deref().map(bare_address);
    let mut to: Vec<String> = from.iter().cloned().collect();
    let mut cc = Vec::new();
    if all {
        for address in message.to.iter().map(|m| bare_address(m)) {
            if address != own_address && !to.contains(&address) {
                to.push(address);
            }
        }
        for address in message.cc.iter().map(|m| bare_address(m)) {
            if address != own_address && !to.contains(&address) && !cc.contains(&address) {
                cc.push(address);
            }
        }
    }
    if to.is_empty() {
        to = message.to.iter().map(|m| bare_address(m)).collect();
    }
    let mut references = message.references.clone();
    if let Some(id) = &message.message_id {
        if !references.contains(id) {
            references.push(id.clone());
        }
    }
    let when = message.date.map(short_time).unwrap_or_default();
    let who = message.from.clone().unwrap_or_default();
    ComposeSeed {
        to: to.join(", "),
        cc: cc.join(", "),
        subject: prefixed("Re:", &message.subject),
        body: format!(
            "\n\n{}\n{}",
            tf("On {when}, {sender} wrote:", &[("when", &when), ("sender", &who)]),
            quote(&message.text)
        ),
        in_reply_to: message.message_id.clone(),
        references,
        ..ComposeSeed::default()
    }
}

/// What Forward starts the composer with: the original quoted, its attachments kept.
pub fn forward_seed(message: &OpenedMessageView) -> ComposeSeed {
    let when = message.date.map(short_time).unwrap_or_default();
    ComposeSeed {
        to: String::new(),
        cc: String::new(),
        subject: prefixed("Fwd:", &message.subject),
        body: format!(
            "\n\n---------- {} ----------\nFrom: {}\nDate: {when}\nSubject: {}\nTo: {}\n\n{}",
            t("Forwarded message"),
            message.from.clone().unwrap_or_default(),
            message.subject,
            message.to.join(", "),
            message.text
        ),
        in_reply_to: None,
        references: Vec::new(),
        forward_attachments_of: (!message.attachments.is_empty()).then(|| message.id.clone()),
        ..ComposeSeed::default()
    }
}

async fn open(session: Session, id: String) -> Result<OpenedMessageView, String> {
    let worker = session.worker.with_value(|worker| worker.clone())?;
    match worker.call(MailCommand::OpenMessage { id }, |_| {}).await {
        Ok(WorkerOutcome::Opened(view)) => Ok(*view),
        Ok(_) => Err(t("The worker answered something unexpected.")),
        Err(failure) if failure.code == "network" => {
            Err(t("This message is not kept on this device, and the server cannot be reached: it opens once the connection is back."))
        }
        Err(failure) => Err(failure.message),
    }
}

/// The notice of a correspondent's changed key, and the choice to use the new one.
#[component]
fn KeyChanged(message_id: String, sender: String, in_directory: bool) -> impl IntoView {
    let session = use_session();
    let (error, set_error) = signal(None::<String>);
    let (chosen, set_chosen) = signal(false);
    let on_use = move |_| {
        let message_id = message_id.clone();
        leptos::task::spawn_local(async move {
            let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
            match worker.call(KeysCommand::UseNewKey { message_id }, |_| {}).await {
                Ok(_) => crate::ui::set_alive(set_chosen, true),
                Err(failure) => crate::ui::set_alive(set_error, Some(failure.message)),
            }
        });
    };
    let words = if in_directory {
        tf(
            "Plico's directory now gives a different key for {sender} than the one you kept, and this message was checked with the kept one. It may be a new key, or someone who changed the server: ask them another way before you trust it. Mail to them is not sent until you choose the new key.",
            &[("sender", &sender)],
        )
    } else {
        tf(
            "This message carries a different key for {sender} than the one Plico kept. It may be a new device, or someone pretending to be them: ask them another way before you trust it. Replies stay encrypted to the kept key until you choose the new one.",
            &[("sender", &sender)],
        )
    };
    view! {
        <div class="key-changed" role="alert">
            <p>{words}</p>
            {move || if chosen.get() {
                view! { <p class="muted">{t("The new key is kept; replies are encrypted to it.")}</p> }.into_any()
            } else {
                view! { <button type="button" class="button ghost small" on:click=on_use.clone()>{t("Use the new key")}</button> }.into_any()
            }}
            <crate::ui::ErrorText message=error/>
        </div>
    }
}

/// The reading pane for message `id`.
#[component]
pub fn Reader(id: String, selected: RwSignal<Option<String>>) -> impl IntoView {
    let session = use_session();
    let (opened, set_opened) = signal(None::<Result<OpenedMessageView, String>>);
    let message_id = id.clone();
    leptos::task::spawn_local(async move {
        crate::ui::set_alive(set_opened, Some(open(session, message_id).await));
    });
    move || match opened.get() {
        None => view! { <article class="reader" aria-busy="true"><p class="muted">{t("Decrypting…")}</p></article> }
            .into_any(),
        Some(Err(message)) => view! {
            <article class="reader">
                <h2>{t("This message cannot be read")}</h2>
                <p class="error" role="alert">{message}</p>
            </article>
        }
        .into_any(),
        Some(Ok(message)) => view! { <OpenedMessage message=message selected=selected/> }.into_any(),
    }
}

#[component]
fn OpenedMessage(message: OpenedMessageView, selected: RwSignal<Option<String>>) -> impl IntoView {
    let session = use_session();
    let mail = crate::mail::use_mail();
    let navigator = use_navigator();
    let (class, words) = signature_words(&message);
    let checks = message.sender_checks.clone().map(|checks| {
        view! { <p class="sender-checks" class:failed=checks.failed role="note">{checks.words}</p> }
    });
    let key_change = message.key_changed.then(|| {
        let sender = message.from.clone().map(|from| bare_address(&from)).unwrap_or_default();
        view! { <KeyChanged message_id=message.id.clone() sender=sender in_directory=message.directory_key_changed/> }
    });
    let remote = RwSignal::new(false);
    let (download_error, set_download_error) = signal(None::<String>);
    let message = StoredValue::new(message);
    let own = move || {
        session.identity.with_untracked(|identity| identity.as_ref().map(|i| i.address.clone()).unwrap_or_default())
    };
    let start_compose = move |seed: ComposeSeed| {
        mail.compose_seed.set(Some(seed));
        navigator.go("/compose");
    };
    let on_reply = move |_| start_compose(message.with_value(|m| reply_seed(m, &own(), false)));
    let on_reply_all = move |_| start_compose(message.with_value(|m| reply_seed(m, &own(), true)));
    let on_forward = move |_| start_compose(message.with_value(forward_seed));
    let (action_error, set_action_error) = signal(None::<String>);
    // Archive and Delete close the reader once the server has the change.
    let act_on_open = move |action: super::state::Action| {
        let id = message.with_value(|m| m.id.clone());
        leptos::task::spawn_local(async move {
            match super::state::act(session, mail, action, vec![id]).await {
                Ok(()) => crate::ui::set_alive(selected, None),
                Err(message) => crate::ui::set_alive(set_action_error, Some(message)),
            }
        });
    };
    let on_archive = move |_| match mail
        .mailbox
        .with_untracked(|state| state.folder(plico_api::mail::FolderRole::Archive).map(|f| f.id.clone()))
    {
        Some(archive) => act_on_open(super::state::Action::Move(archive)),
        None => set_action_error.set(Some(t("Your folders are still loading; try again in a moment."))),
    };
    let on_delete = move |_| act_on_open(super::state::Action::Delete);
    let conversation = Memo::new(move |_| {
        let id = message.with_value(|m| m.id.clone());
        mail.mailbox.with(|state: &MailboxState| state.conversation(&id))
    });
    let body = message.with_value(|m| match m.html.clone() {
        Some(html) => {
            let has_remote = m.has_remote_content;
            let links = m.links.clone();
            view! {
                {has_remote.then(|| view! {
                    <div class="remote-bar" role="status">
                        {move || if remote.get() {
                            view! { <span>{t("Remote content is shown for this message.")}</span> }.into_any()
                        } else {
                            view! {
                                <span>{t("Remote images are blocked to protect your privacy.")}</span>
                                <button type="button" class="button ghost small" on:click=move |_| remote.set(true)>{t("Load remote content")}</button>
                            }.into_any()
                        }}
                    </div>
                })}
                <iframe class="message-frame" title=t("Message content") sandbox="" referrerpolicy="no-referrer"
                    srcdoc=move || frame_document(&html, remote.get())></iframe>
                {(!links.is_empty()).then(|| view! {
                    <section class="links" aria-label=t("Links in this message")>
                        <h3>{tf("Links in this message ({count})", &[("count", &links.len().to_string())])}</h3>
                        <ul>{links.into_iter().map(|href| {
                            let text = href.clone();
                            view! { <li><a href=href target="_blank" rel="noopener noreferrer">{text}</a></li> }
                        }).collect_view()}</ul>
                    </section>
                })}
            }
            .into_any()
        }
        None => view! { <pre class="message-text">{m.text.clone()}</pre> }.into_any(),
    });
    let attachments = message.with_value(|m| m.attachments.clone());
    view! {
        <article class="reader" aria-labelledby="reader-subject">
            <div class="reader-actions" role="toolbar" aria-label=t("Message actions")>
                <button type="button" class="button ghost small" data-shortcut="r" aria-keyshortcuts="r" title=t("Reply (r)") on:click=on_reply>{t("Reply")}</button>
                <button type="button" class="button ghost small" data-shortcut="a" aria-keyshortcuts="a" title=t("Reply all (a)") on:click=on_reply_all>{t("Reply all")}</button>
                <button type="button" class="button ghost small" data-shortcut="f" aria-keyshortcuts="f" title=t("Forward (f)") on:click=on_forward>{t("Forward")}</button>
                <button type="button" class="button ghost small" data-shortcut="e" aria-keyshortcuts="e" title=t("Archive (e)") on:click=on_archive>{t("Archive")}</button>
                <button type="button" class="button danger-ghost small" data-shortcut="#" aria-keyshortcuts="Shift+3" title=t("Delete (#)") on:click=on_delete>{t("Delete")}</button>
                <crate::ui::ErrorText message=action_error/>
                <button type="button" class="button ghost small close" aria-label=t("Close message") on:click=move |_| selected.set(None)>"✕"</button>
            </div>
            <h2 id="reader-subject">{message.with_value(|m| if m.subject.is_empty() { t("(no subject)") } else { m.subject.clone() })}</h2>
            <p class=class role="status">{words}</p>
            {message.with_value(|m| match &m.signature {
                // The key's fingerprint, to compare with the sender's (marked verified on the
                // contact's page or the account page).
                SignatureView::Valid { signer, verified } => Some(view! {
                    <p class="signer-key">{t("Fingerprint")}" "<code class="mono">{crate::ui::format::group_fingerprint(signer)}</code>
                        <span class="verified">{verified.then(|| t("Verified"))}</span></p>
                }),
                _ => None,
            })}
            {message.with_value(|m| m.unsigned_headers).then(|| view! {
                <p class="sender-checks failed" role="note">{t("The signature covers the text and attachments, not the Subject, From, To or Date shown: those could have been changed.")}</p>
            })}
            {checks}
            {key_change}
            <dl class="headers">
                <dt>{t("From")}</dt><dd>{message.with_value(|m| m.from.clone().unwrap_or_default())}
                    {message.with_value(|m| m.from.clone()).map(|from| view! { <AddToContacts from/> })}</dd>
                <dt>{t("To")}</dt><dd>{message.with_value(|m| m.to.join(", "))}</dd>
                {message.with_value(|m| (!m.cc.is_empty()).then(|| view! { <dt>{t("Cc")}</dt><dd>{m.cc.join(", ")}</dd> }))}
                <dt>{t("Date")}</dt><dd>{message.with_value(|m| m.date.map(short_time).unwrap_or_default())}</dd>
            </dl>
            {body}
            {(!attachments.is_empty()).then(|| view! {
                <ul class="attachments" aria-label=t("Attachments")>
                    {attachments.into_iter().enumerate().map(|(index, attachment)| {
                        let label = format!("{} ({})", attachment.file_name, crate::ui::human_size(attachment.size));
                        let on_download = move |_| {
                            let message_id = message.with_value(|m| m.id.clone());
                            leptos::task::spawn_local(async move {
                                let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
                                match worker.call(MailCommand::Attachment { message_id, index: index as u32 }, |_| {}).await {
                                    Ok(WorkerOutcome::File(file)) => {
                                        if let Err(error) = crate::ui::save_file(&file.file_name, &file.content_type, &file.data) {
                                            crate::ui::set_alive(set_download_error, Some(error));
                                        }
                                    }
                                    Ok(_) => crate::ui::set_alive(set_download_error, Some(t("The worker answered something unexpected."))),
                                    Err(failure) => crate::ui::set_alive(set_download_error, Some(failure.message)),
                                }
                            });
                        };
                        view! {
                            <li><button type="button" class="attachment" on:click=on_download>
                                <crate::ui::PaperclipIcon/>{label}<span class="visually-hidden">{t(", download decrypted")}</span>
                            </button></li>
                        }
                    }).collect_view()}
                </ul>
            })}
            <crate::ui::ErrorText message=download_error/>
            {move || {
                let thread = conversation.get();
                (thread.len() > 1).then(|| view! {
                    <section class="conversation" aria-label=t("Conversation")>
                        <h3>{tf("Conversation ({count} messages)", &[("count", &thread.len().to_string())])}</h3>
                        <ol>
                            {thread.into_iter().map(|listed| {
                                let id = listed.id.clone();
                                let current = message.with_value(|m| m.id == id);
                                let (from, subject) = listed.summary.as_ref().map(|s| (
                                    s.from_name.clone().or(s.from_address.clone()).unwrap_or_default(),
                                    s.subject.clone(),
                                )).unwrap_or_else(|| ("—".into(), t("This message cannot be read")));
                                view! {
                                    <li class:current=current>
                                        <button type="button" class="thread-item" on:click=move |_| selected.set(Some(id.clone()))>
                                            <span class="row-from">{from}</span>
                                            <span class="row-subject">{subject}</span>
                                            <span class="row-date">{short_time(listed.received_at)}</span>
                                        </button>
                                    </li>
                                }
                            }).collect_view()}
                        </ol>
                    </section>
                })
            }}
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plico_api::worker::AttachmentView;

    fn opened() -> OpenedMessageView {
        OpenedMessageView {
            id: "m1".into(),
            subject: "Plans".into(),
            from: Some("Alice <alice@plico.test>".into()),
            to: vec!["bob@plico.test".into(), "carol@plico.test".into()],
            cc: vec!["dave@plico.test".into()],
            date: None,
            bcc: vec![],
            message_id: Some("root@plico.test".into()),
            in_reply_to: vec![],
            references: vec![],
            text: "line one\n\nline two".into(),
            html: None,
            has_remote_content: false,
            links: vec![],
            attachments: vec![AttachmentView { file_name: "a.bin".into(), content_type: "x/y".into(), size: 3 }],
            signature: SignatureView::Unsigned,
            key_changed: false,
            directory_key_changed: false,
            unsigned_headers: false,
            sender_checks: None,
        }
    }

    #[test]
    fn replies_quote_thread_and_address_the_right_people() {
        let reply = reply_seed(&opened(), "bob@plico.test", false);
        assert_eq!(reply.to, "alice@plico.test");
        assert_eq!(reply.subject, "Re: Plans");
        assert!(reply.body.contains("> line one\n>\n> line two"), "{}", reply.body);
        assert_eq!(reply.in_reply_to.as_deref(), Some("root@plico.test"));
        assert_eq!(reply.references, ["root@plico.test"]);
        let all = reply_seed(&opened(), "bob@plico.test", true);
        assert_eq!(all.to, "alice@plico.test, carol@plico.test", "not myself");
        assert_eq!(all.cc, "dave@plico.test");
        let mut again = opened();
        again.subject = "RE: Plans".into();
        assert_eq!(reply_seed(&again, "bob@plico.test", false).subject, "RE: Plans", "no Re: Re:");
        let forward = forward_seed(&opened());
        assert_eq!(forward.subject, "Fwd: Plans");
        assert!(forward.to.is_empty());
        assert_eq!(forward.forward_attachments_of.as_deref(), Some("m1"));
        assert!(forward.body.contains("line two"));
    }

    #[test]
    fn the_frame_policy_allows_remote_images_only_when_asked() {
        assert_eq!(
            frame_policy(false),
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"
        );
        assert!(frame_policy(true).contains("img-src data: https:;"));
        assert!(frame_document("<p>x</p>", false).contains("<p>x</p></font></body>"));
    }
}
