//! Admin authentication of the get-user endpoint.

use chrono::Utc;
use reqwest::Method;
use serde_json::{Value, json};

use tessera::auth::{ApiKey, ApiKeyName, ApiKeyRecord, ApiKeyScope};

use crate::common::{RedisServer, spawn_app};

async fn stored_key(app: &crate::common::TestApp, name: &str) -> String {
    scoped_key(app, name, ApiKeyScope::Admin).await
}

/// A stored key of `scope`; its clear text.
pub async fn scoped_key(app: &crate::common::TestApp, name: &str, scope: ApiKeyScope) -> String {
    let key = ApiKey::generate().unwrap();
    let record = ApiKeyRecord {
        name: ApiKeyName::parse(name).unwrap(),
        hash: key.hash(),
        created_at: Utc::now(),
        scope,
    };
    app.state.store.insert_api_key(&record).await.unwrap();
    key.expose().to_owned()
}

fn assert_unauthorized(status: u16, body: &Value) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn missing_unknown_and_revoked_keys_are_refused() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let body = json!({"user_group_id": "g"});

    let (status, answer) = app.call(Method::POST, &body, None).await;
    assert_unauthorized(status, &answer);
    let (status, answer) = app
        .call(Method::POST, &body, Some("tsk_not_a_real_key"))
        .await;
    assert_unauthorized(status, &answer);

    let key = stored_key(&app, "backend").await;
    let (status, _) = app.call(Method::POST, &body, Some(&key)).await;
    assert_eq!(status, 200);

    // Revoked in the store, as `tessera api-keys revoke` or another
    // instance does: this instance stops admitting it within 2 s.
    let name = ApiKeyName::parse("backend").unwrap();
    assert!(app.state.store.revoke_api_key(&name).await.unwrap());
    let revoked_at = std::time::Instant::now();
    loop {
        let (status, answer) = app.call(Method::POST, &body, Some(&key)).await;
        if status == 401 {
            assert_unauthorized(status, &answer);
            break;
        }
        assert_eq!(status, 200, "{answer}");
        assert!(
            revoked_at.elapsed() < std::time::Duration::from_secs(2),
            "a revoked key still works 2 s later"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    eprintln!("revoked key refused after {:?}", revoked_at.elapsed());
    assert!(!app.state.store.revoke_api_key(&name).await.unwrap());

    // Only the group made with the valid key exists; keys are stored hashed.
    let dump = redis.cli(&["HGETALL", "tessera:api_keys"]);
    assert!(!dump.contains(&key));
}

#[tokio::test]
async fn bearer_scheme_and_www_authenticate() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let url = format!("{}/api/user", app.base);
    let response = app
        .client
        .post(&url)
        .header(
            "Authorization",
            format!("Bearer {}", crate::common::app::OPERATOR_KEY),
        )
        .json(&json!({"user_group_id": "g"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    for header in ["Basic abc", "Token", "Token ", "tsk_only"] {
        let response = app
            .client
            .post(&url)
            .header("Authorization", header)
            .json(&json!({"user_group_id": "g"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "{header}");
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Token realm="tessera""#
        );
    }
}

#[tokio::test]
async fn api_key_names_are_unique() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    stored_key(&app, "dup").await;
    let second = ApiKeyRecord {
        name: ApiKeyName::parse("dup").unwrap(),
        hash: ApiKey::generate().unwrap().hash(),
        created_at: Utc::now(),
        scope: ApiKeyScope::Admin,
    };
    let err = app.state.store.insert_api_key(&second).await.unwrap_err();
    assert!(
        matches!(err, tessera::store::StoreError::NameTaken(_)),
        "{err}"
    );
    assert_eq!(app.state.store.list_api_keys().await.unwrap().len(), 1);
}
