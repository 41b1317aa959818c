//! The `tessera` binary end to end: start-up, the first admin key, the
//! api-keys and keys commands, configuration errors and shutdown.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::RedisServer;
use crate::common::app::{jwt_part, verify_code};
use crate::common::in_flight::InFlight;
use crate::common::process::{Tessera, output_within_30s, tessera, wait_status};

struct Running {
    process: Tessera,
    base: String,
    _dir: tempfile::TempDir,
}

fn start(redis: &RedisServer, configure: impl FnOnce(&mut Command, &std::path::Path)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tessera(dir.path());
    command
        .env("TESSERA_REDIS_URL", redis.url())
        .env("TESSERA_LISTEN", "127.0.0.1:0");
    configure(&mut command, dir.path());
    let process = Tessera::spawn(command);
    let base = process.listening_base();
    Running {
        process,
        base,
        _dir: dir,
    }
}

impl Running {
    /// Waits up to 15 s for `GET /<path>` to answer `status`.
    async fn wait_for(&self, path: &str, status: u16) {
        let url = format!("{}/{path}", self.base);
        let got = wait_status(&url, status, Duration::from_secs(15)).await;
        assert_eq!(got, status, "{url}\n{}", self.process.stderr());
    }
}

/// What a command that must succeed printed on stdout, trimmed.
fn printed(output: std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn banner_key(stdout: &str) -> Option<String> {
    stdout
        .split_whitespace()
        .find(|word| word.starts_with("tsk_"))
        .map(str::to_owned)
}

async fn get_user(base: &str, key: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/user"))
        .header("Authorization", format!("Token {key}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Get-user for the group `g` with the operator key; the answer's body.
async fn operator_get_user(base: &str) -> Value {
    let (status, body) = get_user(
        base,
        crate::common::app::OPERATOR_KEY,
        json!({"user_group_id": "g"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn cli(redis: &RedisServer, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    output_within_30s({
        let mut command = tessera(dir.path());
        command.env("TESSERA_REDIS_URL", redis.url()).args(args);
        command
    })
}

#[tokio::test]
async fn first_start_prints_one_admin_key_and_api_keys_commands_manage_keys() {
    let redis = RedisServer::start();
    // Both starts share one KEK, as instances of one store must.
    let kek = tempfile::tempdir().unwrap();
    let kek_file = kek.path().join("kek");
    let mut app = start(&redis, |command, _| {
        command.env("TESSERA_KEK_FILE", &kek_file);
    });
    let stdout = app
        .process
        .wait_stdout(Duration::from_secs(15), |out| banner_key(out).is_some());
    let key = banner_key(&stdout)
        .unwrap_or_else(|| panic!("no banner: {stdout}\n{}", app.process.stderr()));
    app.wait_for("readyz", 200).await;
    let (status, body) = get_user(&app.base, &key, json!({"user_group_id": "example_1"})).await;
    assert_eq!(status, 200, "{body}");
    let token = body["user_group"]["token"].as_str().unwrap().to_owned();

    let created = cli(&redis, &["api-keys", "create", "--name", "backend-prod"]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let second = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(second.starts_with("tsk_") && second.len() == 47, "{second}");
    assert_eq!(
        get_user(&app.base, &second, json!({"user_group_id": "g2"}))
            .await
            .0,
        200
    );

    let duplicate = cli(&redis, &["api-keys", "create", "--name", "backend-prod"]);
    assert!(!duplicate.status.success());

    let listed = cli(&redis, &["api-keys", "list"]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains("initial") && listed.contains("backend-prod"),
        "{listed}"
    );
    assert!(!listed.contains("tsk_"), "list must not show keys");

    let revoked = cli(&redis, &["api-keys", "revoke", "backend-prod"]);
    assert!(revoked.status.success());
    // The service admits a stored key for at most a second after it
    // last asked the store.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while get_user(&app.base, &second, json!({"user_group_id": "g2"}))
        .await
        .0
        != 401
    {
        assert!(
            std::time::Instant::now() < deadline,
            "a revoked key still works 2 s later"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !cli(&redis, &["api-keys", "revoke", "backend-prod"])
            .status
            .success()
    );

    // A second start finds a key and prints none.
    let status = app.process.terminate();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
    let again = start(&redis, |command, _| {
        command.env("TESSERA_KEK_FILE", &kek_file);
    });
    again.wait_for("readyz", 200).await;
    let log = again.process.wait_stderr(Duration::from_secs(15), |log| {
        log.contains("admin API keys found")
    });
    assert!(log.contains("admin API keys found"), "{log}");
    assert_eq!(banner_key(&again.process.stdout()), None);

    // Nothing secret reached the log.
    let log = app.process.stderr();
    assert!(
        !log.contains(&key) && !log.contains(&second) && !log.contains(&token),
        "{log}"
    );
}

#[tokio::test]
async fn operator_key_is_accepted_and_suppresses_the_banner() {
    let redis = RedisServer::start();
    let app = start(&redis, |command, _| {
        command.env("TESSERA_API_KEY", "operator-supplied-key-0123456789abcdef");
    });
    app.wait_for("readyz", 200).await;
    let (status, _) = get_user(
        &app.base,
        "operator-supplied-key-0123456789abcdef",
        json!({"user_group_id": "g"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(banner_key(&app.process.stdout()), None);
    assert_eq!(redis.cli(&["HLEN", "tessera:api_keys"]), "0");
}

#[tokio::test]
async fn starts_while_redis_is_down_and_becomes_ready_when_it_returns() {
    let mut redis = RedisServer::start();
    redis.kill();
    let app = start(&redis, |_, _| {});
    app.wait_for("healthz", 200).await;
    app.wait_for("readyz", 503).await;

    redis.restart();
    app.wait_for("readyz", 200).await;
    let stdout = app
        .process
        .wait_stdout(Duration::from_secs(10), |out| banner_key(out).is_some());
    assert!(
        banner_key(&stdout).is_some(),
        "the first admin key is created once Redis is up"
    );
}

#[test]
fn a_corrupt_data_directory_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("data/tessera.redb"), vec![0x5a; 8192]).unwrap();
    let output = output_within_30s({
        let mut command = tessera(dir.path());
        command.env("TESSERA_LISTEN", "127.0.0.1:0");
        command
    });
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("tessera.redb"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_invalid_cluster_node_is_a_start_up_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = output_within_30s({
        let mut command = tessera(dir.path());
        command
            .env("TESSERA_LISTEN", "127.0.0.1:0")
            .env("TESSERA_REDIS_CLUSTER", "127.0.0.1:7000,localhost");
        command
    });
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("\"localhost\""), "{stderr}");
    let both = output_within_30s({
        let mut command = tessera(dir.path());
        command
            .env("TESSERA_REDIS_CLUSTER", "127.0.0.1:7000")
            .env("TESSERA_REDIS_URL", "redis://127.0.0.1:1");
        command
    });
    assert!(!both.status.success(), "a URL and a cluster are exclusive");
}

#[test]
fn bad_configuration_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--token-ttl", "soon"],
        vec!["--token-ttl", "0s"],
        vec!["--listen", "nowhere"],
        vec!["--token-ttl", "40d"],
        vec!["--max-connections", "0"],
        vec!["--header-read-timeout", "0s"],
        vec!["--cors-origins", "dashboards.example.com"],
        vec!["--cors-origins", "https://a.example.com/path"],
    ] {
        let output = output_within_30s({
            let mut command = tessera(dir.path());
            command
                .env("TESSERA_REDIS_URL", "redis://127.0.0.1:1")
                .args(&args);
            command
        });
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(!output.stderr.is_empty());
    }
    // A bad value from the environment names the variable.
    let output = output_within_30s({
        let mut command = tessera(dir.path());
        command.env("TESSERA_TOKEN_TTL", "soon");
        command
    });
    assert_eq!(output.status.code(), Some(2), "a usage error");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("set by the environment variable TESSERA_TOKEN_TTL"),
        "{stderr}"
    );
    assert!(stderr.contains("--token-ttl"), "{stderr}");

    // Rotation schedules that cannot work, refused naming the flag.
    for (args, named) in [
        (vec!["--publish-delay", "1m"], "--rotate-every"),
        (
            vec!["--rotate-every", "1h", "--publish-delay", "1h"],
            "shorter than --rotate-every",
        ),
        (
            vec!["--rotate-every", "1h"],
            "too short for --max-token-ttl",
        ),
        (
            vec!["--rotate-every", "2m"],
            "must be shorter than --rotate-every",
        ),
    ] {
        let output = output_within_30s({
            let mut command = tessera(dir.path());
            command
                .env("TESSERA_LISTEN", "127.0.0.1:0")
                .env("TESSERA_REDIS_URL", "redis://127.0.0.1:1")
                .args(&args);
            command
        });
        assert_eq!(output.status.code(), Some(1), "{args:?} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
}

/// Start-up refuses what is unsafe, naming the setting, before it creates
/// any file.
#[test]
fn unsafe_settings_are_refused_naming_the_setting_and_leaving_no_files() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("TESSERA_API_KEY", "short-key")], "TESSERA_API_KEY"),
        (&[("TESSERA_LEEWAY", "6m")], "--leeway"),
        (&[("TESSERA_ISSUER", &"i".repeat(300))], "--issuer"),
        (&[("TESSERA_AUDIENCE", &"a".repeat(300))], "--audience"),
    ];
    for (envs, named) in cases {
        let dir = tempfile::tempdir().unwrap();
        let output = output_within_30s({
            let mut command = tessera(dir.path());
            command.env("TESSERA_LISTEN", "127.0.0.1:0");
            for (name, value) in envs {
                command.env(name, value);
            }
            command
        });
        assert_eq!(output.status.code(), Some(1), "{envs:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(named), "{envs:?}: {stderr}");
        assert!(
            !stderr.contains("short-key"),
            "the key itself is never printed"
        );
        let created: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(created.is_empty(), "{envs:?} left {created:?}");
    }
    // A leeway of exactly 5 minutes and a 32-character key are fine.
    let redis = RedisServer::start();
    let app = start(&redis, |command, _| {
        command
            .env("TESSERA_LEEWAY", "5m")
            .env("TESSERA_API_KEY", "k".repeat(32));
    });
    drop(app);
}

#[tokio::test]
async fn a_second_instance_on_a_taken_port_fails_before_creating_files() {
    let redis = RedisServer::start();
    let first = start(&redis, |_, _| {});
    first.wait_for("readyz", 200).await;
    let taken = first.base.trim_start_matches("http://").to_owned();
    let dir = tempfile::tempdir().unwrap();
    let output = output_within_30s({
        let mut command = tessera(dir.path());
        command.env("TESSERA_LISTEN", &taken);
        command
    });
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
    assert!(
        !dir.path().join("keys").exists(),
        "a signing key was created"
    );
    assert!(
        !dir.path().join("data").exists(),
        "a data directory was created"
    );
}

#[tokio::test]
async fn keys_generate_before_the_first_start_chooses_the_signing_algorithm() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let keys_cli = |args: &[&str]| {
        output_within_30s({
            let mut command = tessera(dir.path());
            command.env("TESSERA_REDIS_URL", redis.url()).args(args);
            command
        })
    };
    let kid = printed(keys_cli(&["keys", "generate", "--alg", "ES256"]));
    assert!(kid.starts_with("es256-"), "{kid}");
    // The KEK was created for it, private to its owner.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("keys").join("kek"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    let keys_dir = dir.path().join("keys");
    let app = start(&redis, |command, _| {
        command
            .env("TESSERA_KEYS_DIR", &keys_dir)
            .env("TESSERA_API_KEY", crate::common::app::OPERATOR_KEY);
    });
    app.wait_for("readyz", 200).await;
    let body = operator_get_user(&app.base).await;
    let header = jwt_part(body["user_group"]["token"].as_str().unwrap(), 0);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], kid.as_str());

    let bad = keys_cli(&["keys", "generate", "--alg", "none"]);
    assert_eq!(bad.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("none"));
}

#[test]
fn a_short_hmac_secret_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    std::fs::write(
        keys.join("keyring.json"),
        r#"{"active":"hs","keys":[{"kid":"hs","alg":"HS256","created_at":"2026-01-01T00:00:00Z"}]}"#,
    )
    .unwrap();
    // 31 bytes of secret, base64url.
    std::fs::write(
        keys.join("hs.key"),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
    .unwrap();
    let redis = RedisServer::start();
    let output = output_within_30s({
        let mut command = tessera(dir.path());
        command
            .env("TESSERA_REDIS_URL", redis.url())
            .env("TESSERA_LISTEN", "127.0.0.1:0");
        command
    });
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at least 32 bytes"), "{stderr}");
    assert_eq!(
        redis.cli(&["EXISTS", "tessera:keyring"]),
        "0",
        "a ring that cannot sign is never stored"
    );
}

async fn jwks_kids(base: &str) -> Vec<String> {
    let document: Value = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    document["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn wait_for_kids(base: &str, count: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let kids = jwks_kids(base).await;
        if kids.len() == count || std::time::Instant::now() > deadline {
            return kids;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `GET path`: the status and the error code, if any.
async fn status_and_code(base: &str, path: &str) -> (u16, Option<String>) {
    let response = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, body["error"]["code"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn staged_rotation_with_the_cli_and_offline_verification() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let issuer = "http://tessera.test";
    let app = start(&redis, |command, _| {
        command
            .env("TESSERA_KEYS_DIR", &keys_dir)
            .env("TESSERA_ISSUER", issuer)
            .env("TESSERA_API_KEY", crate::common::app::OPERATOR_KEY);
    });
    app.wait_for("readyz", 200).await;
    let keys_cli = |args: &[&str]| {
        output_within_30s({
            let mut command = tessera(dir.path());
            command
                .env("TESSERA_KEYS_DIR", &keys_dir)
                .env("TESSERA_REDIS_URL", redis.url())
                .args(args);
            command
        })
    };
    let body = operator_get_user(&app.base).await;
    let old = body["user_group"]["token"].as_str().unwrap().to_owned();
    let old_kid = jwt_part(&old, 0)["kid"].as_str().unwrap().to_owned();

    let new_kid = printed(keys_cli(&["keys", "generate"]));
    let kids = wait_for_kids(&app.base, 2).await;
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "published without a signal: {kids:?}"
    );
    let body = operator_get_user(&app.base).await;
    let token = body["user_group"]["token"].as_str().unwrap();
    assert_eq!(
        jwt_part(token, 0)["kid"],
        old_kid.as_str(),
        "a published key does not sign"
    );

    assert!(keys_cli(&["keys", "activate", &new_kid]).status.success());
    let new = wait_for_signing_kid(&app.base, &new_kid).await;
    assert_eq!(
        verify_code(&app.base, &old).await,
        (200, None),
        "signed before the rotation"
    );

    let listed = String::from_utf8(keys_cli(&["keys", "list"]).stdout).unwrap();
    let state = |kid: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(kid))
            .and_then(|line| line.split_whitespace().nth(2))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(state(&old_kid), "published", "{listed}");
    assert_eq!(state(&new_kid), "active", "{listed}");
    let refused = keys_cli(&["keys", "retire", &new_kid]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "the active key cannot be retired"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("active key"));
    assert_eq!(
        keys_cli(&["keys", "activate", "nope"]).status.code(),
        Some(1)
    );

    // Offline verification: the JWKS URL, and the store's ring.
    let jwks_url = format!("{}/.well-known/jwks.json", app.base);
    let offline = |args: &[&str], token: &str| {
        output_within_30s({
            let mut command = tessera(dir.path());
            command
                .env("TESSERA_KEYS_DIR", &keys_dir)
                .env("TESSERA_REDIS_URL", redis.url())
                .args(["token", "verify", "--issuer", issuer])
                .args(args)
                .arg(token);
            command
        })
    };
    let by_url = offline(&["--jwks", &jwks_url], &old);
    assert!(
        by_url.status.success(),
        "{}",
        String::from_utf8_lossy(&by_url.stderr)
    );
    let claims: Value = serde_json::from_slice(&by_url.stdout).unwrap();
    assert_eq!(claims["sub"], "g");
    let by_store = offline(&[], &new);
    assert!(
        by_store.status.success(),
        "{}",
        String::from_utf8_lossy(&by_store.stderr)
    );

    assert!(keys_cli(&["keys", "retire", &old_kid]).status.success());
    assert_eq!(wait_for_kids(&app.base, 1).await, vec![new_kid.clone()]);
    assert_eq!(
        verify_code(&app.base, &old).await,
        (401, Some("token_unknown_key".into()))
    );
    assert_eq!(verify_code(&app.base, &new).await, (200, None));

    let refused = offline(&["--jwks", &jwks_url], &old);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("token_unknown_key"));
    let refused = offline(&[], &old);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("token_unknown_key"));
    let wrong_issuer = output_within_30s({
        let mut command = tessera(dir.path());
        command
            .env("TESSERA_KEYS_DIR", &keys_dir)
            .env("TESSERA_REDIS_URL", redis.url())
            .args(["token", "verify", "--issuer", "http://other.test", &new]);
        command
    });
    assert!(String::from_utf8_lossy(&wrong_issuer.stderr).contains("token_claims_invalid"));

    let inspected = output_within_30s({
        let mut command = tessera(dir.path());
        command.args(["token", "inspect", &old]);
        command
    });
    let shown: Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(shown["verified"], false);
    assert_eq!(shown["header"]["kid"], old_kid.as_str());
    assert_eq!(shown["payload"]["sub"], "g");
    assert_eq!(inspected.status.code(), Some(0));
}

/// Issues tokens until one is signed by `kid` (10 s at most); that token.
async fn wait_for_signing_kid(base: &str, kid: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let body = operator_get_user(base).await;
        let token = body["user_group"]["token"].as_str().unwrap().to_owned();
        if jwt_part(&token, 0)["kid"] == kid {
            return token;
        }
        assert!(std::time::Instant::now() < deadline, "{kid} never signed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn token_inspect_refuses_what_is_not_a_token() {
    let dir = tempfile::tempdir().unwrap();
    for (input, reason) in [
        ("hello", "three dot-separated segments"),
        ("a.b.c", "header is not base64url"),
        ("e30.!!.x", "payload is not base64url"),
        ("bm90IGpzb24.e30.x", "header is not JSON"),
    ] {
        let output = output_within_30s({
            let mut command = tessera(dir.path());
            command.args(["token", "inspect", input]);
            command
        });
        assert_eq!(output.status.code(), Some(1), "{input}");
        assert!(output.stdout.is_empty(), "{input}: printed something");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(reason), "{input}: {stderr}");
    }
}

/// After `keys reseal` the running instance cannot open the stored ring
/// with its old KEK: it says so once and keeps signing with the keys it
/// holds; restarted with the new KEK it reads the ring again. SIGHUP asks
/// for a read at once.
#[tokio::test]
async fn a_resealed_ring_keeps_running_instances_signing_until_restarted_with_the_new_kek() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let app = start(&redis, |command, _| {
        command
            .env("TESSERA_KEYS_DIR", &keys_dir)
            .env("TESSERA_API_KEY", crate::common::app::OPERATOR_KEY);
    });
    app.wait_for("readyz", 200).await;
    let kid = jwks_kids(&app.base).await;
    let new_kek = dir.path().join("new-kek");
    let resealed = output_within_30s({
        let mut command = tessera(dir.path());
        command
            .env("TESSERA_KEYS_DIR", &keys_dir)
            .env("TESSERA_REDIS_URL", redis.url())
            .args(["keys", "reseal", "--new-kek-file"])
            .arg(&new_kek);
        command
    });
    assert!(
        resealed.status.success(),
        "{}",
        String::from_utf8_lossy(&resealed.stderr)
    );
    app.process.hangup();
    let log = app.process.wait_stderr(Duration::from_secs(15), |log| {
        log.contains("does not open with this KEK")
    });
    assert!(log.contains("SIGHUP: reading the key ring now"), "{log}");
    assert!(log.contains("does not open with this KEK"), "{log}");
    let body = operator_get_user(&app.base).await;
    let token = body["user_group"]["token"].as_str().unwrap();
    assert_eq!(jwt_part(token, 0)["kid"], kid[0].as_str(), "still signing");
    assert_eq!(jwks_kids(&app.base).await, kid);
    drop(app);

    // The old KEK is now refused at start; the new one works.
    let refused = output_within_30s({
        let mut command = tessera(dir.path());
        command
            .env("TESSERA_KEYS_DIR", &keys_dir)
            .env("TESSERA_REDIS_URL", redis.url())
            .env("TESSERA_LISTEN", "127.0.0.1:0");
        command
    });
    assert_eq!(refused.status.code(), Some(2));
    let restarted = start(&redis, |command, _| {
        command
            .env("TESSERA_KEK_FILE", &new_kek)
            .env("TESSERA_API_KEY", crate::common::app::OPERATOR_KEY);
    });
    restarted.wait_for("readyz", 200).await;
    assert_eq!(jwks_kids(&restarted.base).await, kid);
}

#[tokio::test]
async fn the_verify_store_check_setting_is_parsed_strictly() {
    let mut redis = RedisServer::start();
    let keys = tempfile::tempdir().unwrap();
    // false: /api/verify answers without the store (Redis down below).
    let app = start(&redis, |command, _| {
        command
            .env("TESSERA_VERIFY_CHECK_STORE", "false")
            .env("TESSERA_ISSUER", crate::common::app::ISSUER)
            .env("TESSERA_KEYS_DIR", keys.path())
            .env("TESSERA_API_KEY", crate::common::app::OPERATOR_KEY);
    });
    app.wait_for("readyz", 200).await;

    // true (the default): the store is asked, and it is down.
    let checking = start(&redis, |command, _| {
        command
            .env("TESSERA_VERIFY_CHECK_STORE", "true")
            .env("TESSERA_ISSUER", crate::common::app::ISSUER)
            .env("TESSERA_KEYS_DIR", keys.path());
    });
    checking.wait_for("readyz", 200).await;
    let body = operator_get_user(&app.base).await;
    let token = body["user_group"]["token"].as_str().unwrap().to_owned();
    redis.kill();
    // The store is down: the keys held go on verifying (and publishing)...
    assert_eq!(verify_code(&app.base, &token).await, (200, None));
    let (status, code) = status_and_code(&app.base, "/.well-known/jwks.json").await;
    assert_eq!((status, code), (200, None));
    // ...readiness reports the store...
    let (status, code) = status_and_code(&app.base, "/readyz").await;
    assert_eq!((status, code.as_deref()), (503, Some("store_unavailable")));
    // ...and a verification that needs the store says it is down.
    assert_eq!(
        verify_code(&checking.base, &token).await,
        (503, Some("store_unavailable".to_owned()))
    );
    drop(app);

    // Anything else is refused at start, naming the setting.
    for bad in ["yes", "0", ""] {
        let dir = tempfile::tempdir().unwrap();
        let output = output_within_30s({
            let mut command = tessera(dir.path());
            command.env("TESSERA_VERIFY_CHECK_STORE", bad);
            command
        });
        assert!(!output.status.success(), "{bad:?} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("verify-check-store"), "{bad:?}: {stderr}");
    }
}

/// `tessera keys` on the embedded store: before the first start (creating
/// the ring), and refused with a pointer to the admin API while the
/// service holds the store.
#[tokio::test]
async fn keys_commands_work_on_the_embedded_store_while_the_service_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let keys_cli = |args: &[&str]| {
        output_within_30s({
            let mut command = tessera(dir.path());
            command.args(args);
            command
        })
    };
    let kid = printed(keys_cli(&["keys", "generate", "--alg", "RS256"]));
    let second = printed(keys_cli(&["keys", "generate"]));
    let listed = String::from_utf8(keys_cli(&["keys", "list"]).stdout).unwrap();
    let state = |kid: &str| {
        listed
            .lines()
            .find(|line| line.starts_with(kid))
            .and_then(|line| line.split_whitespace().nth(2).map(str::to_owned))
    };
    assert_eq!(state(&kid).as_deref(), Some("active"), "{listed}");
    assert_eq!(state(&second).as_deref(), Some("published"), "{listed}");

    let app = Tessera::spawn({
        let mut command = tessera(dir.path());
        command
            .env("TESSERA_LISTEN", "127.0.0.1:0")
            .env("TESSERA_API_KEY", crate::common::app::OPERATOR_KEY);
        command
    });
    let base = app.listening_base();
    let body = operator_get_user(&base).await;
    let header = jwt_part(body["user_group"]["token"].as_str().unwrap(), 0);
    assert_eq!(header["kid"], kid.as_str());
    let busy = keys_cli(&["keys", "activate", &second]);
    assert_eq!(busy.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&busy.stderr).contains("/api/keys"));
}

/// SIGTERM while a request is in flight: the process stops accepting, the
/// request is answered, then the process exits 0.
#[tokio::test]
async fn sigterm_answers_the_request_in_flight_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tessera(dir.path());
    command.env("TESSERA_LISTEN", "127.0.0.1:0");
    let mut process = Tessera::spawn(command);
    let base = process.listening_base();
    assert_eq!(
        wait_status(&format!("{base}/readyz"), 200, Duration::from_secs(15)).await,
        200
    );
    let busy = InFlight::start(base.trim_start_matches("http://")).await;

    process.signal("TERM");
    let log = process.wait_stderr(Duration::from_secs(10), |log| log.contains("shutting down"));
    assert!(log.contains("shutting down"), "{log}");
    assert_eq!(
        process.wait_exit(Duration::from_millis(300)),
        None,
        "the process waits for the request in flight"
    );

    busy.finish().await;
    let status = process.wait_exit(Duration::from_secs(10));
    assert_eq!(
        status.and_then(|status| status.code()),
        Some(0),
        "{}",
        process.stderr()
    );
}
