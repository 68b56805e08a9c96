//! The mailbox as the UI knows it: what the worker synced, kept across folder changes.

use std::collections::HashMap;

use leptos::prelude::*;
use plico_api::mail::{flags, FolderRole};
use plico_api::worker::MailCommand;
use plico_api::worker::{FolderView as Folder, ListedMessage, WorkerOutcome};

use crate::i18n::t;
use crate::session::Session;

/// Synced folders and messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxState {
    pub cursor: i64,
    pub folders: Vec<Folder>,
    pub messages: HashMap<String, ListedMessage>,
    pub synced_once: bool,
    /// What waits in this device's Outbox, oldest first.
    pub outbox: Vec<plico_api::worker::OutboxItem>,
}

impl MailboxState {
    /// Applies one sync answer.
    pub fn apply(&mut self, cursor: i64, folders: Vec<Folder>, messages: Vec<ListedMessage>, removed: Vec<String>) {
        self.cursor = cursor;
        for folder in folders {
            match self.folders.iter_mut().find(|known| known.id == folder.id) {
                Some(known) => *known = folder,
                None => self.folders.push(folder),
            }
        }
        for message in messages {
            self.messages.insert(message.id.clone(), message);
        }
        for id in removed {
            self.messages.remove(&id);
        }
        self.synced_once = true;
    }

    /// The folder with this role.
    pub fn folder(&self, role: FolderRole) -> Option<&Folder> {
        self.folders.iter().find(|folder| folder.role == Some(role))
    }

    /// The visible messages of a folder, newest first.
    pub fn in_folder(&self, folder_id: &str) -> Vec<ListedMessage> {
        let mut listed: Vec<ListedMessage> = self
            .messages
            .values()
            .filter(|message| message.folder_id == folder_id && message.deleted_at.is_none())
            .cloned()
            .collect();
        listed.sort_by(|a, b| b.received_at.cmp(&a.received_at).then_with(|| a.id.cmp(&b.id)));
        listed
    }

    /// Up to `limit` ids whose summaries are still pending, newest first.
    pub fn pending(&self, limit: usize) -> Vec<String> {
        let mut pending: Vec<&ListedMessage> = self.messages.values().filter(|message| message.pending).collect();
        pending.sort_by(|a, b| b.received_at.cmp(&a.received_at).then_with(|| a.id.cmp(&b.id)));
        pending.into_iter().take(limit).map(|message| message.id.clone()).collect()
    }

    /// Puts opened summaries in place.
    pub fn fill(&mut self, opened: Vec<(String, Option<plico_api::worker::ListedSummary>)>) {
        for (id, summary) in opened {
            if let Some(message) = self.messages.get_mut(&id) {
                message.summary = summary;
                message.pending = false;
            }
        }
    }

    /// User folders, by name.
    pub fn user_folders(&self) -> Vec<Folder> {
        let mut folders: Vec<Folder> = self.folders.iter().filter(|folder| folder.role.is_none()).cloned().collect();
        // ASCII case folding: Unicode case tables would cost the UI binary kilobytes.
        folders.sort_by_key(|folder| folder.name.clone().unwrap_or_default().to_ascii_lowercase());
        folders
    }

    /// Messages in the recovery area, most recently deleted first.
    pub fn recoverable(&self) -> Vec<ListedMessage> {
        let mut listed: Vec<ListedMessage> =
            self.messages.values().filter(|message| message.deleted_at.is_some()).cloned().collect();
        listed.sort_by(|a, b| b.deleted_at.cmp(&a.deleted_at).then_with(|| a.id.cmp(&b.id)));
        listed
    }

    /// The conversation of message `id`, oldest first: every visible message whose thread root
    /// (the first References id, else the In-Reply-To id, else its own Message-ID) is the same.
    pub fn conversation(&self, id: &str) -> Vec<ListedMessage> {
        let Some(root) = self.messages.get(id).and_then(thread_root) else {
            return self.messages.get(id).cloned().into_iter().collect();
        };
        let mut thread: Vec<ListedMessage> = self
            .messages
            .values()
            .filter(|message| message.deleted_at.is_none() && thread_root(message).as_deref() == Some(root.as_str()))
            .cloned()
            .collect();
        thread.sort_by(|a, b| a.received_at.cmp(&b.received_at).then_with(|| a.id.cmp(&b.id)));
        thread
    }

