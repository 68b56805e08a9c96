//! Serves the built app (trunk's `dist/`) from memory, with caching that fits each file, a
//! Content-Security-Policy that allows trunk's one inline boot script by its hash, and
//! compression: a precompressed `NAME.br` beside a file (which `cargo xtask` writes) for
//! browsers that take brotli, else gzip made here at start.

/// The app built into the binary (`build.rs`; empty without the `embed-app` feature).
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_app.rs"));
}

use std::collections::HashMap;
use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::AppState;

struct StaticFile {
    bytes: axum::body::Bytes,
    gzip: Option<axum::body::Bytes>,
    brotli: Option<axum::body::Bytes>,
    content_type: &'static str,
    cache_control: &'static str,
}

fn is_compressible(content_type: &str) -> bool {
    ["application/wasm", "text/", "application/manifest+json", "image/svg+xml", "application/json"]
        .iter()
        .any(|prefix| content_type.starts_with(prefix))
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).ok()?;
    let compressed = encoder.finish().ok()?;
    (compressed.len() < bytes.len()).then_some(compressed)
}

/// Which encodings the request's `Accept-Encoding` allows.
fn accepts(headers: &axum::http::HeaderMap, encoding: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.trim().split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|param| param.trim().replace(' ', "") == "q=0");
            name.eq_ignore_ascii_case(encoding) && !refused
        })
}

/// The app's files, read once at start.
pub struct StaticFiles {
    files: HashMap<String, StaticFile>,
    csp: String,
    /// The contacts worker's: the app's, and `connect-src https:` for WKD lookups.
    key_lookup_csp: String,
}

