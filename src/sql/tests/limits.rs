//! Resolution is bounded before the work is done.

use serde_json::{Value, json};

use super::vars;
use crate::sql::{Dialect, MAX_PARAMS, MAX_SQL_BYTES, SqlError, resolve};

fn too_large(sql: &str, variables: Value, dialect: Dialect) -> String {
    match resolve(sql, &vars(variables), dialect) {
        Err(SqlError::TooLarge(message)) => message,
        other => panic!("not refused as too large: {:?}", other.map(|q| q.sql.len())),
    }
}

fn big_array() -> Value {
    Value::Array((0..1000).map(|n| json!(n)).collect())
}

#[test]
fn repeated_array_references_stop_at_the_sql_limit() {
    // Every PostgreSQL reference repeats the array's ~7 KB placeholder list.
    let sql = "SELECT {{a}}".repeat(200);
    let message = too_large(&sql, json!({ "a": big_array() }), Dialect::Postgres);
    assert!(message.contains("bytes"), "{message}");
}

#[test]
fn repeated_array_references_stop_at_the_parameter_limit() {
    // Every MySQL reference binds the whole array again.
    for dialect in [Dialect::Mysql, Dialect::Sqlite] {
        let sql = "SELECT {{a}}".repeat(70);
        let message = too_large(&sql, json!({ "a": big_array() }), dialect);
        assert!(message.contains(&MAX_PARAMS.to_string()), "{message}");
    }
}

#[test]
fn repeated_long_values_stop_at_the_value_limit() {
    let long = "x".repeat(8000);
    let sql = "SELECT {{s}}".repeat(200);
    let message = too_large(&sql, json!({ "s": long }), Dialect::Mysql);
    assert!(message.contains("parameter values"), "{message}");
}

#[test]
fn exactly_the_limits_resolve() {
    let sql = format!("SELECT {}", "?,".repeat(0));
    assert!(resolve(&sql, &vars(json!({})), Dialect::Mysql).is_ok());
    // 65 535 parameters: 65 references of a 1000-element array, plus 535.
    let small = Value::Array((0..535).map(|n| json!(n)).collect());
    let sql = format!("SELECT {}{{{{b}}}}", "{{a}},".repeat(65));
    let q = resolve(
        &sql,
        &vars(json!({"a": big_array(), "b": small})),
        Dialect::Mysql,
    )
    .unwrap();
    assert_eq!(q.params.len(), MAX_PARAMS);
    let padded = format!("SELECT 1 {}", " ".repeat(MAX_SQL_BYTES - 9));
    assert_eq!(
        resolve(&padded, &vars(json!({})), Dialect::Postgres)
            .unwrap()
            .sql
            .len(),
        MAX_SQL_BYTES
    );
    let over = format!("{padded} ");
    assert!(matches!(
        resolve(&over, &vars(json!({})), Dialect::Postgres),
        Err(SqlError::TooLarge(_))
    ));
}
