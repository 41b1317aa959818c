//! Request ids and what operators read: an `x-request-id` kept when sane and
//! replaced otherwise, echoed and put in error bodies; JSON log lines that
//! carry it; a store outage logged once; a debug line per answer;
//! `/readyz` while draining.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::common::RedisServer;
use crate::common::app::{OPERATOR_KEY, test_state};
use crate::common::process::{Tessera, tessera, wait_status};

async fn answer(app: &axum::Router, id: Option<&str>) -> (Option<String>, Value) {
    let mut request = Request::post("/api/user");
    if let Some(id) = id {
        request = request.header("x-request-id", id);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (header, serde_json::from_slice(&bytes).unwrap())
}

/// The `http://address` a service logging JSON lines listens on.
fn json_listening_base(process: &Tessera) -> String {
    let log = process.wait_stderr(Duration::from_secs(15), |log| {
        log.contains("tessera listening")
    });
    let address = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["fields"]["message"] == "tessera listening")
        .and_then(|line| line["fields"]["address"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("{log}"));
    format!("http://{address}")
}

fn generated(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn ids_are_kept_when_sane_replaced_otherwise_and_in_every_error() {
    let redis = RedisServer::start();
    let (state, _keys) = test_state(&redis.url());
    let app = tessera::router(state);

    let kept = "req-2026.11.29_abc:42";
    let (header, body) = answer(&app, Some(kept)).await;
    assert_eq!(header.as_deref(), Some(kept));
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(body["error"]["request_id"], kept);

    let longest = "x".repeat(128);
    assert_eq!(
        answer(&app, Some(&longest)).await.0.as_deref(),
        Some(longest.as_str())
    );
    for bad in ["x".repeat(129), "a b".to_owned(), "tab\there".to_owned()] {
        let (header, body) = answer(&app, Some(&bad)).await;
        let header = header.unwrap();
        assert!(generated(&header), "{bad:?} became {header}");
        assert_eq!(body["error"]["request_id"], header.as_str());
    }
    let (first, _) = answer(&app, None).await;
    let (second, _) = answer(&app, None).await;
    assert!(generated(first.as_deref().unwrap()));
    assert_ne!(first, second, "a fresh id per request");
}

#[tokio::test]
async fn readyz_answers_503_while_draining() {
    let redis = RedisServer::start();
    let (state, _keys) = test_state(&redis.url());
    let draining = state.draining.clone();
    let app = tessera::router(state);
    let status = |app: axum::Router| async move {
        let response = app
            .oneshot(Request::get("/readyz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        (status, body["error"]["code"].as_str().map(str::to_owned))
    };
    assert_eq!(status(app.clone()).await, (200, None));
    draining.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(status(app).await, (503, Some("draining".to_owned())));
}

/// The binary with JSON logs: every line is one object, and a request's
/// lines carry its id.
#[tokio::test]
async fn json_log_lines_carry_the_request_id_and_an_outage_is_logged_once() {
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut command = tessera(dir.path());
    command
        .env("TESSERA_REDIS_URL", redis.url())
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_LOG_FORMAT", "json")
        .env("TESSERA_API_KEY", OPERATOR_KEY);
    let process = Tessera::spawn(command);
    let base = json_listening_base(&process);
    assert_eq!(
        wait_status(&format!("{base}/readyz"), 200, Duration::from_secs(15)).await,
        200
    );
    let client = reqwest::Client::new();
    let get_user = || {
        client
            .post(format!("{base}/api/user"))
            .header("Authorization", format!("Token {OPERATOR_KEY}"))
            .header("x-request-id", "trace-me-123")
            .json(&json!({"user_group_id": "g"}))
            .send()
    };
    assert_eq!(get_user().await.unwrap().status().as_u16(), 200);
    let log = process.wait_stderr(Duration::from_secs(10), |log| log.contains("trace-me-123"));
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let issued = lines
        .iter()
        .find(|line| line["fields"]["message"] == "user group token issued")
        .unwrap_or_else(|| panic!("{log}"));
    let request_ids: Vec<&Value> = issued["spans"]
        .as_array()
        .unwrap_or_else(|| panic!("{issued}"))
        .iter()
        .filter_map(|span| span.get("request_id"))
        .collect();
    assert_eq!(request_ids, [&json!("trace-me-123")], "{issued}");
    assert!(issued["timestamp"].is_string() && issued["level"] == "INFO");
    assert!(!log.contains('\u{1b}'), "no colour codes in a log file");

    // Five seconds without Redis under light load, then Redis again.
    redis.kill();
    let outage = Instant::now();
    while outage.elapsed() < Duration::from_secs(5) {
        assert_eq!(get_user().await.unwrap().status().as_u16(), 503);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    while get_user().await.unwrap().status().as_u16() != 200 {
        assert!(Instant::now() < deadline, "never recovered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = process.wait_stderr(Duration::from_secs(5), |log| {
        log.contains("store available again")
    });
    let count = |text: &str| log.lines().filter(|line| line.contains(text)).count();
    assert_eq!(count("store unavailable: answering 503"), 1, "{log}");
    assert_eq!(count("store available again"), 1, "{log}");
    assert!(
        !log.contains("store unavailable\""),
        "no line per request: {log}"
    );
}

#[tokio::test]
async fn debug_logging_gives_one_line_per_answer_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tessera(dir.path());
    command
        .env("TESSERA_LISTEN", "127.0.0.1:0")
        .env("TESSERA_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,tessera::api=debug")
        .env("TESSERA_API_KEY", OPERATOR_KEY);
    let process = Tessera::spawn(command);
    let base = json_listening_base(&process);
    let answer = reqwest::Client::new()
        .post(format!("{base}/api/user"))
        .header("Authorization", format!("Token {OPERATOR_KEY}"))
        .header("x-request-id", "answer-me-7")
        .json(&json!({"user_group_id": "g", "properties": {"tenant": "t-secret-42"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let token = answer.json::<Value>().await.unwrap()["user_group"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let log = process.wait_stderr(Duration::from_secs(10), |log| {
        log.contains("answer-me-7") && log.contains("answered")
    });
    let answered: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "answered")
        .filter(|line| line["fields"]["request_id"] == "answer-me-7")
        .collect();
    assert_eq!(answered.len(), 1, "{log}");
    let fields = &answered[0]["fields"];
    assert_eq!(answered[0]["level"], "DEBUG");
    assert_eq!(fields["route"], "/api/user");
    assert_eq!(fields["method"], "POST");
    assert_eq!(fields["status"], 200);
    assert!(fields["micros"].as_u64().is_some(), "{fields}");
    for secret in [OPERATOR_KEY, token.as_str(), "t-secret-42"] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
}
