//! `/api/verify`, the JWKS endpoint, and revocation through delete and
//! revoke, against a real Redis.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{RedisServer, TestApp, spawn_app};

async fn token_for(app: &TestApp, id: &str) -> (String, Value) {
    let (status, body) = app
        .get_user(&json!({"user_group_id": id, "name": "Example 1", "mapping": {"40": "213"}, "properties": {"filterValue": "value"}}))
        .await;
    assert_eq!(status, 200, "{body}");
    (
        body["user_group"]["token"].as_str().unwrap().to_owned(),
        body,
    )
}

async fn verify_body(app: &TestApp, body: Value) -> (u16, Value, reqwest::header::HeaderMap) {
    let response = app
        .client
        .post(format!("{}/api/verify", app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.json().await.unwrap(), headers)
}

#[tokio::test]
async fn a_fresh_token_verifies_with_its_group_and_variables() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let (token, issued) = token_for(&app, "example_1").await;

    for (status, body) in [
        {
            let (s, b, _) = verify_body(&app, json!({"token": token})).await;
            (s, b)
        },
        app.verify(&token).await,
    ] {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["success"], 1);
        assert_eq!(body["valid"], true);
        let group = &body["user_group"];
        assert_eq!(group["team_id"], issued["user_group"]["team_id"]);
        assert_eq!(group["provided_id"], "example_1");
        assert_eq!(group["name"], "Example 1");
        assert_eq!(group["mapping"], json!({"40": "213"}));
        assert_eq!(group["properties"], json!({"filterValue": "value"}));
        assert_eq!(
            body["variables"],
            json!({"filterValue": "value", "user_group_id": "example_1", "user_group_name": "Example 1", "team_id": issued["user_group"]["team_id"]})
        );
        assert_eq!(body["expires_at"], issued["user_group"]["expires_at"]);
    }
}

#[tokio::test]
async fn bad_tokens_get_401_with_their_code() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let (token, _) = token_for(&app, "g").await;
    let (head, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let flipped_sig = format!(
        "{head}.{payload}.{}{}",
        if signature.starts_with('A') { "B" } else { "A" },
        &signature[1..]
    );
    let none_header = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        r#"{"alg":"none","typ":"JWT"}"#,
    );
    for (what, bad, code) in [
        ("garbage", "not-a-jwt".to_owned(), "token_malformed"),
        (
            "two segments",
            format!("{head}.{payload}"),
            "token_malformed",
        ),
        ("flipped signature", flipped_sig, "token_signature_invalid"),
        (
            "alg none",
            format!("{none_header}.{payload}.{signature}"),
            "token_unknown_key",
        ),
        ("huge", "a".repeat(20_000), "token_malformed"),
    ] {
        let (status, body, headers) = verify_body(&app, json!({"token": bad})).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["success"], 0);
        assert_eq!(body["valid"], false);
        assert_eq!(body["error"]["code"], code, "{what}");
        assert_eq!(
            headers["www-authenticate"],
            r#"Bearer error="invalid_token""#
        );
    }
    let (status, body, _) = verify_body(&app, json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("token_malformed"))
    );
    let (status, body, _) = verify_body(&app, json!({"token": token, "extra": 1})).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("extra"))
    );
    let (status, _, _) = verify_body(&app, json!({"token": 5})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn jwks_lists_public_keys_with_cache_control() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let response = app
        .client
        .get(format!("{}/.well-known/jwks.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let document: Value = response.json().await.unwrap();
    let keys = document["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    let current = app.state.keys.current().unwrap();
    assert_eq!(key["kid"], current.active().0.kid.as_str());
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str(),
            key["use"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"), Some("sig"))
    );
    assert!(key.get("d").is_none());
}

#[tokio::test]
async fn revoke_ends_earlier_tokens_of_that_group_only() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let (old, _) = token_for(&app, "tenant a").await;
    let (other, _) = token_for(&app, "tenant-b").await;

    let (status, body) = app
        .admin(reqwest::Method::POST, "/api/user/tenant%20a/revoke")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_group"]["gen"], 2);

    let (status, body) = app.verify(&old).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("token_revoked"))
    );
    assert_eq!(
        app.verify(&other).await.0,
        200,
        "other groups are untouched"
    );
    let (fresh, issued) = token_for(&app, "tenant a").await;
    assert_eq!(crate::common::app::jwt_part(&fresh, 1)["gen"], 2);
    assert_eq!(issued["new_user_group"], false);
    assert_eq!(app.verify(&fresh).await.0, 200);

    let (status, body) = app
        .admin(reqwest::Method::POST, "/api/user/nobody/revoke")
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

#[tokio::test]
async fn delete_ends_tokens_and_a_recreated_group_gets_a_new_team_id() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let (old, first) = token_for(&app, "g/1").await;
    let (other, _) = token_for(&app, "g2").await;

    let (status, body) = app.admin(reqwest::Method::DELETE, "/api/user/g%2F1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deleted"], true);
    let (status, body) = app.verify(&old).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("token_revoked"))
    );
    assert_eq!(app.verify(&other).await.0, 200);

    let (_, again) = token_for(&app, "g/1").await;
    assert_eq!(again["new_user_group"], true);
    assert_ne!(
        again["user_group"]["team_id"],
        first["user_group"]["team_id"]
    );
    let (status, _) = app.verify(&old).await;
    assert_eq!(status, 401, "the old token stays invalid after re-creation");

    let (status, _) = app
        .admin(reqwest::Method::DELETE, "/api/user/unknown")
        .await;
    assert_eq!(status, 404);
    let response = app
        .client
        .delete(format!("{}/api/user/g2", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401, "delete needs admin auth");
    let response = app
        .client
        .post(format!("{}/api/user/g2/revoke", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401, "revoke needs admin auth");
}

#[tokio::test]
async fn the_store_check_never_passes_silently_when_the_store_is_down() {
    let mut redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let (token, _) = token_for(&app, "g").await;
    redis.kill();
    let (status, body, headers) = verify_body(&app, json!({"token": token})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("store_unavailable"))
    );
    assert_eq!(headers["retry-after"], "1");
}

