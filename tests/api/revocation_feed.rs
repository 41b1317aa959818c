//! The revocation feed: `GET /api/revocations` for renderer keys (which may
//! read nothing else), and the middleware reading it in the background, so
//! that a renderer without store access refuses revoked and deleted groups'
//! tokens within seconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tessera::auth::ApiKeyScope;
use tessera::middleware::{KeySource, RendererAuth, RendererAuthConfig, RevocationFeedConfig};

use crate::auth::scoped_key;
use crate::common::app::verify_policy;
use crate::common::{RedisServer, TestApp, spawn_app};

async fn call(app: &TestApp, method: Method, path: &str, key: &str) -> (u16, Value) {
    let response = app
        .client
        .request(method, format!("{}{path}", app.base))
        .header("Authorization", format!("Token {key}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn token(app: &TestApp, id: &str) -> String {
    let (status, body) = app.get_user(&json!({"user_group_id": id})).await;
    assert_eq!(status, 200, "{body}");
    body["user_group"]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn renderer_keys_read_the_feed_and_nothing_else() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let renderer = scoped_key(&app, "renderer-1", ApiKeyScope::Renderer).await;
    let admin = crate::common::app::OPERATOR_KEY;

    for (method, path) in [
        (Method::POST, "/api/user"),
        (Method::GET, "/api/users"),
        (Method::GET, "/api/keys"),
        (Method::POST, "/api/user/a/revoke"),
        (Method::DELETE, "/api/user/a"),
    ] {
        let (status, body) = call(&app, method, path, &renderer).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{path}"
        );
    }
    let (status, body) = call(&app, Method::GET, "/api/revocations", &renderer).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revocations"], json!([]));
    assert_eq!(body["next_cursor"], Value::Null);
    assert_eq!(body["retention_seconds"], 30 * 86_400 + 60);

    token(&app, "a").await;
    token(&app, "b").await;
    assert_eq!(
        call(&app, Method::POST, "/api/user/a/revoke", admin)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&app, Method::DELETE, "/api/user/b", admin).await.0,
        200
    );
    let (_, body) = call(&app, Method::GET, "/api/revocations", &renderer).await;
    let entries = body["revocations"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{body}");
    assert_eq!(entries[0]["user_group_id"], "a");
    assert_eq!(entries[0]["kind"], "revoked");
    assert_eq!(entries[0]["below_gen"], 2);
    assert_eq!(entries[1]["user_group_id"], "b");
    assert_eq!(entries[1]["kind"], "deleted");
    assert_eq!(body["next_cursor"], entries[1]["cursor"]);
    assert_eq!(body["more"], false);

    // Paging with since and limit; bad and expired cursors.
    let first = entries[0]["cursor"].as_str().unwrap();
    let (_, page) = call(
        &app,
        Method::GET,
        &format!("/api/revocations?since={first}&limit=1"),
        admin,
    )
    .await;
    assert_eq!(page["revocations"].as_array().unwrap().len(), 1);
    assert_eq!(page["revocations"][0]["user_group_id"], "b");
    assert_eq!(page["more"], true);
    for (query, status, code) in [
        ("?since=nope", 400, "invalid_request"),
        ("?limit=0", 400, "invalid_request"),
        ("?other=1", 400, "invalid_request"),
        ("?since=1-0", 410, "cursor_expired"),
    ] {
        let (got, body) = call(
            &app,
            Method::GET,
            &format!("/api/revocations{query}"),
            &renderer,
        )
        .await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{query}"
        );
    }
    let (status, _) = call(&app, Method::GET, "/api/revocations", "tsk_unknown").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn revocations_reach_a_middleware_without_store_access_within_3_seconds() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let renderer_key = scoped_key(&app, "renderer-1", ApiKeyScope::Renderer).await;
    let mut config = RendererAuthConfig::new(
        KeySource::Provider(Arc::new(app.state.keys.clone())),
        verify_policy(),
    );
    config.revocation_feed = Some(RevocationFeedConfig::new(&app.base, renderer_key));
    let auth = RendererAuth::new(config).await.unwrap();

    let (revoked, deleted, kept) = (
        token(&app, "r").await,
        token(&app, "d").await,
        token(&app, "k").await,
    );
    for token in [&revoked, &deleted, &kept] {
        assert!(auth.verify(token).await.is_ok(), "valid before");
    }
    let admin = crate::common::app::OPERATOR_KEY;
    assert_eq!(
        call(&app, Method::POST, "/api/user/r/revoke", admin)
            .await
            .0,
        200
    );
    assert_eq!(
        call(&app, Method::DELETE, "/api/user/d", admin).await.0,
        200
    );
    let start = Instant::now();
    for token in [&revoked, &deleted] {
        loop {
            match auth.verify(token).await {
                Err(err) if err.code() == "token_revoked" => break,
                outcome => {
                    assert!(outcome.is_ok(), "{:?}", outcome.err());
                    assert!(start.elapsed() < Duration::from_secs(3), "still accepted");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
    println!(
        "revoke and delete reached the middleware in {:?}",
        start.elapsed()
    );
    assert!(auth.verify(&kept).await.is_ok(), "other groups unaffected");
    assert!(
        auth.verify(&token(&app, "r").await).await.is_ok(),
        "a new token of the revoked group"
    );
}

#[tokio::test]
async fn a_feed_that_cannot_be_read_judges_no_token() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let mut config = RendererAuthConfig::new(
        KeySource::Provider(Arc::new(app.state.keys.clone())),
        verify_policy(),
    );
    // A wrong key: the feed is never read.
    config.revocation_feed = Some(RevocationFeedConfig::new(&app.base, "tsk_wrong"));
    let auth = RendererAuth::new(config).await.unwrap();
    let err = auth.verify(&token(&app, "g").await).await.err().unwrap();
    assert_eq!(
        (err.code(), err.status().as_u16()),
        ("store_unavailable", 503)
    );
}

/// A clock the test moves.
struct MovableClock(std::sync::atomic::AtomicI64);

impl tessera::clock::Clock for MovableClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
            + chrono::Duration::seconds(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[tokio::test]
async fn the_middleware_forgets_revocations_once_nothing_they_cover_can_be_valid() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let renderer_key = scoped_key(&app, "renderer-1", ApiKeyScope::Renderer).await;
    let admin = crate::common::app::OPERATOR_KEY;
    for id in ["a", "b", "c"] {
        token(&app, id).await;
        assert_eq!(
            call(&app, Method::POST, &format!("/api/user/{id}/revoke"), admin)
                .await
                .0,
            200
        );
    }
    let clock = Arc::new(MovableClock(std::sync::atomic::AtomicI64::new(0)));
    let mut config = RendererAuthConfig::new(
        KeySource::Provider(Arc::new(app.state.keys.clone())),
        verify_policy(),
    );
    let mut feed = RevocationFeedConfig::new(&app.base, renderer_key);
    feed.every = Duration::from_millis(50);
    config.revocation_feed = Some(feed);
    config.clock = clock.clone();
    let auth = RendererAuth::new(config).await.unwrap();
    assert_eq!(auth.revocations_held(), 3);
    // Past the feed's retention (30 d + 60 s), the next read drops them.
    clock
        .0
        .store(30 * 86_400 + 61, std::sync::atomic::Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    while auth.revocations_held() != 0 {
        assert!(
            Instant::now() < deadline,
            "still held: {}",
            auth.revocations_held()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A feed server the test steers: healthy, or answering `410` to cursors
/// and `500` to full reads (a gap that cannot be closed yet).
async fn steered_feed(
    gap: Arc<std::sync::atomic::AtomicBool>,
    reads: Arc<std::sync::atomic::AtomicUsize>,
) -> String {
    use axum::extract::Query;
    use axum::http::StatusCode;
    use std::collections::HashMap;
    use std::sync::atomic::Ordering;
    let app = axum::Router::new().route(
        "/api/revocations",
        axum::routing::get(move |Query(query): Query<HashMap<String, String>>| {
            let (gap, reads) = (gap.clone(), reads.clone());
            async move {
                reads.fetch_add(1, Ordering::SeqCst);
                match (gap.load(Ordering::SeqCst), query.contains_key("since")) {
                    (true, true) => Err(StatusCode::GONE),
                    (true, false) => Err(StatusCode::INTERNAL_SERVER_ERROR),
                    (false, _) => Ok(axum::Json(json!({
                        "success": 1, "revocations": [], "next_cursor": "5-0",
                        "more": false, "retention_seconds": 60
                    }))),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test]
async fn after_an_expired_cursor_older_tokens_wait_until_the_feed_is_read_again() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let (gap, reads) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let feed_base = steered_feed(gap.clone(), reads.clone()).await;
    let mut config = RendererAuthConfig::new(
        KeySource::Provider(Arc::new(app.state.keys.clone())),
        verify_policy(),
    );
    let mut feed = RevocationFeedConfig::new(&feed_base, "tsk_renderer");
    feed.every = Duration::from_millis(50);
    config.revocation_feed = Some(feed);
    config.token_cache_capacity = 0;
    let auth = RendererAuth::new(config).await.unwrap();

    // Issued 10 s before the last complete read, and 2 s after it.
    let (status, _) = app.get_user(&json!({"user_group_id": "g"})).await;
    assert_eq!(status, 200);
    let (older, newer) = (
        app.token_issued_at("g", -chrono::Duration::seconds(10))
            .await,
        app.token_issued_at("g", chrono::Duration::seconds(2)).await,
    );
    assert!(auth.verify(&older).await.is_ok());

    gap.store(true, Ordering::SeqCst);
    let seen = reads.load(Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    while reads.load(Ordering::SeqCst) < seen + 4 {
        assert!(Instant::now() < deadline, "the feed was not read");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = auth.verify(&older).await.err().map(|err| err.code());
    assert_eq!(
        refused,
        Some("store_unavailable"),
        "a revocation may have been missed"
    );
    assert!(
        auth.verify(&newer).await.is_ok(),
        "issued after the last complete read"
    );

    gap.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    while auth.verify(&older).await.is_err() {
        assert!(Instant::now() < deadline, "never read again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
