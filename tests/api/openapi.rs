//! The published OpenAPI description: served at `/openapi.json`, checked
//! in as `docs/openapi.json` (regenerate with
//! `TESSERA_WRITE_OPENAPI=1 cargo test --test api openapi`), OpenAPI 3.1,
//! with every route, both security schemes and every error code.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::common::RedisServer;
use crate::common::app::test_state;

#[tokio::test]
async fn the_served_description_is_the_checked_in_one() {
    let redis = RedisServer::start();
    let (state, _keys) = test_state(&redis.url());
    let response = tessera::router(state)
        .oneshot(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let served: Value = serde_json::from_slice(&bytes).unwrap();

    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    if std::env::var_os("TESSERA_WRITE_OPENAPI").is_some() {
        let text = serde_json::to_string_pretty(&served).unwrap();
        std::fs::write(&file, format!("{text}\n")).unwrap();
    }
    let checked_in: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(
        served == checked_in,
        "docs/openapi.json is out of date: TESSERA_WRITE_OPENAPI=1 cargo test --test api openapi"
    );

    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = served["paths"].as_object().unwrap();
    for route in [
        "/api/user",
        "/api/user/{user_group_id}",
        "/api/user/{user_group_id}/revoke",
        "/api/users",
        "/api/users/export",
        "/api/verify",
        "/api/sql/resolve",
        "/.well-known/jwks.json",
        "/api/keys",
        "/api/keys/{kid}/activate",
        "/api/keys/{kid}/retire",
        "/api/revocations",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(route), "{route} is not described");
    }
    let schemes = served["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("admin_key") && schemes.contains_key("user_group_token"));
    let codes: Vec<&str> =
        served["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|code| code.as_str().unwrap())
            .collect();
    let all: Vec<&str> = tessera::error::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(codes, all);
}
