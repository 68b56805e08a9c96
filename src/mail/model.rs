//! The system folders, in the order the sidebar shows them.

use crate::i18n::n;

/// A folder every mailbox has; its words are English, marked for the catalogs and translated
/// where they show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemFolder {
    /// The path segment: `/mail/<slug>`.
    pub slug: &'static str,
    pub label: &'static str,
    /// What the empty folder says.
    pub empty_title: &'static str,
    pub empty_text: &'static str,
}

pub const SYSTEM_FOLDERS: &[SystemFolder] = &[
    SystemFolder {
        slug: "inbox",
        label: n("Inbox"),
        empty_title: n("Your inbox is empty"),
        empty_text: n("New mail arrives here, end-to-end encrypted so that only you can read it."),
    },
    SystemFolder {
        slug: "drafts",
        label: n("Drafts"),
        empty_title: n("No drafts"),
        empty_text: n("Messages you start writing are saved here, encrypted."),
    },
    SystemFolder {
        slug: "sent",
        label: n("Sent"),
        empty_title: n("Nothing sent yet"),
        empty_text: n("Mail you send is kept here, encrypted to your own key."),
    },
    SystemFolder {
        slug: "archive",
        label: n("Archive"),
        empty_title: n("The archive is empty"),
        empty_text: n("Archive mail to keep it out of your inbox without deleting it."),
    },
    SystemFolder {
        slug: "spam",
        label: n("Spam"),
        empty_title: n("No spam"),
        empty_text: n("Mail that looks like spam is moved here."),
    },
    SystemFolder {
        slug: "trash",
        label: n("Trash"),
        empty_title: n("The trash is empty"),
        empty_text: n("Deleted mail stays here for 45 days, then it is erased for good."),
    },
];

/// The system folder for a path segment.
pub fn folder_for_slug(slug: &str) -> Option<&'static SystemFolder> {
    SYSTEM_FOLDERS.iter().find(|folder| folder.slug == slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_folder_is_reachable_by_its_slug() {
        for folder in SYSTEM_FOLDERS {
            assert_eq!(folder_for_slug(folder.slug), Some(folder));
        }
        assert_eq!(folder_for_slug("nope"), None);
        assert_eq!(SYSTEM_FOLDERS.first().map(|f| f.slug), Some("inbox"));
    }
}
