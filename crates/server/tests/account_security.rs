//! Account security through the real router and the real client flows: the authenticator app
//! (RFC 6238) as a second factor, recovery codes, the half-signed-in step that can read nothing,
//! re-authentication, the session list, revocation (a revoked cookie hears `session_revoked` on
//! every endpoint), idle timeouts and "Keep me signed in", and failed sign-ins in the history.

mod common;

use common::*;
use plico_api::security::SecondFactorKind;
use plico_client::flows::{self, SignInOptions, SignInStep};
use plico_server::totp;

#[path = "account_security/authenticator.rs"]
mod authenticator;
use authenticator::SoftPasskey;

/// Reads the secret out of a `TotpSetup` answer.
fn setup_secret(setup: &serde_json::Value) -> Vec<u8> {
    let text = setup["secret"].as_str().expect("secret");
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = vec![];
    for c in text.chars() {
        let value = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".find(c).expect("base32") as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            out.push((bits >> (count - 8)) as u8);
            count -= 8;
        }
    }
    out
}

async fn post_json(client: &TestClient, path: &str, body: serde_json::Value) -> TestResponse {
    client.post_raw(path, body.to_string()).await
}

/// Signs up `name` on `client`, turns the authenticator on, and gives its secret and the
/// recovery codes.
async fn with_totp(server: &TestServer, client: &TestClient, name: &str) -> (Vec<u8>, Vec<String>) {
    signup(client, name).await;
    let address = format!("{name}@plico.test");
    let refused = client.post_raw("/api/v1/account/security/totp", "").await;
    assert_eq!((refused.status, refused.error_code().as_str()), (403, "reauth_required"), "asks for the password");
    flows::reauthenticate(client, &address, PASSWORD).await.expect("re-authenticates");
    let setup = client.post_raw("/api/v1/account/security/totp", "").await;
    assert_eq!(setup.status, 200, "{}", setup.json());
    let setup = setup.json();
    let uri = setup["uri"].as_str().expect("uri");
    assert!(uri.starts_with(&format!("otpauth://totp/Plico:{name}@plico.test?secret=")), "{uri}");
    let secret = setup_secret(&setup);
    assert_eq!(secret.len(), 20);

    // Not on until a code confirms it: sign-in still needs the password only.
    let overview = client.get("/api/v1/account/security").await.json();
    assert_eq!(overview["totp_since"], serde_json::Value::Null);
    let wrong = post_json(client, "/api/v1/account/security/totp/confirm", serde_json::json!({"code": "000000"})).await;
    let wrong_code = if totp::code_at(&secret, server.clock.now()) == "000000" { 200 } else { 403 };
    assert_eq!(wrong.status, wrong_code);
    let code = totp::code_at(&secret, server.clock.now());
    let confirmed = post_json(client, "/api/v1/account/security/totp/confirm", serde_json::json!({"code": code})).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.json());
    let codes: Vec<String> = serde_json::from_value(confirmed.json()["codes"].clone()).expect("codes");
    assert_eq!(codes.len(), 10, "ten recovery codes, shown once");
    let overview = client.get("/api/v1/account/security").await.json();
    assert!(overview["totp_since"].is_i64(), "{overview}");
    assert_eq!(overview["recovery_codes_left"], 10);
    (secret, codes)
}

use plico_server::clock::Clock;

async fn password_step(client: &TestClient, name: &str) -> flows::PendingSignIn {
    let step = flows::sign_in_steps(client, name, PASSWORD, SignInOptions::default(), &|_| {}).await.expect("password");
    match step {
        SignInStep::SecondFactor(pending) => pending,
        SignInStep::Done(_) => panic!("signed in without the second factor"),
    }
}

#[tokio::test]
async fn an_authenticator_guards_sign_in_and_each_code_works_once() {
    let server = TestServer::start().await;
    let owner = server.client("203.0.113.20");
    let (secret, _) = with_totp(&server, &owner, "ana").await;

    // Another browser: the password alone leaves it half signed in, with nothing to read.
    let other = server.client("203.0.113.21");
    let pending = password_step(&other, "ana").await;
    assert_eq!(pending.required.methods, vec![SecondFactorKind::Totp, SecondFactorKind::RecoveryCode]);
    assert!(other.cookie.lock().expect("jar").is_none(), "no session cookie before the second factor");
    assert_eq!(other.get("/api/v1/session").await.status, 401);
    assert_eq!(other.get("/api/v1/sync?since=0").await.status, 401);
    // The pending id is no cookie either.
    other.cookie.lock().expect("jar").replace(format!("plico_session={}", pending.required.pending_id));
    assert_eq!(other.get("/api/v1/session").await.status, 401);
    other.cookie.lock().expect("jar").take();

    // The code that turned the app on cannot sign in (same step); a wrong one counts a try.
    let reused = flows::finish_second_factor(
        &other,
        &pending,
        SecondFactorKind::Totp,
        &totp::code_at(&secret, server.clock.now()),
    )
    .await
    .err()
    .expect("a used step is refused");
    assert_eq!(reused.code(), "wrong_second_factor");
    assert!(reused.to_string().contains("4 tries left"), "{reused}");

    server.clock.advance(totp::STEP);
    let code = totp::code_at(&secret, server.clock.now());
    let signed_in =
        flows::finish_second_factor(&other, &pending, SecondFactorKind::Totp, &code).await.expect("signs in");
    assert_eq!(signed_in.session.account.address, "ana@plico.test");
    assert!(signed_in.session.secret_key.is_tsk(), "the key unlocks after the factor");
    assert_eq!(other.get("/api/v1/session").await.status, 200);

    // The pending sign-in is spent, and the same code does not open a third browser.
    let third = server.client("203.0.113.22");
    let again =
        flows::finish_second_factor(&third, &pending, SecondFactorKind::Totp, &code).await.err().expect("spent");
    assert_eq!(again.code(), "second_factor_expired");
    let pending = password_step(&third, "ana").await;
    let replay =
        flows::finish_second_factor(&third, &pending, SecondFactorKind::Totp, &code).await.err().expect("replay");
    assert_eq!(replay.code(), "wrong_second_factor", "a code works once");

    // The history shows the factor used and the failures.
    let history = owner.get("/api/v1/account/logins").await.json();
    let kinds: Vec<&str> =
        history["events"].as_array().expect("events").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"totp"), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|kind| **kind == "failed_second_factor").count(), 2, "{kinds:?}");

    // The secret is sealed in the database, not kept as it is.
    let sealed = server.sql_bytes("SELECT sealed_secret FROM second_factors", &[]).await;
    assert!(!sealed.windows(secret.len()).any(|window| window == secret.as_slice()));

    // Off again, with the password confirmed (the confirmation of the setup has lapsed); then
    // the password alone signs in.
    server.clock.advance(301);
    let refused = owner.delete("/api/v1/account/security/totp").await;
    assert_eq!(refused.error_code(), "reauth_required");
    flows::reauthenticate(&owner, "ana", PASSWORD).await.expect("re-authenticates");
    assert_eq!(owner.delete("/api/v1/account/security/totp").await.status, 204);
    assert_eq!(
        owner.get("/api/v1/account/security").await.json()["recovery_codes_left"],
        0,
        "codes go with the last factor"
    );
    let fourth = server.client("203.0.113.23");
    plico_client::login(&fourth, "ana", PASSWORD, |_| {}).await.expect("the password alone");
}

