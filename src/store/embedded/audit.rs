//! The audit trail in the embedded store: events by (group, ms, sequence),
//! a per-group count that trims the oldest event past the retention, and
//! verification counts by (group, hour), trimmed to the latest hours when a
//! new hour is added. The count table doubles as the list of groups with a
//! trail, deleted ones included.

use chrono::{DateTime, Utc};
use redb::{Database, ReadableDatabase as _, ReadableTable as _, TableDefinition};

use super::storage;
use crate::audit::{AuditEntry, AuditEvent, HourCount};
use crate::domain::GroupId;
use crate::store::audit::{decode_event, encode_event, newest_hours};
use crate::store::{FeedCursor, StoreError};

/// (group, ms, sequence) → the event's JSON.
const EVENTS: TableDefinition<(&str, u64, u64), &str> = TableDefinition::new("audit_events");
/// group → how many events it holds.
const HELD: TableDefinition<&str, u64> = TableDefinition::new("audit_held");
/// (group, hour start) → successful verifications.
const VERIFIED: TableDefinition<(&str, i64), u64> = TableDefinition::new("audit_verified");

/// Creates the tables (at open, so readers always find them).
pub(super) fn create_tables(txn: &redb::WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(EVENTS)?;
    txn.open_table(HELD)?;
    txn.open_table(VERIFIED)?;
    Ok(())
}

pub(super) fn append(
    db: &Database,
    batch: &[(GroupId, AuditEvent)],
    keep: usize,
    now: DateTime<Utc>,
) -> Result<Vec<FeedCursor>, StoreError> {
    // One transaction (one commit, one fsync) for the whole batch.
    let txn = db.begin_write().map_err(storage)?;
    let cursors = {
        let mut events = txn.open_table(EVENTS).map_err(storage)?;
        let mut held = txn.open_table(HELD).map_err(storage)?;
        batch
            .iter()
            .map(|(id, event)| append_one(&mut events, &mut held, id, event, keep, now))
            .collect::<Result<Vec<_>, _>>()?
    };
    txn.commit().map_err(storage)?;
    Ok(cursors)
}

fn append_one(
    events: &mut redb::Table<'_, (&'static str, u64, u64), &'static str>,
    held: &mut redb::Table<'_, &'static str, u64>,
    id: &GroupId,
    event: &AuditEvent,
    keep: usize,
    now: DateTime<Utc>,
) -> Result<FeedCursor, StoreError> {
    let text = encode_event(event)?;
    let group = id.as_str();
    let last = end_of(events, group, End::Newest)?;
    // Positions only grow, even if the clock steps back.
    let ms = crate::store::feed::millis(now).max(last.map_or(0, |(ms, _)| ms));
    let seq = match last {
        Some((last_ms, last_seq)) if last_ms == ms => last_seq + 1,
        _ => 0,
    };
    events
        .insert((group, ms, seq), text.as_str())
        .map_err(storage)?;
    let mut count = held.get(group).map_err(storage)?.map_or(0, |v| v.value()) + 1;
    let keep = u64::try_from(keep).unwrap_or(u64::MAX);
    while count > keep {
        let oldest = end_of(events, group, End::Oldest)?;
        let Some((ms, seq)) = oldest else { break };
        events.remove((group, ms, seq)).map_err(storage)?;
        count -= 1;
    }
    held.insert(group, count).map_err(storage)?;
    Ok(FeedCursor { ms, seq })
}

/// Which end of a group's events.
enum End {
    Oldest,
    Newest,
}

/// The position (ms, sequence) of a group's oldest or newest event.
fn end_of(
    events: &redb::Table<(&str, u64, u64), &str>,
    group: &str,
    end: End,
) -> Result<Option<(u64, u64)>, StoreError> {
    let mut range = events
        .range((group, 0, 0)..=(group, u64::MAX, u64::MAX))
        .map_err(storage)?;
    let found = match end {
        End::Oldest => range.next(),
        End::Newest => range.next_back(),
    };
    Ok(found.transpose().map_err(storage)?.map(|(key, _)| {
        let (_, ms, seq) = key.value();
        (ms, seq)
    }))
}

pub(super) fn page(
    db: &Database,
    id: &GroupId,
    before: Option<FeedCursor>,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let group = id.as_str();
    let txn = db.begin_read().map_err(storage)?;
    let events = txn.open_table(EVENTS).map_err(storage)?;
    let end = before.map_or((group, u64::MAX, u64::MAX), |c| (group, c.ms, c.seq));
    let mut entries = Vec::new();
    for entry in events.range((group, 0, 0)..=end).map_err(storage)?.rev() {
        let (key, value) = entry.map_err(storage)?;
        let (_, ms, seq) = key.value();
        let cursor = FeedCursor { ms, seq };
        if before == Some(cursor) {
            continue;
        }
        entries.push(AuditEntry {
            cursor,
            event: decode_event(value.value())?,
        });
        if entries.len() >= limit {
            break;
        }
    }
    Ok(entries)
}

pub(super) fn add_verifications(
    db: &Database,
    counts: &[HourCount],
    keep_hours: usize,
) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(storage)?;
    {
        let mut verified = txn.open_table(VERIFIED).map_err(storage)?;
        for HourCount { id, hour, count } in counts {
            let group = id.as_str();
            let before = verified
                .get((group, *hour))
                .map_err(storage)?
                .map(|v| v.value());
            verified
                .insert((group, *hour), before.unwrap_or(0).saturating_add(*count))
                .map_err(storage)?;
            if before.is_some() {
                continue;
            }
            // A new hour: drop the oldest beyond the kept ones.
            let hours: Vec<i64> = verified
                .range((group, i64::MIN)..=(group, i64::MAX))
                .map_err(storage)?
                .map(|entry| entry.map(|(key, _)| key.value().1))
                .collect::<Result<_, _>>()
                .map_err(storage)?;
            for old in hours.iter().take(hours.len().saturating_sub(keep_hours)) {
                verified.remove((group, *old)).map_err(storage)?;
            }
        }
    }
    txn.commit().map_err(storage)
}

pub(super) fn verification_counts(
    db: &Database,
    id: &GroupId,
    limit: usize,
) -> Result<Vec<(i64, u64)>, StoreError> {
    let group = id.as_str();
    let txn = db.begin_read().map_err(storage)?;
    let verified = txn.open_table(VERIFIED).map_err(storage)?;
    let hours = verified
        .range((group, i64::MIN)..=(group, i64::MAX))
        .map_err(storage)?
        .rev()
        .take(limit)
        .map(|entry| entry.map(|(key, value)| (key.value().1, value.value())))
        .collect::<Result<Vec<_>, _>>()
        .map_err(storage)?;
    Ok(newest_hours(hours, limit))
}

pub(super) fn groups(
    db: &Database,
    after: Option<&GroupId>,
    limit: usize,
) -> Result<Vec<GroupId>, StoreError> {
    let txn = db.begin_read().map_err(storage)?;
    let held = txn.open_table(HELD).map_err(storage)?;
    let mut groups = Vec::new();
    let start = after.map_or("", GroupId::as_str);
    for entry in held.range(start..).map_err(storage)? {
        let (key, _) = entry.map_err(storage)?;
        if Some(key.value()) == after.map(GroupId::as_str) {
            continue;
        }
        groups.push(
            GroupId::parse(key.value())
                .map_err(|err| StoreError::Corrupt(format!("audit group: {err}")))?,
        );
        if groups.len() >= limit {
            break;
        }
    }
    Ok(groups)
}
