//! `GET|POST /api/user`: get or create a user group and return a freshly
//! signed token for it (the seed's "Get User").

pub(crate) mod admin;
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
#[utoipa::path(post, path = "/api/user", tag = "api", summary = "get or create a user group; answers a fresh token (GET with the same body works too)", request_body = crate::api::openapi::GetUserBody, security(("admin_key" = [])),
    responses((status = 200, description = "The group and its token", body = crate::api::openapi::GetUserAnswer, headers(("x-request-id" = String, description = "The request id"))), (status = 400, description = "Malformed or invalid body", body = crate::api::openapi::ErrorEnvelope), (status = 413, description = "Body over 64 KiB", body = crate::api::openapi::ErrorEnvelope), (status = 415, description = "Body not JSON", body = crate::api::openapi::ErrorEnvelope), (status = 401, description = "No, malformed, unknown or revoked API key", body = crate::api::openapi::ErrorEnvelope, headers(("WWW-Authenticate" = String, description = "The scheme to use"))), (status = 403, description = "A renderer key on an admin route", body = crate::api::openapi::ErrorEnvelope), (status = 429, description = "Rate limited", body = crate::api::openapi::ErrorEnvelope, headers(("Retry-After" = String, description = "Seconds to wait"), ("RateLimit-Limit" = String, description = "The burst allowed"), ("RateLimit-Remaining" = String, description = "0"), ("RateLimit-Reset" = String, description = "Seconds until a request is admitted"))), (status = 503, description = "The store (or the key ring) is unavailable", body = crate::api::openapi::ErrorEnvelope, headers(("Retry-After" = String, description = "Seconds to wait")))))]
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
