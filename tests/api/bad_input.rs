//! Every bad input of the get-user endpoint: the exact status and code, and
//! nothing stored.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::common::app::OPERATOR_KEY;
use crate::common::{RedisServer, spawn_app};

/// A request with a raw body, content type and key.
struct Case {
    what: &'static str,
    body: Vec<u8>,
    content_type: Option<&'static str>,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
}

fn json_case(
    what: &'static str,
    body: Value,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
) -> Case {
    Case {
        what,
        body: serde_json::to_vec(&body).unwrap(),
        content_type: Some("application/json"),
        status,
        code,
        field,
    }
}

fn invalid(what: &'static str, body: Value, field: &'static str) -> Case {
    json_case(what, body, 400, "invalid_request", Some(field))
}

fn raw(
    what: &'static str,
    body: &[u8],
    content_type: Option<&'static str>,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        what,
        body: body.to_vec(),
        content_type,
        status,
        code,
        field: None,
    }
}

fn cases() -> Vec<Case> {
    let big_properties: serde_json::Map<String, Value> = (0..200)
        .map(|i| (format!("p{i}"), json!("x".repeat(40))))
        .collect();
    vec![
        raw(
            "an integer past u64 in properties",
            br#"{"user_group_id": "n", "properties": {"n": 18446744073709551616}}"#,
            Some("application/json"),
            400,
            "invalid_request",
        ),
        raw(
            "a float past f64",
            br#"{"user_group_id": "n", "properties": {"n": 1e400}}"#,
            Some("application/json"),
            400,
            "invalid_request",
        ),
        raw(
            "a decimal an f64 would round",
            br#"{"user_group_id": "n", "properties": {"n": 0.1000000000000000000001}}"#,
            Some("application/json"),
            400,
            "invalid_request",
        ),
        raw(
            "an integer an f64 would round",
            br#"{"user_group_id": "n", "properties": {"n": [9007199254740993.0]}}"#,
            Some("application/json"),
            400,
            "invalid_request",
        ),
        raw(
            "invalid JSON",
            b"{\"user_group_id\": ",
            Some("application/json"),
            400,
            "invalid_request",
        ),
        raw(
            "empty body",
            b"",
            Some("application/json"),
            400,
            "invalid_request",
        ),
        raw(
            "whitespace body",
            b"  \n",
            Some("application/json"),
            400,
            "invalid_request",
        ),
        raw(
            "JSON array",
            b"[1,2]",
            Some("application/json"),
            400,
            "invalid_request",
        ),
        raw(
            "JSON string",
            b"\"example_1\"",
            Some("application/json"),
            400,
            "invalid_request",
        ),
        raw(
            "duplicate key",
            br#"{"user_group_id":"a","user_group_id":"b"}"#,
            Some("application/json"),
            400,
            "invalid_request",
        ),
        raw(
            "text content type",
            br#"{"user_group_id":"a"}"#,
            Some("text/plain"),
            415,
            "unsupported_media_type",
        ),
        raw(
            "no content type",
            br#"{"user_group_id":"a"}"#,
            None,
            415,
            "unsupported_media_type",
        ),
        raw(
            "body over 64 KiB",
            &[b' '; 64 * 1024 + 1],
            Some("application/json"),
            413,
            "payload_too_large",
        ),
        invalid(
            "missing user_group_id",
            json!({"name": "x"}),
            "user_group_id",
        ),
        invalid(
            "empty user_group_id",
            json!({"user_group_id": ""}),
            "user_group_id",
        ),
        invalid(
            "257-byte user_group_id",
            json!({"user_group_id": "a".repeat(257)}),
            "user_group_id",
        ),
        invalid(
            "control character in id",
            json!({"user_group_id": "a\u{0}b"}),
            "user_group_id",
        ),
        invalid(
            "newline in id",
            json!({"user_group_id": "a\nb"}),
            "user_group_id",
        ),
        invalid("float id", json!({"user_group_id": 1.5}), "user_group_id"),
        invalid(
            "name not a string",
            json!({"user_group_id": "a", "name": 5}),
            "name",
        ),
        invalid(
            "empty name",
            json!({"user_group_id": "a", "name": ""}),
            "name",
        ),
        invalid(
            "mapping not an object",
            json!({"user_group_id": "a", "mapping": [1]}),
            "mapping",
        ),
        invalid(
            "mapping value an object",
            json!({"user_group_id": "a", "mapping": {"40": {"id": 1}}}),
            "mapping",
        ),
        invalid(
            "properties not an object",
            json!({"user_group_id": "a", "properties": "x"}),
            "properties",
        ),
        invalid(
            "property name with a space",
            json!({"user_group_id": "a", "properties": {"filter value": 1}}),
            "properties",
        ),
        invalid(
            "property name starting with a digit",
            json!({"user_group_id": "a", "properties": {"1st": 1}}),
            "properties",
        ),
        invalid(
            "property name over 64",
            json!({"user_group_id": "a", "properties": {"a".repeat(65): 1}}),
            "properties",
        ),
        invalid(
            "reserved property user_group_id",
            json!({"user_group_id": "a", "properties": {"user_group_id": "b"}}),
            "properties",
        ),
        invalid(
            "reserved property team_id",
            json!({"user_group_id": "a", "properties": {"team_id": 1}}),
            "properties",
        ),
        invalid(
            "reserved property user_group_name",
            json!({"user_group_id": "a", "properties": {"user_group_name": "x"}}),
            "properties",
        ),
        invalid(
            "property value an object",
            json!({"user_group_id": "a", "properties": {"p": {"q": 1}}}),
            "properties",
        ),
        invalid(
            "property value a nested array",
            json!({"user_group_id": "a", "properties": {"p": [[1]]}}),
            "properties",
        ),
        invalid(
            "properties over 8 KiB",
            json!({"user_group_id": "a", "properties": big_properties}),
            "properties",
        ),
        invalid(
            "expires_in zero",
            json!({"user_group_id": "a", "expires_in": 0}),
            "expires_in",
        ),
        invalid(
            "expires_in negative",
            json!({"user_group_id": "a", "expires_in": -5}),
            "expires_in",
        ),
        invalid(
            "expires_in above the maximum",
            json!({"user_group_id": "a", "expires_in": 30 * 86_400 + 1}),
            "expires_in",
        ),
        invalid(
            "expires_in a string",
            json!({"user_group_id": "a", "expires_in": "60"}),
            "expires_in",
        ),
        invalid(
            "unknown field",
            json!({"user_group_id": "a", "propeties": {"x": 1}}),
            "propeties",
        ),
    ]
}

