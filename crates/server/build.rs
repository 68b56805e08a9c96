//! With the `embed-app` feature, the built app (trunk's `dist/`, or `$PLICO_EMBED_DIST`) goes
//! into the binary, so that a host can copy one file. Without it, the table is empty and
//! `plico serve --dist` serves the app from disk, as development builds do.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=PLICO_EMBED_DIST");
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("embedded_app.rs");
    let mut table = String::from(
        "/// The app's files, by URL path, as trunk built them.\npub static FILES: &[(&str, &[u8])] = &[\n",
    );
    if std::env::var_os("CARGO_FEATURE_EMBED_APP").is_some() {
        let dist = std::env::var_os("PLICO_EMBED_DIST").map(PathBuf::from).unwrap_or_else(|| {
            Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir")).join("../../dist")
        });
        let dist = dist.canonicalize().unwrap_or_else(|error| {
            panic!("embed-app: {} is not there ({error}); build the app first (trunk build --release)", dist.display())
        });
        assert!(
            dist.join("index.html").is_file(),
            "embed-app: {} has no index.html; build the app first",
            dist.display()
        );
        println!("cargo:rerun-if-changed={}", dist.display());
        let mut files = Vec::new();
        walk(&dist, &dist, &mut files);
        files.sort();
        for (url, path) in files {
            println!("cargo:rerun-if-changed={}", path.display());
            table.push_str(&format!("    ({url:?}, include_bytes!({:?})),\n", path.display().to_string()));
        }
    }
    table.push_str("];\n");
    std::fs::write(out, table).expect("writes the embedded app's table");
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|error| panic!("embed-app: {}: {error}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            walk(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).expect("under dist").to_string_lossy().replace('\\', "/");
            files.push((format!("/{relative}"), path));
        }
    }
}
