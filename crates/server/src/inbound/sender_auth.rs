//! SPF, DKIM and DMARC for mail from the Internet (mail-auth), checked on arrival, before the
//! message is encrypted. The result becomes an `Authentication-Results` header (RFC 8601) that
//! ingest puts at the very top of the message it encrypts, so the reader finds it inside the
//! encrypted copy; nothing of it is stored in the clear. A message whose domain publishes a
//! DMARC policy of quarantine or reject and that fails DMARC goes to the Spam folder (it is
//! never refused: a sender's misconfigured DNS must not lose anyone's mail).
//!
//! DNS is the system resolver by default, or a given server (`--mail-auth-dns 127.0.0.1:5353`),
//! or nothing (`off`). Every message gets ten seconds of lookups; after that its results say
//! `temperror` and delivery goes on.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mail_auth::common::headers::HeaderWriter;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::dmarc::Policy;
use mail_auth::hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{AuthenticatedMessage, AuthenticationResults, DmarcResult, MessageAuthenticator};

/// How long one message's lookups may take, all of them together.
const LOOKUP_BUDGET: Duration = Duration::from_secs(10);

/// The checker, with its resolver.
pub struct SenderAuth(MessageAuthenticator);

/// What the checks found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// `Authentication-Results: …` with its CRLF, to put in front of the message.
    pub header: String,
    /// DMARC failed and the domain asks for quarantine or rejection.
    pub quarantine: bool,
}

impl SenderAuth {
    /// `system`, `off`, or the `ip:port` of a DNS server.
    pub fn open(setting: &str) -> Result<Option<SenderAuth>, String> {
        match setting {
            "off" => Ok(None),
            "system" => MessageAuthenticator::new_system_conf()
                .map(|auth| Some(SenderAuth(auth)))
                .map_err(|e| format!("the system's DNS configuration: {e} (use --mail-auth-dns IP:PORT or off)")),
            server => {
                let address: SocketAddr =
                    server.parse().map_err(|_| format!("--mail-auth-dns: {server:?} is not system, off or IP:PORT"))?;
                let servers = NameServerConfigGroup::from_ips_clear(&[address.ip()], address.port(), true);
                let mut options = ResolverOpts::default();
                options.timeout = Duration::from_secs(3);
                options.attempts = 1;
                MessageAuthenticator::new(ResolverConfig::from_parts(None, vec![], servers), options)
                    .map(|auth| Some(SenderAuth(auth)))
                    .map_err(|e| format!("--mail-auth-dns {server}: {e}"))
            }
        }
    }

    /// The resolver, for other lookups that should see the same DNS (WKD).
    pub fn resolver(&self) -> mail_auth::hickory_resolver::TokioResolver {
        self.0.resolver().clone()
    }

    /// Checks the message `raw` that `peer` (calling itself `helo`) sent from `mail_from`.
    /// `receiver` is this server's name in the results.
    pub async fn check(&self, receiver: &str, peer: IpAddr, helo: &str, mail_from: &str, raw: &[u8]) -> Checked {
        match tokio::time::timeout(LOOKUP_BUDGET, self.check_now(receiver, peer, helo, mail_from, raw)).await {
            Ok(checked) => checked,
            Err(_) => Checked {
                header: format!(
                    "Authentication-Results: {receiver};\r\n\tspf=temperror; dkim=temperror; dmarc=temperror \
                     (DNS did not answer in time)\r\n"
                ),
                quarantine: false,
            },
        }
    }

