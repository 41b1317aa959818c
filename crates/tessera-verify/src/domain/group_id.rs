//! `GroupId`: the caller's own id for a user group (`user_group_id`, echoed
//! back as `provided_id`).

use serde::Deserialize;
use serde_json::Value;

use super::FieldError;
use super::text::check_bounded_text;

/// A validated `user_group_id`: 1..=256 bytes of UTF-8, no control characters.
///
/// Any such string is allowed, including spaces, braces, colons and unicode;
/// stores must encode it before using it in a key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct GroupId(String);

crate::validated_string!(GroupId, FieldError);

impl GroupId {
    /// Validates a string id.
    pub fn parse(value: impl Into<String>) -> Result<Self, FieldError> {
        let value = value.into();
        check_bounded_text(&value).map_err(|why| FieldError::new("user_group_id", why))?;
        Ok(Self(value))
    }

    /// Reads a JSON request value: a string, or an integer that becomes its
    /// decimal string.
    pub fn from_json(value: &Value) -> Result<Self, FieldError> {
        match value {
            Value::String(text) => Self::parse(text.as_str()),
            Value::Number(number) if number.is_i64() || number.is_u64() => {
                Self::parse(number.to_string())
            }
            _ => Err(FieldError::new(
                "user_group_id",
                "must be a string or an integer",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integer_becomes_decimal_string() {
        assert_eq!(
            GroupId::from_json(&json!(42)).map(|id| id.0),
            Ok("42".to_owned())
        );
        assert_eq!(
            GroupId::from_json(&json!(-7)).map(|id| id.0),
            Ok("-7".to_owned())
        );
    }

    #[test]
    fn rejects_other_types_and_bad_text() {
        for bad in [
            json!(1.5),
            json!(null),
            json!(true),
            json!([]),
            json!({}),
            json!(""),
        ] {
            let err = GroupId::from_json(&bad).err();
            assert_eq!(
                err.map(|e| e.field),
                Some("user_group_id".to_owned()),
                "{bad}"
            );
        }
        assert!(GroupId::parse("a".repeat(257)).is_err());
        assert!(GroupId::parse("tab\there").is_err());
    }
}
