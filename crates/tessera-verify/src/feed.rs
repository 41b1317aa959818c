//! The revocation feed's entries, as the service publishes them
//! (`GET /api/revocations`) and renderers read them: which tokens of a
//! group stopped being valid. Written once here for both sides.

use serde::{Deserialize, Serialize};

use crate::Claims;
use crate::domain::GroupId;

/// What happened to a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RevocationKind {
    /// Revoked: every token with a `gen` below `below_gen` is invalid.
    Revoked {
        /// The first generation still valid.
        below_gen: u64,
    },
    /// Deleted: every token of this `team_id` is invalid (a group created
    /// again under the same id gets another `team_id`).
    Deleted,
}

/// One revocation of the feed (feed entries carry `cursor` and `at`
/// beside these fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// The group (`sub` of its tokens).
    pub user_group_id: GroupId,
    /// Its `team_id`.
    pub team_id: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: RevocationKind,
}

impl Revocation {
    /// Whether `claims` are among the tokens this revocation ends.
    pub fn covers(&self, claims: &Claims) -> bool {
        claims.sub == self.user_group_id
            && claims.team_id.get() == self.team_id
            && match self.kind {
                RevocationKind::Revoked { below_gen } => claims.r#gen < below_gen,
                RevocationKind::Deleted => true,
            }
    }
}
