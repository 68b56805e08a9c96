//! What the Contacts app computes from the contact list: search, the group filter, the
//! alphabet's letters, and what an edit form's texts become. No DOM here, so it is tested
//! natively.

use plico_api::contacts::ContactRow;

/// The letter a name files under in the alphabet jump: its first letter, uppercased and
/// without accents for the common Latin ones, or `#` for anything else.
pub fn letter(name: &str) -> char {
    let first = name.trim().chars().next().unwrap_or('#');
    let base = match first.to_lowercase().next().unwrap_or(first) {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'æ' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        other => other,
    };
    if base.is_ascii_alphabetic() {
        base.to_ascii_uppercase()
    } else {
        '#'
    }
}

/// Whether `row` matches what was typed in the search box: every word is in its name,
/// organisation, groups, an address or a phone number (phones by digits).
pub fn matches(row: &ContactRow, query: &str) -> bool {
    let haystack = format!(
        "{} {} {} {}",
        row.name,
        row.organization.as_deref().unwrap_or_default(),
        row.groups.join(" "),
        row.emails.join(" ")
    )
    .to_lowercase();
    let digits: String = row.phones.concat().chars().filter(char::is_ascii_digit).collect();
    query.split_whitespace().all(|word| {
        let word = word.to_lowercase();
        let word_digits: String = word.chars().filter(char::is_ascii_digit).collect();
        haystack.contains(&word)
            || (word_digits.len() >= 3 && word_digits.len() == word.len() && digits.contains(&word_digits))
    })
}

/// The rows shown: those in `group` (all when `None`) that match `query`, in the list's order.
pub fn visible<'a>(rows: &'a [ContactRow], query: &str, group: Option<&str>) -> Vec<&'a ContactRow> {
    rows.iter()
        .filter(|row| group.is_none_or(|group| row.groups.iter().any(|g| g == group)))
        .filter(|row| matches(row, query))
        .collect()
}

/// Every group the contacts are in, sorted, with how many each holds.
pub fn groups(rows: &[ContactRow]) -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for group in rows.iter().flat_map(|row| &row.groups) {
        *counts.entry(group.clone()).or_default() += 1;
    }
    let mut groups: Vec<(String, usize)> = counts.into_iter().collect();
    groups.sort_by_cached_key(|(name, _)| name.to_lowercase());
    groups
}

/// The letters that have contacts, in order, `#` last.
pub fn letters(rows: &[&ContactRow]) -> Vec<char> {
    let mut letters: Vec<char> = rows.iter().map(|row| letter(&row.name)).collect();
    letters.sort_by_key(|&c| (c == '#', c));
    letters.dedup();
    letters
}

/// Groups as typed in the editor: comma-separated, trimmed, without empties or repeats.
pub fn parse_groups(text: &str) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for group in text.split(',').map(str::trim).filter(|group| !group.is_empty()) {
        if !groups.iter().any(|g| g.eq_ignore_ascii_case(group)) {
            groups.push(group.to_owned());
        }
    }
    groups
}

/// The days left of the 45 in the recovery area, counting a day begun as a day: 45 just after
/// the deletion (the browser's clock a second past the server's included), 1 on the last day.
pub fn days_left(deleted_at: i64, now: i64) -> i64 {
    let left = plico_api::mail::RECOVERY_DAYS * 86_400 - (now - deleted_at);
    ((left + 86_399) / 86_400).max(0)
}

/// The contact a path names: `/contacts/<id>`, where a search result leads.
pub fn contact_in_path(path: &str) -> Option<String> {
    let id = path.strip_prefix("/contacts/")?.trim_end_matches('/');
    (!id.is_empty() && !id.contains('/')).then(|| id.to_owned())
}

/// A fingerprint as people compare it aloud (shared with the mail app and the worker).
pub use plico_api::group_fingerprint;

