//! The signed-in shell and the (for now empty) message list.

use leptos::prelude::*;
use plico_api::worker::WorkerCommand;

use super::model::{folder_for_slug, SYSTEM_FOLDERS};
use crate::app::use_session;
use crate::router::{use_navigator, Link, Redirect};
use crate::ui::Brand;

/// Signs out: deletes the session on the server and wipes the keys from the worker's memory.
#[component]
pub fn SignOutButton() -> impl IntoView {
    let session = use_session();
    let navigator = use_navigator();
    let on_click = move |_| {
        leptos::task::spawn_local(async move {
            let _ = crate::api_client::send("POST", "/logout").await;
            if let Ok(worker) = session.worker.with_value(|worker| worker.clone()) {
                let _ = worker.call(WorkerCommand::Lock, |_| {}).await;
            }
            session.identity.set(None);
            session.remembered_address.set(None);
            session.mailbox.set(Default::default());
            navigator.go("/login");
        });
    };
    view! { <button type="button" class="button ghost" on:click=on_click>"Sign out"</button> }
}

/// The frame around every signed-in page. Redirects to sign-in when the keys are locked.
#[component]
pub fn Shell(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    move || {
        let Some(identity) = session.identity.get() else {
            return view! { <Redirect path="/login"/> }.into_any();
        };
        view! {
            <div class="shell">
                <header class="topbar">
                    <Link href="/mail/inbox" class="brand-link"><Brand/></Link>
                    <span class="badge-e2e" title="Your mail is encrypted in this browser before it reaches the server">"End-to-end encrypted"</span>
                    <div class="topbar-actions">
                        <Link href="/account" class="account-link">
                            <span class="avatar" aria-hidden="true">{identity.address.chars().next().map(|c| c.to_ascii_uppercase().to_string())}</span>
                            <span class="account-address">{identity.address.clone()}</span>
                        </Link>
                        <SignOutButton/>
                    </div>
                </header>
                <nav class="sidebar" aria-label="Folders">
                    <Link href="/compose" class="button primary compose-button">"New message"</Link>
                    <ul>
                        {SYSTEM_FOLDERS.iter().map(|folder| {
                            let role = plico_api::mail::FolderRole::parse(folder.slug);
                            let unread = move || {
                                session.mailbox.with(|state| role.and_then(|role| state.folder(role)).map(|f| f.unread).unwrap_or(0))
                            };
                            view! {
                                <li><Link href=format!("/mail/{}", folder.slug) class="folder-link">
                                    <span>{folder.label}</span>
                                    {move || (unread() > 0).then(|| view! {
                                        <span class="unread-count" aria-label=format!("{} unread", unread())>{unread()}</span>
                                    })}
                                </Link></li>
                            }
                        }).collect_view()}
                    </ul>
                </nav>
                <div class="content">{children.with_value(|children| children())}</div>
            </div>
        }
        .into_any()
    }
}

/// A folder of the mailbox; `folder` is the path segment after `/mail/`.
#[component]
pub fn MailPage(folder: String) -> impl IntoView {
    let session = use_session();
    let (sync_error, set_sync_error) = signal(None::<String>);
    let selected = RwSignal::new(None::<String>);
    super::state::sync(session, session.mailbox, set_sync_error);
    let Some(folder) = folder_for_slug(&folder) else {
        return view! {
            <Shell>
                <section class="message-list">
                    <h1 class="folder-title">"No such folder"</h1>
                    <p>"This folder does not exist. Pick one on the left."</p>
                </section>
            </Shell>
        }
        .into_any();
    };
    let role = plico_api::mail::FolderRole::parse(folder.slug);
    let messages = Memo::new(move |_| {
        session
            .mailbox
            .with(|state| role.and_then(|role| state.folder(role)).map(|f| state.in_folder(&f.id)).unwrap_or_default())
    });
    let synced = move || session.mailbox.with(|state| state.synced_once);
    view! {
        <Shell>
            <div class="mail-columns">
                <section class="message-list" aria-labelledby="folder-title">
                    <h1 id="folder-title" class="folder-title">{folder.label}</h1>
                    <crate::ui::ErrorText message=sync_error/>
                    {move || {
                        let listed = messages.get();
                        if listed.is_empty() {
                            view! {
                                <div class="empty-state">
                                    <svg viewBox="0 0 64 64" aria-hidden="true" class="empty-illustration">
                                        <rect x="8" y="16" width="48" height="34" rx="6"/>
                                        <path d="M10 20l22 16 22-16"/>
                                    </svg>
                                    <h2>{if synced() { folder.empty_title } else { "Loading…" }}</h2>
                                    <p>{folder.empty_text}</p>
                                </div>
                            }.into_any()
                        } else {
                            view! {
                                <ul class="messages" aria-label=format!("Messages in {}", folder.label)>
                                    {listed.into_iter().map(|message| view! { <MessageRow message=message selected=selected/> }).collect_view()}
                                </ul>
                            }.into_any()
                        }
                    }}
                </section>
                {move || selected.get().map(|id| view! { <Reader id=id/> })}
            </div>
        </Shell>
    }
    .into_any()
}

