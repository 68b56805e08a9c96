//! Health for load balancers: `/healthz` says the process answers; `/readyz` says it can serve,
//! asking the database and the blob store, each within a deadline. A part that cannot is named
//! (503); what went wrong goes to the log, not to whoever asked.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::AppState;

/// How long each part may take to answer before it counts as not ready.
const DEADLINE: Duration = Duration::from_secs(2);

pub async fn live() -> Json<Value> {
    Json(json!({ "status": "live" }))
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = match tokio::time::timeout(DEADLINE, state.store.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: the database did not answer");
            "the database did not answer"
        }
        Err(_) => "the database did not answer in time",
    };
    let blobs = state.blobs.clone();
    let probe = tokio::task::spawn_blocking(move || blobs.ready());
    let blobs = match tokio::time::timeout(DEADLINE, probe).await {
        Ok(Ok(Ok(()))) => "ok",
        Ok(Ok(Err(error))) => {
            tracing::warn!(%error, "readiness: the blob store takes no writes");
            "the blob store takes no writes"
        }
        Ok(Err(_)) => "the blob store's check stopped",
        Err(_) => "the blob store did not answer in time",
    };
    let ready = database == "ok" && blobs == "ok";
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({ "status": if ready { "ready" } else { "unready" }, "database": database, "blobs": blobs })))
}
