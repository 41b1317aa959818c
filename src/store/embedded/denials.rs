//! The deny-list in the embedded store: entries by (group, `j:jti` or
//! `s:sid`) with the time they expire, and the same entries ordered by
//! that time so that each new entry sweeps out the expired ones (at most
//! [`SWEEP_BATCH`] per write, which keeps up with any rate of writes).
//! A read treats an entry past its time as absent, whether or not a sweep
//! removed it yet.

use chrono::{DateTime, Utc};
#[cfg(test)]
use redb::ReadableTableMetadata as _;
use redb::{Database, ReadableDatabase as _, ReadableTable as _, TableDefinition};
use tessera_verify::Claims;
use tessera_verify::feed::Denial;

use super::{GROUPS, storage};
use crate::domain::GroupId;
use crate::store::{StoreError, TokenState};

/// (group id, entry label) → when it expires (ms since the epoch).
const DENY: TableDefinition<(&str, &str), u64> = TableDefinition::new("deny_list");
/// (expiry ms, group id, entry label), for the sweep.
const DENY_BY_EXPIRY: TableDefinition<(u64, &str, &str), ()> =
    TableDefinition::new("deny_list_by_expiry");
/// Expired entries removed by one write at most.
const SWEEP_BATCH: usize = 1000;

fn millis(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp_millis()).unwrap_or(0)
}

/// Adds (or extends) one entry and sweeps expired ones, in one transaction.
pub(super) fn put(
    db: &Database,
    id: &GroupId,
    denial: &Denial,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let label = denial.label();
    let (until, now) = (millis(until), millis(now));
    let txn = db.begin_write().map_err(storage)?;
    {
        let mut entries = txn.open_table(DENY).map_err(storage)?;
        let mut by_expiry = txn.open_table(DENY_BY_EXPIRY).map_err(storage)?;
        let previous = entries
            .get((id.as_str(), label.as_str()))
            .map_err(storage)?
            .map(|v| v.value());
        if previous.is_none_or(|previous| previous < until) {
            if let Some(previous) = previous {
                by_expiry
                    .remove((previous, id.as_str(), label.as_str()))
                    .map_err(storage)?;
            }
            entries
                .insert((id.as_str(), label.as_str()), until)
                .map_err(storage)?;
            by_expiry
                .insert((until, id.as_str(), label.as_str()), ())
                .map_err(storage)?;
        }
        let mut expired = Vec::new();
        for entry in by_expiry
            .range((0, "", "")..(now, "", ""))
            .map_err(storage)?
        {
            let (key, _) = entry.map_err(storage)?;
            let (at, group, label) = key.value();
            expired.push((at, group.to_owned(), label.to_owned()));
            if expired.len() >= SWEEP_BATCH {
                break;
            }
        }
        for (at, group, label) in &expired {
            by_expiry
                .remove((*at, group.as_str(), label.as_str()))
                .map_err(storage)?;
            entries
                .remove((group.as_str(), label.as_str()))
                .map_err(storage)?;
        }
    }
    txn.commit().map_err(storage)
}

/// The token's group and whether its `jti` or `sid` is denied at `now`.
pub(super) fn token_state(
    db: &Database,
    claims: &Claims,
    now: DateTime<Utc>,
) -> Result<TokenState, StoreError> {
    let txn = db.begin_read().map_err(storage)?;
    let stored = txn
        .open_table(GROUPS)
        .map_err(storage)?
        .get(claims.sub.as_str())
        .map_err(storage)?
        .map(|bytes| bytes.value().to_vec());
    let now = millis(now);
    let entries = txn.open_table(DENY).map_err(storage)?;
    let mut denied = false;
    for denial in Denial::of(claims) {
        let until = entries
            .get((claims.sub.as_str(), denial.label().as_str()))
            .map_err(storage)?;
        denied |= until.is_some_and(|until| until.value() > now);
    }
    Ok(TokenState { stored, denied })
}

/// How many entries the list holds (expired ones not yet swept included).
#[cfg(test)]
pub(super) fn held(db: &Database) -> Result<u64, StoreError> {
    let txn = db.begin_read().map_err(storage)?;
    let entries = txn.open_table(DENY).map_err(storage)?;
    entries.len().map_err(storage)
}

/// Creates the tables (at open, so readers always find them).
pub(super) fn create_tables(txn: &redb::WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(DENY)?;
    txn.open_table(DENY_BY_EXPIRY)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, Utc};
    use tessera_verify::feed::Denial;
    use tessera_verify::{SessionId, TokenId};

    use super::{held, put};
    use crate::domain::GroupId;
    use crate::store::EmbeddedStore;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    #[test]
    fn entries_are_swept_once_expired_and_never_shortened() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let db = store.db.current().unwrap();
        let db = db.as_ref();
        let group = GroupId::parse("g").unwrap();
        let token = Denial::Token(TokenId::parse("t".repeat(22)).unwrap());
        let session = Denial::Session(SessionId::parse("s".repeat(22)).unwrap());
        put(db, &group, &token, at(100), at(0)).unwrap();
        // A shorter expiry does not shorten the entry.
        put(db, &group, &token, at(50), at(0)).unwrap();
        put(db, &group, &session, at(200), at(0)).unwrap();
        assert_eq!(held(db).unwrap(), 2);
        // A write after the first expiry sweeps it out, not the other.
        let other = Denial::Token(TokenId::parse("u".repeat(22)).unwrap());
        put(db, &group, &other, at(300), at(150)).unwrap();
        assert_eq!(held(db).unwrap(), 2);
        put(db, &group, &other, at(300), at(250) + TimeDelta::seconds(1)).unwrap();
        assert_eq!(held(db).unwrap(), 1);
    }
}
