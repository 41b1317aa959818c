//! The OpenAPI 3.1 description of the API, generated from the handlers'
//! `#[utoipa::path]` attributes and the schemas below, served at
//! `GET /openapi.json` and checked in as `docs/openapi.json` (a test fails
//! when they differ: regenerate with
//! `TESSERA_WRITE_OPENAPI=1 cargo test --test api openapi`).
//!
//! The schema types here describe the JSON the handlers write; they are
//! for the description only.

#![allow(dead_code)] // fields are read by the derive, not by code

use axum::Json;
use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error answer.
#[derive(ToSchema)]
pub struct ErrorEnvelope {
    /// Always 0.
    #[schema(value_type = i32, minimum = 0, maximum = 0)]
    success: u8,
    /// `false` on token rejections only.
    #[schema(nullable = false)]
    valid: Option<bool>,
    error: ErrorBody,
}

/// The error itself.
#[derive(ToSchema)]
pub struct ErrorBody {
    /// The stable code (the enum is filled in from the error table).
    #[schema(example = "invalid_request")]
    code: String,
    /// For the developer reading it; may change.
    message: String,
    /// The request field at fault.
    #[schema(nullable = false)]
    field: Option<String>,
    /// The request's id (also in `x-request-id`).
    #[schema(nullable = false)]
    request_id: Option<String>,
}

/// The get-user request.
#[derive(ToSchema)]
pub struct GetUserBody {
    /// The customer's id (an integer becomes its decimal string).
    #[schema(value_type = Object)]
    user_group_id: Value,
    #[schema(nullable = false)]
    name: Option<String>,
    /// Schema id → data source id (string or integer).
    #[schema(value_type = Option<Object>)]
    mapping: Option<Value>,
    /// Variable name → value.
    #[schema(value_type = Option<Object>)]
    properties: Option<Value>,
    #[schema(nullable = false, minimum = 1)]
    expires_in: Option<u64>,
    /// Exact browser origins (at most 16) the token is bound to.
    #[schema(nullable = false)]
    allowed_origins: Option<Vec<String>>,
}

/// The get-user answer.
#[derive(ToSchema)]
pub struct GetUserAnswer {
    #[schema(value_type = i32)]
    success: u8,
    new_user_group: bool,
    user_group: UserGroupWithToken,
}

/// A group with its fresh token.
#[derive(ToSchema)]
pub struct UserGroupWithToken {
    team_id: u64,
    token: String,
    name: String,
    provided_id: String,
    #[schema(value_type = Object, nullable = true)]
    properties: Option<Value>,
    #[schema(value_type = Object)]
    mapping: Value,
    expires_at: String,
}

/// A token in the body (or send it as `Authorization: Bearer`).
#[derive(ToSchema)]
pub struct TokenBody {
    #[schema(nullable = false)]
    token: Option<String>,
}

/// What to revoke: `token` (with `scope` `token` or `session`), or
/// `user_group_id` with `jti` or `sid`.
#[derive(ToSchema)]
pub struct RevokeBody {
    /// A token signed by this service (it may have expired).
    #[schema(nullable = false)]
    token: Option<String>,
    /// With `token`: `token` (default) revokes its `jti`, `session` its
    /// whole viewing session.
    #[schema(nullable = false)]
    scope: Option<String>,
    /// With `jti` or `sid`: the group.
    #[schema(nullable = false)]
    user_group_id: Option<String>,
    /// One token's id.
    #[schema(nullable = false)]
    jti: Option<String>,
    /// One session's id.
    #[schema(nullable = false)]
    sid: Option<String>,
}

/// A revocation made.
#[derive(ToSchema)]
pub struct RevokeAnswer {
    #[schema(value_type = i32)]
    success: u8,
    revoked: RevokedEntry,
}

