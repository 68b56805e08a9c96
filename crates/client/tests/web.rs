//! The worker's crypto and storage, in headless Chromium. They run in a dedicated worker,
//! where the real code runs.

#![cfg(target_arch = "wasm32")]

use plico_client::seal::{open_secret_key, seal_secret_key};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
fn key_generation_and_an_encrypt_decrypt_round_trip() {
    let alice = plico_pgp::generate_cert("alice@plico.test").expect("alice's key");
    let bob = plico_pgp::generate_cert("bob@plico.test").expect("bob's key");
    let alice_secret = plico_pgp::parse_cert(&alice.secret_key).expect("parses");
    let alice_public = plico_pgp::parse_cert(alice.public_cert_armored.as_bytes()).expect("parses");
    let bob_secret = plico_pgp::parse_cert(&bob.secret_key).expect("parses");
    let bob_public = plico_pgp::parse_cert(bob.public_cert_armored.as_bytes()).expect("parses");
    assert!(!alice_public.is_tsk());

    let plaintext = "Grüße aus dem Browser — 本当に暗号化".as_bytes();
    let message =
        plico_pgp::encrypt_and_sign(plaintext, &[bob_public, alice_public.clone()], &alice_secret).expect("encrypts");
    assert!(!message.windows(6).any(|w| w == "Grüße".as_bytes()));
    let decrypted = plico_pgp::decrypt_and_verify(&message, &bob_secret, &[alice_public]).expect("decrypts");
    assert_eq!(decrypted.plaintext, plaintext);
    assert_eq!(decrypted.signature, plico_pgp::SignatureStatus::Valid { signer: alice.fingerprint });
}

#[wasm_bindgen_test]
fn opaque_registration_and_login_with_argon2_stretching() {
    // The server half runs here too, only to exercise the client half with real messages.
    let setup = plico_opaque::server_setup_new();
    let password = b"violet staple orbit 42";
    let (state, request) = plico_opaque::client_registration_start(password).expect("start");
    let response =
        plico_opaque::server_registration_start(&setup, &request, b"alice@plico.test").expect("server start");
    let (upload, registered) = plico_opaque::client_registration_finish(state, password, &response).expect("finish");
    let file = plico_opaque::server_registration_finish(&upload).expect("file");

    let (state, request) = plico_opaque::client_login_start(password).expect("login start");
    let (server_state, response) =
        plico_opaque::server_login_start(&setup, Some(&file), &request, b"alice@plico.test").expect("server login");
    let (finalization, logged_in) =
        plico_opaque::client_login_finish(state, password, &response).expect("login finish");
    plico_opaque::server_login_finish(&server_state, &finalization).expect("server accepts");
    assert_eq!(registered.0, logged_in.0, "the export key is stable across logins");

    let sealed = seal_secret_key(&logged_in.0, "alice@plico.test", b"secret").expect("seals");
    assert_eq!(open_secret_key(&registered.0, "alice@plico.test", &sealed).expect("opens"), b"secret");
}

/// Resolves when an IndexedDB request succeeds.
async fn settle(request: &web_sys::IdbRequest) -> Result<JsValue, JsValue> {
    let request_for_success = request.clone();
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let request_inner = request_for_success.clone();
        let on_success = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call1(&JsValue::NULL, &request_inner.result().unwrap_or(JsValue::UNDEFINED));
        });
        let on_error = Closure::once_into_js(move |event: web_sys::Event| {
            let _ = reject.call1(&JsValue::NULL, &event);
        });
        request_for_success.set_onsuccess(Some(on_success.unchecked_ref()));
        request_for_success.set_onerror(Some(on_error.unchecked_ref()));
    });
    wasm_bindgen_futures::JsFuture::from(promise).await
}

#[wasm_bindgen_test]
async fn indexeddb_write_then_read_back() {
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let factory = global.indexed_db().expect("indexedDB").expect("available in a worker");
    let name = format!("plico-wasm-test-{}", js_sys::Math::random());
    let open = factory.open_with_u32(&name, 1).expect("open");
    let on_upgrade = Closure::once_into_js(move |event: web_sys::IdbVersionChangeEvent| {
        let request: web_sys::IdbOpenDbRequest = event.target().expect("target").unchecked_into();
        let database: web_sys::IdbDatabase = request.result().expect("db").unchecked_into();
        database.create_object_store("blobs").expect("store");
    });
    open.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    let database: web_sys::IdbDatabase = settle(&open).await.expect("opens").unchecked_into();

    let value = js_sys::Uint8Array::from(&[1u8, 2, 3, 250][..]);
    let transaction =
        database.transaction_with_str_and_mode("blobs", web_sys::IdbTransactionMode::Readwrite).expect("tx");
    let put =
        transaction.object_store("blobs").expect("store").put_with_key(&value, &JsValue::from_str("k")).expect("put");
    settle(&put).await.expect("written");

    let transaction = database.transaction_with_str("blobs").expect("read tx");
    let get = transaction.object_store("blobs").expect("store").get(&JsValue::from_str("k")).expect("get");
    let read = settle(&get).await.expect("read");
    assert_eq!(js_sys::Uint8Array::new(&read).to_vec(), vec![1u8, 2, 3, 250]);
    database.close();
    let _ = factory.delete_database(&name);
}
