//! The Redis backend: standalone Redis, one multiplexed connection shared
//! by every request, a deadline on every call.
//!
//! Keys (all under the configured prefix):
//! - `group:<base64url(user_group_id)>`: the record as JSON. Encoding the id
//!   makes any allowed id (spaces, `{`, `}`, `:`, `*`, unicode) a safe key
//!   that never forms a Cluster hash tag.
//! - `team_id_seq`: the `team_id` counter (`INCR`, never decremented).
//! - `api_keys`: a hash of SHA-256 hex to the key's record.
//!
//! No script or transaction touches two keys, so every operation also works
//! on Redis Cluster. Get-or-create takes a number from the counter, then
//! writes the record with a single `SET NX GET`: of concurrent creators
//! exactly one wins, the others read the winner's record (their numbers are
//! skipped, never reused). Updates are a compare-and-set on the one record.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, Script, Value};

use super::{GroupStore, StoreError, Upserted};
use crate::auth::{ApiKeyHash, ApiKeyName, ApiKeyRecord, Secret};
use crate::domain::{GroupId, GroupRecord, GroupUpsert, TeamId};

/// How many compare-and-set rounds an update tries before giving up.
const MAX_CAS_ATTEMPTS: usize = 32;

/// Replaces a record only if it still holds what the caller read.
/// Returns 1 on success, otherwise the current value (nil if deleted).
const COMPARE_AND_SET: &str = r"
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return current
";

/// Adds an API key unless its name is taken. Returns 1 or 0.
const INSERT_API_KEY: &str = r"
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
  if cjson.decode(v)['name'] == ARGV[1] then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
";

/// Deletes the API key named ARGV[1]. Returns 1 or 0.
const REVOKE_API_KEY: &str = r"
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if cjson.decode(all[i + 1])['name'] == ARGV[1] then
    redis.call('HDEL', KEYS[1], all[i])
    return 1
  end
end
return 0
";

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://` URL; may hold a password, so it is never logged.
    pub url: Secret,
    /// Prefix of every key, e.g. `tessera:`.
    pub prefix: String,
    /// Deadline of every call, connection included.
    pub timeout: Duration,
}

