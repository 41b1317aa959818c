//! The Redis backend: standalone Redis or Redis Cluster, one multiplexed
//! connection shared by every request, a deadline on every call.
//!
//! Keys (all under the configured prefix):
//! - `group:<base64url(user_group_id)>`: the record as JSON. Encoding the id
//!   makes any allowed id (spaces, `{`, `}`, `:`, `*`, unicode) a safe key
//!   that never forms a Cluster hash tag.
//! - `team_id_seq`: the `team_id` counter (`INCR`, never decremented).
//! - `groups_by_team`: a sorted set of `<team_id>:<encoded id>` scored by
//!   `team_id`, for listing and export.
//! - `api_keys`: a hash of SHA-256 hex to the key's record.
//! - `keyring`: the signing key ring document (private parts sealed),
//!   replaced by compare-and-set.
//! - `{<group key>}:deny:<j:jti | s:sid>`: one deny-list entry (a revoked
//!   token or session), expiring with what it covers (`denials.rs`).
//! - `{<group key>}:audit` (a stream), `{<group key>}:verified` (a hash)
//!   and `audit_groups`: the audit trail (`audit.rs`).
//!
//! `{<group key>}` is a Cluster hash tag made of the record's key (the
//! prefix may not hold braces): a group's record, deny-list and trail live
//! in one slot, so one node answers a token's whole check.
//! - `revoked_gen:<base64url(user_group_id)>`: the group's revocation
//!   floor, the lowest `gen` a token may still carry after a revoke or a
//!   delete. Written before the revoke or delete takes effect, never
//!   lowered, untouched by import: an import raises a record's `gen` to it,
//!   so restoring an old export never revives a revoked token.
//!
//! No script or transaction touches two keys, so everything works on Redis
//! Cluster. Get-or-create takes a number from the counter, adds it to the
//! index, then writes the record with a single `SET NX GET`: of concurrent
//! creators exactly one wins, the others read the winner's record (their
//! numbers are skipped, never reused). An index entry whose record does not
//! carry its `team_id` (a lost race, a crash between the two writes) is
//! skipped when listing, so no group is listed twice or missed. Updates are
//! a compare-and-set on the one record.

mod audit;
mod connection;
mod denials;
mod index;
mod scripts;

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use redis::{AsyncCommands as _, Script, Value};

use self::connection::{Connector, RedisConn};
use self::index::index_member;
use super::codec::{decode, encode};
use super::feed;
use super::outage::{OutageLog, without_password};
use super::{FeedCursor, FeedEntry, GroupStore, ImportReport, StoreError, TokenState, Upserted};
use crate::audit::{AuditEntry, AuditEvent, HourCount};
use crate::auth::{ApiKeyHash, ApiKeyName, ApiKeyRecord, Secret};
use crate::domain::{GroupId, GroupRecord, GroupUpsert, TeamId};
use tessera_verify::Claims;
use tessera_verify::feed::{Denial, Revocation};

/// How many compare-and-set rounds an update tries before giving up.
const MAX_CAS_ATTEMPTS: usize = 32;

/// Which Redis deployment to use.
#[derive(Debug, Clone)]
pub enum RedisTarget {
    /// A standalone server: a `redis://` URL, which may hold a password and
    /// so is never logged.
    Url(Secret),
    /// Redis Cluster seed nodes, `host:port` each.
    Cluster(Vec<String>),
}

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// Standalone or cluster.
    pub target: RedisTarget,
    /// Prefix of every key, e.g. `tessera:`.
    pub prefix: String,
    /// Deadline of every call, connection included.
    pub timeout: Duration,
}

impl RedisConfig {
    /// Where Redis is, for logs: the URL without its password, or the
    /// cluster's seed nodes.
    pub fn address(&self) -> String {
        match &self.target {
            RedisTarget::Url(url) => without_password(url.expose()),
            RedisTarget::Cluster(nodes) => format!("cluster {}", nodes.join(",")),
        }
    }
}

