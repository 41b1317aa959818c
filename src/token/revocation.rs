//! The last verification step: the store still holds the token's group,
//! with the same `team_id` (a group deleted and created again gets a new
//! one) and the same `gen` (revoking bumps it).

use super::{Claims, TokenError};
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
    /// The token names a key the verifier does not hold, and the key set
    /// could not be fetched: the token is not judged (fetch detail inside).
    #[error("verifying keys unavailable: {0}")]
    KeysUnavailable(String),
}

/// The group generation a token must match: what the store says now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupGeneration {
    /// The group's `team_id`.
    pub team_id: u64,
    /// The group's `gen`.
    pub r#gen: u64,
}

impl GroupGeneration {
    /// Whether `claims` were issued for this generation of the group.
    pub fn admits(self, claims: &Claims) -> bool {
        self.team_id == claims.team_id.get() && self.r#gen == claims.r#gen
    }
}

/// The current generation of the token's group, `None` if it is gone.
pub async fn current_generation(
    store: &dyn GroupStore,
    claims: &Claims,
) -> Result<Option<GroupGeneration>, StoreError> {
    Ok(store.get(&claims.sub).await?.map(|record| GroupGeneration {
        team_id: record.team_id.get(),
        r#gen: record.r#gen,
    }))
}

/// Fails with `token_revoked` unless the group still exists unrevoked.
pub async fn check_not_revoked(
    store: &dyn GroupStore,
    claims: &Claims,
) -> Result<(), VerifyFailure> {
    match current_generation(store, claims).await? {
        Some(current) if current.admits(claims) => Ok(()),
        _ => Err(TokenError::Revoked.into()),
    }
}
