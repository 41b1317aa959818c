//! `POST /api/verify`: is this user-group token valid, and whose is it?
//!
//! The token comes as `Authorization: Bearer <token>` or in the body as
//! `{"token": "..."}`. The answer is `200` with the group and its variables,
//! or `401` with the specific `token_*` code. By default the store is asked
//! too (the group exists and the token's generation is current); when that
//! check is needed and the store is down, the answer is `503`, never a pass.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::{Map, Value};

use super::audit::record_refusal;
use super::verified_body::VerifiedBody;
use super::{CallerOf, MaybeJsonObject};
use crate::audit::AuditKind;
use tessera_verify::authorization::{self, Scheme};

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::token::revocation::check_current;
use crate::token::{Claims, NoKeys, verify};

/// The handler.
#[utoipa::path(
    post,
    path = "/api/verify",
    tag = "api",
    summary = "Verify a user-group token (bearer or body)",
    request_body(content = Option<crate::api::openapi::TokenBody>, description = "Or send Authorization: Bearer"),
    security(("user_group_token" = [])),
    responses(
        (status = 200, description = "Valid", body = crate::api::openapi::VerifyAnswer, headers(("x-request-id" = String, description = "The request id"))),
        crate::api::openapi::BodyErrors,
        crate::api::openapi::TokenErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn verify_token(
    State(state): State<AppState>,
    caller: CallerOf,
    headers: HeaderMap,
    MaybeJsonObject(body): MaybeJsonObject,
) -> Result<Response, ApiError> {
    let token = presented_token(&headers, body.as_ref())?;
    let verified = match verified_claims(&state, &token).await {
        Ok(claims) => check_origin(&claims, &headers).map(|()| claims),
        Err(err) => Err(err),
    };
    let outcome = verified
        .as_ref()
        .map_or_else(|err| err.code.as_str(), |_| "valid");
    state.metrics.verification("api", outcome);
    match verified {
        Ok(claims) => {
            state
                .audit
                .count_verification(&claims.sub, state.clock.now());
            Ok(Json(VerifiedBody::of(&claims)).into_response())
        }
        Err(err) => {
            record_refusal(&state, &caller, &token, &err, AuditKind::VerifyFailed).await;
            Err(err)
        }
    }
}

/// Verifies `token` with the service's keys and policy (or finds it
/// verified lately under the same keys), then, when the store check is on,
/// that its group still exists unrevoked and the token is not denied.
pub async fn verified_claims(state: &AppState, token: &str) -> Result<Arc<Claims>, ApiError> {
    let now = state.clock.now();
    let keys = state.keys.snapshot();
    let ring = keys.ring.as_ref().ok_or(NoKeys)?;
    let claims = match state.verified.get(token, now.timestamp(), keys.version) {
        Ok(claims) => claims,
        Err(miss) => {
            let claims = Arc::new(verify(ring.keyset(), &state.tokens.verify, token, now)?);
            state.verified.remember(
                miss,
                token.len(),
                claims.clone(),
                now.timestamp(),
                keys.version,
            );
            claims
        }
    };
    if state.verify_check_store {
        check_current(state.store.as_ref(), &claims, now).await?;
    }
    Ok(claims)
}

/// Refuses a token bound to origins when the request's `Origin` is not
/// one of them (`403 token_origin_mismatch`); a request without `Origin`
/// (a server) passes.
pub(crate) fn check_origin(claims: &Claims, headers: &HeaderMap) -> Result<(), ApiError> {
    let origin = headers
        .get(header::ORIGIN)
        .map(|value| value.to_str().unwrap_or("\u{fffd}"));
    if claims.admits_origin(origin) {
        Ok(())
    } else {
        Err(crate::token::TokenError::OriginMismatch.into())
    }
}

pub(crate) fn presented_token(
    headers: &HeaderMap,
    body: Option<&Map<String, Value>>,
) -> Result<String, ApiError> {
    let from_header = bearer_token(headers)?;
    let from_body = match body {
        None => None,
        Some(body) => {
            if let Some(unknown) = body.keys().find(|key| *key != "token") {
                return Err(ApiError::invalid_request("unknown field; expected token")
                    .with_field(unknown.as_str()));
            }
            match body.get("token") {
                None => None,
                Some(Value::String(token)) => Some(token.clone()),
                Some(_) => {
                    return Err(
                        ApiError::invalid_request("token must be a string").with_field("token")
                    );
                }
            }
        }
    };
    match (from_header, from_body) {
        (Some(a), Some(b)) if a != b => Err(ApiError::invalid_request(
            "the Authorization header and the body carry different tokens",
        )),
        (Some(token), _) | (None, Some(token)) => Ok(token),
        (None, None) => Err(ApiError::new(
            ErrorCode::TokenMalformed,
            "send the token as Authorization: Bearer <token> or {\"token\": \"...\"}",
        )),
    }
}

/// The token of an `Authorization: Bearer` header, if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    match authorization::parse(value.as_bytes()) {
        Ok(credential) if credential.scheme == Scheme::Bearer => {
            Ok(Some(credential.value.to_owned()))
        }
        _ => Err(ApiError::new(
            ErrorCode::TokenMalformed,
            "malformed Authorization header: use Bearer <token>",
        )),
    }
}
