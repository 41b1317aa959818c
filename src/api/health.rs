//! Liveness and readiness probes.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// `GET /healthz`: the process is alive. Never touches the store.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "The process is alive",
    responses(
        (status = 200, description = "Alive", body = Object, headers(("x-request-id" = String, description = "The request id"))),
    )
)]
pub async fn healthz() -> ([(HeaderName, HeaderValue); 1], &'static str) {
    // The answer never changes: written once, not serialized per call.
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        r#"{"status":"ok"}"#,
    )
}

/// `GET /readyz`: not shutting down, the key ring is loaded and the store
/// answers; `503 draining`, `503 keys_unavailable` or
/// `503 store_unavailable` otherwise.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Ready: keys loaded, store reachable, not draining",
    responses(
        (status = 200, description = "Ready", body = Object, headers(("x-request-id" = String, description = "The request id"))),
        (status = 503, description = "Not ready (draining, keys_unavailable or store_unavailable)", body = crate::api::openapi::ErrorEnvelope),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if state.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(ApiError::new(
            crate::error::ErrorCode::Draining,
            "shutting down: finishing the requests in flight",
        ));
    }
    let keys = state.keys.loaded()?;
    state.store.ping().await?;
    let (active, _) = keys.active();
    Ok(Json(json!({
        "status": "ready",
        "active_kid": active.kid.as_str(),
        "keys": keys.keyset().len(),
    })))
}
