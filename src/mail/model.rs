//! The system folders, in the order the sidebar shows them.

/// A folder every mailbox has.
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
        label: "Inbox",
        empty_title: "Your inbox is empty",
        empty_text: "New mail arrives here, end-to-end encrypted so that only you can read it.",
    },
    SystemFolder {
        slug: "drafts",
        label: "Drafts",
        empty_title: "No drafts",
        empty_text: "Messages you start writing are saved here, encrypted.",
    },
    SystemFolder {
        slug: "sent",
        label: "Sent",
        empty_title: "Nothing sent yet",
        empty_text: "Mail you send is kept here, encrypted to your own key.",
    },
    SystemFolder {
        slug: "archive",
        label: "Archive",
        empty_title: "The archive is empty",
        empty_text: "Archive mail to keep it out of your inbox without deleting it.",
    },
    SystemFolder {
        slug: "spam",
        label: "Spam",
        empty_title: "No spam",
        empty_text: "Mail that looks like spam is moved here.",
    },
    SystemFolder {
        slug: "trash",
        label: "Trash",
        empty_title: "The trash is empty",
        empty_text: "Deleted mail stays here for 45 days, then it is erased for good.",
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
