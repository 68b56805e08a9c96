//! Tidy tests, as rust-analyzer keeps them: the code map in `docs/ARCHITECTURE.md` names every
//! crate and every source file, in one line each, and names nothing that is gone; only the store
//! crate uses sqlx; the server's HTTP handler modules do not import one another, and nothing
//! outside `http/` knows HTTP. They run with `cargo test --workspace`.
//!
//! Each rule is a function over text, so that its own tests can show it failing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A code-map row may be this long; what needs more belongs in the module's own docs.
const MAX_ROW_CHARS: usize = 200;

/// The server's `http/` modules that every handler may use; the rest answer one resource each.
const HTTP_SHARED: &[&str] =
    &["mod", "openapi", "error", "extract", "layers", "session", "sealed", "rules", "rate_limit"];

/// The two indexes that name every handler: the routes and the OpenAPI document.
const HTTP_INDEXES: &[&str] = &["mod", "openapi"];

/// The server's modules that put the subsystems together, and so may name `http/`'s parts.
const SERVER_ROOTS: &[&str] = &["src/lib.rs", "src/main.rs", "src/state.rs"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the workspace root")
}

/// The directories the code map must cover: the root crate, every crate, the fuzz targets and
/// the end-to-end tests.
fn covered_dirs(root: &Path) -> Vec<String> {
    let mut dirs = vec![".".to_owned(), "fuzz".to_owned(), "tests/e2e".to_owned()];
    let mut crates: Vec<String> = std::fs::read_dir(root.join("crates"))
        .expect("crates/")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| format!("crates/{}", entry.file_name().to_string_lossy()))
        .collect();
    crates.sort();
    dirs.extend(crates);
    dirs
}

/// The source files under `dir` (relative to it): Rust everywhere, JavaScript modules in the
/// end-to-end tests. Build output, dependencies and other crates nested inside are skipped.
fn source_files(root: &Path, dir: &str) -> Vec<String> {
    fn walk(base: &Path, at: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(at) else { return };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                let skipped = matches!(name.as_str(), "target" | "node_modules" | "dist") || name.starts_with('.');
                // A crate inside another's directory is covered on its own.
                if !skipped && !path.join("Cargo.toml").is_file() {
                    walk(base, &path, out);
                }
            } else if name.ends_with(".rs") || name.ends_with(".mjs") {
                let relative = path.strip_prefix(base).expect("under its base").to_string_lossy().replace('\\', "/");
                out.push(relative);
            }
        }
    }
    let base = root.join(dir);
    let mut out = Vec::new();
    if dir == "." {
        // The root crate: its own src/ and tests/ only (the rest of the root is other crates).
        for sub in ["src", "tests"] {
            walk(&base, &base.join(sub), &mut out);
        }
        out.retain(|file| !file.starts_with("tests/e2e/"));
    } else {
        walk(&base, &base, &mut out);
    }
    out.sort();
    out
}

/// One row of the code map: the directory it sits under, the path it names, its line.
#[derive(Debug)]
struct Row {
    dir: String,
    path: String,
    line: usize,
}