#[tokio::test]
async fn every_bad_input_is_refused_with_its_code_and_nothing_is_stored() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    for case in cases() {
        let mut request = app
            .client
            .post(format!("{}/api/user", app.base))
            .header(AUTHORIZATION, format!("Token {OPERATOR_KEY}"))
            .body(case.body.clone());
        if let Some(content_type) = case.content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, case.status, "{}: {body}", case.what);
        assert_eq!(body["success"], 0, "{}", case.what);
        assert_eq!(body["error"]["code"], case.code, "{}: {body}", case.what);
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        if let Some(field) = case.field {
            assert_eq!(body["error"]["field"], field, "{}: {body}", case.what);
        }
    }
    assert_eq!(
        redis.cli(&["DBSIZE"]),
        "0",
        "a refused request stored something"
    );
}

#[tokio::test]
async fn limits_are_inclusive() {
    let redis = RedisServer::start();
    let app = spawn_app(&redis.url()).await;
    let body = json!({
        "user_group_id": "é".repeat(128),
        "name": "n".repeat(256),
        "properties": {"a".repeat(64): [1, "x", null, true, 2.5]},
        "expires_in": 30 * 86_400
    });
    let (status, answer) = app.get_user(&body).await;
    assert_eq!(status, 200, "{answer}");
}
