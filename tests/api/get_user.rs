//! The get-user endpoint's happy paths, update semantics and concurrency.

use std::collections::HashSet;

use chrono::Utc;
use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::app::{AUDIENCE, ISSUER, jwt_part};
use crate::common::{RedisServer, spawn_app};

fn seed_body() -> Value {
    json!({
        "user_group_id": "example_1",
        "name": "Example 1",
        "mapping": {"40": "213", "134": "386"},
        "properties": {"filterValue": "value"}
    })
}

#[tokio::test]
async fn seed_example_creates_then_gets() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;

    let (status, first) = app.get_user(&seed_body()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["success"], 1);
    assert_eq!(first["new_user_group"], true);
    let group = &first["user_group"];
    assert_eq!(group["provided_id"], "example_1");
    assert_eq!(group["name"], "Example 1");
    assert_eq!(group["properties"], json!({"filterValue": "value"}));
    assert_eq!(group["mapping"], json!({"40": "213", "134": "386"}));
    let team_id = group["team_id"].as_u64().unwrap();
    assert!(team_id > 0);

    let (status, second) = app.get_user(&seed_body()).await;
    assert_eq!(status, 200);
    assert_eq!(second["new_user_group"], false);
    assert_eq!(second["user_group"]["team_id"], team_id);
    assert_ne!(
        second["user_group"]["token"], group["token"],
        "every call signs a fresh token"
    );
}

#[tokio::test]
async fn token_carries_the_documented_claims_and_verifies() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let (_, body) = app.get_user(&seed_body()).await;
    let token = body["user_group"]["token"].as_str().unwrap();

    let header = jwt_part(token, 0);
    let keys = app.state.keys.current().unwrap();
    let (active, _) = keys.active();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], active.kid.as_str());

    let claims = jwt_part(token, 1);
    for name in [
        "iss",
        "aud",
        "sub",
        "iat",
        "nbf",
        "exp",
        "jti",
        "team_id",
        "name",
        "mapping",
        "properties",
        "gen",
    ] {
        assert!(
            claims.get(name).is_some(),
            "claim {name} missing in {claims}"
        );
    }
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["sub"], "example_1");
    assert_eq!(claims["team_id"], body["user_group"]["team_id"]);
    assert_eq!(claims["mapping"], json!({"40": "213", "134": "386"}));
    assert_eq!(claims["properties"], json!({"filterValue": "value"}));
    assert_eq!(claims["gen"], 1);
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 24 * 3600);
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(body["user_group"]["expires_at"].as_str().unwrap())
            .unwrap();
    assert_eq!(expires_at.timestamp(), claims["exp"].as_i64().unwrap());

    let verified =
        tessera::token::verify(keys.keyset(), &app.state.tokens.verify, token, Utc::now()).unwrap();
    assert_eq!(verified.sub.as_str(), "example_1");
}

#[tokio::test]
async fn get_and_post_behave_the_same() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let key = Some(crate::common::app::OPERATOR_KEY);
    let (status, created) = app.call(Method::GET, &seed_body(), key).await;
    assert_eq!(status, 200);
    assert_eq!(created["new_user_group"], true);
    let (status, fetched) = app.call(Method::POST, &seed_body(), key).await;
    assert_eq!(status, 200);
    assert_eq!(fetched["new_user_group"], false);
    let strip = |mut v: Value| {
        v["user_group"]["token"] = Value::Null;
        v["user_group"]["expires_at"] = Value::Null;
        v["new_user_group"] = Value::Null;
        v
    };
    assert_eq!(strip(created), strip(fetched));
}

#[tokio::test]
async fn present_fields_replace_absent_fields_keep() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    app.get_user(&seed_body()).await;

    let (status, updated) = app
        .get_user(&json!({"user_group_id": "example_1", "properties": {"filterValue": "other", "region": ["eu", "us"]}}))
        .await;
    assert_eq!(status, 200);
    let group = &updated["user_group"];
    assert_eq!(
        group["properties"],
        json!({"filterValue": "other", "region": ["eu", "us"]})
    );
    assert_eq!(
        group["mapping"],
        json!({"40": "213", "134": "386"}),
        "mapping kept"
    );
    assert_eq!(group["name"], "Example 1", "name kept");
    assert_eq!(
        jwt_part(group["token"].as_str().unwrap(), 1)["properties"]["filterValue"],
        "other"
    );

    let (_, renamed) = app
        .get_user(&json!({"user_group_id": "example_1", "name": "Renamed", "mapping": {"7": 8}}))
        .await;
    assert_eq!(renamed["user_group"]["name"], "Renamed");
    assert_eq!(renamed["user_group"]["mapping"], json!({"7": "8"}));
    assert_eq!(renamed["user_group"]["properties"]["filterValue"], "other");

    let (_, cleared) = app
        .get_user(&json!({"user_group_id": "example_1", "properties": null}))
        .await;
    assert_eq!(cleared["user_group"]["properties"], Value::Null);
}

