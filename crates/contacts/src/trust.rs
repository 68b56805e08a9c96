//! Trusted keys: the key Plico uses for each address a contact has, where it came from, how far
//! the user trusts it, and what happens when someone offers a different one.
//!
//! The rules (issue 21):
//! - **First use pins.** The first key seen for an address is kept: pinned, or opportunistic
//!   when it came from an Autocrypt header.
//! - **No silent switch.** When the directory, WKD, an import or a message later offers a
//!   different key, the verdict is [`Verdict::Changed`]: the composer and the reader show both
//!   fingerprints and sending waits until the user accepts or rejects the new key. A rejected
//!   key is remembered, so the same offer does not ask again.
//! - **Verified stays.** A key the user verified (compared fingerprints) changes only by the
//!   user's own acceptance, and the change says that the verified key is the one being replaced.
//!
//! A contact keeps its keys in vCard `KEY` properties, as Proton stores them, with Plico's
//! parameters for the rest: `KEY;VALUE=uri;MEDIATYPE=application/pgp-keys;X-PLICO-ADDRESS=…;
//! X-PLICO-FINGERPRINT=…;X-PLICO-SOURCE=wkd;X-PLICO-TRUST=pinned:data:application/pgp-keys;base64,…`.

/// Where a key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// This server's directory of its own users.
    Directory,
    /// The Web Key Directory of the address's domain.
    Wkd,
    /// Pasted or imported by the user.
    Imported,
    /// An Autocrypt header of a message the user received.
    Autocrypt,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Directory => "directory",
            KeySource::Wkd => "wkd",
            KeySource::Imported => "imported",
            KeySource::Autocrypt => "autocrypt",
        }
    }

    pub fn parse(text: &str) -> Option<KeySource> {
        [KeySource::Directory, KeySource::Wkd, KeySource::Imported, KeySource::Autocrypt]
            .into_iter()
            .find(|source| source.as_str().eq_ignore_ascii_case(text))
    }
}

/// How far the user trusts a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trust {
    /// Learned from an Autocrypt header: encrypts, proves little.
    Opportunistic,
    /// The first key seen for the address from the directory, WKD or an import.
    Pinned,
    /// The user compared the fingerprint with its owner.
    Verified,
}

impl Trust {
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::Opportunistic => "opportunistic",
            Trust::Pinned => "pinned",
            Trust::Verified => "verified",
        }
    }

    pub fn parse(text: &str) -> Option<Trust> {
        [Trust::Opportunistic, Trust::Pinned, Trust::Verified]
            .into_iter()
            .find(|trust| trust.as_str().eq_ignore_ascii_case(text))
    }
}

/// The key kept for one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedKey {
    /// Lowercase.
    pub address: String,
    /// Uppercase hex.
    pub fingerprint: String,
    pub source: KeySource,
    pub trust: Trust,
    /// Fingerprints offered for this address that the user rejected.
    pub rejected: Vec<String>,
}

/// What to do with a key offered for an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing was kept for the address: keep this key, with this trust.
    PinFirst { trust: Trust },
    /// It is the kept key: use it.
    Use,
    /// It is the kept key, offered from a stronger source (the directory or WKD confirming an
    /// Autocrypt key): use it, and raise the kept trust to this.
    Raise { trust: Trust },
    /// A different key: the user decides before anything is encrypted to either.
    Changed { kept: String, offered: String, kept_was_verified: bool },
    /// A key the user already rejected for this address: keep using the kept one, ask nothing.
    Rejected,
}

fn normalize(fingerprint: &str) -> String {
    fingerprint.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase()
}

/// The verdict on `offered` (a fingerprint) for an address whose kept key is `kept`.
pub fn judge(kept: Option<&PinnedKey>, offered: &str, source: KeySource) -> Verdict {
    let offered = normalize(offered);
    let first_trust = if source == KeySource::Autocrypt { Trust::Opportunistic } else { Trust::Pinned };
    let Some(kept) = kept else { return Verdict::PinFirst { trust: first_trust } };
    if normalize(&kept.fingerprint) == offered {
        return if kept.trust < first_trust { Verdict::Raise { trust: first_trust } } else { Verdict::Use };
    }
    if kept.rejected.iter().any(|rejected| normalize(rejected) == offered) {
        return Verdict::Rejected;
    }
    Verdict::Changed { kept: normalize(&kept.fingerprint), offered, kept_was_verified: kept.trust == Trust::Verified }
}

