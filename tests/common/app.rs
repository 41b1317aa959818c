//! The service in-process on a real socket (`spawn_app`), plus the same
//! router for `oneshot` tests.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tessera::auth::{ApiKey, Secret};
use tessera::clock::{SharedClock, SystemClock};
use tessera::ring::SharedRing;
use tessera::store::{GroupStore, RedisConfig, RedisStore, RedisTarget};
use tessera::token::{Kek, KeyHandle, KeyRing, TokenPolicy, VerifyPolicy};
use tessera::{AppParts, AppState};
use tokio::sync::oneshot;

/// The operator key every in-process test app accepts.
pub const OPERATOR_KEY: &str = "operator-test-key-0123456789abcdef";
/// Issuer and audience of test apps.
pub const ISSUER: &str = "http://tessera.test";
pub const AUDIENCE: &str = "dashboards";

/// A running service and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub keys_dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
}

/// The verification rules of test apps: 30 d maximum, 60 s leeway.
pub fn verify_policy() -> VerifyPolicy {
    VerifyPolicy {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        max_ttl: Duration::from_secs(30 * 86_400),
        leeway: Duration::from_secs(60),
    }
}

/// The policy of test apps: 24 h default lifetime.
pub fn policy() -> TokenPolicy {
    TokenPolicy {
        verify: verify_policy(),
        default_ttl: Duration::from_secs(24 * 3600),
        max_session: Duration::from_secs(7 * 86_400),
        refresh_grace: Duration::ZERO,
    }
}

/// A state over the Redis at `redis_url`, with fresh keys in a temp dir.
pub fn test_state(redis_url: &str) -> (AppState, tempfile::TempDir) {
    let keys_dir = tempfile::tempdir().expect("temp dir");
    let clock: SharedClock = Arc::new(SystemClock);
    let (keys, _) = KeyRing::load_or_init(keys_dir.path(), clock.now()).expect("keys");
    let store = RedisStore::new(&RedisConfig {
        target: RedisTarget::Url(Secret::new(redis_url)),
        prefix: "tessera:".into(),
        timeout: Duration::from_secs(1),
    })
    .expect("store");
    let metrics = Arc::new(tessera::metrics::Metrics::new());
    let store: Arc<dyn GroupStore> = Arc::new(tessera::metrics::MeteredStore::new(
        Arc::new(store),
        metrics.clone(),
        "redis",
    ));
    let keys = KeyHandle::new(keys);
    let kek = Arc::new(Kek::random().expect("KEK"));
    let ring = Arc::new(SharedRing::new(
        store.clone(),
        kek,
        keys.clone(),
        clock.clone(),
    ));
    let audit = Arc::new(tessera::audit::Audit::new(
        tessera::audit::DEFAULT_RETENTION,
        store.clone(),
    ));
    let state: AppState = AppParts {
        store,
        keys,
        ring,
        tokens: Arc::new(policy()),
        clock,
        operator_key: Some(ApiKey::new(OPERATOR_KEY).hash()),
        verify_check_store: true,
        cors: tessera::api::CorsOrigins::Off,
        draining: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        audit,
        admitted: Arc::new(tessera::auth::AdmittedKeys::new(
            tessera::auth::ADMITTED_KEYS,
        )),
        verified: Arc::new(tessera::token::VerifiedTokens::new(
            tessera::token::DEFAULT_VERIFY_CACHE,
        )),
        limits: tessera::api::RateLimits::off(),
        metrics,
        metrics_route: true,
    }
    .into();
    (state, keys_dir)
}

/// Serves a fresh app over the Redis at `redis_url` on 127.0.0.1:0.
pub async fn spawn_app(redis_url: &str) -> TestApp {
    spawn_app_with(redis_url, |_| {}).await
}

/// `spawn_app` with the state changed by `configure` first.
pub async fn spawn_app_with(redis_url: &str, configure: impl FnOnce(&mut AppState)) -> TestApp {
    let (mut state, keys_dir) = test_state(redis_url);
    configure(&mut state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (tx, rx) = oneshot::channel::<()>();
    let served = state.clone();
    tokio::spawn(async move {
        let _ = tessera::serve(listener, served, async {
            let _ = rx.await;
        })
        .await;
    });
    TestApp {
        base,
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .expect("client"),
        state,
        keys_dir,
        shutdown: Some(tx),
    }
}

impl TestApp {
    /// Sends a get-user call with the operator key; returns status and body.
    pub async fn get_user(&self, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, body, Some(OPERATOR_KEY))
            .await
    }

    /// Sends `body` to `/api/user` with `method` and an optional API key.
    pub async fn call(
        &self,
        method: reqwest::Method,
        body: &Value,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/api/user", self.base))
            .json(body);
        if let Some(key) = key {
            request = request.header("Authorization", format!("Token {key}"));
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

impl TestApp {
    /// A token of the stored group `id`, issued as if `offset` from now
    /// (in the past for an expired token, ahead for a later one).
    pub async fn token_issued_at(&self, id: &str, offset: chrono::Duration) -> String {
        let keys = self.state.keys.current().expect("keys loaded");
        let record = self
            .state
            .store
            .get(&tessera::domain::GroupId::parse(id).expect("an id"))
            .await
            .expect("store")
            .expect("the group exists");
        tessera::token::TokenIssuer::new(&keys, &self.state.tokens)
            .issue(&record, None, chrono::Utc::now() + offset)
            .expect("signed")
            .token
    }

    /// `POST /api/verify` with the token as a bearer credential.
    pub async fn verify(&self, token: &str) -> (u16, Value) {
        self.bearer_post("/api/verify", token).await
    }

    /// `POST /api/token/refresh` with the token as a bearer credential.
    pub async fn refresh(&self, token: &str) -> (u16, Value) {
        self.bearer_post("/api/token/refresh", token).await
    }

    /// `POST path` with `token` as a bearer credential: status and body.
    async fn bearer_post(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent");
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// An admin call (`method path`) with the operator key.
    pub async fn admin(&self, method: reqwest::Method, path: &str) -> (u16, Value) {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Token {OPERATOR_KEY}"))
            .send()
            .await
            .expect("request sent");
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// `method {base}{path}` with the operator key and an optional JSON body:
/// the status and the body.
pub async fn operator_call(
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .header("Authorization", format!("Token {OPERATOR_KEY}"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `POST {base}/api/verify` with `token` as a bearer credential: the status
/// and the error code, if any.
pub async fn verify_code(base: &str, token: &str) -> (u16, Option<String>) {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/verify"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["error"]["code"].as_str().map(str::to_owned))
}

/// The payload of a compact JWT, decoded without verification.
pub fn jwt_part(token: &str, index: usize) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(index).expect("segment");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}
