//! A test for each rule of the resolver.

use serde_json::{Map, Value, json};

use super::{Dialect, SqlError, resolve, resolve_requiring};

fn vars(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

fn pg(sql: &str, variables: Value) -> Result<(String, Vec<Value>), SqlError> {
    resolve(sql, &vars(variables), Dialect::Postgres).map(|q| (q.sql, q.params))
}

fn offset_of(err: SqlError) -> usize {
    match err {
        SqlError::Invalid { offset, .. } | SqlError::VariableMissing { offset, .. } => offset,
        SqlError::TenantFilterMissing { .. } | SqlError::TooLarge(_) => usize::MAX,
    }
}

#[test]
fn references_become_numbered_placeholders_and_repeat_their_number() {
    let (sql, params) = pg(
        "SELECT * FROM t WHERE a = {{tenant}} AND b = {{ region }} OR c = {{tenant}}",
        json!({"tenant": "acme", "region": "eu"}),
    )
    .unwrap();
    assert_eq!(sql, "SELECT * FROM t WHERE a = $1 AND b = $2 OR c = $1");
    assert_eq!(params, vec![json!("acme"), json!("eu")]);
}

#[test]
fn mysql_and_sqlite_repeat_question_marks() {
    for dialect in [Dialect::Mysql, Dialect::Sqlite] {
        let q = resolve("a = {{t}} OR b = {{t}}", &vars(json!({"t": 1})), dialect).unwrap();
        assert_eq!(q.sql, "a = ? OR b = ?");
        assert_eq!(q.params, vec![json!(1), json!(1)]);
        assert_eq!(q.variables_used, vec!["t"]);
    }
}

#[test]
fn values_keep_their_types() {
    let (_, params) = pg(
        "{{s}} {{i}} {{f}} {{b}} {{n}}",
        json!({"s": "x", "i": 7, "f": 2.5, "b": true, "n": null}),
    )
    .unwrap();
    assert_eq!(
        params,
        vec![json!("x"), json!(7), json!(2.5), json!(true), Value::Null]
    );
}

#[test]
fn arrays_expand_for_in_lists() {
    let (sql, params) = pg(
        "id IN ({{ids}}) AND x = {{x}} AND id IN ({{ids}})",
        json!({"ids": [3, 4, 5], "x": "y"}),
    )
    .unwrap();
    assert_eq!(sql, "id IN ($1, $2, $3) AND x = $4 AND id IN ($1, $2, $3)");
    assert_eq!(params.len(), 4);
    let q = resolve(
        "id IN ({{ids}})",
        &vars(json!({"ids": ["a", "b"]})),
        Dialect::Mysql,
    )
    .unwrap();
    assert_eq!(q.sql, "id IN (?, ?)");
}

#[test]
fn empty_arrays_objects_and_nested_arrays_are_errors() {
    for value in [json!([]), json!({"a": 1}), json!([[1]]), json!([{"a": 1}])] {
        let err = pg("x IN ({{v}})", json!({ "v": value })).unwrap_err();
        assert!(
            matches!(err, SqlError::Invalid { offset: 6, .. }),
            "{value}: {err}"
        );
    }
}

#[test]
fn optional_clauses_are_kept_or_dropped_whole() {
    let sql = "SELECT * FROM t WHERE a = {{tenant}} [[AND region = {{region}}]] ORDER BY 1";
    let (kept, params) = pg(sql, json!({"tenant": "acme", "region": "eu"})).unwrap();
    assert_eq!(
        kept,
        "SELECT * FROM t WHERE a = $1 AND region = $2 ORDER BY 1"
    );
    assert_eq!(params.len(), 2);
    let (dropped, params) = pg(sql, json!({"tenant": "acme"})).unwrap();
    assert_eq!(dropped, "SELECT * FROM t WHERE a = $1  ORDER BY 1");
    assert_eq!(params, vec![json!("acme")]);
    let (null_kept, _) = pg("[[x = {{n}}]]", json!({"n": null})).unwrap();
    assert_eq!(null_kept, "x = $1", "a null value is present");
}

#[test]
fn optional_clause_errors() {
    let nested = pg("[[ a [[ b ]] ]]", json!({})).unwrap_err();
    assert_eq!(offset_of(nested), 5);
    assert_eq!(offset_of(pg("a ]] b", json!({})).unwrap_err()), 2);
    assert_eq!(offset_of(pg("a [[ b", json!({})).unwrap_err()), 2);
}

#[test]
fn a_missing_variable_outside_an_optional_clause_is_named() {
    let err = pg("a = {{tenant}}", json!({})).unwrap_err();
    assert_eq!(
        err,
        SqlError::VariableMissing {
            name: "tenant".into(),
            offset: 4
        }
    );
}

#[test]
fn references_in_quotes_are_errors_never_spliced() {
    let cases = [
        (Dialect::Postgres, "SELECT '{{t}}'", 8),
        (Dialect::Postgres, "SELECT 'it''s {{t}}'", 14),
        (Dialect::Postgres, r"SELECT E'a\'{{t}}'", 12),
        (Dialect::Postgres, "SELECT \"{{t}}\"", 8),
        (Dialect::Postgres, "SELECT $$ {{t}} $$", 10),
        (Dialect::Postgres, "SELECT $tag$ {{t}} $tag$", 13),
        (Dialect::Mysql, "SELECT `{{t}}`", 8),
        (Dialect::Mysql, r"SELECT 'a\'{{t}}'", 9),
        (Dialect::Mysql, "SELECT \"{{t}}\"", 7),
        (Dialect::Sqlite, "SELECT `{{t}}`", 8),
    ];
    for (dialect, sql, offset) in cases {
        let err = resolve(sql, &vars(json!({"t": "x"})), dialect).unwrap_err();
        assert_eq!(offset_of(err.clone()), offset, "{sql}: {err}");
    }
}

#[test]
fn quotes_end_where_the_dialect_says() {
    // After a closed string, references bind again.
    let (sql, _) = pg(
        "SELECT 'a''b', E'c\\'d', $x$ '{ $x$, {{t}}",
        json!({"t": 1}),
    )
    .unwrap();
    assert!(sql.ends_with(", $1"), "{sql}");
    // In SQLite a backslash does not escape: 'a\' is a whole string.
    let q = resolve(
        r"SELECT 'a\', {{t}}",
        &vars(json!({"t": 1})),
        Dialect::Sqlite,
    )
    .unwrap();
    assert_eq!(q.sql, r"SELECT 'a\', ?");
    // In PostgreSQL, a backtick is an ordinary character.
    assert!(pg("SELECT `{{t}}`", json!({"t": 1})).is_ok());
}

#[test]
fn references_in_comments_are_left_alone() {
    let (sql, params) = pg(
        "SELECT 1 -- {{ not bound }}\n/* {{ nor this }} /* nested */ {{x}} */ + {{t}}",
        json!({"t": 2}),
    )
    .unwrap();
    assert_eq!(
        sql,
        "SELECT 1 -- {{ not bound }}\n/* {{ nor this }} /* nested */ {{x}} */ + $1"
    );
    assert_eq!(params, vec![json!(2)]);
    let q = resolve(
        "SELECT 1 # {{x}}\n, {{t}}",
        &vars(json!({"t": 1})),
        Dialect::Mysql,
    )
    .unwrap();
    assert_eq!(q.sql, "SELECT 1 # {{x}}\n, ?");
}

#[test]
fn malformed_references_report_their_offset() {
    for (sql, offset) in [
        ("a = {{", 4),
        ("a = {{}}", 4),
        ("a = {{ 1x }}", 4),
        ("a = {{{x}}}", 4),
        ("a = {{x}}}", 9),
        ("a = {{x-y}}", 4),
    ] {
        let err = pg(sql, json!({"x": 1})).unwrap_err();
        assert_eq!(offset_of(err.clone()), offset, "{sql}: {err}");
    }
    assert!(pg(&format!("{{{{{}}}}}", "a".repeat(65)), json!({})).is_err());
}

#[test]
fn unterminated_quotes_and_comments_are_errors() {
    for sql in [
        "SELECT 'abc",
        "SELECT \"abc",
        "SELECT /* abc",
        "SELECT $q$ abc",
    ] {
        assert!(
            matches!(pg(sql, json!({})), Err(SqlError::Invalid { offset: 7, .. })),
            "{sql}"
        );
    }
}

#[test]
fn hand_written_placeholders_are_refused() {
    assert!(pg("a = $1", json!({})).is_err());
    assert!(
        pg("SELECT a$1 FROM t", json!({})).is_ok(),
        "$ inside an identifier"
    );
    assert!(resolve("a = ?", &vars(json!({})), Dialect::Mysql).is_err());
    assert!(resolve("a = '?'", &vars(json!({})), Dialect::Sqlite).is_ok());
    assert!(
        pg("data ? 'key'", json!({})).is_ok(),
        "PostgreSQL's jsonb ? operator"
    );
}

#[test]
fn a_value_that_looks_like_a_reference_is_data() {
    let (sql, params) = pg(
        "a = {{x}} AND b = {{y}}",
        json!({"x": "{{y}}", "y": "' OR 1=1 --"}),
    )
    .unwrap();
    assert_eq!(sql, "a = $1 AND b = $2");
    assert_eq!(params, vec![json!("{{y}}"), json!("' OR 1=1 --")]);
}

#[test]
fn the_tenant_guard() {
    let variables = vars(json!({"user_group_id": "acme"}));
    let require = ["user_group_id".to_owned()];
    let guarded = "SELECT * FROM orders WHERE tenant = {{user_group_id}}";
    assert!(resolve_requiring(guarded, &variables, Dialect::Postgres, &require).is_ok());
    for unguarded in [
        "SELECT * FROM orders",
        "SELECT * FROM orders WHERE 1=1 [[AND tenant = {{user_group_id}}]]",
        "SELECT * FROM orders -- {{user_group_id}}",
    ] {
        let err =
            resolve_requiring(unguarded, &variables, Dialect::Postgres, &require).unwrap_err();
        assert!(
            matches!(&err, SqlError::TenantFilterMissing { name, .. } if name == "user_group_id"),
            "{unguarded}: {err}"
        );
    }
}

#[test]
fn unicode_text_survives() {
    let (sql, _) = pg("SELECT 'ʼ€' AS \"naïve\", {{t}} -- 例", json!({"t": 1})).unwrap();
    assert_eq!(sql, "SELECT 'ʼ€' AS \"naïve\", $1 -- 例");
}

#[test]
fn a_megabyte_query_resolves() {
    let mut sql = String::from("SELECT 1");
    while sql.len() < 1024 * 1024 {
        sql.push_str(" + {{t}} /* c */ + 'str''x' -- note\n");
    }
    let q = pg(&sql, json!({"t": 1})).unwrap();
    assert_eq!(q.1.len(), 1, "one variable, one parameter");
    let unclosed = format!("{sql}{{{{");
    assert!(pg(&unclosed, json!({"t": 1})).is_err());
}

mod guard;
mod lexical;
mod limits;