/// The user accepted `offered` in place of the kept key: it is kept now, pinned (verified only
/// when the user compares it again).
pub fn accept(kept: &mut PinnedKey, offered: &str, source: KeySource) {
    kept.fingerprint = normalize(offered);
    kept.source = source;
    kept.trust = Trust::Pinned;
    kept.rejected.retain(|rejected| normalize(rejected) != kept.fingerprint);
}

/// The user rejected `offered`: the kept key stays, and this offer is not asked about again.
pub fn reject(kept: &mut PinnedKey, offered: &str) {
    let offered = normalize(offered);
    if !kept.rejected.contains(&offered) {
        kept.rejected.push(offered);
    }
}

/// The user compared the kept key's fingerprint with its owner.
pub fn verify(kept: &mut PinnedKey) {
    kept.trust = Trust::Verified;
}

/// A contact's kept keys as vCard 4 `KEY` lines, the certificate inline as a data URI.
pub fn key_line(kept: &PinnedKey, certificate_base64: &str) -> String {
    let mut line = format!(
        "KEY;VALUE=uri;MEDIATYPE=application/pgp-keys;X-PLICO-ADDRESS={};X-PLICO-FINGERPRINT={};X-PLICO-SOURCE={};X-PLICO-TRUST={}",
        kept.address,
        kept.fingerprint,
        kept.source.as_str(),
        kept.trust.as_str()
    );
    if !kept.rejected.is_empty() {
        line.push_str(";X-PLICO-REJECTED=");
        line.push_str(&kept.rejected.join(","));
    }
    line.push_str(":data:application/pgp-keys;base64,");
    line.push_str(certificate_base64);
    line
}

