//! The revocation rule: a token is current only while its group exists
//! with the same `team_id` (a group deleted and created again gets a new
//! one) and the same `gen` (revoking bumps it).

use crate::Claims;

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
