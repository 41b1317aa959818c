//! The embedded backend: a redb file under the data directory, the default
//! when no Redis is configured, so that the service runs on a bare machine.
//!
//! Writes are redb transactions committed with immediate durability (an
//! acknowledged write survives a crash). redb allows one writer at a time,
//! which makes get-or-create atomic; a get-or-create that changes nothing
//! only reads. A `LOCK` file held for the life of the store keeps a second
//! process away from the same directory.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod audit;
mod denials;
mod handle;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{Database, ReadableDatabase as _, ReadableTable as _, TableDefinition};

use self::handle::{Access, DbHandle};
use super::codec::{decode, encode};
use super::feed;
use super::import::{ImportAction, check_batch, plan, raise_to_floor, refuse};
use super::outage::OutageLog;
use super::{FeedCursor, FeedEntry};
use super::{GroupStore, ImportReport, StoreError, TokenState, Upserted};
use crate::audit::{AuditEntry, AuditEvent, HourCount};
use crate::auth::{ApiKeyHash, ApiKeyName, ApiKeyRecord};
use crate::domain::{GroupId, GroupRecord, GroupUpsert, TeamId};
use tessera_verify::Claims;
use tessera_verify::feed::{Denial, Revocation};

/// `provided_id` → the record as JSON.
const GROUPS: TableDefinition<&str, &[u8]> = TableDefinition::new("groups");
/// `team_id` → `provided_id`, for listing in `team_id` order.
const BY_TEAM: TableDefinition<u64, &str> = TableDefinition::new("groups_by_team");
/// Counters: `team_id_seq`.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// `provided_id` → the group's revocation floor: the lowest `gen` a token
/// may carry after a revoke or delete. Never lowered; import raises a
/// record's `gen` to it.
const REVOKED_GEN: TableDefinition<&str, u64> = TableDefinition::new("revoked_gen");
/// `ring` → the signing key ring document (sealed keys).
const KEY_RING: TableDefinition<&str, &str> = TableDefinition::new("key_ring");
const RING: &str = "ring";
/// SHA-256 hex of an API key → its record as JSON.
const API_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("api_keys");
/// (milliseconds, sequence) → a revocation of the feed, as JSON.
const FEED: TableDefinition<(u64, u64), &str> = TableDefinition::new("revocation_feed");

const TEAM_SEQ: &str = "team_id_seq";
const DATABASE_FILE: &str = "tessera.redb";
const LOCK_FILE: &str = "LOCK";

