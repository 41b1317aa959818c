//! An independent, non-Rust client: Node's `jose` library verifies a token
//! from `/api/user` against the service's JWKS endpoint (the example of
//! docs/verification.md). Needs `node` and `npm`; copies `tests/clients`
//! into the build's temporary directory (under `target/`) and installs
//! `jose` there on first run, so the source tree is never written.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use tessera::token::{KeyAlgorithm, KeyRing};

use crate::common::app::{AUDIENCE, ISSUER};
use crate::common::{RedisServer, spawn_app};

/// Where the client runs: `target/tmp/clients`.
fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("clients")
}

fn ensure_jose() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
    let dir = clients_dir();
    std::fs::create_dir_all(&dir).expect("create the clients directory");
    for file in ["package.json", "package-lock.json", "verify.mjs"] {
        std::fs::copy(source.join(file), dir.join(file)).expect("copy the client");
    }
    if dir.join("node_modules/jose/package.json").exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .expect("npm must be installed to run the independent-client test");
    assert!(status.success(), "npm install in {} failed", dir.display());
}

fn jose_verify(jwks_url: &str, token: &str) -> Result<Value, String> {
    let output = Command::new("node")
        .arg(clients_dir().join("verify.mjs"))
        .args([jwks_url, token, ISSUER, AUDIENCE])
        .output()
        .expect("node must be installed to run the independent-client test");
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).expect("jose printed JSON"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jose_verifies_our_tokens_against_the_jwks_endpoint() {
    ensure_jose();
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let jwks_url = format!("{}/.well-known/jwks.json", app.base);

    for alg in [None, Some(KeyAlgorithm::ES256), Some(KeyAlgorithm::RS256)] {
        if let Some(alg) = alg {
            KeyRing::generate(app.keys_dir.path(), alg, chrono::Utc::now()).unwrap();
            app.state
                .keys
                .replace(KeyRing::load(app.keys_dir.path()).unwrap());
        }
        let (status, body) = app
            .get_user(
                &json!({"user_group_id": "example_1", "properties": {"filterValue": "value"}}),
            )
            .await;
        assert_eq!(status, 200);
        let token = body["user_group"]["token"].as_str().unwrap();
        let verified = jose_verify(&jwks_url, token).unwrap_or_else(|err| panic!("{alg:?}: {err}"));
        let expected_alg = alg.map_or("EdDSA", KeyAlgorithm::as_str);
        assert_eq!(verified["header"]["alg"], expected_alg);
        assert_eq!(verified["payload"]["sub"], "example_1");
        assert_eq!(verified["payload"]["properties"]["filterValue"], "value");

        let (signed, signature) = token.rsplit_once('.').unwrap();
        let swapped = if signature.starts_with('A') { 'B' } else { 'A' };
        let tampered = format!("{signed}.{swapped}{}", &signature[1..]);
        assert!(
            jose_verify(&jwks_url, &tampered).is_err(),
            "{alg:?}: jose accepted a tampered token"
        );
    }
}