/// Unix seconds as a short local date and time.
fn short_time(seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(seconds as f64 * 1000.0));
    String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}

#[component]
fn MessageRow(message: plico_api::worker::ListedMessage, selected: RwSignal<Option<String>>) -> impl IntoView {
    let session = use_session();
    let id = message.id.clone();
    let unread = move || {
        let id = id.clone();
        session
            .mailbox
            .with(|state| state.messages.get(&id).is_some_and(|m| m.flags & plico_api::mail::flags::SEEN == 0))
    };
    let id = message.id.clone();
    let on_click = move |_| {
        selected.set(Some(id.clone()));
        let mut changed = false;
        session.mailbox.update(|state| changed = state.mark_seen(&id));
        if changed {
            let update = plico_api::mail::MessageUpdate {
                ids: vec![id.clone()],
                add_flags: plico_api::mail::flags::SEEN,
                ..Default::default()
            };
            leptos::task::spawn_local(async move {
                let _ = crate::api_client::send_json("PATCH", "/messages", &update).await;
            });
        }
    };
    let row_id = StoredValue::new(message.id.clone());
    let is_selected = move || selected.with(|current| row_id.with_value(|id| current.as_deref() == Some(id.as_str())));
    let when = short_time(message.received_at);
    let (from, subject, snippet, attachment) = match &message.summary {
        Some(summary) => (
            summary.from_name.clone().or(summary.from_address.clone()).unwrap_or_else(|| "(unknown sender)".into()),
            if summary.subject.is_empty() { "(no subject)".to_owned() } else { summary.subject.clone() },
            summary.snippet.clone(),
            summary.has_attachments,
        ),
        None => {
            ("—".into(), "This message cannot be read".into(), "It could not be decrypted with your key.".into(), false)
        }
    };
    view! {
        <li>
            <button type="button" class="message-row" class:unread=unread class:selected=is_selected
                aria-pressed=move || is_selected().to_string() on:click=on_click>
                <span class="row-from">{from}</span>
                <span class="row-date">{when}</span>
                <span class="row-subject">{subject}{attachment.then_some(" 📎")}</span>
                <span class="row-snippet">{snippet}</span>
            </button>
        </li>
    }
}

/// The reading pane: decrypts, verifies and shows one message.
#[component]
fn Reader(id: String) -> impl IntoView {
    use plico_api::worker::{OpenedMessageView, SignatureView, WorkerCommand, WorkerOutcome};
    let session = use_session();
    let (opened, set_opened) = signal(None::<Result<OpenedMessageView, String>>);
    leptos::task::spawn_local(async move {
        let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
        let result = match worker.call(WorkerCommand::OpenMessage { id }, |_| {}).await {
            Ok(WorkerOutcome::Opened(view)) => Ok(*view),
            Ok(_) => Err("The worker answered something unexpected.".to_owned()),
            Err(failure) => Err(failure.message),
        };
        set_opened.set(Some(result));
    });
    move || {
        match opened.get() {
        None => view! { <article class="reader" aria-busy="true"><p class="muted">"Decrypting…"</p></article> }.into_any(),
        Some(Err(message)) => view! {
            <article class="reader"><h2>"This message cannot be read"</h2><p class="error" role="alert">{message}</p></article>
        }.into_any(),
        Some(Ok(message)) => {
            let (class, text) = match &message.signature {
                SignatureView::Valid { .. } => ("signature valid", format!("Signed by {}: the signature is valid.", message.from.clone().unwrap_or_default())),
                SignatureView::UnknownKey => ("signature unknown", "Signed with a key Plico does not know: the sender cannot be confirmed.".to_owned()),
                SignatureView::Bad => ("signature bad", "Bad signature: this message may have been altered.".to_owned()),
                SignatureView::Unsigned => ("signature unknown", "Not signed: the sender cannot be confirmed.".to_owned()),
            };
            view! {
                <article class="reader" aria-labelledby="reader-subject">
                    <h2 id="reader-subject">{if message.subject.is_empty() { "(no subject)".to_owned() } else { message.subject.clone() }}</h2>
                    <p class=class role="status">{text}</p>
                    <dl class="headers">
                        <dt>"From"</dt><dd>{message.from.clone().unwrap_or_default()}</dd>
                        <dt>"To"</dt><dd>{message.to.join(", ")}</dd>
                        {(!message.cc.is_empty()).then(|| view! { <dt>"Cc"</dt><dd>{message.cc.join(", ")}</dd> })}
                        <dt>"Date"</dt><dd>{message.date.map(short_time).unwrap_or_default()}</dd>
                    </dl>
                    <pre class="message-text">{message.text.clone()}</pre>
                    {(!message.attachments.is_empty()).then(|| view! {
                        <ul class="attachments" aria-label="Attachments">
                            {message.attachments.iter().map(|a| view! {
                                <li>{format!("{} ({} KB)", a.file_name, a.size.div_ceil(1024))}</li>
                            }).collect_view()}
                        </ul>
                    })}
                </article>
            }.into_any()
        }
    }
    }
}
