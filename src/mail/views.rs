//! The signed-in shell and the (for now empty) message list.

use leptos::prelude::*;
use leptos_router::components::{Redirect, A};
use leptos_router::hooks::{use_navigate, use_params_map};
use plico_api::worker::WorkerCommand;

use super::model::{folder_for_slug, SYSTEM_FOLDERS};
use crate::app::use_session;
use crate::ui::Brand;

/// Signs out: deletes the session on the server and wipes the keys from the worker's memory.
#[component]
pub fn SignOutButton() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let on_click = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let _ = crate::api_client::send("POST", "/logout").await;
            if let Ok(worker) = session.worker.with_value(|worker| worker.clone()) {
                let _ = worker.call(WorkerCommand::Lock, |_| {}).await;
            }
            session.identity.set(None);
            session.remembered_address.set(None);
            navigate("/login", Default::default());
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
                    <a href="/mail/inbox" class="brand-link" aria-label="Plico inbox"><Brand/></a>
                    <span class="badge-e2e" title="Your mail is encrypted in this browser before it reaches the server">"End-to-end encrypted"</span>
                    <div class="topbar-actions">
                        <A href="/account" attr:class="account-link">
                            <span class="avatar" aria-hidden="true">{identity.address.chars().next().map(|c| c.to_ascii_uppercase().to_string())}</span>
                            <span class="account-address">{identity.address.clone()}</span>
                        </A>
                        <SignOutButton/>
                    </div>
                </header>
                <nav class="sidebar" aria-label="Folders">
                    <ul>
                        {SYSTEM_FOLDERS.iter().map(|folder| view! {
                            <li><A href=format!("/mail/{}", folder.slug) attr:class="folder-link">{folder.label}</A></li>
                        }).collect_view()}
                    </ul>
                </nav>
                <div class="content">{children.with_value(|children| children())}</div>
            </div>
        }
        .into_any()
    }
}

#[component]
pub fn MailPage() -> impl IntoView {
    let params = use_params_map();
    let folder = move || params.with(|params| params.get("folder").unwrap_or_default());
    view! {
        <Shell>
            {move || match folder_for_slug(&folder()) {
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
