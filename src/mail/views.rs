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
                    <ul>
                        {SYSTEM_FOLDERS.iter().map(|folder| view! {
                            <li><Link href=format!("/mail/{}", folder.slug) class="folder-link">{folder.label}</Link></li>
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
    view! {
        <Shell>
            {match folder_for_slug(&folder) {
                Some(folder) => view! {
                    <section class="message-list" aria-labelledby="folder-title">
                        <h1 id="folder-title" class="folder-title">{folder.label}</h1>
                        <div class="empty-state">
                            <svg viewBox="0 0 64 64" aria-hidden="true" class="empty-illustration">
                                <rect x="8" y="16" width="48" height="34" rx="6"/>
                                <path d="M10 20l22 16 22-16"/>
                            </svg>
                            <h2>{folder.empty_title}</h2>
                            <p>{folder.empty_text}</p>
                        </div>
                    </section>
                }.into_any(),
                None => view! {
                    <section class="message-list">
                        <h1 class="folder-title">"No such folder"</h1>
                        <p>"This folder does not exist. Pick one on the left."</p>
                    </section>
                }.into_any(),
            }}
        </Shell>
    }
}
