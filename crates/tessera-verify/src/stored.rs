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
    format!("{prefix}group:{}", URL_SAFE_NO_PAD.encode(id.as_str()))
}

/// The Redis key of one deny-list entry of a group:
/// `{<group key>}:deny:<j:jti | s:sid>`. The group's record key is the
/// Cluster hash tag (prefixes cannot hold braces), so the entries live in
/// the record's slot: one `MGET` reads the record and the entries together
/// (an entry's value is `1`; it exists only while it denies).
pub fn redis_denial_key(prefix: &str, id: &GroupId, denial: &Denial) -> String {
    format!(
        "{}:deny:{}",
        redis_group_slot_tag(prefix, id),
        denial.label()
    )
}

/// The keys a token's revocation check reads with one `MGET`: the group's
/// record first, then the deny-list entries of the token's `jti` and `sid`.
pub fn redis_token_keys(prefix: &str, claims: &Claims) -> Vec<String> {
    let mut keys = vec![redis_group_key(prefix, &claims.sub)];
    keys.extend(
        Denial::of(claims)
            .iter()
            .map(|denial| redis_denial_key(prefix, &claims.sub, denial)),
    );
    keys
}

/// The `MGET` answer for [`redis_token_keys`]: the stored record, if any,
/// and whether any deny-list entry exists.
pub fn token_values(mut values: Vec<Option<Vec<u8>>>) -> (Option<Vec<u8>>, bool) {
    let denied = values.iter().skip(1).any(Option::is_some);
    (values.first_mut().and_then(Option::take), denied)
}

/// `{<group key>}`: the hash tag that puts a key in the group record's
/// Cluster slot.
pub fn redis_group_slot_tag(prefix: &str, id: &GroupId) -> String {
    format!("{{{}}}", redis_group_key(prefix, id))
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
