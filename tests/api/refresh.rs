//! `POST /api/token/refresh`: the same session, the group's current
//! fields, a new `jti`, never past the session cap; refused once the group
//! is revoked or deleted, or the token expired beyond the grace.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::app::{jwt_part, policy, spawn_app_with};
use crate::common::{RedisServer, TestApp, spawn_app};

async fn token(app: &TestApp, body: Value) -> String {
    let (status, answer) = app.get_user(&body).await;
    assert_eq!(status, 200, "{answer}");
    answer["user_group"]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_refresh_keeps_the_session_and_carries_the_current_fields() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let first = token(
        &app,
        json!({"user_group_id": "g", "properties": {"tenant": "a"}}),
    )
    .await;
    // The backend changes the group's properties meanwhile.
    token(
        &app,
        json!({"user_group_id": "g", "properties": {"tenant": "b"}}),
    )
    .await;

    let (status, answer) = app.refresh(&first).await;
    assert_eq!(status, 200, "{answer}");
    let second = answer["token"].as_str().unwrap();
    let (old, new) = (jwt_part(&first, 1), jwt_part(second, 1));
    for same in ["sid", "sst", "sub", "team_id"] {
        assert_eq!(old[same], new[same], "{same}");
    }
    assert!(old["sid"].as_str().is_some_and(|sid| sid.len() >= 16));
    assert_ne!(old["jti"], new["jti"]);
    assert_eq!(new["properties"]["tenant"], "b", "the current properties");
    assert_eq!(answer["variables"]["tenant"], "b");
    assert_eq!(answer["valid"], true);
    assert!(answer["expires_at"].is_string());
    // The new token verifies and refreshes in turn.
    assert_eq!(app.verify(second).await.0, 200);
    assert_eq!(app.refresh(second).await.0, 200);
}

#[tokio::test]
async fn a_session_ends_at_its_cap() {
    let redis = RedisServer::start();
    let app = spawn_app_with(&redis.url(), |state| {
        let mut tokens = policy();
        tokens.max_session = Duration::from_secs(3);
        state.tokens = Arc::new(tokens);
    })
    .await;
    let mut current = token(&app, json!({"user_group_id": "g"})).await;
    let claims = jwt_part(&current, 1);
    let end = claims["sst"].as_i64().unwrap() + 3;
    assert!(
        claims["exp"].as_i64().unwrap() <= end,
        "get-user respects the cap"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let ended_at = loop {
        let (status, answer) = app.refresh(&current).await;
        if status == 401 {
            assert_eq!(answer["error"]["code"], "session_expired", "{answer}");
            break chrono::Utc::now().timestamp();
        }
        assert_eq!(status, 200, "{answer}");
        current = answer["token"].as_str().unwrap().to_owned();
        assert!(
            jwt_part(&current, 1)["exp"].as_i64().unwrap() <= end,
            "never past the cap"
        );
        assert!(Instant::now() < deadline, "the session never ended");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(ended_at >= end, "ended at {ended_at}, the cap is {end}");
}

#[tokio::test]
async fn revoked_and_deleted_groups_cannot_refresh_and_grace_is_bounded() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let revoked = token(&app, json!({"user_group_id": "r"})).await;
    assert_eq!(
        app.admin(reqwest::Method::POST, "/api/user/r/revoke")
            .await
            .0,
        200
    );
    let (status, answer) = app.refresh(&revoked).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (401, Some("token_revoked"))
    );
    let fresh = token(&app, json!({"user_group_id": "r"})).await;
    assert_eq!(
        app.refresh(&fresh).await.0,
        200,
        "a token issued after the revoke"
    );

    let deleted = token(&app, json!({"user_group_id": "d"})).await;
    assert_eq!(
        app.admin(reqwest::Method::DELETE, "/api/user/d").await.0,
        200
    );
    let (status, answer) = app.refresh(&deleted).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (401, Some("token_revoked"))
    );

    // Expired two days ago: refused with no grace, refreshed with 3 days.
    token(&app, json!({"user_group_id": "e"})).await;
    let expired = app.token_issued_at("e", -chrono::Duration::days(2)).await;
    let (status, answer) = app.refresh(&expired).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (401, Some("token_expired"))
    );
    let graceful = spawn_app_with(&redis.url(), |state| {
        let mut tokens = policy();
        tokens.refresh_grace = Duration::from_secs(3 * 86_400);
        state.tokens = Arc::new(tokens);
        state.keys = app.state.keys.clone();
    })
    .await;
    assert_eq!(graceful.refresh(&expired).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_refreshes_of_one_token_give_fifty_tokens() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let first = token(&app, json!({"user_group_id": "g"})).await;
    let answers = futures::future::join_all((0..50).map(|_| app.refresh(&first))).await;
    let mut jtis = std::collections::HashSet::new();
    for (status, answer) in answers {
        assert_eq!(status, 200, "{answer}");
        jtis.insert(jwt_part(answer["token"].as_str().unwrap(), 1)["jti"].clone());
    }
    assert_eq!(jtis.len(), 50, "distinct jtis");

    // Once the session is revoked, 50 concurrent refreshes all fail.
    let (status, body) = crate::common::app::operator_call(
        &app.base,
        reqwest::Method::POST,
        "/api/token/revoke",
        Some(json!({"token": first, "scope": "session"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answers = futures::future::join_all((0..50).map(|_| app.refresh(&first))).await;
    for (status, answer) in answers {
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (401, Some("token_revoked"))
        );
    }
}
