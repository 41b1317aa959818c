//! Why the shared key ring could not be read, created or changed.

use crate::store::StoreError;
use crate::token::{KeyError, RingChangeError, RingError, SealError, TokenError};

/// A failure of [`super::SharedRing`].
#[derive(Debug, thiserror::Error)]
pub enum SharedRingError {
    /// The store did not answer, or answered with something unusable.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds no key ring yet.
    #[error("the store holds no key ring yet (the service creates it at its first start)")]
    Absent,
    /// The stored ring does not open with this KEK, or is not valid.
    #[error(transparent)]
    Ring(RingError),
    /// The ring opened but did not sign and verify a token.
    #[error("the key ring failed its self-test: {0}")]
    SelfTest(TokenError),
    /// The change contradicts the ring (unknown kid, retiring the active
    /// key, activating a retired one).
    #[error(transparent)]
    Change(#[from] RingChangeError),
    /// Other writers kept changing the ring; retrying may succeed.
    #[error("the key ring kept changing under this change; retry")]
    Contention,
}

impl From<RingError> for SharedRingError {
    fn from(err: RingError) -> Self {
        match err {
            RingError::Change(change) => Self::Change(change),
            other => Self::Ring(other),
        }
    }
}

impl From<KeyError> for SharedRingError {
    fn from(err: KeyError) -> Self {
        Self::Ring(RingError::Key(err))
    }
}

impl SharedRingError {
    /// The `kid` of the first key this KEK could not open, when that is
    /// what went wrong (the wrong KEK).
    pub fn unopened_kid(&self) -> Option<&str> {
        match self {
            Self::Ring(RingError::Sealed(SealError::Open { kid })) => Some(kid),
            _ => None,
        }
    }
}
