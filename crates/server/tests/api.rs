//! The API through the real router against a temporary SQLite file, with the real client flows.

mod common;

use axum::body::Body;
use axum::http::header;
use common::*;
use plico_client::FlowError;

#[tokio::test]
async fn sign_up_sign_out_sign_in_and_manage_the_login_history() {
    let server = TestServer::start().await;
    let browser = server.client("203.0.113.7");

    let signed_up = signup(&browser, "Alice").await;
    assert_eq!(signed_up.account.address, "alice@plico.test");
    assert_eq!(signed_up.account.fingerprint, plico_pgp::fingerprint_hex(&signed_up.secret_key));
    assert_eq!(browser.get("/api/v1/session").await.status, 200, "sign-up signs in");

    let logout = browser.post_raw("/api/v1/logout", "").await;
    assert_eq!(logout.status, 204);
    assert_eq!(browser.get("/api/v1/session").await.status, 401);

    let signed_in = plico_client::login(&browser, "alice@plico.test", PASSWORD, |_| {}).await.expect("signs in");
    assert_eq!(signed_in.account.fingerprint, signed_up.account.fingerprint, "the same key unlocks");
    assert!(signed_in.secret_key.is_tsk(), "the secret key is open in the client");

    let history = browser.get("/api/v1/account/logins").await.json();
    let events = history["events"].as_array().expect("events");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["kind"], "password");
    assert_eq!(events[1]["kind"], "signup");
    assert_eq!(events[0]["ip"], "203.0.113.7");
    assert_eq!(events[0]["user_agent"], "PlicoTest/1.0");
    assert_eq!(history["retention_days"], 30);
    let entry_keys: Vec<_> = events[0].as_object().expect("object").keys().cloned().collect();
    assert_eq!(
        entry_keys,
        ["at", "id", "ip", "kind", "user_agent"],
        "an entry holds what the policy names and nothing else"
    );

    let first_id = events[1]["id"].as_i64().expect("id");
    assert_eq!(browser.delete(&format!("/api/v1/account/logins/{first_id}")).await.status, 204);
    assert_eq!(browser.get("/api/v1/account/logins").await.json()["events"].as_array().expect("events").len(), 1);
    assert_eq!(browser.delete(&format!("/api/v1/account/logins/{first_id}")).await.error_code(), "no_such_login");
    assert_eq!(browser.delete("/api/v1/account/logins").await.status, 204);
    assert!(browser.get("/api/v1/account/logins").await.json()["events"].as_array().expect("events").is_empty());
}

#[tokio::test]
async fn a_device_kept_offline_unlocks_the_same_key_with_the_password_alone() {
    let server = TestServer::start().await;
    let browser = server.client("203.0.113.9");
    let signed_up = signup(&browser, "carol").await;
    let signed_in =
        plico_client::sign_in(&browser, "carol", PASSWORD, false, |_| {}).await.expect("signs in with the server");
    let record = plico_client::device_unlock::record(PASSWORD, &signed_in.export_key, &signed_in.session.account)
        .expect("the device's record");
    // No transport and no server from here: only the record and the password.
    drop(browser);
    drop(server);
    let offline = plico_client::device_unlock::unlock("carol", PASSWORD, &record).expect("unlocks offline");
    assert_eq!(offline.account, signed_in.session.account);
    assert_eq!(plico_pgp::fingerprint_hex(&offline.secret_key), signed_up.account.fingerprint);
    assert!(offline.secret_key.is_tsk(), "the secret key is open");
    let wrong =
        plico_client::device_unlock::unlock("carol", "not the password at all", &record).err().expect("refused");
    assert!(matches!(wrong, FlowError::InvalidLogin), "{wrong:?}");
}

