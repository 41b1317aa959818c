//! The admin key-ring endpoints: `GET /api/keys`, `POST /api/keys`,
//! `POST /api/keys/{kid}/activate`, `POST /api/keys/{kid}/retire`.
//!
//! They change the ring in the store (by compare-and-set) and install it in
//! this instance at once; every other instance follows within about two
//! seconds. Answers list public facts only, never private material.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{Admin, MaybeJsonObject};
use crate::error::{ApiError, ErrorCode};
use crate::ring::KeyEntry;
use crate::state::AppState;
use crate::token::{KeyAlgorithm, RingChangeError, RingDocument};

/// `GET /api/keys`: every key with its state, oldest first.
#[utoipa::path(
    get,
    path = "/api/keys",
    tag = "api",
    summary = "The key ring",
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "Every key", body = crate::api::openapi::Answer, headers(("x-request-id" = String, description = "The request id"))),
        crate::api::openapi::AdminErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn list_keys(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Value>, ApiError> {
    let doc = state.ring.document().await?;
    Ok(Json(json!({"success": 1, "keys": KeyEntry::all(&doc)})))
}

/// What `POST /api/keys` asks for.
struct NewKey {
    alg: KeyAlgorithm,
    activate: bool,
}

impl NewKey {
    /// `{"alg": "EdDSA", "activate": false}`, both optional; nothing else.
    fn parse(body: Option<&Map<String, Value>>) -> Result<Self, ApiError> {
        let mut new = Self {
            alg: KeyAlgorithm::EdDSA,
            activate: false,
        };
        for (name, value) in body.into_iter().flatten() {
            match (name.as_str(), value) {
                ("alg", Value::String(alg)) => {
                    new.alg = alg.parse().map_err(|err: tessera_verify::ParseError| {
                        ApiError::invalid_request(format!("alg: {err}")).with_field("alg")
                    })?;
                }
                ("activate", Value::Bool(activate)) => new.activate = *activate,
                ("alg" | "activate", _) => {
                    return Err(ApiError::invalid_request(format!(
                        "{name} has the wrong type (alg: string, activate: boolean)"
                    ))
                    .with_field(name.clone()));
                }
                _ => {
                    return Err(ApiError::invalid_request(format!(
                        "unknown field {name:?} (allowed: alg, activate)"
                    ))
                    .with_field(name.clone()));
                }
            }
        }
        Ok(new)
    }
}

/// `POST /api/keys`: a new key, published (or active at once with
/// `"activate": true`); `201` with its entry.
#[utoipa::path(
    post,
    path = "/api/keys",
    tag = "api",
    summary = "Add a key (published, or active at once)",
    request_body(content = Option<crate::api::openapi::NewKeyBody>),
    security(("admin_key" = [])),
    responses(
        (status = 201, description = "The new key", body = crate::api::openapi::Answer, headers(("x-request-id" = String, description = "The request id"))),
        (status = 409, description = "The ring holds 32 verifying keys", body = crate::api::openapi::ErrorEnvelope),
        crate::api::openapi::BodyErrors,
        crate::api::openapi::AdminErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_key(
    State(state): State<AppState>,
    _admin: Admin,
    MaybeJsonObject(body): MaybeJsonObject,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let new = NewKey::parse(body.as_ref())?;
    let (doc, kid) = state
        .ring
        .change(|doc, kek, now| Ok(doc.add(new.alg, new.activate, now, kek)?))
        .await?;
    tracing::info!(%kid, alg = %new.alg, activate = new.activate, "signing key added");
    Ok((StatusCode::CREATED, Json(entry_body(&doc, kid.as_str())?)))
}

/// `POST /api/keys/{kid}/activate`: the key signs from now on.
#[utoipa::path(
    post,
    path = "/api/keys/{kid}/activate",
    tag = "api",
    summary = "Make a published key sign",
    params(("kid" = String, Path, description = "The key")),
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "The key", body = crate::api::openapi::Answer, headers(("x-request-id" = String, description = "The request id"))),
        crate::api::openapi::KeyChangeErrors,
        crate::api::openapi::AdminErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn activate_key(
    State(state): State<AppState>,
    _admin: Admin,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    change_key(
        &state,
        path,
        "signing key activated",
        RingDocument::activate,
    )
    .await
}

/// `POST /api/keys/{kid}/retire`: the key stops verifying; `409` for the
/// active key.
#[utoipa::path(
    post,
    path = "/api/keys/{kid}/retire",
    tag = "api",
    summary = "Retire a key",
    params(("kid" = String, Path, description = "The key")),
    security(("admin_key" = [])),
    responses(
        (status = 200, description = "The key", body = crate::api::openapi::Answer, headers(("x-request-id" = String, description = "The request id"))),
        crate::api::openapi::KeyChangeErrors,
        crate::api::openapi::AdminErrors,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn retire_key(
    State(state): State<AppState>,
    _admin: Admin,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    change_key(&state, path, "signing key retired", RingDocument::retire).await
}

/// Applies `change` to the key of the path; the key's entry afterwards.
async fn change_key(
    state: &AppState,
    path: Result<Path<String>, PathRejection>,
    done: &'static str,
    change: fn(&mut RingDocument, &str, DateTime<Utc>) -> Result<(), RingChangeError>,
) -> Result<Json<Value>, ApiError> {
    let kid = kid(path)?;
    let (doc, ()) = state
        .ring
        .change(|doc, _, now| Ok(change(doc, &kid, now)?))
        .await?;
    tracing::info!(%kid, "{done}");
    Ok(Json(entry_body(&doc, &kid)?))
}

fn kid(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(kid)| kid)
        .map_err(|_| ApiError::invalid_request("the key id in the path is not valid"))
}

fn entry_body(doc: &RingDocument, kid: &str) -> Result<Value, ApiError> {
    let entry = KeyEntry::find(doc, kid)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("no key {kid}")))?;
    Ok(json!({"success": 1, "key": entry}))
}
