//! `Properties`: the group's variables, used by dashboards and the SQL editor.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::FieldError;

/// Names a caller may not use: the verifier adds these variables itself.
pub const RESERVED_PROPERTY_NAMES: [&str; 3] = ["user_group_id", "user_group_name", "team_id"];

/// The largest serialized size of a properties object, in bytes.
pub const MAX_PROPERTIES_BYTES: usize = 8 * 1024;

/// The longest property name, in bytes.
pub const MAX_PROPERTY_NAME_BYTES: usize = 64;

/// A variable name: `[A-Za-z_][A-Za-z0-9_]{0,63}`, not reserved.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PropertyName(String);

impl PropertyName {
    /// Validates a name.
    pub fn parse(name: &str) -> Result<Self, FieldError> {
        let mut chars = name.chars();
        let well_formed = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && name.len() <= MAX_PROPERTY_NAME_BYTES;
        if !well_formed {
            return Err(FieldError::new(
                "properties",
                format!("{name:?}: names must match [A-Za-z_][A-Za-z0-9_]{{0,63}}"),
            ));
        }
        if RESERVED_PROPERTY_NAMES.contains(&name) {
            return Err(FieldError::new(
                "properties",
                format!("{name:?} is reserved: the verifier sets it from the group itself"),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PropertyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated properties object.
///
/// Values are strings, numbers, booleans, null, or arrays of those (no
/// objects, no nested arrays); the whole object serializes to at most 8 KiB.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(try_from = "Map<String, Value>")]
pub struct Properties(Map<String, Value>);

/// Serializes the object borrowed (no copy of the map).
impl Serialize for Properties {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl Properties {
    /// Validates a JSON object.
    pub fn new(object: Map<String, Value>) -> Result<Self, FieldError> {
        for (name, value) in &object {
            PropertyName::parse(name)?;
            check_value(name, value)?;
        }
        let size = serde_json::to_vec(&object)
            .map(|bytes| bytes.len())
            .unwrap_or(usize::MAX);
        if size > MAX_PROPERTIES_BYTES {
            return Err(FieldError::new(
                "properties",
                format!("must serialize to at most {MAX_PROPERTIES_BYTES} bytes (got {size})"),
            ));
        }
        Ok(Self(object))
    }

    /// Reads a JSON request value, which must be an object.
    pub fn from_json(value: &Value) -> Result<Self, FieldError> {
        match value {
            Value::Object(object) => Self::new(object.clone()),
            _ => Err(FieldError::new("properties", "must be an object or null")),
        }
    }

    /// The variables, in the order the caller gave them.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
}

fn check_value(name: &str, value: &Value) -> Result<(), FieldError> {
    let scalar = |v: &Value| !matches!(v, Value::Array(_) | Value::Object(_));
    let allowed = match value {
        Value::Array(items) => items.iter().all(scalar),
        other => scalar(other),
    };
    if allowed {
        Ok(())
    } else {
        Err(FieldError::new(
            "properties",
            format!(
                "{name:?}: values must be a string, number, boolean, null or an array of those"
            ),
        ))
    }
}

impl TryFrom<Map<String, Value>> for Properties {
    type Error = FieldError;
    fn try_from(object: Map<String, Value>) -> Result<Self, Self::Error> {
        Self::new(object)
    }
}

impl From<Properties> for Map<String, Value> {
    fn from(properties: Properties) -> Self {
        properties.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(value: Value) -> Option<String> {
        Properties::from_json(&value).err().map(|e| e.field)
    }

    #[test]
    fn accepts_scalars_and_flat_arrays() {
        let ok =
            json!({"filterValue": "v", "_n": 1.5, "b": true, "z": null, "ids": [1, "a", null]});
        assert!(Properties::from_json(&ok).is_ok());
        assert!(Properties::from_json(&json!({})).is_ok());
    }

    #[test]
    fn rejects_bad_names() {
        let long = "a".repeat(65);
        for name in ["filter value", "1abc", long.as_str(), "", "é", "a-b"] {
            assert_eq!(
                field_of(json!({ name: 1 })),
                Some("properties".into()),
                "{name}"
            );
        }
        assert!(Properties::from_json(&json!({ "a".repeat(64): 1 })).is_ok());
    }

    #[test]
    fn rejects_reserved_names() {
        for name in RESERVED_PROPERTY_NAMES {
            assert_eq!(
                field_of(json!({ name: 1 })),
                Some("properties".into()),
                "{name}"
            );
        }
    }

    #[test]
    fn rejects_objects_and_nested_arrays() {
        assert!(field_of(json!({"a": {"b": 1}})).is_some());
        assert!(field_of(json!({"a": [[1]]})).is_some());
        assert!(field_of(json!({"a": [{"b": 1}]})).is_some());
        assert!(field_of(json!([1])).is_some());
    }

    #[test]
    fn size_limit() {
        // {"a":"..."} is 8 bytes of framing.
        let fits = json!({"a": "x".repeat(MAX_PROPERTIES_BYTES - 8)});
        assert!(Properties::from_json(&fits).is_ok());
        let over = json!({"a": "x".repeat(MAX_PROPERTIES_BYTES - 7)});
        assert!(Properties::from_json(&over).is_err());
    }
}
