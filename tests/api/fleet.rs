//! Several `tessera` processes on one store: one key ring, shared through
//! the store and sealed under one KEK. Tokens cross instances, JWKS agree
//! byte for byte, and a change made on one instance (through the admin
//! API, or by the rotation schedule) reaches the others without a signal.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::RedisServer;
use crate::common::app::{ISSUER, OPERATOR_KEY, jwt_part, operator_call, verify_code};
use crate::common::process::{Tessera, output_within_30s, tessera, wait_status};
use crate::common::redis_cluster::RedisCluster;

/// A KEK every instance of a test fleet shares (base64url of 32 bytes).
const FLEET_KEK: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE";
/// How long a ring change may take to reach another instance.
const PROPAGATION: Duration = Duration::from_secs(2);

/// One instance, with its own working directory (and so its own `keys/`).
struct Instance {
    process: Tessera,
    base: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Starts an instance on `store` (environment pairs) with the fleet KEK,
/// the test issuer and operator key, and `extra` arguments; waits until
/// it is ready.
async fn instance(store: &[(&str, String)], extra: &[&str]) -> Instance {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tessera(dir.path());
    command
        .envs(store.iter().map(|(name, value)| (*name, value.as_str())))
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_KEK", FLEET_KEK)
        .env("TESSERA_ISSUER", ISSUER)
        .env("TESSERA_API_KEY", OPERATOR_KEY)
        .args(extra);
    let process = Tessera::spawn(command);
    let base = process.listening_base();
    let ready = wait_status(&format!("{base}/readyz"), 200, Duration::from_secs(15)).await;
    assert_eq!(ready, 200, "{}", process.stderr());
    Instance {
        process,
        base,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl Instance {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        operator_call(&self.base, method, path, body).await
    }

    /// A fresh token for group `g`.
    async fn token(&self) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/user",
                Some(json!({"user_group_id": "g"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["user_group"]["token"].as_str().unwrap().to_owned()
    }

    /// `/api/verify` of `token`: status and error code.
    async fn verify(&self, token: &str) -> (u16, Option<String>) {
        verify_code(&self.base, token).await
    }

    async fn jwks_bytes(&self) -> Vec<u8> {
        let response = self
            .client
            .get(format!("{}/.well-known/jwks.json", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.bytes().await.unwrap().to_vec()
    }

    async fn jwks_kids(&self) -> Vec<String> {
        let document: Value = serde_json::from_slice(&self.jwks_bytes().await).unwrap();
        document["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `GET /api/keys`: kid → state.
    async fn key_states(&self) -> Vec<(String, String)> {
        let (status, body) = self.call(reqwest::Method::GET, "/api/keys", None).await;
        assert_eq!(status, 200, "{body}");
        body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| {
                (
                    key["kid"].as_str().unwrap().to_owned(),
                    key["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

fn kid_of(token: &str) -> String {
    jwt_part(token, 0)["kid"].as_str().unwrap().to_owned()
}

/// Polls `check` until it holds or `limit` passes; how long it took, or
/// `None` if it never held.
async fn within<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn redis_env(redis: &RedisServer) -> Vec<(&'static str, String)> {
    vec![("TESSERA_REDIS_URL", redis.url())]
}

/// Tokens cross instances, and both publish the same JWKS.
async fn share_one_ring(store: &[(&str, String)]) {
    let a = instance(store, &[]).await;
    let b = instance(store, &[]).await;
    let (from_a, from_b) = (a.token().await, b.token().await);
    assert_eq!(kid_of(&from_a), kid_of(&from_b), "one signing key");
    assert_eq!(b.verify(&from_a).await, (200, None));
    assert_eq!(a.verify(&from_b).await, (200, None));
    assert_eq!(
        a.jwks_bytes().await,
        b.jwks_bytes().await,
        "byte-for-byte equal"
    );
    let ready: Value = reqwest::get(format!("{}/readyz", b.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["keys"], 1, "{ready}");
    assert_eq!(ready["active_kid"], kid_of(&from_a).as_str());

    // Offline, against B's published JWKS.
    let dir = tempfile::tempdir().unwrap();
    let offline = output_within_30s({
        let mut command = tessera(dir.path());
        command
            .args(["token", "verify", "--issuer", ISSUER, "--jwks"])
            .arg(format!("{}/.well-known/jwks.json", b.base))
            .arg(&from_a);
        command
    });
    assert!(
        offline.status.success(),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
}

#[tokio::test]
async fn two_instances_on_one_redis_share_one_key_ring() {
    let redis = RedisServer::start();
    share_one_ring(&redis_env(&redis)).await;
}

#[tokio::test]
async fn two_instances_on_one_redis_cluster_share_one_key_ring() {
    let cluster = RedisCluster::start();
    share_one_ring(&[("TESSERA_REDIS_CLUSTER", cluster.nodes().join(","))]).await;
}

#[tokio::test]
async fn staged_rotation_through_the_admin_api_reaches_every_instance() {
    use reqwest::Method;
    let redis = RedisServer::start();
    let store = redis_env(&redis);
    let a = instance(&store, &[]).await;
    let b = instance(&store, &[]).await;
    let old = a.token().await;
    let old_kid = kid_of(&old);

    // Publish: in both JWKS within 2 s, signing nowhere.
    let (status, body) = a
        .call(Method::POST, "/api/keys", Some(json!({"alg": "ES256"})))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["key"]["state"], "published");
    assert_eq!(body["key"]["alg"], "ES256");
    assert!(body["key"]["activated_at"].is_null());
    let new_kid = body["key"]["kid"].as_str().unwrap().to_owned();
    for instance in [&a, &b] {
        let took = within(PROPAGATION, || async {
            instance.jwks_kids().await.contains(&new_kid)
        })
        .await;
        assert!(
            took.is_some(),
            "{new_kid} not published on {}",
            instance.base
        );
        assert_eq!(
            kid_of(&instance.token().await),
            old_kid,
            "a published key does not sign"
        );
    }

    // Refusals.
    let retire_active = format!("/api/keys/{old_kid}/retire");
    let cases: [(Method, &str, Option<Value>, u16, &str); 6] = [
        (Method::POST, &retire_active, None, 409, "conflict"),
        (
            Method::POST,
            "/api/keys/no-such-kid/activate",
            None,
            404,
            "not_found",
        ),
        (
            Method::POST,
            "/api/keys/no-such-kid/retire",
            None,
            404,
            "not_found",
        ),
        (
            Method::POST,
            "/api/keys",
            Some(json!({"alg": "none"})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/keys",
            Some(json!({"alg": "EdDSA", "private": "x"})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            "/api/keys",
            Some(json!({"activate": "yes"})),
            400,
            "invalid_request",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let (got, answer) = a.call(method, path, body.clone()).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{path} {body:?}: {answer}"
        );
    }
    let anonymous = reqwest::get(format!("{}/api/keys", a.base)).await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    // Activate on A: both sign with it within 2 s; old tokens still verify.
    let (status, body) = a
        .call(Method::POST, &format!("/api/keys/{new_kid}/activate"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["key"]["state"], "active");
    for instance in [&a, &b] {
        let took = within(PROPAGATION, || async {
            kid_of(&instance.token().await) == new_kid
        })
        .await;
        assert!(
            took.is_some(),
            "{new_kid} does not sign on {}: {}",
            instance.base,
            instance.process.stderr()
        );
        assert_eq!(instance.verify(&old).await, (200, None));
    }
    let listed = b.key_states().await;
    assert_eq!(
        listed,
        vec![
            (old_kid.clone(), "published".to_owned()),
            (new_kid.clone(), "active".to_owned())
        ]
    );
    let (_, raw) = b.call(Method::GET, "/api/keys", None).await;
    let text = raw.to_string();
    assert!(
        !text.contains("sealed") && !text.contains("PRIVATE"),
        "{text}"
    );

    // Retire the former key: its tokens fail everywhere within 2 s.
    let (status, body) = a
        .call(Method::POST, &format!("/api/keys/{old_kid}/retire"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["key"]["state"], "retired");
    for instance in [&a, &b] {
        let took = within(PROPAGATION, || async {
            instance.verify(&old).await == (401, Some("token_unknown_key".to_owned()))
        })
        .await;
        assert!(
            took.is_some(),
            "{old_kid} still verifies on {}",
            instance.base
        );
    }
    assert_eq!(a.jwks_bytes().await, b.jwks_bytes().await);
}

/// The time from `POST /api/keys/{kid}/activate` on one instance to the
/// first token signed with that kid by the other, ten times; prints the
/// median. (A figure, not an assertion: propagation is asserted above.)
#[tokio::test]
async fn activation_reaches_the_other_instance_measured() {
    use reqwest::Method;
    let redis = RedisServer::start();
    let store = redis_env(&redis);
    let a = instance(&store, &[]).await;
    let b = instance(&store, &[]).await;
    let mut took = Vec::new();
    for _ in 0..10 {
        let (status, body) = a.call(Method::POST, "/api/keys", Some(json!({}))).await;
        assert_eq!(status, 201, "{body}");
        let kid = body["key"]["kid"].as_str().unwrap().to_owned();
        // Let B hold the published key, as a staged rotation would.
        let published = within(PROPAGATION, || async { b.jwks_kids().await.contains(&kid) }).await;
        assert!(published.is_some());
        // Activate at a different point of B's one-second poll each time.
        tokio::time::sleep(Duration::from_millis(100 * took.len() as u64)).await;
        let start = Instant::now();
        let (status, _) = a
            .call(Method::POST, &format!("/api/keys/{kid}/activate"), None)
            .await;
        assert_eq!(status, 200);
        let signed = within(Duration::from_secs(5), || async {
            kid_of(&b.token().await) == kid
        })
        .await;
        assert!(signed.is_some(), "{kid} never signed on B");
        took.push(start.elapsed());
    }
    took.sort();
    println!(
        "activate on A -> first token signed with the kid on B: median {:?}, min {:?}, max {:?} (10 runs)",
        took[took.len() / 2],
        took[0],
        took[took.len() - 1]
    );
    assert!(
        took[took.len() - 1] <= PROPAGATION + Duration::from_millis(500),
        "{took:?}"
    );
}

#[tokio::test]
async fn scheduled_rotation_on_two_instances_takes_each_step_once() {
    let redis = RedisServer::start();
    let store = redis_env(&redis);
    let period = Duration::from_secs(4);
    let schedule = [
        "--rotate-every",
        "4s",
        "--publish-delay",
        "1s",
        "--token-ttl",
        "2s",
        "--max-token-ttl",
        "2s",
        "--leeway",
        "0s",
    ];
    let a = instance(&store, &schedule).await;
    let b = instance(&store, &schedule).await;

    // Traffic on both instances, each token verified by the other; every
    // state seen on the way is checked.
    let mut failures = Vec::new();
    let mut observed = 0;
    let end = Instant::now() + Duration::from_secs(14);
    while Instant::now() < end {
        for (issuer, verifier) in [(&a, &b), (&b, &a)] {
            let (status, body) = issuer
                .call(
                    reqwest::Method::POST,
                    "/api/user",
                    Some(json!({"user_group_id": "g"})),
                )
                .await;
            if status != 200 {
                failures.push(format!("get-user {status} {body}"));
                continue;
            }
            let token = body["user_group"]["token"].as_str().unwrap();
            let verified = verifier.verify(token).await;
            if verified != (200, None) {
                failures.push(format!("verify {verified:?} of {}", kid_of(token)));
            }
        }
        let states = a.key_states().await;
        let count = |state: &str| states.iter().filter(|(_, s)| s == state).count();
        assert_eq!(count("active"), 1, "{states:?}");
        assert!(count("published") <= 2, "{states:?}");
        observed += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(failures.is_empty(), "{failures:?}");
    assert!(observed > 20);

    // One new key per period: creation times a period apart, never two
    // keys in one period, and the oldest keys retired.
    let (_, body) = a.call(reqwest::Method::GET, "/api/keys", None).await;
    let keys = body["keys"].as_array().unwrap();
    let created: Vec<chrono::DateTime<chrono::Utc>> = keys
        .iter()
        .map(|key| key["created_at"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!((4..=5).contains(&keys.len()), "{body}");
    for pair in created.windows(2) {
        let gap = (pair[1] - pair[0]).to_std().unwrap();
        assert!(
            gap >= period && gap < period + Duration::from_secs(2),
            "{body}"
        );
    }
    assert_eq!(keys[0]["state"], "retired", "{body}");
    assert_eq!(a.jwks_bytes().await, b.jwks_bytes().await);
}

#[tokio::test]
async fn a_wrong_kek_refuses_to_start_and_changes_nothing() {
    let redis = RedisServer::start();
    let store = redis_env(&redis);
    let a = instance(&store, &[]).await;
    let kid = kid_of(&a.token().await);
    let before = redis.cli(&["GET", "tessera:keyring"]);
    // KEYS answers in the hash table's order, which may change as Redis
    // rehashes: compare the sets.
    let keys = || {
        let mut keys: Vec<String> = redis
            .cli(&["KEYS", "*"])
            .lines()
            .map(str::to_owned)
            .collect();
        keys.sort();
        keys
    };
    let keys_before = keys();

    let dir = tempfile::tempdir().unwrap();
    let refused = output_within_30s({
        let mut command: Command = tessera(dir.path());
        command
            .env("TESSERA_REDIS_URL", redis.url())
            .env("TESSERA_LISTEN", "127.0.0.1:0")
            .env("TESSERA_KEK", "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI");
        command
    });
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains(&kid), "{stderr}");
    assert!(stderr.contains("TESSERA_KEK"), "{stderr}");
    assert_eq!(
        redis.cli(&["GET", "tessera:keyring"]),
        before,
        "the ring is unchanged"
    );
    assert_eq!(keys(), keys_before, "nothing was added");

    // The CLI refuses the same way.
    let cli = output_within_30s({
        let mut command = tessera(dir.path());
        command
            .env("TESSERA_REDIS_URL", redis.url())
            .env("TESSERA_KEK", "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI")
            .args(["keys", "generate", "--activate"]);
        command
    });
    assert_eq!(
        cli.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );

    // No KEK at all: refused too, and none is made up.
    let missing = output_within_30s({
        let mut command = tessera(dir.path());
        command
            .env("TESSERA_REDIS_URL", redis.url())
            .env("TESSERA_LISTEN", "127.0.0.1:0");
        command
    });
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains(&kid) && stderr.contains("no key-encryption key"),
        "{stderr}"
    );
    assert!(!dir.path().join("keys").join("kek").exists());
    assert_eq!(redis.cli(&["GET", "tessera:keyring"]), before);
    drop(a);
}
