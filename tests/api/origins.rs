//! Origin binding: a get-user call may bind its token (and the session's
//! later tokens) to browser origins; from any other `Origin` the token is
//! refused with `403 token_origin_mismatch`; without an `Origin` header (a
//! server) it is accepted.

use serde_json::{Value, json};

use crate::common::app::jwt_part;
use crate::common::{RedisServer, TestApp, spawn_app};

async fn post(
    app: &TestApp,
    path: &str,
    token: &str,
    origin: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .json(&body);
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_bound_token_works_only_from_its_origins_or_a_server() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let (status, body) = app
        .get_user(&json!({
            "user_group_id": "g",
            "properties": {"tenant": "g"},
            "allowed_origins": ["https://App.Customer.com", "http://localhost:3000"]
        }))
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["user_group"]["token"].as_str().unwrap().to_owned();
    assert_eq!(
        jwt_part(&token, 1)["origins"],
        json!(["https://app.customer.com", "http://localhost:3000"])
    );
    let sql = json!({"sql": "SELECT * FROM t WHERE tenant = {{tenant}}", "dialect": "postgres"});
    for (path, body) in [
        ("/api/verify", json!({})),
        ("/api/sql/resolve", sql.clone()),
        ("/api/token/refresh", json!({})),
    ] {
        for allowed in [
            None,
            Some("https://app.customer.com"),
            Some("HTTP://LOCALHOST:3000"),
        ] {
            let (status, answer) = post(&app, path, &token, allowed, body.clone()).await;
            assert_eq!(status, 200, "{path} from {allowed:?}: {answer}");
        }
        let (status, answer) = post(
            &app,
            path,
            &token,
            Some("https://evil.example"),
            body.clone(),
        )
        .await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (403, Some("token_origin_mismatch")),
            "{path}"
        );
    }
    // A refresh keeps the binding.
    let (_, refreshed) = post(&app, "/api/token/refresh", &token, None, json!({})).await;
    let next = refreshed["token"].as_str().unwrap();
    assert_eq!(jwt_part(next, 1)["origins"], jwt_part(&token, 1)["origins"]);
    let (status, _) = post(
        &app,
        "/api/verify",
        next,
        Some("https://evil.example"),
        json!({}),
    )
    .await;
    assert_eq!(status, 403);
    // An unbound token is accepted from anywhere.
    let (_, body) = app.get_user(&json!({"user_group_id": "u"})).await;
    let unbound = body["user_group"]["token"].as_str().unwrap();
    assert!(jwt_part(unbound, 1).get("origins").is_none());
    assert_eq!(
        post(
            &app,
            "/api/verify",
            unbound,
            Some("https://evil.example"),
            json!({})
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn invalid_allowed_origins_are_refused_naming_the_field() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let seventeen: Vec<String> = (0..17).map(|n| format!("https://a{n}.example")).collect();
    for bad in [
        json!(["https://app.example.com/path"]),
        json!(["https://*.example.com"]),
        json!(["ftp://files.example.com"]),
        json!(["app.example.com"]),
        json!([]),
        json!("https://app.example.com"),
        json!([42]),
        json!(seventeen),
        json!([format!("https://{}.com", "a".repeat(60))]),
    ] {
        let (status, body) = app
            .get_user(&json!({"user_group_id": "g", "allowed_origins": bad}))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "allowed_origins", "{bad}");
    }
}