/// The keyring's entries for a contact's addresses, in the order of its addresses: each
/// address with its kept key, or `None` when nothing is kept for it yet.
pub fn keys_of<'a>(
    addresses: impl IntoIterator<Item = &'a str>,
    keyring: &[plico_api::worker::KeyringEntry],
) -> Vec<(String, Option<plico_api::worker::KeyringEntry>)> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for address in addresses {
        let address = address.trim().to_lowercase();
        if address.is_empty() || seen.contains(&address) {
            continue;
        }
        seen.push(address.clone());
        let kept = keyring.iter().find(|entry| entry.address.eq_ignore_ascii_case(&address)).cloned();
        out.push((address, kept));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, emails: &[&str], groups: &[&str]) -> ContactRow {
        ContactRow {
            id: name.to_lowercase(),
            name: name.into(),
            emails: emails.iter().map(|e| (*e).to_owned()).collect(),
            phones: vec!["+44 20 7946 0000".into()],
            organization: Some("Analytical Engines".into()),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            has_photo: false,
            deleted_at: None,
        }
    }

    #[test]
    fn names_file_under_their_first_letter_without_accents() {
        assert_eq!(letter("ada"), 'A');
        assert_eq!(letter("Émile"), 'E');
        assert_eq!(letter("Øystein"), 'O');
        assert_eq!(letter("42 Club"), '#');
        assert_eq!(letter(""), '#');
        assert_eq!(letter("Жанна"), '#');
    }

    #[test]
    fn search_matches_every_word_anywhere_and_phones_by_digits() {
        let ada = row("Ada Lovelace", &["ada@example.org"], &["Friends"]);
        assert!(matches(&ada, "ada love"));
        assert!(matches(&ada, "ENGINES"));
        assert!(matches(&ada, "friends"));
        assert!(matches(&ada, "example.org"));
        assert!(matches(&ada, "7946"));
        assert!(!matches(&ada, "ada grace"));
        assert!(matches(&ada, ""));
    }

    #[test]
    fn groups_are_counted_and_filter_the_list() {
        let rows = vec![row("Ada", &[], &["Friends", "Work"]), row("Bob", &[], &["Work"]), row("Cy", &[], &[])];
        assert_eq!(groups(&rows), [("Friends".to_owned(), 1), ("Work".to_owned(), 2)]);
        let work: Vec<&str> = visible(&rows, "", Some("Work")).iter().map(|r| r.name.as_str()).collect();
        assert_eq!(work, ["Ada", "Bob"]);
        assert_eq!(letters(&rows.iter().collect::<Vec<_>>()), ['A', 'B', 'C']);
    }

    #[test]
    fn typed_groups_are_trimmed_and_not_repeated() {
        assert_eq!(parse_groups(" Work, friends ,,Work, Friends"), ["Work", "friends"]);
    }

    #[test]
    fn the_recovery_area_counts_down_from_45_days() {
        assert_eq!(days_left(0, 0), 45);
        assert_eq!(days_left(0, 3), 45, "a few seconds after the deletion");
        assert_eq!(days_left(0, 86_400 * 44 + 1), 1, "the last day");
        assert_eq!(days_left(0, 86_400 * 45), 0);
        assert_eq!(days_left(0, 86_400 * 50), 0);
    }

    #[test]
    fn a_search_result_names_its_contact_in_the_path() {
        assert_eq!(contact_in_path("/contacts/abc123").as_deref(), Some("abc123"));
        assert_eq!(contact_in_path("/contacts/abc123/").as_deref(), Some("abc123"));
        assert_eq!(contact_in_path("/contacts"), None);
        assert_eq!(contact_in_path("/contacts/"), None);
        assert_eq!(contact_in_path("/contacts/a/b"), None);
        assert_eq!(contact_in_path("/mail/inbox"), None);
    }

    #[test]
    fn a_contacts_keys_follow_its_addresses_once_each() {
        use plico_api::worker::{KeyringEntry, KeyringSource};
        let entry = |address: &str| KeyringEntry {
            address: address.into(),
            fingerprint: "AB".into(),
            source: KeyringSource::Directory,
            updated_at: 1,
            verified: false,
        };
        let keyring = vec![entry("bo@example.org"), entry("ada@example.org")];
        let keys = keys_of(["Ada@Example.org", "ada@example.org", " ", "new@example.org"], &keyring);
        assert_eq!(
            keys,
            vec![("ada@example.org".to_owned(), Some(entry("ada@example.org"))), ("new@example.org".to_owned(), None)]
        );
    }
}