/// Reads the code map: `### `dir`` headings, then `- `path`: what it is` rows. Returns the
/// headings, the rows, and every fault of form.
fn parse_code_map(doc: &str) -> (Vec<String>, Vec<Row>, Vec<String>) {
    let mut faults = Vec::new();
    let mut headings = Vec::new();
    let mut rows = Vec::new();
    let mut inside = false;
    let mut dir: Option<String> = None;
    for (index, line) in doc.lines().enumerate() {
        let number = index + 1;
        if line.starts_with("## ") {
            inside = line.trim() == "## Code map";
            dir = None;
            continue;
        }
        if !inside || line.trim().is_empty() {
            continue;
        }
        if let Some(heading) = line.strip_prefix("### ") {
            match first_code_span(heading) {
                Some(path) => {
                    headings.push(path.to_owned());
                    dir = Some(path.to_owned());
                }
                None => {
                    faults.push(format!("line {number}: a code-map heading must name its directory in `backticks`"))
                }
            }
            continue;
        }
        let Some(current) = &dir else {
            // The introduction, before the first heading.
            continue;
        };
        let Some(item) = line.strip_prefix("- ") else {
            faults.push(format!(
                "line {number}: a code-map row is one line starting with \"- `path`\" (this looks like a second line of a row)"
            ));
            continue;
        };
        if line.chars().count() > MAX_ROW_CHARS {
            faults.push(format!(
                "line {number}: a code-map row is {} characters, over {MAX_ROW_CHARS}: say the rest in the module's own docs",
                line.chars().count()
            ));
        }
        match first_code_span(item).filter(|_| item.starts_with('`')) {
            Some(path) => rows.push(Row { dir: current.clone(), path: path.to_owned(), line: number }),
            None => faults.push(format!("line {number}: a code-map row starts with its path in `backticks`")),
        }
    }
    (headings, rows, faults)
}

fn first_code_span(text: &str) -> Option<&str> {
    let start = text.find('`')? + 1;
    let end = start + text[start..].find('`')?;
    Some(&text[start..end])
}

/// The code map's faults against the tree: `dirs` must each have a heading, `files[dir]` must
/// each have a row, and every row must name a file or directory that exists (`exists`).
fn check_code_map(
    doc: &str,
    dirs: &[String],
    files: &dyn Fn(&str) -> Vec<String>,
    exists: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let (headings, rows, mut faults) = parse_code_map(doc);
    if headings.is_empty() {
        faults.push("docs/ARCHITECTURE.md has no \"## Code map\" with `### `dir`` headings".into());
    }
    for dir in dirs {
        if !headings.contains(dir) {
            faults.push(format!("{dir} is not in the code map (add a \"### `{dir}`\" heading and its files)"));
        }
    }
    let named: BTreeSet<(String, String)> = rows.iter().map(|row| (row.dir.clone(), row.path.clone())).collect();
    for dir in dirs {
        for file in files(dir) {
            // A row may name a file, or a directory holding it when the directory is one module
            // of many small parts (its row then says what they are).
            let covered = named.contains(&(dir.clone(), file.clone()))
                || named
                    .iter()
                    .any(|(row_dir, path)| row_dir == dir && path.ends_with('/') && file.starts_with(path.as_str()));
            if !covered {
                faults.push(format!("{dir}/{file} is not in the code map (add \"- `{file}`: …\" under {dir})"));
            }
        }
    }
    for row in &rows {
        let full = if row.dir == "." { row.path.clone() } else { format!("{}/{}", row.dir, row.path) };
        if !exists(&full) {
            faults.push(format!("line {}: the code map names {full}, which does not exist", row.line));
        }
    }
    faults
}

/// Crates other than the store that depend on sqlx for their own code (dev-dependencies may:
/// tests play a server whose database was changed).
fn sqlx_outside_store(manifests: &[(String, String)], sources: &[(String, String)]) -> Vec<String> {
    let mut faults = Vec::new();
    for (path, text) in manifests {
        if path == "crates/store/Cargo.toml" {
            continue;
        }
        let mut section = String::new();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                section = line.to_owned();
            } else if (section == "[dependencies]"
                || section.starts_with("[target.") && section.ends_with(".dependencies]"))
                && line.starts_with("sqlx")
            {
                faults.push(format!(
                    "{path} depends on sqlx: only crates/store may (the store is the only place that knows SQL)"
                ));
            }
        }
    }
    for (path, text) in sources {
        // This file names sqlx in its rules and their tests.
        if path.starts_with("crates/store/")
            || path.contains("/tests/")
            || path.contains("/benches/")
            || path == "crates/xtask/src/tidy.rs"
        {
            continue;
        }
        if without_comments(text).contains("sqlx::") {
            faults.push(format!("{path} uses sqlx: only crates/store may"));
        }
    }
    faults
}

