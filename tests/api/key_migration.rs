//! An installation of an earlier version (keys in `keys/keyring.json` and
//! `*.key`) upgraded on each backend: its keys move into the store's ring
//! once, sealed, with their kids and the active key kept, so tokens issued
//! before the upgrade keep verifying; afterwards the files are not read.
//! The store then holds no private key material in clear, whatever the
//! algorithm.

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use tessera::clock::{Clock, SystemClock};
use tessera::domain::{GroupId, GroupRecord, GroupUpsert, TeamId};
use tessera::token::{KeyAlgorithm, KeyRing, TokenIssuer};

use crate::common::RedisServer;
use crate::common::app::{ISSUER, OPERATOR_KEY, jwt_part, operator_call, policy, verify_code};
use crate::common::process::{Tessera, tessera, wait_status};

/// A keys directory as an earlier version left it: EdDSA, ES256, RS256,
/// then HS256 (active). Returns a token signed by the EdDSA key while it
/// was active, one signed by the HS256 key, and every key file's text.
fn legacy_keys(dir: &Path) -> (String, String, Vec<String>) {
    let now = SystemClock.now();
    let group = GroupRecord::create(
        TeamId::new(1).unwrap(),
        &GroupUpsert {
            id: GroupId::parse("g").unwrap(),
            name: None,
            mapping: None,
            properties: None,
        },
        now,
    );
    let sign = |ring: &KeyRing| {
        TokenIssuer::new(ring, &policy())
            .issue(&group, None, now)
            .unwrap()
            .token
    };
    KeyRing::generate(dir, KeyAlgorithm::EdDSA, now).unwrap();
    let by_eddsa = sign(&KeyRing::load(dir).unwrap());
    for alg in [
        KeyAlgorithm::ES256,
        KeyAlgorithm::RS256,
        KeyAlgorithm::HS256,
    ] {
        KeyRing::generate(dir, alg, now).unwrap();
    }
    let by_hmac = sign(&KeyRing::load(dir).unwrap());
    let texts = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "key"))
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect::<Vec<_>>();
    assert_eq!(texts.len(), 4);
    (by_eddsa, by_hmac, texts)
}

/// Fails if any 16-character run of any key file's body is in `dump`.
fn assert_no_private_material(dump: &str, texts: &[String]) {
    assert!(!dump.contains("PRIVATE KEY"));
    for text in texts {
        let body: String = text
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        assert!(body.len() >= 32);
        for start in (0..=body.len() - 16).step_by(8) {
            assert!(
                !dump.contains(&body[start..start + 16]),
                "key material in clear in the store: {}",
                &body[start..start + 16]
            );
        }
    }
}

fn start(dir: &Path, store: &[(&str, String)]) -> Tessera {
    let mut command = tessera(dir);
    command
        .envs(store.iter().map(|(name, value)| (*name, value.as_str())))
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_ISSUER", ISSUER)
        .env("TESSERA_API_KEY", OPERATOR_KEY)
        // Tokens made above belong to no stored group; this test is about keys.
        .env("TESSERA_VERIFY_CHECK_STORE", "false");
    Tessera::spawn(command)
}

/// Upgrades a legacy installation in `dir` on `store`; `dump` returns the
/// whole store as text.
async fn upgrade(dir: &Path, store: &[(&str, String)], dump: impl Fn() -> String) {
    let keys = dir.join("keys");
    let (by_eddsa, by_hmac, texts) = legacy_keys(&keys);
    let (eddsa_kid, hmac_kid) = (
        jwt_part(&by_eddsa, 0)["kid"].clone(),
        jwt_part(&by_hmac, 0)["kid"].clone(),
    );

    let mut first = start(dir, store);
    let base = first.listening_base();
    assert_eq!(
        wait_status(&format!("{base}/readyz"), 200, Duration::from_secs(15)).await,
        200
    );
    let log = first.stderr();
    assert_eq!(
        log.matches("imported the keys directory").count(),
        1,
        "{log}"
    );
    assert_eq!(
        verify_code(&base, &by_eddsa).await,
        (200, None),
        "issued before the upgrade"
    );
    assert_eq!(verify_code(&base, &by_hmac).await, (200, None));
    let (status, body) = operator_call(
        &base,
        reqwest::Method::POST,
        "/api/user",
        Some(json!({"user_group_id": "g"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        jwt_part(body["user_group"]["token"].as_str().unwrap(), 0)["kid"],
        hmac_kid,
        "the active key keeps signing"
    );
    let (_, listed) = operator_call(&base, reqwest::Method::GET, "/api/keys", None).await;
    let states: Vec<&str> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["published", "published", "published", "active"],
        "{listed}"
    );

    assert_no_private_material(&dump(), &texts);

    // The retired-to-be key, retired: its tokens stop verifying.
    let path = format!("/api/keys/{}/retire", eddsa_kid.as_str().unwrap());
    assert_eq!(
        operator_call(&base, reqwest::Method::POST, &path, None)
            .await
            .0,
        200
    );
    assert_eq!(
        verify_code(&base, &by_eddsa).await,
        (401, Some("token_unknown_key".to_owned()))
    );
    assert!(first.terminate().success());

    // The key files are not read again: delete them (not the KEK).
    for entry in std::fs::read_dir(&keys).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|name| name != "kek") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let second = start(dir, store);
    let base = second.listening_base();
    assert_eq!(
        wait_status(&format!("{base}/readyz"), 200, Duration::from_secs(15)).await,
        200
    );
    assert!(!second.stderr().contains("imported"), "{}", second.stderr());
    assert_eq!(verify_code(&base, &by_hmac).await, (200, None));
    assert_no_private_material(&dump(), &texts);
}

#[tokio::test]
async fn a_keys_directory_moves_into_redis_sealed() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let dump = || {
        let mut all = String::new();
        for key in redis.cli(&["--scan"]).lines() {
            let value = match redis.cli(&["TYPE", key]).as_str() {
                "string" => redis.cli(&["GET", key]),
                "hash" => redis.cli(&["HGETALL", key]),
                "zset" => redis.cli(&["ZRANGE", key, "0", "-1", "WITHSCORES"]),
                "stream" => redis.cli(&["XRANGE", key, "-", "+"]),
                "set" => redis.cli(&["SMEMBERS", key]),
                other => panic!("unexpected type {other} of {key}"),
            };
            all.push_str(key);
            all.push_str(&value);
        }
        assert!(all.contains("keyring"), "the ring is in the dump");
        all
    };
    upgrade(dir.path(), &[("TESSERA_REDIS_URL", redis.url())], dump).await;
}

#[tokio::test]
async fn a_keys_directory_moves_into_the_embedded_store_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let dump = || {
        let mut all = String::new();
        for entry in std::fs::read_dir(&data).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            all.push_str(&String::from_utf8_lossy(&bytes));
        }
        assert!(all.contains("eddsa-"), "the ring is in the dump");
        all
    };
    upgrade(dir.path(), &[], dump).await;
}
