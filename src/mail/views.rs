//! The signed-in shell: the sidebar with system and user folders, the message list with its
//! multi-selection toolbar, and the recovery area.

use leptos::prelude::*;
use plico_api::worker::{MailCommand, SessionCommand};

use std::collections::HashSet;

use plico_api::mail::{flags, FolderRole, MessageUpdate, RECOVERY_DAYS};
use plico_api::worker::ListedMessage;

use super::model::{folder_for_slug, SYSTEM_FOLDERS};
use crate::i18n::{n, t, tf, tp};
use crate::router::{use_navigator, Link, Redirect};
use crate::session::use_session;
use crate::ui::Brand;

/// Signs out: deletes the session on the server and wipes the keys from the worker's memory.
/// With `forget`, also deletes this device's encrypted copy of the mailbox.
#[component]
pub fn SignOutButton(#[prop(optional)] forget: bool) -> impl IntoView {
    let session = use_session();
    let mail = crate::mail::use_mail();
    let navigator = use_navigator();
    let on_click = move |_| {
        leptos::task::spawn_local(async move {
            let _ = crate::api_client::send("POST", "/logout").await;
            if let Ok(worker) = session.worker.with_value(|worker| worker.clone()) {
                let command = if forget { SessionCommand::ForgetDevice } else { SessionCommand::Lock };
                let _ = worker.call(command, |_| {}).await;
            }
            session.identity.set(None);
            session.remembered_address.set(None);
            mail.mailbox.set(Default::default());
            mail.search.set(Default::default());
            navigator.go("/login");
        });
    };
    let (class, label) = if forget {
        ("button danger-ghost", t("Sign out and forget this device"))
    } else {
        ("button ghost", t("Sign out"))
    };
    view! { <button type="button" class=class on:click=on_click>{label}</button> }
}

/// The frame around every signed-in page. Redirects to sign-in when the keys are locked.
/// `apps_only`: another app's page (Contacts, Calendar, Settings), without mail's folders;
/// `current`: which app of the switch it is (`contacts`, `calendar`; none for Settings).
#[component]
pub fn Shell(
    children: ChildrenFn,
    #[prop(optional)] apps_only: bool,
    #[prop(optional)] current: &'static str,
) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    move || {
        let Some(identity) = session.identity.get() else {
            return view! { <Redirect path="/login"/> }.into_any();
        };
        view! {
            <div class="shell" class:apps-only=apps_only>
                <header class="topbar">
                    <Link href="/mail/inbox" class="brand-link"><Brand/></Link>
                    <span class="badge-e2e" title=t("Your mail is encrypted in this browser before it reaches the server")>{t("End-to-end encrypted")}</span>
                    <nav class="app-switch" aria-label=t("Apps")>
                        <Link href="/mail/inbox" class=if apps_only { "app-link" } else { "app-link current" }>{t("Mail")}</Link>
                        <Link href="/contacts" class=if current == "contacts" { "app-link current" } else { "app-link" }>{t("Contacts")}</Link>
                        <Link href="/calendar" class=if current == "calendar" { "app-link current" } else { "app-link" }>{t("Calendar")}</Link>
                    </nav>
                    {(!apps_only).then(|| view! { <super::search::SearchBox/> })}
                    <div class="topbar-actions">
                        <Link href="/account" class="account-link">
                            <span class="avatar" aria-hidden="true">{identity.address.chars().next().map(|c| c.to_ascii_uppercase().to_string())}</span>
                            <span class="account-address">{identity.address.clone()}</span>
                        </Link>
                        <crate::shortcuts::ShortcutButton/>
                        <SignOutButton/>
                    </div>
                </header>
                {(!apps_only).then(|| view! { <Sidebar/> })}
                <div class="content">{children.with_value(|children| children())}</div>
            </div>
        }
        .into_any()
    }
}

fn unread_badge(unread: u32) -> impl IntoView {
    (unread > 0).then(|| view! { <span class="unread-count" aria-label=format!("{unread} unread")>{unread}</span> })
}

