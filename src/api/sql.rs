//! `POST /api/sql/resolve`: a dashboard query's `{{variables}}` become
//! bound parameters, with values taken only from the caller's verified
//! user-group token (never from the request body).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Map, Value, json};

use super::{JsonObject, bearer_token};
use crate::error::{ApiError, ErrorCode};
use crate::sql::{Dialect, resolve_requiring};
use crate::state::AppState;

const FIELDS: [&str; 3] = ["sql", "dialect", "require"];

/// The handler.
#[utoipa::path(
    post,
    path = "/api/sql/resolve",
    tag = "api",
    summary = "Bind a query's variables to the token's values",
    request_body = crate::api::openapi::SqlBody,
    security(("user_group_token" = [])),
    responses(
        (status = 200, description = "Resolved", body = crate::api::openapi::SqlAnswer, headers(("x-request-id" = String, description = "The request id"))),
        crate::api::openapi::BodyErrors,
        crate::api::openapi::TokenErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn resolve_sql(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Json<Value>, ApiError> {
    let token = bearer_token(&headers)?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::TokenMalformed,
            "send Authorization: Bearer <user-group token>",
        )
    })?;
    let claims = super::verify::verified_claims(&state, &token).await?;
    super::verify::check_origin(&claims, &headers)?;
    let (sql, dialect, require) = parse(&body)?;
    let resolved = resolve_requiring(sql, &claims.variables(), dialect, &require)?;
    Ok(Json(json!({
        "success": 1,
        "sql": resolved.sql,
        "params": resolved.params,
        "variables_used": resolved.variables_used,
    })))
}

fn parse(body: &Map<String, Value>) -> Result<(&str, Dialect, Vec<String>), ApiError> {
    if let Some(unknown) = body.keys().find(|key| !FIELDS.contains(&key.as_str())) {
        return Err(ApiError::invalid_request(format!(
            "unknown field; expected one of {}",
            FIELDS.join(", ")
        ))
        .with_field(unknown.as_str()));
    }
    let sql = body
        .get("sql")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_request("sql must be a string").with_field("sql"))?;
    let dialect = body
        .get("dialect")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_request("dialect is required").with_field("dialect"))?
        .parse::<Dialect>()
        .map_err(|err| ApiError::invalid_request(err.reason).with_field("dialect"))?;
    let require = match body.get("require") {
        None => Vec::new(),
        Some(Value::Array(names)) => names
            .iter()
            .map(|name| name.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                ApiError::invalid_request("require must be an array of variable names")
                    .with_field("require")
            })?,
        Some(_) => {
            return Err(
                ApiError::invalid_request("require must be an array of variable names")
                    .with_field("require"),
            );
        }
    };
    Ok((sql, dialect, require))
}
