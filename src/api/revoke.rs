//! `POST /api/token/revoke` (admin): revoke one token or one viewing
//! session, leaving the group's other tokens valid.
//!
//! The body names what to revoke in one of three ways:
//! - `{"token": "..."}`, optionally with `"scope": "session"`: a token
//!   signed by one of this service's keys (it need not be valid any more);
//!   its `jti` is revoked, or with `scope: session` its whole session, which
//!   also ends every token refreshed from it;
//! - `{"user_group_id": "...", "jti": "..."}`: one token;
//! - `{"user_group_id": "...", "sid": "..."}`: one session.
//!
//! The entry goes on the group's deny-list, which `/api/verify`, refresh
//! and the middleware's store check read, and into the revocation feed; it
//! expires by itself once nothing it covers can be valid
//! ([`crate::token::TokenPolicy::denial_until`]).

use axum::Json;
use axum::extract::State;
use chrono::SecondsFormat;
use serde_json::{Map, Value, json};
use tessera_verify::feed::Denial;
use tessera_verify::{SessionId, TokenId, signed_claims};

use super::extract::JsonObject;
use super::user::announce;
use super::{Admin, CallerOf};
use crate::audit::{AuditEvent, AuditKind};
use crate::domain::GroupId;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// What a revoke request names.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// A token, revoking its `jti` or (`session`) its `sid`.
    Token { token: String, session: bool },
    /// A token of a group, by `jti`.
    Jti(GroupId, TokenId),
    /// A session of a group, by `sid`.
    Sid(GroupId, SessionId),
}

/// The handler.
#[utoipa::path(
    post,
    path = "/api/token/revoke",
    tag = "api",
    summary = "Revoke one token or one viewing session",
    request_body(content = crate::api::openapi::RevokeBody),
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "Revoked until nothing it covers can be valid", body = crate::api::openapi::RevokeAnswer, headers(("x-request-id" = String, description = "The request id"))),
        crate::api::openapi::BodyErrors,
        (status = 404, description = "No such group", body = crate::api::openapi::ErrorEnvelope),
        crate::api::openapi::AdminErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn revoke_token(
    State(state): State<AppState>,
    admin: Admin,
    caller: CallerOf,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let now = state.clock.now();
    let (id, team_id, denial, expires_by) = match parse(&body)? {
        Target::Token { token, session } => {
            let keys = state.keys.loaded()?;
            let claims = signed_claims(keys.keyset(), &token).map_err(|err| {
                ApiError::invalid_request(format!(
                    "not a token signed by this service ({}): {err}",
                    ApiError::from(err.clone()).code.as_str()
                ))
                .with_field("token")
            })?;
            let (denial, expires_by) = if session {
                let (Some(sid), Some(sst)) = (claims.sid.clone(), claims.sst) else {
                    return Err(ApiError::invalid_request(
                        "this token was issued before sessions existed: revoke the token or its group",
                    )
                    .with_field("scope"));
                };
                let cap = i64::try_from(state.tokens.max_session.as_secs()).unwrap_or(i64::MAX);
                (Denial::Session(sid), Some(sst.saturating_add(cap)))
            } else {
                (Denial::Token(claims.jti.clone()), Some(claims.exp))
            };
            (claims.sub, Some(claims.team_id.get()), denial, expires_by)
        }
        Target::Jti(id, jti) => (id, None, Denial::Token(jti), None),
        Target::Sid(id, sid) => (id, None, Denial::Session(sid), None),
    };
    let record = state
        .store
        .get(&id)
        .await?
        .filter(|record| team_id.is_none_or(|team_id| record.team_id.get() == team_id))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                "no user group with this user_group_id (the token's group is gone, so its tokens are already invalid)",
            )
        })?;
    let until = state.tokens.denial_until(now, expires_by);
    // Announced first: a failure after it can only over-announce.
    announce(&state, &record, denial.revocation()).await?;
    state.store.deny(&id, &denial, until, now).await?;
    tracing::info!(team_id = %record.team_id, entry = %denial.label(), "token revoked");
    let caller = caller.admin(admin.key_name.as_ref());
    let mut event = AuditEvent::new(AuditKind::TokenRevoked, now, record.team_id.get(), &caller);
    match &denial {
        Denial::Token(jti) => event.jti = Some(jti.clone()),
        Denial::Session(sid) => {
            event.event = AuditKind::SessionRevoked;
            event.sid = Some(sid.clone());
        }
    }
    state.audit.record(&id, event).await;
    let mut revoked = json!({
        "user_group_id": id.as_str(),
        "team_id": record.team_id.get(),
        "until": until.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    match &denial {
        Denial::Token(jti) => revoked["jti"] = json!(jti.as_str()),
        Denial::Session(sid) => revoked["sid"] = json!(sid.as_str()),
    }
    Ok(Json(json!({"success": 1, "revoked": revoked})))
}

/// Reads the body as exactly one of the three forms.
fn parse(body: &Map<String, Value>) -> Result<Target, ApiError> {
    const FIELDS: [&str; 5] = ["token", "scope", "user_group_id", "jti", "sid"];
    if let Some(unknown) = body.keys().find(|key| !FIELDS.contains(&key.as_str())) {
        return Err(ApiError::invalid_request(
            "unknown field; expected token (and scope), or user_group_id with jti or sid",
        )
        .with_field(unknown.as_str()));
    }
    let text = |name: &str| match body.get(name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.as_str())),
        Some(_) => {
            Err(ApiError::invalid_request(format!("{name} must be a string")).with_field(name))
        }
    };
    let field = |name: &'static str| {
        move |err: tessera_verify::ParseError| {
            ApiError::invalid_request(err.reason).with_field(name)
        }
    };
    match (
        text("token")?,
        text("user_group_id")?,
        text("jti")?,
        text("sid")?,
    ) {
        (Some(token), None, None, None) => {
            let session = match text("scope")? {
                None | Some("token") => false,
                Some("session") => true,
                Some(_) => {
                    return Err(
                        ApiError::invalid_request("scope is token or session").with_field("scope")
                    );
                }
            };
            Ok(Target::Token {
                token: token.to_owned(),
                session,
            })
        }
        (Some(_), ..) => Err(ApiError::invalid_request(
            "send either token, or user_group_id with jti or sid",
        )),
        (None, _, _, _) if body.contains_key("scope") => {
            Err(ApiError::invalid_request("scope goes with token only").with_field("scope"))
        }
        (None, Some(id), Some(jti), None) => Ok(Target::Jti(
            GroupId::parse(id)?,
            TokenId::parse(jti).map_err(field("jti"))?,
        )),
        (None, Some(id), None, Some(sid)) => Ok(Target::Sid(
            GroupId::parse(id)?,
            SessionId::parse(sid).map_err(field("sid"))?,
        )),
        (None, Some(_), Some(_), Some(_)) => {
            Err(ApiError::invalid_request("send jti or sid, not both"))
        }
        (None, Some(_), None, None) => Err(ApiError::invalid_request(
            "name the token (jti) or session (sid) to revoke; to revoke every token of the group use POST /api/user/{user_group_id}/revoke",
        )),
        (None, None, _, _) => Err(ApiError::invalid_request(
            "send token, or user_group_id with jti or sid",
        )
        .with_field("user_group_id")),
    }
}

