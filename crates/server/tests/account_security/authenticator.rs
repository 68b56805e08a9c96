//! A software passkey for the native tests: a P-256 key that answers WebAuthn's create and get
//! as an authenticator with user verification would, written from the specification (CBOR by
//! hand, attestation "none"). The browser's part (client data, the origin) is played too.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use sha2::{Digest, Sha256};

/// The origin the tests' browser is on (any port of localhost is the development default).
pub const ORIGIN: &str = "http://localhost:8080";

pub struct SoftPasskey {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    pub counter: u32,
    user_handle: Option<String>,
}

fn head(major: u8, len: u64) -> Vec<u8> {
    match len {
        0..=23 => vec![major << 5 | len as u8],
        24..=255 => vec![major << 5 | 24, len as u8],
        _ => {
            let mut out = vec![major << 5 | 25];
            out.extend_from_slice(&(len as u16).to_be_bytes());
            out
        }
    }
}

fn int(value: i64) -> Vec<u8> {
    if value >= 0 {
        head(0, value as u64)
    } else {
        head(1, (-1 - value) as u64)
    }
}

fn bytes(value: &[u8]) -> Vec<u8> {
    [head(2, value.len() as u64), value.to_vec()].concat()
}

fn text(value: &str) -> Vec<u8> {
    [head(3, value.len() as u64), value.as_bytes().to_vec()].concat()
}

/// User present, user verified.
const UP_UV: u8 = 0x01 | 0x04;
/// Attested credential data follows.
const AT: u8 = 0x40;

impl SoftPasskey {
    pub fn new(seed: u8) -> SoftPasskey {
        let key = SigningKey::from_bytes(&[seed.max(1); 32].into()).expect("a key");
        SoftPasskey { key, credential_id: vec![seed; 32], counter: 0, user_handle: None }
    }

    fn client_data(kind: &str, options: &serde_json::Value) -> Vec<u8> {
        let challenge = options["publicKey"]["challenge"].as_str().expect("a challenge");
        serde_json::json!({ "type": kind, "challenge": challenge, "origin": ORIGIN, "crossOrigin": false })
            .to_string()
            .into_bytes()
    }

    fn auth_data(&self, rp_id: &str, flags: u8, attested: &[u8]) -> Vec<u8> {
        [Sha256::digest(rp_id.as_bytes()).to_vec(), vec![flags], self.counter.to_be_bytes().to_vec(), attested.to_vec()]
            .concat()
    }

    /// `navigator.credentials.create` with `options` (the server's JSON text): the credential's
    /// `toJSON()` text.
    pub fn create(&mut self, options: &str) -> String {
        let options: serde_json::Value = serde_json::from_str(options).expect("options");
        let rp_id = options["publicKey"]["rp"]["id"].as_str().expect("an rp id");
        self.user_handle = options["publicKey"]["user"]["id"].as_str().map(str::to_owned);
        let point = self.key.verifying_key().to_encoded_point(false);
        let cose_key = [
            head(5, 5),
            int(1),
            int(2), // kty: EC2
            int(3),
            int(-7), // alg: ES256
            int(-1),
            int(1), // crv: P-256
            int(-2),
            bytes(point.x().expect("x")),
            int(-3),
            bytes(point.y().expect("y")),
        ]
        .concat();
        let attested = [
            vec![0u8; 16],
            (self.credential_id.len() as u16).to_be_bytes().to_vec(),
            self.credential_id.clone(),
            cose_key,
        ]
        .concat();
        let auth_data = self.auth_data(rp_id, UP_UV | AT, &attested);
        let attestation =
            [head(5, 3), text("fmt"), text("none"), text("attStmt"), head(5, 0), text("authData"), bytes(&auth_data)]
                .concat();
        let id = B64URL.encode(&self.credential_id);
        serde_json::json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "clientDataJSON": B64URL.encode(Self::client_data("webauthn.create", &options)),
                "attestationObject": B64URL.encode(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }

    /// `navigator.credentials.get` with `options`: the assertion's `toJSON()` text. The counter
    /// moves on by one first.
    pub fn get(&mut self, options: &str) -> String {
        self.counter += 1;
        self.assert_with_counter(options, self.counter)
    }

    /// An assertion that claims `counter` (a cloned authenticator's lags behind).
    pub fn assert_with_counter(&self, options: &str, counter: u32) -> String {
        let options: serde_json::Value = serde_json::from_str(options).expect("options");
        let rp_id = options["publicKey"]["rpId"].as_str().expect("an rp id");
        let client_data = Self::client_data("webauthn.get", &options);
        let auth_data = SoftPasskey { counter, ..self.clone_key() }.auth_data(rp_id, UP_UV, &[]);
        let signed = [auth_data.clone(), Sha256::digest(&client_data).to_vec()].concat();
        let signature: DerSignature = self.key.sign(&signed);
        let id = B64URL.encode(&self.credential_id);
        serde_json::json!({
            "id": id, "rawId": id, "type": "public-key",
            "response": {
                "clientDataJSON": B64URL.encode(&client_data),
                "authenticatorData": B64URL.encode(&auth_data),
                "signature": B64URL.encode(signature.as_bytes()),
                "userHandle": self.user_handle,
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }

    fn clone_key(&self) -> SoftPasskey {
        SoftPasskey {
            key: self.key.clone(),
            credential_id: self.credential_id.clone(),
            counter: self.counter,
            user_handle: self.user_handle.clone(),
        }
    }
}
