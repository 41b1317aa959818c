//! `POST /api/sql/resolve` and `tessera sql resolve`: values come from the
//! verified token only; bad tokens are refused; the tenant guard holds.

use serde_json::{Value, json};

use crate::common::app::{ISSUER, OPERATOR_KEY};
use crate::common::process::{output_within_30s, tessera};
use crate::common::{RedisServer, TestApp, spawn_app};

async fn token(app: &TestApp) -> String {
    let (status, body) = app
        .get_user(&json!({"user_group_id": "acme", "properties": {"tenant": "x' OR '1'='1", "regions": ["eu", "us"]}}))
        .await;
    assert_eq!(status, 200);
    body["user_group"]["token"].as_str().unwrap().to_owned()
}

async fn resolve(app: &TestApp, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("{}/api/sql/resolve", app.base))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_good_token_resolves_with_its_own_values() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let token = token(&app).await;
    let (status, body) = resolve(
        &app,
        Some(&token),
        json!({
            "sql": "SELECT * FROM orders WHERE tenant = {{tenant}} AND region IN ({{regions}}) AND g = {{user_group_id}}",
            "dialect": "postgres",
            "require": ["user_group_id"]
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["sql"],
        "SELECT * FROM orders WHERE tenant = $1 AND region IN ($2, $3) AND g = $4"
    );
    assert_eq!(body["params"], json!(["x' OR '1'='1", "eu", "us", "acme"]));
    assert_eq!(
        body["variables_used"],
        json!(["tenant", "regions", "user_group_id"])
    );

    let (status, body) = resolve(
        &app,
        Some(&token),
        json!({"sql": "SELECT {{tenant}}", "dialect": "mysql"}),
    )
    .await;
    assert_eq!((status, body["sql"].as_str()), (200, Some("SELECT ?")));
}

#[tokio::test]
async fn refusals() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let token = token(&app).await;
    let query = json!({"sql": "SELECT {{tenant}}", "dialect": "postgres"});

    let (status, body) = resolve(&app, None, query.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("token_malformed"))
    );
    let (status, body) = resolve(&app, Some("a.b.c"), query.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("token_malformed"))
    );
    let (status, _) = resolve(&app, Some(OPERATOR_KEY), query.clone()).await;
    assert_eq!(status, 401, "an admin key is not a user-group token");

    for (sql, code) in [
        ("SELECT * FROM orders", "sql_tenant_filter_missing"),
        (
            "SELECT * FROM orders WHERE 1=1 [[AND g = {{user_group_id}}]]",
            "sql_tenant_filter_missing",
        ),
        (
            "SELECT * FROM orders WHERE g = {{user_group_id}} AND x = {{nope}}",
            "sql_variable_missing",
        ),
        (
            "SELECT '{{tenant}}' WHERE g = {{user_group_id}}",
            "sql_invalid",
        ),
        ("SELECT {{ 1x }} WHERE g = {{user_group_id}}", "sql_invalid"),
    ] {
        let (status, body) = resolve(
            &app,
            Some(&token),
            json!({"sql": sql, "dialect": "postgres", "require": ["user_group_id"]}),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some(code)),
            "{sql}: {body}"
        );
    }
    for bad in [
        json!({"sql": "SELECT 1"}),
        json!({"sql": "SELECT 1", "dialect": "oracle"}),
        json!({"sql": 5, "dialect": "postgres"}),
        json!({"sql": "SELECT 1", "dialect": "postgres", "require": "tenant"}),
        json!({"sql": "SELECT 1", "dialect": "postgres", "variables": {"tenant": "evil"}}),
    ] {
        let (status, body) = resolve(&app, Some(&token), bad.clone()).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }

    // A revoked group's token no longer resolves.
    let (status, _) = app
        .admin(reqwest::Method::POST, "/api/user/acme/revoke")
        .await;
    assert_eq!(status, 200);
    let (status, body) = resolve(&app, Some(&token), query).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("token_revoked"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_resolves_with_an_offline_verified_token() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let token = token(&app).await;
    let run = |sql: &str, extra: &[&str]| {
        output_within_30s({
            let mut command = tessera(app.keys_dir.path());
            command
                .args([
                    "sql",
                    "resolve",
                    "--token",
                    &token,
                    "--dialect",
                    "postgres",
                    "--issuer",
                    ISSUER,
                ])
                .arg("--jwks")
                .arg(format!("{}/.well-known/jwks.json", app.base))
                .args(extra)
                .arg(sql);
            command
        })
    };
    let ok = run(
        "SELECT * FROM t WHERE tenant = {{tenant}}",
        &["--require", "tenant"],
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let body: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(body["sql"], "SELECT * FROM t WHERE tenant = $1");
    assert_eq!(body["params"], json!(["x' OR '1'='1"]));
    let refused = run("SELECT * FROM t", &["--require", "tenant"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("sql_tenant_filter_missing"));
}