#[cfg(test)]
mod tests {
    use super::{Target, parse};
    use serde_json::{Value, json};

    fn body(value: Value) -> serde_json::Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }

    #[test]
    fn the_three_forms_and_their_refusals() {
        let sid = "AAAAAAAAAAAAAAAAAAAAAA";
        assert!(matches!(
            parse(&body(json!({"token": "t"}))),
            Ok(Target::Token { session: false, .. })
        ));
        assert!(matches!(
            parse(&body(json!({"token": "t", "scope": "session"}))),
            Ok(Target::Token { session: true, .. })
        ));
        assert!(matches!(
            parse(&body(json!({"user_group_id": "g", "jti": sid}))),
            Ok(Target::Jti(..))
        ));
        assert!(matches!(
            parse(&body(json!({"user_group_id": "g", "sid": sid}))),
            Ok(Target::Sid(..))
        ));
        for (bad, field) in [
            (json!({}), Some("user_group_id")),
            (json!({"token": 1}), Some("token")),
            (json!({"token": "t", "scope": "group"}), Some("scope")),
            (json!({"token": "t", "jti": sid}), None),
            (
                json!({"user_group_id": "g", "scope": "session", "sid": sid}),
                Some("scope"),
            ),
            (json!({"user_group_id": "g", "jti": sid, "sid": sid}), None),
            (json!({"user_group_id": "g"}), None),
            (json!({"user_group_id": "g", "jti": "short"}), Some("jti")),
            (
                json!({"user_group_id": "g", "sid": "no spaces allowed here"}),
                Some("sid"),
            ),
            (
                json!({"user_group_id": "", "sid": sid}),
                Some("user_group_id"),
            ),
            (
                json!({"user_group_id": "g", "sid": sid, "why": "x"}),
                Some("why"),
            ),
        ] {
            let err = parse(&body(bad.clone()))
                .err()
                .unwrap_or_else(|| panic!("{bad} was accepted"));
            assert_eq!(err.code.as_str(), "invalid_request", "{bad}");
            assert_eq!(err.field.as_deref(), field, "{bad}");
        }
    }
}
