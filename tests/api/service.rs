//! Service basics through `oneshot` on the router: probes, unknown routes,
//! methods, and error envelopes.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::common::RedisServer;
use crate::common::app::test_state;

async fn send(app: axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn probes() {
    let mut redis = RedisServer::start();
    let (state, _keys) = test_state(&redis.url());
    let app = tessera::router(state);

    let (status, body) = send(app.clone(), get("/healthz")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let response = app.clone().oneshot(get("/healthz")).await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("x-request-id"));
    let (status, body) = send(app.clone(), get("/readyz")).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );

    redis.kill();
    let (status, body) = send(app.clone(), get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "store_unavailable");
    let (status, _) = send(app, get("/healthz")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "liveness does not depend on the store"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_use_the_envelope() {
    let redis = RedisServer::start();
    let (state, _keys) = test_state(&redis.url());
    let app = tessera::router(state);

    let (status, body) = send(app.clone(), get("/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");

    let request = Request::delete("/api/user").body(Body::empty()).unwrap();
    let (status, body) = send(app, request).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn auth_is_checked_before_the_body() {
    let redis = RedisServer::start();
    let (state, _keys) = test_state(&redis.url());
    let request = Request::post("/api/user")
        .header("content-type", "text/plain")
        .body(Body::from("not json"))
        .unwrap();
    let (status, body) = send(tessera::router(state), request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
}
