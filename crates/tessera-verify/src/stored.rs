//! Where and how the service stores a group, for readers outside the
//! server (a renderer checking revocation in Tessera's Redis): the record
//! is the JSON of [`GroupRecord`], the same in every backend and in export
//! files; in Redis it lives at [`redis_group_key`], and each deny-list
//! entry of the group at [`redis_denial_key`] (a key that expires with
//! what it covers).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::GroupGeneration;
use crate::domain::{GroupId, GroupRecord};
use crate::feed::Denial;

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

/// `{<group key>}`: the hash tag that puts a key in the group record's
/// Cluster slot.
pub fn redis_group_slot_tag(prefix: &str, id: &GroupId) -> String {
    format!("{{{}}}", redis_group_key(prefix, id))
}

/// A stored record, read back (every rule of the record checked again).
pub fn decode_record(bytes: &[u8]) -> Result<GroupRecord, serde_json::Error> {
    serde_json::from_slice(bytes)
}

/// The generation a stored record gives its tokens.
pub fn generation(record: &GroupRecord) -> GroupGeneration {
    GroupGeneration {
        team_id: record.team_id.get(),
        r#gen: record.r#gen,
    }
}
