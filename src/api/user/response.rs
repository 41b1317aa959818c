//! The get-user response: the seed's shape plus `mapping` and `expires_at`.

use std::collections::BTreeMap;

use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::store::Upserted;
use crate::token::IssuedToken;

/// `{"success": 1, "new_user_group": ..., "user_group": {...}}`.
#[derive(Debug, Clone, Serialize)]
pub struct GetUserResponse {
    /// Always 1.
    pub success: u8,
    /// Whether this call created the group.
    pub new_user_group: bool,
    /// The group and its token.
    pub user_group: UserGroupBody,
}

/// The `user_group` object.
#[derive(Clone, Serialize)]
pub struct UserGroupBody {
    /// Internal id.
    pub team_id: u64,
    /// The signed user-group token.
    pub token: String,
    /// Display name.
    pub name: String,
    /// The caller's `user_group_id`.
    pub provided_id: String,
    /// Variables, or null when the group has none.
    pub properties: Option<Map<String, Value>>,
    /// Schema id to data source id.
    pub mapping: BTreeMap<String, String>,
    /// When the token expires (RFC 3339, UTC, seconds).
    pub expires_at: String,
}

impl std::fmt::Debug for UserGroupBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserGroupBody")
            .field("team_id", &self.team_id)
            .field("token", &"[redacted]")
            .field("provided_id", &self.provided_id)
            .finish_non_exhaustive()
    }
}

impl GetUserResponse {
    /// The answer for a stored group and its new token.
    pub fn new(outcome: &Upserted, issued: IssuedToken) -> Self {
        let record = &outcome.record;
        Self {
            success: 1,
            new_user_group: outcome.created,
            user_group: UserGroupBody {
                team_id: record.team_id.get(),
                token: issued.token,
                name: record.name.to_string(),
                provided_id: record.provided_id.to_string(),
                properties: record.properties.as_ref().map(|p| p.as_map().clone()),
                mapping: record.mapping.entries().clone(),
                expires_at: issued.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            },
        }
    }
}
