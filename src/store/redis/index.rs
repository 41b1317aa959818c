//! The `team_id` index of the Redis backend: listing in `team_id` order
//! and import. Each index entry is `<team_id>:<encoded id>` scored by its
//! `team_id`; an entry whose record does not carry that `team_id` (a lost
//! creation race, a crash between the two writes) is skipped.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::AsyncCommands as _;

use super::connection::RedisConn;
use super::{RedisStore, encode_id, unavailable};
use crate::domain::{GroupId, GroupRecord, TeamId};
use crate::store::codec::{decode, encode};
use crate::store::import::{ImportAction, check_batch, plan, raise_to_floor, refuse};
use crate::store::{ImportReport, StoreError};

impl RedisStore {
    /// Index entries with a `team_id` above `after`: `(team, id)` pairs.
    async fn index_page(
        &self,
        conn: &mut RedisConn,
        after: u64,
        count: usize,
    ) -> Result<Vec<(u64, GroupId)>, StoreError> {
        self.index_range(conn, after, None, count).await
    }

    /// Index entries with a `team_id` above `after` and at most `last`.
    async fn index_range(
        &self,
        conn: &mut RedisConn,
        after: u64,
        last: Option<u64>,
        count: usize,
    ) -> Result<Vec<(u64, GroupId)>, StoreError> {
        let last = last.map_or_else(|| "+inf".to_owned(), |last| last.to_string());
        let members: Vec<String> = conn
            .zrangebyscore_limit(
                self.index_key(),
                format!("({after}"),
                last,
                0,
                count as isize,
            )
            .await
            .map_err(unavailable)?;
        members
            .iter()
            .map(|member| parse_index_member(member))
            .collect()
    }

