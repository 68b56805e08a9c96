//! The mailbox as the UI knows it: what the worker synced, kept across folder changes.

use std::collections::HashMap;

use leptos::prelude::*;
use plico_api::mail::{flags, FolderRole};
use plico_api::worker::{FolderView as Folder, ListedMessage, WorkerCommand, WorkerOutcome};

use crate::app::Session;

/// Synced folders and messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxState {
    pub cursor: i64,
    pub folders: Vec<Folder>,
    pub messages: HashMap<String, ListedMessage>,
    pub synced_once: bool,
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

/// Asks the worker for what changed since the last sync.
pub fn sync(session: Session, mailbox: RwSignal<MailboxState>, error: WriteSignal<Option<String>>) {
    leptos::task::spawn_local(async move {
        let Ok(worker) = session.worker.with_value(|worker| worker.clone()) else { return };
        let since = mailbox.with_untracked(|state| state.cursor);
        match worker.call(WorkerCommand::SyncMailbox { since }, |_| {}).await {
            Ok(WorkerOutcome::Mailbox { cursor, folders, messages, removed, removed_folders }) => {
                mailbox.update(|state| {
                    state.folders.retain(|folder| !removed_folders.contains(&folder.id));
                    state.apply(cursor, folders, messages, removed)
                });
                error.set(None);
            }
            Ok(_) => {}
            Err(failure) => error.set(Some(failure.message)),
        }
    });
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
}