    /// Marks a message read locally, at once; the server learns it in the background.
    pub fn mark_seen(&mut self, id: &str) -> bool {
        match self.messages.get_mut(id) {
            Some(message) if message.flags & flags::SEEN == 0 => {
                message.flags |= flags::SEEN;
                if let Some(folder) = self.folders.iter_mut().find(|folder| folder.id == message.folder_id) {
                    folder.unread = folder.unread.saturating_sub(1);
                }
                true
            }
            _ => false,
        }
    }
}

/// The Message-ID a message's thread starts with.
fn thread_root(message: &ListedMessage) -> Option<String> {
    let summary = message.summary.as_ref()?;
    summary.references.first().or(summary.in_reply_to.first()).or(summary.message_id.as_ref()).cloned()
}

/// Asks the worker for what changed since the last sync, and applies it.
pub async fn sync_now(session: Session, mail: super::Mail) -> Result<(), String> {
    let worker = session.worker.with_value(|worker| worker.clone())?;
    let since = mail.mailbox.with_untracked(|state| state.cursor);
    if since == 0 && !mail.mailbox.with_untracked(|state| state.synced_once) {
        // The first screen as this device saved it, while the sync below catches up.
        if let Ok(WorkerOutcome::Mailbox { folders, messages, .. }) =
            worker.call(MailCommand::CachedMailbox, |_| {}).await
        {
            if !folders.is_empty() {
                mail.mailbox.update(|state| {
                    if !state.synced_once {
                        state.apply(0, folders, messages, Vec::new())
                    }
                });
            }
        }
    }
    match worker.call(MailCommand::SyncMailbox { since }, |_| {}).await {
        Ok(WorkerOutcome::Mailbox { cursor, folders, messages, removed, removed_folders }) => {
            mail.mailbox.update(|state| {
                state.folders.retain(|folder| !removed_folders.contains(&folder.id));
                state.apply(cursor, folders, messages, removed)
            });
            // Summaries first (the list shows them); the search index follows (fill_pending).
            fill_pending(session, mail);
            // The server answered: what waits in the Outbox can go (at sign-in, read it first).
            if since == 0 {
                leptos::task::spawn_local(super::outbox::load(session, mail));
            } else {
                super::outbox::send_waiting(session, mail);
            }
            Ok(())
        }
        Ok(_) => Err(t("The worker answered something unexpected.")),
        Err(failure) => Err(failure.message),
    }
}

