//! The conformance cases. Each takes a fresh, empty store.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Duration, Utc};
use futures::future::join_all;
use serde_json::json;
use tessera::auth::{ApiKey, ApiKeyName, ApiKeyRecord, ApiKeyScope};
use tessera::domain::{GroupId, GroupName, GroupRecord, GroupUpsert, Mapping, Properties, TeamId};
use tessera::store::{GroupStore, StoreError};

type Store = Arc<dyn GroupStore>;

fn id(text: &str) -> GroupId {
    GroupId::parse(text).unwrap()
}

fn upsert(text: &str) -> GroupUpsert {
    GroupUpsert {
        id: id(text),
        name: None,
        mapping: None,
        properties: None,
    }
}

fn props(value: serde_json::Value) -> Properties {
    Properties::from_json(&value).unwrap()
}

pub async fn get_or_create_then_get(store: Store) {
    let now = Utc::now();
    assert_eq!(store.get(&id("example_1")).await.unwrap(), None);
    let mut change = upsert("example_1");
    change.name = Some(GroupName::parse("Example 1").unwrap());
    change.mapping = Some(Mapping::from_json(&json!({"40": "213"})).unwrap());
    change.properties = Some(Some(props(json!({"filterValue": "value"}))));
    let first = store.upsert(&change, now).await.unwrap();
    assert!(first.created);
    assert_eq!(first.record.name.as_str(), "Example 1");
    assert_eq!(first.record.r#gen, 1);
    let second = store
        .upsert(&change, now + Duration::seconds(1))
        .await
        .unwrap();
    assert!(!second.created);
    assert_eq!(
        second.record, first.record,
        "an identical call changes nothing"
    );
    assert_eq!(
        store.get(&id("example_1")).await.unwrap(),
        Some(first.record)
    );
    store.ping().await.unwrap();
}

pub async fn update_semantics(store: Store) {
    let t0 = Utc::now();
    let mut change = upsert("g");
    change.mapping = Some(Mapping::from_json(&json!({"1": "2"})).unwrap());
    change.properties = Some(Some(props(json!({"a": 1}))));
    let created = store.upsert(&change, t0).await.unwrap().record;

    let t1 = t0 + Duration::seconds(5);
    let mut update = upsert("g");
    update.properties = Some(Some(props(json!({"b": 2}))));
    let updated = store.upsert(&update, t1).await.unwrap().record;
    assert_eq!(updated.properties, Some(props(json!({"b": 2}))));
    assert_eq!(updated.mapping, created.mapping, "absent fields are kept");
    assert_eq!(updated.team_id, created.team_id);
    assert_eq!(
        (updated.created_at, updated.updated_at),
        (created.created_at, t1)
    );

    let mut clear = upsert("g");
    clear.properties = Some(None);
    assert_eq!(
        store.upsert(&clear, t1).await.unwrap().record.properties,
        None
    );
    assert_eq!(store.get(&id("g")).await.unwrap().unwrap().properties, None);
}

pub async fn team_ids_are_unique_increasing_and_never_reused(store: Store) {
    let now = Utc::now();
    let mut seen = Vec::new();
    for name in ["a", "b", "c"] {
        seen.push(
            store
                .upsert(&upsert(name), now)
                .await
                .unwrap()
                .record
                .team_id,
        );
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert!(store.delete(&id("c")).await.unwrap());
    let after_delete = store
        .upsert(&upsert("d"), now)
        .await
        .unwrap()
        .record
        .team_id;
    assert!(
        after_delete > seen[2],
        "a deleted group's team_id is not given out again"
    );
    let recreated = store.upsert(&upsert("c"), now).await.unwrap();
    assert!(recreated.created);
    assert!(recreated.record.team_id > after_delete);
}

pub async fn concurrent_creation_of_one_id(store: Store) {
    let now = Utc::now();
    let change = upsert("contended");
    let outcomes = join_all((0..200).map(|_| store.upsert(&change, now))).await;
    let outcomes: Vec<_> = outcomes.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        outcomes.iter().filter(|o| o.created).count(),
        1,
        "exactly one creator"
    );
    let teams: HashSet<_> = outcomes.iter().map(|o| o.record.team_id).collect();
    assert_eq!(teams.len(), 1);
}

pub async fn concurrent_creation_of_many_ids(store: Store) {
    let now = Utc::now();
    let changes: Vec<_> = (0..200).map(|i| upsert(&format!("group-{i}"))).collect();
    let outcomes = join_all(changes.iter().map(|c| store.upsert(c, now))).await;
    let outcomes: Vec<_> = outcomes.into_iter().map(Result::unwrap).collect();
    assert!(outcomes.iter().all(|o| o.created));
    let teams: HashSet<_> = outcomes.iter().map(|o| o.record.team_id).collect();
    assert_eq!(teams.len(), 200);
}

pub async fn gen_bump(store: Store) {
    let now = Utc::now();
    let created = store.upsert(&upsert("g"), now).await.unwrap().record;
    let later = now + Duration::seconds(3);
    let bumped = store.bump_gen(&id("g"), later).await.unwrap().unwrap();
    assert_eq!(bumped.r#gen, created.r#gen + 1);
    assert_eq!(bumped.updated_at, later);
    assert_eq!(store.get(&id("g")).await.unwrap(), Some(bumped));
    assert_eq!(store.bump_gen(&id("nobody"), later).await.unwrap(), None);
    let again = store.upsert(&upsert("g"), later).await.unwrap();
    assert_eq!(again.record.r#gen, 2, "get-or-create keeps the generation");
}

pub async fn delete(store: Store) {
    let now = Utc::now();
    store.upsert(&upsert("g"), now).await.unwrap();
    assert!(store.delete(&id("g")).await.unwrap());
    assert_eq!(store.get(&id("g")).await.unwrap(), None);
    assert!(!store.delete(&id("g")).await.unwrap());
    assert!(store.list(None, 10).await.unwrap().is_empty());
}

pub async fn api_keys(store: Store) {
    let record = |name: &str| {
        let key = ApiKey::generate().unwrap();
        (
            key.clone(),
            ApiKeyRecord {
                name: ApiKeyName::parse(name).unwrap(),
                hash: key.hash(),
                created_at: Utc::now(),
                // Both scopes round-trip.
                scope: if name.ends_with('a') {
                    ApiKeyScope::Renderer
                } else {
                    ApiKeyScope::Admin
                },
            },
        )
    };
    let (key_b, b) = record("backend-b");
    let (_, a) = record("backend-a");
    store.insert_api_key(&b).await.unwrap();
    store.insert_api_key(&a).await.unwrap();
    let (_, dup) = record("backend-b");
    assert!(matches!(
        store.insert_api_key(&dup).await,
        Err(StoreError::NameTaken(_))
    ));
    assert_eq!(
        store.find_api_key(&key_b.hash()).await.unwrap(),
        Some(b.clone())
    );
    let names: Vec<_> = store
        .list_api_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(names, vec![a.name.clone(), b.name.clone()]);
    assert!(store.revoke_api_key(&b.name).await.unwrap());
    assert!(!store.revoke_api_key(&b.name).await.unwrap());
    assert_eq!(store.find_api_key(&key_b.hash()).await.unwrap(), None);
}

pub async fn listing(store: Store) {
    let now = Utc::now();
    for i in 0..25 {
        store.upsert(&upsert(&format!("g{i}")), now).await.unwrap();
    }
    store.delete(&id("g3")).await.unwrap();
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = store.list(after, 7).await.unwrap();
        assert!(page.len() <= 7);
        walked.extend(page.iter().map(|r| r.team_id));
        match page.last() {
            Some(last) if page.len() == 7 => after = Some(last.team_id),
            _ => break,
        }
    }
    assert_eq!(walked.len(), 24);
    assert!(
        walked.windows(2).all(|w| w[0] < w[1]),
        "increasing team_id order"
    );
    assert!(
        store
            .list(Some(TeamId::new(10_000).unwrap()), 5)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn listing_during_creation(store: Store) {
    let now = Utc::now();
    let mut initial = HashSet::new();
    for i in 0..60 {
        initial.insert(
            store
                .upsert(&upsert(&format!("old{i}")), now)
                .await
                .unwrap()
                .record
                .provided_id,
        );
    }
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..60 {
                store
                    .upsert(&upsert(&format!("new{i}")), now)
                    .await
                    .unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list(after, 5).await.unwrap();
        seen.extend(page.iter().map(|r| r.provided_id.clone()));
        match page.last() {
            Some(last) if page.len() == 5 => after = Some(last.team_id),
            _ => break,
        }
        tokio::task::yield_now().await;
    }
    writer.await.unwrap();
    for id in &initial {
        assert_eq!(
            seen.iter().filter(|s| *s == id).count(),
            1,
            "{id} not seen exactly once"
        );
    }
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no group listed twice");
}

fn exported(team: u64, name: &str, generation: u64) -> GroupRecord {
    let at = Utc::now() - Duration::days(30);
    let mut record = GroupRecord::create(TeamId::new(team).unwrap(), &upsert(name), at);
    record.r#gen = generation;
    record.properties = Some(props(json!({"tenant": name})));
    record.updated_at = at + Duration::days(1);
    record
}

pub async fn import_keeps_records_and_advances_the_counter(store: Store) {
    let records = vec![exported(40, "x", 3), exported(7, "y", 1)];
    let report = store.import(&records, false).await.unwrap();
    assert_eq!((report.written, report.unchanged), (2, 0));
    assert_eq!(store.get(&id("x")).await.unwrap(), Some(records[0].clone()));
    let listed = store.list(None, 10).await.unwrap();
    assert_eq!(listed, vec![records[1].clone(), records[0].clone()]);
    let fresh = store.upsert(&upsert("z"), Utc::now()).await.unwrap().record;
    assert!(
        fresh.team_id.get() > 40,
        "the counter moved past the imported team_ids"
    );
    let again = store.import(&records, false).await.unwrap();
    assert_eq!(
        (again.written, again.unchanged),
        (0, 2),
        "importing twice is harmless"
    );
}

pub async fn import_refuses_clashes_all_or_nothing(store: Store) {
    store.import(&[exported(5, "x", 1)], false).await.unwrap();
    let changed = exported(5, "x", 9);
    let new = exported(6, "fresh", 1);
    let err = store
        .import(&[new.clone(), changed.clone()], false)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(
        store.get(&id("fresh")).await.unwrap(),
        None,
        "nothing of a refused batch"
    );
    let taken_team = exported(5, "other", 1);
    assert!(
        store
            .import(std::slice::from_ref(&taken_team), true)
            .await
            .is_err(),
        "a team_id is never shared"
    );
    // The same inside batches of close team_ids (Redis reads their holders
    // in one range) and of far-apart ones (one read each).
    for batch in [
        [exported(4, "four", 1), exported(5, "other", 1)],
        [exported(5, "other", 1), exported(5_000_000, "far", 1)],
    ] {
        assert!(store.import(&batch, true).await.is_err(), "{batch:?}");
        assert_eq!(store.get(&id("four")).await.unwrap(), None);
        assert_eq!(store.get(&id("far")).await.unwrap(), None);
    }
    let twice = store
        .import(&[exported(8, "a", 1), exported(8, "b", 1)], false)
        .await;
    assert!(twice.is_err(), "one team_id twice in a batch");

    let report = store
        .import(&[new.clone(), changed.clone()], true)
        .await
        .unwrap();
    assert_eq!(report.written, 2);
    assert_eq!(store.get(&id("x")).await.unwrap(), Some(changed));
    assert_eq!(store.get(&id("fresh")).await.unwrap(), Some(new));
}

/// After a revoke or a delete, no import (with or without overwrite) and
/// no re-creation brings back a `gen` and `team_id` pair that a token
/// issued before it carries.
pub async fn revocation_survives_restores(store: Store) {
    // Revoke, then restore the export taken before it.
    let before = store.upsert(&upsert("r"), Utc::now()).await.unwrap().record;
    let revoked = store.bump_gen(&id("r"), Utc::now()).await.unwrap().unwrap();
    store
        .import(std::slice::from_ref(&before), true)
        .await
        .unwrap();
    let restored = store.get(&id("r")).await.unwrap().unwrap();
    assert_eq!(restored.team_id, before.team_id);
    assert!(
        restored.r#gen >= revoked.r#gen,
        "the import lowered gen from {} to {}",
        revoked.r#gen,
        restored.r#gen
    );
    assert_ne!(
        restored.r#gen, before.r#gen,
        "old tokens would verify again"
    );

    // Delete, then restore the export taken before it.
    let before = store.upsert(&upsert("d"), Utc::now()).await.unwrap().record;
    assert!(store.delete(&id("d")).await.unwrap());
    store
        .import(std::slice::from_ref(&before), false)
        .await
        .unwrap();
    let restored = store.get(&id("d")).await.unwrap().unwrap();
    assert_eq!(restored.team_id, before.team_id);
    assert!(
        restored.r#gen > before.r#gen,
        "old tokens would verify again"
    );
    // Importing the same export again changes nothing more.
    let again = store
        .import(std::slice::from_ref(&before), false)
        .await
        .unwrap();
    assert_eq!((again.written, again.unchanged), (0, 1));

    // Delete, then re-create: a new team_id, so old tokens never match.
    assert!(store.delete(&id("d")).await.unwrap());
    let recreated = store.upsert(&upsert("d"), Utc::now()).await.unwrap().record;
    assert_ne!(recreated.team_id, before.team_id);

    // Two revokes, then a restore of the first export: still above both.
    let first = store
        .upsert(&upsert("twice"), Utc::now())
        .await
        .unwrap()
        .record;
    store.bump_gen(&id("twice"), Utc::now()).await.unwrap();
    let second = store
        .bump_gen(&id("twice"), Utc::now())
        .await
        .unwrap()
        .unwrap();
    store
        .import(std::slice::from_ref(&first), true)
        .await
        .unwrap();
    let restored = store.get(&id("twice")).await.unwrap().unwrap();
    assert!(restored.r#gen >= second.r#gen);
}

/// A change that would make the group's token too large is refused and
/// leaves nothing (or the earlier record) behind.
pub async fn oversized_groups_are_refused(store: Store) {
    let huge = tessera::domain::Mapping::from_json(&serde_json::Value::Object(
        (0..1000)
            .map(|i| (format!("schema-{i}"), json!(format!("source-{i:06}"))))
            .collect(),
    ))
    .unwrap();
    let mut change = upsert("big");
    change.mapping = Some(huge.clone());
    let err = store.upsert(&change, Utc::now()).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(field) if field.field == "mapping"),
        "{err}"
    );
    assert_eq!(store.get(&id("big")).await.unwrap(), None);
    let small = store
        .upsert(&upsert("big"), Utc::now())
        .await
        .unwrap()
        .record;
    let err = store.upsert(&change, Utc::now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
    assert_eq!(store.get(&id("big")).await.unwrap(), Some(small));
}

/// The key ring document: created once, then replaced only by a caller
/// that read the current one (compare-and-set), even under contention.
pub async fn key_ring_compare_and_set(store: Store) {
    assert_eq!(store.key_ring().await.unwrap(), None);
    assert!(store.replace_key_ring(None, "[]").await.unwrap());
    assert!(
        !store.replace_key_ring(None, "[\"other\"]").await.unwrap(),
        "created once"
    );
    assert_eq!(store.key_ring().await.unwrap().as_deref(), Some("[]"));
    assert!(
        !store
            .replace_key_ring(Some("[\"stale\"]"), "[1]")
            .await
            .unwrap()
    );
    assert_eq!(store.key_ring().await.unwrap().as_deref(), Some("[]"));

    // 16 writers each append their number by read-modify-compare-and-set:
    // none is lost.
    let writers = (0..16).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                let current = store.key_ring().await.unwrap().unwrap();
                let mut list: Vec<u32> = serde_json::from_str(&current).unwrap();
                list.push(n);
                let next = serde_json::to_string(&list).unwrap();
                if store.replace_key_ring(Some(&current), &next).await.unwrap() {
                    return;
                }
            }
        })
    });
    for writer in futures::future::join_all(writers).await {
        writer.unwrap();
    }
    let mut all: Vec<u32> =
        serde_json::from_str(&store.key_ring().await.unwrap().unwrap()).unwrap();
    all.sort_unstable();
    assert_eq!(all, (0..16).collect::<Vec<_>>());
}

