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
}
