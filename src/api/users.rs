//! `GET /api/users?limit=&cursor=`: the admin listing of groups, without
//! tokens, in `team_id` order, a page at a time.
//!
//! The cursor is the last `team_id` of the previous page, so a full walk
//! sees every group that existed when it began exactly once, however many
//! are created meanwhile. `next_cursor` is `null` on the last page, even
//! when that page is exactly full.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::{Value, json};

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;

use super::Admin;
use crate::domain::{GroupRecord, TeamId};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::export_page;

/// Page size when none is asked for.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest page.
pub const MAX_LIMIT: usize = 1000;

/// The query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

/// The handler.
#[utoipa::path(
    get,
    path = "/api/users",
    tag = "api",
    summary = "List groups in team_id order (no tokens)",
    params(("limit" = Option<String>, Query, description = "1 to 1000"), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "A page", body = crate::api::openapi::Answer, headers(("x-request-id" = String, description = "The request id"))),
        (status = 400, description = "A bad limit or cursor", body = crate::api::openapi::ErrorEnvelope),
        crate::api::openapi::AdminErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query
        .map_err(|_| ApiError::invalid_request("unknown query parameter; use limit and cursor"))?;
    let limit = super::extract::page_limit(query.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<u64>()
                .ok()
                .and_then(|n| TeamId::new(n).ok())
                .ok_or_else(|| {
                    ApiError::invalid_request("malformed cursor").with_field("cursor")
                })?,
        ),
    };
    // One more than the page tells whether another page follows, so the
    // last page says so even when it is exactly full.
    let mut groups = state.store.list(after, limit + 1).await?;
    let more = groups.len() > limit;
    groups.truncate(limit);
    let next_cursor = more
        .then(|| groups.last().map(|g| g.team_id.get().to_string()))
        .flatten();
    Ok(Json(json!({
        "success": 1,
        "user_groups": groups.iter().map(listed).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
    })))
}

/// `GET /api/users/export`: every group as JSON Lines (the format of
/// `tessera export`, which `tessera import` reads), streamed a page at a
/// time, so a running service can be backed up. A store failure part-way
/// ends the response without its final chunk: clients see a broken
/// transfer, never a short file that looks whole.
#[utoipa::path(
    get,
    path = "/api/users/export",
    tag = "api",
    summary = "Every group as JSON Lines, streamed",
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "JSON Lines", body = String, content_type = "application/jsonl", headers(("x-request-id" = String, description = "The request id"))),
        crate::api::openapi::AdminErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn export_users(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Response, ApiError> {
    // The first page before the answer starts, so an outage is a clean 503.
    let (first, _, next) = export_page(state.store.as_ref(), None).await?;
    let store = state.store.clone();
    let rest = futures::stream::unfold(next, move |after| {
        let store = store.clone();
        async move {
            let after = after?;
            match export_page(store.as_ref(), Some(after)).await {
                Ok((lines, _, next)) => Some((Ok(Bytes::from(lines)), next)),
                Err(err) => {
                    tracing::warn!(%err, "online export stopped part-way");
                    Some((Err(std::io::Error::other(err.to_string())), None))
                }
            }
        }
    });
    let body = futures::stream::once(async move { Ok(Bytes::from(first)) }).chain(rest);
    Ok((
        [(header::CONTENT_TYPE, "application/jsonl")],
        Body::from_stream(body),
    )
        .into_response())
}

fn listed(group: &GroupRecord) -> Value {
    json!({
        "team_id": group.team_id.get(),
        "provided_id": group.provided_id.as_str(),
        "name": group.name.as_str(),
        "mapping": group.mapping.entries(),
        "properties": group.properties.as_ref().map(|p| p.as_map()),
        "gen": group.r#gen,
        "created_at": group.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "updated_at": group.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    })
}
