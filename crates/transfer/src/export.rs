//! What "export everything" puts in its archive, apart from the ZIP framing
//! ([`crate::archive`]) and the browser's Blob ([`crate::worker`]): which messages go in which
//! entry and under what name, and the README. The keys, the messages' bytes and the account's
//! documents come from the crypto worker.
//!
//! The archive:
//!
//! ```text
//! README.txt                     what is inside, and what failed (nothing is left out silently)
//! mail/<folder>.mbox             each folder's mail, mboxrd
//! mail/<folder>/<n> <subject>.eml  each message on its own
//! contacts/contacts.vcf          every contact (not those in Recently deleted), vCard 4
//! keys/public-key.asc            the account's certificate
//! keys/secret-key.asc            its secret keys, encrypted under the passphrase given
//! privacy/consent-receipts.json  every consent decision
//! account/login-history.json     the sign-ins the server keeps (30 days)
//! ```

use std::collections::{HashMap, HashSet};

use plico_api::mail::{FolderRole, MessageMeta};
use plico_api::worker::FolderView;

use crate::archive::{asctime, safe_name};

/// A folder as the archive names it, with its messages oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFolder {
    pub label: String,
    pub messages: Vec<MessageMeta>,
}

fn role_label(role: FolderRole) -> &'static str {
    match role {
        FolderRole::Inbox => "Inbox",
        FolderRole::Drafts => "Drafts",
        FolderRole::Sent => "Sent",
        FolderRole::Archive => "Archive",
        FolderRole::Spam => "Spam",
        FolderRole::Trash => "Trash",
    }
}

/// A name as one path part: no `/`, no control characters, at most `max` characters.
fn part(name: &str, max: usize) -> String {
    let cleaned: String = name.chars().map(|c| if c == '/' || c.is_control() { '_' } else { c }).take(max).collect();
    let cleaned = safe_name(&cleaned);
    if cleaned.is_empty() {
        "_".into()
    } else {
        cleaned
    }
}

/// The folders to export, in the mailbox's order, each with its messages (not the deleted
/// ones) oldest first; a folder's label is unique in the archive even when two user folders
/// have the same name. Messages of a folder the list does not name (gone meanwhile) go under
/// "Other".
pub fn folders<'a>(folders: &[FolderView], metas: impl Iterator<Item = &'a MessageMeta>) -> Vec<ExportFolder> {
    let mut by_folder: HashMap<&str, Vec<MessageMeta>> = HashMap::new();
    for meta in metas.filter(|meta| meta.deleted_at.is_none()) {
        by_folder.entry(meta.folder_id.as_str()).or_default().push(meta.clone());
    }
    let mut used = HashSet::new();
    let mut unique = |label: String| {
        let mut candidate = label.clone();
        let mut n = 2;
        while !used.insert(candidate.to_lowercase()) {
            candidate = format!("{label} ({n})");
            n += 1;
        }
        candidate
    };
    let mut out = Vec::new();
    for folder in folders {
        let label = match (folder.role, &folder.name) {
            (Some(role), _) => role_label(role).to_owned(),
            (None, Some(name)) => part(name, 80),
            (None, None) => format!("Folder {}", part(&folder.id, 20)),
        };
        let messages = by_folder.remove(folder.id.as_str()).unwrap_or_default();
        out.push(ExportFolder { label: unique(label), messages });
    }
    let mut rest: Vec<MessageMeta> = by_folder.into_values().flatten().collect();
    if !rest.is_empty() {
        rest.sort_by(|a, b| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));
        out.push(ExportFolder { label: unique("Other".into()), messages: rest });
    }
    for folder in &mut out {
        folder.messages.sort_by(|a, b| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));
    }
    out
}

/// The entry of a folder's mbox.
pub fn mbox_name(folder: &ExportFolder) -> String {
    format!("mail/{}.mbox", folder.label)
}

/// The entry of a folder's `n`th message (from 1) as an .eml file.
pub fn eml_name(folder: &ExportFolder, n: usize, subject: &str) -> String {
    let subject = if subject.trim().is_empty() { "(no subject)" } else { subject.trim() };
    format!("mail/{}/{n:05} {}.eml", folder.label, part(subject, 60))
}

/// The archive's file name: `plico-<local part>-<YYYY-MM-DD>.zip`.
pub fn file_name(address: &str, now: i64) -> String {
    let local = part(address.split('@').next().unwrap_or("account"), 64);
    let (year, month, day) = crate::archive::civil_date(now);
    format!("plico-{local}-{year}-{month:02}-{day:02}.zip")
}