#[component]
fn Sidebar() -> impl IntoView {
    let session = use_session();
    let mail = crate::mail::use_mail();
    let adding = RwSignal::new(false);
    let new_name = RwSignal::new(String::new());
    let (folder_error, set_folder_error) = signal(None::<String>);
    let on_create = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let name = new_name.get_untracked();
        leptos::task::spawn_local(async move {
            match super::state::folder_command(session, mail, MailCommand::CreateFolder { name }).await {
                Ok(()) => {
                    crate::ui::set_alive(adding, false);
                    crate::ui::set_alive(new_name, String::new());
                    crate::ui::set_alive(set_folder_error, None);
                }
                Err(message) => crate::ui::set_alive(set_folder_error, Some(message)),
            }
        });
    };
    view! {
        <nav class="sidebar" aria-label=t("Folders")>
            <Link href="/compose" class="button primary compose-button" attr:aria-keyshortcuts="c" attr:title=t("New message (c)")>{t("New message")}</Link>
            <ul>
                {SYSTEM_FOLDERS.iter().map(|folder| {
                    let role = plico_api::mail::FolderRole::parse(folder.slug);
                    let unread = move || {
                        mail.mailbox.with(|state| role.and_then(|role| state.folder(role)).map(|f| f.unread).unwrap_or(0))
                    };
                    view! {
                        <li><Link href=format!("/mail/{}", folder.slug) class="folder-link">
                            <span>{t(folder.label)}</span>
                            {move || unread_badge(unread())}
                        </Link></li>
                    }
                }).collect_view()}
                {move || {
                    let waiting = mail.mailbox.with(|state| state.outbox.len());
                    (waiting > 0).then(|| view! {
                        <li><Link href="/mail/outbox" class="folder-link">
                            <span>{t("Outbox")}</span>
                            <span class="unread-count outbox-count" aria-label=tf("{count} waiting", &[("count", &waiting.to_string())])>{waiting}</span>
                        </Link></li>
                    })
                }}
            </ul>
            <div class="sidebar-heading">
                <h2 id="user-folders">{t("Folders")}</h2>
                <button type="button" class="link-button" aria-label=t("New folder") on:click=move |_| adding.update(|open| *open = !*open)>{t("+ New")}</button>
            </div>
            {move || adding.get().then(|| view! {
                <form class="folder-form" on:submit=on_create>
                    <label class="visually-hidden" for="new-folder-name">{t("Folder name")}</label>
                    <input id="new-folder-name" type="text" placeholder=t("Folder name") maxlength="100"
                        prop:value=move || new_name.get() on:input=move |ev| new_name.set(event_target_value(&ev))/>
                    <button type="submit" class="button ghost small">{t("Create")}</button>
                </form>
            })}
            <crate::ui::ErrorText message=folder_error/>
            <ul aria-labelledby="user-folders">
                {move || mail.mailbox.with(|state| state.user_folders()).into_iter().map(|folder| view! {
                    <li><Link href=format!("/mail/{}", folder.id) class="folder-link">
                        <span>{folder.name.clone().unwrap_or_else(|| t("(unreadable name)"))}</span>
                        {unread_badge(folder.unread)}
                    </Link></li>
                }).collect_view()}
            </ul>
            <ul class="sidebar-footer">
                <li><Link href="/mail/recover" class="folder-link"><span>{t("Recover deleted messages")}</span></Link></li>
            </ul>
        </nav>
    }
}

/// How many messages a list shows at first, and how many more each "show older" adds: a
/// mailbox of 10,000 renders one page, not 10,000 rows.
pub const PAGE_SIZE: usize = 50;

/// Which list a mail page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Listing {
    /// A folder, by id once synced; `role` for system folders.
    Folder { id: Option<String>, role: Option<FolderRole>, label: String },
    /// Messages deleted from Trash, recoverable for 45 days.
    Recover,
}

