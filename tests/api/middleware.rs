//! The renderer middleware: a test app behind the layer, with keys from the
//! service's own keyring or from a JWKS URL, the verified-token cache, and
//! the revocation check.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera::middleware::{KeySource, RendererAuth, RendererAuthConfig, UserGroup};
use tessera::token::KeyRing;
use tessera::token::revocation::StoreRevocations;

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
    let mut config = RendererAuthConfig::new(
        KeySource::Provider(Arc::new(app.state.keys.clone())),
        verify_policy(),
    );
    config.token_cache_capacity = cache;
    config.revocations = Some(Arc::new(StoreRevocations {
        store: app.state.store.clone(),
        clock: app.state.clock.clone(),
    }));
    config.revocation_cache_ttl = Duration::from_secs(1);
    config
}

#[tokio::test]
async fn good_tokens_pass_with_their_variables_and_bad_ones_get_401() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let token = token_for(&app, "tenant-1").await;
    let expired = app
        .token_issued_at("tenant-1", -chrono::Duration::days(2))
        .await;
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

/// A JWKS server that counts its fetches and can be told to fail or hang.
struct JwksServer {
    url: String,
    fetches: Arc<AtomicUsize>,
    document: Arc<std::sync::Mutex<Option<Value>>>,
    hang: Arc<AtomicBool>,
}

