//! The one cookie: a random 256-bit session id, stored hashed, HttpOnly and SameSite=Strict.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, SET_COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
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

/// The `Set-Cookie` value that creates the session cookie.
pub fn set_cookie(state: &AppState, token: &str) -> HeaderValue {
    let behind_tls = state.config.behind_tls;
    let max_age = i64::from(state.config.session_hours) * 3600;
    let secure = if behind_tls { "; Secure" } else { "" };
    let value =
        format!("{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}", cookie_name(behind_tls));
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
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = read_cookie(&parts.headers, cookie_name(state.config.behind_tls)).ok_or(ApiError::Unauthorized)?;
        let token_hash = hash_token(token);
        let account_id =
            state.store.session_account(&token_hash, state.clock.now()).await?.ok_or(ApiError::Unauthorized)?;
        Ok(SignedIn { account_id, token_hash })
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
        let forwarded = state
            .config
            .trust_forwarded_for
            .then(|| parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()))
            .flatten()
            .and_then(|value| value.split(',').next())
            .map(|ip| ip.trim().to_owned());
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip().to_string());
        let ip = forwarded.or(peer).unwrap_or_else(|| "unknown".into());
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

/// Adds a `Set-Cookie` header.
pub fn with_cookie(mut headers: HeaderMap, cookie: HeaderValue) -> HeaderMap {
    headers.append(SET_COOKIE, cookie);
    headers
}
