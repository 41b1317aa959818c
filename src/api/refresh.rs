//! `POST /api/token/refresh`: a new token for the same group and viewing
//! session, with the group's current name, mapping and properties.
//!
//! The presented token must pass the full verification (signature, claims,
//! and the group still current in the store); it may have expired by at
//! most `--refresh-grace`. The new token keeps `sid` and `sst`, gets a new
//! `jti`, and never outlives the session: `exp = min(now + token lifetime,
//! sst + --max-session)`; past that, `401 session_expired`. No admin key:
//! whoever holds a valid token of the session may extend it.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse as _, Response};

use super::audit::record_refusal;
use super::verified_body::VerifiedBody;
use super::verify::presented_token;
use super::{CallerOf, MaybeJsonObject};
use crate::audit::{AuditEvent, AuditKind};
use crate::error::ApiError;
use crate::state::AppState;
use crate::token::revocation::current_group;
use crate::token::{Claims, Session, TokenError, TokenIssuer, verify_with_grace};

/// The handler.
#[utoipa::path(
    post,
    path = "/api/token/refresh",
    tag = "api",
    summary = "A new token for the same session, with the group's current fields",
    request_body(content = Option<crate::api::openapi::TokenBody>, description = "Or send Authorization: Bearer"),
    security(("user_group_token" = [])),
    responses(
        (status = 200, description = "The verify answer plus the new token", body = crate::api::openapi::VerifyAnswer, headers(("x-request-id" = String, description = "The request id"))),
        crate::api::openapi::BodyErrors,
        crate::api::openapi::TokenErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn refresh_token(
    State(state): State<AppState>,
    caller: CallerOf,
    headers: HeaderMap,
    MaybeJsonObject(body): MaybeJsonObject,
) -> Result<Response, ApiError> {
    let token = presented_token(&headers, body.as_ref())?;
    match refreshed(&state, &headers, &token).await {
        Ok((claims, token)) => {
            let event = AuditEvent::new(
                AuditKind::Refreshed,
                state.clock.now(),
                claims.team_id.get(),
                &caller.caller(),
            )
            .of_token(&claims.jti, claims.sid.as_ref());
            state.audit.record(&claims.sub, event).await;
            Ok(Json(VerifiedBody::of(&claims).with_token(&token)).into_response())
        }
        Err(err) => {
            record_refusal(&state, &caller, &token, &err, AuditKind::RefreshFailed).await;
            Err(err)
        }
    }
}

/// The refresh itself: the new token's claims and the token.
async fn refreshed(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
) -> Result<(Claims, String), ApiError> {
    let now = state.clock.now();
    let keys = state.keys.loaded()?;
    let claims = verify_with_grace(
        keys.keyset(),
        &state.tokens.verify,
        token,
        now,
        state.tokens.refresh_grace,
    )?;
    super::verify::check_origin(&claims, headers)?;
    let (Some(sid), Some(sst)) = (claims.sid.clone(), claims.sst) else {
        return Err(TokenError::ClaimsInvalid(
            "this token was issued before sessions existed; get a new one from get-user".into(),
        )
        .into());
    };
    let max_session = i64::try_from(state.tokens.max_session.as_secs()).unwrap_or(i64::MAX);
    if sst.saturating_add(max_session) <= now.timestamp() {
        return Err(TokenError::SessionExpired.into());
    }
    // The group as stored now: still the token's group, not revoked, the
    // token and its session not denied.
    let record = current_group(state.store.as_ref(), &claims, now).await?;
    let session = Session {
        sid,
        sst,
        origins: claims.origins.clone(),
    };
    let issuer = TokenIssuer::new(&keys, &state.tokens);
    let issued = issuer.issue_in(&record, None, now, &session)?;
    let claims = issuer.claims(&record, &session, &issued.stamp).to_claims();
    state.metrics.token_issued(keys.active().0.alg.as_str());
    tracing::info!(team_id = %record.team_id, "token refreshed");
    Ok((claims, issued.token))
}
