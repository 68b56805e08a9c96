//! The UI's module map, checked (as rust-analyzer's tidy tests check theirs): the app root is
//! imported by no one; the shared layer (`session`, `consent`, `i18n`, `ui`, …) imports no
//! feature; and features import each other without a cycle, so a new feature (the Contacts app)
//! reads the session and the shared layer and nothing of mail's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What every feature may read.
const SHARED: &[&str] = &["session", "consent", "i18n", "ui", "router", "api_client", "json", "worker_client"];
/// The features.
const FEATURES: &[&str] = &["auth", "mail", "account", "privacy", "shortcuts", "contacts"];

fn sources(path: &Path, out: &mut Vec<String>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("src dir").flatten() {
            sources(&entry.path(), out);
        }
    } else if path.extension().is_some_and(|ext| ext == "rs") {
        out.push(std::fs::read_to_string(path).expect("source"));
    }
}

/// The top-level modules each top-level module names in its code (comments left out).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let all: Vec<&str> = SHARED.iter().chain(FEATURES).copied().chain(["app"]).collect();
    let mut graph = BTreeMap::new();
    for module in &all {
        let mut texts = Vec::new();
        let dir = src.join(module);
        let file = src.join(format!("{module}.rs"));
        sources(if dir.is_dir() { &dir } else { &file }, &mut texts);
        let mut named = BTreeSet::new();
        for line in texts.iter().flat_map(|text| text.lines()).filter(|line| !line.trim_start().starts_with("//")) {
            for other in &all {
                let needle = format!("crate::{other}");
                let mut from = 0;
                while let Some(at) = line[from..].find(&needle).map(|offset| from + offset) {
                    from = at + needle.len();
                    let next = line[from..].chars().next();
                    if other != module && !next.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        named.insert((*other).to_owned());
                    }
                }
            }
        }
        graph.insert((*module).to_owned(), named);
    }
    graph
}

#[test]
fn no_module_imports_the_app_root() {
    for (module, named) in imports() {
        assert!(!named.contains("app"), "{module} imports crate::app");
    }
}

#[test]
fn the_shared_layer_imports_no_feature() {
    let graph = imports();
    for module in SHARED {
        let features: Vec<&String> = graph[*module].iter().filter(|named| FEATURES.contains(&named.as_str())).collect();
        assert!(features.is_empty(), "{module} imports the features {features:?}");
    }
}

#[test]
fn features_import_each_other_without_a_cycle() {
    let graph = imports();
    // Kahn's algorithm over the features: what is left at the end sits on a cycle.
    let mut left: BTreeMap<&str, BTreeSet<&str>> = FEATURES
        .iter()
        .map(|feature| {
            (*feature, graph[*feature].iter().map(String::as_str).filter(|named| FEATURES.contains(named)).collect())
        })
        .collect();
    while let Some(free) = left.iter().find(|(_, needs)| needs.is_empty()).map(|(feature, _)| *feature) {
        left.remove(free);
        for needs in left.values_mut() {
            needs.remove(free);
        }
    }
    assert!(left.is_empty(), "these features import each other in a cycle: {left:?}");
}