/// The Redis-backed [`GroupStore`].
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    compare_and_set: Script,
    insert_api_key: Script,
    revoke_api_key: Script,
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
    /// Fails only for an invalid URL.
    pub fn new(config: &RedisConfig) -> Result<Self, StoreError> {
        let client = redis::Client::open(config.url.expose()).map_err(|err| {
            StoreError::Unavailable(format!("invalid Redis URL: {:?}", err.kind()))
        })?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|err| StoreError::Unavailable(err.to_string()))?;
        Ok(Self {
            conn,
            prefix: config.prefix.clone(),
            timeout: config.timeout,
            compare_and_set: Script::new(COMPARE_AND_SET),
            insert_api_key: Script::new(INSERT_API_KEY),
            revoke_api_key: Script::new(REVOKE_API_KEY),
        })
    }

    fn group_key(&self, id: &GroupId) -> String {
        format!(
            "{}group:{}",
            self.prefix,
            URL_SAFE_NO_PAD.encode(id.as_str())
        )
    }

    fn counter_key(&self) -> String {
        format!("{}team_id_seq", self.prefix)
    }

    fn api_keys_key(&self) -> String {
        format!("{}api_keys", self.prefix)
    }

    /// Runs one store operation under the deadline.
    async fn deadline<T>(
        &self,
        operation: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, operation)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(format!(
                    "no answer from Redis within {:?}",
                    self.timeout
                )))
            })
    }

    /// Replaces the record of `key` by `next(current)` with compare-and-set
    /// rounds; `None` when there is no record.
    async fn modify(
        &self,
        key: &str,
        next: impl Fn(&GroupRecord) -> GroupRecord,
    ) -> Result<Option<GroupRecord>, StoreError> {
        let mut conn = self.conn.clone();
        let mut current: Option<String> = conn.get(key).await.map_err(unavailable)?;
        for _ in 0..MAX_CAS_ATTEMPTS {
            let Some(stored) = current else {
                return Ok(None);
            };
            let updated = next(&from_json(&stored)?);
            match self
                .compare_and_set(&mut conn, key, &stored, &updated)
                .await?
            {
                None => return Ok(Some(updated)),
                Some(now_stored) => current = now_stored,
            }
        }
        Err(StoreError::Contention)
    }

    /// Writes `next` if `key` still holds `stored`. `Ok(None)` on success,
    /// otherwise `Ok(Some(what the key holds now))`.
    async fn compare_and_set(
        &self,
        conn: &mut ConnectionManager,
        key: &str,
        stored: &str,
        next: &GroupRecord,
    ) -> Result<Option<Option<String>>, StoreError> {
        let outcome: Value = self
            .compare_and_set
            .key(key)
            .arg(stored)
            .arg(to_json(next)?)
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

    async fn upsert_now(
        &self,
        change: &GroupUpsert,
        now: DateTime<Utc>,
    ) -> Result<Upserted, StoreError> {
        let key = self.group_key(&change.id);
        let mut conn = self.conn.clone();
        let mut current: Option<String> = conn.get(&key).await.map_err(unavailable)?;
        for _ in 0..MAX_CAS_ATTEMPTS {
            let Some(stored) = current else {
                let team: u64 = conn
                    .incr(self.counter_key(), 1)
                    .await
                    .map_err(unavailable)?;
                let team = TeamId::new(team).map_err(|err| StoreError::Corrupt(err.to_string()))?;
                let record = GroupRecord::create(team, change, now);
                let previous: Option<String> = redis::cmd("SET")
                    .arg(&key)
                    .arg(to_json(&record)?)
                    .arg("NX")
                    .arg("GET")
                    .query_async(&mut conn)
                    .await
                    .map_err(unavailable)?;
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
            let record: GroupRecord = from_json(&stored)?;
            let Some(next) = record.apply(change, now) else {
                return Ok(Upserted {
                    record,
                    created: false,
                });
            };
            match self
                .compare_and_set(&mut conn, &key, &stored, &next)
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
        self.deadline(self.upsert_now(change, now)).await
    }

    async fn get(&self, id: &GroupId) -> Result<Option<GroupRecord>, StoreError> {
        let key = self.group_key(id);
        self.deadline(async {
            let stored: Option<String> = self.conn.clone().get(&key).await.map_err(unavailable)?;
            stored.as_deref().map(from_json).transpose()
        })
        .await
    }

    async fn delete(&self, id: &GroupId) -> Result<bool, StoreError> {
        let key = self.group_key(id);
        self.deadline(async {
            let removed: u64 = self.conn.clone().del(&key).await.map_err(unavailable)?;
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
        self.deadline(self.modify(&key, |record| record.revoked(now)))
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.deadline(async {
            let _: String = redis::cmd("PING")
                .query_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.deadline(async {
            let inserted: i64 = self
                .insert_api_key
                .key(self.api_keys_key())
                .arg(key.name.as_str())
                .arg(key.hash.as_str())
                .arg(to_json(key)?)
                .invoke_async(&mut self.conn.clone())
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
        self.deadline(async {
            let stored: Option<String> = self
                .conn
                .clone()
                .hget(self.api_keys_key(), hash.as_str())
                .await
                .map_err(unavailable)?;
            stored.as_deref().map(from_json).transpose()
        })
        .await
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.deadline(async {
            let stored: Vec<String> = self
                .conn
                .clone()
                .hvals(self.api_keys_key())
                .await
                .map_err(unavailable)?;
            let mut keys = stored
                .iter()
                .map(|text| from_json::<ApiKeyRecord>(text))
                .collect::<Result<Vec<_>, _>>()?;
            keys.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(keys)
        })
        .await
    }

    async fn revoke_api_key(&self, name: &ApiKeyName) -> Result<bool, StoreError> {
        self.deadline(async {
            let removed: i64 = self
                .revoke_api_key
                .key(self.api_keys_key())
                .arg(name.as_str())
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(unavailable)?;
            Ok(removed == 1)
        })
        .await
    }
}

fn unavailable(err: redis::RedisError) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|err| StoreError::Corrupt(err.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|err| StoreError::Corrupt(err.to_string()))
}
