//! The warrant canary's check against canaries GnuPG signed: fresh, stale (signed in the past
//! with `--faked-system-time`), signed by another key, tampered with, and unsigned.
#![cfg(not(target_arch = "wasm32"))]

use plico_api::worker::CanaryStatus;
use plico_client::privacy::check_canary;
use plico_test_support::Gpg;

/// GnuPG with a key made 50 days ago, so that it can sign in the past too.
struct Signer(Gpg);

impl Signer {
    fn new(user_id: &str) -> Signer {
        let gpg = Gpg::new();
        gpg.generate_signing_key(user_id, Some(now() - 50 * 86_400));
        Signer(gpg)
    }

    fn public_key(&self) -> String {
        String::from_utf8(self.0.run(&["--armor", "--export"], b"").stdout).expect("ascii")
    }

    fn clearsign(&self, text: &str, extra: &[&str]) -> String {
        let mut args = extra.to_vec();
        args.push("--clearsign");
        String::from_utf8(self.0.run(&args, text.as_bytes()).stdout).expect("ascii")
    }
}

const STATEMENT: &str = "As of this statement, the operator has received no secret order to hand over user data.\n";

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

#[test]
fn canaries_signed_by_gnupg_are_fresh_stale_or_refused_as_they_should_be() {
    if !plico_test_support::peer("gpg", &["--version"], "the canary test") {
        return;
    }
    let service = Signer::new("Plico service <canary@plico.test>");
    let stranger = Signer::new("Someone else <other@example.org>");
    let key = service.public_key();

    let fresh = check_canary(&service.clearsign(STATEMENT, &[]), &key, 31, now());
    assert_eq!(fresh.status, CanaryStatus::Fresh, "{fresh:?}");
    assert_eq!(fresh.text, STATEMENT.trim_end(), "the signed text, without the armour");
    assert!(fresh.signed_at.is_some_and(|at| (now() - at).abs() < 300));
    assert_eq!(fresh.fingerprint.as_deref().map(str::len), Some(40));

    // Signed 40 days ago: a good signature, but stale for a 31-day period.
    let old_time = (now() - 40 * 86_400).to_string();
    let old = service.clearsign(STATEMENT, &["--faked-system-time", &format!("{old_time}!")]);
    let stale = check_canary(&old, &key, 31, now());
    assert_eq!(stale.status, CanaryStatus::Stale, "{stale:?}");
    assert_eq!(check_canary(&old, &key, 60, now()).status, CanaryStatus::Fresh, "fresh for a 60-day period");

    let foreign = check_canary(&stranger.clearsign(STATEMENT, &[]), &key, 31, now());
    assert_eq!(foreign.status, CanaryStatus::BadSignature, "signed by a key that is not the service's");

    let tampered = service.clearsign(STATEMENT, &[]).replace("no secret order", "a secret order");
    assert_eq!(check_canary(&tampered, &key, 31, now()).status, CanaryStatus::BadSignature);

    let unsigned = check_canary(STATEMENT, &key, 31, now());
    assert_eq!(unsigned.status, CanaryStatus::Unsigned);
    assert_eq!(check_canary("", &key, 31, now()).status, CanaryStatus::Missing);
    assert_eq!(check_canary(STATEMENT, "not a key", 31, now()).status, CanaryStatus::Missing);
}