/// The Redis-backed [`GroupStore`].
pub struct RedisStore {
    connector: Connector,
    outage: OutageLog,
    prefix: String,
    timeout: Duration,
    compare_and_set: Script,
    insert_api_key: Script,
    revoke_api_key: Script,
    raise_to_at_least: Script,
    add_verifications: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Prepares the store without connecting: the connection is made on
    /// first use and remade after a failure, so starting while Redis is
    /// down neither fails nor hangs. Must be called inside a Tokio runtime.
    /// Fails only for an invalid URL or node list.
    pub fn new(config: &RedisConfig) -> Result<Self, StoreError> {
        let connector = match &config.target {
            RedisTarget::Url(url) => Connector::standalone(url.expose(), config.timeout)?,
            RedisTarget::Cluster(nodes) => Connector::cluster(nodes, config.timeout)?,
        };
        Ok(Self {
            connector,
            outage: OutageLog::new(config.address()),
            prefix: config.prefix.clone(),
            timeout: config.timeout,
            compare_and_set: Script::new(scripts::COMPARE_AND_SET),
            insert_api_key: Script::new(scripts::INSERT_API_KEY),
            revoke_api_key: Script::new(scripts::REVOKE_API_KEY),
            raise_to_at_least: Script::new(scripts::RAISE_TO_AT_LEAST),
            add_verifications: Script::new(scripts::ADD_VERIFICATIONS),
        })
    }

    fn group_key(&self, id: &GroupId) -> String {
        tessera_verify::stored::redis_group_key(&self.prefix, id)
    }

    fn floor_key(&self, id: &GroupId) -> String {
        format!("{}revoked_gen:{}", self.prefix, encode_id(id))
    }

    /// Raises the integer at `key` to at least `value`.
    async fn raise(&self, conn: &mut RedisConn, key: &str, value: u64) -> Result<(), StoreError> {
        let _: i64 = self
            .raise_to_at_least
            .key(key)
            .arg(value)
            .invoke_async(conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    fn key_ring_key(&self) -> String {
        format!("{}keyring", self.prefix)
    }

    fn feed_key(&self) -> String {
        format!("{}revocations", self.prefix)
    }

    fn counter_key(&self) -> String {
        format!("{}team_id_seq", self.prefix)
    }

    fn index_key(&self) -> String {
        format!("{}groups_by_team", self.prefix)
    }

    fn api_keys_key(&self) -> String {
        format!("{}api_keys", self.prefix)
    }

    /// Runs one store operation, connection included, under the deadline.
    async fn deadline<T, F>(&self, operation: impl FnOnce(RedisConn) -> F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>>,
    {
        let timeout = self.timeout;
        let run = async {
            let conn = self.connector.get().await?;
            operation(conn).await
        };
        let outcome = tokio::time::timeout(timeout, run)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(format!(
                    "no answer from Redis within {timeout:?}"
                )))
            });
        self.outage.observe(&outcome);
        outcome
    }

    async fn get_record(
        &self,
        conn: &mut RedisConn,
        id: &GroupId,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let stored: Option<String> = conn.get(self.group_key(id)).await.map_err(unavailable)?;
        stored.as_deref().map(str::as_bytes).map(decode).transpose()
    }

    /// Writes `next` if `key` still holds `stored`. `Ok(None)` on success,
    /// otherwise `Ok(Some(what the key holds now))`.
    async fn compare_and_set(
        &self,
        conn: &mut RedisConn,
        key: &str,
        stored: &str,
        next: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        let outcome: Value = self
            .compare_and_set
            .key(key)
            .arg(stored)
            .arg(next)
            .invoke_async(conn)
            .await
            .map_err(unavailable)?;
        match outcome {
            Value::Int(1) => Ok(None),
            Value::Nil => Ok(Some(None)),
            Value::BulkString(bytes) => {
                Ok(Some(Some(String::from_utf8(bytes).map_err(|_| {
                    StoreError::Corrupt("record is not UTF-8".into())
                })?)))
            }
            other => Err(StoreError::Corrupt(format!(
                "unexpected compare-and-set reply {other:?}"
            ))),
        }
    }