/// What the archive holds, in words, and each message that could not be exported and why.
pub fn readme(address: &str, now: i64, folders: &[ExportFolder], failures: &[String]) -> String {
    let messages: usize = folders.iter().map(|folder| folder.messages.len()).sum();
    let mut text = format!(
        "Plico export of {address}, made {} UTC.\n\n\
         mail/<folder>.mbox       each folder's mail in one mbox file (mboxrd; Thunderbird, Apple Mail,\n                         Python's mailbox module and Plico's own import read it)\n\
         mail/<folder>/*.eml      the same messages, one file each\n\
         contacts/contacts.vcf    your contacts, one vCard 4 file (Google, Apple and Thunderbird import it)\n\
         keys/public-key.asc      your public key (OpenPGP certificate)\n\
         keys/secret-key.asc      your secret key, encrypted with the passphrase you chose for this export;\n                         import it with `gpg --import keys/secret-key.asc`\n\
         privacy/consent-receipts.json  your cookie and script consent decisions\n\
         account/login-history.json     the sign-ins Plico keeps (30 days)\n\n\
         Messages are decrypted, exactly as they were received or written. Deleted mail that\n\
         can still be recovered is not included; recover it first to export it.\n\n",
        asctime(now)
    );
    for folder in folders {
        text.push_str(&format!("{:<24} {} messages\n", folder.label, folder.messages.len()));
    }
    text.push_str(&format!("\n{messages} messages in all, {} exported.\n", messages - failures.len()));
    if failures.is_empty() {
        text.push_str("Every message was exported.\n");
    } else {
        text.push_str(&format!("\n{} messages could not be exported:\n", failures.len()));
        for failure in failures {
            text.push_str(&format!("- {failure}\n"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str, folder: &str, at: i64) -> MessageMeta {
        MessageMeta {
            id: id.into(),
            folder_id: folder.into(),
            flags: 0,
            size: 1,
            received_at: at,
            blob_hash: String::new(),
            sealed_summary: String::new(),
            deleted_at: None,
            sender: None,
        }
    }

    fn folder(id: &str, role: Option<FolderRole>, name: Option<&str>) -> FolderView {
        FolderView { id: id.into(), role, name: name.map(str::to_owned), total: 0, unread: 0 }
    }

    #[test]
    fn folders_get_unique_safe_labels_and_their_mail_oldest_first() {
        let list = [
            folder("i", Some(FolderRole::Inbox), None),
            folder("a", None, Some("Work/2026")),
            folder("b", None, Some("work/2026")),
            folder("c", None, Some("../..")),
        ];
        let mut deleted = meta("d", "i", 1);
        deleted.deleted_at = Some(5);
        let metas = [meta("2", "i", 20), meta("1", "i", 10), deleted, meta("x", "gone", 3), meta("w", "a", 1)];
        let out = folders(&list, metas.iter());
        let labels: Vec<_> = out.iter().map(|folder| folder.label.as_str()).collect();
        assert_eq!(labels, ["Inbox", "Work_2026", "work_2026 (2)", "_", "Other"]);
        let inbox: Vec<_> = out[0].messages.iter().map(|meta| meta.id.as_str()).collect();
        assert_eq!(inbox, ["1", "2"], "oldest first, the deleted one left out");
        assert_eq!(out[4].messages.len(), 1);
        assert_eq!(mbox_name(&out[1]), "mail/Work_2026.mbox");
        assert_eq!(eml_name(&out[0], 7, "Re: a/b\u{7} ok"), "mail/Inbox/00007 Re_ a_b_ ok.eml");
        assert_eq!(eml_name(&out[0], 1, "  "), "mail/Inbox/00001 (no subject).eml");
    }

    #[test]
    fn the_file_name_carries_the_account_and_the_day() {
        assert_eq!(file_name("alice@plico.test", 1_796_299_200), "plico-alice-2026-12-03.zip");
    }

    #[test]
    fn the_readme_lists_what_failed() {
        let list = [ExportFolder { label: "Inbox".into(), messages: vec![meta("1", "i", 1), meta("2", "i", 2)] }];
        let text = readme("alice@plico.test", 0, &list, &["Inbox, message 2: it could not be decrypted".into()]);
        assert!(text.contains("2 messages in all, 1 exported."), "{text}");
        assert!(text.contains("- Inbox, message 2: it could not be decrypted"), "{text}");
    }
}
