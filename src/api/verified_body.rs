//! The `200` answer of `/api/verify` (and, with the new token, of
//! `/api/token/refresh`): written straight from the verified claims, with
//! no copy of the group's mapping, properties or variables.

use chrono::SecondsFormat;
use serde::Serialize;

use crate::domain::{GroupId, GroupName, Mapping, Properties};
use tessera_verify::{Claims, VariablesView};

/// `{"success": 1, "valid": true, "user_group": {...}, "variables": {...},
/// "expires_at": "..."}`, plus `token` for a refresh.
#[derive(Serialize)]
pub struct VerifiedBody<'a> {
    success: u8,
    valid: bool,
    user_group: VerifiedGroup<'a>,
    variables: VariablesView<'a>,
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
}

/// The `user_group` object.
#[derive(Serialize)]
struct VerifiedGroup<'a> {
    team_id: u64,
    provided_id: &'a GroupId,
    name: &'a GroupName,
    mapping: &'a Mapping,
    properties: Option<&'a Properties>,
}

impl<'a> VerifiedBody<'a> {
    /// The answer for verified `claims`.
    pub fn of(claims: &'a Claims) -> Self {
        Self {
            success: 1,
            valid: true,
            user_group: VerifiedGroup {
                team_id: claims.team_id.get(),
                provided_id: &claims.sub,
                name: &claims.name,
                mapping: &claims.mapping,
                properties: claims.properties.as_ref(),
            },
            variables: claims.variables_view(),
            expires_at: chrono::DateTime::from_timestamp(claims.exp, 0)
                .map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            token: None,
        }
    }

    /// The answer with the new `token` (whose claims these are).
    pub fn with_token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }
}

impl std::fmt::Debug for VerifiedBody<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedBody")
            .field("team_id", &self.user_group.team_id)
            .field("provided_id", &self.user_group.provided_id)
            .finish_non_exhaustive()
    }
}
