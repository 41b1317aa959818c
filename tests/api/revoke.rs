//! `POST /api/token/revoke`: one token or one session stops verifying and
//! refreshing everywhere the store is checked (the verify endpoint,
//! refresh, the middleware with the store check or the revocation feed),
//! while the group's other tokens keep working; deny-list entries expire
//! by themselves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tessera::auth::ApiKeyScope;
use tessera::middleware::{
    KeySource, RedisRevocations, RendererAuth, RendererAuthConfig, RevocationFeedConfig,
};
use tessera::token::revocation::StoreRevocations;

use crate::auth::scoped_key;
use crate::common::app::{OPERATOR_KEY, jwt_part, operator_call, verify_policy};
use crate::common::{RedisServer, TestApp, spawn_app};

async fn token(app: &TestApp, id: &str) -> String {
    let (status, body) = app.get_user(&json!({"user_group_id": id})).await;
    assert_eq!(status, 200, "{body}");
    body["user_group"]["token"].as_str().unwrap().to_owned()
}

async fn refreshed(app: &TestApp, token: &str) -> String {
    let (status, body) = app.refresh(token).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

async fn revoke(app: &TestApp, body: Value) -> (u16, Value) {
    operator_call(&app.base, Method::POST, "/api/token/revoke", Some(body)).await
}

/// The status and code of verify and of refresh for `token`.
async fn judged(app: &TestApp, token: &str) -> [(u16, Option<String>); 2] {
    let (verify, verify_body) = app.verify(token).await;
    let (refresh, refresh_body) = app.refresh(token).await;
    let code = |body: &Value| body["error"]["code"].as_str().map(str::to_owned);
    [(verify, code(&verify_body)), (refresh, code(&refresh_body))]
}

fn revoked() -> [(u16, Option<String>); 2] {
    let code = Some("token_revoked".to_owned());
    [(401, code.clone()), (401, code)]
}

fn passing() -> [(u16, Option<String>); 2] {
    [(200, None), (200, None)]
}

#[tokio::test]
async fn a_revoked_token_or_session_fails_while_the_rest_of_the_group_works() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    // Two sessions of one group; the first refreshed once.
    let first = token(&app, "g").await;
    let first_refreshed = refreshed(&app, &first).await;
    let second = token(&app, "g").await;

    // One token: only that jti.
    let (status, body) = revoke(&app, json!({"token": first})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revoked"]["jti"], jwt_part(&first, 1)["jti"]);
    assert_eq!(body["revoked"]["user_group_id"], "g");
    assert!(body["revoked"]["sid"].is_null());
    assert_eq!(judged(&app, &first).await, revoked());
    assert_eq!(
        judged(&app, &first_refreshed).await,
        passing(),
        "same session, other token"
    );
    assert_eq!(judged(&app, &second).await, passing());

    // Its session, by id: every token of it, refreshed ones included.
    let sid = jwt_part(&first, 1)["sid"].clone();
    let (status, body) = revoke(&app, json!({"user_group_id": "g", "sid": sid})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revoked"]["sid"], sid);
    assert_eq!(judged(&app, &first_refreshed).await, revoked());
    assert_eq!(
        judged(&app, &second).await,
        passing(),
        "the sibling session"
    );

    // A token by jti, and a session through one of its tokens.
    let third = token(&app, "g").await;
    let jti = jwt_part(&second, 1)["jti"].clone();
    assert_eq!(
        revoke(&app, json!({"user_group_id": "g", "jti": jti}))
            .await
            .0,
        200
    );
    assert_eq!(judged(&app, &second).await, revoked());
    let third_refreshed = refreshed(&app, &third).await;
    let (status, body) = revoke(&app, json!({"token": third, "scope": "session"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(judged(&app, &third_refreshed).await, revoked());
    assert_eq!(
        judged(&app, &token(&app, "g").await).await,
        passing(),
        "a new session"
    );
}

#[tokio::test]
async fn deny_list_entries_expire_with_what_they_cover() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let first = token(&app, "g").await;
    let claims = jwt_part(&first, 1);
    let policy = &app.state.tokens;
    let after_expiry = policy.verify.leeway + policy.refresh_grace + Duration::from_secs(60);

    // By token: its own expiry plus the leeway, grace and a minute.
    let (_, body) = revoke(&app, json!({"token": first})).await;
    let key = |entry: &str| {
        use base64::Engine as _;
        let group = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("g");
        format!("{{tessera:group:{group}}}:deny:{entry}")
    };
    let ttl = |entry: &str| {
        redis
            .cli(&["TTL", &key(entry)])
            .trim()
            .parse::<i64>()
            .unwrap()
    };
    let jti_ttl = ttl(&format!("j:{}", claims["jti"].as_str().unwrap()));
    let expected = claims["exp"].as_i64().unwrap() + i64::try_from(after_expiry.as_secs()).unwrap()
        - chrono::Utc::now().timestamp();
    assert!(
        (expected - 5..=expected).contains(&jti_ttl),
        "TTL {jti_ttl}, expected {expected}"
    );
    let until = chrono::DateTime::parse_from_rfc3339(body["revoked"]["until"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert_eq!(
        until,
        claims["exp"].as_i64().unwrap() + i64::try_from(after_expiry.as_secs()).unwrap()
    );

    // By session id: the longest token lifetime from now, plus the same.
    let sid = claims["sid"].as_str().unwrap();
    assert_eq!(
        revoke(&app, json!({"user_group_id": "g", "sid": sid}))
            .await
            .0,
        200
    );
    let sid_ttl = ttl(&format!("s:{sid}"));
    let longest = i64::try_from((policy.verify.max_ttl + after_expiry).as_secs()).unwrap();
    assert!(
        (longest - 5..=longest).contains(&sid_ttl),
        "TTL {sid_ttl}, expected {longest}"
    );

    // Nothing else was written without an expiry.
    let keys = redis.cli(&["KEYS", "{tessera:group:*}:deny:*"]);
    for key in keys.lines().filter(|line| !line.is_empty()) {
        let ttl: i64 = redis.cli(&["TTL", key]).trim().parse().unwrap();
        assert!(ttl > 0, "{key} has no expiry");
    }

    // An entry of a token that expired long ago lasts about a minute.
    let old = app.token_issued_at("g", -chrono::Duration::days(2)).await;
    assert_eq!(revoke(&app, json!({"token": old})).await.0, 200);
    let old_ttl = ttl(&format!("j:{}", jwt_part(&old, 1)["jti"].as_str().unwrap()));
    assert!((1..=60).contains(&old_ttl), "TTL {old_ttl}");
}

#[tokio::test]
async fn revoke_refuses_bad_requests_and_foreign_tokens() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let good = token(&app, "g").await;
    let sid = jwt_part(&good, 1)["sid"].as_str().unwrap().to_owned();
    // A token whose signature is not ours: the payload of another.
    let mut parts: Vec<&str> = good.split('.').collect();
    let other = token(&app, "h").await;
    parts[1] = other.split('.').nth(1).unwrap();
    let forged = parts.join(".");
    for (body, status, code, field) in [
        (
            json!({"token": forged}),
            400,
            "invalid_request",
            Some("token"),
        ),
        (
            json!({"token": "a.b.c"}),
            400,
            "invalid_request",
            Some("token"),
        ),
        (
            json!({"user_group_id": "nobody", "sid": sid}),
            404,
            "not_found",
            None,
        ),
        (
            json!({"user_group_id": "g", "sid": "x"}),
            400,
            "invalid_request",
            Some("sid"),
        ),
        (
            json!({"user_group_id": "g", "jti": sid, "sid": sid}),
            400,
            "invalid_request",
            None,
        ),
        (json!({"user_group_id": "g"}), 400, "invalid_request", None),
        (
            json!({"token": good, "scope": "everything"}),
            400,
            "invalid_request",
            Some("scope"),
        ),
        (
            json!({"token": good, "extra": 1}),
            400,
            "invalid_request",
            Some("extra"),
        ),
    ] {
        let (got, answer) = revoke(&app, body.clone()).await;
        assert_eq!(
            (
                got,
                answer["error"]["code"].as_str(),
                answer["error"]["field"].as_str()
            ),
            (status, Some(code), field),
            "{body}: {answer}"
        );
    }
    // Admin only: no key, a renderer key.
    let response = app
        .client
        .post(format!("{}/api/token/revoke", app.base))
        .json(&json!({"token": good}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let renderer = scoped_key(&app, "renderer-1", ApiKeyScope::Renderer).await;
    let response = app
        .client
        .post(format!("{}/api/token/revoke", app.base))
        .header("Authorization", format!("Token {renderer}"))
        .json(&json!({"token": good}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(judged(&app, &good).await, passing(), "nothing was revoked");
    assert_ne!(OPERATOR_KEY, renderer);
}

async fn wait_refused(auth: &RendererAuth, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match auth.verify(token).await {
            Err(rejection) if rejection.code() == "token_revoked" => return,
            other => assert!(
                Instant::now() < deadline,
                "still {:?}",
                other.map(|_| "valid")
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_middleware_refuses_revoked_tokens_and_sessions_by_store_redis_and_feed() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let mut with_store = RendererAuthConfig::new(
        KeySource::Provider(Arc::new(app.state.keys.clone())),
        verify_policy(),
    );
    with_store.revocations = Some(Arc::new(StoreRevocations {
        store: app.state.store.clone(),
        clock: app.state.clock.clone(),
    }));
    with_store.revocation_cache_ttl = Duration::from_secs(1);
    let renderer_key = scoped_key(&app, "renderer-1", ApiKeyScope::Renderer).await;
    let mut with_feed = RendererAuthConfig::new(
        KeySource::Provider(Arc::new(app.state.keys.clone())),
        verify_policy(),
    );
    with_feed.revocation_feed = Some(RevocationFeedConfig::new(&app.base, renderer_key));
    let mut with_redis = RendererAuthConfig::new(
        KeySource::Provider(Arc::new(app.state.keys.clone())),
        verify_policy(),
    );
    with_redis.revocations = Some(Arc::new(
        RedisRevocations::new(&redis.url(), "tessera:", Duration::from_secs(1)).unwrap(),
    ));
    with_redis.revocation_cache_ttl = Duration::from_secs(1);
    let (by_store, by_feed, by_redis) = (
        RendererAuth::new(with_store).await.unwrap(),
        RendererAuth::new(with_feed).await.unwrap(),
        RendererAuth::new(with_redis).await.unwrap(),
    );

    let (one, session, kept) = (
        token(&app, "g").await,
        token(&app, "g").await,
        token(&app, "g").await,
    );
    let session_refreshed = refreshed(&app, &session).await;
    for auth in [&by_store, &by_feed, &by_redis] {
        for token in [&one, &session_refreshed, &kept] {
            assert!(auth.verify(token).await.is_ok());
        }
    }
    assert_eq!(revoke(&app, json!({"token": one})).await.0, 200);
    assert_eq!(
        revoke(&app, json!({"token": session, "scope": "session"}))
            .await
            .0,
        200
    );
    for auth in [&by_store, &by_feed, &by_redis] {
        wait_refused(auth, &one).await;
        wait_refused(auth, &session_refreshed).await;
        assert!(
            auth.verify(&kept).await.is_ok(),
            "the group's other session"
        );
    }
}