/// The base64 body of an ASCII-armored certificate (what a `data:` URI carries): the lines
/// after the armor headers, without the checksum line. `None` when it is not armored.
pub fn armor_body(armored: &str) -> Option<String> {
    let mut lines = armored.lines().map(str::trim);
    lines.find(|line| line.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK"))?;
    // Armor headers (`Comment: …`) end at the first empty line.
    let mut body = String::new();
    let mut in_headers = true;
    for line in lines {
        if line.starts_with("-----END") {
            return (!body.is_empty()).then_some(body);
        }
        if in_headers {
            if line.is_empty() {
                in_headers = false;
            } else if !line.contains(": ") {
                // No headers at all: this line is already the body.
                in_headers = false;
                body.push_str(line);
            }
            continue;
        }
        if line.starts_with('=') && line.len() == 5 {
            continue;
        }
        body.push_str(line);
    }
    None
}

/// A `KEY` line for a key the keyring keeps.
pub fn kept_key_line(key: &plico_api::contacts::KeptKey) -> Option<String> {
    let source = KeySource::parse(&key.source).unwrap_or(KeySource::Imported);
    let trust = match (key.verified, source) {
        (true, _) => Trust::Verified,
        (false, KeySource::Autocrypt) => Trust::Opportunistic,
        (false, _) => Trust::Pinned,
    };
    let kept = PinnedKey {
        address: key.address.to_ascii_lowercase(),
        fingerprint: normalize(&key.fingerprint),
        source,
        trust,
        rejected: Vec::new(),
    };
    Some(key_line(&kept, &armor_body(&key.cert)?))
}

/// `card` with the keyring's keys for its addresses as `KEY` properties, in place of any `KEY`
/// Plico wrote before (other `KEY`s are kept as they are).
pub fn with_keys(card: &crate::Card, keys: &[plico_api::contacts::KeptKey]) -> crate::Card {
    use calcard::vcard::{VCardParameterName, VCardProperty};
    let mut card = card.clone();
    card.entries.retain(|entry| {
        entry.name != VCardProperty::Key
            || !entry.params.iter().any(
                |param| matches!(&param.name, VCardParameterName::Other(name) if name.eq_ignore_ascii_case("X-PLICO-ADDRESS")),
            )
    });
    let addresses: Vec<String> =
        crate::summary(&card).emails.iter().map(|address| address.trim().to_ascii_lowercase()).collect();
    for key in keys.iter().filter(|key| addresses.contains(&key.address.to_ascii_lowercase())) {
        let Some(line) = kept_key_line(key) else { continue };
        // A card is read only with a name.
        let wrapper = format!("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:k\r\n{line}\r\nEND:VCARD\r\n");
        if let Some(entry) = crate::read_vcf(&wrapper)
            .cards
            .into_iter()
            .next()
            .and_then(|read| read.entries.into_iter().find(|entry| entry.name == VCardProperty::Key))
        {
            card.entries.push(entry);
        }
    }
    card
}

/// The kept keys a card's `KEY` properties name (those Plico wrote; other `KEY`s are kept in the
/// card as they are, and not used until the user imports them).
pub fn kept_keys(card: &crate::Card) -> Vec<PinnedKey> {
    use calcard::vcard::{VCardParameterName, VCardParameterValue, VCardProperty};
    let mut keys = Vec::new();
    for entry in card.entries.iter().filter(|entry| entry.name == VCardProperty::Key) {
        let param = |name: &str| -> Vec<String> {
            entry
                .params
                .iter()
                .filter(
                    |param| matches!(&param.name, VCardParameterName::Other(other) if other.eq_ignore_ascii_case(name)),
                )
                .filter_map(|param| match &param.value {
                    VCardParameterValue::Text(text) => Some(text.clone()),
                    _ => None,
                })
                .collect()
        };
        let first = |name: &str| param(name).into_iter().next();
        let (Some(address), Some(fingerprint)) = (first("X-PLICO-ADDRESS"), first("X-PLICO-FINGERPRINT")) else {
            continue;
        };
        let rejected = param("X-PLICO-REJECTED")
            .iter()
            .flat_map(|list| list.split(','))
            .map(normalize)
            .filter(|fingerprint| !fingerprint.is_empty())
            .collect();
        keys.push(PinnedKey {
            address: address.to_ascii_lowercase(),
            fingerprint: normalize(&fingerprint),
            source: first("X-PLICO-SOURCE").and_then(|s| KeySource::parse(&s)).unwrap_or(KeySource::Imported),
            trust: first("X-PLICO-TRUST").and_then(|t| Trust::parse(&t)).unwrap_or(Trust::Opportunistic),
            rejected,
        });
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "C3D0 0644 0F89 8039 BE50  5B72 EC06 4AC9 1DEC A7FA";
    const B: &str = "0123456789ABCDEF0123456789ABCDEF01234567";

    fn kept(trust: Trust) -> PinnedKey {
        PinnedKey {
            address: "ada@example.org".into(),
            fingerprint: normalize(A),
            source: KeySource::Wkd,
            trust,
            rejected: Vec::new(),
        }
    }

    #[test]
    fn the_first_key_seen_is_pinned_and_an_autocrypt_one_only_opportunistically() {
        assert_eq!(judge(None, A, KeySource::Wkd), Verdict::PinFirst { trust: Trust::Pinned });
        assert_eq!(judge(None, A, KeySource::Directory), Verdict::PinFirst { trust: Trust::Pinned });
        assert_eq!(judge(None, A, KeySource::Autocrypt), Verdict::PinFirst { trust: Trust::Opportunistic });
    }

    #[test]
    fn the_same_key_is_used_and_a_stronger_source_raises_an_opportunistic_one() {
        assert_eq!(judge(Some(&kept(Trust::Pinned)), &A.to_lowercase(), KeySource::Autocrypt), Verdict::Use);
        assert_eq!(
            judge(Some(&kept(Trust::Opportunistic)), A, KeySource::Directory),
            Verdict::Raise { trust: Trust::Pinned }
        );
        assert_eq!(judge(Some(&kept(Trust::Verified)), A, KeySource::Wkd), Verdict::Use, "never lowered");
    }

    #[test]
    fn a_different_key_from_any_source_waits_for_the_user() {
        for source in [KeySource::Directory, KeySource::Wkd, KeySource::Imported, KeySource::Autocrypt] {
            for trust in [Trust::Opportunistic, Trust::Pinned, Trust::Verified] {
                assert_eq!(
                    judge(Some(&kept(trust)), B, source),
                    Verdict::Changed {
                        kept: normalize(A),
                        offered: B.into(),
                        kept_was_verified: trust == Trust::Verified
                    },
                    "{source:?} over {trust:?}"
                );
            }
        }
    }

    #[test]
    fn a_rejected_key_is_not_asked_about_again_and_an_accepted_one_is_kept_pinned() {
        let mut key = kept(Trust::Verified);
        reject(&mut key, B);
        reject(&mut key, &B.to_lowercase());
        assert_eq!(key.rejected, vec![B.to_owned()]);
        assert_eq!(judge(Some(&key), B, KeySource::Wkd), Verdict::Rejected);
        assert_eq!(key.trust, Trust::Verified, "rejecting keeps the verified key verified");

        accept(&mut key, B, KeySource::Wkd);
        assert_eq!(
            (key.fingerprint.as_str(), key.trust),
            (B, Trust::Pinned),
            "a new key is not verified until compared"
        );
        assert!(key.rejected.is_empty());
        assert_eq!(
            judge(Some(&key), A, KeySource::Wkd),
            Verdict::Changed { kept: B.into(), offered: normalize(A), kept_was_verified: false }
        );
        verify(&mut key);
        assert_eq!(key.trust, Trust::Verified);
    }

    #[test]
    fn kept_keys_travel_in_vcard_key_properties_and_survive_the_round_trip() {
        let mut key = kept(Trust::Verified);
        reject(&mut key, B);
        let card_text = format!(
            "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada\r\nEMAIL:ada@example.org\r\n{}\r\n\
             KEY:https://example.org/ada.asc\r\nEND:VCARD\r\n",
            key_line(&key, "cGxpY28ta2V5LWJ5dGVzIQ==")
        );
        let import = crate::read_vcf(&card_text);
        assert!(import.problems.is_empty(), "{:?}", import.problems);
        let card = &import.cards[0];
        assert_eq!(kept_keys(card), vec![key.clone()], "a KEY Plico did not write is not a kept key");
        let back = crate::from_content(&crate::to_content(card)).expect("reads back");
        assert_eq!(kept_keys(&back), vec![key]);
        let exported = crate::write_vcf(std::slice::from_ref(&back)).replace("\r\n ", "");
        assert!(exported.contains("KEY:https://example.org/ada.asc"), "{exported}");
        // calcard writes the data URI's comma escaped (`base64\,`), and reads it back either way.
        assert!(exported.contains("cGxpY28ta2V5LWJ5dGVzIQ==\r\n"), "the certificate's bytes survive: {exported}");
    }

    const ARMORED: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: Ada's key\n\nxjMEZ1x2\nFgkrBgEE\n=AbCd\n-----END PGP PUBLIC KEY BLOCK-----\n";

    #[test]
    fn an_armored_certificate_gives_its_base64_body() {
        assert_eq!(armor_body(ARMORED).as_deref(), Some("xjMEZ1x2FgkrBgEE"));
        let bare = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEZ1x2\n-----END PGP PUBLIC KEY BLOCK-----";
        assert_eq!(armor_body(bare).as_deref(), Some("xjMEZ1x2"));
        assert_eq!(armor_body("not a key"), None);
        assert_eq!(armor_body("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEZ1x2"), None, "truncated");
    }

    #[test]
    fn an_export_carries_the_keyrings_keys_for_the_cards_addresses_in_place_of_older_ones() {
        let old = PinnedKey { trust: Trust::Pinned, ..kept(Trust::Pinned) };
        let text = format!(
            "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada\r\nEMAIL:Ada@Example.org\r\n{}\r\nKEY:https://example.org/ada.asc\r\nEND:VCARD\r\n",
            key_line(&old, "b2xk")
        );
        let card = crate::read_vcf(&text).cards.remove(0);
        let key = |address: &str, verified| plico_api::contacts::KeptKey {
            address: address.into(),
            fingerprint: B.into(),
            cert: ARMORED.into(),
            source: "directory".into(),
            verified,
        };
        let exported = with_keys(&card, &[key("ada@example.org", true), key("bo@example.org", false)]);
        assert_eq!(
            kept_keys(&exported),
            vec![PinnedKey {
                address: "ada@example.org".into(),
                fingerprint: B.into(),
                source: KeySource::Directory,
                trust: Trust::Verified,
                rejected: Vec::new(),
            }],
            "the keyring's key replaces the older one, and only the card's addresses get one"
        );
        let vcf = crate::write_vcf(&[exported]).replace("\r\n ", "");
        assert!(vcf.contains("xjMEZ1x2FgkrBgEE"), "{vcf}");
        assert!(!vcf.contains("b2xk"), "{vcf}");
        assert!(vcf.contains("KEY:https://example.org/ada.asc"), "a KEY Plico did not write stays: {vcf}");
    }
}
