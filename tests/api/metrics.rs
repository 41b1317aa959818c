//! `GET /metrics`: after a scripted mix of calls, each family holds exactly
//! the expected increments, under route templates (never raw paths).

use std::sync::Arc;

use serde_json::json;
use tessera::api::{Rate, RateLimits};

use crate::common::app::{OPERATOR_KEY, spawn_app_with};
use crate::common::{RedisServer, TestApp};

async fn scrape(app: &TestApp) -> String {
    let response = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    response.text().await.unwrap()
}

/// The value of one series (0 when absent).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_scripted_mix_shows_up_exactly() {
    let mut redis = RedisServer::start();
    let app = spawn_app_with(&redis.url(), |state| {
        // Four admin calls a minute for the operator key.
        state.limits = Arc::new(RateLimits::new(Rate::parse("1/m:4").unwrap(), None, vec![]));
    })
    .await;
    let before = scrape(&app).await;
    assert_eq!(value(&before, "tessera_build_info{version=\"0.1.0\"}"), 1.0);

    let (status, body) = app.get_user(&json!({"user_group_id": "m1"})).await;
    assert_eq!(status, 200);
    let token = body["user_group"]["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get_user(&json!({"user_group_id": "m1"})).await.0, 200);
    assert_eq!(
        app.call(
            reqwest::Method::POST,
            &json!({"user_group_id": "m1"}),
            Some("tsk_wrong")
        )
        .await
        .0,
        401
    );
    assert_eq!(app.verify(&token).await.0, 200);
    assert_eq!(app.verify("not-a-token").await.0, 401);
    assert_eq!(app.get_user(&json!({"user_group_id": "m2"})).await.0, 200);
    assert_eq!(
        app.admin(reqwest::Method::DELETE, "/api/user/m2").await.0,
        200
    );
    assert_eq!(
        app.get_user(&json!({"user_group_id": "m3"})).await.0,
        429,
        "the fifth admin call"
    );
    let not_found = reqwest::get(format!("{}/no/such/path/m1", app.base))
        .await
        .unwrap();
    assert_eq!(not_found.status().as_u16(), 404);

    let after = scrape(&app).await;
    let grew = |series: &str| value(&after, series) - value(&before, series);
    let http = |route: &str, method: &str, status: u16| {
        grew(&format!(
            "tessera_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}}"
        ))
    };
    assert_eq!(http("/api/user", "POST", 200), 3.0);
    assert_eq!(http("/api/user", "POST", 401), 1.0);
    assert_eq!(http("/api/user", "POST", 429), 1.0);
    assert_eq!(http("/api/verify", "POST", 200), 1.0);
    assert_eq!(http("/api/verify", "POST", 401), 1.0);
    assert_eq!(http("/api/user/{user_group_id}", "DELETE", 200), 1.0);
    assert_eq!(http("unmatched", "GET", 404), 1.0);
    assert!(
        !after.contains("m1") && !after.contains("/no/such"),
        "no raw paths or ids"
    );
    assert_eq!(
        grew("tessera_http_request_duration_seconds_count{route=\"/api/user\"}"),
        5.0
    );
    assert_eq!(grew("tessera_tokens_issued_total{alg=\"EdDSA\"}"), 3.0);
    assert_eq!(grew("tessera_groups_created_total"), 2.0);
    assert_eq!(
        grew("tessera_token_verifications_total{source=\"api\",outcome=\"valid\"}"),
        1.0
    );
    assert_eq!(
        grew("tessera_token_verifications_total{source=\"api\",outcome=\"token_malformed\"}"),
        1.0
    );
    // Three upserts, one record for the feed, one get and one delete.
    let store = |operation: &str| {
        grew(&format!(
            "tessera_store_operation_duration_seconds_count{{backend=\"redis\",operation=\"{operation}\"}}"
        ))
    };
    assert_eq!(store("upsert"), 3.0);
    assert_eq!(store("delete"), 1.0);
    assert_eq!(store("record_revocation"), 1.0);

    // A middleware in the process reports under source="middleware".
    let mut config = tessera::middleware::RendererAuthConfig::new(
        tessera::middleware::KeySource::Provider(Arc::new(app.state.keys.clone())),
        crate::common::app::verify_policy(),
    );
    config.on_outcome = Some(app.state.metrics.middleware_observer());
    let auth = tessera::middleware::RendererAuth::new(config)
        .await
        .unwrap();
    assert!(auth.verify(&token).await.is_ok());
    assert!(auth.verify(&token).await.is_ok(), "a cache hit counts too");
    assert!(auth.verify("x.y.z").await.is_err());
    let later = scrape(&app).await;
    let series = |outcome: &str| {
        value(
            &later,
            &format!(
                "tessera_token_verifications_total{{source=\"middleware\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    assert_eq!((series("valid"), series("token_malformed")), (2.0, 1.0));

    // A store error is counted by kind.
    redis.kill();
    let refreshed = spawn_app_with(&redis.url(), |_| {}).await;
    assert_eq!(
        refreshed.get_user(&json!({"user_group_id": "m4"})).await.0,
        503
    );
    let down = scrape(&refreshed).await;
    assert_eq!(
        value(
            &down,
            "tessera_store_errors_total{backend=\"redis\",kind=\"unavailable\"}"
        ),
        1.0
    );
    let _ = OPERATOR_KEY;
}
