//! `Caller`: what the audit trail records of the request's sender — the
//! request id, the client's address (the forwarded one behind a trusted
//! proxy, as the rate limits see it) and the `Origin` header. The admin
//! key's name comes from [`super::Admin`]. Never rejects.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};

use crate::audit::{Caller, OPERATOR_KEY_LABEL};
use crate::auth::ApiKeyName;
use crate::state::AppState;

/// The most of an `Origin` header the trail keeps.
const MAX_ORIGIN_CHARS: usize = 256;

/// The request's [`Caller`], gathered cheaply (an address and a shared
/// header value) and turned into text only when an event is recorded, so
/// a request that records nothing (a successful verification) pays for no
/// allocation.
#[derive(Debug, Clone)]
pub struct CallerOf {
    client: Option<IpAddr>,
    origin: Option<HeaderValue>,
}

impl FromRequestParts<AppState> for CallerOf {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        if !state.audit.enabled() {
            return Ok(Self {
                client: None,
                origin: None,
            });
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0);
        Ok(Self {
            client: Some(state.limits.client_address(peer, &parts.headers)),
            origin: parts.headers.get(header::ORIGIN).cloned(),
        })
    }
}

impl CallerOf {
    /// The caller of a request made with a user-group token (no API key).
    pub fn caller(&self) -> Caller {
        Caller {
            request_id: super::request_id::current(),
            api_key: None,
            client: self.client.map(|ip| ip.to_string()),
            origin: self.origin.as_ref().map(|value| {
                String::from_utf8_lossy(value.as_bytes())
                    .chars()
                    .take(MAX_ORIGIN_CHARS)
                    .collect()
            }),
        }
    }

    /// The caller, admitted with the admin key named `key` (`None`: the
    /// operator's `TESSERA_API_KEY`).
    pub fn admin(&self, key: Option<&ApiKeyName>) -> Caller {
        Caller {
            api_key: Some(key.map_or_else(|| OPERATOR_KEY_LABEL.to_owned(), |k| k.to_string())),
            ..self.caller()
        }
    }
}
