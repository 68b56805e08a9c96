//! `/metrics` for Prometheus: the text format, read only from this machine or from the
//! addresses `--metrics-from` names (the connection's own address; a forwarded one never
//! counts). Anyone else gets 404, as if there were nothing here.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::session::in_cidr;
use crate::AppState;

pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    let peer = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>();
    let allowed = peer.is_some_and(|ConnectInfo(peer)| {
        let ip = peer.ip().to_canonical();
        ip.is_loopback() || state.config.metrics_from.iter().any(|cidr| in_cidr(&ip, cidr))
    });
    if !allowed {
        return StatusCode::NOT_FOUND.into_response();
    }
    let depth = match state.store.outbound_depth().await {
        Ok(depth) => Some(depth),
        Err(error) => {
            tracing::warn!(%error, "metrics: the queue's depth could not be read");
            None
        }
    };
    let mut response = state.metrics.render(depth).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}
