//! The JWKS client of the middleware and of `tessera token verify --jwks`:
//! bounded reads while streaming, no redirect to another origin, and a
//! failed fetch reported as `keys_unavailable`, never as an unknown key.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tessera::middleware::{KeySource, RendererAuth, RendererAuthConfig};

use crate::common::app::verify_policy;
use crate::common::{RedisServer, spawn_app};

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn auth_for(url: String) -> RendererAuth {
    RendererAuth::new(RendererAuthConfig::new(
        KeySource::JwksUrl(url),
        verify_policy(),
    ))
    .await
    .unwrap()
}

#[tokio::test]
async fn a_huge_chunked_jwks_is_cut_at_one_mebibyte_while_streaming() {
    // A body of up to 400 MB, chunked (no Content-Length), made lazily.
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let app = Router::new().route(
        "/jwks.json",
        get(move || {
            let counter = counter.clone();
            async move {
                let chunk = Bytes::from(vec![b' '; 64 * 1024]);
                let stream = futures::stream::iter(0..6400).map(move |_| {
                    counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    Ok::<_, std::io::Error>(chunk.clone())
                });
                Body::from_stream(stream)
            }
        }),
    );
    let base = serve(app).await;
    let auth = auth_for(format!("{base}/jwks.json")).await;
    let redis = RedisServer::start();
    let issuer = spawn_app(&redis.url()).await;
    let (_, body) = issuer
        .get_user(&serde_json::json!({"user_group_id": "g"}))
        .await;
    let token = body["user_group"]["token"].as_str().unwrap();
    let err = auth.verify(token).await.err().unwrap();
    let message = err.to_string();
    assert!(message.contains("larger than 1 MiB"), "{message}");
    let read = sent.load(Ordering::Relaxed);
    assert!(read < 16 * 1024 * 1024, "read {read} bytes of the body");
}

use futures::StreamExt as _;

#[tokio::test]
async fn redirects_stay_within_the_origin() {
    let redis = RedisServer::start();
    let issuer = spawn_app(&redis.url()).await;
    let jwks_url = format!("{}/.well-known/jwks.json", issuer.base);
    let (_, body) = issuer
        .get_user(&serde_json::json!({"user_group_id": "g"}))
        .await;
    let token = body["user_group"]["token"].as_str().unwrap().to_owned();

    // Another origin (another port) serving the real JWKS: never asked.
    let foreign_hits = Arc::new(AtomicUsize::new(0));
    let hits = foreign_hits.clone();
    let target = jwks_url.clone();
    let foreign = serve(Router::new().route(
        "/jwks.json",
        get(move || {
            hits.fetch_add(1, Ordering::Relaxed);
            let target = target.clone();
            async move { reqwest::get(target).await.unwrap().text().await.unwrap() }
        }),
    ))
    .await;
    let foreign_url = format!("{foreign}/jwks.json");
    let same = Router::new()
        .route(
            "/away",
            get(move || async move { Redirect::temporary(&foreign_url) }),
        )
        .route("/here", get(|| async { Redirect::temporary("/jwks.json") }))
        .route(
            "/jwks.json",
            get(move || {
                let url = jwks_url.clone();
                async move {
                    let text = reqwest::get(url).await.unwrap().text().await.unwrap();
                    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
                }
            }),
        );
    let base = serve(same).await;

    let away = auth_for(format!("{base}/away")).await;
    let err = away.verify(&token).await.err().unwrap().to_string();
    assert!(err.contains("another origin"), "{err}");
    assert_eq!(foreign_hits.load(Ordering::Relaxed), 0);

    let here = auth_for(format!("{base}/here")).await;
    assert!(
        here.verify(&token).await.is_ok(),
        "a same-origin redirect is followed"
    );
}

#[tokio::test]
async fn a_failed_fetch_is_keys_unavailable_not_an_unknown_key() {
    let redis = RedisServer::start();
    let issuer = spawn_app(&redis.url()).await;
    let (_, body) = issuer
        .get_user(&serde_json::json!({"user_group_id": "g"}))
        .await;
    let token = body["user_group"]["token"].as_str().unwrap().to_owned();
    let down = serve(Router::new().route(
        "/jwks.json",
        get(|| async {
            Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::empty())
                .unwrap()
        }),
    ))
    .await;
    let auth = auth_for(format!("{down}/jwks.json")).await;
    let err = auth.verify(&token).await.err().unwrap();
    assert_eq!(err.code(), "keys_unavailable");
    assert_eq!(err.status(), 503);

    // The command line says the same, with exit code 1.
    let url = format!("{down}/jwks.json");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args([
                "token",
                "verify",
                "--issuer",
                crate::common::app::ISSUER,
                "--jwks",
            ])
            .arg(url)
            .arg(&token)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("keys_unavailable"), "{stderr}");
    assert!(stderr.contains("502"), "{stderr}");
}
