//! The OpenPGP Web Key Directory (draft-koch-openpgp-webkey-service): where a domain publishes
//! the key of each of its addresses. The server publishes its accounts' keys and looks up outside
//! ones for its users; the contacts worker looks them up from the browser. Both ask the same two
//! places, built here (no IO: the callers ask).

use sha1::{Digest, Sha1};

const ZBASE32_ALPHABET: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";

/// z-base-32 encoding, as WKD uses it for the hashed local part.
pub fn zbase32(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in data {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ZBASE32_ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ZBASE32_ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The WKD hash of a local part: z-base-32 of SHA-1 of its lowercase form.
pub fn wkd_hash(local_part: &str) -> String {
    zbase32(&Sha1::digest(local_part.to_lowercase().as_bytes()))
}

/// The most a published key may be (larger answers are not read).
pub const MAX_KEY_BYTES: usize = 256 * 1024;

/// Where `address`'s key is published, in the order to ask: the advanced method's host and path
/// (`openpgpkey.<domain>`), then the direct method's (`<domain>`), both over HTTPS. `None` for
/// something that is not an address.
pub fn lookups(address: &str) -> Option<[(String, String); 2]> {
    let (local, domain) = address.trim().rsplit_once('@')?;
    if local.is_empty() || domain.is_empty() || domain.contains(['/', '?', '#', ':', '@']) {
        return None;
    }
    let domain = domain.to_ascii_lowercase();
    let hash = wkd_hash(local);
    // The draft's `l`: the local part as written, percent-encoded.
    let query: String = local
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    Some([
        (format!("openpgpkey.{domain}"), format!("/.well-known/openpgpkey/{domain}/hu/{hash}?l={query}")),
        (domain, format!("/.well-known/openpgpkey/hu/{hash}?l={query}")),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_drafts_example() {
        // From draft-koch-openpgp-webkey-service: "Joe.Doe" hashes to this.
        assert_eq!(wkd_hash("Joe.Doe"), "iy9q119eutrkn8s1mk4r39qejnbu3n5q");
    }

    #[test]
    fn asks_the_advanced_then_the_direct_method() {
        let [advanced, direct] = lookups("Joe.Doe@Example.ORG").expect("an address");
        assert_eq!(advanced.0, "openpgpkey.example.org");
        assert_eq!(advanced.1, "/.well-known/openpgpkey/example.org/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe");
        assert_eq!(direct.0, "example.org");
        assert_eq!(direct.1, "/.well-known/openpgpkey/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe");
        assert!(lookups("joe+x y@example.org").expect("an address")[1].1.ends_with("?l=joe%2Bx%20y"));
        for not_one in ["no-at-sign", "@example.org", "joe@", "joe@evil.test/x", "joe@host:8443"] {
            assert!(lookups(not_one).is_none(), "{not_one}");
        }
    }
}
