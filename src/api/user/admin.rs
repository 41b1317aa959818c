//! `DELETE /api/user/{user_group_id}` and
//! `POST /api/user/{user_group_id}/revoke`: end every token of a group.
//!
//! Delete removes the group (its `team_id` is never reused, so a group
//! created again under the same id gets a new one and the old tokens stay
//! invalid); revoke keeps the group and bumps its `gen`.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::api::{Admin, CallerOf};
use crate::audit::{AuditEvent, AuditKind};
use crate::domain::{GroupId, GroupRecord};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use tessera_verify::feed::{Revocation, RevocationKind};

/// `DELETE /api/user/{user_group_id}`.
#[utoipa::path(
    delete,
    path = "/api/user/{user_group_id}",
    tag = "api",
    summary = "Delete a group; its tokens stop verifying",
    params(("user_group_id" = String, Path, description = "The group")),
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "Deleted", body = crate::api::openapi::Answer, headers(("x-request-id" = String, description = "The request id"))),
        (status = 400, description = "Malformed id", body = crate::api::openapi::ErrorEnvelope),
        (status = 404, description = "No such group", body = crate::api::openapi::ErrorEnvelope),
        crate::api::openapi::AdminErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn delete_user(
    State(state): State<AppState>,
    admin: Admin,
    caller: CallerOf,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = group_id(path)?;
    let current = state.store.get(&id).await?.ok_or_else(unknown_group)?;
    // Announced first: a failure after it can only over-announce.
    announce(&state, &current, RevocationKind::Deleted).await?;
    if !state.store.delete(&id).await? {
        return Err(unknown_group());
    }
    tracing::info!("user group deleted");
    let caller = caller.admin(admin.key_name.as_ref());
    let event = AuditEvent::new(
        AuditKind::Deleted,
        state.clock.now(),
        current.team_id.get(),
        &caller,
    );
    state.audit.record(&id, event).await;
    Ok(Json(
        json!({"success": 1, "deleted": true, "provided_id": id.as_str()}),
    ))
}

/// `POST /api/user/{user_group_id}/revoke`.
#[utoipa::path(
    post,
    path = "/api/user/{user_group_id}/revoke",
    tag = "api",
    summary = "Revoke every earlier token of a group",
    params(("user_group_id" = String, Path, description = "The group")),
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "Revoked", body = crate::api::openapi::Answer, headers(("x-request-id" = String, description = "The request id"))),
        (status = 400, description = "Malformed id", body = crate::api::openapi::ErrorEnvelope),
        (status = 404, description = "No such group", body = crate::api::openapi::ErrorEnvelope),
        crate::api::openapi::AdminErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn revoke_user(
    State(state): State<AppState>,
    admin: Admin,
    caller: CallerOf,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = group_id(path)?;
    let current = state.store.get(&id).await?.ok_or_else(unknown_group)?;
    let below_gen = current.r#gen.saturating_add(1);
    announce(&state, &current, RevocationKind::Revoked { below_gen }).await?;
    let record = state
        .store
        .bump_gen(&id, state.clock.now())
        .await?
        .ok_or_else(unknown_group)?;
    if record.r#gen > below_gen || record.team_id != current.team_id {
        // Another revoke (or a re-creation) came in between: announce
        // what the store now holds too.
        let below_gen = record.r#gen;
        announce(&state, &record, RevocationKind::Revoked { below_gen }).await?;
    }
    tracing::info!(team_id = %record.team_id, r#gen = record.r#gen, "user group tokens revoked");
    let caller = caller.admin(admin.key_name.as_ref());
    let event = AuditEvent::new(
        AuditKind::GroupRevoked,
        state.clock.now(),
        record.team_id.get(),
        &caller,
    );
    state.audit.record(&id, event).await;
    Ok(Json(json!({
        "success": 1,
        "user_group": {
            "team_id": record.team_id.get(),
            "provided_id": record.provided_id.as_str(),
            "gen": record.r#gen,
        }
    })))
}

/// Appends the revocation of `record`'s tokens to the revocation feed.
pub(crate) async fn announce(
    state: &AppState,
    record: &GroupRecord,
    kind: RevocationKind,
) -> Result<(), ApiError> {
    let revocation = Revocation {
        user_group_id: record.provided_id.clone(),
        team_id: record.team_id.get(),
        kind,
    };
    state
        .store
        .record_revocation(
            &revocation,
            state.clock.now(),
            state.tokens.revocation_retention(),
        )
        .await?;
    Ok(())
}

fn group_id(path: Result<Path<String>, PathRejection>) -> Result<GroupId, ApiError> {
    let Path(raw) =
        path.map_err(|_| ApiError::invalid_request("malformed user_group_id in the path"))?;
    Ok(GroupId::parse(raw)?)
}

fn unknown_group() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no user group with this user_group_id")
}
