//! CORS: only `POST /api/verify` and `GET /.well-known/jwks.json` (and
//! their preflights) answer browsers, and only for the configured origins;
//! admin routes never carry CORS headers, even with `*`.

use axum::body::Body;
use axum::http::{HeaderMap, Request, header};
use tessera::api::CorsOrigins;
use tower::ServiceExt as _;

use crate::common::RedisServer;
use crate::common::app::{OPERATOR_KEY, test_state};

const ALLOWED: &str = "https://dashboards.example.com";
const OTHER: &str = "https://evil.example.net";

async fn headers(app: &axum::Router, request: Request<Body>) -> (u16, HeaderMap) {
    let response = app.clone().oneshot(request).await.unwrap();
    (response.status().as_u16(), response.headers().clone())
}

fn preflight(path: &str, origin: &str, method: &str) -> Request<Body> {
    Request::options(path)
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, method)
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,content-type",
        )
        .body(Body::empty())
        .unwrap()
}

fn simple(method: &str, path: &str, origin: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::ORIGIN, origin)
        .header(header::AUTHORIZATION, format!("Token {OPERATOR_KEY}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"user_group_id": "g"}"#))
        .unwrap()
}

fn allow_origin(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|value| value.to_str().unwrap())
}

fn app(redis: &RedisServer, cors: CorsOrigins) -> axum::Router {
    let (mut state, keys) = test_state(&redis.url());
    std::mem::forget(keys);
    state.cors = cors;
    tessera::router(state)
}

const BROWSER_ROUTES: [(&str, &str); 3] = [
    ("POST", "/api/verify"),
    ("POST", "/api/token/refresh"),
    ("GET", "/.well-known/jwks.json"),
];

const ADMIN_ROUTES: [(&str, &str); 7] = [
    ("POST", "/api/user"),
    ("GET", "/api/user"),
    ("GET", "/api/users"),
    ("GET", "/api/keys"),
    ("POST", "/api/keys"),
    ("POST", "/api/user/g/revoke"),
    ("DELETE", "/api/user/g"),
];

#[tokio::test]
async fn allowed_origins_get_cors_on_the_browser_routes_only() {
    let redis = RedisServer::start();
    let app = app(&redis, CorsOrigins::parse(ALLOWED).unwrap());
    for (method, path) in BROWSER_ROUTES {
        let (status, got) = headers(&app, preflight(path, ALLOWED, method)).await;
        assert_eq!(status, 200, "{method} {path}");
        assert_eq!(allow_origin(&got), Some(ALLOWED), "{method} {path}");
        let allowed_headers = got[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap();
        assert!(
            allowed_headers.contains("authorization"),
            "{allowed_headers}"
        );
        assert!(
            allowed_headers.contains("content-type"),
            "{allowed_headers}"
        );
        assert_eq!(got[header::ACCESS_CONTROL_MAX_AGE], "600");
        assert!(
            got.get_all(header::VARY)
                .iter()
                .any(|v| v.to_str().unwrap().contains("origin"))
        );

        let (_, got) = headers(&app, simple(method, path, ALLOWED)).await;
        assert_eq!(allow_origin(&got), Some(ALLOWED), "{method} {path}");
        assert!(
            got.get_all(header::VARY)
                .iter()
                .any(|v| v.to_str().unwrap().contains("origin"))
        );

        // Another origin: no permission to read the answer.
        let (_, got) = headers(&app, preflight(path, OTHER, method)).await;
        assert_eq!(allow_origin(&got), None, "{method} {path}");
        let (_, got) = headers(&app, simple(method, path, OTHER)).await;
        assert_eq!(allow_origin(&got), None, "{method} {path}");
    }
    for (method, path) in ADMIN_ROUTES {
        let (_, got) = headers(&app, preflight(path, ALLOWED, method)).await;
        assert_eq!(allow_origin(&got), None, "{method} {path}");
        let (_, got) = headers(&app, simple(method, path, ALLOWED)).await;
        assert_eq!(allow_origin(&got), None, "{method} {path}");
    }
}

#[tokio::test]
async fn any_origin_still_never_reaches_admin_routes_and_off_means_none() {
    let redis = RedisServer::start();
    let any = app(&redis, CorsOrigins::Any);
    for (method, path) in BROWSER_ROUTES {
        let (_, got) = headers(&any, simple(method, path, OTHER)).await;
        assert_eq!(allow_origin(&got), Some(OTHER), "{method} {path}");
    }
    for (method, path) in ADMIN_ROUTES {
        for request in [preflight(path, OTHER, method), simple(method, path, OTHER)] {
            let (_, got) = headers(&any, request).await;
            assert_eq!(allow_origin(&got), None, "{method} {path}");
        }
    }
    let off = app(&redis, CorsOrigins::Off);
    for (method, path) in BROWSER_ROUTES.iter().chain(ADMIN_ROUTES.iter()) {
        let (_, got) = headers(&off, simple(method, path, ALLOWED)).await;
        assert_eq!(allow_origin(&got), None, "{method} {path}");
    }
}
