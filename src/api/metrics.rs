//! `GET /metrics` (or the same on `--metrics-listen`): the Prometheus text
//! exposition; and what every request goes through, in one layer: its id
//! (see [`super::request_id`]), its count and time by route template, and a
//! `debug` log line for its answer.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::metrics::{Route, method_label};
use crate::state::AppState;
use crate::token::KeyState;

/// The one layer of every route: the request id, then the answer counted
/// and timed under its route template, and logged at `debug` level (with
/// its request id; nothing of the request's content).
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .cloned()
        .map_or(Route::Unmatched, Route::Matched);
    let method = method_label(request.method());
    let response = super::request_id::serve_with_id(request, next).await;
    let took = start.elapsed();
    let status = response.status().as_u16();
    tracing::debug!(
        request_id = response
            .headers()
            .get(&super::request_id::REQUEST_ID_HEADER)
            .and_then(|id| id.to_str().ok()),
        route = route.as_str(),
        method,
        status,
        micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
        "answered"
    );
    state.metrics.http(route, method, status, took);
    response
}

/// The handler.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    responses(
        (status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text", headers(("x-request-id" = String, description = "The request id"))),
        (status = 500, description = "Encoding failed", body = crate::api::openapi::ErrorEnvelope),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    if let (Some(keys), Some(doc)) = (state.keys.current(), state.ring.installed_document()) {
        let created = keys.active().0.created_at;
        let age = (state.clock.now() - created).to_std().unwrap_or_default();
        let count = |wanted: KeyState| {
            let n = doc
                .keys
                .iter()
                .filter(|key| doc.state(key) == wanted)
                .count();
            i64::try_from(n).unwrap_or(i64::MAX)
        };
        state.metrics.key_ring(
            age,
            [
                ("published", count(KeyState::Published)),
                ("active", count(KeyState::Active)),
                ("retired", count(KeyState::Retired)),
            ],
        );
    }
    let text = state
        .metrics
        .render()
        .map_err(|err| ApiError::internal(&err))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}
