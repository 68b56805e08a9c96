//! The worker's crypto and storage, in headless Chromium. They run in a dedicated worker,
//! where the real code runs.

#![cfg(target_arch = "wasm32")]

use plico_client::seal::{open_secret_key, seal_secret_key};
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

fn served(id: &str, version: i64, sealed: &[u8]) -> plico_api::items::Item {
    use base64::Engine;
    plico_api::items::Item {
        id: id.into(),
        version,
        sealed: base64::engine::general_purpose::STANDARD.encode(sealed),
        size: sealed.len() as u64,
        updated_at: 0,
        deleted_at: None,
    }
}

/// Issue 21: a sealed item opens only as what its owner's key sealed; one sealed under another
/// key, changed by a byte, an older version, or another item's bytes are refused.
#[wasm_bindgen_test]
fn sealed_items_refuse_another_key_a_rollback_and_a_swap() {
    use plico_client::items::{open, seal, ItemKey, Refused};
    let alice = ItemKey::new(&[1; 32], "alice@plico.test");
    let mallory = ItemKey::new(&[2; 32], "alice@plico.test");
    let id = plico_client::items::new_id();
    let content = serde_json::json!({"fn": "Ada Lovelace", "tel": ["+44 20 7946 0000"]});

    let v2 = seal(&alice, "contact", &id, 2, &content).expect("sealed");
    let opened = open(&alice, "contact", &served(&id, 2, &v2), 1).expect("opens");
    assert_eq!((opened.version, opened.content.clone()), (2, content.clone()));

    // Sealed under another key, with the right kind, id and version; or changed by one byte.
    let forged = seal(&mallory, "contact", &id, 2, &content).expect("forged");
    assert_eq!(open(&alice, "contact", &served(&id, 2, &forged), 0), Err(Refused::WrongSigner));
    let mut flipped = v2.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert_eq!(open(&alice, "contact", &served(&id, 2, &flipped), 0), Err(Refused::WrongSigner));

    // The device holds version 3; the server serves version 2.
    assert_eq!(open(&alice, "contact", &served(&id, 2, &v2), 3), Err(Refused::Rollback { served: 2, held: 3 }));
    // Version 2's bytes served as version 3, under another id, or as another kind.
    assert!(matches!(open(&alice, "contact", &served(&id, 3, &v2), 0), Err(Refused::Misfiled(_))));
    let other = plico_client::items::new_id();
    assert!(matches!(open(&alice, "contact", &served(&other, 2, &v2), 0), Err(Refused::Misfiled(_))));
    assert!(matches!(open(&alice, "event", &served(&id, 2, &v2), 0), Err(Refused::Misfiled(_))));
    assert!(plico_api::items::check_sealed(&v2).is_ok(), "the server takes its shape");
}
