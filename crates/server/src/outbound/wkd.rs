//! WKD lookups of people on other servers (the OpenPGP Web Key Directory), made by the server
//! for a signed-in user: the browser cannot fetch other domains under the app's CSP, and the
//! server learns nothing new by it (it learns the address when it sends the mail anyway).
//!
//! The advanced method (`openpgpkey.<domain>`) is tried first, then the direct one (`<domain>`),
//! over HTTPS with the web's trust roots (and `--wkd-ca` for a private one), five seconds each,
//! at most 256 KiB. Names resolve through `--mail-auth-dns` when it names a server, else the
//! system. A key counts only if it carries a User ID with the address looked up.
//!
//! A domain that resolves to a private, loopback, link-local or otherwise internal address
//! publishes no key as far as this client is concerned (unless `--wkd-allow-private`): users
//! must not be able to make the server probe the network it runs in. What went wrong is not told
//! to the user either (`api::outside_key` says only that the directory could not be asked), so a
//! refused port and a TLS failure look the same.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::config::ServeConfig;

const TIMEOUT: Duration = Duration::from_secs(5);
use plico_wkd::MAX_KEY_BYTES;

/// The lookup client.
pub struct WkdClient {
    tls: tokio_rustls::TlsConnector,
    port: u16,
    allow_private: bool,
    resolver: Option<mail_auth::hickory_resolver::TokioResolver>,
}

impl WkdClient {
    pub fn new(
        config: &ServeConfig,
        resolver: Option<mail_auth::hickory_resolver::TokioResolver>,
    ) -> Result<Self, String> {
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::CertificateDer;
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        if let Some(path) = &config.wkd_ca {
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| format!("--wkd-ca {}: {e}", path.display()))? {
                let cert = cert.map_err(|e| format!("--wkd-ca {}: {e}", path.display()))?;
                roots.add(cert).map_err(|e| format!("--wkd-ca {}: {e}", path.display()))?;
            }
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let tls = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(WkdClient {
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            port: config.wkd_https_port,
            allow_private: config.wkd_allow_private,
            resolver,
        })
    }

    /// The binary certificate published for `address`, if any.
    pub async fn lookup(&self, address: &str) -> Result<Option<Vec<u8>>, String> {
        let attempts = plico_wkd::lookups(address).ok_or("not an address")?;
        let mut last_error = None;
        for (host, path) in attempts {
            match tokio::time::timeout(TIMEOUT, self.get(&host, &path)).await {
                Ok(Ok(Some(body))) => return Ok(Some(body)),
                Ok(Ok(None)) => {}
                Ok(Err(error)) => last_error = Some(error),
                Err(_) => last_error = Some(format!("{host} did not answer in time")),
            }
        }
        match last_error {
            Some(error) => Err(error),
            None => Ok(None),
        }
    }

    async fn resolve(&self, host: &str) -> Result<SocketAddr, String> {
        match &self.resolver {
            Some(resolver) => {
                let ips = resolver.lookup_ip(format!("{host}.")).await.map_err(|e| format!("{host}: {e}"))?;
                ips.iter().next().map(|ip| SocketAddr::new(ip, self.port)).ok_or_else(|| format!("{host}: no address"))
            }
            None => tokio::net::lookup_host((host, self.port))
                .await
                .map_err(|e| format!("{host}: {e}"))?
                .next()
                .ok_or_else(|| format!("{host}: no address")),
        }
    }

    /// GET over HTTPS: `Some(body)` for 200, `None` for 404 (or no such host, or one inside).
    async fn get(&self, host: &str, path: &str) -> Result<Option<Vec<u8>>, String> {
        let Ok(address) = self.resolve(host).await else { return Ok(None) };
        if !self.allow_private && is_internal(address.ip()) {
            return Ok(None);
        }
        let tcp = tokio::net::TcpStream::connect(address).await.map_err(|e| format!("{host}: {e}"))?;
        let name = ServerName::try_from(host.to_owned()).map_err(|e| format!("{host}: {e}"))?;
        let tls = self.tls.connect(name, tcp).await.map_err(|e| format!("{host}: TLS: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| format!("{host}: {e}"))?;
        tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, host)
            .header(hyper::header::USER_AGENT, "Plico WKD")
            .body(http_body_util::Empty::<hyper::body::Bytes>::new())
            .map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| format!("{host}: {e}"))?;
        match response.status().as_u16() {
            200 => {
                let body = http_body_util::Limited::new(response.into_body(), MAX_KEY_BYTES)
                    .collect()
                    .await
                    .map_err(|e| format!("{host}: {e}"))?;
                Ok(Some(body.to_bytes().to_vec()))
            }
            404 => Ok(None),
            status => Err(format!("{host} answered {status}")),
        }
    }
}

/// Is `ip` one no lookup on a user's behalf may reach: loopback, private (RFC 1918, unique
/// local), link-local, shared (CGNAT), unspecified, broadcast, multicast or documentation?
pub fn is_internal(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_internal;

    #[test]
    fn addresses_inside_are_told_from_the_internet() {
        for inside in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "198.18.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
        ] {
            assert!(is_internal(inside.parse().expect("ip")), "{inside}");
        }
        for outside in ["93.184.216.34", "1.1.1.1", "2a00:1450:4001::1", "::ffff:93.184.216.34"] {
            assert!(!is_internal(outside.parse().expect("ip")), "{outside}");
        }
    }
}
