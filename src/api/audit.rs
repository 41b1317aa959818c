//! `GET /api/user/{user_group_id}/audit?limit=&cursor=` (admin): a group's
//! audit trail, newest first, with its successful verifications per hour;
//! and the recording of refusals, shared by the verify and refresh routes.
//!
//! Paging is stable: `next_cursor` names the oldest event returned (null
//! on the last page), and the next page holds only older events, whatever
//! is recorded meanwhile. The
//! trail of a deleted group stays readable (its deletion is in it).

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_verify::signed_claims;

use super::Admin;
use super::CallerOf;
use crate::audit::{AuditEvent, AuditKind, entry_json, hour_text};
use crate::domain::GroupId;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::store::FeedCursor;

/// The most events one answer holds.
pub const MAX_AUDIT_PAGE: usize = 1000;
/// The hours of verification counts an answer shows (a week).
const HOURS_SHOWN: usize = 7 * 24;

/// The query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

/// The handler.
#[utoipa::path(
    get,
    path = "/api/user/{user_group_id}/audit",
    tag = "api",
    summary = "A group's audit trail, newest first, and its verifications per hour",
    params(
        ("user_group_id" = String, Path, description = "The group"),
        ("limit" = Option<String>, Query, description = "1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "One page of events", body = crate::api::openapi::AuditAnswer, headers(("x-request-id" = String, description = "The request id"))),
        (status = 400, description = "A bad id, limit or cursor", body = crate::api::openapi::ErrorEnvelope),
        (status = 404, description = "No such group and no trail", body = crate::api::openapi::ErrorEnvelope),
        crate::api::openapi::AdminErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn audit_trail(
    State(state): State<AppState>,
    _admin: Admin,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(raw) =
        path.map_err(|_| ApiError::invalid_request("malformed user_group_id in the path"))?;
    let id = GroupId::parse(raw)?;
    let Query(query) = query
        .map_err(|_| ApiError::invalid_request("unknown query parameter; use limit and cursor"))?;
    let limit = super::extract::page_limit(query.limit.as_deref(), 100, MAX_AUDIT_PAGE)?;
    let cursor =
        match query.cursor.as_deref() {
            None | Some("") => None,
            Some(text) => Some(FeedCursor::parse(text).ok_or_else(|| {
                ApiError::invalid_request("malformed cursor").with_field("cursor")
            })?),
        };
    // This instance's pending counts first, so the answer includes them.
    state.audit.settle().await;
    // One more than asked, to know whether another page follows.
    let mut entries = state.store.audit_events(&id, cursor, limit + 1).await?;
    let more = entries.len() > limit;
    entries.truncate(limit);
    if entries.is_empty() && cursor.is_none() && state.store.get(&id).await?.is_none() {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "no user group with this user_group_id, and no audit trail",
        ));
    }
    let hours = state.store.verification_counts(&id, HOURS_SHOWN).await?;
    let next_cursor = more
        .then(|| entries.last().map(|entry| entry.cursor.to_string()))
        .flatten();
    Ok(Json(json!({
        "success": 1,
        "user_group_id": id.as_str(),
        "events": entries.iter().map(|entry| entry_json(&id, entry)).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
        "verifications": hours
            .iter()
            .map(|(hour, count)| json!({"hour": hour_text(*hour), "count": count}))
            .collect::<Vec<_>>(),
    })))
}

/// Records the refusal of `token` (`err`) in its group's trail when the
/// token is one of this service's (its signature verifies) and its group
/// exists. A forged token's claims name whatever the forger wrote, so it
/// is never recorded against a group. Past 1 refusal a second (30 at
/// once) for one group, refusals are only counted in the metrics, so that
/// nobody can flood a trail.
pub async fn record_refusal(
    state: &AppState,
    caller: &CallerOf,
    token: &str,
    err: &ApiError,
    kind: AuditKind,
) {
    const AFTER_THE_SIGNATURE: [ErrorCode; 6] = [
        ErrorCode::TokenExpired,
        ErrorCode::TokenNotYetValid,
        ErrorCode::TokenClaimsInvalid,
        ErrorCode::TokenRevoked,
        ErrorCode::TokenOriginMismatch,
        ErrorCode::SessionExpired,
    ];
    if !state.audit.enabled() || !AFTER_THE_SIGNATURE.contains(&err.code) {
        return;
    }
    let Ok(keys) = state.keys.loaded() else {
        return;
    };
    let Ok(claims) = signed_claims(keys.keyset(), token) else {
        return;
    };
    if !state.audit.admit_refusal(&claims.sub) {
        state.metrics.audit_refusal_not_itemized();
        return;
    }
    let Ok(Some(record)) = state.store.get(&claims.sub).await else {
        return;
    };
    let event = AuditEvent::new(
        kind,
        state.clock.now(),
        record.team_id.get(),
        &caller.caller(),
    )
    .of_token(&claims.jti, claims.sid.as_ref())
    .with_code(err.code.as_str());
    state.audit.record(&claims.sub, event).await;
}
