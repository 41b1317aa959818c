//! A real browser: headless Chromium loads a dashboard page served from
//! another origin, which validates tokens offline (jose against the JWKS)
//! and online (`fetch` of `/api/verify`). From an origin in
//! `--cors-origins` both work and give each token's verdict; from any
//! other origin the browser lets the page read neither answer. Needs
//! `node`, `npm` and `chromium` (`.ci/run` installs them).

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::Router;
use axum::extract::Path as UrlPath;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use tessera::api::CorsOrigins;

use crate::common::RedisServer;
use crate::common::app::{ISSUER, spawn_app_with};
use crate::common::clients::clients;

/// A static server for the page and the jose browser build; its origin.
async fn page_server(clients: &Path) -> String {
    let page = clients.join("browser");
    let jose = clients.join("node_modules/jose/dist/webapi");
    let file = |path: PathBuf, kind: &'static str| async move {
        match std::fs::read(&path) {
            Ok(bytes) => ([(header::CONTENT_TYPE, kind)], bytes).into_response(),
            Err(_) => StatusCode::NOT_FOUND.into_response(),
        }
    };
    let (html, script) = (page.join("page.html"), page.join("page.mjs"));
    let app = Router::new()
        .route("/", get(move || file(html.clone(), "text/html")))
        .route(
            "/page.mjs",
            get(move || file(script.clone(), "text/javascript")),
        )
        .route(
            "/jose/{*path}",
            get(move |UrlPath(path): UrlPath<String>| {
                let safe = !path.split('/').any(|part| part == ".." || part.is_empty());
                let target = jose.join(&path);
                async move {
                    if safe {
                        file(target, "text/javascript").await
                    } else {
                        StatusCode::NOT_FOUND.into_response()
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    origin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_an_allowed_origin_validates_tokens_and_others_cannot_read_answers() {
    let dir = clients();
    let allowed = page_server(&dir).await;
    let other = page_server(&dir).await;
    let redis = RedisServer::start();
    let cors = CorsOrigins::parse(&allowed).unwrap();
    let app = spawn_app_with(&redis.url(), |state| state.cors = cors).await;

    let (status, body) = app.get_user(&json!({"user_group_id": "g"})).await;
    assert_eq!(status, 200);
    let valid = body["user_group"]["token"].as_str().unwrap().to_owned();
    let (signed, signature) = valid.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{signed}.{flipped}{}", &signature[1..]);
    let expired = app.token_issued_at("g", -chrono::Duration::days(2)).await;
    let tokens = json!({"valid": valid, "tampered": tampered, "expired": expired});
    let page = |origin: &str| {
        let mut url = reqwest::Url::parse(origin).unwrap();
        url.query_pairs_mut()
            .append_pair("tessera", &app.base)
            .append_pair("issuer", ISSUER)
            .append_pair("tokens", &tokens.to_string());
        url.to_string()
    };
    let (from_allowed, from_other) = (page(&allowed), page(&other));
    let driver = dir.join("browser/drive.mjs");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(driver)
            .args([from_allowed, from_other])
            .output()
            .expect("node must be installed to run the browser test")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pages: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    println!("what each page saw: {pages:?}");
    assert_eq!(
        pages[0],
        json!({
            "valid": {"offline": "valid:g", "online": "200:valid"},
            "tampered": {
                "offline": "error:ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
                "online": "401:token_signature_invalid"
            },
            "expired": {"offline": "error:ERR_JWT_EXPIRED", "online": "401:token_expired"}
        }),
        "from the allowed origin"
    );
    // From another origin the browser blocks both reads (a network error
    // to the page: TypeError), whatever the token.
    for (name, verdicts) in pages[1].as_object().unwrap() {
        assert_eq!(
            verdicts["offline"], "error:TypeError",
            "{name}: the JWKS was read"
        );
        assert_eq!(verdicts["online"], "blocked:TypeError", "{name}");
    }
}