#[tokio::test]
async fn wrong_codes_end_the_pending_sign_in_after_five_tries_and_it_expires() {
    let server = TestServer::start().await;
    let owner = server.client("203.0.113.30");
    let (secret, _) = with_totp(&server, &owner, "bob").await;
    let other = server.client("203.0.113.31");
    let pending = password_step(&other, "bob").await;
    let right = totp::code_at(&secret, server.clock.now() + totp::STEP * 5);
    let wrong = if right == "123456" { "654321" } else { "123456" };
    for left in (0..5).rev() {
        let error =
            flows::finish_second_factor(&other, &pending, SecondFactorKind::Totp, wrong).await.err().expect("wrong");
        assert_eq!(error.code(), "wrong_second_factor");
        if left > 0 {
            assert!(error.to_string().contains(&format!("{left} tries left")), "{error}");
        } else {
            assert!(error.to_string().contains("last try"), "{error}");
        }
    }
    server.clock.advance(totp::STEP * 5);
    let spent =
        flows::finish_second_factor(&other, &pending, SecondFactorKind::Totp, &right).await.err().expect("spent");
    assert_eq!(spent.code(), "second_factor_expired", "five wrong tries spend the sign-in");

    // A pending sign-in waits five minutes.
    let pending = password_step(&other, "bob").await;
    server.clock.advance(301);
    let late = totp::code_at(&secret, server.clock.now());
    let error = flows::finish_second_factor(&other, &pending, SecondFactorKind::Totp, &late).await.err().expect("late");
    assert_eq!(error.code(), "second_factor_expired");
    // A malformed proof is a clear 422, not a crash.
    let bad = other.post_raw("/api/v1/login/second-factor", r#"{"pending_id":"x","kind":"sms","code":"1"}"#).await;
    assert_eq!(bad.status, 422, "{}", bad.json());
}

#[tokio::test]
async fn recovery_codes_work_once_and_new_ones_replace_the_old() {
    let server = TestServer::start().await;
    let owner = server.client("203.0.113.40");
    let (_, codes) = with_totp(&server, &owner, "cyd").await;
    // Stored as keyed hashes only: neither the code nor its plain SHA-256 is in the table.
    assert_eq!(server.sql_int("SELECT COUNT(*) FROM recovery_codes", &[]).await, 10);
    for code in &codes {
        use sha2::Digest;
        for form in [code.clone(), code.replace('-', "")] {
            let plain = Bind::Bytes(form.as_bytes().to_vec());
            let hashed = Bind::Bytes(sha2::Sha256::digest(form.as_bytes()).to_vec());
            let found = server
                .sql_int("SELECT COUNT(*) FROM recovery_codes WHERE code_hash = $1 OR code_hash = $2", &[plain, hashed])
                .await;
            assert_eq!(found, 0, "{code} is findable");
        }
    }

    let phone = server.client("203.0.113.41");
    let pending = password_step(&phone, "cyd").await;
    // Typed in lower case with spaces, as people copy them.
    let typed = codes[0].to_lowercase().replace('-', " ");
    flows::finish_second_factor(&phone, &pending, SecondFactorKind::RecoveryCode, &typed)
        .await
        .expect("a recovery code signs in");
    let laptop = server.client("203.0.113.42");
    let pending = password_step(&laptop, "cyd").await;
    let used = flows::finish_second_factor(&laptop, &pending, SecondFactorKind::RecoveryCode, &codes[0])
        .await
        .err()
        .expect("used");
    assert_eq!(used.code(), "wrong_second_factor", "single use");
    assert_eq!(owner.get("/api/v1/account/security").await.json()["recovery_codes_left"], 9);

    // New codes: the password first (the setup's confirmation lapsed); then the old ones no
    // longer work.
    server.clock.advance(301);
    assert_eq!(owner.post_raw("/api/v1/account/security/recovery-codes", "").await.error_code(), "reauth_required");
    flows::reauthenticate(&owner, "cyd", PASSWORD).await.expect("re-authenticates");
    let fresh = owner.post_raw("/api/v1/account/security/recovery-codes", "").await.json();
    let fresh: Vec<String> = serde_json::from_value(fresh["codes"].clone()).expect("codes");
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|code| !codes.contains(code)));
    let pending = password_step(&laptop, "cyd").await;
    let old = flows::finish_second_factor(&laptop, &pending, SecondFactorKind::RecoveryCode, &codes[1])
        .await
        .err()
        .expect("old");
    assert_eq!(old.code(), "wrong_second_factor");
    flows::finish_second_factor(&laptop, &pending, SecondFactorKind::RecoveryCode, &fresh[3])
        .await
        .expect("a new code");
    let history = owner.get("/api/v1/account/logins").await.json();
    assert!(history["events"].as_array().expect("events").iter().any(|e| e["kind"] == "recovery_code"));
}

#[tokio::test]
async fn re_authentication_is_for_the_same_account_and_lasts_five_minutes() {
    let server = TestServer::start().await;
    let dee = server.client("203.0.113.50");
    signup(&dee, "dee").await;
    let eve = server.client("203.0.113.51");
    signup(&eve, "eve").await;
    // Eve's session cannot be re-authenticated with Dee's password.
    let error = flows::reauthenticate(&eve, "dee", PASSWORD).await.expect_err("another account");
    assert_eq!(error.code(), "invalid_login");
    // A wrong password neither.
    let error = flows::reauthenticate(&dee, "dee", "not the password at all").await.expect_err("wrong");
    assert_eq!(error.code(), "invalid_login");
    assert_eq!(dee.post_raw("/api/v1/account/security/totp", "").await.error_code(), "reauth_required");
    // Without a session there is nothing to re-authenticate.
    let nobody = server.client("203.0.113.52");
    let error = flows::reauthenticate(&nobody, "dee", PASSWORD).await.expect_err("no session");
    assert_eq!(error.code(), "unauthorized");

    flows::reauthenticate(&dee, "dee", PASSWORD).await.expect("re-authenticates");
    let overview = dee.get("/api/v1/account/security").await.json();
    assert_eq!(overview["reauthenticated_until"], server.clock.now() + 300);
    server.clock.advance(301);
    assert_eq!(dee.post_raw("/api/v1/account/security/totp", "").await.error_code(), "reauth_required", "five minutes");
    assert_eq!(dee.get("/api/v1/account/security").await.json()["reauthenticated_until"], serde_json::Value::Null);
}

/// Every operation of the OpenAPI document that needs a session, as requests with made-up
/// path parameters and an empty JSON body.
fn session_operations(document: &serde_json::Value) -> Vec<(String, String)> {
    let mut operations = vec![];
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if operation.get("security").is_some_and(|security| security.to_string().contains("session")) {
                let concrete = path.replace(['{', '}'], "");
                operations.push((method.to_uppercase(), concrete));
            }
        }
    }
    operations
}

#[tokio::test]
async fn a_revoked_session_hears_session_revoked_on_every_endpoint() {
    let server = TestServer::start().await;
    let laptop = server.client("198.51.100.60");
    signup(&laptop, "fay").await;
    let phone = server.client("198.51.100.61");
    plico_client::login(&phone, "fay", PASSWORD, |_| {}).await.expect("signs in");

    let listed = phone.get("/api/v1/account/sessions").await.json();
    let sessions = listed["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 2, "{listed}");
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["ip"], "198.51.100.61");
    assert_eq!(current[0]["user_agent"], "PlicoTest/1.0");
    let laptop_id = sessions.iter().find(|s| s["ip"] == "198.51.100.60").expect("the laptop's")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(listed["lifetime_hours"], 168);

    // Another account cannot end it.
    let stranger = server.client("198.51.100.62");
    signup(&stranger, "gil").await;
    assert_eq!(stranger.delete(&format!("/api/v1/account/sessions/{laptop_id}")).await.status, 404);
    assert_eq!(laptop.get("/api/v1/session").await.status, 200);

    assert_eq!(phone.delete(&format!("/api/v1/account/sessions/{laptop_id}")).await.status, 204);
    let document = laptop.get("/api/v1/openapi.json").await.json();
    let operations = session_operations(&document);
    assert!(operations.len() > 40, "the walk saw the whole API ({} operations)", operations.len());
    for (method, path) in operations {
        let request = laptop
            .request(&method, &path)
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from("{}"))
            .expect("request");
        let response = laptop.send(request).await;
        assert_eq!(
            (response.status, response.error_code()),
            (401, "session_revoked".to_owned()),
            "{method} {path} answered a revoked session"
        );
    }
    // The phone is untouched, and the list has one session left.
    assert_eq!(phone.get("/api/v1/account/sessions").await.json()["sessions"].as_array().expect("list").len(), 1);
    assert_eq!(phone.delete(&format!("/api/v1/account/sessions/{laptop_id}")).await.status, 404, "gone");
}