    /// Names a new group in the index, then stores its record unless one
    /// exists (`SET NX GET`); returns the record that won, if not this one.
    /// On a standalone server the two commands go as one pipeline (one
    /// round trip, still in that order); in a Cluster their keys live on
    /// different nodes, so they go one after the other.
    async fn insert_new(
        &self,
        conn: &mut RedisConn,
        key: &str,
        record: &GroupRecord,
    ) -> Result<Option<String>, StoreError> {
        let mut index = redis::cmd("ZADD");
        index
            .arg(self.index_key())
            .arg(record.team_id.get())
            .arg(index_member(record));
        let mut insert = redis::cmd("SET");
        insert.arg(key).arg(encode(record)?).arg("NX").arg("GET");
        match conn {
            RedisConn::Standalone(_) => {
                let (previous,): (Option<String>,) = redis::pipe()
                    .add_command(index)
                    .ignore()
                    .add_command(insert)
                    .query_async(conn)
                    .await
                    .map_err(unavailable)?;
                Ok(previous)
            }
            RedisConn::Cluster(_) => {
                let _: i64 = index.query_async(conn).await.map_err(unavailable)?;
                insert.query_async(conn).await.map_err(unavailable)
            }
        }
    }

    async fn upsert_with(
        &self,
        mut conn: RedisConn,
        change: &GroupUpsert,
        now: DateTime<Utc>,
    ) -> Result<Upserted, StoreError> {
        let key = self.group_key(&change.id);
        let mut current: Option<String> = conn.get(&key).await.map_err(unavailable)?;
        for _ in 0..MAX_CAS_ATTEMPTS {
            let Some(stored) = current else {
                let team: u64 = conn
                    .incr(self.counter_key(), 1)
                    .await
                    .map_err(unavailable)?;
                let team = TeamId::new(team).map_err(|err| StoreError::Corrupt(err.to_string()))?;
                let record = GroupRecord::create(team, change, now);
                record
                    .check_token_room(change)
                    .map_err(StoreError::Invalid)?;
                let previous = self.insert_new(&mut conn, &key, &record).await?;
                match previous {
                    None => {
                        return Ok(Upserted {
                            record,
                            created: true,
                        });
                    }
                    Some(winner) => {
                        current = Some(winner);
                        continue;
                    }
                }
            };
            let record: GroupRecord = decode(stored.as_bytes())?;
            let Some(next) = record.apply(change, now) else {
                return Ok(Upserted {
                    record,
                    created: false,
                });
            };
            next.check_token_room(change).map_err(StoreError::Invalid)?;
            match self
                .compare_and_set(&mut conn, &key, &stored, &encode(&next)?)
                .await?
            {
                None => {
                    return Ok(Upserted {
                        record: next,
                        created: false,
                    });
                }
                Some(now_stored) => current = now_stored,
            }
        }
        Err(StoreError::Contention)
    }
}

#[async_trait]
impl GroupStore for RedisStore {
    async fn upsert(
        &self,
        change: &GroupUpsert,
        now: DateTime<Utc>,
    ) -> Result<Upserted, StoreError> {
        self.deadline(|conn| self.upsert_with(conn, change, now))
            .await
    }

    async fn get(&self, id: &GroupId) -> Result<Option<GroupRecord>, StoreError> {
        self.deadline(|mut conn| async move { self.get_record(&mut conn, id).await })
            .await
    }

    async fn delete(&self, id: &GroupId) -> Result<bool, StoreError> {
        self.deadline(|mut conn| async move {
            let Some(record) = self.get_record(&mut conn, id).await? else {
                return Ok(false);
            };
            // The floor first: once the record is gone, no restore of it
            // may bring its tokens back.
            self.raise(
                &mut conn,
                &self.floor_key(id),
                record.r#gen.saturating_add(1),
            )
            .await?;
            let removed: u64 = conn.del(self.group_key(id)).await.map_err(unavailable)?;
            let _: i64 = conn
                .zrem(self.index_key(), index_member(&record))
                .await
                .map_err(unavailable)?;
            Ok(removed == 1)
        })
        .await
    }

