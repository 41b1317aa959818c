//! Where the middleware learns that a token stopped being valid: its group
//! was revoked or deleted, or the token or its session was revoked.
//!
//! A [`RevocationSource`] answers a token's [`Standing`]; the middleware
//! caches each answer (by `jti`) for `revocation_cache_ttl` (5 s by
//! default), so a revoked token passes for at most that long after the
//! revocation. The Tessera service implements it over its store.

use async_trait::async_trait;
use tessera_verify::{Claims, Standing};

/// The source could not be asked; the token is not treated as valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SourceUnavailable(pub String);

/// Answers whether a token's group still exists (and its generation) and
/// whether the token or its session is on the deny-list.
#[async_trait]
pub trait RevocationSource: Send + Sync + 'static {
    /// What the store says of the token of `claims` now.
    async fn standing(&self, claims: &Claims) -> Result<Standing, SourceUnavailable>;
}
