//! The approximate country of an IP address, for the session list ("as the policy allows"): an
//! operator's MaxMind DB file (`--geoip-db`), read into memory at start. Nothing is stored: the
//! country is looked up from the IP the session already keeps, each time the list is shown.
//! Files with a top-level `country_code` (ip-location-db) and MaxMind's own GeoLite2/GeoIP2
//! layout (`country.iso_code`) both work.

use std::net::IpAddr;
use std::path::Path;

/// A country database.
pub struct Countries {
    reader: maxminddb::Reader<Vec<u8>>,
}

#[derive(serde::Deserialize)]
struct Record<'a> {
    #[serde(borrow)]
    country_code: Option<&'a str>,
    #[serde(borrow)]
    country: Option<MaxMindCountry<'a>>,
}

#[derive(serde::Deserialize)]
struct MaxMindCountry<'a> {
    iso_code: Option<&'a str>,
}

impl Countries {
    /// Reads the database at `path`; the error says why it cannot be used.
    pub fn open(path: &Path) -> Result<Countries, String> {
        let reader = maxminddb::Reader::open_readfile(path)
            .map_err(|error| format!("{} is not a MaxMind DB file: {error}", path.display()))?;
        Ok(Countries { reader })
    }

    /// The ISO 3166-1 alpha-2 code of `ip`'s country, if the database knows it (never for a
    /// private, loopback or malformed address).
    pub fn country(&self, ip: &str) -> Option<String> {
        let address: IpAddr = ip.parse().ok()?;
        if !is_public(address) {
            return None;
        }
        let record: Record<'_> = self.reader.lookup(address).ok()??;
        let code = record.country_code.or(record.country.and_then(|country| country.iso_code))?;
        (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic())).then(|| code.to_ascii_uppercase())
    }
}

/// Whether `address` is on the public internet: private, loopback, link-local, documentation
/// and other special-purpose ranges have no country (databases that give them one are wrong).
fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80
                    || (first == 0x2001 && v6.segments()[1] == 0x0db8))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::is_public;

    #[test]
    fn special_purpose_addresses_are_not_looked_up() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "169.254.1.1",
            "198.51.100.7",
            "203.0.113.9",
            "100.64.0.1",
            "198.18.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().expect("ip")), "{private}");
        }
        for public in ["8.8.8.8", "193.0.6.139", "2a00:1450:4001::1", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().expect("ip")), "{public}");
        }
    }
}
