//! `Mapping`: which data source each dashboard schema of the group reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::FieldError;
use super::text::check_bounded_text;

/// The most entries a mapping may hold.
pub const MAX_MAPPING_ENTRIES: usize = 1000;

/// A validated mapping of schema id to data source id.
///
/// Both sides are bounded text (1..=256 bytes, no control characters). An
/// integer data source id in a request is stored as its decimal string, so
/// `{"40": 213}` and `{"40": "213"}` are the same mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "BTreeMap<String, String>")]
pub struct Mapping(BTreeMap<String, String>);

/// Serializes the entries borrowed (no copy of the map).
impl Serialize for Mapping {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl Mapping {
    /// Validates a map of already-textual entries.
    pub fn new(entries: BTreeMap<String, String>) -> Result<Self, FieldError> {
        if entries.len() > MAX_MAPPING_ENTRIES {
            return Err(FieldError::new(
                "mapping",
                format!(
                    "must have at most {MAX_MAPPING_ENTRIES} entries (got {})",
                    entries.len()
                ),
            ));
        }
        for (schema, source) in &entries {
            check_bounded_text(schema)
                .map_err(|why| FieldError::new("mapping", format!("schema id {schema:?} {why}")))?;
            check_bounded_text(source).map_err(|why| {
                FieldError::new("mapping", format!("data source of {schema:?} {why}"))
            })?;
        }
        Ok(Self(entries))
    }

    /// Reads a JSON request value: an object whose values are strings or
    /// integers.
    pub fn from_json(value: &Value) -> Result<Self, FieldError> {
        let Value::Object(object) = value else {
            return Err(FieldError::new(
                "mapping",
                "must be an object of schema id to data source id",
            ));
        };
        let mut entries = BTreeMap::new();
        for (schema, source) in object {
            let source = match source {
                Value::String(text) => text.clone(),
                Value::Number(number) if number.is_i64() || number.is_u64() => number.to_string(),
                _ => {
                    return Err(FieldError::new(
                        "mapping",
                        format!("data source of {schema:?} must be a string or an integer"),
                    ));
                }
            };
            entries.insert(schema.clone(), source);
        }
        Self::new(entries)
    }

    /// The entries, ordered by schema id.
    pub fn entries(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

impl TryFrom<BTreeMap<String, String>> for Mapping {
    type Error = FieldError;
    fn try_from(entries: BTreeMap<String, String>) -> Result<Self, Self::Error> {
        Self::new(entries)
    }
}

impl From<Mapping> for BTreeMap<String, String> {
    fn from(mapping: Mapping) -> Self {
        mapping.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_become_strings() {
        let mapping = Mapping::from_json(&json!({"40": 213, "134": "386"})).ok();
        let expected: BTreeMap<String, String> =
            [("134".into(), "386".into()), ("40".into(), "213".into())].into();
        assert_eq!(mapping.map(|m| m.0), Some(expected));
    }

    #[test]
    fn rejects_non_objects_and_bad_values() {
        for bad in [
            json!([]),
            json!("x"),
            json!({"40": {"id": 1}}),
            json!({"40": 1.5}),
            json!({"40": null}),
            json!({"": "1"}),
        ] {
            assert_eq!(
                Mapping::from_json(&bad).err().map(|e| e.field),
                Some("mapping".to_owned()),
                "{bad}"
            );
        }
    }

    #[test]
    fn entry_limit() {
        let at_limit: serde_json::Map<String, Value> =
            (0..1000).map(|i| (i.to_string(), json!(i))).collect();
        assert!(Mapping::from_json(&Value::Object(at_limit.clone())).is_ok());
        let mut over = at_limit;
        over.insert("x".into(), json!(1));
        assert!(Mapping::from_json(&Value::Object(over)).is_err());
    }
}