    /// The values of `keys`, in order, in one `MGET` (split by node in a
    /// Cluster).
    async fn mget<T: redis::FromRedisValue>(
        conn: &mut RedisConn,
        keys: &[String],
    ) -> Result<Vec<Option<T>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        redis::cmd("MGET")
            .arg(keys)
            .query_async(conn)
            .await
            .map_err(unavailable)
    }

    /// The records of `ids`, in order, in one `MGET`.
    async fn get_records(
        &self,
        conn: &mut RedisConn,
        ids: &[&GroupId],
    ) -> Result<Vec<Option<GroupRecord>>, StoreError> {
        let keys: Vec<String> = ids.iter().map(|id| self.group_key(id)).collect();
        let stored: Vec<Option<String>> = Self::mget(conn, &keys).await?;
        stored
            .iter()
            .map(|text| text.as_deref().map(str::as_bytes).map(decode).transpose())
            .collect()
    }

    /// The revocation floors of `ids`, in order, in one `MGET`.
    async fn floors(
        &self,
        conn: &mut RedisConn,
        ids: &[&GroupId],
    ) -> Result<Vec<Option<u64>>, StoreError> {
        let keys: Vec<String> = ids.iter().map(|id| self.floor_key(id)).collect();
        Self::mget(conn, &keys).await
    }

    /// The records of index entries that carry their entry's `team_id`.
    async fn live_records(
        &self,
        conn: &RedisConn,
        entries: &[(u64, GroupId)],
    ) -> Result<Vec<GroupRecord>, StoreError> {
        let ids: Vec<&GroupId> = entries.iter().map(|(_, id)| id).collect();
        let records = self.get_records(&mut conn.clone(), &ids).await?;
        Ok(entries
            .iter()
            .zip(records)
            .filter_map(|((team, _), record)| record.filter(|r| r.team_id.get() == *team))
            .collect())
    }

    pub(super) async fn list_with(
        &self,
        mut conn: RedisConn,
        after: Option<TeamId>,
        limit: usize,
    ) -> Result<Vec<GroupRecord>, StoreError> {
        let mut cursor = after.map_or(0, TeamId::get);
        let mut out = Vec::new();
        while out.len() < limit {
            let wanted = limit - out.len();
            let entries = self.index_page(&mut conn, cursor, wanted).await?;
            let Some((last, _)) = entries.last() else {
                break;
            };
            cursor = *last;
            out.extend(self.live_records(&conn, &entries).await?);
            if entries.len() < wanted {
                break;
            }
        }
        Ok(out)
    }

    /// Import on Redis. Nothing is written when any record clashes. The
    /// `team_id` counter is advanced before any record is written, and each
    /// record's index entry before the record, so an import that fails
    /// part-way (Redis down, `maxmemory` reached) never lets a new group
    /// take an imported `team_id`, and running the same import again
    /// completes it.
    pub(super) async fn import_with(
        &self,
        conn: RedisConn,
        records: &[GroupRecord],
        overwrite: bool,
    ) -> Result<ImportReport, StoreError> {
        check_batch(records)?;
        // Records are independent of each other (the batch names each id
        // and team_id once), so a chunk's reads, then its writes, are a few
        // multi-key commands rather than a few round trips per record.
        let mut plans = Vec::with_capacity(records.len());
        for chunk in records.chunks(IMPORT_CHUNK) {
            plans.extend(self.plan_chunk(&conn, chunk, overwrite).await?);
        }
        let mut clashes = Vec::new();
        let mut planned = Vec::with_capacity(plans.len());
        for plan in plans {
            match plan {
                Ok(planned_write) => planned.push(planned_write),
                Err(clash) => clashes.push(clash),
            }
        }
        refuse(clashes)?;
        let highest = records.iter().map(|r| r.team_id.get()).max().unwrap_or(0);
        self.raise(&mut conn.clone(), &self.counter_key(), highest)
            .await?;
        let mut report = ImportReport::default();
        for chunk in planned.chunks(IMPORT_CHUNK) {
            self.write_chunk(&conn, chunk).await?;
            let written = chunk
                .iter()
                .filter(|(_, _, action)| *action == ImportAction::Write)
                .count();
            report.written += written;
            report.unchanged += chunk.len() - written;
        }
        Ok(report)
    }

    /// The live group holding each `team_id` of `chunk`, if any: one range
    /// read of the index when the chunk's `team_id`s are close together (an
    /// export's are consecutive), else one read per record.
    async fn team_holders(
        &self,
        conn: &RedisConn,
        chunk: &[GroupRecord],
    ) -> Result<HashMap<u64, GroupId>, StoreError> {
        let teams: HashSet<u64> = chunk.iter().map(|r| r.team_id.get()).collect();
        let (Some(low), Some(high)) = (teams.iter().min(), teams.iter().max()) else {
            return Ok(HashMap::new());
        };
        let span = usize::try_from(high - low).unwrap_or(usize::MAX);
        // Room for a few stale entries (lost creation races) per team.
        let room = chunk.len() * 4;
        let mut entries = if span < chunk.len() * 2 {
            let page = self
                .index_range(&mut conn.clone(), low - 1, Some(*high), room + 1)
                .await?;
            (page.len() <= room).then_some(page)
        } else {
            None
        };
        if entries.is_none() {
            let reads = chunk.iter().map(|record| {
                let mut conn = conn.clone();
                let team = record.team_id.get();
                async move { self.index_page(&mut conn, team - 1, 16).await }
            });
            let pages = futures::future::try_join_all(reads).await?;
            entries = Some(pages.into_iter().flatten().collect());
        }
        let entries: Vec<_> = entries
            .unwrap_or_default()
            .into_iter()
            .filter(|(team, _)| teams.contains(team))
            .collect();
        Ok(self
            .live_records(conn, &entries)
            .await?
            .into_iter()
            .map(|record| (record.team_id.get(), record.provided_id))
            .collect())
    }

    /// Reads what the import of each record of `chunk` depends on (its
    /// stored record, its revocation floor, the holder of its `team_id`)
    /// and decides; an inner error is a clash.
    async fn plan_chunk(
        &self,
        conn: &RedisConn,
        chunk: &[GroupRecord],
        overwrite: bool,
    ) -> Result<Vec<Result<PlannedImport, String>>, StoreError> {
        let ids: Vec<&GroupId> = chunk.iter().map(|record| &record.provided_id).collect();
        let (holders, floors, stored) = futures::future::try_join3(
            self.team_holders(conn, chunk),
            self.floors(&mut conn.clone(), &ids),
            self.get_records(&mut conn.clone(), &ids),
        )
        .await?;
        Ok(chunk
            .iter()
            .zip(floors)
            .zip(stored)
            .map(|((record, floor), stored)| {
                let record = raise_to_floor(record, floor);
                let holder = holders.get(&record.team_id.get());
                plan(&record, stored.as_ref(), holder, overwrite)
                    .map(|action| (record, stored, action))
            })
            .collect())
    }

    /// Writes planned records: their index entries first, in one command
    /// (idempotent, and it repairs entries a failed run did not write),
    /// then the records, then the index entries of `team_id`s they left.
    async fn write_chunk(
        &self,
        conn: &RedisConn,
        chunk: &[PlannedImport],
    ) -> Result<(), StoreError> {
        if chunk.is_empty() {
            return Ok(());
        }
        let entries: Vec<(u64, String)> = chunk
            .iter()
            .map(|(record, _, _)| (record.team_id.get(), index_member(record)))
            .collect();
        let _: i64 = conn
            .clone()
            .zadd_multiple(self.index_key(), &entries)
            .await
            .map_err(unavailable)?;
        let mut pairs = Vec::new();
        let mut left = Vec::new();
        for (record, stored, action) in chunk {
            if *action != ImportAction::Write {
                continue;
            }
            pairs.push((self.group_key(&record.provided_id), encode(record)?));
            if let Some(old) = stored.as_ref().filter(|old| old.team_id != record.team_id) {
                left.push(index_member(old));
            }
        }
        if !pairs.is_empty() {
            // One MSET (split by node in a Cluster).
            let _: () = conn.clone().mset(&pairs).await.map_err(unavailable)?;
        }
        if !left.is_empty() {
            let _: i64 = conn
                .clone()
                .zrem(self.index_key(), &left)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }
}

/// A record to import, the record it replaces and what to do.
type PlannedImport = (GroupRecord, Option<GroupRecord>, ImportAction);

/// Records of an import batch read (one `MGET` for the records, one for
/// their floors, one range of the index) and written at once.
const IMPORT_CHUNK: usize = 500;

pub(super) fn index_member(record: &GroupRecord) -> String {
    format!("{}:{}", record.team_id, encode_id(&record.provided_id))
}

fn parse_index_member(member: &str) -> Result<(u64, GroupId), StoreError> {
    let corrupt = || StoreError::Corrupt(format!("bad index entry {member:?}"));
    let (team, encoded) = member.split_once(':').ok_or_else(corrupt)?;
    let team = team.parse().map_err(|_| corrupt())?;
    let id = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| corrupt())?;
    let id = String::from_utf8(id).map_err(|_| corrupt())?;
    Ok((team, GroupId::parse(id).map_err(|_| corrupt())?))
}