    async fn check_now(&self, receiver: &str, peer: IpAddr, helo: &str, mail_from: &str, raw: &[u8]) -> Checked {
        let Some(message) = AuthenticatedMessage::parse(raw) else {
            return Checked {
                header: format!("Authentication-Results: {receiver}; none (the message could not be parsed)\r\n"),
                quarantine: false,
            };
        };
        let dkim = self.0.verify_dkim(&message).await;
        let spf = if mail_from.is_empty() {
            self.0.verify_spf(SpfParameters::verify_ehlo(peer, helo, receiver)).await
        } else {
            self.0.verify_spf(SpfParameters::verify_mail_from(peer, helo, receiver, mail_from)).await
        };
        let mail_from_domain = mail_from.rsplit_once('@').map_or(helo, |(_, domain)| domain);
        let header_from = message.from();
        let header_from_domain = header_from.rsplit_once('@').map_or(header_from, |(_, domain)| domain);
        let dmarc = self
            .0
            .verify_dmarc(
                DmarcParameters::new(&message, &dkim, mail_from_domain, &spf)
                    .with_domain_suffix_fn(organizational_domain),
            )
            .await;
        // DMARC is judged here rather than by mail-auth's header writer, which says "none" when
        // a published policy fails for want of any aligned pass (RFC 7489 section 6.6.2 calls
        // that a failure).
        let passed = *dmarc.dkim_result() == DmarcResult::Pass || *dmarc.spf_result() == DmarcResult::Pass;
        let temporary = |result: &DmarcResult| matches!(result, DmarcResult::TempError(_));
        let verdict = if passed {
            "pass"
        } else if temporary(dmarc.dkim_result()) || temporary(dmarc.spf_result()) {
            "temperror"
        } else if dmarc.dmarc_record().is_some() {
            "fail"
        } else {
            "none"
        };
        let mut header = AuthenticationResults::new(receiver)
            .with_dkim_results(&dkim, header_from_domain)
            .with_spf_mailfrom_result(&spf, peer, mail_from, helo)
            .to_header();
        let policy = match dmarc.policy() {
            Policy::Reject => "reject",
            Policy::Quarantine => "quarantine",
            Policy::None | Policy::Unspecified => "none",
        };
        let dmarc_part = if dmarc.domain().is_empty() {
            format!(";\r\n\tdmarc={verdict}")
        } else {
            format!(";\r\n\tdmarc={verdict} header.from={} policy.dmarc={policy}", dmarc.domain())
        };
        header.insert_str(header.len() - 2, &dmarc_part);
        let quarantine = verdict == "fail" && matches!(dmarc.policy(), Policy::Quarantine | Policy::Reject);
        Checked { header, quarantine }
    }
}

/// The organizational domain of `domain` for DMARC alignment (RFC 7489 section 3.2): the
/// registrable domain by the Public Suffix List (the `psl` crate embeds it), so that
/// `attacker.me.uk` does not align with `victim.me.uk`. A name the list cannot place is its own.
pub fn organizational_domain(domain: &str) -> &str {
    let domain = domain.trim_end_matches('.');
    // The list is lowercase; ASCII lowercasing keeps every byte where it was.
    let lower = domain.to_ascii_lowercase();
    match psl::domain_str(&lower) {
        Some(registrable) => &domain[domain.len() - registrable.len()..],
        None => domain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organizational_domains() {
        assert_eq!(organizational_domain("mail.example.org"), "example.org");
        assert_eq!(organizational_domain("example.org"), "example.org");
        assert_eq!(organizational_domain("a.b.example.co.uk"), "example.co.uk");
        assert_eq!(organizational_domain("example.co.uk"), "example.co.uk");
        assert_eq!(organizational_domain("mx.example.de"), "example.de");
        assert_eq!(organizational_domain("localhost"), "localhost");
        // Issue 20, item 17: the Public Suffix List, not a rule of thumb.
        assert_eq!(organizational_domain("attacker.me.uk"), "attacker.me.uk");
        assert_eq!(organizational_domain("mail.victim.me.uk"), "victim.me.uk");
        assert_eq!(organizational_domain("mx.Example.COM.au"), "Example.COM.au");
        assert_eq!(organizational_domain("a.b.example.kawasaki.jp"), "b.example.kawasaki.jp");
        assert_eq!(organizational_domain("example.test."), "example.test");
    }

    #[test]
    fn settings_are_named_when_wrong() {
        assert!(SenderAuth::open("off").expect("off").is_none());
        assert!(SenderAuth::open("127.0.0.1:5353").expect("a server").is_some());
        let error = SenderAuth::open("dns.example").err().expect("refused");
        assert!(error.contains("system, off or IP:PORT"), "{error}");
    }
}
