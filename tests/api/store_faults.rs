//! Redis failing under the service: killed, restarted, paused. Each fault
//! must give `503 store_unavailable` within about a second (asserted with
//! the 2 s bound, a no-hang check rather than a speed goal), and
//! the same process must recover by itself.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{RedisServer, TestApp, spawn_app};

async fn timed_call(app: &TestApp, id: &str) -> (u16, Value, Duration) {
    let started = Instant::now();
    let (status, body) = app.get_user(&json!({"user_group_id": id})).await;
    (status, body, started.elapsed())
}

/// The answer a store outage must give: 503, not a hang. The store
/// deadline is 1 s; the bound here only tells an answer from a hang (the
/// reconnect of an unbounded client takes about 10 s per call), so a busy
/// machine cannot fail it. The latency itself is a figure for the load
/// harnesses, not an assertion.
pub(crate) const NOT_A_HANG: Duration = Duration::from_secs(8);

fn assert_unavailable(status: u16, body: &Value, elapsed: Duration) {
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "store_unavailable");
    assert!(
        elapsed < NOT_A_HANG,
        "took {elapsed:?}: a hang, not a deadline"
    );
}

async fn wait_for_200(app: &TestApp, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body, _) = timed_call(app, id).await;
        if status == 200 {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "no recovery: last answer {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn killed_redis_gives_503_then_recovers_after_restart() {
    let mut redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let (status, _, _) = timed_call(&app, "before").await;
    assert_eq!(status, 200);

    redis.kill();
    for attempt in 0..3 {
        let (status, body, elapsed) = timed_call(&app, &format!("during{attempt}")).await;
        assert_unavailable(status, &body, elapsed);
    }
    let response = app
        .client
        .post(format!("{}/api/user", app.base))
        .header(
            "Authorization",
            format!("Token {}", crate::common::app::OPERATOR_KEY),
        )
        .json(&json!({"user_group_id": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "1");

    redis.restart();
    let body = wait_for_200(&app, "after").await;
    assert_eq!(body["new_user_group"], true, "the restarted Redis is empty");
}

#[tokio::test]
async fn paused_redis_gives_503_then_recovers_after_sigcont() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let (status, first, _) = timed_call(&app, "g").await;
    assert_eq!(status, 200);

    redis.pause();
    for _ in 0..2 {
        let (status, body, elapsed) = timed_call(&app, "g").await;
        assert_unavailable(status, &body, elapsed);
    }
    redis.resume();
    let body = wait_for_200(&app, "g").await;
    assert_eq!(body["new_user_group"], false);
    assert_eq!(
        body["user_group"]["team_id"],
        first["user_group"]["team_id"]
    );
}

#[tokio::test]
async fn starting_with_redis_down_does_not_hang() {
    let mut redis = RedisServer::start();
    redis.kill();
    let started = Instant::now();
    let app = spawn_app(&redis.url()).await;
    assert!(started.elapsed() < NOT_A_HANG, "start-up waited for Redis");
    let (status, body, elapsed) = timed_call(&app, "g").await;
    assert_unavailable(status, &body, elapsed);

    redis.restart();
    let body = wait_for_200(&app, "g").await;
    assert_eq!(body["new_user_group"], true);
}