/// A folder of the mailbox; `folder` is the path segment after `/mail/`: a system folder's slug,
/// `recover`, or a user folder's id.
#[component]
pub fn MailPage(folder: String) -> impl IntoView {
    let session = use_session();
    let mail = crate::mail::use_mail();
    let (sync_error, set_sync_error) = signal(None::<String>);
    super::state::sync(session, mail, set_sync_error);
    let slug = folder;
    let system = folder_for_slug(&slug);
    let listing = {
        let slug = slug.clone();
        Memo::new(move |_| {
            if slug == "recover" {
                return Some(Listing::Recover);
            }
            if let Some(system) = folder_for_slug(&slug) {
                let role = FolderRole::parse(system.slug);
                let id = mail.mailbox.with(|state| role.and_then(|role| state.folder(role)).map(|f| f.id.clone()));
                return Some(Listing::Folder { id, role, label: t(system.label) });
            }
            mail.mailbox.with(|state| {
                state.folders.iter().find(|f| f.id == slug && f.role.is_none()).map(|f| Listing::Folder {
                    id: Some(f.id.clone()),
                    role: None,
                    label: f.name.clone().unwrap_or_else(|| t("(unreadable name)")),
                })
            })
        })
    };
    let synced = move || mail.mailbox.with(|state| state.synced_once);
    let selected = RwSignal::new(None::<String>);
    let checked = RwSignal::new(HashSet::<String>::new());
    let shown = RwSignal::new(PAGE_SIZE);
    let (action_error, set_action_error) = signal(None::<String>);
    let messages = Memo::new(move |_| match listing.get() {
        Some(Listing::Folder { id: Some(id), .. }) => mail.mailbox.with(|state| state.in_folder(&id)),
        Some(Listing::Recover) => mail.mailbox.with(|state| state.recoverable()),
        _ => Vec::new(),
    });
    // Checked rows that left the list (moved, deleted) stop counting.
    Effect::new(move |_| {
        let visible: HashSet<String> = messages.with(|listed| listed.iter().map(|m| m.id.clone()).collect());
        if checked.with_untracked(|ids| ids.iter().any(|id| !visible.contains(id))) {
            checked.update(|ids| ids.retain(|id| visible.contains(id)));
        }
    });
    let empty = system.copied();
    view! {
        <Shell>
            {move || match listing.get() {
                None => view! {
                    <section class="message-list">
                        <h1 class="folder-title">{if synced() { t("No such folder") } else { t("Loading…") }}</h1>
                        {synced().then(|| view! { <p>{t("This folder does not exist. Pick one on the left.")}</p> })}
                    </section>
                }.into_any(),
                Some(current) => {
                    let (title, role, folder_id) = match &current {
                        Listing::Folder { label, role, id } => (label.clone(), *role, id.clone()),
                        Listing::Recover => (t("Recover deleted messages"), None, None),
                    };
                    let recover = current == Listing::Recover;
                    let drafts = role == Some(FolderRole::Drafts);
                    let user_folder = role.is_none() && !recover;
                    view! {
                        <div class="mail-columns">
                            <section class="message-list" aria-labelledby="folder-title">
                                <div class="folder-header">
                                    <h1 id="folder-title" class="folder-title">{title.clone()}</h1>
                                    {user_folder.then(|| folder_id.clone().map(|id| view! { <FolderMenu id=id name=title.clone()/> }))}
                                </div>
                                {recover.then(|| view! {
                                    <p class="hint">{tf("Messages deleted from Trash can be recovered for {days} days; recovered messages go back to Trash. After that they are erased from the server for good.", &[("days", &RECOVERY_DAYS.to_string())])}</p>
                                })}
                                <crate::ui::ErrorText message=sync_error/>
                                <Toolbar role=role recover=recover checked=checked messages=messages error=set_action_error/>
                                <crate::ui::ErrorText message=action_error/>
                                {move || {
                                    let listed = messages.get();
                                    if listed.is_empty() {
                                        let (heading, text) = match (empty, recover) {
                                            (_, true) => (n("Nothing to recover"), n("Messages you delete from Trash show up here for 45 days.")),
                                            (Some(folder), _) => (folder.empty_title, folder.empty_text),
                                            (None, _) => (n("This folder is empty"), n("Move messages here from any folder.")),
                                        };
                                        view! {
                                            <div class="empty-state">
                                                <svg viewBox="0 0 64 64" aria-hidden="true" class="empty-illustration">
                                                    <rect x="8" y="16" width="48" height="34" rx="6"/>
                                                    <path d="M10 20l22 16 22-16"/>
                                                </svg>
                                                <h2>{if synced() { t(heading) } else { t("Loading…") }}</h2>
                                                <p>{t(text)}</p>
                                            </div>
                                        }.into_any()
                                    } else {
                                        let total = listed.len();
                                        let limit = shown.get();
                                        view! {
                                            <ul class="messages" aria-label=tf("Messages in {folder}", &[("folder", &title)])>
                                                {listed.into_iter().take(limit).map(|message| view! {
                                                    <MessageRow message=message selected=selected checked=checked recover=recover drafts=drafts/>
                                                }).collect_view()}
                                            </ul>
                                            {(total > limit).then(|| view! {
                                                <button type="button" class="button ghost show-more" on:click=move |_| shown.update(|n| *n += PAGE_SIZE)>
                                                    {tf("Show older messages ({count} more)", &[("count", &crate::i18n::number((total - limit) as u64))])}
                                                </button>
                                            })}
                                        }.into_any()
                                    }
                                }}
                            </section>
                            {move || selected.get().map(|id| view! { <super::reader::Reader id=id selected=selected/> })}
                        </div>
                    }.into_any()
                }
            }}
        </Shell>
    }
}

