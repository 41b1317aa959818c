//! One key as the admin API and `tessera keys list` show it: public facts
//! and state, never private material.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::token::{KeyAlgorithm, Kid, RingDocument, SealedKey};

/// A key's public facts and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyEntry {
    /// Key id.
    pub kid: Kid,
    /// Its one algorithm.
    pub alg: KeyAlgorithm,
    /// `published`, `active` or `retired`.
    pub state: &'static str,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last became active.
    pub activated_at: Option<DateTime<Utc>>,
    /// When it was retired.
    pub retired_at: Option<DateTime<Utc>>,
}

impl KeyEntry {
    /// The entry of `key` in `doc`.
    pub fn of(doc: &RingDocument, key: &SealedKey) -> Self {
        Self {
            kid: key.kid.clone(),
            alg: key.alg,
            state: doc.state(key).as_str(),
            created_at: key.created_at,
            activated_at: key.activated_at,
            retired_at: key.retired_at,
        }
    }

    /// Every key of `doc`, oldest first (keys made at the same instant in
    /// the ring's order).
    pub fn all(doc: &RingDocument) -> Vec<Self> {
        let mut entries: Vec<Self> = doc.keys.iter().map(|key| Self::of(doc, key)).collect();
        entries.sort_by_key(|entry| entry.created_at);
        entries
    }

    /// The entry of `kid` in `doc`.
    pub fn find(doc: &RingDocument, kid: &str) -> Option<Self> {
        doc.keys
            .iter()
            .find(|key| key.kid.as_str() == kid)
            .map(|key| Self::of(doc, key))
    }
}
