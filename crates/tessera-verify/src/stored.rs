//! Where and how the service stores a group, for readers outside the
//! server (a renderer checking revocation in Tessera's Redis): the record
//! is the JSON of [`GroupRecord`], the same in every backend and in export
//! files; in Redis it lives at [`redis_group_key`], and each deny-list
//! entry of the group at [`redis_denial_key`] (a key that expires with
//! what it covers).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::{GroupId, GroupRecord};
use crate::feed::Denial;
use crate::{Claims, GroupGeneration};

/// The Redis key of a group's record: `<prefix>group:<base64url of the id>`.
pub fn redis_group_key(prefix: &str, id: &GroupId) -> String {
    let mut key = String::with_capacity(group_key_len(prefix, id));
    push_group_key(&mut key, prefix, id);
    key
}

/// A key in the group record's Cluster slot: `{<group key>}:` followed by
/// `parts`. The record's key is the hash tag (prefixes cannot hold braces).
pub fn redis_group_slot_key(prefix: &str, id: &GroupId, parts: &[&str]) -> String {
    let tail: usize = parts.iter().map(|part| part.len()).sum();
    let mut key = String::with_capacity(group_key_len(prefix, id) + 3 + tail);
    key.push('{');
    push_group_key(&mut key, prefix, id);
    key.push_str("}:");
    for part in parts {
        key.push_str(part);
    }
    key
}

fn push_group_key(key: &mut String, prefix: &str, id: &GroupId) {
    key.push_str(prefix);
    key.push_str("group:");
    URL_SAFE_NO_PAD.encode_string(id.as_str(), key);
}

fn group_key_len(prefix: &str, id: &GroupId) -> usize {
    prefix.len() + "group:".len() + id.as_str().len().div_ceil(3) * 4
}

/// The Redis key of one deny-list entry of a group:
/// `{<group key>}:deny:<j:jti | s:sid>`, in the record's slot: one `MGET`
/// reads the record and the entries together (an entry's value is `1`; it
/// exists only while it denies).
pub fn redis_denial_key(prefix: &str, id: &GroupId, denial: &Denial) -> String {
    let (kind, entry) = denial.label_parts();
    denial_key(prefix, id, kind, entry)
}

/// The one format of a deny-list key: `kind` is a [`Denial`] label start.
fn denial_key(prefix: &str, id: &GroupId, kind: &str, entry: &str) -> String {
    redis_group_slot_key(prefix, id, &["deny:", kind, entry])
}

/// The keys a token's revocation check reads with one `MGET`: the group's
/// record first, then the deny-list entries of the token's `jti` and `sid`
/// (the keys of [`Denial::of`] the claims, written without building them).
pub fn redis_token_keys(prefix: &str, claims: &Claims) -> Vec<String> {
    let mut keys = Vec::with_capacity(3);
    keys.push(redis_group_key(prefix, &claims.sub));
    keys.push(denial_key(
        prefix,
        &claims.sub,
        Denial::TOKEN_LABEL,
        claims.jti.as_str(),
    ));
    if let Some(sid) = &claims.sid {
        keys.push(denial_key(
            prefix,
            &claims.sub,
            Denial::SESSION_LABEL,
            sid.as_str(),
        ));
    }
    keys
}

/// The `MGET` answer for [`redis_token_keys`]: the stored record, if any,
/// and whether any deny-list entry exists.
pub fn token_values(mut values: Vec<Option<Vec<u8>>>) -> (Option<Vec<u8>>, bool) {
    let denied = values.iter().skip(1).any(Option::is_some);
    (values.first_mut().and_then(Option::take), denied)
}

/// A stored record, read back (every rule of the record checked again).
pub fn decode_record(bytes: &[u8]) -> Result<GroupRecord, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// The generation of a stored record, read without decoding (and
/// checking) the rest of it: what a revocation check needs, at a fraction
/// of [`decode_record`]'s cost.
pub fn decode_generation(bytes: &[u8]) -> Result<GroupGeneration, serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct Generation {
        team_id: u64,
        r#gen: u64,
    }
    let Generation { team_id, r#gen } = serde_json::from_slice(bytes)?;
    Ok(GroupGeneration { team_id, r#gen })
}

/// The generation a stored record gives its tokens.
pub fn generation(record: &GroupRecord) -> GroupGeneration {
    GroupGeneration {
        team_id: record.team_id.get(),
        r#gen: record.r#gen,
    }
}

#[cfg(test)]
mod tests {
    use super::{decode_generation, decode_record, generation};
    use super::{redis_denial_key, redis_group_key, redis_group_slot_key, redis_token_keys};
    use crate::domain::GroupId;
    use crate::feed::Denial;

    #[test]
    fn keys_are_the_documented_text_and_a_token_reads_the_keys_of_its_denials() {
        let id = GroupId::parse("example_1").unwrap();
        assert_eq!(redis_group_key("t:", &id), "t:group:ZXhhbXBsZV8x");
        let long = GroupId::parse("a".repeat(256)).unwrap();
        let key = redis_group_key("", &long);
        assert_eq!(key.len(), "group:".len() + 342);
        assert_eq!(
            redis_group_slot_key("t:", &id, &["audit"]),
            "{t:group:ZXhhbXBsZV8x}:audit"
        );
        let claims: crate::Claims = serde_json::from_value(serde_json::json!({
            "iss": "i", "aud": "a", "sub": "example_1", "iat": 1, "nbf": 1, "exp": 2,
            "jti": "abcdefghijklmnop", "team_id": 1, "name": "n", "mapping": {},
            "properties": null, "gen": 1, "sid": "qrstuvwxyzabcdef", "sst": 1
        }))
        .unwrap();
        let mut expected = vec![redis_group_key("t:", &id)];
        expected.extend(
            Denial::of(&claims)
                .iter()
                .map(|denial| redis_denial_key("t:", &id, denial)),
        );
        assert_eq!(redis_token_keys("t:", &claims), expected);
        assert_eq!(
            expected[1..],
            [
                "{t:group:ZXhhbXBsZV8x}:deny:j:abcdefghijklmnop",
                "{t:group:ZXhhbXBsZV8x}:deny:s:qrstuvwxyzabcdef"
            ]
        );
    }

    #[test]
    fn the_generation_alone_matches_the_whole_record() {
        let stored = br#"{"team_id":7,"provided_id":"g","name":"G","mapping":{"40":"213"},"properties":{"t":"x"},"gen":3,"created_at":"2026-11-30T00:00:00Z","updated_at":"2026-11-30T00:00:00Z"}"#;
        let whole = decode_record(stored).map(|record| generation(&record));
        assert_eq!(decode_generation(stored).ok(), whole.ok());
        assert_eq!(
            decode_generation(stored).map(|g| (g.team_id, g.r#gen)).ok(),
            Some((7, 3))
        );
        for bad in [
            &b"{}"[..],
            b"{\"team_id\":1}",
            b"{\"team_id\":\"1\",\"gen\":1}",
            b"not json",
        ] {
            assert!(decode_generation(bad).is_err());
        }
    }
}
