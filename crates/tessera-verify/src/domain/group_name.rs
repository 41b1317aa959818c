//! `GroupName`: the display name of a user group.

use serde::Deserialize;
use serde_json::Value;

use super::text::check_bounded_text;
use super::{FieldError, GroupId};

/// A validated group name: 1..=256 bytes of UTF-8, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct GroupName(String);

crate::validated_string!(GroupName, FieldError);

impl GroupName {
    /// Validates a name.
    pub fn parse(value: impl Into<String>) -> Result<Self, FieldError> {
        let value = value.into();
        check_bounded_text(&value).map_err(|why| FieldError::new("name", why))?;
        Ok(Self(value))
    }

    /// Reads a JSON request value, which must be a string.
    pub fn from_json(value: &Value) -> Result<Self, FieldError> {
        match value {
            Value::String(text) => Self::parse(text.as_str()),
            _ => Err(FieldError::new("name", "must be a string")),
        }
    }

    /// The default name of a new group: its id (both follow the same rule).
    pub fn from_id(id: &GroupId) -> Self {
        Self(id.as_str().to_owned())
    }
}
