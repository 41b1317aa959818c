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

use crate::api::Admin;
use crate::domain::GroupId;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// `DELETE /api/user/{user_group_id}`.
#[tracing::instrument(skip_all)]
pub async fn delete_user(
    State(state): State<AppState>,
    _admin: Admin,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = group_id(path)?;
    if !state.store.delete(&id).await? {
        return Err(unknown_group());
    }
    tracing::info!("user group deleted");
    Ok(Json(
        json!({"success": 1, "deleted": true, "provided_id": id.as_str()}),
    ))
}

/// `POST /api/user/{user_group_id}/revoke`.
#[tracing::instrument(skip_all)]
pub async fn revoke_user(
    State(state): State<AppState>,
    _admin: Admin,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = group_id(path)?;
    let record = state
        .store
        .bump_gen(&id, state.clock.now())
        .await?
        .ok_or_else(unknown_group)?;
    tracing::info!(team_id = %record.team_id, r#gen = record.r#gen, "user group tokens revoked");
    Ok(Json(json!({
        "success": 1,
        "user_group": {
            "team_id": record.team_id.get(),
            "provided_id": record.provided_id.as_str(),
            "gen": record.r#gen,
        }
    })))
}

fn group_id(path: Result<Path<String>, PathRejection>) -> Result<GroupId, ApiError> {
    let Path(raw) =
        path.map_err(|_| ApiError::invalid_request("malformed user_group_id in the path"))?;
    Ok(GroupId::parse(raw)?)
}

fn unknown_group() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no user group with this user_group_id")
}