thread_local! {
    static FILLING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How many pending summaries one `OpenSummaries` call opens.
pub const SUMMARY_CHUNK: usize = 300;

/// Opens the summaries a sync left pending, newest first, a chunk at a time, while the list is
/// already on screen; then indexes new mail for search.
pub fn fill_pending(session: Session, mail: super::Mail) {
    if FILLING.with(|busy| busy.replace(true)) {
        return;
    }
    leptos::task::spawn_local(async move {
        loop {
            let ids = mail.mailbox.with_untracked(|state| state.pending(SUMMARY_CHUNK));
            if ids.is_empty() {
                break;
            }
            let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { break };
            match worker.call(MailCommand::OpenSummaries { ids: ids.clone() }, |_| {}).await {
                Ok(WorkerOutcome::Summaries(opened)) => mail.mailbox.update(|state| {
                    state.fill(opened);
                    // Ids the worker no longer knows (purged meanwhile) stop being pending.
                    for id in &ids {
                        if let Some(message) = state.messages.get_mut(id) {
                            message.pending = false;
                        }
                    }
                }),
                _ => break,
            }
        }
        FILLING.with(|busy| busy.set(false));
        super::search::index_new_mail(session, mail);
    });
}

/// Syncs in the background, reporting a failure to `error`.
pub fn sync(session: Session, mail: super::Mail, error: WriteSignal<Option<String>>) {
    leptos::task::spawn_local(async move {
        // Offline, the indicator says it once for every page; a sync failing is no news.
        let failed = sync_now(session, mail).await.err().filter(|_| crate::ui::online());
        crate::ui::set_alive(error, failed);
    });
}

/// How often a signed-in tab asks for changes, in milliseconds. Other tabs and devices change
/// the mailbox too; the sync cursor makes each poll one small request.
pub const POLL_MILLIS: i32 = 15_000;

thread_local! {
    static SYNCING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Keeps the mailbox converging with the server while signed in: a poll every [`POLL_MILLIS`]
/// and one whenever the tab becomes visible again. Sign-out empties the state; the next
/// sign-in starts from cursor 0.
pub fn keep_in_sync(session: Session, mail: super::Mail) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let poll = move || {
        let signed_in = session.identity.with_untracked(Option::is_some);
        let visible = web_sys::window()
            .and_then(|window| window.document())
            .is_some_and(|document| document.visibility_state() == web_sys::VisibilityState::Visible);
        if !signed_in || !visible || SYNCING.with(|busy| busy.replace(true)) {
            return;
        }
        leptos::task::spawn_local(async move {
            let _ = sync_now(session, mail).await;
            SYNCING.with(|busy| busy.set(false));
        });
    };
    let Some(window) = web_sys::window() else { return };
    let tick = Closure::<dyn Fn()>::new(poll);
    let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(tick.as_ref().unchecked_ref(), POLL_MILLIS);
    tick.forget();
    // Back online: the Outbox goes, and the mailbox catches up.
    let on_online = Closure::<dyn Fn()>::new(move || {
        super::outbox::send_waiting(session, mail);
        poll();
    });
    let _ = window.add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
    on_online.forget();
    if let Some(document) = window.document() {
        let on_visible = Closure::<dyn Fn()>::new(poll);
        let _ = document.add_event_listener_with_callback("visibilitychange", on_visible.as_ref().unchecked_ref());
        on_visible.forget();
    }
}

/// An action on a multi-selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Flags {
        add: u32,
        remove: u32,
    },
    Move(String),
    /// To Trash; from Trash, to the recovery area.
    Delete,
    /// Every message in Trash to the recovery area.
    EmptyTrash,
    /// Back from the recovery area.
    Recover,
}

/// Runs `action` on `ids` on the server, then syncs so every view (and every other tab, at its
/// next sync) shows the result.
pub async fn act(session: Session, mail: super::Mail, action: Action, ids: Vec<String>) -> Result<(), String> {
    use plico_api::mail::{MessageIds, MessageUpdate};
    let result = match action {
        Action::Flags { add, remove } => {
            let update = MessageUpdate { ids, add_flags: add, remove_flags: remove, folder_id: None };
            crate::api_client::send_json("PATCH", "/messages", &update).await
        }
        Action::Move(folder_id) => {
            let update = MessageUpdate { ids, folder_id: Some(folder_id), ..Default::default() };
            crate::api_client::send_json("PATCH", "/messages", &update).await
        }
        Action::Delete | Action::EmptyTrash => {
            crate::api_client::send_json("POST", "/messages/delete", &MessageIds { ids }).await
        }
        Action::Recover => crate::api_client::send_json("POST", "/messages/recover", &MessageIds { ids }).await,
    };
    result.map_err(|failure| failure.message)?;
    sync_now(session, mail).await
}

/// Runs a folder command (create, rename) in the worker, which seals the name, then syncs.
pub async fn folder_command(session: Session, mail: super::Mail, command: MailCommand) -> Result<(), String> {
    let worker = session.worker.with_value(|worker| worker.clone())?;
    worker.call(command, |_| {}).await.map_err(|failure| failure.message)?;
    sync_now(session, mail).await
}

/// A folder's name as the UI shows it.
pub fn folder_label(folder: &Folder) -> String {
    match folder.role {
        Some(role) => super::model::folder_for_slug(role.as_str()).map(|f| t(f.label)).unwrap_or_default(),
        None => folder.name.clone().unwrap_or_else(|| t("(unreadable name)")),
    }
}

