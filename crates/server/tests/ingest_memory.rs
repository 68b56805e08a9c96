//! Issue 20, item 14: what one inbound message costs in memory. Mail for many recipients is
//! encrypted once per recipient; each copy must reach the blob store as it is made, not wait in
//! memory with all the others (a 40 MB message to 100 recipients once held about 5 GB).
//!
//! A counting allocator measures the heap's peak while ingest runs; this binary holds this one
//! test so nothing else allocates meanwhile.

mod common;
use common::*;

// The heap's current size and peak, counted by a global allocator (unsafe code the workspace
// forbids, so it comes from a crate).
#[global_allocator]
static ALLOCATOR: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

const RECIPIENTS: usize = 40;
const MESSAGE_BYTES: usize = 4 << 20;

#[tokio::test]
async fn an_inbound_message_for_many_recipients_is_not_held_once_per_recipient() {
    let server = TestServer::start().await;
    let mut addresses = Vec::new();
    for n in 0..RECIPIENTS {
        let name = format!("user{n}");
        let address = format!("{name}@plico.test");
        let generated = plico_pgp::generate_cert(&address).expect("key");
        let cert = plico_pgp::parse_cert(generated.public_cert_armored.as_bytes()).expect("cert");
        server
            .state
            .store
            .insert_account(&plico_server::store::NewAccount {
                name: &name,
                address: &address,
                opaque_password_file: b"unused",
                public_cert: &plico_pgp::public_cert_bytes(&cert).expect("bytes"),
                fingerprint: &generated.fingerprint,
                wkd_hash: &plico_server::wkd::wkd_hash(&name),
                sealed_secret_key: b"unused",
                created_at: START,
                terms_version: None,
            })
            .await
            .expect("account");
        addresses.push(address);
    }
    let body: String = (0..MESSAGE_BYTES / 64).map(|n| format!("{n:063}\n")).collect();
    let raw = format!("From: dana@example.org\r\nTo: list@plico.test\r\nSubject: Big\r\n\r\n{body}").into_bytes();
    let envelope = plico_smtp::Envelope {
        helo: "mail.example.org".into(),
        from: "dana@example.org".into(),
        recipients: addresses,
        declared_size: None,
        body_8bit: false,
    };
    let arrival =
        plico_server::inbound::Arrival { envelope: &envelope, peer: "192.0.2.1".parse().expect("ip"), raw: &raw };
    let before = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let stored = plico_server::inbound::deliver(&server.state, &arrival).await.expect("delivered");
    let peak = ALLOCATOR.peak_usage().saturating_sub(before);
    assert_eq!(stored.split(',').count(), RECIPIENTS);
    // One encrypted copy is about 1.4 times the message (armor); all of them at once would be
    // some 56 times. A handful of copies at a time is the most ingest may hold.
    let copy = raw.len() * 14 / 10;
    eprintln!("peak {} MiB while ingesting {} MiB for {RECIPIENTS} recipients", peak >> 20, raw.len() >> 20);
    assert!(peak < 8 * copy, "ingest held {} MiB at its peak, {:.1} copies", peak >> 20, peak as f64 / copy as f64);
}