#[tokio::test]
async fn a_new_group_defaults_name_to_id_and_properties_to_null() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let (status, body) = app.get_user(&json!({"user_group_id": 12345})).await;
    assert_eq!(status, 200);
    assert_eq!(body["user_group"]["provided_id"], "12345");
    assert_eq!(body["user_group"]["name"], "12345");
    assert_eq!(body["user_group"]["properties"], Value::Null);
    assert_eq!(body["user_group"]["mapping"], json!({}));
}

#[tokio::test]
async fn unusual_ids_are_distinct_groups() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let ids = ["a b", "{a}", "a:b", "*", "例え", "a}b{", "tessera:group:x"];
    let mut teams = HashSet::new();
    for id in ids {
        let (status, body) = app.get_user(&json!({"user_group_id": id})).await;
        assert_eq!(status, 200, "{id}: {body}");
        assert_eq!(body["user_group"]["provided_id"], id);
        teams.insert(body["user_group"]["team_id"].as_u64().unwrap());
    }
    assert_eq!(teams.len(), ids.len());
}

#[tokio::test]
async fn expires_in_sets_the_lifetime() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let (status, body) = app
        .get_user(&json!({"user_group_id": "g", "expires_in": 90}))
        .await;
    assert_eq!(status, 200);
    let claims = jwt_part(body["user_group"]["token"].as_str().unwrap(), 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        90
    );
}

#[tokio::test]
async fn concurrent_calls_for_one_new_id_create_it_once() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let body = seed_body();
    let calls = (0..200).map(|_| app.get_user(&body));
    let answers = join_all(calls).await;
    let created = answers
        .iter()
        .filter(|(_, b)| b["new_user_group"] == true)
        .count();
    let teams: HashSet<_> = answers
        .iter()
        .map(|(_, b)| b["user_group"]["team_id"].as_u64())
        .collect();
    assert!(answers.iter().all(|(status, _)| *status == 200));
    assert_eq!(created, 1);
    assert_eq!(teams.len(), 1, "{teams:?}");
}

#[tokio::test]
async fn concurrent_calls_for_different_ids_get_distinct_team_ids() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let bodies: Vec<Value> = (0..200)
        .map(|i| json!({"user_group_id": format!("g{i}")}))
        .collect();
    let answers = join_all(bodies.iter().map(|b| app.get_user(b))).await;
    assert!(
        answers
            .iter()
            .all(|(status, b)| *status == 200 && b["new_user_group"] == true)
    );
    let teams: HashSet<_> = answers
        .iter()
        .map(|(_, b)| b["user_group"]["team_id"].as_u64())
        .collect();
    assert_eq!(teams.len(), 200);
}

#[tokio::test]
async fn a_group_whose_token_would_be_too_large_is_refused_before_it_is_stored() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let mapping: serde_json::Map<String, Value> = (0..1000)
        .map(|i| (format!("schema-{i}"), json!(format!("data-source-{i:06}"))))
        .collect();
    let (status, body) = app
        .get_user(&json!({"user_group_id": "huge", "mapping": mapping}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request");
    assert_eq!(body["error"]["field"], "mapping");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("16 KiB"),
        "{body}"
    );
    let id = tessera::domain::GroupId::parse("huge").unwrap();
    assert_eq!(
        app.state.store.get(&id).await.unwrap(),
        None,
        "nothing stored"
    );

    // An existing group cannot grow past the limit either, and keeps its fields.
    let (status, _) = app
        .get_user(&json!({"user_group_id": "grows", "properties": {"a": 1}}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .get_user(&json!({"user_group_id": "grows", "mapping": mapping}))
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("mapping"))
    );
    let id = tessera::domain::GroupId::parse("grows").unwrap();
    let stored = app.state.store.get(&id).await.unwrap().unwrap();
    assert!(stored.mapping.entries().is_empty());

    // The largest group accepted gets a token /api/verify accepts.
    let half: serde_json::Map<String, Value> = mapping.into_iter().take(300).collect();
    let (status, body) = app
        .get_user(&json!({"user_group_id": "large", "mapping": half}))
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["user_group"]["token"].as_str().unwrap();
    assert!(token.len() > 8 * 1024);
    assert_eq!(app.verify(token).await.0, 200);
}