/// Rename and delete for a user folder.
#[component]
fn FolderMenu(id: String, name: String) -> impl IntoView {
    let session = use_session();
    let mail = crate::mail::use_mail();
    let navigator = use_navigator();
    let renaming = RwSignal::new(false);
    let new_name = RwSignal::new(name.clone());
    let (error, set_error) = signal(None::<String>);
    let id = StoredValue::new(id);
    let on_rename = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let command = MailCommand::RenameFolder { folder_id: id.get_value(), name: new_name.get_untracked() };
        leptos::task::spawn_local(async move {
            match super::state::folder_command(session, mail, command).await {
                Ok(()) => crate::ui::set_alive(renaming, false),
                Err(message) => crate::ui::set_alive(set_error, Some(message)),
            }
        });
    };
    let on_delete = move |_| {
        let confirmed = web_sys::window()
            .and_then(|window| {
                window
                    .confirm_with_message(&tf(
                        "Delete the folder “{folder}”? Its messages move to Trash.",
                        &[("folder", &name)],
                    ))
                    .ok()
            })
            .unwrap_or(false);
        if !confirmed {
            return;
        }
        leptos::task::spawn_local(async move {
            match crate::api_client::send("DELETE", &format!("/folders/{}", id.get_value())).await {
                Ok(()) => {
                    let _ = super::state::sync_now(session, mail).await;
                    navigator.go("/mail/inbox");
                }
                Err(failure) => crate::ui::set_alive(set_error, Some(failure.message)),
            }
        });
    };
    view! {
        <div class="folder-menu">
            {move || if renaming.get() {
                view! {
                    <form class="folder-form" on:submit=on_rename>
                        <label class="visually-hidden" for="rename-folder">{t("New folder name")}</label>
                        <input id="rename-folder" type="text" maxlength="100"
                            prop:value=move || new_name.get() on:input=move |ev| new_name.set(event_target_value(&ev))/>
                        <button type="submit" class="button ghost small">{t("Save")}</button>
                    </form>
                }.into_any()
            } else {
                view! { <button type="button" class="button ghost small" on:click=move |_| renaming.set(true)>{t("Rename")}</button> }.into_any()
            }}
            <button type="button" class="button danger-ghost small" on:click=on_delete>{t("Delete folder")}</button>
            <crate::ui::ErrorText message=error/>
        </div>
    }
}

