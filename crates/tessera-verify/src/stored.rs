//! Where and how the service stores a group, for readers outside the
//! server (a renderer checking revocation in Tessera's Redis): the record
//! is the JSON of [`GroupRecord`], the same in every backend and in export
//! files; in Redis it lives at [`redis_group_key`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::GroupGeneration;
use crate::domain::{GroupId, GroupRecord};

/// The Redis key of a group's record: `<prefix>group:<base64url of the id>`.
pub fn redis_group_key(prefix: &str, id: &GroupId) -> String {
    format!("{prefix}group:{}", URL_SAFE_NO_PAD.encode(id.as_str()))
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
