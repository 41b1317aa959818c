//! Verification for dashboard renderers: a tower [`Layer`](tower::Layer)
//! that any axum app can add, and the [`UserGroup`] extractor that hands
//! its handlers the verified claims and variables.
//!
//! ```no_run
//! use axum::{Json, Router, routing::get};
//! use tessera::middleware::{KeySource, RendererAuth, RendererAuthConfig, UserGroup};
//! use tessera::token::VerifyPolicy;
//!
//! # async fn run() -> Result<(), String> {
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
//! Verification is the crate's one policy ([`crate::token::verify`]). On top
//! of it the middleware keeps a bounded cache of verified tokens (so a
//! dashboard sending the same token with every widget request pays for the
//! signature once; entries end at the token's `exp` and whenever the keys
//! change) and, if a store is given, checks revocation through a short
//! cache. A missing or bad token never reaches the handler: it is answered
//! `401` with the JSON error envelope and
//! `WWW-Authenticate: Bearer error="invalid_token"`.

mod auth;
mod cache;
mod extractor;
mod key_source;
mod layer;

pub use auth::{RendererAuth, RendererAuthConfig};
pub use extractor::{UserGroup, VerifiedToken};
pub use key_source::{KeySource, Keys, KeysNow};
pub use layer::{RendererAuthLayer, RendererAuthService};
