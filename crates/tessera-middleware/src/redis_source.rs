//! [`RedisRevocations`] (feature `redis`): the revocation check against
//! Tessera's standalone Redis, for renderers that can reach it. It reads
//! the group's record and the token's deny-list entries where the service
//! writes them, in the format the service writes, both defined once in
//! `tessera_verify::stored` (one `MGET`: the entries share the
//! record's Cluster slot). Every
//! call has a deadline; a Redis that is down or hung makes the check
//! answer `503`, never a pass. (Renderers that cannot reach Redis, or that
//! face a Redis Cluster, read the revocation feed instead.)

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tessera_verify::stored::{decode_generation, redis_token_keys, token_values};
use tessera_verify::{Claims, Standing};

use crate::revocation::{RevocationSource, SourceUnavailable};

/// Group generations read from Tessera's Redis.
pub struct RedisRevocations {
    client: redis::Client,
    prefix: String,
    timeout: Duration,
    /// Made on first use, remade after a failure.
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
}

impl RedisRevocations {
    /// Reads the Redis at `url` (`redis://...`) under Tessera's key
    /// `prefix` (`tessera:` by default), each call within `timeout`.
    /// Connects on first use, so a Redis that is down at start is not an
    /// error here.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, SourceUnavailable> {
        let client = redis::Client::open(url)
            .map_err(|err| SourceUnavailable(format!("Redis URL: {err}")))?;
        Ok(Self {
            client,
            prefix: prefix.to_owned(),
            timeout,
            connection: tokio::sync::Mutex::new(None),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, SourceUnavailable> {
        let mut held = self.connection.lock().await;
        if let Some(connection) = held.as_ref() {
            return Ok(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(0);
        let connection = tokio::time::timeout(
            self.timeout,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        .map_err(|_| SourceUnavailable("Redis did not answer in time".into()))?
        .map_err(|err| SourceUnavailable(format!("Redis: {err}")))?;
        *held = Some(connection.clone());
        Ok(connection)
    }
}

#[async_trait]
impl RevocationSource for RedisRevocations {
    async fn standing(&self, claims: &Claims) -> Result<Standing, SourceUnavailable> {
        let mut connection = self.connection().await?;
        let keys = redis_token_keys(&self.prefix, claims);
        let mut mget = redis::cmd("MGET");
        mget.arg(&keys);
        let reads = mget.query_async::<Vec<Option<Vec<u8>>>>(&mut connection);
        let values = match tokio::time::timeout(self.timeout, reads).await {
            Ok(Ok(values)) => values,
            Ok(Err(err)) => {
                *self.connection.lock().await = None;
                return Err(SourceUnavailable(format!("Redis: {err}")));
            }
            Err(_) => {
                *self.connection.lock().await = None;
                return Err(SourceUnavailable("Redis did not answer in time".into()));
            }
        };
        let (stored, denied) = token_values(values);
        let generation = stored
            .map(|bytes| {
                decode_generation(&bytes)
                    .map_err(|err| SourceUnavailable(format!("stored group record: {err}")))
            })
            .transpose()?;
        Ok(Standing { generation, denied })
    }
}
