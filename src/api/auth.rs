//! `Admin`: the extractor that admits a SaaS backend by its API key.
//!
//! The key comes as `Authorization: Token <key>` (or `Bearer <key>`). It is
//! hashed at once; the hash is compared with the operator's
//! `TESSERA_API_KEY` and looked up in the store (a key the store admitted
//! is trusted for one second, `crate::auth::AdmittedKeys`). The clear key
//! is never logged, stored or echoed.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use tessera_verify::authorization;

use crate::auth::{ApiKey, ApiKeyName, ApiKeyScope};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// A caller admitted with an admin API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// The stored key's name; `None` for the operator's `TESSERA_API_KEY`.
    pub key_name: Option<ApiKeyName>,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match authenticate(parts, state).await? {
            (key_name, ApiKeyScope::Admin) => Ok(Self { key_name }),
            (_, ApiKeyScope::Renderer) => Err(ApiError::new(
                ErrorCode::Forbidden,
                "this is a renderer key: it may only read the revocation feed",
            )),
        }
    }
}

/// A caller admitted with any API key (admin or renderer): what may read
/// the revocation feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedReader {
    /// The stored key's name; `None` for the operator's `TESSERA_API_KEY`.
    pub key_name: Option<ApiKeyName>,
}

impl FromRequestParts<AppState> for FeedReader {
    type Rejection = ApiError;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (key_name, _) = authenticate(parts, state).await?;
        Ok(Self { key_name })
    }
}

/// The presented key's name (`None` for the operator key) and scope.
async fn authenticate(
    parts: &Parts,
    state: &AppState,
) -> Result<(Option<ApiKeyName>, ApiKeyScope), ApiError> {
    let key = presented_key(parts)?;
    let hash = key.hash();
    if state.operator_key.as_ref() == Some(&hash) {
        if let Some(limit) = &state.limits.admin {
            limit.check(&hash.as_str().to_owned())?;
        }
        return Ok((None, ApiKeyScope::Admin));
    }
    let now = state.clock.now().timestamp();
    let found = match state.admitted.get(&hash, now) {
        Some((name, scope)) => (Some(name), scope),
        None => match state.store.find_api_key(&hash).await? {
            Some(record) => {
                state
                    .admitted
                    .remember(hash.clone(), record.name.clone(), record.scope, now);
                (Some(record.name), record.scope)
            }
            None => return Err(unauthorized("unknown or revoked API key")),
        },
    };
    if let Some(limit) = &state.limits.admin {
        limit.check(&hash.as_str().to_owned())?;
    }
    Ok(found)
}

fn presented_key(parts: &Parts) -> Result<ApiKey, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("send Authorization: Token <API key>"))?;
    // `Token <key>` or `Bearer <key>`: either scheme carries an API key here.
    let credential = authorization::parse(value.as_bytes())
        .map_err(|_| unauthorized("malformed Authorization header: use Token <API key>"))?;
    Ok(ApiKey::new(credential.value))
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, message)
}
