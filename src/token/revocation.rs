//! The last verification step: the store still holds the token's group,
//! with the same `team_id` (a group deleted and created again gets a new
//! one) and the same `gen` (revoking bumps it). The rule itself is the
//! verifier crate's [`GroupGeneration`]; this module asks the store, for
//! the service and (as a [`RevocationSource`]) for the middleware.

use std::sync::Arc;

use async_trait::async_trait;
use tessera_middleware::{RevocationSource, SourceUnavailable};

use super::{Claims, GroupGeneration, TokenError};
use crate::domain::GroupId;
use crate::store::{GroupStore, StoreError};

/// Why a verification with the store check failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyFailure {
    /// The token itself, or its group's state, is not acceptable.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The store could not be asked; the token is not treated as valid.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The current generation of the group `id`, `None` if it is gone.
pub async fn current_generation(
    store: &dyn GroupStore,
    id: &GroupId,
) -> Result<Option<GroupGeneration>, StoreError> {
    Ok(store
        .get(id)
        .await?
        .map(|record| tessera_verify::stored::generation(&record)))
}

/// Fails with `token_revoked` unless the group still exists unrevoked.
pub async fn check_not_revoked(
    store: &dyn GroupStore,
    claims: &Claims,
) -> Result<(), VerifyFailure> {
    match current_generation(store, &claims.sub).await? {
        Some(current) if current.admits(claims) => Ok(()),
        _ => Err(TokenError::Revoked.into()),
    }
}

/// The store as the middleware's revocation source.
#[derive(Clone)]
pub struct StoreRevocations(pub Arc<dyn GroupStore>);

#[async_trait]
impl RevocationSource for StoreRevocations {
    async fn generation(&self, id: &GroupId) -> Result<Option<GroupGeneration>, SourceUnavailable> {
        current_generation(self.0.as_ref(), id)
            .await
            .map_err(|err| SourceUnavailable(err.to_string()))
    }
}