#[tokio::test]
async fn without_the_store_check_verification_needs_no_store() {
    let mut redis = RedisServer::start();
    let app = crate::common::app::spawn_app_with(&redis.url(), |state| {
        state.verify_check_store = false;
    })
    .await;
    let (token, _) = token_for(&app, "g").await;
    redis.kill();
    let (status, body) = app.verify(&token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["valid"], true);
}

#[tokio::test]
async fn restoring_an_export_after_a_revoke_or_delete_never_revives_old_tokens() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let store = app.state.store.clone();
    for (group, delete) in [
        ("revoked-then-restored", false),
        ("deleted-then-restored", true),
    ] {
        let (old_token, _) = token_for(&app, group).await;
        let id = tessera::domain::GroupId::parse(group).unwrap();
        let export = store.get(&id).await.unwrap().unwrap();
        let (method, path) = if delete {
            (reqwest::Method::DELETE, format!("/api/user/{group}"))
        } else {
            (reqwest::Method::POST, format!("/api/user/{group}/revoke"))
        };
        assert_eq!(app.admin(method, &path).await.0, 200, "{path}");
        store
            .import(std::slice::from_ref(&export), true)
            .await
            .unwrap();
        let (status, body) = app.verify(&old_token).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("token_revoked")),
            "{group}"
        );
        // The restored group issues tokens that verify.
        let (new_token, _) = token_for(&app, group).await;
        assert_eq!(app.verify(&new_token).await.0, 200, "{group}");
    }
}

/// A repeated token is answered from the verified-token cache, which never
/// skips the store check, never outlives the token's `exp` and never
/// survives a key change.
#[tokio::test]
async fn the_verified_token_cache_keeps_every_check_that_can_change() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let redis = RedisServer::start();
    let app = crate::common::app::spawn_app_with(&redis.url(), |state| {
        let mut tokens = crate::common::app::policy();
        tokens.verify.leeway = Duration::ZERO;
        state.tokens = Arc::new(tokens);
    })
    .await;
    let code =
        |(status, body): (u16, Value)| (status, body["error"]["code"].as_str().map(str::to_owned));

    // Revoked after it was cached: refused.
    let (token, _) = token_for(&app, "r").await;
    assert_eq!(code(app.verify(&token).await), (200, None));
    assert_eq!(code(app.verify(&token).await), (200, None));
    assert_eq!(
        app.admin(reqwest::Method::POST, "/api/user/r/revoke")
            .await
            .0,
        200
    );
    assert_eq!(
        code(app.verify(&token).await),
        (401, Some("token_revoked".into()))
    );

    // Expiring in a second: refused once expired, cached or not.
    let (status, body) = app
        .get_user(&json!({"user_group_id": "e", "expires_in": 1}))
        .await;
    assert_eq!(status, 200, "{body}");
    let short = body["user_group"]["token"].as_str().unwrap().to_owned();
    assert_eq!(code(app.verify(&short).await), (200, None));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match code(app.verify(&short).await) {
            (200, None) => assert!(Instant::now() < deadline, "still valid"),
            other => {
                assert_eq!(other, (401, Some("token_expired".into())));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The keys change: a cached token of a key no longer held is refused.
    let (token, _) = token_for(&app, "k").await;
    assert_eq!(code(app.verify(&token).await), (200, None));
    let dir = tempfile::tempdir().unwrap();
    let (other_ring, _) =
        tessera::token::KeyRing::load_or_init(dir.path(), chrono::Utc::now()).unwrap();
    app.state.keys.replace(other_ring);
    assert_eq!(
        code(app.verify(&token).await),
        (401, Some("token_unknown_key".into()))
    );
}
