//! The `team_id` index of the Redis backend: listing in `team_id` order
//! and import. Each index entry is `<team_id>:<encoded id>` scored by its
//! `team_id`; an entry whose record does not carry that `team_id` (a lost
//! creation race, a crash between the two writes) is skipped.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use redis::AsyncCommands as _;

use super::connection::RedisConn;
use super::{RedisStore, encode_id, unavailable};
use crate::domain::{GroupId, GroupRecord, TeamId};
use crate::store::codec::encode;
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
        let members: Vec<String> = conn
            .zrangebyscore_limit(
                self.index_key(),
                format!("({after}"),
                "+inf",
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

    /// The records of index entries that carry their entry's `team_id`.
    async fn live_records(
        &self,
        conn: &RedisConn,
        entries: &[(u64, GroupId)],
    ) -> Result<Vec<GroupRecord>, StoreError> {
        let fetches = entries.iter().map(|(_, id)| {
            let mut conn = conn.clone();
            async move { self.get_record(&mut conn, id).await }
        });
        let records = futures::future::try_join_all(fetches).await?;
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
        // and team_id once), so their reads, then their writes, run
        // concurrently on the multiplexed connection: pipelined, not one
        // round trip after another.
        let mut plans = Vec::with_capacity(records.len());
        for chunk in records.chunks(IMPORT_CONCURRENCY) {
            let reads = chunk.iter().map(|record| {
                let conn = conn.clone();
                async move { self.plan_import(conn, record, overwrite).await }
            });
            plans.extend(futures::future::try_join_all(reads).await?);
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
        let mut actions = Vec::with_capacity(planned.len());
        let mut planned = planned.into_iter().peekable();
        while planned.peek().is_some() {
            let writes =
                planned
                    .by_ref()
                    .take(IMPORT_CONCURRENCY)
                    .map(|(record, stored, action)| {
                        self.write_import(conn.clone(), record, stored, action)
                    });
            actions.extend(futures::future::try_join_all(writes).await?);
        }
        let written = actions
            .iter()
            .filter(|action| **action == ImportAction::Write)
            .count();
        Ok(ImportReport {
            written,
            unchanged: actions.len() - written,
        })
    }

    /// Reads what the import of `record` depends on and decides; the inner
    /// error is a clash.
    async fn plan_import(
        &self,
        mut conn: RedisConn,
        record: &GroupRecord,
        overwrite: bool,
    ) -> Result<Result<PlannedImport, String>, StoreError> {
        let floor = self.floor(&mut conn, &record.provided_id).await?;
        let record = raise_to_floor(record, floor);
        let stored = self.get_record(&mut conn, &record.provided_id).await?;
        let team = record.team_id.get();
        let holders = self.index_page(&mut conn, team - 1, 16).await?;
        let holders: Vec<_> = holders.into_iter().filter(|(t, _)| *t == team).collect();
        let holder = self.live_records(&conn, &holders).await?.pop();
        Ok(plan(
            &record,
            stored.as_ref(),
            holder.as_ref().map(|h| &h.provided_id),
            overwrite,
        )
        .map(|action| (record, stored, action)))
    }

    /// Writes one planned record: its index entry first (idempotent, and
    /// it repairs an entry a failed run did not write), then the record.
    async fn write_import(
        &self,
        mut conn: RedisConn,
        record: GroupRecord,
        stored: Option<GroupRecord>,
        action: ImportAction,
    ) -> Result<ImportAction, StoreError> {
        let _: i64 = conn
            .zadd(
                self.index_key(),
                index_member(&record),
                record.team_id.get(),
            )
            .await
            .map_err(unavailable)?;
        if action == ImportAction::Skip {
            return Ok(action);
        }
        let _: () = conn
            .set(self.group_key(&record.provided_id), encode(&record)?)
            .await
            .map_err(unavailable)?;
        if let Some(old) = stored.filter(|old| old.team_id != record.team_id) {
            let _: i64 = conn
                .zrem(self.index_key(), index_member(&old))
                .await
                .map_err(unavailable)?;
        }
        Ok(action)
    }
}

/// A record to import, the record it replaces and what to do.
type PlannedImport = (GroupRecord, Option<GroupRecord>, ImportAction);

/// Records of an import batch read or written at once.
const IMPORT_CONCURRENCY: usize = 256;

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