/// Whole days, rounded up, until a message deleted at `deleted_at` is purged.
pub fn days_left(deleted_at: i64, now: i64) -> i64 {
    let purge_at = deleted_at + plico_api::mail::RECOVERY_DAYS * 86_400;
    ((purge_at - now).max(0) + 86_399) / 86_400
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, folder: &str, received_at: i64, flags: u32) -> ListedMessage {
        ListedMessage {
            id: id.into(),
            folder_id: folder.into(),
            flags,
            size: 1,
            received_at,
            deleted_at: None,
            summary: None,
            pending: false,
        }
    }

    #[test]
    fn sync_answers_merge_and_folders_list_newest_first() {
        let mut state = MailboxState::default();
        let inbox = Folder { id: "f1".into(), role: Some(FolderRole::Inbox), name: None, total: 2, unread: 2 };
        state.apply(3, vec![inbox], vec![message("a", "f1", 10, 0), message("b", "f1", 20, 0)], vec![]);
        assert_eq!(state.in_folder("f1").iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["b", "a"]);
        state.apply(4, vec![], vec![], vec!["a".into()]);
        assert_eq!(state.in_folder("f1").len(), 1);
        assert_eq!(
            state.folder(FolderRole::Inbox).map(|f| f.id.as_str()),
            Some("f1"),
            "folders stay when none are sent"
        );
        assert!(state.mark_seen("b"));
        assert!(!state.mark_seen("b"), "only once");
        assert_eq!(state.folder(FolderRole::Inbox).map(|f| f.unread), Some(1));
    }

    fn in_thread(id: &str, received_at: i64, message_id: &str, references: &[&str]) -> ListedMessage {
        let mut listed = message(id, "f1", received_at, 0);
        listed.summary = Some(plico_api::worker::ListedSummary {
            subject: "s".into(),
            from_name: None,
            from_address: None,
            snippet: String::new(),
            has_attachments: false,
            message_id: Some(message_id.into()),
            in_reply_to: references.last().map(|id| id.to_string()).into_iter().collect(),
            references: references.iter().map(|id| id.to_string()).collect(),
            sender_mismatch: None,
        });
        listed
    }

    #[test]
    fn pending_summaries_fill_newest_first() {
        let mut state = MailboxState::default();
        let mut old = message("old", "f1", 10, 0);
        old.pending = true;
        let mut new = message("new", "f1", 20, 0);
        new.pending = true;
        state.apply(1, vec![], vec![old, new, message("done", "f1", 30, 0)], vec![]);
        assert_eq!(state.pending(1), ["new"]);
        assert_eq!(state.pending(10), ["new", "old"]);
        state.fill(vec![("new".into(), None)]);
        assert_eq!(state.pending(10), ["old"]);
        assert!(!state.messages["new"].pending && state.messages["new"].summary.is_none(), "unreadable, not pending");
    }

    #[test]
    fn days_left_round_up_and_stop_at_zero() {
        let day = 86_400;
        assert_eq!(days_left(0, 0), 45);
        assert_eq!(days_left(0, 1), 45);
        assert_eq!(days_left(0, day), 44);
        assert_eq!(days_left(0, 44 * day + 1), 1);
        assert_eq!(days_left(0, 45 * day), 0);
        assert_eq!(days_left(0, 50 * day), 0);
    }

    #[test]
    fn conversations_group_by_the_thread_root() {
        let mut state = MailboxState::default();
        state.apply(
            1,
            vec![],
            vec![
                in_thread("a", 10, "root@x", &[]),
                in_thread("b", 20, "reply@x", &["root@x"]),
                in_thread("c", 30, "deeper@x", &["root@x", "reply@x"]),
                in_thread("d", 15, "other@x", &[]),
                message("e", "f1", 5, 0),
            ],
            vec![],
        );
        let ids = |thread: Vec<ListedMessage>| thread.into_iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(ids(state.conversation("b")), ["a", "b", "c"]);
        assert_eq!(ids(state.conversation("d")), ["d"]);
        assert_eq!(ids(state.conversation("e")), ["e"], "an unreadable message is its own conversation");
    }
}