/// The server's layering: handler modules in `http/` do not import one another, and no module
/// below `http/` (inbound, outbound, jobs, …) names axum or `crate::http`.
fn server_layering(sources: &[(String, String)]) -> Vec<String> {
    let mut faults = Vec::new();
    let handlers: Vec<String> = sources
        .iter()
        .filter_map(|(path, _)| path.strip_prefix("src/http/")?.strip_suffix(".rs").map(str::to_owned))
        .filter(|module| !module.contains('/') && !HTTP_SHARED.contains(&module.as_str()))
        .collect();
    for (path, text) in sources {
        let code = without_comments(text);
        if let Some(module) = path.strip_prefix("src/http/").and_then(|rest| rest.strip_suffix(".rs")) {
            if HTTP_INDEXES.contains(&module) {
                continue;
            }
            for other in &handlers {
                if other == module {
                    continue;
                }
                if code.contains(&format!("crate::http::{other}")) || code.contains(&format!("super::{other}")) {
                    faults.push(format!(
                        "crates/server/{path} imports the handler module http/{other}.rs: handler modules share only {}",
                        HTTP_SHARED.iter().filter(|name| !HTTP_INDEXES.contains(name)).copied().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        } else if path.starts_with("src/") && !SERVER_ROOTS.contains(&path.as_str()) {
            for http in ["axum", "crate::http"] {
                if code.contains(http) {
                    faults.push(format!(
                        "crates/server/{path} names {http}: only http/ knows HTTP (inbound, outbound, jobs and the store get plain values)"
                    ));
                }
            }
        }
    }
    faults
}

/// The text without `//` comments, so that a doc line may mention what the code may not use.
fn without_comments(text: &str) -> String {
    text.lines().map(|line| line.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn read_all(root: &Path, dir: &str, extension: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for file in source_files(root, dir) {
        if file.ends_with(extension) {
            let text = std::fs::read_to_string(root.join(dir).join(&file)).expect("a source file");
            let path = if dir == "." { file } else { format!("{dir}/{file}") };
            out.push((path, text));
        }
    }
    out
}

fn report(what: &str, faults: Vec<String>) {
    assert!(faults.is_empty(), "{what}:\n  {}", faults.join("\n  "));
}

#[test]
fn the_code_map_names_every_crate_and_source_file_in_one_line_each() {
    let root = root();
    let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).expect("docs/ARCHITECTURE.md");
    let dirs = covered_dirs(&root);
    let faults = check_code_map(&doc, &dirs, &|dir| source_files(&root, dir), &|path| root.join(path).exists());
    report("docs/ARCHITECTURE.md's code map is out of date", faults);
}

#[test]
fn only_the_store_uses_sqlx() {
    let root = root();
    let mut manifests = Vec::new();
    let mut sources = Vec::new();
    for dir in covered_dirs(&root) {
        let manifest = root.join(&dir).join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            let path = if dir == "." { "Cargo.toml".to_owned() } else { format!("{dir}/Cargo.toml") };
            manifests.push((path, text));
        }
        sources.extend(read_all(&root, &dir, ".rs"));
    }
    assert!(manifests.iter().any(|(path, _)| path == "crates/store/Cargo.toml"), "the store crate is where it was");
    report("sqlx outside the store", sqlx_outside_store(&manifests, &sources));
}

#[test]
fn http_handlers_do_not_import_each_other_and_nothing_below_http_knows_it() {
    let root = root();
    let sources: Vec<(String, String)> = read_all(&root, "crates/server", ".rs")
        .into_iter()
        .map(|(path, text)| (path.trim_start_matches("crates/server/").to_owned(), text))
        .collect();
    assert!(sources.iter().any(|(path, _)| path == "src/http/mod.rs"), "the server's http/ is where it was");
    report("the server's layers", server_layering(&sources));
}

#[cfg(test)]
mod rules {
    use super::*;

    fn files(dir: &str) -> Vec<String> {
        match dir {
            "crates/a" => vec!["src/lib.rs".into(), "src/parts/one.rs".into(), "src/parts/two.rs".into()],
            _ => vec![],
        }
    }

    #[test]
    fn a_missing_file_a_missing_crate_a_stale_row_and_an_essay_are_each_named() {
        let dirs = vec!["crates/a".to_owned(), "crates/b".to_owned()];
        let doc = "# A\n\n## Code map\n\nIntro.\n\n### `crates/a` — a\n- `src/lib.rs`: the root.\n- `src/gone.rs`: removed.\n  and a second line\n";
        let exists = |path: &str| path != "crates/a/src/gone.rs";
        let faults = check_code_map(doc, &dirs, &files, &exists);
        let text = faults.join("\n");
        assert!(text.contains("crates/b is not in the code map"), "{text}");
        assert!(text.contains("crates/a/src/parts/one.rs is not in the code map"), "{text}");
        assert!(text.contains("names crates/a/src/gone.rs, which does not exist"), "{text}");
        assert!(text.contains("second line of a row"), "{text}");

        let long =
            format!("## Code map\n### `crates/a`\n- `src/lib.rs`: {}\n- `src/parts/`: two parts.\n", "x".repeat(300));
        let faults = check_code_map(&long, &["crates/a".to_owned()], &files, &|_| true);
        assert_eq!(faults.len(), 1, "{faults:?}");
        assert!(faults[0].contains("over 200"), "{faults:?}");
    }

    #[test]
    fn sqlx_is_refused_outside_the_store_but_not_in_tests() {
        let manifests = vec![
            ("crates/store/Cargo.toml".to_owned(), "[dependencies]\nsqlx = \"0.8\"\n".to_owned()),
            ("crates/server/Cargo.toml".to_owned(), "[dependencies]\nsqlx = \"0.8\"\n".to_owned()),
            ("crates/other/Cargo.toml".to_owned(), "[dev-dependencies]\nsqlx = \"0.8\"\n".to_owned()),
        ];
        let sources = vec![
            ("crates/server/src/jobs/x.rs".to_owned(), "fn f() -> sqlx::Error {}".to_owned()),
            ("crates/server/tests/x.rs".to_owned(), "sqlx::query(\"\")".to_owned()),
        ];
        let faults = sqlx_outside_store(&manifests, &sources);
        assert_eq!(faults.len(), 2, "{faults:?}");
        assert!(faults[0].starts_with("crates/server/Cargo.toml"));
        assert!(faults[1].starts_with("crates/server/src/jobs/x.rs"));
    }

    #[test]
    fn a_handler_importing_another_and_a_job_knowing_http_are_refused() {
        let sources = vec![
            ("src/http/mod.rs".to_owned(), "use crate::http::account;".to_owned()),
            ("src/http/openapi.rs".to_owned(), "crate::http::mail::send".to_owned()),
            (
                "src/http/account.rs".to_owned(),
                "use crate::http::privacy::check;\nuse crate::http::error::ApiError;".to_owned(),
            ),
            ("src/http/privacy.rs".to_owned(), "// see crate::http::account\nuse super::sealed;".to_owned()),
            ("src/http/error.rs".to_owned(), String::new()),
            ("src/http/sealed.rs".to_owned(), String::new()),
            ("src/jobs/retention.rs".to_owned(), "use axum::Json;".to_owned()),
            ("src/state.rs".to_owned(), "use crate::http::rate_limit::Limits;".to_owned()),
        ];
        let faults = server_layering(&sources);
        assert_eq!(faults.len(), 2, "{faults:?}");
        assert!(faults[0].contains("src/http/account.rs imports the handler module http/privacy.rs"), "{faults:?}");
        assert!(faults[1].contains("src/jobs/retention.rs names axum"), "{faults:?}");
    }
}