pub async fn revocation_feed_is_ordered_paged_and_bounded(store: Store) {
    use std::time::Duration as StdDuration;
    use tessera_verify::feed::{Revocation, RevocationKind};

    let retention = StdDuration::from_secs(3600);
    let t0 = Utc::now();
    let event = |n: u64| Revocation {
        user_group_id: id(&format!("g{n}")),
        team_id: n,
        kind: if n.is_multiple_of(2) {
            RevocationKind::Deleted
        } else {
            RevocationKind::Revoked { below_gen: n + 1 }
        },
    };
    assert_eq!(store.revocations(None, 10).await.unwrap(), vec![]);
    let mut cursors = Vec::new();
    for n in 1..=5 {
        let at = t0 + Duration::milliseconds(i64::try_from(n / 2).unwrap());
        cursors.push(
            store
                .record_revocation(&event(n), at, retention)
                .await
                .unwrap(),
        );
    }
    assert!(
        cursors.windows(2).all(|pair| pair[0] < pair[1]),
        "{cursors:?}"
    );
    let all = store.revocations(None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.revocation.clone()).collect::<Vec<_>>(),
        (1..=5).map(event).collect::<Vec<_>>()
    );
    assert_eq!(all.iter().map(|e| e.cursor).collect::<Vec<_>>(), cursors);
    // Pages: after a cursor, at most `limit`, oldest first.
    let page = store.revocations(Some(cursors[1]), 2).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.cursor).collect::<Vec<_>>(),
        cursors[2..4]
    );
    assert_eq!(
        store.revocations(Some(cursors[4]), 10).await.unwrap(),
        vec![]
    );

    // An entry recorded after the retention has passed drops the older ones.
    let later = t0 + Duration::seconds(3601);
    let last = store
        .record_revocation(&event(6), later, retention)
        .await
        .unwrap();
    let kept = store.revocations(None, 10).await.unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].cursor, last);
    assert!(last.expired(later + Duration::seconds(3601), retention));
    assert!(!last.expired(later, retention));
}

