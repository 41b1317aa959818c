//! What both backends share of the audit trail: the stored form of an
//! event (its JSON) and the ordering of verification counts.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::StoreError;
use crate::audit::AuditEvent;
use crate::domain::GroupId;

/// A stored event, read back.
pub fn decode_event(text: &str) -> Result<AuditEvent, StoreError> {
    serde_json::from_str(text).map_err(|err| StoreError::Corrupt(format!("audit event: {err}")))
}

/// The stored text of an event.
pub fn encode_event(event: &AuditEvent) -> Result<String, StoreError> {
    serde_json::to_string(event).map_err(|err| StoreError::Corrupt(err.to_string()))
}

/// The latest `limit` of (hour, count) pairs, newest first.
pub fn newest_hours(mut hours: Vec<(i64, u64)>, limit: usize) -> Vec<(i64, u64)> {
    hours.sort_unstable_by_key(|&(hour, _)| std::cmp::Reverse(hour));
    hours.truncate(limit);
    hours
}

/// A group id stored base64url-encoded (as in Redis keys).
pub fn decode_index_member(member: &str) -> Result<GroupId, StoreError> {
    let corrupt = || StoreError::Corrupt(format!("audit index member {member:?}"));
    let bytes = URL_SAFE_NO_PAD.decode(member).map_err(|_| corrupt())?;
    let text = String::from_utf8(bytes).map_err(|_| corrupt())?;
    GroupId::parse(text).map_err(|_| corrupt())
}
