//! `Caller`: what the audit trail records of the request's sender — the
//! request id, the client's address (the forwarded one behind a trusted
//! proxy, as the rate limits see it) and the `Origin` header. The admin
//! key's name comes from [`super::Admin`]. Never rejects.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::audit::{Caller, OPERATOR_KEY_LABEL};
use crate::auth::ApiKeyName;
use crate::state::AppState;

/// The most of an `Origin` header the trail keeps.
const MAX_ORIGIN_CHARS: usize = 256;

/// The request's [`Caller`].
#[derive(Debug, Clone)]
pub struct CallerOf(pub Caller);

impl FromRequestParts<AppState> for CallerOf {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        if !state.audit.enabled() {
            return Ok(Self(Caller::default()));
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0);
        let origin = parts.headers.get(header::ORIGIN).map(|value| {
            String::from_utf8_lossy(value.as_bytes())
                .chars()
                .take(MAX_ORIGIN_CHARS)
                .collect()
        });
        Ok(Self(Caller {
            request_id: super::request_id::current(),
            api_key: None,
            client: Some(
                state
                    .limits
                    .client_address(peer, &parts.headers)
                    .to_string(),
            ),
            origin,
        }))
    }
}

impl CallerOf {
    /// The caller, admitted with the admin key named `key` (`None`: the
    /// operator's `TESSERA_API_KEY`).
    pub fn admin(self, key: Option<&ApiKeyName>) -> Caller {
        Caller {
            api_key: Some(key.map_or_else(|| OPERATOR_KEY_LABEL.to_owned(), |k| k.to_string())),
            ..self.0
        }
    }
}