/// The deny-list entry: the group, the `jti` or `sid`, and when the entry
/// goes (nothing it covers can be valid by then).
#[derive(ToSchema)]
pub struct RevokedEntry {
    user_group_id: String,
    #[schema(value_type = i64)]
    team_id: u64,
    #[schema(nullable = false)]
    jti: Option<String>,
    #[schema(nullable = false)]
    sid: Option<String>,
    until: String,
}

/// One page of a group's audit trail.
#[derive(ToSchema)]
pub struct AuditAnswer {
    #[schema(value_type = i32)]
    success: u8,
    user_group_id: String,
    /// Newest first.
    events: Vec<AuditEventBody>,
    /// Pass as `cursor` for older events; null on the last page.
    next_cursor: Option<String>,
    /// Successful verifications per hour, newest first (a week at most).
    verifications: Vec<HourCountBody>,
}

/// One event of a group's audit trail. `event` is `created`, `issued`,
/// `refreshed`, `verify_failed`, `refresh_failed`, `group_revoked`,
/// `session_revoked`, `token_revoked` or `deleted`; the optional fields
/// appear when they apply.
#[derive(ToSchema)]
pub struct AuditEventBody {
    /// Its position (a cursor).
    id: String,
    user_group_id: String,
    /// When (RFC 3339, milliseconds).
    at: String,
    event: String,
    #[schema(value_type = i64)]
    team_id: u64,
    #[schema(nullable = false)]
    request_id: Option<String>,
    /// The admin key's name (`(operator)` for `TESSERA_API_KEY`).
    #[schema(nullable = false)]
    api_key: Option<String>,
    /// The client's address.
    #[schema(nullable = false)]
    client: Option<String>,
    #[schema(nullable = false)]
    origin: Option<String>,
    #[schema(nullable = false)]
    sid: Option<String>,
    #[schema(nullable = false)]
    jti: Option<String>,
    /// The error code of a refusal.
    #[schema(nullable = false)]
    code: Option<String>,
}

/// Successful verifications of one hour.
#[derive(ToSchema)]
pub struct HourCountBody {
    /// The hour's start (RFC 3339).
    hour: String,
    #[schema(value_type = i64)]
    count: u64,
}

/// A verified token.
#[derive(ToSchema)]
pub struct VerifyAnswer {
    #[schema(value_type = i32)]
    success: u8,
    valid: bool,
    #[schema(value_type = Object)]
    user_group: Value,
    #[schema(value_type = Object)]
    variables: Value,
    expires_at: String,
}

/// A query to resolve.
#[derive(ToSchema)]
pub struct SqlBody {
    sql: String,
    /// `postgres`, `mysql` or `sqlite`.
    dialect: String,
    #[schema(nullable = false)]
    require: Option<Vec<String>>,
}

/// A resolved query.
#[derive(ToSchema)]
pub struct SqlAnswer {
    #[schema(value_type = i32)]
    success: u8,
    sql: String,
    #[schema(value_type = Vec<Object>)]
    params: Vec<Value>,
    variables_used: Vec<String>,
}

/// Any success answer whose fields the API page lists.
#[derive(ToSchema)]
pub struct Answer {
    #[schema(value_type = i32)]
    success: u8,
}

/// A new key.
#[derive(ToSchema)]
pub struct NewKeyBody {
    #[schema(nullable = false)]
    alg: Option<String>,
    #[schema(nullable = false)]
    activate: Option<bool>,
}

/// The refusals of every admin route.
#[derive(utoipa::IntoResponses)]
pub enum AdminErrors {
    /// No, malformed, unknown or revoked API key.
    #[response(status = 401, headers(("WWW-Authenticate" = String, description = "The scheme to use")))]
    Unauthorized(ErrorEnvelope),
    /// A renderer key on an admin route.
    #[response(status = 403)]
    Forbidden(ErrorEnvelope),
    /// Rate limited (per API key).
    #[response(status = 429, headers(
        ("Retry-After" = String, description = "Seconds to wait"),
        ("RateLimit-Limit" = String, description = "The burst allowed"),
        ("RateLimit-Remaining" = String, description = "0"),
        ("RateLimit-Reset" = String, description = "Seconds until a request is admitted"),
    ))]
    RateLimited(ErrorEnvelope),
    /// The store or the key ring is unavailable.
    #[response(status = 503, headers(("Retry-After" = String, description = "Seconds to wait")))]
    Unavailable(ErrorEnvelope),
}

