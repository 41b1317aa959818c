//! The renderer middleware: a test app behind the layer, with keys from the
//! service's own keyring or from a JWKS URL, the verified-token cache, and
//! the revocation check.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera::middleware::{KeySource, RendererAuth, RendererAuthConfig, UserGroup};
use tessera::token::KeyRing;

use crate::common::app::verify_policy;
use crate::common::{RedisServer, TestApp, spawn_app};

async fn dashboard(group: UserGroup) -> Json<Value> {
    Json(json!({
        "team_id": group.claims.team_id.get(),
        "provided_id": group.claims.sub.as_str(),
        "variables": group.variables,
    }))
}

/// Serves a renderer behind `auth` on 127.0.0.1:0; returns its base URL.
async fn renderer(auth: &RendererAuth) -> String {
    let app = Router::new()
        .route("/dashboard", get(dashboard))
        .layer(auth.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn call(base: &str, token: Option<&str>) -> (u16, Value, Option<String>) {
    let mut request = reqwest::Client::new().get(format!("{base}/dashboard"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        challenge,
    )
}

async fn token_for(app: &TestApp, id: &str) -> String {
    let (status, body) = app
        .get_user(&json!({"user_group_id": id, "properties": {"tenant": id}}))
        .await;
    assert_eq!(status, 200);
    body["user_group"]["token"].as_str().unwrap().to_owned()
}

fn config(app: &TestApp, cache: usize) -> RendererAuthConfig {
    let mut config =
        RendererAuthConfig::new(KeySource::Shared(app.state.keys.clone()), verify_policy());
    config.token_cache_capacity = cache;
    config.store = Some(app.state.store.clone());
    config.store_cache_ttl = Duration::from_secs(1);
    config
}

#[tokio::test]
async fn good_tokens_pass_with_their_variables_and_bad_ones_get_401() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let token = token_for(&app, "tenant-1").await;
    let expired = {
        let keys = app.state.keys.current();
        let record = app
            .state
            .store
            .get(&tessera::domain::GroupId::parse("tenant-1").unwrap())
            .await
            .unwrap()
            .unwrap();
        let past = chrono::Utc::now() - chrono::Duration::days(2);
        tessera::token::TokenIssuer::new(&keys, &app.state.tokens)
            .issue(&record, None, past)
            .unwrap()
            .token
    };
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();

    for cache in [10_000, 0] {
        let auth = RendererAuth::new(config(&app, cache)).await.unwrap();
        let base = renderer(&auth).await;
        for _ in 0..3 {
            let (status, body, _) = call(&base, Some(&token)).await;
            assert_eq!(status, 200, "cache {cache}: {body}");
            assert_eq!(body["provided_id"], "tenant-1");
            assert_eq!(body["variables"]["tenant"], "tenant-1");
            assert_eq!(body["variables"]["user_group_id"], "tenant-1");
        }
        for (what, bad, code) in [
            ("missing", None, "token_malformed"),
            ("garbage", Some("x.y.z"), "token_malformed"),
            ("expired", Some(expired.as_str()), "token_expired"),
            (
                "tampered",
                Some(tampered.as_str()),
                "token_signature_invalid",
            ),
        ] {
            for _ in 0..2 {
                let (status, body, challenge) = call(&base, bad).await;
                assert_eq!(status, 401, "cache {cache}, {what}");
                assert_eq!(body["error"]["code"], code, "cache {cache}, {what}");
                assert_eq!(body["valid"], false);
                assert_eq!(
                    challenge.as_deref(),
                    Some(r#"Bearer error="invalid_token""#)
                );
            }
        }
    }
}

#[tokio::test]
async fn a_revoked_token_stops_within_the_store_cache_lifetime() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let token = token_for(&app, "g").await;
    let auth = RendererAuth::new(config(&app, 10_000)).await.unwrap();
    let base = renderer(&auth).await;
    assert_eq!(call(&base, Some(&token)).await.0, 200);

    let (status, _) = app.admin(reqwest::Method::POST, "/api/user/g/revoke").await;
    assert_eq!(status, 200);
    let revoked_at = Instant::now();
    loop {
        let (status, body, _) = call(&base, Some(&token)).await;
        if status == 401 {
            assert_eq!(body["error"]["code"], "token_revoked");
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(5),
            "still accepted after revocation"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        call(&base, Some(&token_for(&app, "g").await)).await.0,
        200,
        "a new token works"
    );
}

/// A JWKS server that counts its fetches and can be told to fail.
struct JwksServer {
    url: String,
    fetches: Arc<AtomicUsize>,
    document: Arc<std::sync::Mutex<Option<Value>>>,
}

async fn jwks_server(document: Value) -> JwksServer {
    let fetches = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new(std::sync::Mutex::new(Some(document)));
    let (count, served) = (fetches.clone(), shared.clone());
    let app = Router::new().route(
        "/jwks.json",
        get(move || {
            let (count, served) = (count.clone(), served.clone());
            async move {
                count.fetch_add(1, Ordering::SeqCst);
                match served.lock().unwrap().clone() {
                    Some(document) => Ok(Json(document)),
                    None => Err(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    JwksServer {
        url,
        fetches,
        document: shared,
    }
}

#[tokio::test]
async fn jwks_url_keys_follow_rotation_with_rate_limited_refetches() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let jwks = jwks_server(app.state.keys.current().keyset().jwks()).await;
    let mut config = RendererAuthConfig::new(KeySource::JwksUrl(jwks.url.clone()), verify_policy());
    config.jwks_refetch_interval = Duration::from_secs(2);
    let auth = RendererAuth::new(config).await.unwrap();
    let base = renderer(&auth).await;
    assert_eq!(
        jwks.fetches.load(Ordering::SeqCst),
        1,
        "fetched once at start"
    );
    assert_eq!(call(&base, Some(&token_for(&app, "g").await)).await.0, 200);

    // Rotate: the service signs with a key the renderer has not seen.
    KeyRing::generate(
        app.keys_dir.path(),
        tessera::token::KeyAlgorithm::ES256,
        chrono::Utc::now(),
    )
    .unwrap();
    app.state
        .keys
        .replace(KeyRing::load(app.keys_dir.path()).unwrap());
    *jwks.document.lock().unwrap() = Some(app.state.keys.current().keyset().jwks());
    let rotated = token_for(&app, "g").await;

    // Within the interval, unknown kids trigger no fetch at all.
    for _ in 0..20 {
        let (status, body, _) = call(&base, Some(&rotated)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("token_unknown_key"))
        );
    }
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body, _) = call(&base, Some(&rotated)).await;
    assert_eq!(status, 200, "refetched for the unknown kid: {body}");
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failed_jwks_fetch_never_makes_a_token_valid() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let jwks = jwks_server(json!({"keys": []})).await;
    *jwks.document.lock().unwrap() = None;
    let mut config = RendererAuthConfig::new(KeySource::JwksUrl(jwks.url.clone()), verify_policy());
    config.jwks_refetch_interval = Duration::from_millis(1);
    let auth = RendererAuth::new(config).await.unwrap();
    let base = renderer(&auth).await;
    let token = token_for(&app, "g").await;
    for _ in 0..3 {
        let (status, body, _) = call(&base, Some(&token)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("token_unknown_key"))
        );
    }
    assert!(jwks.fetches.load(Ordering::SeqCst) >= 2, "it kept trying");

    *jwks.document.lock().unwrap() = Some(app.state.keys.current().keyset().jwks());
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        call(&base, Some(&token)).await.0,
        200,
        "recovers once the JWKS is served"
    );
}

#[tokio::test]
async fn a_key_change_ends_cached_verifications() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let token = token_for(&app, "g").await;
    let auth = RendererAuth::new(config(&app, 10_000)).await.unwrap();
    let base = renderer(&auth).await;
    assert_eq!(call(&base, Some(&token)).await.0, 200);
    assert_eq!(
        call(&base, Some(&token)).await.0,
        200,
        "now served from the cache"
    );

    let old = app.state.keys.current().active().0.kid.to_string();
    KeyRing::rotate(app.keys_dir.path(), chrono::Utc::now()).unwrap();
    KeyRing::retire(app.keys_dir.path(), &old, chrono::Utc::now()).unwrap();
    app.state
        .keys
        .replace(KeyRing::load(app.keys_dir.path()).unwrap());
    let (status, body, _) = call(&base, Some(&token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("token_unknown_key"))
    );
}
