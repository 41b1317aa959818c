//! A stored user group and the change a get-user request asks for.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{FieldError, GroupId, GroupName, Mapping, Properties};

/// The largest integer every consumer reads exactly: JSON numbers in
/// JavaScript, Redis sorted-set scores and Lua numbers are doubles.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The internal id of a group: a positive integer up to 2^53 − 1, assigned
/// once by the store at creation and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u64")]
pub struct TeamId(u64);

impl TeamId {
    /// Accepts an integer from 1 to 2^53 − 1.
    pub fn new(value: u64) -> Result<Self, FieldError> {
        if value == 0 {
            return Err(FieldError::new("team_id", "must be positive"));
        }
        if value > MAX_SAFE_INTEGER {
            return Err(FieldError::new("team_id", "must be at most 2^53 - 1"));
        }
        Ok(Self(value))
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for TeamId {
    type Error = FieldError;
    fn try_from(value: u64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<TeamId> for u64 {
    fn from(id: TeamId) -> Self {
        id.0
    }
}

impl fmt::Display for TeamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a get-user call asks for: the group's id and the fields it sets.
///
/// A field that is `None` keeps the stored value (or the default on
/// creation). `properties: Some(None)` clears the properties.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupUpsert {
    /// The caller's id of the group.
    pub id: GroupId,
    /// A new name, if given.
    pub name: Option<GroupName>,
    /// A new mapping, if given.
    pub mapping: Option<Mapping>,
    /// New properties, if given; `Some(None)` when the request sent `null`.
    pub properties: Option<Option<Properties>>,
}

/// The most bytes a group's own claims may take (`sub`, `name`, `mapping`
/// and `properties`, as JSON), so that every token issued for it fits in
/// the 16 KiB every verifier accepts (`token::MAX_TOKEN_BYTES`): base64url
/// makes 10 KiB about 13.4 KiB, which leaves room for the header, the
/// fixed claims and a 4096-bit RS256 signature. A test in `token` holds
/// the two limits together.
pub const MAX_GROUP_CLAIMS_BYTES: usize = 10 * 1024;

/// A user group as the store keeps it. Deserializing checks what the
/// store guarantees for every record it writes: `gen` from 1 to 2^53 − 1,
/// `updated_at` not before `created_at`, no unknown fields (an exported
/// line that breaks a rule is refused by import, not stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RecordFields")]
pub struct GroupRecord {
    /// Internal id, assigned at creation.
    pub team_id: TeamId,
    /// The caller's id (`user_group_id`).
    pub provided_id: GroupId,
    /// Display name.
    pub name: GroupName,
    /// Schema id to data source id.
    pub mapping: Mapping,
    /// Variables; `None` when the group has none.
    pub properties: Option<Properties>,
    /// Token generation: tokens carrying an older `gen` are revoked.
    pub r#gen: u64,
    /// When the group was created.
    pub created_at: DateTime<Utc>,
    /// When a field last changed.
    pub updated_at: DateTime<Utc>,
}

/// The fields of a [`GroupRecord`] before its rules are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordFields {
    team_id: TeamId,
    provided_id: GroupId,
    name: GroupName,
    mapping: Mapping,
    properties: Option<Properties>,
    r#gen: u64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<RecordFields> for GroupRecord {
    type Error = FieldError;

    fn try_from(fields: RecordFields) -> Result<Self, FieldError> {
        if fields.r#gen == 0 || fields.r#gen > MAX_SAFE_INTEGER {
            return Err(FieldError::new("gen", "must be from 1 to 2^53 - 1"));
        }
        if fields.updated_at < fields.created_at {
            return Err(FieldError::new("updated_at", "is before created_at"));
        }
        Ok(Self {
            team_id: fields.team_id,
            provided_id: fields.provided_id,
            name: fields.name,
            mapping: fields.mapping,
            properties: fields.properties,
            r#gen: fields.r#gen,
            created_at: fields.created_at,
            updated_at: fields.updated_at,
        })
    }
}

impl GroupRecord {
    /// A new group with `team_id`, filled from the request; the name
    /// defaults to the id and the mapping to empty.
    pub fn create(team_id: TeamId, change: &GroupUpsert, now: DateTime<Utc>) -> Self {
        Self {
            team_id,
            provided_id: change.id.clone(),
            name: change
                .name
                .clone()
                .unwrap_or_else(|| GroupName::from_id(&change.id)),
            mapping: change.mapping.clone().unwrap_or_default(),
            properties: change.properties.clone().flatten(),
            r#gen: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// Refuses a group whose token would not fit (see
    /// [`MAX_GROUP_CLAIMS_BYTES`]); the error names the field the change
    /// set, since that is what made it too large.
    pub fn check_token_room(&self, change: &GroupUpsert) -> Result<(), FieldError> {
        let size = serde_json::to_vec(&(
            &self.provided_id,
            &self.name,
            &self.mapping,
            &self.properties,
        ))
        .map_or(usize::MAX, |json| json.len());
        if size <= MAX_GROUP_CLAIMS_BYTES {
            return Ok(());
        }
        let field = match (&change.mapping, &change.properties) {
            (Some(_), _) => "mapping",
            (None, Some(_)) => "properties",
            (None, None) => "name",
        };
        Err(FieldError::new(
            field,
            format!(
                "the group's id, name, mapping and properties would take {size} bytes in its token; \
                 at most {MAX_GROUP_CLAIMS_BYTES} fit in the 16 KiB a token may have"
            ),
        ))
    }

    /// The record with its token generation advanced: every token issued
    /// before carries an older `gen` and stops verifying.
    pub fn revoked(&self, now: DateTime<Utc>) -> Self {
        Self {
            r#gen: self.r#gen.saturating_add(1),
            updated_at: now,
            ..self.clone()
        }
    }

    /// The record after `change`, or `None` when the change alters nothing
    /// (so that a repeated identical call writes nothing).
    pub fn apply(&self, change: &GroupUpsert, now: DateTime<Utc>) -> Option<Self> {
        let mut next = self.clone();
        if let Some(name) = &change.name {
            next.name = name.clone();
        }
        if let Some(mapping) = &change.mapping {
            next.mapping = mapping.clone();
        }
        if let Some(properties) = &change.properties {
            next.properties = properties.clone();
        }
        if next == *self {
            return None;
        }
        next.updated_at = now;
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn upsert(properties: Option<Option<Properties>>) -> GroupUpsert {
        GroupUpsert {
            id: GroupId::parse("example_1").unwrap_or_else(|e| unreachable!("{e}")),
            name: None,
            mapping: None,
            properties,
        }
    }

    fn props(value: serde_json::Value) -> Properties {
        Properties::from_json(&value).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn team(n: u64) -> TeamId {
        TeamId::new(n).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn create_defaults_name_to_id() {
        let record = GroupRecord::create(team(3), &upsert(None), Utc::now());
        assert_eq!(record.name.as_str(), "example_1");
        assert_eq!(record.r#gen, 1);
        assert_eq!(record.properties, None);
    }

    #[test]
    fn apply_replaces_present_fields_only() {
        let t0 = Utc::now();
        let mut first = upsert(Some(Some(props(json!({"a": 1})))));
        first.mapping = Some(Mapping::from_json(&json!({"40": "1"})).unwrap_or_default());
        let record = GroupRecord::create(team(1), &first, t0);

        let t1 = t0 + chrono::Duration::seconds(5);
        let next = record.apply(&upsert(Some(Some(props(json!({"b": 2}))))), t1);
        let next = next.unwrap_or_else(|| unreachable!("a change"));
        assert_eq!(next.properties, Some(props(json!({"b": 2}))));
        assert_eq!(next.mapping, record.mapping);
        assert_eq!(next.updated_at, t1);
        assert_eq!(next.created_at, t0);

        assert_eq!(
            record.apply(&first, t1),
            None,
            "identical call changes nothing"
        );
        let cleared = record.apply(&upsert(Some(None)), t1);
        assert_eq!(cleared.map(|r| r.properties), Some(None));
    }

    #[test]
    fn team_id_is_positive_and_exact_as_a_double() {
        assert!(TeamId::new(0).is_err());
        assert!(serde_json::from_value::<TeamId>(json!(0)).is_err());
        assert!(TeamId::new(MAX_SAFE_INTEGER).is_ok());
        assert!(TeamId::new(MAX_SAFE_INTEGER + 1).is_err());
        assert!(serde_json::from_value::<TeamId>(json!(1u64 << 60)).is_err());
    }

    #[test]
    fn records_keep_their_rules_when_read() {
        let record = GroupRecord::create(team(1), &upsert(None), Utc::now());
        let good = serde_json::to_value(&record).unwrap_or_default();
        assert_eq!(
            serde_json::from_value::<GroupRecord>(good.clone()).ok(),
            Some(record)
        );
        for (field, value) in [
            ("gen", json!(0)),
            ("gen", json!(1u64 << 60)),
            ("updated_at", json!("2000-01-01T00:00:00Z")),
            ("team_id", json!((1u64 << 53) + 1)),
            ("surprise", json!(1)),
        ] {
            let mut bad = good.clone();
            bad[field] = value;
            assert!(
                serde_json::from_value::<GroupRecord>(bad).is_err(),
                "{field}"
            );
        }
    }
}
