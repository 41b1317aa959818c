//! Every token Tessera issues, Tessera verifies: the largest group the
//! store accepts gets a token within the verifier's 16 KiB limit, with
//! every algorithm and the longest issuer and audience `serve` accepts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use serde_json::{Map, Value, json};
use tessera::domain::{
    GroupId, GroupRecord, GroupUpsert, MAX_ALLOWED_ORIGINS, MAX_GROUP_CLAIMS_BYTES,
    MAX_ORIGIN_BYTES, Mapping, Properties, TeamId,
};
use tessera::token::{
    KeyAlgorithm, KeyRing, MAX_TOKEN_BYTES, Session, TokenIssuer, TokenPolicy, VerifyPolicy, verify,
};

/// A group whose claims take exactly `bytes`.
fn group_of(bytes: usize) -> (GroupRecord, GroupUpsert) {
    let mapping: Map<String, Value> = (0..200)
        .map(|i| (format!("{i}"), json!(format!("source-{i:05}"))))
        .collect();
    let change = |filler: usize| GroupUpsert {
        id: GroupId::parse("g").unwrap(),
        name: None,
        mapping: Some(Mapping::from_json(&Value::Object(mapping.clone())).unwrap()),
        properties: Some(Some(
            Properties::from_json(&json!({
                "tenant": "\"".repeat(filler / 2) + &"a".repeat(filler % 2)
            }))
            .unwrap(),
        )),
    };
    let at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
    let size = |change: &GroupUpsert| {
        let record = GroupRecord::create(TeamId::new(1).unwrap(), change, at);
        serde_json::to_vec(&(
            &record.provided_id,
            &record.name,
            &record.mapping,
            &record.properties,
        ))
        .unwrap()
        .len()
    };
    let base = size(&change(0));
    // Each quote is escaped: two bytes of JSON per character.
    let filler = bytes - base;
    let change = change(filler);
    assert_eq!(size(&change), bytes, "the fixture hits the size exactly");
    (
        GroupRecord::create(TeamId::new(1).unwrap(), &change, at),
        change,
    )
}

#[test]
fn the_largest_group_gets_a_token_that_verifies_with_every_algorithm() {
    let (largest, change) = group_of(MAX_GROUP_CLAIMS_BYTES);
    assert!(largest.check_token_room(&change).is_ok());
    let (over, change) = group_of(MAX_GROUP_CLAIMS_BYTES + 2);
    let err = over.check_token_room(&change).unwrap_err();
    assert_eq!(err.field, "mapping");

    let long = |c: char| std::iter::repeat_n(c, 256).collect::<String>();
    let policy = TokenPolicy {
        verify: VerifyPolicy {
            issuer: format!("https://{}", long('i'))[..256].to_owned(),
            audience: long('a'),
            max_ttl: Duration::from_secs(30 * 86_400),
            leeway: Duration::from_secs(60),
        },
        default_ttl: Duration::from_secs(30 * 86_400),
        max_session: Duration::from_secs(7 * 86_400),
        refresh_grace: Duration::ZERO,
    };
    let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
    for algorithm in [
        KeyAlgorithm::EdDSA,
        KeyAlgorithm::ES256,
        KeyAlgorithm::RS256,
        KeyAlgorithm::HS256,
    ] {
        let dir = tempfile::tempdir().unwrap();
        KeyRing::generate(dir.path(), algorithm, now).unwrap();
        let ring = KeyRing::load(dir.path()).unwrap();
        // Bound to the most origins, each of the longest length accepted.
        let mut session = Session::start(now).unwrap();
        session.origins = Some(
            (0..MAX_ALLOWED_ORIGINS)
                .map(|n| {
                    let host = format!("{n:02}{}", "o".repeat(MAX_ORIGIN_BYTES - 8 - 2 - 4));
                    format!("https://{host}.com")
                })
                .collect(),
        );
        assert!(
            session
                .origins
                .iter()
                .flatten()
                .all(|o| o.len() == MAX_ORIGIN_BYTES)
        );
        let issued = TokenIssuer::new(&ring, &policy)
            .issue_in(&largest, None, now, &session)
            .unwrap();
        assert!(
            issued.token.len() <= MAX_TOKEN_BYTES,
            "{algorithm:?}: {} bytes",
            issued.token.len()
        );
        let claims = verify(ring.keyset(), &policy.verify, &issued.token, now).unwrap();
        assert_eq!(claims.sub.as_str(), "g");
    }
}
