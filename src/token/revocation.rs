//! The last verification step: the store still holds the token's group,
//! with the same `team_id` (a group deleted and created again gets a new
//! one) and the same `gen` (revoking bumps it), and neither the token's
//! `jti` nor its `sid` is on the group's deny-list. The rule itself is the
//! verifier crate's [`Standing`]; this module asks the store, for the
//! service and (as a [`RevocationSource`]) for the middleware.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_middleware::{RevocationSource, SourceUnavailable};
use tessera_verify::Standing;
use tessera_verify::clock::SharedClock;

use super::{Claims, TokenError};
use crate::domain::GroupRecord;
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

/// Fails with `token_revoked` unless the token's group exists with the
/// token's generation and neither the token nor its session is denied.
pub async fn check_current(
    store: &dyn GroupStore,
    claims: &Claims,
    now: DateTime<Utc>,
) -> Result<(), VerifyFailure> {
    let state = store.token_state(claims, now).await?;
    if state.standing()?.admits(claims) {
        Ok(())
    } else {
        Err(TokenError::Revoked.into())
    }
}

/// [`check_current`], and the group's record as stored now (for a refresh,
/// which carries its current fields).
pub async fn current_group(
    store: &dyn GroupStore,
    claims: &Claims,
    now: DateTime<Utc>,
) -> Result<GroupRecord, VerifyFailure> {
    let state = store.token_state(claims, now).await?;
    let record = state.record()?;
    let standing = Standing {
        generation: record.as_ref().map(tessera_verify::stored::generation),
        denied: state.denied,
    };
    match record {
        Some(record) if standing.admits(claims) => Ok(record),
        _ => Err(TokenError::Revoked.into()),
    }
}

/// The store as the middleware's revocation source.
#[derive(Clone)]
pub struct StoreRevocations {
    /// The store.
    pub store: Arc<dyn GroupStore>,
    /// The clock deny-list entries are judged by.
    pub clock: SharedClock,
}

#[async_trait]
impl RevocationSource for StoreRevocations {
    async fn standing(&self, claims: &Claims) -> Result<Standing, SourceUnavailable> {
        self.store
            .token_state(claims, self.clock.now())
            .await
            .and_then(|state| state.standing())
            .map_err(|err| SourceUnavailable(err.to_string()))
    }
}
