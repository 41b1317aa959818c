//! The shared key ring on every backend: created once however many
//! instances start together, scheduled steps taken once however many
//! instances run the schedule, and a wrong KEK that changes nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use tessera::clock::{Clock, SharedClock};
use tessera::ring::schedule::{self, Rotation, Step};
use tessera::ring::{Bootstrap, SharedRing};
use tessera::store::GroupStore;
use tessera::token::{Kek, KeyAlgorithm, KeyHandle, KeyState, RingDocument};

type Store = Arc<dyn GroupStore>;

/// A clock that only moves when told.
struct ManualClock {
    start: DateTime<Utc>,
    offset_secs: AtomicI64,
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::seconds(self.offset_secs.load(Ordering::SeqCst))
    }
}

fn bootstrap() -> Bootstrap {
    Bootstrap {
        legacy_dir: None,
        first_alg: KeyAlgorithm::EdDSA,
    }
}

fn rings(store: &Store, kek: &[u8; 32], clock: &SharedClock, count: usize) -> Vec<Arc<SharedRing>> {
    (0..count)
        .map(|_| {
            Arc::new(SharedRing::new(
                store.clone(),
                Arc::new(Kek::from_bytes(kek).unwrap()),
                KeyHandle::empty(),
                clock.clone(),
            ))
        })
        .collect()
}

fn active_kid(ring: &SharedRing) -> String {
    ring.keys().loaded().unwrap().active().0.kid.to_string()
}

async fn stored(store: &Store) -> RingDocument {
    RingDocument::from_json(&store.key_ring().await.unwrap().unwrap()).unwrap()
}

pub async fn shared_ring_is_created_once(store: Store) {
    let clock: SharedClock = Arc::new(tessera::clock::SystemClock);
    let instances = rings(&store, &[1; 32], &clock, 8);
    let bootstrap = bootstrap();
    let started = join_all(instances.iter().map(|ring| ring.refresh(Some(&bootstrap)))).await;
    let created = started
        .into_iter()
        .map(Result::unwrap)
        .filter(|refreshed| {
            matches!(
                refreshed,
                tessera::ring::Refreshed::Installed {
                    created: Some(_),
                    ..
                }
            )
        })
        .count();
    assert_eq!(created, 1, "one instance created the ring");
    let doc = stored(&store).await;
    assert_eq!(doc.keys.len(), 1);
    for ring in &instances {
        assert_eq!(active_kid(ring), doc.active.as_str());
    }
}

pub async fn scheduled_steps_happen_once(store: Store) {
    let manual = Arc::new(ManualClock {
        start: Utc::now(),
        offset_secs: AtomicI64::new(0),
    });
    let clock: SharedClock = manual.clone();
    let instances = rings(&store, &[2; 32], &clock, 4);
    instances[0].refresh(Some(&bootstrap())).await.unwrap();
    let first = stored(&store).await.active;
    let rotation = Rotation {
        every: Duration::from_secs(100),
        publish_delay: Duration::from_secs(10),
        retire_after: Duration::from_secs(30),
    };
    let step_all = || async {
        let steps = join_all(instances.iter().map(|ring| schedule::step(ring, &rotation))).await;
        steps
            .into_iter()
            .filter_map(Result::unwrap)
            .collect::<Vec<Step>>()
    };
    let states = |doc: &RingDocument| {
        doc.keys
            .iter()
            .map(|key| doc.state(key))
            .collect::<Vec<_>>()
    };

    assert_eq!(step_all().await, vec![], "nothing due yet");
    manual.offset_secs.store(100, Ordering::SeqCst);
    assert_eq!(
        step_all().await,
        vec![Step::Publish],
        "one instance published"
    );
    let doc = stored(&store).await;
    assert_eq!(states(&doc), vec![KeyState::Active, KeyState::Published]);
    let second = doc.keys[1].kid.clone();

    manual.offset_secs.store(110, Ordering::SeqCst);
    assert_eq!(step_all().await, vec![Step::Activate(second.clone())]);
    assert_eq!(
        states(&stored(&store).await),
        vec![KeyState::Published, KeyState::Active]
    );

    manual.offset_secs.store(142, Ordering::SeqCst);
    assert_eq!(step_all().await, vec![Step::Retire(first)]);
    let doc = stored(&store).await;
    assert_eq!(states(&doc), vec![KeyState::Retired, KeyState::Active]);
    assert!(doc.keys[0].sealed.is_none());
    // The instance that wrote installed at once; the others on refresh.
    for ring in &instances {
        ring.refresh(None).await.unwrap();
        assert_eq!(active_kid(ring), second.as_str());
    }
}

pub async fn a_wrong_kek_changes_nothing(store: Store) {
    let clock: SharedClock = Arc::new(tessera::clock::SystemClock);
    let right = rings(&store, &[3; 32], &clock, 1).remove(0);
    right.refresh(Some(&bootstrap())).await.unwrap();
    let before = store.key_ring().await.unwrap();

    let wrong = rings(&store, &[4; 32], &clock, 1).remove(0);
    let err = wrong.refresh(Some(&bootstrap())).await.unwrap_err();
    assert_eq!(err.unopened_kid(), Some(active_kid(&right).as_str()));
    assert!(wrong.keys().current().is_none(), "nothing installed");
    let added = wrong
        .change(|doc, kek, now| Ok(doc.add(KeyAlgorithm::EdDSA, true, now, kek)?))
        .await;
    assert!(
        added.is_err(),
        "a ring the KEK cannot open is never written"
    );
    assert_eq!(
        store.key_ring().await.unwrap(),
        before,
        "the store is unchanged"
    );
}
