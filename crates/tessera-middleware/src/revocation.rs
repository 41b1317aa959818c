//! Where the middleware learns that a group was revoked or deleted.
//!
//! A [`RevocationSource`] answers a group's current generation; the
//! middleware caches each answer for `revocation_cache_ttl` (5 s by
//! default), so a revoked token passes for at most that long after the
//! revocation. The Tessera service implements it over its store.

use async_trait::async_trait;
use tessera_verify::GroupGeneration;
use tessera_verify::domain::GroupId;

/// The source could not be asked; the token is not treated as valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SourceUnavailable(pub String);

/// Answers whether a group still exists, and its generation.
#[async_trait]
pub trait RevocationSource: Send + Sync + 'static {
    /// The group's current generation; `None` when it is gone.
    async fn generation(&self, id: &GroupId) -> Result<Option<GroupGeneration>, SourceUnavailable>;
}
