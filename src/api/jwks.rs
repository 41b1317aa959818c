//! `GET /.well-known/jwks.json`: the public keys of every key that may
//! verify, for renderers that verify offline. Never private material;
//! HMAC keys never appear.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::error::ApiError;
use crate::state::AppState;

/// How long clients may cache the document. Renderers that meet an unknown
/// `kid` refetch sooner (the middleware at most once per 30 s).
pub const JWKS_MAX_AGE_SECS: u32 = 300;

/// The handler; `503 keys_unavailable` (never cached) until the key ring
/// has been read from the store.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "api",
    summary = "Public keys that may verify",
    responses(
        (status = 200, description = "The JWKS", body = Object, headers(("x-request-id" = String, description = "The request id"))),
        crate::api::openapi::TokenErrors,
    )
)]
pub async fn jwks(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let keys = state.keys.loaded()?;
    Ok((
        [(
            header::CACHE_CONTROL,
            format!("public, max-age={JWKS_MAX_AGE_SECS}"),
        )],
        Json(keys.keyset().jwks()),
    ))
}