#[tokio::test]
async fn another_users_session_cannot_delete_my_history() {
    let server = TestServer::start().await;
    let alice = server.client("198.51.100.1");
    let mallory = server.client("198.51.100.2");
    signup(&alice, "alice").await;
    signup(&mallory, "mallory").await;
    let alice_event = alice.get("/api/v1/account/logins").await.json()["events"][0]["id"].as_i64().expect("id");
    assert_eq!(mallory.delete(&format!("/api/v1/account/logins/{alice_event}")).await.status, 404);
    assert_eq!(alice.get("/api/v1/account/logins").await.json()["events"].as_array().expect("events").len(), 1);
}

#[tokio::test]
async fn wrong_password_and_unknown_name_get_the_same_answer() {
    let server = TestServer::start().await;
    let browser = server.client("192.0.2.1");
    signup(&browser, "bob").await;

    let wrong = plico_client::login(&browser, "bob", "not the password at all", |_| {}).await.err().expect("refused");
    let unknown = plico_client::login(&browser, "nobody", PASSWORD, |_| {}).await.err().expect("refused");
    assert!(matches!(wrong, FlowError::InvalidLogin), "{wrong:?}");
    assert!(matches!(unknown, FlowError::InvalidLogin), "{unknown:?}");
    assert_eq!(wrong.to_string(), unknown.to_string());

    // On the wire, login/start answers both with a 200 and a response of the same length.
    let request = |address: &str| {
        let (_, message) = plico_opaque::client_login_start(b"whatever password").expect("start");
        serde_json::json!({"address": address, "credential_request": base64_encode(&message)}).to_string()
    };
    let known = browser.post_raw("/api/v1/login/start", request("bob")).await;
    let missing = browser.post_raw("/api/v1/login/start", request("nobody")).await;
    assert_eq!((known.status, missing.status), (200, 200));
    assert_eq!(
        known.json()["credential_response"].as_str().expect("response").len(),
        missing.json()["credential_response"].as_str().expect("response").len()
    );
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn a_taken_name_is_a_conflict() {
    let server = TestServer::start().await;
    let browser = server.client("192.0.2.2");
    signup(&browser, "carol").await;
    let again =
        plico_client::signup(&server.client("192.0.2.3"), "Carol", PASSWORD, |_| {}).await.err().expect("refused");
    match again {
        FlowError::Api { status, code, message } => {
            assert_eq!((status, code.as_str()), (409, "name_taken"));
            assert!(message.contains("carol"), "{message}");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn the_database_never_holds_the_password_or_a_clear_secret_key() {
    let server = TestServer::start().await;
    let browser = server.client("192.0.2.4");
    let session = signup(&browser, "dave").await;
    plico_client::login(&browser, "dave", PASSWORD, |_| {}).await.expect("signs in");
    // Checkpoint the WAL so every byte written is in the files we scan.
    server.checkpoint().await;

    let secret_packets = sequoia_secret_key_material(&session.secret_key);
    for path in server.files_on_disk() {
        let bytes = std::fs::read(&path).expect("reads");
        assert!(!contains(&bytes, PASSWORD.as_bytes()), "{} contains the password", path.display());
        for secret in &secret_packets {
            assert!(!contains(&bytes, secret), "{} contains secret key material", path.display());
        }
    }
}

/// The raw secret scalars of every key in the certificate.
fn sequoia_secret_key_material(cert: &plico_pgp::Certificate) -> Vec<Vec<u8>> {
    use sequoia_openpgp::packet::key::SecretKeyMaterial;
    let mut secrets = Vec::new();
    for key in cert.keys().secret() {
        if let SecretKeyMaterial::Unencrypted(unencrypted) = key.key().optional_secret().expect("has secret") {
            unencrypted.map(|mpis| {
                use sequoia_openpgp::crypto::mpi::SecretKeyMaterial as Mpis;
                match mpis {
                    Mpis::EdDSA { scalar } | Mpis::ECDH { scalar } => secrets.push(scalar.value().to_vec()),
                    Mpis::Ed25519 { x } => secrets.push(x.as_ref().to_vec()),
                    Mpis::X25519 { x } => secrets.push(x.as_ref().to_vec()),
                    other => panic!("unexpected key type {other:?}"),
                }
            });
        }
    }
    assert_eq!(secrets.len(), 2, "the primary (certifies and signs) and the encryption subkey");
    secrets
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[tokio::test]
async fn a_secret_key_uploaded_as_the_certificate_is_refused() {
    let server = TestServer::start().await;
    let browser = server.client("192.0.2.5");
    let generated = plico_pgp::generate_cert("erin@plico.test").expect("key");
    let (state, request) = plico_opaque::client_registration_start(PASSWORD.as_bytes()).expect("start");
    let started = browser
        .post_raw(
            "/api/v1/signup/start",
            serde_json::json!({"name": "erin", "registration_request": base64_encode(&request)}).to_string(),
        )
        .await
        .json();
    let response = base64_decode(started["registration_response"].as_str().expect("response"));
    let (upload, _) = plico_opaque::client_registration_finish(state, PASSWORD.as_bytes(), &response).expect("finish");
    let armored_secret = {
        use sequoia_openpgp::serialize::SerializeInto;
        let cert = plico_pgp::parse_cert(&generated.secret_key).expect("cert");
        let armored = cert.as_tsk().armored().to_vec().expect("armors");
        String::from_utf8(armored).expect("utf8")
    };
    let finish = browser
        .post_raw(
            "/api/v1/signup/finish",
            serde_json::json!({"signup_id": started["signup_id"], "name": "erin", "registration_upload": base64_encode(&upload),
                "public_cert": armored_secret, "sealed_secret_key": base64_encode(b"sealed"), "pow": solved_pow(&started),
                "terms_version": started["terms_version"]})
            .to_string(),
        )
        .await;
    assert_eq!(finish.status, 422);
    assert_eq!(finish.error_code(), "invalid_cert");
    assert!(finish.json()["error"]["message"].as_str().expect("message").contains("secret key material"));
    assert_eq!(browser.get("/api/v1/keys/erin@plico.test").await.status, 404, "no account was created");
}

fn base64_decode(value: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(value).expect("base64")
}

#[tokio::test]
async fn keys_are_published_by_api_and_web_key_directory() {
    let server = TestServer::start().await;
    let browser = server.client("192.0.2.6");
    let session = signup(&browser, "Frank.Ocean").await;
    let anonymous = server.client("192.0.2.7");

    let key = anonymous.get("/api/v1/keys/frank.ocean@plico.test").await;
    assert_eq!(key.status, 200);
    assert_eq!(key.json()["fingerprint"], session.account.fingerprint.as_str());
    let published =
        plico_pgp::parse_cert(key.json()["public_cert"].as_str().expect("cert").as_bytes()).expect("parses");
    assert!(!published.is_tsk());

    let hash = plico_server::wkd::wkd_hash("frank.ocean");
    let wkd = anonymous.get(&format!("/.well-known/openpgpkey/hu/{hash}?l=frank.ocean")).await;
    assert_eq!(wkd.status, 200);
    assert_eq!(wkd.headers[header::CONTENT_TYPE], "application/octet-stream");
    assert_eq!(
        plico_pgp::fingerprint_hex(&plico_pgp::parse_cert(&wkd.body).expect("binary cert")),
        session.account.fingerprint
    );
    // Browsers of other domains look keys up here directly (the WKD draft asks for
    // `Access-Control-Allow-Origin: *`), and must be able to tell "no key" from a refusal.
    assert_eq!(wkd.headers["access-control-allow-origin"], "*");
    let missing = anonymous.get(&format!("/.well-known/openpgpkey/hu/{hash}?l=someone.else")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.headers.get("access-control-allow-origin").map(|v| v.to_str().unwrap_or("")), Some("*"));
    let unknown = anonymous.get("/.well-known/openpgpkey/hu/ybndrfg8ejkmcpqxot1uwisza345h769").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.headers.get("access-control-allow-origin").map(|v| v.to_str().unwrap_or("")), Some("*"));
    assert_eq!(anonymous.get("/.well-known/openpgpkey/policy").await.status, 200);
    assert_eq!(anonymous.get("/api/v1/keys/nobody@plico.test").await.error_code(), "no_such_key");
    assert_eq!(anonymous.get("/api/v1/keys/frank.ocean@elsewhere.org").await.status, 404);
}

#[tokio::test]
async fn every_bad_input_class_gets_the_one_error_shape_and_its_status() {
    let server = TestServer::start_with(|config| {
        config.max_body_bytes = 4096;
        config.login_attempts_per_ip_per_minute = 3;
    })
    .await;
    let browser = server.client("192.0.2.8");
    let check = |response: TestResponse, status: u16, code: &str| {
        assert_eq!(response.status, status, "{}", String::from_utf8_lossy(&response.body));
        let json = response.json();
        assert_eq!(json["error"]["code"], code, "{json}");
        assert!(json["error"]["message"].as_str().is_some_and(|m| m.len() > 10), "a readable message: {json}");
        assert_eq!(json.as_object().expect("object").len(), 1, "only the error key: {json}");
    };

    check(browser.post_raw("/api/v1/signup/start", "{not json").await, 400, "malformed_json");
    check(
        browser.post_raw("/api/v1/signup/start", r#"{"name":"ok-name","registration_request":"%%%"}"#).await,
        400,
        "malformed_field",
    );
    check(
        browser.post_raw("/api/v1/signup/start", r#"{"name":"ok-name","registration_request":"AAAA"}"#).await,
        400,
        "malformed_opaque",
    );
    check(browser.get("/api/v1/session").await, 401, "unauthorized");
    let without_csrf =
        axum::http::Request::builder().method("POST").uri("/api/v1/logout").body(Body::empty()).expect("request");
    check(browser.send(without_csrf).await, 403, "csrf");
    let cross_site = browser
        .request("POST", "/api/v1/logout")
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .expect("request");
    check(browser.send(cross_site).await, 403, "csrf");
    check(browser.get("/api/v1/no/such/thing").await, 404, "no_such_endpoint");
    check(browser.delete("/api/v1/info").await, 405, "method_not_allowed");
    signup(&browser, "taken").await;
    check(
        browser.post_raw("/api/v1/signup/start", r#"{"name":"taken","registration_request":"AAAA"}"#).await,
        409,
        "name_taken",
    );
    check(browser.post_raw("/api/v1/signup/start", "x".repeat(5000)).await, 413, "body_too_large");
    let streamed = browser
        .request("POST", "/api/v1/signup/start")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(futures_stream(vec![vec![b' '; 3000], vec![b' '; 3000]])))
        .expect("request");
    check(browser.send(streamed).await, 413, "body_too_large");
    let not_json = browser
        .request("POST", "/api/v1/signup/start")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .expect("request");
    check(browser.send(not_json).await, 415, "unsupported_media_type");
    check(
        browser.post_raw("/api/v1/signup/start", r#"{"name":"ab","registration_request":"AAAA"}"#).await,
        422,
        "invalid_name",
    );
    check(browser.post_raw("/api/v1/signup/start", r#"{"name":42}"#).await, 422, "invalid_field");

    let (_, message) = plico_opaque::client_login_start(b"pw").expect("start");
    let login = serde_json::json!({"address": "taken", "credential_request": base64_encode(&message)}).to_string();
    for _ in 0..3 {
        assert_eq!(browser.post_raw("/api/v1/login/start", login.clone()).await.status, 200);
    }
    let limited = browser.post_raw("/api/v1/login/start", login.clone()).await;
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
    check(limited, 429, "rate_limited");
}

/// A body that arrives in chunks without a Content-Length.
struct Chunks(std::vec::IntoIter<Vec<u8>>);

impl futures_core::Stream for Chunks {
    type Item = Result<Vec<u8>, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.0.next().map(Ok))
    }
}

fn futures_stream(chunks: Vec<Vec<u8>>) -> Chunks {
    Chunks(chunks.into_iter())
}

#[tokio::test]
async fn login_attempts_are_limited_per_account_and_source_and_across_many_sources() {
    let server = TestServer::start_with(|config| config.login_attempts_per_account = 2).await;
    signup(&server.client("192.0.2.9"), "grace").await;
    let (_, message) = plico_opaque::client_login_start(b"pw").expect("start");
    let login =
        serde_json::json!({"address": "grace@plico.test", "credential_request": base64_encode(&message)}).to_string();
    let attempt = async |ip: &str| server.client(ip).post_raw("/api/v1/login/start", login.clone()).await.status;
    // One source: two attempts per window, then it waits (and only it).
    assert_eq!(attempt("10.0.0.1").await, 200);
    assert_eq!(attempt("10.0.0.1").await, 200);
    assert_eq!(attempt("10.0.0.1").await, 429);
    // Many sources: ten times as many attempts on the account in all, then new sources wait.
    let mut statuses = Vec::new();
    for n in 2..=40 {
        statuses.push(attempt(&format!("10.0.1.{n}")).await);
    }
    assert_eq!(statuses.iter().filter(|status| **status == 200).count(), 18, "{statuses:?}");
    // Grace's own device, which she signed up on, is not held back.
    assert_eq!(attempt("192.0.2.9").await, 200);
}

#[tokio::test]
async fn login_history_is_purged_after_a_month_and_sessions_expire() {
    let server = TestServer::start().await;
    let browser = server.client("192.0.2.10");
    signup(&browser, "heidi").await;
    server.clock.advance(20 * 86_400);
    plico_client::login(&browser, "heidi", PASSWORD, |_| {}).await.expect("signs in");

    server.clock.advance(11 * 86_400); // the sign-up entry is now 31 days old, the login 11
    let report = plico_server::jobs::retention::run_once(&server.state).await.expect("retention runs");
    assert_eq!(report.login_events, 1, "only the month-old entry goes");
    assert_eq!(report.sessions, 2, "the sign-up and day-20 sessions have expired and are deleted");

    plico_client::login(&browser, "heidi", PASSWORD, |_| {}).await.expect("signs in again");
    let events = browser.get("/api/v1/account/logins").await.json()["events"].as_array().expect("events").clone();
    let kinds: Vec<_> = events.iter().map(|event| event["kind"].as_str().expect("kind")).collect();
    assert_eq!(kinds, ["password", "password"], "the sign-up entry is gone, both logins stay");

    server.clock.advance(7 * 86_400 + 1); // past the one-week session lifetime
    assert_eq!(browser.get("/api/v1/session").await.status, 401);
    let report = plico_server::jobs::retention::run_once(&server.state).await.expect("retention runs");
    assert_eq!(report.sessions, 1);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_random() {
    let server = TestServer::start().await;
    let browser = server.client("192.0.2.11");
    let (_, request) = plico_opaque::client_registration_start(PASSWORD.as_bytes()).expect("start");
    let _ = request;
    signup(&browser, "ivan").await;
    let cookie = browser.cookie.lock().expect("lock").clone().expect("cookie set");
    let value = cookie.strip_prefix("plico_session=").expect("named plico_session");
    assert_eq!(value.len(), 43, "256 bits, base64url without padding");

    let logout = browser.post_raw("/api/v1/logout", "").await;
    let set_cookie = logout.headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(set_cookie.contains("Max-Age=0"));
    // The old cookie no longer works: the session was deleted on the server.
    *browser.cookie.lock().expect("lock") = Some(cookie);
    assert_eq!(browser.get("/api/v1/session").await.status, 401);
}

#[tokio::test]
async fn behind_tls_the_cookie_is_secure_host_prefixed_and_hsts_is_sent() {
    let server = TestServer::start_with(|config| config.behind_tls = true).await;
    let browser = server.client("192.0.2.12");
    let (_, request) = plico_opaque::client_registration_start(PASSWORD.as_bytes()).expect("start");
    let response = browser
        .post_raw(
            "/api/v1/signup/start",
            serde_json::json!({"name": "judy", "registration_request": base64_encode(&request)}).to_string(),
        )
        .await;
    assert!(response.headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
    signup(&browser, "judy").await;
    let jar = browser.cookie.lock().expect("lock").clone().expect("cookie");
    assert!(jar.starts_with("__Host-plico_session="), "{jar}");
}

#[tokio::test]
async fn openapi_document_lists_every_endpoint() {
    let server = TestServer::start().await;
    let document = server.client("192.0.2.13").get("/api/v1/openapi.json").await.json();
    let paths = document["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/signup/start",
        "/api/v1/signup/finish",
        "/api/v1/login/start",
        "/api/v1/login/finish",
        "/api/v1/logout",
        "/api/v1/session",
        "/api/v1/account/logins",
        "/api/v1/account/logins/{id}",
        "/api/v1/keys/{address}",
        "/api/v1/blobs",
        "/api/v1/blobs/{hash}",
        "/api/v1/folders",
        "/api/v1/folders/{id}",
        "/api/v1/messages",
        "/api/v1/messages/delete",
        "/api/v1/messages/recover",
        "/api/v1/sync",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the OpenAPI document");
    }
    assert!(document["components"]["schemas"]["ErrorBody"].is_object());
}

#[tokio::test]
async fn the_app_is_served_with_security_headers_and_fitting_cache_rules() {
    let dist = tempfile::tempdir().expect("dist");
    let boot = "import init from '/plico-app-0123456789abcdef.js';await init();";
    std::fs::write(
        dist.path().join("index.html"),
        format!("<html><body><script type=\"module\">{boot}</script></body></html>"),
    )
    .expect("write");
    let wasm_bytes: Vec<u8> = b"\0asm".iter().copied().chain(std::iter::repeat_n(7u8, 4096)).collect();
    std::fs::write(dist.path().join("plico-app-0123456789abcdef_bg.wasm"), &wasm_bytes).expect("write");
    std::fs::write(dist.path().join("plico-app-0123456789abcdef_bg.wasm.br"), b"precompressed by xtask")
        .expect("write");
    std::fs::write(dist.path().join("plico-worker_loader.js"), b"importScripts('x')").expect("write");
    std::fs::write(dist.path().join("plico-contacts_loader.js"), b"importScripts('y')").expect("write");
    let dist_path = dist.path().to_path_buf();
    let server = TestServer::start_with(move |config| config.dist_dir = Some(dist_path)).await;
    let browser = server.client("192.0.2.14");

    let index = browser.get("/").await;
    assert_eq!(index.status, 200);
    assert_eq!(index.headers[header::CACHE_CONTROL], "no-cache");
    let csp = index.headers[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii").to_owned();
    use sha2::Digest;
    let expected_hash = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(boot.as_bytes()))
    };
    assert!(csp.contains(&format!("'sha256-{expected_hash}'")), "{csp}");
    assert!(csp.contains("'wasm-unsafe-eval'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"), "{csp}");
    // The page and the crypto worker (which holds the secret key) connect to this origin only;
    // the contacts worker may also ask other domains' key directories (WKD) over HTTPS.
    let connect_src = |policy: &str| {
        policy.split(';').map(str::trim).find(|d| d.starts_with("connect-src")).expect("connect-src").to_owned()
    };
    assert_eq!(connect_src(&csp), "connect-src 'self'");
    let crypto_worker = browser.get("/plico-worker_loader.js").await;
    assert_eq!(
        connect_src(crypto_worker.headers[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii")),
        "connect-src 'self'"
    );
    let contacts_worker = browser.get("/plico-contacts_loader.js").await;
    let contacts_csp = contacts_worker.headers[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii");
    assert_eq!(connect_src(contacts_csp), "connect-src 'self' https:");
    assert_eq!(
        contacts_csp.replace("connect-src 'self' https:", "connect-src 'self'"),
        csp,
        "otherwise the same policy"
    );
    assert_eq!(index.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(index.headers[header::REFERRER_POLICY], "no-referrer");
    assert!(!index.headers.contains_key(header::STRICT_TRANSPORT_SECURITY), "no HSTS without TLS");

    let wasm = browser.get("/plico-app-0123456789abcdef_bg.wasm").await;
    assert_eq!(wasm.headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert_eq!(wasm.headers[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(wasm.body, wasm_bytes, "no compression without Accept-Encoding");

    let gzipped = browser
        .send(
            browser
                .request("GET", "/plico-app-0123456789abcdef_bg.wasm")
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(gzipped.headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(gzipped.headers[header::VARY], "accept-encoding");
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzipped.body[..]), &mut decoded).expect("gunzips");
    assert_eq!(decoded, wasm_bytes);
    assert!(gzipped.body.len() < wasm_bytes.len() / 4);

    let brotli = browser
        .send(
            browser
                .request("GET", "/plico-app-0123456789abcdef_bg.wasm")
                .header(header::ACCEPT_ENCODING, "gzip, br")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(brotli.headers[header::CONTENT_ENCODING], "br");
    assert_eq!(brotli.body, b"precompressed by xtask", "the .br file beside it is served as it is");
    assert_eq!(browser.get("/plico-worker_loader.js").await.headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(browser.get("/mail/inbox").await.body, index.body, "app routes get index.html");
    assert_eq!(browser.get("/missing.js").await.status, 404);
    let api = browser.get("/api/v1/info").await;
    assert_eq!(api.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(api.json()["domain"], "plico.test");
}

/// Load balancers ask `/healthz` whether the process lives and `/readyz` whether it can serve:
/// the database answers and the blob store takes writes. A part that cannot is named, with 503.
#[tokio::test]
async fn health_endpoints_say_live_and_ready_and_name_the_part_that_is_not() {
    let server = TestServer::start().await;
    let balancer = server.client("198.51.100.9");
    let live = balancer.get("/healthz").await;
    assert_eq!(live.status, 200);
    assert_eq!(live.json()["status"], "live");
    let ready = balancer.get("/readyz").await;
    assert_eq!(ready.status, 200, "{:?}", ready.json());
    assert_eq!(ready.json()["database"], "ok");
    assert_eq!(ready.json()["blobs"], "ok");

    // The blob directory becomes unwritable (as a full or read-only disk is). A bucket that
    // is missing or refuses the key is plico-store's blob test (`tests/blobs.rs`).
    if common::backend() == common::Backend::PostgresS3 {
        server.close_database().await;
        assert_ne!(balancer.get("/readyz").await.json()["database"], "ok");
        return;
    }
    let blobs = server.state.config.data_dir.join("blobs");
    let moved = server.state.config.data_dir.join("blobs-away");
    std::fs::rename(&blobs, &moved).expect("moves the blob directory");
    std::fs::write(&blobs, b"not a directory").expect("a file in its place");
    let unready = balancer.get("/readyz").await;
    assert_eq!(unready.status, 503);
    assert_eq!(unready.json()["status"], "unready");
    assert_eq!(unready.json()["database"], "ok");
    assert_ne!(unready.json()["blobs"], "ok");
    assert_eq!(balancer.get("/healthz").await.status, 200, "alive all the same");
    std::fs::remove_file(&blobs).expect("removes the file");
    std::fs::rename(&moved, &blobs).expect("puts the directory back");
    assert_eq!(balancer.get("/readyz").await.status, 200, "ready again");

    // The database goes away.
    server.close_database().await;
    let unready = balancer.get("/readyz").await;
    assert_eq!(unready.status, 503);
    assert_ne!(unready.json()["database"], "ok");
}