/// Actions on the checked messages.
#[component]
fn Toolbar(
    role: Option<FolderRole>,
    recover: bool,
    checked: RwSignal<HashSet<String>>,
    messages: Memo<Vec<ListedMessage>>,
    error: WriteSignal<Option<String>>,
) -> impl IntoView {
    let session = use_session();
    let mail = crate::mail::use_mail();
    let none_checked = move || checked.with(HashSet::is_empty);
    let all_checked = move || {
        let count = checked.with(HashSet::len);
        count > 0 && messages.with(|listed| listed.len() == count)
    };
    let toggle_all = move |_| {
        if all_checked() {
            checked.set(HashSet::new());
        } else {
            checked.set(messages.with(|listed| listed.iter().map(|m| m.id.clone()).collect()));
        }
    };
    let run = move |action: Action| {
        let ids: Vec<String> = checked.with_untracked(|ids| ids.iter().cloned().collect());
        if ids.is_empty() && !matches!(action, Action::EmptyTrash) {
            return;
        }
        // The selection clears at once: one the user makes while this runs is a new one.
        checked.set(HashSet::new());
        leptos::task::spawn_local(async move {
            crate::ui::set_alive(error, super::state::act(session, mail, action, ids).await.err());
        });
    };
    let move_targets = move || {
        mail.mailbox.with(|state| {
            state
                .folders
                .iter()
                .filter(|folder| folder.role != role || folder.role.is_none())
                .filter(|folder| !matches!(folder.role, Some(FolderRole::Drafts | FolderRole::Trash)))
                .map(|folder| (folder.id.clone(), super::state::folder_label(folder)))
                .collect::<Vec<_>>()
        })
    };
    let in_trash = role == Some(FolderRole::Trash);
    view! {
        <div class="toolbar" role="toolbar" aria-label=t("Actions on selected messages")>
            <label class="select-all">
                <input type="checkbox" prop:checked=all_checked on:change=toggle_all/>
                <span class="visually-hidden">{t("Select all")}</span>
            </label>
            {move || if none_checked() {
                view! { <span class="toolbar-hint">{t("Select messages to act on them.")}</span> }.into_any()
            } else if recover {
                view! {
                    <button type="button" class="button ghost small" on:click=move |_| run(Action::Recover)>{t("Recover to Trash")}</button>
                }.into_any()
            } else {
                view! {
                    <button type="button" class="button ghost small" on:click=move |_| run(Action::Flags { add: flags::SEEN, remove: 0 })>{t("Mark read")}</button>
                    <button type="button" class="button ghost small" on:click=move |_| run(Action::Flags { add: 0, remove: flags::SEEN })>{t("Mark unread")}</button>
                    <button type="button" class="button ghost small" on:click=move |_| run(Action::Flags { add: flags::STARRED, remove: 0 })>{t("Star")}</button>
                    <label class="visually-hidden" for="move-to">{t("Move to")}</label>
                    <select id="move-to" class="move-to" on:change=move |ev| {
                        let target = event_target_value(&ev);
                        if !target.is_empty() {
                            run(Action::Move(target));
                        }
                        if let Some(select) = ev.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlSelectElement>(t).ok()) {
                            select.set_value("");
                        }
                    }>
                        <option value="">{t("Move to…")}</option>
                        {move || move_targets().into_iter().map(|(id, label)| view! { <option value=id>{label}</option> }).collect_view()}
                    </select>
                    <button type="button" class="button danger-ghost small" on:click=move |_| run(Action::Delete)>
                        {if in_trash { t("Delete for good") } else { t("Delete") }}
                    </button>
                }.into_any()
            }}
            {in_trash.then(|| view! {
                <button type="button" class="button danger-ghost small empty-trash" disabled=move || messages.with(Vec::is_empty)
                    on:click=move |_| {
                        checked.set(messages.with_untracked(|listed| listed.iter().map(|m| m.id.clone()).collect()));
                        run(Action::EmptyTrash)
                    }>{t("Empty trash")}</button>
            })}
            <span class="toolbar-count" aria-live="polite">{move || {
                let count = checked.with(HashSet::len);
                (count > 0).then(|| tf("{count} selected", &[("count", &count.to_string())]))
            }}</span>
        </div>
    }
}