/// The redb-backed [`GroupStore`].
pub struct EmbeddedStore {
    db: Arc<DbHandle>,
    /// Logs an outage (a full disk, say) once when it starts and once
    /// when it ends.
    outage: Arc<OutageLog>,
    dir: PathBuf,
    /// Held (and locked) for the life of the store.
    _lock: File,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in `dir`. Fails with a message
    /// naming the directory when another process holds it, or when the
    /// file cannot be read as a database.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_dir(dir, None).map_err(StoreError::Open)
    }

    /// As [`open`](Self::open), with a page cache of at most `bytes`
    /// rather than the database's default (1 GiB): for batch commands that
    /// read or write every group once and gain nothing from keeping pages.
    pub fn open_with_cache(dir: &Path, bytes: usize) -> Result<Self, StoreError> {
        Self::open_dir(dir, Some(bytes)).map_err(StoreError::Open)
    }

    fn open_dir(dir: &Path, cache: Option<usize>) -> Result<Self, String> {
        let shown = dir.display();
        crate::private_fs::create_dir(dir).map_err(|err| dir_error(dir, &err))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))
            .map_err(|err| dir_error(dir, &err))?;
        crate::private_fs::restrict_file(&dir.join(LOCK_FILE))
            .map_err(|err| dir_error(dir, &err))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(format!(
                    "data directory {shown} is in use by another process (a running `tessera serve`?). \
                     Stop it first; to back up a running service instead, use its online export: \
                     curl -H \"Authorization: Token $API_KEY\" http://<listen address>/api/users/export > groups.jsonl"
                ));
            }
            Err(TryLockError::Error(err)) => return Err(dir_error(dir, &err)),
        }
        let path = dir.join(DATABASE_FILE);
        let opened = std::panic::catch_unwind(|| DbHandle::open(&path, cache, true));
        let handle = match opened {
            Ok(Ok(handle)) => handle,
            Ok(Err(err)) => {
                return Err(format!(
                    "{}: cannot open the database: {err}",
                    path.display()
                ));
            }
            Err(_) => return Err(format!("{}: the database file is corrupt", path.display())),
        };
        crate::private_fs::restrict_file(&path)
            .map_err(|err| format!("{}: {err}", path.display()))?;
        let db = handle
            .current()
            .ok_or_else(|| format!("{}: cannot open the database", path.display()))?;
        let txn = db.begin_write().map_err(|err| err.to_string())?;
        {
            txn.open_table(GROUPS).map_err(|err| err.to_string())?;
            txn.open_table(BY_TEAM).map_err(|err| err.to_string())?;
            txn.open_table(META).map_err(|err| err.to_string())?;
            txn.open_table(API_KEYS).map_err(|err| err.to_string())?;
            txn.open_table(REVOKED_GEN).map_err(|err| err.to_string())?;
            txn.open_table(KEY_RING).map_err(|err| err.to_string())?;
            txn.open_table(FEED).map_err(|err| err.to_string())?;
            denials::create_tables(&txn).map_err(|err| err.to_string())?;
            audit::create_tables(&txn).map_err(|err| err.to_string())?;
        }
        txn.commit().map_err(|err| err.to_string())?;
        drop(db);
        Ok(Self {
            db: Arc::new(handle),
            outage: Arc::new(OutageLog::new(format!("embedded store in {shown}"))),
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    /// Runs blocking database work that writes off the async threads.
    /// After an I/O error writes are paused for a moment, then tried
    /// again (see [`handle`]).
    async fn run<T: Send + 'static>(
        &self,
        work: impl Fn(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.call(Access::Write, work).await
    }

    /// Runs blocking database work that only reads off the async threads;
    /// after an I/O error it runs once more on the reopened database.
    async fn read<T: Send + 'static>(
        &self,
        work: impl Fn(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.call(Access::Read, work).await
    }

    async fn call<T: Send + 'static>(
        &self,
        access: Access,
        work: impl Fn(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let handle = self.db.clone();
        let outage = self.outage.clone();
        tokio::task::spawn_blocking(move || {
            let outcome = handle.call(access, work);
            outage.observe(&outcome);
            outcome
        })
        .await
        .map_err(|err| StoreError::Corrupt(format!("embedded store task failed: {err}")))?
    }
}

/// Why the data directory cannot be used, for the start-up error.
fn dir_error(dir: &Path, err: &std::io::Error) -> String {
    let shown = dir.display();
    match err.kind() {
        std::io::ErrorKind::ReadOnlyFilesystem => format!(
            "data directory {shown} is on a read-only file system; the embedded store must write there"
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "data directory {shown} is not writable by this user; the embedded store must write there"
        ),
        _ => format!("data directory {shown}: {err}"),
    }
}

fn storage(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("embedded store: {err}"))
}

/// Raises the revocation floor of `id` to at least `floor`.
fn raise_floor(txn: &redb::WriteTransaction, id: &str, floor: u64) -> Result<(), StoreError> {
    let mut floors = txn.open_table(REVOKED_GEN).map_err(storage)?;
    let current = floors.get(id).map_err(storage)?.map_or(0, |v| v.value());
    if floor > current {
        floors.insert(id, floor).map_err(storage)?;
    }
    Ok(())
}

fn read_group(db: &Database, id: &str) -> Result<Option<GroupRecord>, StoreError> {
    let txn = db.begin_read().map_err(storage)?;
    let table = txn.open_table(GROUPS).map_err(storage)?;
    let found = table.get(id).map_err(storage)?;
    found.map(|bytes| decode(bytes.value())).transpose()
}

/// Stores `record`, keeping the `team_id` index right.
fn write_group(
    groups: &mut redb::Table<&str, &[u8]>,
    by_team: &mut redb::Table<u64, &str>,
    record: &GroupRecord,
    replaced: Option<&GroupRecord>,
) -> Result<(), StoreError> {
    if let Some(old) = replaced.filter(|old| old.team_id != record.team_id) {
        by_team.remove(old.team_id.get()).map_err(storage)?;
    }
    let id = record.provided_id.as_str();
    groups
        .insert(id, encode(record)?.as_bytes())
        .map_err(storage)?;
    by_team.insert(record.team_id.get(), id).map_err(storage)?;
    Ok(())
}