async fn jwks_server(document: Value) -> JwksServer {
    let fetches = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new(std::sync::Mutex::new(Some(document)));
    let hang = Arc::new(AtomicBool::new(false));
    let (count, served, hanging) = (fetches.clone(), shared.clone(), hang.clone());
    let app = Router::new().route(
        "/jwks.json",
        get(move || {
            let (count, served, hanging) = (count.clone(), served.clone(), hanging.clone());
            async move {
                count.fetch_add(1, Ordering::SeqCst);
                if hanging.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                let document = served.lock().unwrap().clone();
                match document {
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
        hang,
    }
}

/// Rotates the service's keys to a new ES256 key the renderer has not
/// seen, publishes it, and returns a token signed with it.
async fn rotate_and_publish(app: &TestApp, jwks: &JwksServer) -> String {
    KeyRing::generate(
        app.keys_dir.path(),
        tessera::token::KeyAlgorithm::ES256,
        chrono::Utc::now(),
    )
    .unwrap();
    app.state
        .keys
        .replace(KeyRing::load(app.keys_dir.path()).unwrap());
    *jwks.document.lock().unwrap() = Some(app.state.keys.current().unwrap().keyset().jwks());
    token_for(app, "g").await
}

async fn jwks_renderer(jwks: &JwksServer, interval: Duration) -> String {
    let mut config = RendererAuthConfig::new(KeySource::JwksUrl(jwks.url.clone()), verify_policy());
    config.jwks_refresh.unknown_kid_interval = interval;
    let auth = RendererAuth::new(config).await.unwrap();
    renderer(&auth).await
}

#[tokio::test]
async fn unknown_kids_cause_no_fetch_within_the_refetch_interval() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let jwks = jwks_server(app.state.keys.current().unwrap().keyset().jwks()).await;
    // An interval no test run reaches.
    let base = jwks_renderer(&jwks, Duration::from_secs(3600)).await;
    assert_eq!(
        jwks.fetches.load(Ordering::SeqCst),
        1,
        "fetched once at start"
    );
    assert_eq!(call(&base, Some(&token_for(&app, "g").await)).await.0, 200);
    let rotated = rotate_and_publish(&app, &jwks).await;
    for _ in 0..20 {
        let (status, body, _) = call(&base, Some(&rotated)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("token_unknown_key"))
        );
    }
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_jwks_once_the_interval_passed() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let jwks = jwks_server(app.state.keys.current().unwrap().keyset().jwks()).await;
    let base = jwks_renderer(&jwks, Duration::from_millis(200)).await;
    let rotated = rotate_and_publish(&app, &jwks).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body, _) = call(&base, Some(&rotated)).await;
        if status == 200 {
            break;
        }
        assert_eq!(body["error"]["code"], "token_unknown_key");
        assert!(
            Instant::now() < deadline,
            "never refetched for the unknown kid"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(jwks.fetches.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn a_failed_jwks_fetch_never_makes_a_token_valid() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let jwks = jwks_server(json!({"keys": []})).await;
    *jwks.document.lock().unwrap() = None;
    let mut config = RendererAuthConfig::new(KeySource::JwksUrl(jwks.url.clone()), verify_policy());
    config.jwks_refresh.unknown_kid_interval = Duration::from_millis(1);
    let auth = RendererAuth::new(config).await.unwrap();
    let base = renderer(&auth).await;
    let token = token_for(&app, "g").await;
    for _ in 0..3 {
        let (status, body, _) = call(&base, Some(&token)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (503, Some("keys_unavailable")),
            "a key set that cannot be fetched is reported as such"
        );
    }
    assert!(jwks.fetches.load(Ordering::SeqCst) >= 2, "it kept trying");

    *jwks.document.lock().unwrap() = Some(app.state.keys.current().unwrap().keyset().jwks());
    let deadline = Instant::now() + Duration::from_secs(20);
    while call(&base, Some(&token)).await.0 != 200 {
        assert!(
            Instant::now() < deadline,
            "never recovered once the JWKS is served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_key_change_ends_cached_verifications() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let token = token_for(&app, "g").await;
    let auth = RendererAuth::new(config(&app, 10_000)).await.unwrap();
    let base = renderer(&auth).await;
    assert_eq!(call(&base, Some(&token)).await.0, 200);
    assert_eq!(auth.verifications(), 1);
    assert_eq!(call(&base, Some(&token)).await.0, 200);
    assert_eq!(auth.verifications(), 1, "the second call was a cache hit");

    let old = app.state.keys.current().unwrap().active().0.kid.to_string();
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
    assert_eq!(auth.verifications(), 2, "the key change made it a miss");
}

/// The renderer example, built by `cargo test` with the other targets.
fn renderer_example() -> std::process::Command {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_tessera"))
        .with_file_name("examples")
        .join("renderer");
    assert!(
        binary.exists(),
        "{} is missing: run the whole suite (cargo test), which builds the examples",
        binary.display()
    );
    let mut command = std::process::Command::new(binary);
    for (name, _) in std::env::vars() {
        if name.starts_with("TESSERA_") || name.starts_with("RENDERER_") {
            command.env_remove(name);
        }
    }
    command
        .env("RENDERER_LISTEN", "127.0.0.1:0")
        .env("TESSERA_ISSUER", crate::common::app::ISSUER);
    command
}

// Multi-threaded: the in-process service must answer the example's JWKS
// fetch while this test waits for the example's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_renderer_example_says_its_revocation_mode_and_enforces_it() {
    use crate::common::process::Tessera;

    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let renderer_base = |process: &Tessera| {
        let log = process.wait_stderr(Duration::from_secs(15), |log| log.contains("dashboard,"));
        log.split("renderer on ")
            .nth(1)
            .and_then(|rest| rest.split("/dashboard").next())
            .unwrap_or_else(|| panic!("no address in:\n{log}"))
            .to_owned()
    };

    // Without Redis it says revocation is not checked.
    let mut command = renderer_example();
    command.env("TESSERA_URL", &app.base);
    let unchecked = Tessera::spawn(command);
    let base = renderer_base(&unchecked);
    assert!(
        unchecked.stderr().contains("revocation: NOT checked"),
        "{}",
        unchecked.stderr()
    );
    let jwks_line = format!("keys: JWKS {}/.well-known/jwks.json fetched", app.base);
    assert!(
        unchecked.stderr().contains(&jwks_line),
        "{}",
        unchecked.stderr()
    );

    // With a renderer key it reads the revocation feed.
    let renderer_key = crate::auth::scoped_key(
        &app,
        "example-renderer",
        tessera::auth::ApiKeyScope::Renderer,
    )
    .await;
    let mut command = renderer_example();
    command
        .env("TESSERA_URL", &app.base)
        .env("TESSERA_RENDERER_KEY", &renderer_key);
    let fed = Tessera::spawn(command);
    let fed_base = renderer_base(&fed);
    assert!(fed.stderr().contains("revocation feed"), "{}", fed.stderr());

    // With Tessera's Redis it checks, and a revoked token stops passing.
    let mut command = renderer_example();
    command
        .env("TESSERA_URL", &app.base)
        .env("TESSERA_REDIS_URL", redis.url());
    let checked = Tessera::spawn(command);
    let checked_base = renderer_base(&checked);
    assert!(
        checked.stderr().contains("revocation: checked"),
        "{}",
        checked.stderr()
    );

    let token = token_for(&app, "example-group").await;
    // The page: the viewer's group and its variables.
    let (status, page, _) = call(&base, Some(&token)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["viewer"]["provided_id"], "example-group");
    assert_eq!(page["viewer"]["name"], "example-group");
    assert_eq!(page["viewer"]["mapping"], json!({}));
    assert!(page["viewer"]["team_id"].as_u64().is_some(), "{page}");
    assert_eq!(
        page["variables"],
        json!({"tenant": "example-group", "user_group_id": "example-group",
            "user_group_name": "example-group", "team_id": page["viewer"]["team_id"]})
    );
    assert_eq!(call(&checked_base, Some(&token)).await.0, 200);
    assert_eq!(call(&fed_base, Some(&token)).await.0, 200);
    assert_eq!(call(&base, Some(&token)).await.0, 200);
    let (status, _) = app
        .admin(reqwest::Method::POST, "/api/user/example-group/revoke")
        .await;
    assert_eq!(status, 200);
    for renderer in [&checked_base, &fed_base] {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, body, _) = call(renderer, Some(&token)).await;
            if status == 401 {
                assert_eq!(body["error"]["code"], "token_revoked");
                break;
            }
            assert!(Instant::now() < deadline, "the revoked token kept passing");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(call(&base, Some(&token)).await.0, 200, "as its log said");
}

#[tokio::test]
async fn with_the_store_down_the_middleware_answers_503_never_a_pass() {
    let mut redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let token = token_for(&app, "g").await;
    for cache in [10_000, 0] {
        let auth = RendererAuth::new(config(&app, cache)).await.unwrap();
        let base = renderer(&auth).await;
        assert_eq!(call(&base, Some(&token)).await.0, 200, "cache {cache}");
    }
    redis.kill();
    // A fresh engine: no generation cached, so the store must be asked.
    let auth = RendererAuth::new(config(&app, 10_000)).await.unwrap();
    let base = renderer(&auth).await;
    let (status, body, _) = call(&base, Some(&token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("store_unavailable")),
        "{body}"
    );
    // The test Redis keeps nothing on disk: once back, it no longer holds
    // the group, and the token is refused as revoked, never passed.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body, _) = call(&base, Some(&token)).await;
        if status != 503 {
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (401, Some("token_revoked"))
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never recovered after Redis returned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `token` with its header's `kid` replaced (the signature no longer
/// matters: the key is looked up first).
fn with_kid(token: &str, kid: &str) -> String {
    use base64::Engine as _;
    let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header.to_string());
    let rest = token.split_once('.').unwrap().1;
    format!("{header}.{rest}")
}

/// A renderer engine on `jwks` that refreshes every `refresh`.
async fn jwks_auth(jwks: &JwksServer, refresh: Duration, cache: usize) -> RendererAuth {
    let mut config = RendererAuthConfig::new(KeySource::JwksUrl(jwks.url.clone()), verify_policy());
    config.jwks_refresh.bounds = (refresh, refresh);
    config.token_cache_capacity = cache;
    RendererAuth::new(config).await.unwrap()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_jwks_never_delays_requests_with_known_keys() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let token = token_for(&app, "g").await;
    let jwks = jwks_server(app.state.keys.current().unwrap().keyset().jwks()).await;
    // Every request verifies afresh; refreshes every 50 ms, all hanging;
    // an unknown kid may trigger a fetch at once.
    let mut config = RendererAuthConfig::new(KeySource::JwksUrl(jwks.url.clone()), verify_policy());
    config.jwks_refresh.bounds = (Duration::from_millis(50), Duration::from_millis(50));
    config.jwks_refresh.unknown_kid_interval = Duration::ZERO;
    config.token_cache_capacity = 0;
    let auth = RendererAuth::new(config).await.unwrap();
    jwks.hang.store(true, Ordering::SeqCst);
    let fetches = jwks.fetches.load(Ordering::SeqCst);
    wait_for("a refresh hangs", || {
        jwks.fetches.load(Ordering::SeqCst) > fetches
    })
    .await;
    // A token with an unknown kid: its request waits for the one fetch.
    let unknown = {
        let auth = auth.clone();
        let token = with_kid(&token, "made-up");
        tokio::spawn(async move { auth.verify(&token).await.err().map(|e| e.code()) })
    };
    let mut slowest = Duration::ZERO;
    for _ in 0..100 {
        let start = Instant::now();
        assert!(auth.verify(&token).await.is_ok());
        slowest = slowest.max(start.elapsed());
    }
    println!("slowest of 100 known-kid verifications while the JWKS hangs: {slowest:?}");
    assert!(slowest < Duration::from_millis(50), "{slowest:?}");
    assert!(
        !unknown.is_finished(),
        "the unknown kid waits for its fetch"
    );
    let code = unknown.await.unwrap();
    assert_eq!(code, Some("keys_unavailable"), "the fetch timed out");
}

#[tokio::test]
async fn random_kids_cause_at_most_one_fetch_per_interval() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let token = token_for(&app, "g").await;
    let jwks = jwks_server(app.state.keys.current().unwrap().keyset().jwks()).await;
    let auth = jwks_auth(&jwks, Duration::from_secs(3600), 10_000).await;
    let start = Instant::now();
    for n in 0..1000 {
        let err = auth
            .verify(&with_kid(&token, &format!("kid-{n}")))
            .await
            .err();
        assert_eq!(err.map(|e| e.code()), Some("token_unknown_key"));
        if n % 100 == 0 {
            assert!(auth.verify(&token).await.is_ok(), "known kids unaffected");
        }
    }
    println!("1000 random kids in {:?}", start.elapsed());
    assert!(
        jwks.fetches.load(Ordering::SeqCst) <= 2,
        "{:?}",
        jwks.fetches
    );
}

#[tokio::test]
async fn a_refresh_with_the_same_keys_keeps_cached_verifications() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let token = token_for(&app, "g").await;
    let jwks = jwks_server(app.state.keys.current().unwrap().keyset().jwks()).await;
    let auth = jwks_auth(&jwks, Duration::from_millis(50), 10_000).await;
    assert!(auth.verify(&token).await.is_ok());
    let (version, verified) = (auth.key_version(), auth.verifications());
    wait_for("three more refreshes", || auth.jwks_fetches() >= 4).await;
    assert_eq!(
        auth.key_version(),
        version,
        "the same keys keep their version"
    );
    assert!(auth.verify(&token).await.is_ok());
    assert_eq!(auth.verifications(), verified, "still a cache hit");
}

#[tokio::test]
async fn a_key_retired_at_tessera_ends_a_cached_verification_at_the_next_refresh() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let token = token_for(&app, "g").await;
    let jwks = jwks_server(app.state.keys.current().unwrap().keyset().jwks()).await;
    let auth = jwks_auth(&jwks, Duration::from_millis(50), 10_000).await;
    assert!(auth.verify(&token).await.is_ok());
    let version = auth.key_version();

    let old = app.state.keys.current().unwrap().active().0.kid.to_string();
    KeyRing::rotate(app.keys_dir.path(), chrono::Utc::now()).unwrap();
    KeyRing::retire(app.keys_dir.path(), &old, chrono::Utc::now()).unwrap();
    let ring = KeyRing::load(app.keys_dir.path()).unwrap();
    *jwks.document.lock().unwrap() = Some(ring.keyset().jwks());
    wait_for("the refresh sees the change", || {
        auth.key_version() != version
    })
    .await;
    let err = auth.verify(&token).await.err();
    assert_eq!(err.map(|e| e.code()), Some("token_unknown_key"));
}
