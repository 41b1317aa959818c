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

/// `GET /readyz`: the store answers (a signing key is always loaded: the
/// service does not start without one); `503 store_unavailable` otherwise.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.store.ping().await?;
    let keys = state.keys.current();
    let (active, _) = keys.active();
    Ok(Json(
        json!({"status": "ready", "active_kid": active.kid.as_str()}),
    ))
}
