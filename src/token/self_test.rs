//! The start-up self-test: sign one token with the active key and verify it
//! with the same code that judges clients' tokens. A service whose keys
//! cannot do that must not start.

use chrono::{DateTime, Utc};

use super::{KeyRing, TokenError, TokenIssuer, TokenPolicy, verify};
use crate::domain::{GroupId, GroupRecord, GroupUpsert, TeamId};

/// Signs and verifies one token; the error says which step failed.
pub fn self_test(
    keys: &KeyRing,
    policy: &TokenPolicy,
    now: DateTime<Utc>,
) -> Result<(), TokenError> {
    let broken = |err: crate::domain::FieldError| TokenError::Signing(err.to_string());
    let group = GroupRecord::create(
        TeamId::new(1).map_err(broken)?,
        &GroupUpsert {
            id: GroupId::parse("tessera-self-test").map_err(broken)?,
            name: None,
            mapping: None,
            properties: None,
        },
        now,
    );
    let issued = TokenIssuer::new(keys, policy).issue(&group, None, now)?;
    let claims = verify(keys, policy, &issued.token, now)?;
    if claims.sub != group.provided_id || claims.team_id != group.team_id {
        return Err(TokenError::ClaimsInvalid(
            "verified claims differ from the signed ones".into(),
        ));
    }
    Ok(())
}
