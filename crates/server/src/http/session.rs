//! The one cookie: a random 256-bit session id, stored hashed, HttpOnly and SameSite=Strict.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, SET_COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::http::error::ApiError;
use crate::AppState;

/// The cookie's name; `__Host-` binds it to this exact origin over TLS.
pub fn cookie_name(behind_tls: bool) -> &'static str {
    if behind_tls {
        "__Host-plico_session"
    } else {
        "plico_session"
    }
}

/// A new random session token and the hash the database keeps.
pub fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The `Set-Cookie` value that creates the session cookie: kept for the session's lifetime when
/// its owner chose "Keep me signed in", else gone when the browser closes.
pub fn set_cookie(state: &AppState, token: &str, keep_signed_in: bool) -> HeaderValue {
    let behind_tls = state.config.behind_tls;
    let max_age = if keep_signed_in {
        format!("; Max-Age={}", i64::from(state.config.session_hours) * 3600)
    } else {
        String::new()
    };
    let secure = if behind_tls { "; Secure" } else { "" };
    let value = format!("{}={token}; Path=/; HttpOnly; SameSite=Strict{max_age}{secure}", cookie_name(behind_tls));
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` value that deletes it.
pub fn clear_cookie(state: &AppState) -> HeaderValue {
    let behind_tls = state.config.behind_tls;
    let secure = if behind_tls { "; Secure" } else { "" };
    let value = format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}", cookie_name(behind_tls));
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Reads one cookie's value from the request headers.
pub fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A request made with a live session.
pub struct SignedIn {
    pub account_id: i64,
    pub token_hash: Vec<u8>,
    /// The session's public id, as the session list shows it.
    pub session_id: String,
    /// Until when the session may make changes that ask for the password again.
    pub reauth_until: i64,
}

impl SignedIn {
    /// Refuses (403 `reauth_required`) unless the password was proven again in the last minutes.
    pub fn require_reauth(&self, now: i64) -> Result<(), ApiError> {
        if self.reauth_until > now {
            Ok(())
        } else {
            Err(ApiError::reauth_required())
        }
    }
}

/// The live session a cookie names, if any: `Err(SessionRevoked)` when its owner ended it.
pub async fn live_session(state: &AppState, token: &str) -> Result<crate::store::security::SessionRow, ApiError> {
    let token_hash = hash_token(token);
    let now = state.clock.now();
    match state.store.live_session(&token_hash, now, state.config.session_idle_minutes).await? {
        Some(session) => Ok(session),
        None if state.store.session_was_revoked(&token_hash, now).await? => Err(ApiError::SessionRevoked),
        None => Err(ApiError::Unauthorized),
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = read_cookie(&parts.headers, cookie_name(state.config.behind_tls)).ok_or(ApiError::Unauthorized)?;
        let session = live_session(state, token).await?;
        Ok(SignedIn {
            account_id: session.account_id,
            token_hash: hash_token(token),
            session_id: session.public_id,
            reauth_until: session.reauth_until,
        })
    }
}

/// Who is asking, as the login history records it: IP and browser, nothing else.
pub struct ClientMeta {
    pub ip: String,
    pub user_agent: String,
}

const USER_AGENT_MAX: usize = 256;

impl FromRequestParts<AppState> for ClientMeta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip());
        let forwarded = state
            .config
            .trust_forwarded_for
            .then(|| {
                parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>()
            })
            .map(|values| values.join(","));
        let ip = client_ip(peer, forwarded.as_deref(), &state.config.trusted_proxies);
        let user_agent: String = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown")
            .chars()
            .take(USER_AGENT_MAX)
            .collect();
        Ok(ClientMeta { ip, user_agent })
    }
}

/// The client's IP: the peer's, or behind a proxy (`forwarded` is X-Forwarded-For, given only when
/// the operator trusts it) the right-most entry that none of `trusted_proxies` (CIDRs) added.
/// Entries further left are whatever the client sent, so they are never believed.
pub fn client_ip(peer: Option<std::net::IpAddr>, forwarded: Option<&str>, trusted_proxies: &[String]) -> String {
    let trusted = |ip: &std::net::IpAddr| trusted_proxies.iter().any(|cidr| in_cidr(ip, cidr));
    let hops: Vec<std::net::IpAddr> =
        forwarded.unwrap_or_default().split(',').filter_map(|hop| hop.trim().parse().ok()).collect();
    let client = forwarded.and(hops.iter().rev().find(|hop| !trusted(hop)).or(hops.first()));
    client.copied().or(peer).map_or_else(|| "unknown".into(), |ip| ip.to_string())
}

/// Is `ip` within `cidr` ("10.0.0.0/8", "2001:db8::/32", or one address)?
/// Whether `ip` is in `cidr` (`10.0.0.0/8`, `2001:db8::/32`, or one address).
pub fn in_cidr(ip: &std::net::IpAddr, cidr: &str) -> bool {
    use std::net::IpAddr;
    let (network, bits) = match cidr.trim().split_once('/') {
        Some((network, bits)) => (network, bits.parse::<u32>().ok()),
        None => (cidr.trim(), None),
    };
    match (ip, network.parse::<IpAddr>()) {
        (IpAddr::V4(ip), Ok(IpAddr::V4(network))) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(*ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), Ok(IpAddr::V6(network))) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(*ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

/// Adds a `Set-Cookie` header.
pub fn with_cookie(mut headers: HeaderMap, cookie: HeaderValue) -> HeaderMap {
    headers.append(SET_COOKIE, cookie);
    headers
}

#[cfg(test)]
mod client_ip_tests {
    use super::client_ip;

    #[test]
    fn the_right_most_hop_no_trusted_proxy_added_is_the_client() {
        let peer = Some("10.0.0.1".parse().expect("ip"));
        // The client wrote 1.2.3.4 itself; the proxy appended what it saw.
        assert_eq!(client_ip(peer, Some("1.2.3.4, 198.51.100.7"), &[]), "198.51.100.7");
        assert_eq!(client_ip(peer, Some("198.51.100.7"), &[]), "198.51.100.7");
        // Two proxies: the inner one's entry is passed over.
        let trusted = vec!["10.0.0.0/8".to_owned()];
        assert_eq!(client_ip(peer, Some("1.2.3.4, 198.51.100.7, 10.2.3.4"), &trusted), "198.51.100.7");
        assert_eq!(client_ip(peer, Some("2001:db8::1, 10.9.9.9"), &trusted), "2001:db8::1");
        // Nothing usable in the header: the peer.
        assert_eq!(client_ip(peer, Some("junk"), &[]), "10.0.0.1");
        assert_eq!(client_ip(peer, None, &[]), "10.0.0.1");
        assert_eq!(client_ip(None, None, &[]), "unknown");
        // Every hop trusted: the left-most is all there is.
        assert_eq!(client_ip(peer, Some("10.1.1.1, 10.2.2.2"), &trusted), "10.1.1.1");
    }
}
