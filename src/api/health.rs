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

/// `GET /readyz`: the key ring is loaded and the store answers;
/// `503 keys_unavailable` or `503 store_unavailable` otherwise.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let keys = state.keys.loaded()?;
    state.store.ping().await?;
    let (active, _) = keys.active();
    Ok(Json(json!({
        "status": "ready",
        "active_kid": active.kid.as_str(),
        "keys": keys.keyset().len(),
    })))
}
