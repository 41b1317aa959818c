//! Liveness and readiness probes.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// `GET /healthz`: the process is alive. Never touches the store.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the store answers and a signing key is loaded; `503
/// store_unavailable` otherwise.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store.ping().await?;
    let kid = state
        .keys
        .active()
        .map(|(info, _)| info.kid.to_string())
        .ok_or_else(|| ApiError::internal(&"no active signing key"))?;
    Ok(Json(json!({"status": "ready", "active_kid": kid})))
}
