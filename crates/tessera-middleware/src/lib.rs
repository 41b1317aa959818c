//! Verification for dashboard renderers: a tower [`Layer`](tower::Layer)
//! that any axum app can add, and the [`UserGroup`] extractor that hands
//! its handlers the verified claims and variables.
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use tessera_middleware::{KeySource, RendererAuth, RendererAuthConfig, UserGroup};
//! use tessera_verify::VerifyPolicy;
//!
//! # async fn run() -> Result<(), tessera_middleware::KeySourceError> {
//! let policy = VerifyPolicy {
//!     issuer: "https://tessera.example.com".into(),
//!     audience: "dashboards".into(),
//!     max_ttl: std::time::Duration::from_secs(30 * 86_400),
//!     leeway: std::time::Duration::from_secs(60),
//! };
//! let source = KeySource::JwksUrl("https://tessera.example.com/.well-known/jwks.json".into());
//! let auth = RendererAuth::new(RendererAuthConfig::new(source, policy)).await?;
//!
//! async fn dashboard(group: UserGroup) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({ "variables": group.variables }))
//! }
//! let app: Router = Router::new().route("/dashboard", get(dashboard)).layer(auth.layer());
//! # Ok(()) }
//! ```
//!
//! Verification is the one policy of `tessera-verify`. On top of it the
//! middleware keeps a bounded cache of verified tokens (so a dashboard
//! sending the same token with every widget request pays for the signature
//! once; entries end at the token's `exp` and whenever the keys change)
//! and, given a [`RevocationSource`], checks revocation through a short
//! cache. Keys come from a JWKS refreshed in the background: no request
//! waits on the network for keys it already has. A missing or bad token
//! never reaches the handler: it is answered `401` with the JSON error
//! envelope and `WWW-Authenticate: Bearer error="invalid_token"` (or `503`
//! when it cannot be judged).
//!
//! How long a token can still pass after its group, its session or the
//! token itself was revoked:
//! - JWKS only: until it expires (a JWKS says nothing of revocations: keep
//!   token lifetimes short);
//! - with the revocation feed (`revocation_feed`, a renderer key): at most
//!   one poll period (2 s by default) plus one read after the revocation;
//! - with a revocation source over the store (`revocations`): at most
//!   `revocation_cache_ttl` (5 s by default) after the revocation.
//!
//! A retired signing key stops verifying at the next JWKS refresh (its
//! `max-age`: 5 minutes for Tessera's JWKS).
//!
//! It depends on no store, command line or logging subscriber.

mod auth;
mod cache;
mod extractor;
mod feed;
mod key_source;
mod layer;
#[cfg(feature = "redis")]
mod redis_source;
mod rejection;
mod revocation;

pub use auth::{OutcomeObserver, RendererAuth, RendererAuthConfig};
pub use cache::{BoundedCache, Weigh};
pub use extractor::{UserGroup, VerifiedToken};
pub use feed::{FEED_POLL_EVERY, RevocationFeedConfig};
pub use key_source::{
    KeyProvider, KeySource, KeySourceError, KeysNow, MIN_REFETCH_INTERVAL, REFRESH_BOUNDS, Refresh,
    fetch_jwks, jwks_client,
};
pub use layer::{RendererAuthLayer, RendererAuthService};
#[cfg(feature = "redis")]
pub use redis_source::RedisRevocations;
pub use rejection::Rejection;
pub use revocation::{RevocationSource, SourceUnavailable};