#[async_trait]
impl GroupStore for EmbeddedStore {
    async fn upsert(
        &self,
        change: &GroupUpsert,
        now: DateTime<Utc>,
    ) -> Result<Upserted, StoreError> {
        let change = Arc::new(change.clone());
        // Most calls change nothing: they only read (and keep working
        // while writes are refused).
        let unchanged = {
            let change = change.clone();
            self.read(move |db| {
                Ok(read_group(db, change.id.as_str())?
                    .filter(|record| record.apply(&change, now).is_none()))
            })
            .await?
        };
        if let Some(record) = unchanged {
            return Ok(Upserted {
                record,
                created: false,
            });
        }
        self.run(move |db| {
            let txn = db.begin_write().map_err(storage)?;
            let outcome = {
                let mut groups = txn.open_table(GROUPS).map_err(storage)?;
                let mut by_team = txn.open_table(BY_TEAM).map_err(storage)?;
                let stored = groups
                    .get(change.id.as_str())
                    .map_err(storage)?
                    .map(|bytes| decode::<GroupRecord>(bytes.value()))
                    .transpose()?;
                match stored {
                    Some(record) => match record.apply(&change, now) {
                        None => Upserted {
                            record,
                            created: false,
                        },
                        Some(next) => {
                            next.check_token_room(&change)
                                .map_err(StoreError::Invalid)?;
                            write_group(&mut groups, &mut by_team, &next, Some(&record))?;
                            Upserted {
                                record: next,
                                created: false,
                            }
                        }
                    },
                    None => {
                        let mut meta = txn.open_table(META).map_err(storage)?;
                        let last = meta
                            .get(TEAM_SEQ)
                            .map_err(storage)?
                            .map_or(0, |v| v.value());
                        let team = TeamId::new(last + 1)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                        meta.insert(TEAM_SEQ, team.get()).map_err(storage)?;
                        let record = GroupRecord::create(team, &change, now);
                        record
                            .check_token_room(&change)
                            .map_err(StoreError::Invalid)?;
                        write_group(&mut groups, &mut by_team, &record, None)?;
                        Upserted {
                            record,
                            created: true,
                        }
                    }
                }
            };
            txn.commit().map_err(storage)?;
            Ok(outcome)
        })
        .await
    }

    async fn get(&self, id: &GroupId) -> Result<Option<GroupRecord>, StoreError> {
        let id = id.clone();
        self.read(move |db| read_group(db, id.as_str())).await
    }

