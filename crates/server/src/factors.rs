//! Second factors as the server keeps them: the authenticator's secret sealed under the node
//! key (so the database alone does not hold it), recovery codes as keyed hashes, and the checks
//! that use each once.

use crate::node::Node;
use crate::store::{self, Store};
use crate::totp;

/// How long a sign-in whose password is proven waits for its second factor.
pub const PENDING_SECONDS: i64 = 300;
/// Wrong second factors one pending sign-in may take before it must start again.
pub const MAX_TRIES: i64 = 5;
/// How long a re-authentication lets a session make the changes that ask for the password.
pub const REAUTH_SECONDS: i64 = 300;
/// Passkeys one account may register.
pub const MAX_PASSKEYS: usize = 20;
/// Recovery codes per set.
pub const RECOVERY_CODES: usize = 10;

/// The idle timeouts an account may choose, in minutes (0: none, only the absolute lifetime).
pub const IDLE_CHOICES: &[u32] = &[15, 30, 60, 240, 1440, 0];

const TOTP_PURPOSE: &str = "totp secret";
const RESET_PURPOSE: &str = "factor reset code";
/// How long a second-factor reset's code works once its waiting period is over.
pub const RESET_VALID_SECONDS: i64 = 7 * 86_400;
const RECOVERY_PURPOSE: &str = "recovery code";
/// Recovery codes are written in this alphabet: no 0/O, 1/I/L to mistake.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// A new authenticator secret (160 bits, as RFC 4226 recommends) and its sealed form.
pub fn new_totp_secret(node: &Node, account_id: i64) -> Result<(Vec<u8>, Vec<u8>), String> {
    let secret = node.random_bytes(20)?;
    let sealed = node.seal(TOTP_PURPOSE, &account_id.to_be_bytes(), &secret)?;
    Ok((secret, sealed))
}

/// Opens a sealed authenticator secret of `account_id`.
pub fn open_totp_secret(node: &Node, account_id: i64, sealed: Vec<u8>) -> Option<Vec<u8>> {
    node.open(TOTP_PURPOSE, &account_id.to_be_bytes(), sealed)
}

/// Checks an authenticator code at sign-in: right, within a step of now, and of a step not used
/// before (the step is used up on whichever node checks first).
pub async fn check_totp(
    store: &Store,
    node: &Node,
    account_id: i64,
    code: &str,
    now: i64,
) -> Result<bool, store::Error> {
    let Some(factor) = store.totp_factor(account_id).await?.filter(|factor| factor.confirmed) else {
        return Ok(false);
    };
    let Some(secret) = open_totp_secret(node, account_id, factor.sealed_secret) else {
        tracing::error!(account_id, "an authenticator secret does not open under this node's key");
        return Ok(false);
    };
    match totp::check(&secret, code, now, Some(factor.counter)) {
        Some(step) => store.use_totp_step(factor.id, step).await,
        None => Ok(false),
    }
}

/// Ten new recovery codes (16 characters of 31, about 79 bits, as `XXXX-XXXX-XXXX-XXXX`) and
/// their keyed hashes.
pub fn new_recovery_codes(node: &Node) -> Result<(Vec<String>, Vec<Vec<u8>>), String> {
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let bytes = node.random_bytes(16)?;
        // A byte modulo 31 favours the first eight letters by 9/256 against 8/256: under 0.1 bit
        // lost per letter.
        let letters: String = bytes.iter().map(|byte| char::from(CODE_ALPHABET[usize::from(byte % 31)])).collect();
        codes.push(format!("{}-{}-{}-{}", &letters[0..4], &letters[4..8], &letters[8..12], &letters[12..16]));
    }
    let hashes = codes.iter().map(|code| recovery_hash(node, code)).collect();
    Ok((codes, hashes))
}

/// The keyed hash of a recovery code as the user may type it: any case, with or without the
/// dashes and spaces.
pub fn recovery_hash(node: &Node, typed: &str) -> Vec<u8> {
    let normal: String = typed.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    node.keyed_hash(RECOVERY_PURPOSE, normal.as_bytes())
}

/// The account's passkeys, each with its stored row; one whose credential does not open under
/// this node's key (a changed database) is left out and logged.
pub async fn passkeys(
    store: &Store,
    node: &Node,
    account_id: i64,
) -> Result<Vec<(store::security::PasskeyRow, webauthn_rs::prelude::Passkey)>, store::Error> {
    let rows = store.passkeys(account_id).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match crate::passkeys::open_credential(node, account_id, row.sealed_credential.clone()) {
            Some(passkey) => Some((row, passkey)),
            None => {
                tracing::error!(account_id, passkey = row.id, "a passkey does not open under this node's key");
                None
            }
        })
        .collect())
}

/// A second-factor reset's code (eight digits, as people type them from a mail) and its keyed
/// hash, bound to the account.
pub fn new_reset_code(node: &Node, account_id: i64) -> Result<(String, Vec<u8>), String> {
    let bytes = node.random_bytes(4)?;
    let code = format!("{:08}", u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) % 100_000_000);
    let hash = reset_hash(node, account_id, &code);
    Ok((code, hash))
}

/// The keyed hash of a reset code as typed (spaces and dashes dropped).
pub fn reset_hash(node: &Node, account_id: i64, code: &str) -> Vec<u8> {
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    node.keyed_hash(RESET_PURPOSE, format!("{account_id}:{digits}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_distinct_and_typed_in_any_form_hash_alike() {
        let node = Node::new(b"setup");
        let (codes, hashes) = new_recovery_codes(&node).expect("codes");
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        for (code, hash) in codes.iter().zip(&hashes) {
            assert_eq!(code.len(), 19, "{code}");
            assert!(code.chars().all(|c| c == '-' || CODE_ALPHABET.contains(&(c as u8))), "{code}");
            let typed = code.to_lowercase().replace('-', " ");
            assert_eq!(&recovery_hash(&node, &typed), hash);
        }
        // Another installation's key hashes the same code differently.
        assert_ne!(recovery_hash(&Node::new(b"other"), &codes[0]), hashes[0]);
    }

    #[test]
    fn an_authenticator_secret_opens_only_for_its_account() {
        let node = Node::new(b"setup");
        let (secret, sealed) = new_totp_secret(&node, 7).expect("secret");
        assert_eq!(secret.len(), 20);
        assert_eq!(open_totp_secret(&node, 7, sealed.clone()), Some(secret));
        assert_eq!(open_totp_secret(&node, 8, sealed), None);
    }
}
