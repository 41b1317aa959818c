//! `GET|POST /api/user`: get or create a user group and return a freshly
//! signed token for it (the seed's "Get User").

pub(crate) mod admin;
mod request;
mod response;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse as _, Response};

use super::{Admin, CallerOf, JsonObject};
use crate::audit::{AuditEvent, AuditKind};
use crate::error::ApiError;
use crate::state::AppState;
use crate::token::{Session, TokenIssuer};

pub(crate) use admin::announce;
pub use admin::{delete_user, revoke_user};
pub use request::GetUserRequest;
pub use response::GetUserResponse;

/// The handler: authenticate, parse, get-or-create, sign.
#[utoipa::path(
    post,
    path = "/api/user",
    tag = "api",
    summary = "Get or create a user group and sign a fresh token (GET with the same body works too)",
    request_body = crate::api::openapi::GetUserBody,
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "The group and its token", body = crate::api::openapi::GetUserAnswer, headers(("x-request-id" = String, description = "The request id"))),
        crate::api::openapi::BodyErrors,
        crate::api::openapi::AdminErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn get_user(
    State(state): State<AppState>,
    admin: Admin,
    caller: CallerOf,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let request = GetUserRequest::parse(&body, state.tokens.verify.max_ttl)?;
    let now = state.clock.now();
    let outcome = state.store.upsert(&request.group, now).await?;
    let keys = state.keys.loaded()?;
    let mut session = Session::start(now)?;
    session.origins = request.allowed_origins;
    let issued = TokenIssuer::new(&keys, &state.tokens).issue_in(
        &outcome.record,
        request.expires_in,
        now,
        &session,
    )?;
    state.metrics.token_issued(keys.active().0.alg.as_str());
    if outcome.created {
        state.metrics.group_created();
    }
    tracing::info!(
        team_id = %outcome.record.team_id,
        created = outcome.created,
        "user group token issued"
    );
    let kind = if outcome.created {
        AuditKind::Created
    } else {
        AuditKind::Issued
    };
    let event = AuditEvent::new(
        kind,
        now,
        outcome.record.team_id.get(),
        &caller.admin(admin.key_name.as_ref()),
    )
    .of_token(&issued.stamp.jti, Some(&session.sid));
    state.audit.record(&outcome.record.provided_id, event).await;
    Ok(Json(GetUserResponse::new(&outcome, &issued)).into_response())
}
