//! `GET /api/revocations?since=&limit=`: the revocation feed, for renderers
//! that cannot reach the store. Any API key may read it; a renderer key
//! (`tessera api-keys create --scope renderer`) may read nothing else.
//!
//! Entries are kept for the longest token lifetime plus the leeway (after
//! that, nothing they cover can still be valid); a `since` cursor older
//! than that answers `410 cursor_expired`, and the reader starts again
//! without `since`.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::FeedReader;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::store::FeedCursor;

/// The most entries one answer holds.
pub const MAX_FEED_PAGE: usize = 1000;

/// The query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    since: Option<String>,
    limit: Option<String>,
}

/// The handler.
#[utoipa::path(
    get,
    path = "/api/revocations",
    tag = "api",
    summary = "The revocation feed (any API key; renderer keys read only this)",
    params(("since" = Option<String>, Query, description = "next_cursor of the previous read"), ("limit" = Option<String>, Query, description = "1 to 1000")),
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "Revocations after the cursor", body = crate::api::openapi::Answer, headers(("x-request-id" = String, description = "The request id"))),
        (status = 400, description = "A bad since or limit", body = crate::api::openapi::ErrorEnvelope),
        (status = 410, description = "The cursor is older than the feed keeps", body = crate::api::openapi::ErrorEnvelope),
        crate::api::openapi::AdminErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn revocations(
    State(state): State<AppState>,
    _reader: FeedReader,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query
        .map_err(|_| ApiError::invalid_request("unknown query parameter; use since and limit"))?;
    let limit = super::extract::page_limit(query.limit.as_deref(), MAX_FEED_PAGE, MAX_FEED_PAGE)?;
    let since = match query.since.as_deref() {
        None | Some("") => None,
        Some(text) => Some(FeedCursor::parse(text).ok_or_else(|| {
            ApiError::invalid_request("malformed since cursor").with_field("since")
        })?),
    };
    let retention = state.tokens.revocation_retention();
    if since.is_some_and(|cursor| cursor.expired(state.clock.now(), retention)) {
        return Err(ApiError::new(
            ErrorCode::CursorExpired,
            "this cursor is older than the feed keeps; read it again without since",
        ));
    }
    let entries = state.store.revocations(since, limit).await?;
    let next = entries.last().map(|entry| entry.cursor).or(since);
    let revocations: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let mut item = Map::new();
            item.insert("cursor".into(), json!(entry.cursor.to_string()));
            if let Ok(Value::Object(fields)) = serde_json::to_value(&entry.revocation) {
                item.extend(fields);
            }
            Value::Object(item)
        })
        .collect();
    Ok(Json(json!({
        "success": 1,
        "revocations": revocations,
        "next_cursor": next.map(|cursor| cursor.to_string()),
        "more": entries.len() == limit,
        "retention_seconds": retention.as_secs(),
    })))
}
