//! One conformance suite for every `GroupStore` backend: the same test
//! functions run against the embedded store, standalone Redis and a
//! three-master Redis Cluster. A new backend only has to pass this suite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod shared_ring;
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
                    super::$case(store).await;
                }
            )*
        }
    };
}

use shared_ring::{
    a_wrong_kek_changes_nothing, scheduled_steps_happen_once, shared_ring_is_created_once,
};
use suite::*;

conformance!(embedded:
    get_or_create_then_get, update_semantics, team_ids_are_unique_increasing_and_never_reused,
    concurrent_creation_of_one_id, concurrent_creation_of_many_ids, gen_bump, delete,
    api_keys, listing, listing_during_creation, import_keeps_records_and_advances_the_counter,
    import_refuses_clashes_all_or_nothing, revocation_survives_restores,
    oversized_groups_are_refused, key_ring_compare_and_set, revocation_feed_is_ordered_paged_and_bounded,
    deny_list_covers_one_token_or_session_and_expires,
    audit_trail_is_capped_paged_newest_first_and_counts_hours,
    shared_ring_is_created_once, scheduled_steps_happen_once, a_wrong_kek_changes_nothing,
);

conformance!(redis:
    get_or_create_then_get, update_semantics, team_ids_are_unique_increasing_and_never_reused,
    concurrent_creation_of_one_id, concurrent_creation_of_many_ids, gen_bump, delete,
    api_keys, listing, listing_during_creation, import_keeps_records_and_advances_the_counter,
    import_refuses_clashes_all_or_nothing, revocation_survives_restores,
    oversized_groups_are_refused, key_ring_compare_and_set, revocation_feed_is_ordered_paged_and_bounded,
    deny_list_covers_one_token_or_session_and_expires,
    audit_trail_is_capped_paged_newest_first_and_counts_hours,
    shared_ring_is_created_once, scheduled_steps_happen_once, a_wrong_kek_changes_nothing,
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
    suite::revocation_survives_restores(store("m")).await;
    suite::oversized_groups_are_refused(store("n")).await;
    suite::key_ring_compare_and_set(store("o")).await;
    shared_ring::shared_ring_is_created_once(store("p")).await;
    shared_ring::scheduled_steps_happen_once(store("q")).await;
    shared_ring::a_wrong_kek_changes_nothing(store("r")).await;
    suite::revocation_feed_is_ordered_paged_and_bounded(store("s")).await;
    suite::deny_list_covers_one_token_or_session_and_expires(store("t")).await;
    suite::audit_trail_is_capped_paged_newest_first_and_counts_hours(store("u")).await;
}

/// An import that Redis stops part-way (`maxmemory` reached) leaves the
/// `team_id` counter past every imported record, and running it again
/// once memory is freed completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_import_stopped_by_maxmemory_is_safe_and_completes_when_rerun() {
    use chrono::Utc;
    use tessera::domain::{GroupId, GroupRecord, GroupUpsert, TeamId};

    let server = RedisServer::start();
    let store = redis_store(RedisTarget::Url(Secret::new(server.url())));
    store.ping().await.unwrap();
    let records: Vec<GroupRecord> = (0..4000u64)
        .map(|n| {
            let change = GroupUpsert {
                id: GroupId::parse(format!("imported-{n}")).unwrap(),
                name: None,
                mapping: None,
                properties: None,
            };
            GroupRecord::create(TeamId::new(10 + n).unwrap(), &change, Utc::now())
        })
        .collect();
    let info = server.cli(&["INFO", "memory"]);
    let used: u64 = info
        .lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    server.cli(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
    server.cli(&[
        "CONFIG",
        "SET",
        "maxmemory",
        &(used + 640 * 1024).to_string(),
    ]);

    let err = store.import(&records, false).await.unwrap_err();
    assert!(err.to_string().contains("OOM"), "{err}");
    let written = store.list(None, 10_000).await.unwrap().len();
    assert!(
        written > 0 && written < records.len(),
        "stopped part-way: {written}"
    );

    server.cli(&["CONFIG", "SET", "maxmemory", "0"]);
    let fresh = store
        .upsert(
            &GroupUpsert {
                id: GroupId::parse("new-after-failure").unwrap(),
                name: None,
                mapping: None,
                properties: None,
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .record;
    assert!(
        fresh.team_id.get() > 4009,
        "a new group took an imported team_id: {}",
        fresh.team_id
    );

    let report = store.import(&records, false).await.unwrap();
    assert_eq!(report.written + report.unchanged, records.len());
    assert_eq!(
        report.unchanged, written,
        "what the first run wrote is kept"
    );
    let listed = store.list(None, 10_000).await.unwrap();
    assert_eq!(listed.len(), records.len() + 1, "every record listed once");
}
