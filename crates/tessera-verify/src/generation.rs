//! The revocation rule: a token is current only while its group exists
//! with the same `team_id` (a group deleted and created again gets a new
//! one) and the same `gen` (revoking bumps it), and neither its `jti` nor
//! its `sid` is on the group's deny-list.

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

/// What the store says of one token: its group's generation (`None` when
/// the group is gone) and whether its `jti` or `sid` is denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The group's current generation.
    pub generation: Option<GroupGeneration>,
    /// Whether the token or its session was revoked.
    pub denied: bool,
}

impl Standing {
    /// Whether `claims` may pass.
    pub fn admits(self, claims: &Claims) -> bool {
        !self.denied
            && self
                .generation
                .is_some_and(|current| current.admits(claims))
    }
}