    async fn delete(&self, id: &GroupId) -> Result<bool, StoreError> {
        let id = id.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(storage)?;
            let removed = {
                let mut groups = txn.open_table(GROUPS).map_err(storage)?;
                let mut by_team = txn.open_table(BY_TEAM).map_err(storage)?;
                let old = groups
                    .remove(id.as_str())
                    .map_err(storage)?
                    .map(|bytes| decode::<GroupRecord>(bytes.value()))
                    .transpose()?;
                if let Some(old) = &old {
                    by_team.remove(old.team_id.get()).map_err(storage)?;
                    raise_floor(&txn, id.as_str(), old.r#gen.saturating_add(1))?;
                }
                old.is_some()
            };
            txn.commit().map_err(storage)?;
            Ok(removed)
        })
        .await
    }

    async fn bump_gen(
        &self,
        id: &GroupId,
        now: DateTime<Utc>,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let id = id.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(storage)?;
            let updated = {
                let mut groups = txn.open_table(GROUPS).map_err(storage)?;
                let stored = groups
                    .get(id.as_str())
                    .map_err(storage)?
                    .map(|bytes| decode::<GroupRecord>(bytes.value()))
                    .transpose()?;
                match stored {
                    None => None,
                    Some(record) => {
                        let next = record.revoked(now);
                        raise_floor(&txn, id.as_str(), next.r#gen)?;
                        groups
                            .insert(id.as_str(), encode(&next)?.as_bytes())
                            .map_err(storage)?;
                        Some(next)
                    }
                }
            };
            txn.commit().map_err(storage)?;
            Ok(updated)
        })
        .await
    }

    async fn list(
        &self,
        after: Option<TeamId>,
        limit: usize,
    ) -> Result<Vec<GroupRecord>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(storage)?;
            let by_team = txn.open_table(BY_TEAM).map_err(storage)?;
            let groups = txn.open_table(GROUPS).map_err(storage)?;
            let start = after.map_or(0, TeamId::get).saturating_add(1);
            let mut out = Vec::new();
            for entry in by_team.range(start..).map_err(storage)?.take(limit) {
                let (_, id) = entry.map_err(storage)?;
                if let Some(bytes) = groups.get(id.value()).map_err(storage)? {
                    out.push(decode(bytes.value())?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn import(
        &self,
        records: &[GroupRecord],
        overwrite: bool,
    ) -> Result<ImportReport, StoreError> {
        check_batch(records)?;
        let records = records.to_vec();
        self.run(move |db| {
            let txn = db.begin_write().map_err(storage)?;
            let mut report = ImportReport::default();
            {
                let mut groups = txn.open_table(GROUPS).map_err(storage)?;
                let mut by_team = txn.open_table(BY_TEAM).map_err(storage)?;
                let floors = txn.open_table(REVOKED_GEN).map_err(storage)?;
                let mut clashes = Vec::new();
                let mut writes = Vec::new();
                for record in &records {
                    let floor = floors
                        .get(record.provided_id.as_str())
                        .map_err(storage)?
                        .map(|v| v.value());
                    let record = raise_to_floor(record, floor);
                    let stored = groups
                        .get(record.provided_id.as_str())
                        .map_err(storage)?
                        .map(|bytes| decode::<GroupRecord>(bytes.value()))
                        .transpose()?;
                    let holder = by_team
                        .get(record.team_id.get())
                        .map_err(storage)?
                        .map(|id| GroupId::parse(id.value()))
                        .transpose()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    match plan(&record, stored.as_ref(), holder.as_ref(), overwrite) {
                        Ok(ImportAction::Write) => writes.push((record, stored)),
                        Ok(ImportAction::Skip) => report.unchanged += 1,
                        Err(clash) => clashes.push(clash),
                    }
                }
                refuse(clashes)?;
                for (record, stored) in writes {
                    write_group(&mut groups, &mut by_team, &record, stored.as_ref())?;
                    report.written += 1;
                }
                let mut meta = txn.open_table(META).map_err(storage)?;
                let last = meta
                    .get(TEAM_SEQ)
                    .map_err(storage)?
                    .map_or(0, |v| v.value());
                let highest = records.iter().map(|r| r.team_id.get()).max().unwrap_or(0);
                meta.insert(TEAM_SEQ, last.max(highest)).map_err(storage)?;
            }
            txn.commit().map_err(storage)?;
            Ok(report)
        })
        .await
    }

    async fn token_state(
        &self,
        claims: &Claims,
        now: DateTime<Utc>,
    ) -> Result<TokenState, StoreError> {
        let claims = claims.clone();
        self.read(move |db| denials::token_state(db, &claims, now))
            .await
    }

    async fn deny(
        &self,
        id: &GroupId,
        denial: &Denial,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (id, denial) = (id.clone(), denial.clone());
        self.run(move |db| denials::put(db, &id, &denial, until, now))
            .await
    }

    async fn append_audit(
        &self,
        events: &[(GroupId, AuditEvent)],
        keep: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<FeedCursor>, StoreError> {
        let events = events.to_vec();
        self.run(move |db| audit::append(db, &events, keep, now))
            .await
    }

    async fn audit_events(
        &self,
        id: &GroupId,
        before: Option<FeedCursor>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let id = id.clone();
        self.read(move |db| audit::page(db, &id, before, limit))
            .await
    }

    async fn add_verifications(
        &self,
        counts: &[HourCount],
        keep_hours: usize,
    ) -> Result<(), StoreError> {
        let counts = counts.to_vec();
        self.run(move |db| audit::add_verifications(db, &counts, keep_hours))
            .await
    }

    async fn verification_counts(
        &self,
        id: &GroupId,
        limit: usize,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        let id = id.clone();
        self.read(move |db| audit::verification_counts(db, &id, limit))
            .await
    }

    async fn audited_groups(
        &self,
        after: Option<&GroupId>,
        limit: usize,
    ) -> Result<Vec<GroupId>, StoreError> {
        let after = after.cloned();
        self.read(move |db| audit::groups(db, after.as_ref(), limit))
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|db| db.begin_read().map(|_| ()).map_err(storage))
            .await
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let key = key.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(storage)?;
            {
                let mut keys = txn.open_table(API_KEYS).map_err(storage)?;
                for entry in keys.iter().map_err(storage)? {
                    let (_, bytes) = entry.map_err(storage)?;
                    if decode::<ApiKeyRecord>(bytes.value())?.name == key.name {
                        return Err(StoreError::NameTaken(key.name.clone()));
                    }
                }
                keys.insert(key.hash.as_str(), encode(&key)?.as_bytes())
                    .map_err(storage)?;
            }
            txn.commit().map_err(storage)
        })
        .await
    }

    async fn find_api_key(&self, hash: &ApiKeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        let hash = hash.clone();
        self.read(move |db| {
            let txn = db.begin_read().map_err(storage)?;
            let keys = txn.open_table(API_KEYS).map_err(storage)?;
            let found = keys.get(hash.as_str()).map_err(storage)?;
            found.map(|bytes| decode(bytes.value())).transpose()
        })
        .await
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage)?;
            let keys = txn.open_table(API_KEYS).map_err(storage)?;
            let mut out = Vec::new();
            for entry in keys.iter().map_err(storage)? {
                let (_, bytes) = entry.map_err(storage)?;
                out.push(decode::<ApiKeyRecord>(bytes.value())?);
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
        .await
    }

    async fn revoke_api_key(&self, name: &ApiKeyName) -> Result<bool, StoreError> {
        let name = name.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(storage)?;
            let removed = {
                let mut keys = txn.open_table(API_KEYS).map_err(storage)?;
                let mut hash = None;
                for entry in keys.iter().map_err(storage)? {
                    let (stored_hash, bytes) = entry.map_err(storage)?;
                    if decode::<ApiKeyRecord>(bytes.value())?.name == name {
                        hash = Some(stored_hash.value().to_owned());
                    }
                }
                match hash {
                    Some(hash) => keys.remove(hash.as_str()).map_err(storage)?.is_some(),
                    None => false,
                }
            };
            txn.commit().map_err(storage)?;
            Ok(removed)
        })
        .await
    }

    async fn record_revocation(
        &self,
        revocation: &Revocation,
        now: DateTime<Utc>,
        retention: std::time::Duration,
    ) -> Result<FeedCursor, StoreError> {
        let text = feed::encode_revocation(revocation)?;
        self.run(move |db| {
            let txn = db.begin_write().map_err(storage)?;
            let cursor = {
                let mut table = txn.open_table(FEED).map_err(storage)?;
                let last = table.last().map_err(storage)?.map(|(key, _)| key.value());
                // Cursors only grow, even if the clock steps back.
                let ms = feed::millis(now).max(last.map_or(0, |(ms, _)| ms));
                let seq = match last {
                    Some((last_ms, last_seq)) if last_ms == ms => last_seq + 1,
                    _ => 0,
                };
                table.insert((ms, seq), text.as_str()).map_err(storage)?;
                let oldest = feed::oldest_kept_ms(now, retention);
                table
                    .retain_in((0, 0)..(oldest, 0), |_, _| false)
                    .map_err(storage)?;
                FeedCursor { ms, seq }
            };
            txn.commit().map_err(storage)?;
            Ok(cursor)
        })
        .await
    }

    async fn revocations(
        &self,
        since: Option<FeedCursor>,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(storage)?;
            let table = txn.open_table(FEED).map_err(storage)?;
            let start = since.map_or((0, 0), |c| (c.ms, c.seq));
            let mut entries = Vec::new();
            for entry in table.range(start..).map_err(storage)? {
                let (key, value) = entry.map_err(storage)?;
                let (ms, seq) = key.value();
                let cursor = FeedCursor { ms, seq };
                if since == Some(cursor) {
                    continue;
                }
                entries.push(FeedEntry {
                    cursor,
                    revocation: feed::decode_revocation(value.value())?,
                });
                if entries.len() >= limit {
                    break;
                }
            }
            Ok(entries)
        })
        .await
    }

    async fn key_ring(&self) -> Result<Option<String>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage)?;
            let table = txn.open_table(KEY_RING).map_err(storage)?;
            Ok(table
                .get(RING)
                .map_err(storage)?
                .map(|v| v.value().to_owned()))
        })
        .await
    }

    async fn replace_key_ring(
        &self,
        expected: Option<&str>,
        next: &str,
    ) -> Result<bool, StoreError> {
        let (expected, next) = (expected.map(str::to_owned), next.to_owned());
        self.run(move |db| {
            let txn = db.begin_write().map_err(storage)?;
            let replaced = {
                let mut table = txn.open_table(KEY_RING).map_err(storage)?;
                let current = table
                    .get(RING)
                    .map_err(storage)?
                    .map(|v| v.value().to_owned());
                let matches = current == expected;
                if matches {
                    table.insert(RING, next.as_str()).map_err(storage)?;
                }
                matches
            };
            txn.commit().map_err(storage)?;
            Ok(replaced)
        })
        .await
    }
}