#[tokio::test]
async fn ending_every_other_session_asks_for_the_password_and_keeps_this_one() {
    let server = TestServer::start().await;
    let one = server.client("198.51.100.70");
    signup(&one, "hal").await;
    let two = server.client("198.51.100.71");
    let three = server.client("198.51.100.72");
    plico_client::login(&two, "hal", PASSWORD, |_| {}).await.expect("signs in");
    plico_client::login(&three, "hal", PASSWORD, |_| {}).await.expect("signs in");

    assert_eq!(one.post_raw("/api/v1/account/sessions/revoke-others", "").await.error_code(), "reauth_required");
    flows::reauthenticate(&one, "hal", PASSWORD).await.expect("re-authenticates");
    let revoked = one.post_raw("/api/v1/account/sessions/revoke-others", "").await;
    assert_eq!(revoked.json()["revoked"], 2);
    assert_eq!(one.get("/api/v1/session").await.status, 200);
    for gone in [&two, &three] {
        assert_eq!(gone.get("/api/v1/session").await.error_code(), "session_revoked");
    }
    // An ordinary sign-out is no revocation: that cookie is simply unknown.
    one.post_raw("/api/v1/logout", "").await;
    let jar = one.cookie.lock().expect("jar").clone();
    assert!(jar.is_none());
    // Revoked cookies are forgotten once they would have expired.
    server.clock.advance(7 * 86_400 + 1);
    plico_server::jobs::retention::run_once(&server.state).await.expect("retention runs");
    assert_eq!(server.sql_int("SELECT COUNT(*) FROM revoked_sessions", &[]).await, 0);
}