#[component]
fn MessageRow(
    message: ListedMessage,
    selected: RwSignal<Option<String>>,
    checked: RwSignal<HashSet<String>>,
    recover: bool,
    drafts: bool,
) -> impl IntoView {
    let session = use_session();
    let mail = crate::mail::use_mail();
    let navigator = use_navigator();
    let (open_error, set_open_error) = signal(None::<String>);
    let id = StoredValue::new(message.id.clone());
    let flags_of =
        move || mail.mailbox.with(|state| id.with_value(|id| state.messages.get(id).map(|m| m.flags).unwrap_or(0)));
    let unread = move || flags_of() & flags::SEEN == 0;
    let starred = move || flags_of() & flags::STARRED != 0;
    let on_open = move |_| {
        if recover {
            return;
        }
        let id = id.get_value();
        if drafts {
            // A draft opens where it is written.
            leptos::task::spawn_local(async move {
                match super::compose::open_draft(session, id).await {
                    Ok(seed) => {
                        mail.compose_seed.set(Some(seed));
                        navigator.go("/compose");
                    }
                    Err(message) => crate::ui::set_alive(set_open_error, Some(message)),
                }
            });
            return;
        }
        selected.set(Some(id.clone()));
        let mut changed = false;
        mail.mailbox.update(|state| changed = state.mark_seen(&id));
        if changed {
            let update = MessageUpdate { ids: vec![id], add_flags: flags::SEEN, ..Default::default() };
            leptos::task::spawn_local(async move {
                let _ = crate::api_client::send_json("PATCH", "/messages", &update).await;
            });
        }
    };
    let on_star = move |_| {
        let (add, remove) = if starred() { (0, flags::STARRED) } else { (flags::STARRED, 0) };
        leptos::task::spawn_local(async move {
            let _ = super::state::act(session, mail, Action::Flags { add, remove }, vec![id.get_value()]).await;
        });
    };
    let is_selected = move || selected.with(|current| id.with_value(|id| current.as_deref() == Some(id.as_str())));
    let is_checked = move || checked.with(|ids| id.with_value(|id| ids.contains(id)));
    let on_check = move |_| {
        let id = id.get_value();
        checked.update(|ids| {
            if !ids.remove(&id) {
                ids.insert(id);
            }
        });
    };
    let when = match (recover, message.deleted_at) {
        (true, Some(deleted_at)) => {
            let now = (js_sys::Date::now() / 1000.0) as i64;
            let left = super::state::days_left(deleted_at, now);
            tp(left.max(0) as u64, n("1 day left"), n("{count} days left"))
        }
        _ => super::reader::short_time(message.received_at),
    };
    let (from, subject, snippet, attachment) = match &message.summary {
        None if message.pending => ("…".into(), t("Decrypting…"), String::new(), false),
        // The From of mail from another Plico user that the server did not see that user send
        // (or that their key did not sign) gives way to the account that did send it.
        Some(summary) => (
            match &summary.sender_mismatch {
                Some(sender) => tf("⚠ {sender} (not the sender it claims)", &[("sender", sender)]),
                None => {
                    summary.from_name.clone().or(summary.from_address.clone()).unwrap_or_else(|| t("(unknown sender)"))
                }
            },
            if summary.subject.is_empty() { t("(no subject)") } else { summary.subject.clone() },
            summary.snippet.clone(),
            summary.has_attachments,
        ),
        None => (
            "—".into(),
            t("This message cannot be read"),
            t("It could not be decrypted, or nobody you can trust wrote its summary."),
            false,
        ),
    };
    let label = tf("Select message from {sender}: {subject}", &[("sender", &from), ("subject", &subject)]);
    view! {
        <li class="message-item" class:checked=is_checked>
            <input type="checkbox" class="row-check" aria-label=label prop:checked=is_checked on:change=on_check/>
            <button type="button" class="message-row" class:unread=unread class:selected=is_selected
                aria-pressed=move || is_selected().to_string() on:click=on_open>
                <span class="row-from">{from}</span>
                <span class="row-date">{when}</span>
                <span class="row-subject">{attachment.then(|| view! { <crate::ui::PaperclipIcon/> })}{subject}</span>
                <span class="row-snippet">{snippet}</span>
            </button>
            {(!recover).then(|| view! {
                <button type="button" class="star" class:on=starred aria-pressed=move || starred().to_string()
                    aria-label=t("Starred") on:click=on_star>{move || if starred() { "★" } else { "☆" }}</button>
            })}
            <div class="row-error"><crate::ui::ErrorText message=open_error/></div>
        </li>
    }
}

pub use super::state::Action;
