//! Web Key Directory (draft-koch-openpgp-webkey-service), direct method.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_drafts_example() {
        // From draft-koch-openpgp-webkey-service: "Joe.Doe" hashes to this.
        assert_eq!(wkd_hash("Joe.Doe"), "iy9q119eutrkn8s1mk4r39qejnbu3n5q");
    }
}
