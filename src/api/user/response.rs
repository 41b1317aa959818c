//! The get-user response: the seed's shape plus `mapping` and `expires_at`.
//! It borrows the stored record and the token: the group's mapping and
//! properties are serialized straight from the record, never copied.

use crate::domain::{GroupId, GroupName, Mapping, Properties};
use chrono::SecondsFormat;
use serde::Serialize;

use crate::store::Upserted;
use crate::token::IssuedToken;

/// `{"success": 1, "new_user_group": ..., "user_group": {...}}`.
#[derive(Debug, Serialize)]
pub struct GetUserResponse<'a> {
    /// Always 1.
    pub success: u8,
    /// Whether this call created the group.
    pub new_user_group: bool,
    /// The group and its token.
    pub user_group: UserGroupBody<'a>,
}

/// The `user_group` object.
#[derive(Serialize)]
pub struct UserGroupBody<'a> {
    /// Internal id.
    pub team_id: u64,
    /// The signed user-group token.
    pub token: &'a str,
    /// Display name.
    pub name: &'a GroupName,
    /// The caller's `user_group_id`.
    pub provided_id: &'a GroupId,
    /// Variables, or null when the group has none.
    pub properties: Option<&'a Properties>,
    /// Schema id to data source id.
    pub mapping: &'a Mapping,
    /// When the token expires (RFC 3339, UTC, seconds).
    pub expires_at: String,
}

impl std::fmt::Debug for UserGroupBody<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserGroupBody")
            .field("team_id", &self.team_id)
            .field("token", &"[redacted]")
            .field("provided_id", &self.provided_id)
            .finish_non_exhaustive()
    }
}

impl<'a> GetUserResponse<'a> {
    /// The answer for a stored group and its new token.
    pub fn new(outcome: &'a Upserted, issued: &'a IssuedToken) -> Self {
        let record = &outcome.record;
        Self {
            success: 1,
            new_user_group: outcome.created,
            user_group: UserGroupBody {
                team_id: record.team_id.get(),
                token: &issued.token,
                name: &record.name,
                provided_id: &record.provided_id,
                properties: record.properties.as_ref(),
                mapping: &record.mapping,
                expires_at: issued.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            },
        }
    }
}
