//! `GET|POST /api/user`: get or create a user group and return a freshly
//! signed token for it (the seed's "Get User").

mod admin;
mod request;
mod response;

use axum::Json;
use axum::extract::State;

use super::{Admin, JsonObject};
use crate::error::ApiError;
use crate::state::AppState;
use crate::token::TokenIssuer;

pub use admin::{delete_user, revoke_user};
pub use request::GetUserRequest;
pub use response::GetUserResponse;

/// The handler: authenticate, parse, get-or-create, sign.
#[tracing::instrument(skip_all)]
pub async fn get_user(
    State(state): State<AppState>,
    _admin: Admin,
    JsonObject(body): JsonObject,
) -> Result<Json<GetUserResponse>, ApiError> {
    let request = GetUserRequest::parse(&body, state.tokens.verify.max_ttl)?;
    let now = state.clock.now();
    let outcome = state.store.upsert(&request.group, now).await?;
    let keys = state.keys.loaded()?;
    let issued =
        TokenIssuer::new(&keys, &state.tokens).issue(&outcome.record, request.expires_in, now)?;
    state.metrics.token_issued(keys.active().0.alg.as_str());
    if outcome.created {
        state.metrics.group_created();
    }
    tracing::info!(
        team_id = %outcome.record.team_id,
        created = outcome.created,
        "user group token issued"
    );
    Ok(Json(GetUserResponse::new(&outcome, issued)))
}
