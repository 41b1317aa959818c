//! The import rules both backends share: which records clash, which are
//! already there, which to write.

use std::collections::HashSet;

use super::StoreError;
use crate::domain::{GroupId, GroupRecord};

/// What to do with one imported record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportAction {
    /// Store it.
    Write,
    /// It is already stored exactly so.
    Skip,
}

/// Refuses a batch that names one `provided_id` or one `team_id` twice.
pub fn check_batch(records: &[GroupRecord]) -> Result<(), StoreError> {
    let mut ids = HashSet::new();
    let mut teams = HashSet::new();
    for (index, record) in records.iter().enumerate() {
        if !ids.insert(&record.provided_id) {
            return Err(StoreError::Conflict(format!(
                "record {}: user_group_id {:?} appears twice",
                index + 1,
                record.provided_id.as_str()
            )));
        }
        if !teams.insert(record.team_id) {
            return Err(StoreError::Conflict(format!(
                "record {}: team_id {} appears twice",
                index + 1,
                record.team_id
            )));
        }
    }
    Ok(())
}

/// The record with its `gen` raised to the group's revocation floor (the
/// lowest `gen` a token may carry after the group was revoked or deleted),
/// so that importing an older export never makes a revoked token verify
/// again: its `gen` is below the floor, and so below the stored `gen`.
pub fn raise_to_floor(record: &GroupRecord, floor: Option<u64>) -> GroupRecord {
    match floor {
        Some(floor) if floor > record.r#gen => GroupRecord {
            r#gen: floor,
            ..record.clone()
        },
        _ => record.clone(),
    }
}

/// Decides for one record, given the stored record with its id and the id
/// of the group holding its `team_id`, if any.
pub fn plan(
    record: &GroupRecord,
    stored: Option<&GroupRecord>,
    team_holder: Option<&GroupId>,
    overwrite: bool,
) -> Result<ImportAction, String> {
    if let Some(holder) = team_holder
        && *holder != record.provided_id
    {
        return Err(format!(
            "team_id {} of {:?} belongs to the stored group {:?}",
            record.team_id,
            record.provided_id.as_str(),
            holder.as_str()
        ));
    }
    match stored {
        None => Ok(ImportAction::Write),
        Some(stored) if stored == record => Ok(ImportAction::Skip),
        Some(_) if overwrite => Ok(ImportAction::Write),
        Some(_) => Err(format!(
            "{:?} is stored with other content (use --overwrite to replace it)",
            record.provided_id.as_str()
        )),
    }
}

/// Turns the clashes found into one error (nothing is written then).
pub fn refuse(clashes: Vec<String>) -> Result<(), StoreError> {
    if clashes.is_empty() {
        return Ok(());
    }
    let shown: Vec<_> = clashes.iter().take(5).cloned().collect();
    let more = clashes.len().saturating_sub(shown.len());
    let suffix = if more > 0 {
        format!(" (and {more} more)")
    } else {
        String::new()
    };
    Err(StoreError::Conflict(format!(
        "nothing imported: {}{suffix}",
        shown.join("; ")
    )))
}
