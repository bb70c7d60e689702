//! Liveness, readiness and metrics: public, for probes and scrapers.

use crate::error::AdminError;
use crate::state::AdminState;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// Content type of the Prometheus text exposition format.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4";

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: storage answers too (503 `storage_unavailable` if not).
pub async fn readyz(State(state): State<AdminState>) -> Result<Json<Value>, AdminError> {
    state.store.ping().await?;
    Ok(Json(json!({"status": "ok"})))
}

/// `GET /metrics`: Prometheus text from the configured renderer.
pub async fn metrics(State(state): State<AdminState>) -> Response {
    let mut res = (state.metrics)().into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT));
    res
}
