//! One conformance suite for every `GroupStore` backend: the same test
//! functions run against the embedded store, standalone Redis and a
//! three-master Redis Cluster. A new backend only has to pass this suite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod suite;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use tessera::auth::Secret;
use tessera::store::{EmbeddedStore, GroupStore, RedisConfig, RedisStore, RedisTarget};

use common::RedisServer;
use common::redis_cluster::RedisCluster;

/// A store and whatever must live as long as it.
pub type Backend = (Arc<dyn GroupStore>, Box<dyn Any>);

fn embedded() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    (Arc::new(store), Box::new(dir))
}

fn redis_store(target: RedisTarget) -> Arc<dyn GroupStore> {
    Arc::new(
        RedisStore::new(&RedisConfig {
            target,
            prefix: "conformance:".into(),
            timeout: Duration::from_secs(2),
        })
        .unwrap(),
    )
}

fn redis() -> Backend {
    let server = RedisServer::start();
    let store = redis_store(RedisTarget::Url(Secret::new(server.url())));
    (store, Box::new(server))
}

macro_rules! conformance {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let (store, _guard) = super::$backend();
                    super::suite::$case(store).await;
                }
            )*
        }
    };
}

conformance!(embedded:
    get_or_create_then_get, update_semantics, team_ids_are_unique_increasing_and_never_reused,
    concurrent_creation_of_one_id, concurrent_creation_of_many_ids, gen_bump, delete,
    api_keys, listing, listing_during_creation, import_keeps_records_and_advances_the_counter,
    import_refuses_clashes_all_or_nothing,
);

conformance!(redis:
    get_or_create_then_get, update_semantics, team_ids_are_unique_increasing_and_never_reused,
    concurrent_creation_of_one_id, concurrent_creation_of_many_ids, gen_bump, delete,
    api_keys, listing, listing_during_creation, import_keeps_records_and_advances_the_counter,
    import_refuses_clashes_all_or_nothing,
);

/// The whole suite against one cluster (starting a cluster per case would
/// triple the run time); each case uses its own key prefix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_passes_the_whole_suite() {
    let cluster = RedisCluster::start();
    let store = |case: &str| {
        Arc::new(
            RedisStore::new(&RedisConfig {
                target: RedisTarget::Cluster(cluster.nodes()),
                prefix: format!("{case}:"),
                timeout: Duration::from_secs(2),
            })
            .unwrap(),
        ) as Arc<dyn GroupStore>
    };
    suite::get_or_create_then_get(store("a")).await;
    suite::update_semantics(store("b")).await;
    suite::team_ids_are_unique_increasing_and_never_reused(store("c")).await;
    suite::concurrent_creation_of_one_id(store("d")).await;
    suite::concurrent_creation_of_many_ids(store("e")).await;
    suite::gen_bump(store("f")).await;
    suite::delete(store("g")).await;
    suite::api_keys(store("h")).await;
    suite::listing(store("i")).await;
    suite::listing_during_creation(store("j")).await;
    suite::import_keeps_records_and_advances_the_counter(store("k")).await;
    suite::import_refuses_clashes_all_or_nothing(store("l")).await;
}
