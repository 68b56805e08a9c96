//! The composer's autocomplete: names, addresses and groups by prefix.
//!
//! Built once from the contacts' summaries, then answered by binary search over sorted keys:
//! each word of a name, each address and its local part, and each group's name. A query matches
//! a key it is a prefix of (case and accents as typed are folded to lowercase only). Answers put
//! groups first when their name matches, then contacts whose name starts with the query, then
//! the rest, each by name.

use crate::Summary;

/// One suggestion: a contact's address, or a group that expands to its members' addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suggestion {
    Address { name: String, address: String },
    Group { name: String, addresses: Vec<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Contact `contact`, its address `address`.
    Address {
        contact: u32,
        address: u32,
    },
    Group(u32),
}

/// The autocomplete's index.
#[derive(Debug, Default)]
pub struct Completer {
    contacts: Vec<Summary>,
    groups: Vec<(String, Vec<String>)>,
    /// Lowercase keys, sorted, each with what it finds.
    keys: Vec<(String, Target)>,
}

fn fold(text: &str) -> String {
    text.trim().to_lowercase()
}

impl Completer {
    /// Indexes `contacts`; those without an address are left out (there is nothing to write to).
    pub fn new(contacts: Vec<Summary>) -> Self {
        let mut keys = Vec::new();
        let mut groups: std::collections::BTreeMap<String, (String, Vec<String>)> = Default::default();
        for (contact_index, contact) in contacts.iter().enumerate() {
            for (address_index, address) in contact.emails.iter().enumerate() {
                let target = Target::Address { contact: contact_index as u32, address: address_index as u32 };
                let address = fold(address);
                if let Some((local, _)) = address.split_once('@') {
                    keys.push((local.to_owned(), target));
                }
                keys.push((address, target));
                for word in contact.name.split_whitespace() {
                    keys.push((fold(word), target));
                }
                if let Some(organization) = &contact.organization {
                    for word in organization.split_whitespace() {
                        keys.push((fold(word), target));
                    }
                }
            }
            if let Some(first) = contact.emails.first() {
                for group in &contact.groups {
                    groups.entry(fold(group)).or_insert_with(|| (group.clone(), Vec::new())).1.push(first.clone());
                }
            }
        }
        let groups: Vec<(String, Vec<String>)> = groups.into_values().collect();
        for (index, (name, _)) in groups.iter().enumerate() {
            keys.push((fold(name), Target::Group(index as u32)));
            for word in name.split_whitespace() {
                keys.push((fold(word), Target::Group(index as u32)));
            }
        }
        keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Completer { contacts, groups, keys }
    }

    /// How many contacts are indexed.
    pub fn len(&self) -> usize {
        self.contacts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty()
    }

    /// At most `limit` suggestions for what was typed; none for an empty query.
    pub fn complete(&self, typed: &str, limit: usize) -> Vec<Suggestion> {
        let query = fold(typed);
        if query.is_empty() || limit == 0 {
            return Vec::new();
        }
        let start = self.keys.partition_point(|(key, _)| key.as_str() < query.as_str());
        let mut targets: Vec<Target> = self.keys[start..]
            .iter()
            .take_while(|(key, _)| key.starts_with(&query))
            .map(|&(_, target)| target)
            .collect();
        targets.sort_unstable_by_key(|target| match *target {
            Target::Group(group) => (0, group, 0),
            Target::Address { contact, address } => (1, contact, address),
        });
        targets.dedup();
        let rank = |target: &Target| -> (u8, String) {
            match *target {
                Target::Group(group) => (0, fold(&self.groups[group as usize].0)),
                Target::Address { contact, .. } => {
                    let name = fold(&self.contacts[contact as usize].name);
                    (if name.starts_with(&query) { 1 } else { 2 }, name)
                }
            }
        };
        // Only the best `limit` need ordering.
        if targets.len() > limit {
            targets.select_nth_unstable_by_key(limit - 1, rank);
            targets.truncate(limit);
        }
        targets.sort_by_cached_key(rank);
        targets
            .into_iter()
            .map(|target| match target {
                Target::Group(group) => {
                    let (name, addresses) = &self.groups[group as usize];
                    Suggestion::Group { name: name.clone(), addresses: addresses.clone() }
                }
                Target::Address { contact, address } => {
                    let contact = &self.contacts[contact as usize];
                    Suggestion::Address {
                        name: contact.name.clone(),
                        address: contact.emails[address as usize].clone(),
                    }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(name: &str, emails: &[&str], groups: &[&str]) -> Summary {
        Summary {
            name: name.into(),
            emails: emails.iter().map(|e| e.to_string()).collect(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Summary::default()
        }
    }

    #[test]
    fn names_addresses_and_groups_complete_by_prefix() {
        let completer = Completer::new(vec![
            contact("Ada Lovelace", &["ada@analytical.example", "countess@lovelace.example"], &["Family"]),
            contact("Charles Babbage", &["charles@engine.example"], &["Family", "Work"]),
            contact("No Address", &[], &["Family"]),
        ]);
        assert_eq!(
            completer.complete("love", 8),
            vec![
                Suggestion::Address { name: "Ada Lovelace".into(), address: "ada@analytical.example".into() },
                Suggestion::Address { name: "Ada Lovelace".into(), address: "countess@lovelace.example".into() },
            ]
        );
        assert_eq!(
            completer.complete("ENGINE", 8),
            vec![],
            "a domain alone is not a key; the local part and the whole address are"
        );
        assert_eq!(completer.complete("charles@e", 8).len(), 1);
        assert_eq!(
            completer.complete("fam", 8),
            vec![Suggestion::Group {
                name: "Family".into(),
                addresses: vec!["ada@analytical.example".into(), "charles@engine.example".into()]
            }]
        );
        assert!(completer.complete("", 8).is_empty());
        assert!(completer.complete("zzz", 8).is_empty());
    }

    #[test]
    fn a_name_that_starts_with_the_query_comes_before_one_that_only_contains_a_word() {
        let completer = Completer::new(vec![
            contact("Zed Anna", &["z@x.example"], &[]),
            contact("Anna Adams", &["anna@x.example"], &[]),
            contact("Annabel Lee", &["lee@x.example"], &[]),
        ]);
        let names: Vec<String> = completer
            .complete("ann", 2)
            .into_iter()
            .map(|s| match s {
                Suggestion::Address { name, .. } | Suggestion::Group { name, .. } => name,
            })
            .collect();
        assert_eq!(names, ["Anna Adams", "Annabel Lee"]);
    }
}