#[tokio::test]
async fn idle_sessions_end_unless_kept_signed_in_and_the_owner_picks_the_timeout() {
    let server = TestServer::start_with(|config| config.session_idle_minutes = 30).await;
    let setup = server.client("198.51.100.80");
    signup(&setup, "ivy").await;

    // Not kept: a cookie without Max-Age, gone after 30 minutes without contact.
    let brief = server.client("198.51.100.81");
    let step =
        flows::sign_in_steps(&brief, "ivy", PASSWORD, SignInOptions::default(), &|_| {}).await.expect("signs in");
    assert!(matches!(step, SignInStep::Done(_)));
    // Kept: Max-Age of the lifetime, and no idle timeout.
    let kept = server.client("198.51.100.82");
    let response = {
        let options = SignInOptions { keep_signed_in: true, ..SignInOptions::default() };
        flows::sign_in_steps(&kept, "ivy", PASSWORD, options, &|_| {}).await.expect("signs in")
    };
    assert!(matches!(response, SignInStep::Done(_)));
    let listed = kept.get("/api/v1/account/sessions").await.json();
    assert_eq!(listed["idle_minutes"], 30);
    let kept_flags: Vec<bool> = listed["sessions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["keep_signed_in"].as_bool().expect("flag"))
        .collect();
    assert_eq!(kept_flags.iter().filter(|kept| **kept).count(), 1, "{listed}");

    // Contact within the timeout keeps a session alive.
    server.clock.advance(20 * 60);
    assert_eq!(brief.get("/api/v1/session").await.status, 200);
    server.clock.advance(20 * 60);
    assert_eq!(brief.get("/api/v1/session").await.status, 200, "seen 20 minutes ago");
    server.clock.advance(31 * 60);
    assert_eq!(brief.get("/api/v1/session").await.status, 401, "idle for 31 minutes");
    assert_eq!(kept.get("/api/v1/session").await.status, 200, "kept signed in");

    // The owner picks four hours instead; another value is refused by name.
    let bad = kept
        .send(
            kept.request("PUT", "/api/v1/account/sessions/idle")
                .header("content-type", "application/json")
                .body(r#"{"idle_minutes":7}"#.into())
                .expect("request"),
        )
        .await;
    assert_eq!((bad.status, bad.error_code().as_str()), (422, "bad_idle_minutes"));
    let set = kept
        .send(
            kept.request("PUT", "/api/v1/account/sessions/idle")
                .header("content-type", "application/json")
                .body(r#"{"idle_minutes":240}"#.into())
                .expect("request"),
        )
        .await;
    assert_eq!(set.json()["idle_minutes"], 240);
    let later = server.client("198.51.100.83");
    plico_client::login(&later, "ivy", PASSWORD, |_| {}).await.expect("signs in");
    server.clock.advance(3 * 3600);
    assert_eq!(later.get("/api/v1/session").await.status, 200, "three idle hours are within four");
}

#[tokio::test]
async fn the_cookie_outlives_the_browser_only_when_kept_signed_in() {
    let server = TestServer::start().await;
    let setup = server.client("198.51.100.90");
    signup(&setup, "joe").await;
    // The raw Set-Cookie of each kind of sign-in.
    for keep in [false, true] {
        let client = server.client("198.51.100.92");
        let options = SignInOptions { keep_signed_in: keep, ..SignInOptions::default() };
        let recorder = Recorder { inner: client.clone(), set_cookies: Default::default() };
        flows::sign_in_steps(&recorder, "joe", PASSWORD, options, &|_| {}).await.expect("signs in");
        let cookies = recorder.set_cookies.lock().expect("lock").clone();
        assert_eq!(cookies.len(), 1, "{cookies:?}");
        assert_eq!(cookies[0].contains("Max-Age="), keep, "{cookies:?}");
        assert!(cookies[0].contains("HttpOnly") && cookies[0].contains("SameSite=Strict"));
    }
}

/// A transport that notes each `Set-Cookie` the server sends.
struct Recorder {
    inner: TestClient,
    set_cookies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl plico_client::Transport for Recorder {
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<plico_client::flows::TransportBody>,
    ) -> Result<plico_client::flows::TransportResponse, String> {
        let mut request = self.inner.request(method, &format!("/api/v1{path}"));
        let body = match body {
            Some(body) => {
                request = request.header("content-type", body.content_type);
                axum::body::Body::from(body.bytes)
            }
            None => axum::body::Body::empty(),
        };
        let response = self.inner.send(request.body(body).map_err(|e| e.to_string())?).await;
        for value in response.headers.get_all("set-cookie") {
            self.set_cookies.lock().expect("lock").push(value.to_str().expect("ascii").to_owned());
        }
        Ok(plico_client::flows::TransportResponse { status: response.status, body: response.body })
    }
}

#[tokio::test]
async fn failed_sign_ins_are_in_the_login_history_and_unknown_names_leave_nothing() {
    let server = TestServer::start().await;
    let owner = server.client("198.51.100.100");
    signup(&owner, "kim").await;
    let guesser = server.client("192.0.2.200");
    let error = plico_client::login(&guesser, "kim", "a wrong password here", |_| {}).await.err().expect("wrong");
    assert_eq!(error.code(), "invalid_login");
    plico_client::login(&guesser, "nobody-here", "a wrong password here", |_| {}).await.err().expect("unknown");

    // With OPAQUE the browser finds out about a wrong password and never finishes: the sign-in
    // counts as failed once it can no longer finish.
    server.clock.advance(61);
    let history = owner.get("/api/v1/account/logins").await.json();
    let failed: Vec<_> =
        history["events"].as_array().expect("events").iter().filter(|e| e["kind"] == "failed_password").collect();
    assert_eq!(failed.len(), 1, "{history}");
    assert_eq!(failed[0]["ip"], "192.0.2.200");
    assert_eq!(failed[0]["user_agent"], "PlicoTest/1.0");
    assert_eq!(server.sql_int("SELECT COUNT(*) FROM login_events WHERE kind = 'failed_password'", &[]).await, 1);
    // Kept one month like the rest.
    server.clock.advance(31 * 86_400);
    plico_server::jobs::retention::run_once(&server.state).await.expect("retention runs");
    assert_eq!(server.sql_int("SELECT COUNT(*) FROM login_events WHERE kind = 'failed_password'", &[]).await, 0);
}

#[tokio::test]
async fn a_password_change_asks_for_the_old_one_swaps_the_key_seal_and_can_end_other_sessions() {
    let server = TestServer::start().await;
    let laptop = server.client("198.51.100.110");
    let signed_up = signup(&laptop, "lou").await;
    let phone = server.client("198.51.100.111");
    plico_client::login(&phone, "lou", PASSWORD, |_| {}).await.expect("signs in");
    let before = server.sql_bytes("SELECT sealed_secret_key FROM accounts", &[]).await;
    const NEW: &str = "quartz lantern meadow 7";

    // Without a fresh proof of the old password: refused, nothing changed.
    let refused = flows::change_password(&laptop, &signed_up.account, &signed_up.keyring, NEW, true)
        .await
        .expect_err("asks for the password");
    assert_eq!(refused.code(), "reauth_required");
    // A weak new password is refused in the client, by name.
    flows::reauthenticate(&laptop, "lou", PASSWORD).await.expect("re-authenticates");
    let weak = flows::change_password(&laptop, &signed_up.account, &signed_up.keyring, "lou", true)
        .await
        .expect_err("too weak");
    assert_eq!(weak.code(), "weak_password");
    // Malformed OPAQUE messages are a clear 400, and change nothing.
    let bad = laptop
        .post_raw("/api/v1/account/password/finish", r#"{"registration_upload":"AAAA","sealed_secret_key":"AAAA"}"#)
        .await;
    assert_eq!((bad.status, bad.error_code().as_str()), (400, "malformed_opaque"));
    assert_eq!(server.sql_bytes("SELECT sealed_secret_key FROM accounts", &[]).await, before);

    flows::change_password(&laptop, &signed_up.account, &signed_up.keyring, NEW, true).await.expect("changes");
    assert_ne!(server.sql_bytes("SELECT sealed_secret_key FROM accounts", &[]).await, before, "sealed anew");
    // This session stays; the phone's was ended and hears why.
    assert_eq!(laptop.get("/api/v1/session").await.status, 200);
    assert_eq!(phone.get("/api/v1/session").await.error_code(), "session_revoked");
    // The old password no longer signs in; the new one does, and unlocks the same key.
    let other = server.client("198.51.100.112");
    let old = plico_client::login(&other, "lou", PASSWORD, |_| {}).await.err().expect("old password");
    assert_eq!(old.code(), "invalid_login");
    let again = plico_client::login(&other, "lou", NEW, |_| {}).await.expect("the new password");
    assert_eq!(again.account.fingerprint, signed_up.account.fingerprint);
    assert!(again.secret_key.is_tsk());
}

/// The 8-digit code in a confirmation mail.
fn mailed_code(mail: &[u8]) -> String {
    String::from_utf8_lossy(mail)
        .lines()
        .map(str::trim)
        .find(|line| line.len() == 8 && line.chars().all(|c| c.is_ascii_digit()))
        .expect("an 8-digit code in the mail")
        .to_owned()
}

#[tokio::test]
async fn a_confirmed_recovery_address_hears_when_it_is_replaced_or_removed() {
    let sink = start_sink();
    let server = TestServer::start_with(|config| with_smarthost(config, sink.port, None)).await;
    let client = server.client("192.0.2.60");
    plico_client::signup_with_recovery(&client, "max", PASSWORD, Some("max.old@example.org".into()), |_| {})
        .await
        .expect("signs up");
    plico_server::outbound::run_due(&server.state).await.expect("delivers");
    let code = mailed_code(&sink.received()[0].0);
    let confirmed = client.post_raw("/api/v1/account/recovery/confirm", format!(r#"{{"code":"{code}"}}"#)).await;
    assert_eq!(confirmed.json()["confirmed"], true);

    let put = |address: serde_json::Value| {
        let client = client.clone();
        async move {
            let body = serde_json::json!({ "address": address }).to_string();
            let request = client
                .request("PUT", "/api/v1/account/recovery")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .expect("request");
            client.send(request).await
        }
    };
    // Whoever holds only the session (a browser left open) cannot move the address that serves
    // the account's notices: it asks for the password first, and nothing is sent meanwhile.
    let refused = put(serde_json::json!("max.new@example.org")).await;
    assert_eq!((refused.status, refused.error_code().as_str()), (403, "reauth_required"));
    let refused = put(serde_json::Value::Null).await;
    assert_eq!((refused.status, refused.error_code().as_str()), (403, "reauth_required"), "removing it too");
    plico_server::outbound::run_due(&server.state).await.expect("delivers");
    assert_eq!(sink.received().len(), 1, "nothing was sent");
    assert_eq!(client.get("/api/v1/account/recovery").await.json()["address"], "max.old@example.org");
    flows::reauthenticate(&client, "max", PASSWORD).await.expect("re-authenticates");

    assert_eq!(put(serde_json::json!("max.new@example.org")).await.status, 200);
    plico_server::outbound::run_due(&server.state).await.expect("delivers");
    let received = sink.received();
    assert_eq!(received.len(), 3, "the old address is told, the new one gets its code");
    let notice = received
        .iter()
        .skip(1)
        .find(|(_, envelope)| envelope["rcpt_tos"][0] == "max.old@example.org")
        .map(|(mail, _)| String::from_utf8_lossy(mail).into_owned())
        .expect("a notice to the old address");
    assert!(notice.contains("Subject: Your recovery address was changed"), "{notice}");
    assert!(notice.contains("was changed to m…@example.org"), "the new address is masked: {notice}");
    assert!(!notice.contains("max.new"), "{notice}");

    // An unconfirmed address hears nothing when it is replaced; the confirmed one is gone now.
    assert_eq!(put(serde_json::Value::Null).await.status, 200);
    plico_server::outbound::run_due(&server.state).await.expect("delivers");
    assert_eq!(sink.received().len(), 3, "max.new was never confirmed: no notice");
}

/// A sign-up's start and everything its finish needs but the proof of work.
async fn started_signup(client: &TestClient, name: &str) -> (plico_api::SignupStartResponse, serde_json::Value) {
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let (state, request) = plico_opaque::client_registration_start(PASSWORD.as_bytes()).expect("opaque");
    let started = post_json(
        client,
        "/api/v1/signup/start",
        serde_json::json!({"name": name, "registration_request": b64(&request)}),
    )
    .await;
    assert_eq!(started.status, 200, "{}", started.json());
    let started: plico_api::SignupStartResponse = serde_json::from_slice(&started.body).expect("start answer");
    let response = base64::engine::general_purpose::STANDARD.decode(&started.registration_response).expect("b64");
    let (upload, export_key) =
        plico_opaque::client_registration_finish(state, PASSWORD.as_bytes(), &response).expect("opaque finish");
    let generated = plico_pgp::generate_cert(&started.address).expect("key");
    let sealed =
        plico_client::seal::seal_secret_key(&export_key.0, &started.address, &generated.secret_key).expect("seal");
    let body = serde_json::json!({
        "signup_id": started.signup_id,
        "name": name,
        "registration_upload": b64(&upload),
        "public_cert": generated.public_cert_armored,
        "sealed_secret_key": b64(&sealed),
        "terms_version": started.terms_version,
    });
    (started, body)
}

#[tokio::test]
async fn sign_up_names_the_terms_it_accepted_and_what_plico_holds_shows_them() {
    let server = TestServer::start().await;
    let client = server.client("198.51.100.130");
    let solved = |started: &plico_api::SignupStartResponse, body: &serde_json::Value| {
        let mut body = body.clone();
        body["pow"] = solved_pow(&serde_json::to_value(started).expect("json"));
        body
    };

    // No terms named: refused by name.
    let (started, body) = started_signup(&client, "tia").await;
    assert!(started.terms_version >= 1, "the version in force");
    let mut without = solved(&started, &body);
    without.as_object_mut().expect("object").remove("terms_version");
    let refused = post_json(&client, "/api/v1/signup/finish", without).await;
    assert_eq!(refused.status, 422, "{}", refused.json());
    assert!(
        refused.json()["error"]["message"].as_str().unwrap_or_default().contains("terms_version"),
        "{}",
        refused.json()
    );

    // Terms other than those in force (the page was read before they changed): refused.
    let (started, body) = started_signup(&client, "tia").await;
    let mut stale = solved(&started, &body);
    stale["terms_version"] = serde_json::json!(started.terms_version + 1);
    let refused = post_json(&client, "/api/v1/signup/finish", stale).await;
    assert_eq!((refused.status, refused.error_code().as_str()), (409, "terms_changed"), "{}", refused.json());
    let accounts: i64 = server.sql_int("SELECT COUNT(*) FROM accounts", &[]).await;
    assert_eq!(accounts, 0);

    // Accepted: recorded with the version and the time, and listed in what Plico holds.
    let (started, body) = started_signup(&client, "tia").await;
    let done = post_json(&client, "/api/v1/signup/finish", solved(&started, &body)).await;
    assert_eq!(done.status, 200, "{}", done.json());
    let held = client.get("/api/v1/account/data").await.json();
    let terms =
        held["items"].as_array().expect("items").iter().find(|item| item["kind"] == "terms").expect("the terms");
    assert!(
        terms["description"].as_str().unwrap_or_default().contains(&format!("version {}", started.terms_version)),
        "{terms}"
    );
    assert_eq!(terms["since"], server.clock.now());
}

#[tokio::test]
async fn sign_up_brings_the_proof_of_work_it_was_asked_once_for_itself_and_a_busy_source_works_harder() {
    let server = TestServer::start_with(|config| {
        config.signup_pow_rounds = 8;
        config.signup_pow_bits = 6;
    })
    .await;
    let client = server.client("198.51.100.120");

    // Without the proof: refused by name, and the sign-up is spent.
    let (started, body) = started_signup(&client, "nia").await;
    let challenge = started.pow.clone().expect("a challenge");
    assert_eq!((challenge.rounds, challenge.bits), (8, 6), "the operator's difficulty for a first sign-up");
    let missing = post_json(&client, "/api/v1/signup/finish", body).await;
    assert_eq!((missing.status, missing.error_code().as_str()), (422, "pow_required"));

    // A busy source: one more bit for each sign-up it started this hour.
    let (started, body) = started_signup(&client, "nia").await;
    let challenge = started.pow.clone().expect("a challenge");
    assert_eq!(challenge.bits, 7);
    // A wrong answer (all-zero nonces solve eight 7-bit rounds with odds of 2^-56).
    let mut with_wrong = body.clone();
    with_wrong["pow"] = serde_json::json!({"challenge": challenge, "nonces": [0, 0, 0, 0, 0, 0, 0, 0]});
    let refused = post_json(&client, "/api/v1/signup/finish", with_wrong).await;
    assert_eq!(refused.error_code(), "pow_refused", "{}", refused.json());

    // Solved, it signs up; sent again, it is a spent sign-up.
    let (started, body) = started_signup(&client, "nia").await;
    let challenge = started.pow.clone().expect("a challenge");
    let nonces = plico_pow::solve(&challenge.clone().into(), |_, _| {});
    let mut good = body.clone();
    good["pow"] = serde_json::json!({"challenge": challenge, "nonces": nonces});
    let done = post_json(&client, "/api/v1/signup/finish", good.clone()).await;
    assert_eq!(done.status, 200, "{}", done.json());
    let replay = server.client("198.51.100.121");
    let again = post_json(&replay, "/api/v1/signup/finish", good.clone()).await;
    assert_eq!(again.error_code(), "signup_expired", "single use");

    // Another sign-up's solved challenge does not serve this one.
    let (_, body) = started_signup(&replay, "ola").await;
    let mut borrowed = body;
    borrowed["pow"] = good["pow"].clone();
    let refused = post_json(&replay, "/api/v1/signup/finish", borrowed).await;
    assert_eq!(refused.error_code(), "pow_refused");
    assert!(refused.json()["error"]["message"].as_str().unwrap_or_default().contains("another sign-up"));
}

/// Registers `passkey` as `name` (asking for the password first): the answer's recovery codes.
async fn add_passkey(client: &TestClient, account: &str, passkey: &mut SoftPasskey, name: &str) -> Vec<String> {
    let mut started = client.post_raw("/api/v1/account/security/passkeys", "").await;
    if started.status == 403 {
        assert_eq!(started.error_code(), "reauth_required");
        flows::reauthenticate(client, account, PASSWORD).await.expect("re-authenticates");
        started = client.post_raw("/api/v1/account/security/passkeys", "").await;
    }
    assert_eq!(started.status, 200, "{}", started.json());
    let setup = started.json();
    let credential = passkey.create(setup["options"].as_str().expect("options"));
    let body = serde_json::json!({ "state": setup["state"], "name": name, "credential": credential });
    let finished = post_json(client, "/api/v1/account/security/passkeys/finish", body).await;
    assert_eq!(finished.status, 200, "{}", finished.json());
    serde_json::from_value(finished.json()["codes"].clone()).expect("codes")
}

#[tokio::test]
async fn a_passkey_guards_sign_in_works_for_its_account_only_and_a_cloned_one_is_caught() {
    let server = TestServer::start().await;
    let owner = server.client("198.51.100.140");
    signup(&owner, "pia").await;

    // Adding one asks for the password first; the first factor brings ten recovery codes.
    let refused = owner.post_raw("/api/v1/account/security/passkeys", "").await;
    assert_eq!((refused.status, refused.error_code().as_str()), (403, "reauth_required"));
    let mut laptop = SoftPasskey::new(1);
    let codes = add_passkey(&owner, "pia", &mut laptop, "Laptop").await;
    assert_eq!(codes.len(), 10);
    let mut key = SoftPasskey::new(2);
    assert!(add_passkey(&owner, "pia", &mut key, "  Security key ").await.is_empty(), "codes exist already");
    let overview = owner.get("/api/v1/account/security").await.json();
    let names: Vec<&str> =
        overview["passkeys"].as_array().expect("list").iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["Laptop", "Security key"]);
    assert_eq!(overview["totp_since"], serde_json::Value::Null);

    // The same authenticator twice, a bad name, a forged answer and an expired setup are refused by name.
    let setup = owner.post_raw("/api/v1/account/security/passkeys", "").await.json();
    let again = SoftPasskey::new(1).create(setup["options"].as_str().expect("options"));
    let body = serde_json::json!({ "state": setup["state"], "name": "Twice", "credential": again });
    let twice = post_json(&owner, "/api/v1/account/security/passkeys/finish", body).await;
    assert_eq!(twice.error_code(), "passkey_registered", "{}", twice.json());
    let fresh = SoftPasskey::new(3).create(setup["options"].as_str().expect("options"));
    let body = serde_json::json!({ "state": setup["state"], "name": "", "credential": fresh });
    assert_eq!(
        post_json(&owner, "/api/v1/account/security/passkeys/finish", body).await.error_code(),
        "bad_passkey_name"
    );
    let body = serde_json::json!({ "state": setup["state"], "name": "x".repeat(65), "credential": fresh });
    let long = post_json(&owner, "/api/v1/account/security/passkeys/finish", body).await;
    assert_eq!(long.error_code(), "bad_passkey_name");
    let body = serde_json::json!({ "state": setup["state"], "name": "Junk", "credential": "{\"id\": 1}" });
    let junk = post_json(&owner, "/api/v1/account/security/passkeys/finish", body).await;
    assert_eq!((junk.status, junk.error_code().as_str()), (422, "bad_credential"));
    let mut tampered: serde_json::Value = serde_json::from_str(&fresh).expect("json");
    tampered["response"]["clientDataJSON"] = serde_json::json!(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        br#"{"type":"webauthn.create","challenge":"AAAA","origin":"http://localhost:8080"}"#
    ));
    let body = serde_json::json!({ "state": setup["state"], "name": "Forged", "credential": tampered.to_string() });
    let forged = post_json(&owner, "/api/v1/account/security/passkeys/finish", body).await;
    assert_eq!((forged.status, forged.error_code().as_str()), (403, "passkey_refused"));
    server.clock.advance(301);
    let body = serde_json::json!({ "state": setup["state"], "name": "Late", "credential": fresh });
    assert_eq!(
        post_json(&owner, "/api/v1/account/security/passkeys/finish", body).await.error_code(),
        "passkey_setup_expired"
    );

    // Sign-in: the password, then the passkey. No authenticator app on this account.
    let phone = server.client("198.51.100.141");
    let pending = password_step(&phone, "pia").await;
    assert_eq!(pending.required.methods, [SecondFactorKind::Passkey, SecondFactorKind::RecoveryCode]);
    let options = pending.required.passkey_options.clone().expect("passkey options");
    // Another key that claims the laptop's credential id does not pass, and is in the history.
    let mut impostor = SoftPasskey::new(9);
    impostor.credential_id = laptop.credential_id.clone();
    let wrong = flows::finish_second_factor(&phone, &pending, SecondFactorKind::Passkey, &impostor.get(&options)).await;
    assert!(wrong.err().expect("an impostor is refused").to_string().contains("not one of this account's"));
    let answer = laptop.get(&options);
    flows::finish_second_factor(&phone, &pending, SecondFactorKind::Passkey, &answer).await.expect("signs in");
    assert_eq!(phone.get("/api/v1/session").await.status, 200);
    let kinds: Vec<String> = phone.get("/api/v1/account/logins").await.json()["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|event| event["kind"].as_str().map(str::to_owned))
        .collect();
    assert!(kinds.contains(&"passkey".to_owned()) && kinds.contains(&"failed_second_factor".to_owned()), "{kinds:?}");
    let overview = phone.get("/api/v1/account/security").await.json();
    assert_eq!(overview["passkeys"][0]["last_used_at"], server.clock.now());

    // The same answer does not open another sign-in (its challenge was that one's).
    let other = server.client("198.51.100.142");
    let pending = password_step(&other, "pia").await;
    let replay = flows::finish_second_factor(&other, &pending, SecondFactorKind::Passkey, &answer).await;
    assert!(replay.is_err(), "a replayed answer");
    // A clone of the laptop's key whose counter lags behind is caught.
    let options = pending.required.passkey_options.clone().expect("options");
    let cloned = laptop.assert_with_counter(&options, laptop.counter);
    assert!(
        flows::finish_second_factor(&other, &pending, SecondFactorKind::Passkey, &cloned).await.is_err(),
        "a clone"
    );
    flows::finish_second_factor(&other, &pending, SecondFactorKind::Passkey, &laptop.get(&options))
        .await
        .expect("the real one");

    // Another account's passkey does not sign in here.
    let stranger = server.client("198.51.100.143");
    signup(&stranger, "quin").await;
    let mut theirs = SoftPasskey::new(5);
    add_passkey(&stranger, "quin", &mut theirs, "Theirs").await;
    let pending = password_step(&server.client("198.51.100.144"), "pia").await;
    let options = pending.required.passkey_options.clone().expect("options");
    let client = server.client("198.51.100.144");
    assert!(flows::finish_second_factor(&client, &pending, SecondFactorKind::Passkey, &theirs.get(&options))
        .await
        .is_err());

    // A database changed to hold another key: the stored credential no longer opens, so it
    // signs in nobody (and the server says so in its log).
    let sealed =
        server.sql_bytes("SELECT sealed_credential FROM passkeys WHERE name = ?", &[Bind::Text("Theirs".into())]).await;
    server
        .sql(
            "UPDATE passkeys SET sealed_credential = ? WHERE name = ?",
            &[Bind::Bytes(sealed), Bind::Text("Laptop".into())],
        )
        .await;
    let pending = password_step(&client, "pia").await;
    let options = pending.required.passkey_options.clone().expect("the security key is still there");
    assert!(flows::finish_second_factor(&client, &pending, SecondFactorKind::Passkey, &laptop.get(&options))
        .await
        .is_err());

    // Removing both (with the password) turns the second step off, and the recovery codes go.
    let list = owner.get("/api/v1/account/security").await.json()["passkeys"].clone();
    for passkey in list.as_array().expect("list") {
        let path = format!("/api/v1/account/security/passkeys/{}", passkey["id"]);
        let mut removed =
            owner.send(owner.request("DELETE", &path).body(axum::body::Body::empty()).expect("request")).await;
        if removed.status == 403 {
            flows::reauthenticate(&owner, "pia", PASSWORD).await.expect("re-authenticates");
            removed =
                owner.send(owner.request("DELETE", &path).body(axum::body::Body::empty()).expect("request")).await;
        }
        assert_eq!(removed.status, 204);
    }
    assert_eq!(owner.get("/api/v1/account/security").await.json()["recovery_codes_left"], 0);
    let too_big = "/api/v1/account/security/passkeys/9223372036854775808";
    let big = owner.send(owner.request("DELETE", too_big).body(axum::body::Body::empty()).expect("request")).await;
    assert_eq!((big.status, big.error_code().as_str()), (404, "no_passkey"), "an id too big for a number is none");
    let step =
        flows::sign_in_steps(&client, "pia", PASSWORD, SignInOptions::default(), &|_| {}).await.expect("password");
    assert!(matches!(step, SignInStep::Done(_)), "no second step without a factor");
}

#[tokio::test]
async fn a_lost_second_factor_is_reset_by_the_recovery_address_after_a_wait_that_a_factor_cancels() {
    let sink = start_sink();
    let server = TestServer::start_with(|config| with_smarthost(config, sink.port, None)).await;
    let owner = server.client("198.51.100.150");
    plico_client::signup_with_recovery(&owner, "rex", PASSWORD, Some("rex.backup@example.org".into()), |_| {})
        .await
        .expect("signs up");
    plico_server::outbound::run_due(&server.state).await.expect("delivers");
    let code = mailed_code(&sink.received()[0].0);
    let confirmed = owner.post_raw("/api/v1/account/recovery/confirm", format!(r#"{{"code":"{code}"}}"#)).await;
    assert_eq!(confirmed.json()["confirmed"], true);
    let mut laptop = SoftPasskey::new(7);
    add_passkey(&owner, "rex", &mut laptop, "Laptop").await;
    let inbox_before = folder_messages(&owner, plico_api::mail::FolderRole::Inbox).await.len();

    // Every factor lost: after the password, a reset is asked. A code goes to the recovery
    // address, and the account's Inbox is told.
    let lost = server.client("198.51.100.151");
    let pending = password_step(&lost, "rex").await;
    let ask = serde_json::json!({ "pending_id": pending.required.pending_id });
    let started = post_json(&lost, "/api/v1/login/second-factor/reset", ask.clone()).await;
    assert_eq!(started.status, 202, "{}", started.json());
    let wait = 72 * 3600;
    assert_eq!(started.json()["ready_at"], server.clock.now() + wait);
    assert_eq!(started.json()["mailed_to"], "r…@example.org");
    plico_server::outbound::run_due(&server.state).await.expect("delivers");
    let received = sink.received();
    let (mail, envelope) = received.last().expect("the reset mail");
    assert_eq!(envelope["rcpt_tos"][0], "rex.backup@example.org");
    assert!(String::from_utf8_lossy(mail).contains("Subject: Reset of two-step verification asked"));
    let reset_code = mailed_code(mail);
    assert_eq!(
        folder_messages(&owner, plico_api::mail::FolderRole::Inbox).await.len(),
        inbox_before + 1,
        "told in the Inbox"
    );
    let overview = owner.get("/api/v1/account/security").await.json();
    assert_eq!(overview["reset_ready_at"], server.clock.now() + wait, "Settings shows it");

    // Too early: refused by name, nothing counted. Asking again sends nothing new.
    let early = flows::finish_second_factor(&lost, &pending, SecondFactorKind::ResetCode, &reset_code).await;
    assert!(early.err().expect("too early").to_string().contains("works from"));
    let again = post_json(&lost, "/api/v1/login/second-factor/reset", ask).await;
    assert_eq!(again.json()["ready_at"], server.clock.now() + wait, "the same reset, its clock not moved");
    plico_server::outbound::run_due(&server.state).await.expect("delivers");
    assert_eq!(sink.received().len(), received.len(), "no second mail");

    // The owner, who still has the passkey, signs in with it: that cancels the reset.
    server.clock.advance(3600);
    let phone = server.client("198.51.100.152");
    let pending = password_step(&phone, "rex").await;
    let options = pending.required.passkey_options.clone().expect("options");
    flows::finish_second_factor(&phone, &pending, SecondFactorKind::Passkey, &laptop.get(&options))
        .await
        .expect("signs in");
    assert_eq!(phone.get("/api/v1/account/security").await.json()["reset_ready_at"], serde_json::Value::Null);
    server.clock.advance(wait);
    let pending = password_step(&lost, "rex").await;
    let cancelled = flows::finish_second_factor(&lost, &pending, SecondFactorKind::ResetCode, &reset_code).await;
    assert!(cancelled.is_err(), "a cancelled reset's code does nothing");

    // Asked again and waited out: a wrong code counts, the right one signs in with every
    // second factor off, and both the Inbox and the recovery address hear of it.
    let ask = serde_json::json!({ "pending_id": pending.required.pending_id });
    assert_eq!(post_json(&lost, "/api/v1/login/second-factor/reset", ask).await.status, 202);
    plico_server::outbound::run_due(&server.state).await.expect("delivers");
    let reset_code = mailed_code(&sink.received().last().expect("a mail").0);
    server.clock.advance(wait + 1);
    let pending = password_step(&lost, "rex").await;
    let wrong = if reset_code == "00000000" { "11111111" } else { "00000000" };
    let refused = flows::finish_second_factor(&lost, &pending, SecondFactorKind::ResetCode, wrong).await;
    assert!(refused.err().expect("a wrong code").to_string().contains("4 tries left"));
    flows::finish_second_factor(&lost, &pending, SecondFactorKind::ResetCode, &reset_code).await.expect("signs in");
    let overview = lost.get("/api/v1/account/security").await.json();
    assert_eq!(
        (overview["passkeys"].as_array().map(Vec::len), overview["recovery_codes_left"].as_u64()),
        (Some(0), Some(0))
    );
    let kinds: Vec<String> = lost.get("/api/v1/account/logins").await.json()["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|event| event["kind"].as_str().map(str::to_owned))
        .collect();
    assert!(kinds.contains(&"factor_reset".to_owned()), "{kinds:?}");
    plico_server::outbound::run_due(&server.state).await.expect("delivers");
    assert!(String::from_utf8_lossy(&sink.received().last().expect("a mail").0)
        .contains("Subject: Two-step verification was turned off"));
    let step =
        flows::sign_in_steps(&server.client("198.51.100.153"), "rex", PASSWORD, SignInOptions::default(), &|_| {})
            .await
            .expect("password");
    assert!(matches!(step, SignInStep::Done(_)), "the password alone signs in now");

    // Without a confirmed recovery address there is no reset by mail.
    let plain = server.client("198.51.100.154");
    signup(&plain, "sol").await;
    add_passkey(&plain, "sol", &mut SoftPasskey::new(8), "Key").await;
    let pending = password_step(&server.client("198.51.100.155"), "sol").await;
    let refused = post_json(
        &plain,
        "/api/v1/login/second-factor/reset",
        serde_json::json!({ "pending_id": pending.required.pending_id }),
    )
    .await;
    assert_eq!((refused.status, refused.error_code().as_str()), (409, "no_recovery_address"));
}

/// The public-key algorithms of a message's session-key packets.
fn pkesk_algorithms(message: &[u8]) -> Vec<String> {
    use sequoia_openpgp::parse::{PacketParser, PacketParserResult, Parse};
    let mut found = Vec::new();
    let mut result = PacketParser::from_bytes(message).expect("a message");
    while let PacketParserResult::Some(parser) = result {
        if let sequoia_openpgp::Packet::PKESK(pkesk) = &parser.packet {
            found.push(format!("{:?}", pkesk.pk_algo()));
        }
        result = parser.next().expect("parses").1;
    }
    found
}

/// The certificates WKD serves for `name`, in order.
async fn wkd_certs(client: &TestClient, name: &str) -> Vec<plico_pgp::Certificate> {
    let hash = plico_server::wkd::wkd_hash(name);
    let served = client.get(&format!("/.well-known/openpgpkey/hu/{hash}?l={name}")).await;
    assert_eq!(served.status, 200);
    plico_pgp::parse_keyring(&served.body).expect("a keyring")
}

#[tokio::test]
async fn a_post_quantum_key_joins_the_classical_one_and_rotation_and_revocation_keep_old_mail_readable() {
    use plico_api::security::AccountKeyState;
    use plico_client::account_keys;
    let server = TestServer::start().await;
    let laptop = server.client("198.51.100.120");
    let kira = signup(&laptop, "kira").await;
    let bob_client = server.client("198.51.100.121");
    let bob = signup(&bob_client, "boris").await;
    let classical = kira.account.fingerprint.clone();

    let listed = laptop.get("/api/v1/account/keys").await.json();
    let keys = listed["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1, "{listed}");
    assert_eq!(keys[0]["state"], "primary");
    assert_eq!((keys[0]["version"].as_i64(), keys[0]["algorithms"].as_str()), (Some(4), Some("Ed25519, X25519")));
    assert_eq!(keys[0]["post_quantum"], false);

    // Bob writes to the key the directory gives, before and after the change.
    let directory_key = |client: &TestClient| {
        let client = client.clone();
        async move {
            let key = client.get("/api/v1/keys/kira@plico.test").await.json();
            plico_pgp::parse_cert(key["public_cert"].as_str().expect("cert").as_bytes()).expect("parses")
        }
    };
    let before = directory_key(&bob_client).await;
    send_raw(
        &bob_client,
        "kira@plico.test",
        &before,
        "before",
        Some(&bob.secret_key),
        &summary_from("boris@plico.test", "before"),
    )
    .await;

    let pq =
        plico_pgp::parse_cert(&plico_pgp::generate_pq_cert("kira@plico.test").expect("pq").secret_key).expect("pq");
    // Without the password: refused by the client's proof, and by the server without one.
    let wrong =
        account_keys::add_primary_key(&laptop, &kira, "not the password", pq.clone(), AccountKeyState::Published)
            .await
            .err()
            .expect("wrong password");
    assert_eq!(wrong.code(), "invalid_login");
    let bare = serde_json::json!({"public_cert": plico_pgp::armor_public_cert(&pq).expect("armor"),
        "sealed_secret_key": "AAAA", "previous": "published"});
    let refused = laptop.post_raw("/api/v1/account/keys", bare.to_string()).await;
    assert_eq!((refused.status, refused.error_code().as_str()), (403, "reauth_required"));
    assert_eq!(laptop.get("/api/v1/account/keys").await.json(), listed, "nothing changed");

    let added = account_keys::add_primary_key(&laptop, &kira, PASSWORD, pq.clone(), AccountKeyState::Published)
        .await
        .expect("the post-quantum key is primary");
    let keys = &added.keys.keys;
    assert_eq!(keys.len(), 2);
    assert_eq!((keys[0].state, keys[0].version, keys[0].post_quantum), (AccountKeyState::Primary, 6, true));
    assert_eq!(keys[0].algorithms, "ML-DSA-65+Ed25519, ML-KEM-768+X25519");
    assert_eq!((keys[1].state, keys[1].fingerprint.as_str()), (AccountKeyState::Published, classical.as_str()));
    assert!(keys[1].since.is_some());
    // The directory gives the post-quantum key; WKD serves both, the primary first.
    let after = directory_key(&bob_client).await;
    assert_eq!(after.fingerprint(), pq.fingerprint());
    let served: Vec<_> = wkd_certs(&bob_client, "kira").await.iter().map(|cert| cert.fingerprint().to_hex()).collect();
    assert_eq!(served, [pq.fingerprint().to_hex(), classical.clone()]);
    assert!(served.iter().all(|fingerprint| !fingerprint.is_empty()));
    send_raw(
        &bob_client,
        "kira@plico.test",
        &after,
        "after",
        Some(&bob.secret_key),
        &summary_from("boris@plico.test", "after"),
    )
    .await;

    // Signed in afresh elsewhere: the sealed keyring holds both keys, and both messages open.
    let phone = server.client("198.51.100.122");
    let again = plico_client::login(&phone, "kira", PASSWORD, |_| {}).await.expect("signs in");
    assert_eq!(again.keyring.len(), 2);
    assert_eq!(again.secret_key.fingerprint(), pq.fingerprint());
    let inbox = folder_messages(&phone, plico_api::mail::FolderRole::Inbox).await;
    let mut subjects = vec![];
    for meta in &inbox {
        let summary = plico_client::mail::open_summary(&again, meta).expect("the summary opens");
        let blob = server.state.read_blob(&meta.blob_hash).await.expect("blob");
        let ciphertext = plico_mime::unwrap_pgp_mime(&blob).expect("PGP/MIME");
        let algorithms = pkesk_algorithms(&ciphertext);
        let opened = plico_pgp::decrypt_with_keys(&ciphertext, &again.keyring, &[], 1 << 20).expect("opens");
        let body = String::from_utf8(opened.plaintext).expect("utf-8");
        subjects.push((summary.subject, body, algorithms));
    }
    subjects.sort();
    assert_eq!(subjects[0].0, "after");
    assert_eq!(subjects[0].2, ["MLKEM768_X25519"], "encrypted to the post-quantum key only");
    assert_eq!(subjects[1].0, "before");
    assert_eq!(subjects[1].2.len(), 1);
    assert_ne!(subjects[1].2[0], "MLKEM768_X25519");

    // Refusals, each by name, none changing anything.
    let same = account_keys::add_primary_key(&laptop, &added.session, PASSWORD, pq.clone(), AccountKeyState::Retired)
        .await
        .err()
        .expect("known");
    assert_eq!(same.code(), "key_known");
    let stranger =
        plico_pgp::parse_cert(&plico_pgp::generate_cert("someone@plico.test").expect("k").secret_key).expect("k");
    let foreign = account_keys::add_primary_key(&laptop, &added.session, PASSWORD, stranger, AccountKeyState::Retired)
        .await
        .err()
        .expect("another address");
    assert_eq!(foreign.code(), "invalid_certificate");
    let bad_state = serde_json::json!({"public_cert": plico_pgp::armor_public_cert(&pq).expect("armor"),
        "sealed_secret_key": "AAAA", "previous": "revoked"});
    let bad_state = laptop.post_raw("/api/v1/account/keys", bad_state.to_string()).await;
    assert_eq!((bad_state.status, bad_state.error_code().as_str()), (422, "bad_previous_state"));

    // Revocation: not the primary; not without a revocation; then published with it.
    let reason = plico_pgp::RevocationReason::Superseded;
    let primary = account_keys::revoke_key(&laptop, &added.session, PASSWORD, &pq.fingerprint().to_hex(), reason, "")
        .await
        .expect_err("the primary");
    assert_eq!(primary.code(), "primary_key");
    let unrevoked = serde_json::json!({"revoked_cert": plico_pgp::armor_public_cert(&before).expect("armor")});
    let unrevoked = laptop.post_raw(&format!("/api/v1/account/keys/{classical}/revoke"), unrevoked.to_string()).await;
    assert_eq!((unrevoked.status, unrevoked.error_code().as_str()), (422, "invalid_revocation"));
    let revoked = account_keys::revoke_key(&laptop, &added.session, PASSWORD, &classical, reason, "moved to PQ")
        .await
        .expect("revokes");
    assert_eq!(revoked.keys[1].state, AccountKeyState::Revoked);
    assert_eq!(revoked.keys[1].revocation_reason.as_deref(), Some("superseded"));
    assert_eq!(revoked.keys[1].revocation_text.as_deref(), Some("moved to PQ"));
    let served = wkd_certs(&bob_client, "kira").await;
    assert_eq!(served.len(), 2, "the revocation is published");
    assert!(plico_pgp::describe_key(&served[1]).revocation.is_some());
    let twice =
        account_keys::revoke_key(&laptop, &added.session, PASSWORD, &classical, reason, "").await.expect_err("twice");
    assert_eq!(twice.code(), "already_revoked");
    let unknown = laptop.post_raw("/api/v1/account/keys/ABCDEF/revoke", r#"{"revoked_cert":"x"}"#).await;
    assert_eq!(unknown.status, 404);

    // Rotation: a new primary; the old one is retired (not served) and still opens old mail;
    // a password change afterwards seals every key again.
    server.clock.advance(60);
    let rotated =
        plico_pgp::parse_cert(&plico_pgp::generate_pq_cert("kira@plico.test").expect("r").secret_key).expect("r");
    let third =
        account_keys::add_primary_key(&laptop, &added.session, PASSWORD, rotated.clone(), AccountKeyState::Retired)
            .await
            .expect("rotates");
    let states: Vec<_> = third.keys.keys.iter().map(|key| key.state).collect();
    assert_eq!(states, [AccountKeyState::Primary, AccountKeyState::Revoked, AccountKeyState::Retired], "oldest first");
    let served: Vec<_> = wkd_certs(&bob_client, "kira").await.iter().map(|cert| cert.fingerprint().to_hex()).collect();
    assert_eq!(served, [rotated.fingerprint().to_hex(), classical.clone()], "the retired key is not served");
    flows::reauthenticate(&laptop, "kira", PASSWORD).await.expect("re-authenticates");
    const NEW: &str = "harbour violet engine 42";
    flows::change_password(&laptop, &third.session.account, &third.session.keyring, NEW, false).await.expect("changes");
    let last = plico_client::login(&server.client("198.51.100.123"), "kira", NEW, |_| {}).await.expect("signs in");
    let fingerprints: Vec<_> = last.keyring.iter().map(|key| key.fingerprint().to_hex()).collect();
    assert_eq!(fingerprints, [rotated.fingerprint().to_hex(), pq.fingerprint().to_hex(), classical]);
    for meta in &inbox {
        assert!(plico_client::mail::open_summary(&last, meta).is_ok(), "older mail still opens");
    }
}

#[tokio::test]
async fn the_session_list_shows_each_sessions_country_from_the_operators_database() {
    let database = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/e2e/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb");
    if !database.exists() {
        // `cargo xtask setup --browser` installs it from npm (ip-location-db, CC BY 4.0 NRO data).
        plico_test_support::missing("ip-location-db's country database", "the session country test");
        return;
    }
    // A file that is not a database is refused with a clear error (the server does not start).
    let not_a_database = std::env::temp_dir().join(format!("plico-not-mmdb-{}", std::process::id()));
    std::fs::write(&not_a_database, b"not a database").expect("writes");
    let error = plico_server::geoip::Countries::open(&not_a_database).err().expect("refused");
    assert!(error.contains("is not a MaxMind DB file"), "{error}");
    std::fs::remove_file(&not_a_database).ok();

    let server = TestServer::start_with(|config| config.geoip_db = Some(database.clone())).await;
    // Well-known addresses: Google's public resolver (US), RIPE NCC's own network (NL), and a
    // documentation address no registry gives a country.
    let laptop = server.client("8.8.8.8");
    signup(&laptop, "gina").await;
    plico_client::login(&server.client("193.0.6.139"), "gina", PASSWORD, |_| {}).await.expect("signs in");
    plico_client::login(&server.client("198.51.100.7"), "gina", PASSWORD, |_| {}).await.expect("signs in");
    let listed = laptop.get("/api/v1/account/sessions").await.json();
    let mut countries: Vec<(String, serde_json::Value)> = listed["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .map(|session| (session["ip"].as_str().expect("ip").to_owned(), session["country"].clone()))
        .collect();
    countries.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        countries,
        [
            ("193.0.6.139".to_owned(), serde_json::json!("NL")),
            ("198.51.100.7".to_owned(), serde_json::Value::Null),
            ("8.8.8.8".to_owned(), serde_json::json!("US")),
        ]
    );
}
