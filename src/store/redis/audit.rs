//! The audit trail on Redis. Per group, in its record's Cluster slot (the
//! record's key is the hash tag):
//! - `{<group key>}:audit`: a stream of events, trimmed to the retention
//!   (`XADD ... MAXLEN = n`), read newest first with `XREVRANGE`;
//! - `{<group key>}:verified`: a hash of hour → successful verifications,
//!   keeping the latest hours (a one-key script).
//!
//! `audit_groups` (a sorted set of encoded ids, read in lexical order)
//! names every group whose trail began with its creation or ended with its
//! deletion, so an export finds deleted groups' trails; it is written only
//! for those two rare events, never on the hot paths.

use redis::AsyncCommands as _;
use tessera_verify::stored::redis_group_slot_tag;

use super::connection::RedisConn;
use super::{RedisStore, encode_id, stream_entries, unavailable};
use crate::audit::{AuditEntry, AuditEvent, AuditKind, HourCount};
use crate::domain::GroupId;
use crate::store::{FeedCursor, StoreError};

impl RedisStore {
    fn audit_key(&self, id: &GroupId) -> String {
        format!("{}:audit", redis_group_slot_tag(&self.prefix, id))
    }

    fn verified_key(&self, id: &GroupId) -> String {
        format!("{}:verified", redis_group_slot_tag(&self.prefix, id))
    }

    fn audit_index_key(&self) -> String {
        format!("{}audit_groups", self.prefix)
    }

    /// Appends a batch of events: one `XADD` each, sent at once on the
    /// multiplexed connection (pipelined; in a Cluster each goes to its
    /// group's node).
    pub(super) async fn append_audit_events(
        &self,
        events: &[(GroupId, AuditEvent)],
        keep: usize,
    ) -> Result<Vec<FeedCursor>, StoreError> {
        self.deadline(|conn| async move {
            let appends = events.iter().map(|(id, event)| {
                let conn = conn.clone();
                async move { self.append_audit_event(conn, id, event, keep).await }
            });
            futures::future::try_join_all(appends).await
        })
        .await
    }

    async fn append_audit_event(
        &self,
        mut conn: RedisConn,
        id: &GroupId,
        event: &AuditEvent,
        keep: usize,
    ) -> Result<FeedCursor, StoreError> {
        let text = crate::store::audit::encode_event(event)?;
        let stream_id: String = redis::cmd("XADD")
            .arg(self.audit_key(id))
            .arg("MAXLEN")
            .arg("=")
            .arg(keep)
            .arg("*")
            .arg("e")
            .arg(&text)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if matches!(event.event, AuditKind::Created | AuditKind::Deleted) {
            let _: u64 = conn
                .zadd(self.audit_index_key(), encode_id(id), 0)
                .await
                .map_err(unavailable)?;
        }
        FeedCursor::parse(&stream_id)
            .ok_or_else(|| StoreError::Corrupt(format!("unexpected stream id {stream_id}")))
    }

    pub(super) async fn read_audit(
        &self,
        id: &GroupId,
        before: Option<FeedCursor>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.deadline(|mut conn| async move {
            let end = before.map_or_else(|| "+".to_owned(), |cursor| format!("({cursor}"));
            let reply: Vec<(String, Vec<String>)> = redis::cmd("XREVRANGE")
                .arg(self.audit_key(id))
                .arg(end)
                .arg("-")
                .arg("COUNT")
                .arg(limit)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            stream_entries(reply, "e")?
                .into_iter()
                .map(|(cursor, text)| {
                    Ok(AuditEntry {
                        cursor,
                        event: crate::store::audit::decode_event(&text)?,
                    })
                })
                .collect()
        })
        .await
    }

    pub(super) async fn add_verification_counts(
        &self,
        counts: &[HourCount],
        keep_hours: usize,
    ) -> Result<(), StoreError> {
        self.deadline(|conn| async move {
            let adds = counts.iter().map(|count| {
                let mut conn = conn.clone();
                async move {
                    let _: u64 = self
                        .add_verifications
                        .key(self.verified_key(&count.id))
                        .arg(count.hour)
                        .arg(count.count)
                        .arg(keep_hours)
                        .invoke_async(&mut conn)
                        .await
                        .map_err(unavailable)?;
                    Ok::<(), StoreError>(())
                }
            });
            futures::future::try_join_all(adds).await.map(|_| ())
        })
        .await
    }

    pub(super) async fn read_verification_counts(
        &self,
        id: &GroupId,
        limit: usize,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.deadline(|mut conn| async move {
            let all: Vec<(i64, u64)> = conn
                .hgetall(self.verified_key(id))
                .await
                .map_err(unavailable)?;
            Ok(crate::store::audit::newest_hours(all, limit))
        })
        .await
    }

    pub(super) async fn read_audited_groups(
        &self,
        after: Option<&GroupId>,
        limit: usize,
    ) -> Result<Vec<GroupId>, StoreError> {
        let start = after.map_or_else(|| "-".to_owned(), |id| format!("({}", encode_id(id)));
        self.deadline(|mut conn| async move {
            let members: Vec<String> = redis::cmd("ZRANGE")
                .arg(self.audit_index_key())
                .arg(&start)
                .arg("+")
                .arg("BYLEX")
                .arg("LIMIT")
                .arg(0)
                .arg(limit)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            members
                .iter()
                .map(|member| crate::store::audit::decode_index_member(member))
                .collect()
        })
        .await
    }
}
