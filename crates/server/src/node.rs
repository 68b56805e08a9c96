//! What ties this node to the others on one database. Every node must hold the same secrets
//! (the OPAQUE server setup, which every account's sign-in depends on, and the outbound queue
//! key): the first node records their fingerprints, and a node started with other ones is
//! refused with the file named, rather than left to fail sign-ins. State one node leaves in the
//! database for another (a started sign-in's OPAQUE state) is sealed under a key derived from
//! the OPAQUE secret, which the database never holds.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

use crate::store::Store;

/// This node's sealing key and randomness.
pub struct Node {
    key: LessSafeKey,
    mac: ring::hmac::Key,
    random: SystemRandom,
}

/// A secret's fingerprint as the database keeps it: a hash that says nothing of the secret.
fn fingerprint(name: &str, secret: &[u8]) -> Vec<u8> {
    let mut hash = Sha256::new();
    hash.update(b"plico node secret\0");
    hash.update(name.as_bytes());
    hash.update([0]);
    hash.update(secret);
    hash.finalize().to_vec()
}

/// Checks that `secret` (kept in the file `file`) is the one every other node on this database
/// holds, recording it when this node is the first.
pub async fn check_shared(store: &Store, file: &str, secret: &[u8]) -> Result<(), String> {
    let same = store.same_node_secret(file, &fingerprint(file, secret)).await.map_err(|e| e.to_string())?;
    if same {
        Ok(())
    } else {
        Err(format!(
            "this node's {file} is not the one the other nodes on this database use (or the one this \
             installation was made with); copy {file} from a node that runs into this node's data \
             directory (docs/DEPLOY.md, \"Several nodes\")"
        ))
    }
}

impl Node {
    /// The node's sealing key, from the OPAQUE server setup's bytes.
    pub fn new(opaque_setup: &[u8]) -> Node {
        struct Len;
        impl hkdf::KeyType for Len {
            fn len(&self) -> usize {
                32
            }
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"plico sealed node state v1").extract(opaque_setup);
        let mut key = [0u8; 32];
        prk.expand(&[b"pending state"], Len).and_then(|okm| okm.fill(&mut key)).expect("32 bytes from HKDF-SHA256");
        let key = UnboundKey::new(&CHACHA20_POLY1305, &key).expect("a 32-byte key");
        let mut mac = [0u8; 32];
        prk.expand(&[b"keyed hashes"], Len).and_then(|okm| okm.fill(&mut mac)).expect("32 bytes from HKDF-SHA256");
        Node {
            key: LessSafeKey::new(key),
            mac: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &mac),
            random: SystemRandom::new(),
        }
    }

    /// `bytes` sealed for `purpose` and bound to `id`: a fresh nonce, then the ciphertext.
    pub fn seal(&self, purpose: &str, id: &[u8], bytes: &[u8]) -> Result<Vec<u8>, String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).map_err(|_| "no randomness".to_owned())?;
        let mut sealed = bytes.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), aad(purpose, id), &mut sealed)
            .map_err(|_| "sealing failed".to_owned())?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    /// Opens what [`Node::seal`] made for the same purpose and id; `None` for anything else
    /// (another purpose or id, another installation's secret, or bytes that were changed).
    pub fn open(&self, purpose: &str, id: &[u8], mut sealed: Vec<u8>) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN]).ok()?;
        let opened = self.key.open_in_place(nonce, aad(purpose, id), &mut sealed[NONCE_LEN..]).ok()?;
        Some(opened.to_vec())
    }
}

impl Node {
    /// A keyed hash of `bytes` for `purpose`: what the database keeps of a secret it must only
    /// compare (a recovery code), which a reader of the database alone cannot search for.
    pub fn keyed_hash(&self, purpose: &str, bytes: &[u8]) -> Vec<u8> {
        let mut context = ring::hmac::Context::with_key(&self.mac);
        context.update(purpose.as_bytes());
        context.update(&[0]);
        context.update(bytes);
        context.sign().as_ref().to_vec()
    }

    /// `count` random bytes.
    pub fn random_bytes(&self, count: usize) -> Result<Vec<u8>, String> {
        let mut bytes = vec![0u8; count];
        self.random.fill(&mut bytes).map_err(|_| "no randomness".to_owned())?;
        Ok(bytes)
    }
}

fn aad(purpose: &str, id: &[u8]) -> Aad<Vec<u8>> {
    Aad::from([purpose.as_bytes(), &[0], id].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_state_opens_only_for_its_purpose_and_id_under_the_same_secret() {
        let node = Node::new(b"the OPAQUE setup's bytes");
        let sealed = node.seal("pending login", b"id-1", b"server state").expect("seals");
        assert!(!sealed.windows(12).any(|w| w == b"server state"), "sealed, not copied");
        assert_eq!(node.open("pending login", b"id-1", sealed.clone()).expect("opens"), b"server state");
        assert!(node.open("pending login", b"id-2", sealed.clone()).is_none(), "another id");
        assert!(node.open("something else", b"id-1", sealed.clone()).is_none(), "another purpose");
        let other = Node::new(b"another installation's setup");
        assert!(other.open("pending login", b"id-1", sealed.clone()).is_none(), "another secret");
        let mut flipped = sealed;
        *flipped.last_mut().expect("bytes") ^= 1;
        assert!(node.open("pending login", b"id-1", flipped).is_none(), "tampered");
        assert!(node.open("pending login", b"id-1", vec![1, 2, 3]).is_none(), "truncated");
    }
}
