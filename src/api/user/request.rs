//! The get-user request body, parsed into domain types.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::domain::{
    FieldError, GroupId, GroupName, GroupUpsert, MAX_ALLOWED_ORIGINS, Mapping, Properties,
    parse_origin,
};

const FIELDS: [&str; 6] = [
    "user_group_id",
    "name",
    "mapping",
    "properties",
    "expires_in",
    "allowed_origins",
];

/// A valid get-user request.
#[derive(Debug, Clone, PartialEq)]
pub struct GetUserRequest {
    /// The group and the fields to set.
    pub group: GroupUpsert,
    /// The token lifetime asked for, if any.
    pub expires_in: Option<Duration>,
    /// The browser origins the token (and its session) is bound to.
    pub allowed_origins: Option<Vec<String>>,
}

impl GetUserRequest {
    /// Parses a body object. Unknown fields are refused by name, so a typo
    /// such as `propeties` cannot silently drop data. `properties: null`
    /// clears the stored properties; `null` for any other field is invalid.
    pub fn parse(body: &Map<String, Value>, max_ttl: Duration) -> Result<Self, FieldError> {
        if let Some(unknown) = body.keys().find(|key| !FIELDS.contains(&key.as_str())) {
            return Err(FieldError::new(
                unknown.as_str(),
                format!("unknown field; expected one of {}", FIELDS.join(", ")),
            ));
        }
        let id = body
            .get("user_group_id")
            .ok_or_else(|| FieldError::new("user_group_id", "is required"))
            .and_then(GroupId::from_json)?;
        let name = body.get("name").map(GroupName::from_json).transpose()?;
        let mapping = body.get("mapping").map(Mapping::from_json).transpose()?;
        let properties = body
            .get("properties")
            .map(|value| match value {
                Value::Null => Ok(None),
                other => Properties::from_json(other).map(Some),
            })
            .transpose()?;
        let expires_in = body
            .get("expires_in")
            .map(|value| parse_expires_in(value, max_ttl))
            .transpose()?;
        let allowed_origins = body
            .get("allowed_origins")
            .map(parse_allowed_origins)
            .transpose()?;
        Ok(Self {
            group: GroupUpsert {
                id,
                name,
                mapping,
                properties,
            },
            expires_in,
            allowed_origins,
        })
    }
}

/// 1 to 16 exact origins (`https://app.customer.com`), no duplicates.
fn parse_allowed_origins(value: &Value) -> Result<Vec<String>, FieldError> {
    let field = "allowed_origins";
    let list = value
        .as_array()
        .filter(|list| (1..=MAX_ALLOWED_ORIGINS).contains(&list.len()))
        .ok_or_else(|| {
            FieldError::new(
                field,
                format!("must be a list of 1 to {MAX_ALLOWED_ORIGINS} origins"),
            )
        })?;
    let mut origins: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        let text = item
            .as_str()
            .ok_or_else(|| FieldError::new(field, "origins are strings"))?;
        let origin = parse_origin(text).map_err(|why| FieldError::new(field, why))?;
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    Ok(origins)
}

fn parse_expires_in(value: &Value, max_ttl: Duration) -> Result<Duration, FieldError> {
    let max = max_ttl.as_secs();
    let seconds = value.as_u64().filter(|s| (1..=max).contains(s));
    seconds.map(Duration::from_secs).ok_or_else(|| {
        FieldError::new(
            "expires_in",
            format!("must be an integer number of seconds from 1 to {max}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DAY: Duration = Duration::from_secs(86_400);

    fn parse(value: Value) -> Result<GetUserRequest, FieldError> {
        match value {
            Value::Object(map) => GetUserRequest::parse(&map, DAY),
            _ => unreachable!("tests pass objects"),
        }
    }

    #[test]
    fn seed_example() {
        let request = parse(json!({
            "user_group_id": "example_1",
            "name": "Example 1",
            "mapping": {"40": "213", "134": "386"},
            "properties": {"filterValue": "value"}
        }))
        .unwrap();
        assert_eq!(request.group.id.as_str(), "example_1");
        assert_eq!(
            request.group.name.map(|n| n.to_string()),
            Some("Example 1".into())
        );
        assert!(request.group.properties.is_some_and(|p| p.is_some()));
        assert_eq!(request.expires_in, None);
    }

    #[test]
    fn unknown_field_is_named() {
        let err = parse(json!({"user_group_id": "a", "propeties": {}})).unwrap_err();
        assert_eq!(err.field, "propeties");
    }

    #[test]
    fn null_properties_clear_them() {
        let request = parse(json!({"user_group_id": "a", "properties": null})).unwrap();
        assert_eq!(request.group.properties, Some(None));
        assert!(parse(json!({"user_group_id": "a", "name": null})).is_err());
    }

    #[test]
    fn expires_in_bounds() {
        for bad in [json!(0), json!(-1), json!(86_401), json!(1.5), json!("60")] {
            let err = parse(json!({"user_group_id": "a", "expires_in": bad})).unwrap_err();
            assert_eq!(err.field, "expires_in", "{bad}");
        }
        let ok = parse(json!({"user_group_id": "a", "expires_in": 86_400})).unwrap();
        assert_eq!(ok.expires_in, Some(DAY));
    }

    #[test]
    fn missing_id() {
        assert_eq!(parse(json!({})).unwrap_err().field, "user_group_id");
    }
}
