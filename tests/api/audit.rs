//! The per-group audit trail: a scripted sequence of calls yields exactly
//! its events, in order, with who made each; paging is complete and
//! stable; `tessera audit export` writes what the API shows; successful
//! verifications are counted per hour; forged tokens leave no trace.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::app::{OPERATOR_KEY, jwt_part, spawn_app_with};
use crate::common::process::{output_within_30s, tessera};
use crate::common::{RedisServer, TestApp, spawn_app};

/// A call with the operator key, an `x-request-id` and an optional
/// `Origin`: the status and body.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    request_id: &str,
    bearer: Option<&str>,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, format!("{}{path}", app.base))
        .header("x-request-id", request_id)
        .header("Origin", "https://app.example");
    request = match bearer {
        Some(token) => request.bearer_auth(token),
        None => request.header("Authorization", format!("Token {OPERATOR_KEY}")),
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn trail(app: &TestApp, id: &str, query: &str) -> Value {
    let (status, body) = call(
        app,
        Method::GET,
        &format!("/api/user/{id}/audit{query}"),
        None,
        "read",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn kinds(events: &Value) -> Vec<&str> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_scripted_sequence_yields_exactly_its_events_and_exports_the_same() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let get_user = json!({"user_group_id": "g"});
    let (_, created) = call(
        &app,
        Method::POST,
        "/api/user",
        Some(get_user.clone()),
        "req-create",
        None,
    )
    .await;
    let first = created["user_group"]["token"].as_str().unwrap().to_owned();
    let (_, again) = call(
        &app,
        Method::POST,
        "/api/user",
        Some(get_user.clone()),
        "req-again",
        None,
    )
    .await;
    let second = again["user_group"]["token"].as_str().unwrap().to_owned();
    let (status, refreshed) = call(
        &app,
        Method::POST,
        "/api/token/refresh",
        None,
        "req-refresh",
        Some(&first),
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let refreshed = refreshed["token"].as_str().unwrap().to_owned();
    let expired = app.token_issued_at("g", -chrono::Duration::days(2)).await;
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/verify",
        None,
        "req-verify",
        Some(&expired),
    )
    .await;
    assert_eq!(status, 401);
    let sid = jwt_part(&first, 1)["sid"].clone();
    let (status, _) = call(
        &app,
        Method::POST,
        "/api/token/revoke",
        Some(json!({"user_group_id": "g", "sid": sid})),
        "req-revoke",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            "/api/user/g",
            None,
            "req-delete",
            None
        )
        .await
        .0,
        200
    );

    let body = trail(&app, "g", "").await;
    let events = &body["events"];
    assert_eq!(
        kinds(events),
        [
            "deleted",
            "session_revoked",
            "verify_failed",
            "refreshed",
            "issued",
            "created"
        ]
    );
    let team_id = created["user_group"]["team_id"].clone();
    let claims = |token: &str| jwt_part(token, 1);
    let expected = [
        ("req-delete", true, None, None, None),
        ("req-revoke", true, Some(sid.clone()), None, None),
        (
            "req-verify",
            false,
            Some(claims(&expired)["sid"].clone()),
            Some(claims(&expired)["jti"].clone()),
            Some("token_expired"),
        ),
        (
            "req-refresh",
            false,
            Some(sid.clone()),
            Some(claims(&refreshed)["jti"].clone()),
            None,
        ),
        (
            "req-again",
            true,
            Some(claims(&second)["sid"].clone()),
            Some(claims(&second)["jti"].clone()),
            None,
        ),
        (
            "req-create",
            true,
            Some(sid.clone()),
            Some(claims(&first)["jti"].clone()),
            None,
        ),
    ];
    for (event, (request_id, admin, sid, jti, code)) in
        events.as_array().unwrap().iter().zip(expected)
    {
        assert_eq!(event["request_id"], request_id, "{event}");
        assert_eq!(event["user_group_id"], "g");
        assert_eq!(event["team_id"], team_id);
        assert_eq!(event["client"], "127.0.0.1");
        assert_eq!(event["origin"], "https://app.example");
        assert_eq!(
            event["api_key"].as_str(),
            admin.then_some("(operator)"),
            "{event}"
        );
        assert_eq!(event["sid"], sid.unwrap_or(Value::Null), "{event}");
        assert_eq!(event["jti"], jti.unwrap_or(Value::Null), "{event}");
        assert_eq!(event["code"].as_str(), code, "{event}");
        assert!(chrono::DateTime::parse_from_rfc3339(event["at"].as_str().unwrap()).is_ok());
    }
    assert_eq!(body["next_cursor"], Value::Null);

    // Paging by two, while the group is created again meanwhile: every
    // event once, in order, and nothing newer than the first page.
    let mut paged = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let page = trail(&app, "g", &query).await;
        paged.extend(page["events"].as_array().unwrap().iter().cloned());
        if paged.len() == 2 {
            assert_eq!(app.get_user(&get_user).await.0, 200);
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(Value::Array(paged), *events);
    assert_eq!(
        kinds(&trail(&app, "g", "?limit=1").await["events"]),
        ["created"]
    );

    // The export holds the same events, oldest first.
    let dir = tempfile::tempdir().unwrap();
    let mut command = tessera(dir.path());
    command.args(["audit", "export", "--redis-url", &redis.url()]);
    let output = output_within_30s(command);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .filter(|line: &Value| line["user_group_id"] == "g" && line["event"] != "verifications")
        .collect();
    let mut from_api = trail(&app, "g", "").await["events"]
        .as_array()
        .unwrap()
        .clone();
    from_api.reverse();
    assert_eq!(lines, from_api);
    assert_eq!(lines.len(), 7);

    // --since leaves out what came before.
    let last_at = from_api[6]["at"].as_str().unwrap().to_owned();
    let mut command = tessera(dir.path());
    command.args([
        "audit",
        "export",
        "--since",
        &last_at,
        "--redis-url",
        &redis.url(),
    ]);
    let output = output_within_30s(command);
    let text = String::from_utf8(output.stdout).unwrap();
    let kept: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["event"] != "verifications")
        .collect();
    assert!(
        !kept.is_empty()
            && kept
                .iter()
                .all(|e| e["at"].as_str().unwrap() >= last_at.as_str()),
        "{text}"
    );
}

#[tokio::test]
async fn verifications_are_counted_per_hour_and_forgeries_leave_no_trace() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let (_, answer) = app.get_user(&json!({"user_group_id": "g"})).await;
    let token = answer["user_group"]["token"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(app.verify(&token).await.0, 200);
    }
    // Another group's signature over this group's claims.
    let (_, other) = app.get_user(&json!({"user_group_id": "h"})).await;
    let other = other["user_group"]["token"].as_str().unwrap();
    let mut parts: Vec<&str> = other.split('.').collect();
    parts[1] = token.split('.').nth(1).unwrap();
    let forged = parts.join(".");
    assert_eq!(app.verify(&forged).await.0, 401);

    let body = trail(&app, "g", "").await;
    assert_eq!(kinds(&body["events"]), ["created"], "{body}");
    let hour = chrono::Utc::now().timestamp() / 3600 * 3600;
    let hour = chrono::DateTime::from_timestamp(hour, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(body["verifications"], json!([{"hour": hour, "count": 3}]));

    // Refusals of one group are itemized at a bounded pace, the rest
    // counted: an expired token cannot flush the trail.
    let expired = app.token_issued_at("g", -chrono::Duration::days(2)).await;
    let started = std::time::Instant::now();
    for _ in 0..60 {
        assert_eq!(app.verify(&expired).await.0, 401);
    }
    let refilled = usize::try_from(started.elapsed().as_secs()).unwrap() + 1;
    let events = trail(&app, "g", "?limit=1000").await["events"].clone();
    let itemized = kinds(&events)
        .iter()
        .filter(|kind| **kind == "verify_failed")
        .count();
    assert!(
        (30..=30 + refilled).contains(&itemized),
        "{itemized} itemized"
    );
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counted: usize = metrics
        .lines()
        .find_map(|line| line.strip_prefix("tessera_audit_refusals_not_itemized_total "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap();
    assert_eq!(itemized + counted, 60);

    // Unknown group, bad paging.
    for (path, status) in [
        ("/api/user/nobody/audit", 404),
        ("/api/user/g/audit?limit=0", 400),
        ("/api/user/g/audit?cursor=x", 400),
        ("/api/user/g/audit?other=1", 400),
    ] {
        assert_eq!(
            call(&app, Method::GET, path, None, "r", None).await.0,
            status,
            "{path}"
        );
    }
    let response = app
        .client
        .get(format!("{}/api/user/g/audit", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401, "admin only");
}

#[tokio::test]
async fn a_retention_of_zero_records_nothing() {
    let redis = RedisServer::start();
    let app = spawn_app_with(&redis.url(), |state| {
        state.audit = Arc::new(tessera::audit::Audit::new(0, state.store.clone()));
    })
    .await;
    let (_, answer) = app.get_user(&json!({"user_group_id": "g"})).await;
    let token = answer["user_group"]["token"].as_str().unwrap().to_owned();
    assert_eq!(app.verify(&token).await.0, 200);
    let body = trail(&app, "g", "").await;
    assert_eq!(body["events"], json!([]));
    assert_eq!(body["verifications"], json!([]));
    assert!(redis.cli(&["KEYS", "*audit*"]).trim().is_empty());
}

/// The same lifecycle on the embedded store, through the real binary: a
/// session revoked through one of its tokens, the refusal and the
/// revocation in the trail, and the export of the stopped store.
#[tokio::test]
async fn on_the_embedded_store_revocation_and_the_trail_work_end_to_end() {
    use crate::storage::{KEY, serve};

    let dir = tempfile::tempdir().unwrap();
    let (mut process, base) = serve(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let admin = |method: Method, path: &str, body: Option<Value>| {
        let mut request = client
            .request(method, format!("{base}{path}"))
            .header("Authorization", format!("Token {KEY}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (_, created) = admin(
        Method::POST,
        "/api/user",
        Some(json!({"user_group_id": "g"})),
    )
    .await;
    let token = created["user_group"]["token"].as_str().unwrap().to_owned();
    let (_, other) = admin(
        Method::POST,
        "/api/user",
        Some(json!({"user_group_id": "g"})),
    )
    .await;
    let other = other["user_group"]["token"].as_str().unwrap().to_owned();
    let (status, body) = admin(
        Method::POST,
        "/api/token/revoke",
        Some(json!({"token": token, "scope": "session"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let verify = |token: String| {
        let request = client.post(format!("{base}/api/verify")).bearer_auth(token);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body["error"]["code"].as_str().map(str::to_owned))
        }
    };
    assert_eq!(
        verify(token.clone()).await,
        (401, Some("token_revoked".into()))
    );
    assert_eq!(verify(other).await, (200, None), "the other session");

    let (status, body) = admin(Method::GET, "/api/user/g/audit", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        kinds(&body["events"]),
        ["verify_failed", "session_revoked", "issued", "created"]
    );
    assert_eq!(body["events"][0]["code"], "token_revoked");
    assert_eq!(body["events"][1]["sid"], jwt_part(&token, 1)["sid"]);
    let mut from_api = body["events"].as_array().unwrap().clone();
    from_api.reverse();
    // Stopped, the store is exported with the same events (and the hour
    // of the one successful verification, flushed at shutdown).
    assert!(process.terminate().success());
    let mut command = tessera(dir.path());
    command.args(["audit", "export"]);
    let output = output_within_30s(command);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let (events, hours): (Vec<Value>, Vec<Value>) = lines
        .into_iter()
        .partition(|line| line["event"] != "verifications");
    assert_eq!(events, from_api);
    assert_eq!(hours.len(), 1, "{hours:?}");
    assert_eq!(hours[0]["count"], 1);
}
