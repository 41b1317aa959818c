//! One connection type for standalone Redis and Redis Cluster.
//!
//! Standalone: a `ConnectionManager` created lazily, which reconnects by
//! itself. Cluster: a `ClusterConnection`, created on first use (so that
//! starting while the cluster is down neither fails nor hangs) and kept; it
//! follows slot moves and reconnects to nodes by itself.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use crate::store::StoreError;

/// A connection to either kind of deployment; cheap to clone.
#[derive(Clone)]
pub enum RedisConn {
    /// A standalone server.
    Standalone(ConnectionManager),
    /// A Redis Cluster.
    Cluster(ClusterConnection),
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Standalone(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Standalone(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Standalone(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}

/// Where the connection comes from.
pub enum Connector {
    /// Standalone: the manager exists from the start and connects lazily.
    Standalone(ConnectionManager),
    /// Cluster: connected on first use, then kept.
    Cluster(Box<ClusterConnector>),
}

/// The cluster client and, once made, its connection.
pub struct ClusterConnector {
    client: ClusterClient,
    conn: tokio::sync::Mutex<Option<ClusterConnection>>,
}

impl Connector {
    /// A standalone connector for `url` (not connected yet).
    pub fn standalone(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|err| {
            StoreError::Unavailable(format!("invalid Redis URL: {:?}", err.kind()))
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|err| StoreError::Unavailable(err.to_string()))?;
        Ok(Self::Standalone(manager))
    }

    /// A cluster connector for the seed `nodes` (not connected yet).
    pub fn cluster(nodes: &[String], timeout: Duration) -> Result<Self, StoreError> {
        let urls: Vec<String> = nodes.iter().map(|node| format!("redis://{node}")).collect();
        let client = ClusterClient::builder(urls)
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .retries(1)
            .min_retry_wait(20)
            .max_retry_wait(200)
            .build()
            .map_err(|err| StoreError::Unavailable(format!("invalid cluster nodes: {err}")))?;
        Ok(Self::Cluster(Box::new(ClusterConnector {
            client,
            conn: tokio::sync::Mutex::new(None),
        })))
    }

    /// A connection to use for one operation (callers bound it by their
    /// deadline).
    pub async fn get(&self) -> Result<RedisConn, StoreError> {
        match self {
            Self::Standalone(manager) => Ok(RedisConn::Standalone(manager.clone())),
            Self::Cluster(cluster) => {
                let mut held = cluster.conn.lock().await;
                if let Some(conn) = held.as_ref() {
                    return Ok(RedisConn::Cluster(conn.clone()));
                }
                let fresh = cluster
                    .client
                    .get_async_connection()
                    .await
                    .map_err(|err| StoreError::Unavailable(err.to_string()))?;
                *held = Some(fresh.clone());
                Ok(RedisConn::Cluster(fresh))
            }
        }
    }
}