/// Claims of a token of `record` with this `jti` and `sid`.
fn claims_of(record: &GroupRecord, jti: &str, sid: &str) -> tessera_verify::Claims {
    tessera_verify::Claims {
        iss: "https://tessera.test".into(),
        aud: tessera_verify::Audience::One("dashboards".into()),
        sub: record.provided_id.clone(),
        iat: 0,
        nbf: 0,
        exp: 0,
        jti: tessera_verify::TokenId::parse(jti.repeat(22)).unwrap(),
        team_id: record.team_id,
        name: record.name.clone(),
        mapping: record.mapping.clone(),
        properties: record.properties.clone(),
        r#gen: record.r#gen,
        sid: Some(tessera_verify::SessionId::parse(sid.repeat(22)).unwrap()),
        sst: Some(0),
        origins: None,
    }
}

pub async fn deny_list_covers_one_token_or_session_and_expires(store: Store) {
    use tessera_verify::feed::Denial;

    let now = Utc::now();
    let record = store.upsert(&upsert("g"), now).await.unwrap().record;
    let token = claims_of(&record, "a", "s");
    let sibling = claims_of(&record, "b", "t");
    let same_session = claims_of(&record, "c", "s");
    let state = store.token_state(&token, now).await.unwrap();
    assert_eq!(state.record().unwrap().as_ref(), Some(&record));
    assert!(!state.denied);
    assert!(state.standing().unwrap().admits(&token));

    store
        .deny(
            &record.provided_id,
            &Denial::Token(token.jti.clone()),
            now + Duration::hours(1),
            now,
        )
        .await
        .unwrap();
    assert!(store.token_state(&token, now).await.unwrap().denied);
    assert!(!store.token_state(&same_session, now).await.unwrap().denied);
    assert!(!store.token_state(&sibling, now).await.unwrap().denied);

    let sid = token.sid.clone().unwrap();
    store
        .deny(
            &record.provided_id,
            &Denial::Session(sid),
            now + Duration::hours(1),
            now,
        )
        .await
        .unwrap();
    assert!(store.token_state(&same_session, now).await.unwrap().denied);
    assert!(!store.token_state(&sibling, now).await.unwrap().denied);
    // Another group's token with the same ids is not covered.
    let other = store.upsert(&upsert("h"), now).await.unwrap().record;
    assert!(
        !store
            .token_state(&claims_of(&other, "a", "s"), now)
            .await
            .unwrap()
            .denied
    );

    // An entry goes by itself at its time; a shorter one never shortens it.
    let soon = Utc::now() + Duration::milliseconds(1500);
    let brief = Denial::Token(sibling.jti.clone());
    store
        .deny(&record.provided_id, &brief, soon, Utc::now())
        .await
        .unwrap();
    store
        .deny(&record.provided_id, &brief, Utc::now(), Utc::now())
        .await
        .unwrap();
    assert!(
        store
            .token_state(&sibling, Utc::now())
            .await
            .unwrap()
            .denied
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store
        .token_state(&sibling, Utc::now())
        .await
        .unwrap()
        .denied
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the entry never expired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(Utc::now() >= soon, "gone before its time");
    assert!(
        store.token_state(&token, Utc::now()).await.unwrap().denied,
        "the hour-long one stays"
    );
}

pub async fn audit_trail_is_capped_paged_newest_first_and_counts_hours(store: Store) {
    use tessera::audit::{AuditEvent, AuditKind, Caller, HourCount};

    let now = Utc::now();
    let group = id("g");
    let caller = Caller {
        request_id: Some("req-1".into()),
        api_key: Some("backend".into()),
        client: Some("127.0.0.1".into()),
        origin: None,
    };
    let kinds = [
        AuditKind::Created,
        AuditKind::Issued,
        AuditKind::Refreshed,
        AuditKind::VerifyFailed,
        AuditKind::Deleted,
    ];
    let mut cursors = Vec::new();
    for (n, kind) in kinds.iter().enumerate() {
        let event = AuditEvent::new(*kind, now, 7, &caller);
        let at = now + Duration::milliseconds(i64::try_from(n / 2).unwrap());
        let appended = store
            .append_audit(&[(group.clone(), event)], 4, at)
            .await
            .unwrap();
        cursors.extend(appended);
    }
    assert!(
        cursors.windows(2).all(|pair| pair[0] < pair[1]),
        "{cursors:?}"
    );
    // The oldest went past the retention of 4; newest first.
    let all = store.audit_events(&group, None, 10).await.unwrap();
    let seen: Vec<AuditKind> = all.iter().map(|entry| entry.event.event).collect();
    assert_eq!(
        seen,
        [
            AuditKind::Deleted,
            AuditKind::VerifyFailed,
            AuditKind::Refreshed,
            AuditKind::Issued
        ]
    );
    assert_eq!(
        all[0].event,
        AuditEvent::new(AuditKind::Deleted, now, 7, &caller)
    );
    assert_eq!(all[0].cursor, cursors[4]);
    // Pages: before a cursor, at most `limit`, newest first.
    let page = store
        .audit_events(&group, Some(cursors[3]), 2)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|e| e.cursor).collect::<Vec<_>>(),
        [cursors[2], cursors[1]]
    );
    assert!(
        store
            .audit_events(&group, Some(cursors[1]), 2)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .audit_events(&id("other"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Groups created or deleted are known to have a trail.
    let listed = store.audited_groups(None, 10).await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&group));
    assert!(
        store
            .audited_groups(Some(&group), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A batch spans groups: each event lands in its own group's trail,
    // in the batch's order.
    let later = now + Duration::seconds(1);
    let batch = [
        (
            id("a"),
            AuditEvent::new(AuditKind::Issued, later, 8, &caller),
        ),
        (
            id("b"),
            AuditEvent::new(AuditKind::Created, later, 9, &caller),
        ),
        (
            id("a"),
            AuditEvent::new(AuditKind::Refreshed, later, 8, &caller),
        ),
    ];
    // One position per event, in the batch's order, even where a
    // creation also names its group in the index.
    let appended = store.append_audit(&batch, 4, later).await.unwrap();
    assert_eq!(appended.len(), 3);
    let a = store.audit_events(&id("a"), None, 10).await.unwrap();
    assert_eq!(
        a.iter().map(|entry| entry.event.event).collect::<Vec<_>>(),
        [AuditKind::Refreshed, AuditKind::Issued]
    );
    assert_eq!(
        a.iter().map(|entry| entry.cursor).collect::<Vec<_>>(),
        [appended[2], appended[0]]
    );
    let b = store.audit_events(&id("b"), None, 10).await.unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].event.team_id, 9);
    assert_eq!(b[0].cursor, appended[1]);
    let listed = store.audited_groups(None, 10).await.unwrap();
    assert!(listed.contains(&id("b")), "{listed:?}");

    // Verification counts add up per hour; only the latest hours stay.
    let count = |hour: i64, count: u64| HourCount {
        id: group.clone(),
        hour,
        count,
    };
    store
        .add_verifications(&[count(3600, 2), count(7200, 1)], 2)
        .await
        .unwrap();
    store.add_verifications(&[count(3600, 3)], 2).await.unwrap();
    assert_eq!(
        store.verification_counts(&group, 10).await.unwrap(),
        [(7200, 1), (3600, 5)]
    );
    store
        .add_verifications(&[count(10_800, 4)], 2)
        .await
        .unwrap();
    assert_eq!(
        store.verification_counts(&group, 10).await.unwrap(),
        [(10_800, 4), (7200, 1)]
    );
    assert_eq!(
        store.verification_counts(&group, 1).await.unwrap(),
        [(10_800, 4)]
    );
}