    async fn bump_gen(
        &self,
        id: &GroupId,
        now: DateTime<Utc>,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let key = self.group_key(id);
        self.deadline(|mut conn| async move {
            let mut current: Option<String> = conn.get(&key).await.map_err(unavailable)?;
            for _ in 0..MAX_CAS_ATTEMPTS {
                let Some(stored) = current else {
                    return Ok(None);
                };
                let next = decode::<GroupRecord>(stored.as_bytes())?.revoked(now);
                // The floor before the new gen, so that no moment exists
                // where the revoke holds but an import could undo it.
                self.raise(&mut conn, &self.floor_key(id), next.r#gen)
                    .await?;
                match self
                    .compare_and_set(&mut conn, &key, &stored, &encode(&next)?)
                    .await?
                {
                    None => return Ok(Some(next)),
                    Some(now_stored) => current = now_stored,
                }
            }
            Err(StoreError::Contention)
        })
        .await
    }

    async fn list(
        &self,
        after: Option<TeamId>,
        limit: usize,
    ) -> Result<Vec<GroupRecord>, StoreError> {
        self.deadline(|conn| self.list_with(conn, after, limit))
            .await
    }

    async fn import(
        &self,
        records: &[GroupRecord],
        overwrite: bool,
    ) -> Result<ImportReport, StoreError> {
        // An import is a batch job, not a request: it gets a deadline per
        // record rather than one for the whole batch.
        let budget = self
            .timeout
            .saturating_mul(u32::try_from(records.len().max(1)).unwrap_or(u32::MAX));
        let conn = self.connector.get().await?;
        tokio::time::timeout(budget, self.import_with(conn, records, overwrite))
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("import timed out".into())))
    }

    async fn token_state(
        &self,
        claims: &Claims,
        _now: DateTime<Utc>,
    ) -> Result<TokenState, StoreError> {
        self.read_token_state(claims).await
    }

    async fn deny(
        &self,
        id: &GroupId,
        denial: &Denial,
        until: DateTime<Utc>,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.put_denial(id, denial, until).await
    }

    async fn append_audit(
        &self,
        events: &[(GroupId, AuditEvent)],
        keep: usize,
        _now: DateTime<Utc>,
    ) -> Result<Vec<FeedCursor>, StoreError> {
        self.append_audit_events(events, keep).await
    }

    async fn audit_events(
        &self,
        id: &GroupId,
        before: Option<FeedCursor>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.read_audit(id, before, limit).await
    }

    async fn add_verifications(
        &self,
        counts: &[HourCount],
        keep_hours: usize,
    ) -> Result<(), StoreError> {
        self.add_verification_counts(counts, keep_hours).await
    }

    async fn verification_counts(
        &self,
        id: &GroupId,
        limit: usize,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.read_verification_counts(id, limit).await
    }

    async fn audited_groups(
        &self,
        after: Option<&GroupId>,
        limit: usize,
    ) -> Result<Vec<GroupId>, StoreError> {
        self.read_audited_groups(after, limit).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.deadline(|mut conn| async move {
            let _: String = redis::cmd("PING")
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.deadline(|mut conn| async move {
            let inserted: i64 = self
                .insert_api_key
                .key(self.api_keys_key())
                .arg(key.name.as_str())
                .arg(key.hash.as_str())
                .arg(encode(key)?)
                .invoke_async(&mut conn)
                .await
                .map_err(unavailable)?;
            if inserted == 1 {
                Ok(())
            } else {
                Err(StoreError::NameTaken(key.name.clone()))
            }
        })
        .await
    }

    async fn find_api_key(&self, hash: &ApiKeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.deadline(|mut conn| async move {
            let stored: Option<String> = conn
                .hget(self.api_keys_key(), hash.as_str())
                .await
                .map_err(unavailable)?;
            stored.as_deref().map(str::as_bytes).map(decode).transpose()
        })
        .await
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.deadline(|mut conn| async move {
            let stored: Vec<String> = conn.hvals(self.api_keys_key()).await.map_err(unavailable)?;
            let mut keys = stored
                .iter()
                .map(|text| decode::<ApiKeyRecord>(text.as_bytes()))
                .collect::<Result<Vec<_>, _>>()?;
            keys.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(keys)
        })
        .await
    }

    async fn revoke_api_key(&self, name: &ApiKeyName) -> Result<bool, StoreError> {
        self.deadline(|mut conn| async move {
            let removed: i64 = self
                .revoke_api_key
                .key(self.api_keys_key())
                .arg(name.as_str())
                .invoke_async(&mut conn)
                .await
                .map_err(unavailable)?;
            Ok(removed == 1)
        })
        .await
    }

    async fn record_revocation(
        &self,
        revocation: &Revocation,
        now: DateTime<Utc>,
        retention: Duration,
    ) -> Result<FeedCursor, StoreError> {
        let text = feed::encode_revocation(revocation)?;
        let oldest = feed::oldest_kept_ms(now, retention);
        let ms = feed::millis(now);
        self.deadline(|mut conn| async move {
            // One stream, one key (cluster-safe); entries older than the
            // retention are trimmed (exactly) as new ones arrive. Ids carry
            // the service's clock, as cursor expiry does; if that clock is
            // behind the stream's last id, Redis picks the id.
            let add = |id: String| {
                redis::cmd("XADD")
                    .arg(self.feed_key())
                    .arg("MINID")
                    .arg(oldest)
                    .arg(id)
                    .arg("r")
                    .arg(&text)
                    .clone()
            };
            let id: String = match add(format!("{ms}-*")).query_async(&mut conn).await {
                Ok(id) => id,
                Err(err) if err.to_string().contains("equal or smaller") => add("*".into())
                    .query_async(&mut conn)
                    .await
                    .map_err(unavailable)?,
                Err(err) => return Err(unavailable(err)),
            };
            FeedCursor::parse(&id)
                .ok_or_else(|| StoreError::Corrupt(format!("unexpected stream id {id}")))
        })
        .await
    }

    async fn revocations(
        &self,
        since: Option<FeedCursor>,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, StoreError> {
        self.deadline(|mut conn| async move {
            let start = since.map_or_else(|| "-".to_owned(), |cursor| format!("({cursor}"));
            let reply: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
                .arg(self.feed_key())
                .arg(start)
                .arg("+")
                .arg("COUNT")
                .arg(limit)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            stream_entries(reply, "r")?
                .into_iter()
                .map(|(cursor, text)| {
                    Ok(FeedEntry {
                        cursor,
                        revocation: feed::decode_revocation(&text)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn key_ring(&self) -> Result<Option<String>, StoreError> {
        self.deadline(
            |mut conn| async move { conn.get(self.key_ring_key()).await.map_err(unavailable) },
        )
        .await
    }

    async fn replace_key_ring(
        &self,
        expected: Option<&str>,
        next: &str,
    ) -> Result<bool, StoreError> {
        self.deadline(|mut conn| async move {
            let key = self.key_ring_key();
            match expected {
                None => {
                    let set: Option<String> = redis::cmd("SET")
                        .arg(&key)
                        .arg(next)
                        .arg("NX")
                        .query_async(&mut conn)
                        .await
                        .map_err(unavailable)?;
                    Ok(set.is_some())
                }
                Some(expected) => Ok(self
                    .compare_and_set(&mut conn, &key, expected, next)
                    .await?
                    .is_none()),
            }
        })
        .await
    }
}

fn encode_id(id: &GroupId) -> String {
    URL_SAFE_NO_PAD.encode(id.as_str())
}

/// The entries of an `XRANGE`/`XREVRANGE` reply whose one field is
/// `field`: each position and text.
fn stream_entries(
    reply: Vec<(String, Vec<String>)>,
    field: &str,
) -> Result<Vec<(FeedCursor, String)>, StoreError> {
    reply
        .into_iter()
        .map(|(id, fields)| {
            let cursor = FeedCursor::parse(&id)
                .ok_or_else(|| StoreError::Corrupt(format!("unexpected stream id {id}")))?;
            match <[String; 2]>::try_from(fields) {
                Ok([name, text]) if name == field => Ok((cursor, text)),
                _ => Err(StoreError::Corrupt(format!("stream entry {id}"))),
            }
        })
        .collect()
}

fn unavailable(err: redis::RedisError) -> StoreError {
    StoreError::Unavailable(err.to_string())
}