/// The origins of the operator's optional integrations, allowed as script and connection
/// sources (they load only after consent; the CSP is what bounds them before and after).
fn integration_sources(origins: &[String]) -> String {
    origins.iter().map(|origin| format!(" {origin}")).collect()
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// The app's policy. A `srcdoc` frame inherits it, so the reader's message frame can never do more
/// than this allows: no inline styles or scripts at all, and `https:` images only for the "load
/// remote content" button. The frame's own policy (`img-src data:` until the user asks) narrows it
/// further; the app itself never puts untrusted markup in its own document.
///
/// `any_https`: the policy of the contacts worker, which looks correspondents' keys up at their
/// domains (WKD) from the browser, so it may connect to any `https:` origin. The page and the
/// crypto worker, which holds the account's secret key, may connect only to this origin.
fn content_security_policy(inline_script_hashes: &[String], origins: &[String], any_https: bool) -> String {
    let hashes: String = inline_script_hashes.iter().map(|hash| format!(" 'sha256-{hash}'")).collect();
    let extra = integration_sources(origins);
    let connect = if any_https { format!("'self' https:{extra}") } else { format!("'self'{extra}") };
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}{extra}; style-src 'self'; \
         img-src 'self' data: blob: https:; \
         font-src 'self'; connect-src {connect}; worker-src 'self'; manifest-src 'self'; frame-src 'none'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// True for trunk's content-hashed names such as `plico-app-9f86d081884c7d65_bg.wasm`.
fn is_content_hashed(file_name: &str) -> bool {
    file_name.split(['-', '_', '.']).any(|part| part.len() >= 12 && part.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The bodies of inline `<script>` elements, for hashing into the CSP.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut scripts = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find("<script") {
        let after_open = &rest[open..];
        let Some(tag_end) = after_open.find('>') else { break };
        let tag = &after_open[..tag_end];
        let body_start = &after_open[tag_end + 1..];
        let Some(close) = body_start.find("</script>") else { break };
        if !tag.contains(" src=") {
            scripts.push(&body_start[..close]);
        }
        rest = &body_start[close..];
    }
    scripts
}

impl StaticFiles {
    /// No app: only the API is served (with the integrations' origins in its policy).
    pub fn empty_with(integration_origins: &[String]) -> Self {
        Self::with_policies(HashMap::new(), &[], integration_origins)
    }

    /// No app: only the API is served.
    pub fn empty() -> Self {
        Self::empty_with(&[])
    }

    fn with_policies(files: HashMap<String, StaticFile>, hashes: &[String], origins: &[String]) -> Self {
        StaticFiles {
            files,
            csp: content_security_policy(hashes, origins, false),
            key_lookup_csp: content_security_policy(hashes, origins, true),
        }
    }

    /// Reads every file under `dir`.
    pub fn load(dir: &Path, integration_origins: &[String]) -> Result<Self, String> {
        let mut read = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(current) = pending.pop() {
            let entries = std::fs::read_dir(&current).map_err(|e| format!("{}: {e}", current.display()))?;
            for entry in entries {
                let path = entry.map_err(|e| e.to_string())?.path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let relative = path.strip_prefix(dir).map_err(|e| e.to_string())?;
                let url_path = format!("/{}", relative.to_string_lossy().replace('\\', "/"));
                let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                read.push((url_path, axum::body::Bytes::from(bytes)));
            }
        }
        Self::from_files(read, integration_origins).map_err(|error| format!("{}: {error}", dir.display()))
    }

    /// The app built into this binary (the `embed-app` feature), if it was.
    pub fn embedded(integration_origins: &[String]) -> Option<Result<Self, String>> {
        if embedded::FILES.is_empty() {
            return None;
        }
        let files =
            embedded::FILES.iter().map(|(path, bytes)| ((*path).to_owned(), axum::body::Bytes::from_static(bytes)));
        Some(Self::from_files(files.collect(), integration_origins))
    }

    /// The app from its files, by URL path (`/index.html`, `/icons/icon-192.png`…); a file's
    /// `.br` twin is its precompressed brotli.
    pub fn from_files(read: Vec<(String, axum::body::Bytes)>, integration_origins: &[String]) -> Result<Self, String> {
        let mut files = HashMap::new();
        let mut precompressed = HashMap::new();
        for (url_path, bytes) in read {
            if let Some(original) = url_path.strip_suffix(".br") {
                precompressed.insert(original.to_owned(), bytes);
                continue;
            }
            let path = Path::new(&url_path);
            let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let content_type = match path.extension().and_then(|e| e.to_str()) {
                Some("wasm") => "application/wasm",
                Some("js") => "text/javascript; charset=utf-8",
                Some("html") => "text/html; charset=utf-8",
                Some("css") => "text/css; charset=utf-8",
                Some("json") | Some("webmanifest") => "application/manifest+json",
                _ => mime_guess::from_path(path).first_raw().unwrap_or("application/octet-stream"),
            };
            let cache_control = if is_content_hashed(&file_name) { IMMUTABLE } else { REVALIDATE };
            let gzip = if is_compressible(content_type) { gzip(&bytes).map(Into::into) } else { None };
            files.insert(url_path, StaticFile { bytes, gzip, brotli: None, content_type, cache_control });
        }
        for (path, brotli) in precompressed {
            if let Some(file) = files.get_mut(&path) {
                file.brotli = Some(brotli);
            }
        }
        let worker = service_worker(&files);
        let gzip_worker = gzip(&worker).map(Into::into);
        files.insert(
            "/sw.js".into(),
            StaticFile {
                bytes: worker.into(),
                gzip: gzip_worker,
                brotli: None,
                content_type: "text/javascript; charset=utf-8",
                cache_control: REVALIDATE,
            },
        );
        let index = files.get("/index.html").ok_or_else(|| "there is no index.html; build the app first".to_owned())?;
        let html = std::str::from_utf8(&index.bytes).map_err(|_| "index.html is not UTF-8".to_owned())?;
        let hashes: Vec<String> =
            inline_scripts(html).iter().map(|script| BASE64.encode(Sha256::digest(script.as_bytes()))).collect();
        Ok(Self::with_policies(files, &hashes, integration_origins))
    }

    pub fn content_security_policy(&self) -> &str {
        &self.csp
    }

    /// The policy of the response to `path`: the contacts worker's script has its own.
    pub fn content_security_policy_for(&self, path: &str) -> &str {
        if path == plico_api::contacts::WORKER_URL {
            &self.key_lookup_csp
        } else {
            &self.csp
        }
    }
}

/// The service worker for this build, from the template `sw.js`: the shell it precaches is every
/// file of the build, and its version is their hash, so each build installs as a new worker
/// (which then waits for the user to reload).
fn service_worker(files: &HashMap<String, StaticFile>) -> Vec<u8> {
    let mut paths: Vec<&String> = files.keys().collect();
    paths.sort();
    let mut hasher = Sha256::new();
    for path in &paths {
        hasher.update(path.as_bytes());
        hasher.update(Sha256::digest(&files[*path].bytes));
    }
    let version: String = hasher.finalize()[..8].iter().map(|byte| format!("{byte:02x}")).collect();
    let shell = serde_json::to_string(&paths).unwrap_or_else(|_| "[]".into());
    include_str!("sw.js").replace("__VERSION__", &version).replace("__SHELL__", &shell).into_bytes()
}

/// Serves an app file, or `index.html` for the app's own routes (paths without an extension).
pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return (StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n").into_response();
    }
    let path = request.uri().path();
    let files = &state.static_files.files;
    let file = files.get(path).or_else(|| {
        let last = path.rsplit('/').next().unwrap_or("");
        (!last.contains('.')).then(|| files.get("/index.html")).flatten()
    });
    match file {
        Some(file) => {
            let (body, encoding) = match (&file.brotli, &file.gzip) {
                (Some(brotli), _) if accepts(request.headers(), "br") => (brotli.clone(), Some("br")),
                (_, Some(gzip)) if accepts(request.headers(), "gzip") => (gzip.clone(), Some("gzip")),
                _ => (file.bytes.clone(), None),
            };
            let mut response = body.into_response();
            let headers = response.headers_mut();
            if let Some(encoding) = encoding {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
            }
            if file.gzip.is_some() || file.brotli.is_some() {
                headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            }
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(file.content_type));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(file.cache_control));
            response
        }
        None if files.is_empty() => (
            StatusCode::NOT_FOUND,
            "The Plico app is not built into this server. Start it with --dist pointing at trunk's dist/.\n",
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_trunks_hashed_names() {
        assert!(is_content_hashed("plico-app-9f86d081884c7d65_bg.wasm"));
        assert!(is_content_hashed("style-5a3bc81e2d4f6a70.css"));
        assert!(!is_content_hashed("plico-worker_loader.js"));
        assert!(!is_content_hashed("index.html"));
    }

    #[test]
    fn reads_accept_encoding_with_weights() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate, br;q=0"));
        assert!(accepts(&headers, "gzip"));
        assert!(!accepts(&headers, "br"), "q=0 refuses");
        assert!(!accepts(&axum::http::HeaderMap::new(), "gzip"));
    }

    #[test]
    fn the_service_worker_precaches_the_build_and_changes_with_it() {
        let dir = std::env::temp_dir().join(format!("plico-sw-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("icons")).expect("dir");
        std::fs::write(dir.join("index.html"), "<html></html>").expect("index");
        std::fs::write(dir.join("plico-app-0123456789abcdef_bg.wasm"), b"\0asm one").expect("wasm");
        std::fs::write(dir.join("icons/icon-192.png"), b"png").expect("icon");
        let worker = |files: &StaticFiles| String::from_utf8(files.files["/sw.js"].bytes.to_vec()).expect("utf-8");
        let first = worker(&StaticFiles::load(&dir, &[]).expect("loads"));
        assert!(
            first.contains(
                r#"const SHELL = ["/icons/icon-192.png","/index.html","/plico-app-0123456789abcdef_bg.wasm"];"#
            ),
            "{first}"
        );
        assert!(!first.contains("__VERSION__") && !first.contains("/sw.js\""), "{first}");
        std::fs::write(dir.join("plico-app-0123456789abcdef_bg.wasm"), b"\0asm two").expect("wasm");
        let second = worker(&StaticFiles::load(&dir, &[]).expect("loads"));
        let version = |text: &str| text.lines().find(|line| line.starts_with("const VERSION")).map(str::to_owned);
        assert_ne!(version(&first), version(&second), "a new build is a new worker");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn finds_inline_scripts_only() {
        let html = r#"<script src="/a.js"></script><script type="module">import x from '/b.js';</script>"#;
        assert_eq!(inline_scripts(html), vec!["import x from '/b.js';"]);
    }

    #[test]
    fn files_from_memory_serve_as_files_from_disk_do() {
        let dir = std::env::temp_dir().join(format!("plico-embed-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("icons")).expect("dir");
        let html = "<html><script type=\"module\">import init from '/plico-app.js';</script></html>";
        let wasm = b"\0asm, a few bytes of it".repeat(40);
        std::fs::write(dir.join("index.html"), html).expect("index");
        std::fs::write(dir.join("plico-app-0123456789abcdef_bg.wasm"), &wasm).expect("wasm");
        std::fs::write(dir.join("plico-app-0123456789abcdef_bg.wasm.br"), b"brotli").expect("br");
        std::fs::write(dir.join("icons/icon-192.png"), b"png").expect("icon");
        let from_disk = StaticFiles::load(&dir, &[]).expect("loads");
        let from_memory = StaticFiles::from_files(
            vec![
                ("/index.html".into(), html.as_bytes().to_vec().into()),
                ("/plico-app-0123456789abcdef_bg.wasm".into(), wasm.clone().into()),
                ("/plico-app-0123456789abcdef_bg.wasm.br".into(), b"brotli".to_vec().into()),
                ("/icons/icon-192.png".into(), b"png".to_vec().into()),
            ],
            &[],
        )
        .expect("loads");
        let mut paths: Vec<&String> = from_memory.files.keys().collect();
        paths.sort();
        let mut disk_paths: Vec<&String> = from_disk.files.keys().collect();
        disk_paths.sort();
        assert_eq!(paths, disk_paths);
        for path in paths {
            let (memory, disk) = (&from_memory.files[path], &from_disk.files[path]);
            assert_eq!(memory.bytes, disk.bytes, "{path}");
            assert_eq!(memory.brotli, disk.brotli, "{path}");
            assert_eq!((memory.content_type, memory.cache_control), (disk.content_type, disk.cache_control), "{path}");
        }
        assert_eq!(
            from_memory.files["/plico-app-0123456789abcdef_bg.wasm"].brotli.as_deref(),
            Some(&b"brotli"[..]),
            "a .br twin is the file's brotli"
        );
        assert!(StaticFiles::from_files(Vec::new(), &[]).is_err(), "no index.html, no app");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(not(feature = "embed-app"))]
    #[test]
    fn without_the_feature_nothing_is_embedded() {
        assert!(StaticFiles::embedded(&[]).is_none());
    }
}