/// The refusals of a change to one key.
#[derive(utoipa::IntoResponses)]
pub enum KeyChangeErrors {
    /// A malformed kid.
    #[response(status = 400)]
    Malformed(ErrorEnvelope),
    /// No such key.
    #[response(status = 404)]
    Unknown(ErrorEnvelope),
    /// The change contradicts the key's state (activating a retired key,
    /// retiring the active one).
    #[response(status = 409)]
    Conflict(ErrorEnvelope),
}

/// The refusals of a request body.
#[derive(utoipa::IntoResponses)]
pub enum BodyErrors {
    /// Malformed or invalid JSON, or a field breaking its rule.
    #[response(status = 400)]
    Invalid(ErrorEnvelope),
    /// Over 64 KiB (or, for SQL, resolving to too much).
    #[response(status = 413)]
    TooLarge(ErrorEnvelope),
    /// Not JSON.
    #[response(status = 415)]
    NotJson(ErrorEnvelope),
}

/// The refusals of a route that takes a user-group token.
#[derive(utoipa::IntoResponses)]
pub enum TokenErrors {
    /// The token is refused (a `token_*` code).
    #[response(status = 401, headers(("WWW-Authenticate" = String, description = "Bearer error=\"invalid_token\"")))]
    Refused(ErrorEnvelope),
    /// The token is bound to other origins than the request's `Origin`.
    #[response(status = 403)]
    OriginMismatch(ErrorEnvelope),
    /// Rate limited (per client address).
    #[response(status = 429, headers(
        ("Retry-After" = String, description = "Seconds to wait"),
        ("RateLimit-Limit" = String, description = "The burst allowed"),
        ("RateLimit-Remaining" = String, description = "0"),
        ("RateLimit-Reset" = String, description = "Seconds until a request is admitted"),
    ))]
    RateLimited(ErrorEnvelope),
    /// The store or the keys are unavailable.
    #[response(status = 503, headers(("Retry-After" = String, description = "Seconds to wait")))]
    Unavailable(ErrorEnvelope),
}

/// The two ways in (an admin API key and a user-group token), and every
/// error code, taken from the one error table.
struct Extras;

impl Modify for Extras {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
        let components = openapi.components.get_or_insert_with(Default::default);
        if let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut("ErrorBody") {
            let codes = crate::error::ErrorCode::ALL
                .iter()
                .map(|code| code.as_str());
            body.properties.insert(
                "code".to_owned(),
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("The stable code"))
                    .enum_values(Some(codes))
                    .into(),
            );
        }
        components.add_security_scheme(
            "admin_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Token <API key>` (or `Bearer <API key>`)",
            ))),
        );
        components.add_security_scheme(
            "user_group_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera", description = "User-group tokens for embedded analytics dashboards"),
    paths(
        super::user::get_user,
        super::user::admin::delete_user,
        super::user::admin::revoke_user,
        super::users::list_users,
        super::users::export_users,
        super::verify::verify_token,
        super::refresh::refresh_token,
        super::revoke::revoke_token,
        super::audit::audit_trail,
        super::sql::resolve_sql,
        super::jwks::jwks,
        super::keys::list_keys,
        super::keys::create_key,
        super::keys::activate_key,
        super::keys::retire_key,
        super::revocations::revocations,
        super::health::healthz,
        super::health::readyz,
        super::metrics::metrics,
        openapi_json,
    ),
    components(schemas(ErrorEnvelope, ErrorBody)),
    modifiers(&Extras)
)]
pub struct ApiDoc;

/// `GET /openapi.json`: this description.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 description", body = Object)))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
