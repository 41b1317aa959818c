//! JSON parsing that rejects duplicate member names at any depth.
//!
//! `serde_json::Value` silently keeps the last of two equal keys, so
//! `{"user_group_id":"a","user_group_id":"b"}` would mean whatever the
//! parser happened to keep. Requests (and later token payloads) are read
//! with [`from_slice`] instead, which refuses such input outright.
//! Numbers that would not survive parsing unchanged are refused too
//! ([`numbers`]). Not a general JSON library: it only builds a
//! `serde_json::Value`.

mod numbers;

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

/// Parses `bytes` as one JSON value, failing on duplicate member names,
/// numbers that cannot be held exactly, trailing data, or nesting deeper
/// than serde_json's limit (128).
pub fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let value = serde_json::from_slice::<Strict>(bytes)?.0;
    if let Some(problem) = numbers::first_inexact(bytes) {
        return Err(de::Error::custom(problem));
    }
    Ok(value)
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // One look-up per member: the slot found is the one filled.
            match object.entry(key) {
                Entry::Occupied(taken) => {
                    return Err(de::Error::custom(format_args!(
                        "duplicate member name {:?}",
                        taken.key()
                    )));
                }
                Entry::Vacant(slot) => {
                    let Strict(value) = map.next_value()?;
                    slot.insert(value);
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_like_serde_json() {
        let text = br#"{"a":[1,-2,3.5,"x",null,true],"b":{"c":{}}}"#;
        assert_eq!(from_slice(text).ok(), serde_json::from_slice(text).ok());
    }

    #[test]
    fn rejects_duplicates_at_any_depth() {
        assert!(from_slice(br#"{"a":1,"a":2}"#).is_err());
        assert!(from_slice(br#"{"p":{"t":"x","t":"y"}}"#).is_err());
        assert!(from_slice(br#"[{"t":1,"t":1}]"#).is_err());
        assert_eq!(
            from_slice(br#"{"a":{"a":1}}"#).ok(),
            Some(json!({"a":{"a":1}}))
        );
    }

    #[test]
    fn rejects_trailing_data_and_deep_nesting() {
        assert!(from_slice(b"{} {}").is_err());
        let deep = "[".repeat(10_000);
        assert!(from_slice(deep.as_bytes()).is_err());
    }
}
