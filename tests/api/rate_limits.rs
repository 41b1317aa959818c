//! Rate limits: per admin API key on admin routes, per client address on
//! the renderer and browser routes; a refused request gets `429` with
//! `Retry-After` and `RateLimit-*`; other keys and addresses are not
//! affected; `0` turns a limit off.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use tower::ServiceExt as _;

use tessera::api::{Rate, RateLimits, parse_trusted_proxies};

use crate::auth::scoped_key;
use crate::common::app::{OPERATOR_KEY, test_state};
use crate::common::{RedisServer, spawn_app};

fn rate(text: &str) -> Option<Rate> {
    Rate::parse(text).unwrap()
}

async fn send(app: &axum::Router, request: Request<Body>) -> (u16, HeaderMap) {
    let response = app.clone().oneshot(request).await.unwrap();
    (response.status().as_u16(), response.headers().clone())
}

fn admin_call(key: &str) -> Request<Body> {
    Request::get("/api/users")
        .header("Authorization", format!("Token {key}"))
        .body(Body::empty())
        .unwrap()
}

fn verify_from(peer: &str, forwarded: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/api/verify");
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    let mut request = request.body(Body::empty()).unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

fn assert_limited(status: u16, headers: &HeaderMap, limit: &str) {
    assert_eq!(status, 429);
    for name in ["retry-after", "ratelimit-reset"] {
        let secs: u64 = headers[name].to_str().unwrap().parse().unwrap();
        assert!((1..=2).contains(&secs), "{name}: {secs}");
    }
    assert_eq!(headers["ratelimit-limit"], limit);
    assert_eq!(headers["ratelimit-remaining"], "0");
}

#[tokio::test]
async fn each_admin_key_has_its_own_budget() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let other = scoped_key(&app, "second", tessera::auth::ApiKeyScope::Admin).await;
    let mut state = app.state.clone();
    // 1 per second, 3 at once.
    state.limits = Arc::new(RateLimits::new(rate("1/s:3"), None, vec![]));
    let router = tessera::router(state);
    for _ in 0..3 {
        assert_eq!(send(&router, admin_call(OPERATOR_KEY)).await.0, 200);
    }
    let (status, headers) = send(&router, admin_call(OPERATOR_KEY)).await;
    assert_limited(status, &headers, "3");
    assert_eq!(
        send(&router, admin_call(&other)).await.0,
        200,
        "another key"
    );
}

#[tokio::test]
async fn each_client_address_has_its_own_budget_and_zero_means_none() {
    let redis = RedisServer::start();
    let (mut state, _keys) = test_state(&redis.url());
    state.limits = Arc::new(RateLimits::new(
        None,
        rate("1/s:3"),
        parse_trusted_proxies("127.0.0.1").unwrap(),
    ));
    let router = tessera::router(state.clone());
    // No token: 401 (the request was admitted and judged).
    for _ in 0..3 {
        assert_eq!(
            send(&router, verify_from("192.0.2.1:4000", None)).await.0,
            401
        );
    }
    let (status, headers) = send(&router, verify_from("192.0.2.1:4001", None)).await;
    assert_limited(status, &headers, "3");
    assert_eq!(
        send(&router, verify_from("192.0.2.2:4000", None)).await.0,
        401,
        "another address"
    );
    // Behind the trusted proxy, each forwarded client counts apart; an
    // untrusted peer's X-Forwarded-For is not believed.
    for client in ["198.51.100.1", "198.51.100.2"] {
        for _ in 0..3 {
            let request = verify_from("127.0.0.1:5000", Some(client));
            assert_eq!(send(&router, request).await.0, 401, "{client}");
        }
    }
    let spoofed = verify_from("192.0.2.1:4002", Some("198.51.100.3"));
    assert_eq!(send(&router, spoofed).await.0, 429, "still 192.0.2.1");

    state.limits = Arc::new(RateLimits::new(None, rate("0"), vec![]));
    let unlimited = tessera::router(state);
    for _ in 0..50 {
        assert_eq!(
            send(&unlimited, verify_from("192.0.2.1:4000", None))
                .await
                .0,
            401
        );
    }
}
