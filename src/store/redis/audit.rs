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
use tessera_verify::stored::redis_group_slot_key;

use super::connection::RedisConn;
use super::{RedisStore, encode_id, stream_entries, unavailable};
use crate::audit::{AuditEntry, AuditEvent, AuditKind, HourCount};
use crate::domain::GroupId;
use crate::store::{FeedCursor, StoreError};

/// What appends one event.
struct AppendCommands {
    /// The `XADD`, whose reply is the event's stream id.
    xadd: redis::Cmd,
    /// For a creation or a deletion, the `ZADD` naming the group in the
    /// audit index.
    index: Option<redis::Cmd>,
}

impl RedisStore {
    fn audit_key(&self, id: &GroupId) -> String {
        redis_group_slot_key(&self.prefix, id, &["audit"])
    }

    fn verified_key(&self, id: &GroupId) -> String {
        redis_group_slot_key(&self.prefix, id, &["verified"])
    }

    fn audit_index_key(&self) -> String {
        format!("{}audit_groups", self.prefix)
    }

    /// Appends a batch of events, one `XADD` each: on a standalone server
    /// as one pipeline (one request and one reply for the whole batch); in
    /// a Cluster as separate commands sent at once on the multiplexed
    /// connection, each to its group's node.
    pub(super) async fn append_audit_events(
        &self,
        events: &[(GroupId, AuditEvent)],
        keep: usize,
    ) -> Result<Vec<FeedCursor>, StoreError> {
        self.deadline(|conn| async move {
            let stream_ids = match conn {
                RedisConn::Standalone(_) => self.append_pipelined(conn, events, keep).await?,
                RedisConn::Cluster(_) => {
                    let appends = events.iter().map(|(id, event)| {
                        let mut conn = conn.clone();
                        async move {
                            let append = self.append_commands(id, event, keep)?;
                            let stream_id: String = append
                                .xadd
                                .query_async(&mut conn)
                                .await
                                .map_err(unavailable)?;
                            if let Some(index) = append.index {
                                let _: u64 =
                                    index.query_async(&mut conn).await.map_err(unavailable)?;
                            }
                            Ok::<_, StoreError>(stream_id)
                        }
                    });
                    futures::future::try_join_all(appends).await?
                }
            };
            stream_ids
                .iter()
                .map(|stream_id| {
                    FeedCursor::parse(stream_id).ok_or_else(|| {
                        StoreError::Corrupt(format!("unexpected stream id {stream_id}"))
                    })
                })
                .collect()
        })
        .await
    }

    async fn append_pipelined(
        &self,
        mut conn: RedisConn,
        events: &[(GroupId, AuditEvent)],
        keep: usize,
    ) -> Result<Vec<String>, StoreError> {
        let mut pipe = redis::pipe();
        for (id, event) in events {
            let append = self.append_commands(id, event, keep)?;
            pipe.add_command(append.xadd);
            if let Some(index) = append.index {
                pipe.add_command(index).ignore();
            }
        }
        pipe.query_async(&mut conn).await.map_err(unavailable)
    }

    /// The commands that append `event` to the trail of `id`.
    fn append_commands(
        &self,
        id: &GroupId,
        event: &AuditEvent,
        keep: usize,
    ) -> Result<AppendCommands, StoreError> {
        let text = crate::store::audit::encode_event(event)?;
        let mut append = redis::cmd("XADD");
        append
            .arg(self.audit_key(id))
            .arg("MAXLEN")
            .arg("=")
            .arg(keep)
            .arg("*")
            .arg("e")
            .arg(text);
        let index = matches!(event.event, AuditKind::Created | AuditKind::Deleted).then(|| {
            let mut index = redis::cmd("ZADD");
            index.arg(self.audit_index_key()).arg(0).arg(encode_id(id));
            index
        });
        Ok(AppendCommands {
            xadd: append,
            index,
        })
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
