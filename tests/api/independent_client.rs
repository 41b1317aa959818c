//! An independent, non-Rust client: Node's `jose` library verifies a token
//! from `/api/user` against the service's JWKS endpoint (the example of
//! docs/verification.md). Needs `node` and `npm` (see `common::clients`).

use std::process::Command;

use serde_json::{Value, json};
use tessera::token::{KeyAlgorithm, KeyRing};

use crate::common::app::{AUDIENCE, ISSUER};
use crate::common::clients::clients;
use crate::common::{RedisServer, spawn_app};

fn jose_verify(jwks_url: &str, token: &str) -> Result<Value, String> {
    let output = Command::new("node")
        .arg(clients().join("verify.mjs"))
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
    clients();
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
