//! The tenant guard: what passes, and the ways around a naive "is it
//! referenced" check, each refused.

use serde_json::json;

use super::vars;
use crate::sql::{Dialect, SqlError, resolve_requiring};

fn guard(sql: &str, dialect: Dialect) -> Result<String, SqlError> {
    resolve_requiring(
        sql,
        &vars(json!({"tenant": "acme", "ids": [1, 2], "other": "x", "n": 3})),
        dialect,
        &["tenant".to_owned()],
    )
    .map(|q| q.sql)
}

const DIALECTS: [Dialect; 3] = [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite];

#[test]
fn filtered_queries_pass_in_every_dialect() {
    for dialect in DIALECTS {
        for sql in [
            "SELECT * FROM orders WHERE tenant = {{tenant}}",
            "SELECT * FROM orders WHERE {{tenant}} = tenant AND amount > 3",
            "SELECT * FROM orders o WHERE o.tenant = {{tenant}} AND (a = 1 OR b = 2)",
            "SELECT * FROM orders WHERE (tenant IN ({{tenant}})) AND x = {{other}}",
            "SELECT a FROM orders WHERE tenant = {{tenant}} UNION SELECT a FROM refunds WHERE tenant = {{tenant}}",
            "SELECT * FROM (SELECT * FROM orders WHERE tenant = {{tenant}}) AS t",
            "SELECT * FROM orders WHERE tenant = {{tenant}} AND id IN (SELECT id FROM items WHERE tenant = {{tenant}})",
            "WITH mine AS (SELECT * FROM orders WHERE tenant = {{tenant}}) SELECT * FROM mine",
        ] {
            assert!(
                guard(sql, dialect).is_ok(),
                "{dialect:?}: {sql}: {:?}",
                guard(sql, dialect)
            );
        }
    }
    assert!(
        guard(
            "SELECT * FROM orders WHERE tenant = {{tenant}}::text",
            Dialect::Postgres
        )
        .is_ok()
    );
}

#[test]
fn referencing_the_variable_is_not_filtering_on_it() {
    for dialect in DIALECTS {
        for sql in [
            "SELECT * FROM orders WHERE {{tenant}} IS NOT NULL",
            "SELECT * FROM orders WHERE tenant = {{tenant}} OR 1 = 1",
            "SELECT * FROM orders WHERE NOT (tenant = {{tenant}})",
            "SELECT * FROM orders WHERE tenant <> {{tenant}}",
            "SELECT * FROM orders WHERE tenant NOT IN ({{tenant}})",
            "SELECT * FROM orders WHERE {{tenant}} = {{tenant}}",
            "SELECT * FROM orders WHERE tenant = {{other}} AND {{tenant}} = {{tenant}}",
            "SELECT *, {{tenant}} FROM orders",
            "SELECT * FROM orders WHERE tenant IN ({{tenant}}, {{other}})",
            "SELECT * FROM orders WHERE tenant = {{tenant}} + 0",
            // Each UNION branch, subquery and CTE body needs its own filter.
            "SELECT a FROM orders WHERE tenant = {{tenant}} UNION SELECT a FROM orders",
            "SELECT * FROM orders WHERE tenant = {{tenant}} AND id IN (SELECT id FROM items)",
            "SELECT (SELECT count(*) FROM orders) FROM orders WHERE tenant = {{tenant}}",
            "SELECT * FROM (SELECT * FROM orders) AS t WHERE t.tenant = {{tenant}}",
            "WITH mine AS (SELECT * FROM orders) SELECT * FROM mine WHERE tenant = {{tenant}}",
            // Two statements, or something other than a SELECT.
            "SELECT * FROM orders WHERE tenant = {{tenant}}; SELECT * FROM orders",
            "DELETE FROM orders WHERE tenant = {{tenant}}",
            // Unparsable.
            "SELECT * FROM WHERE tenant = {{tenant}}",
        ] {
            let err = guard(sql, dialect).unwrap_err();
            assert!(
                matches!(&err, SqlError::TenantFilterMissing { name, .. } if name == "tenant"),
                "{dialect:?}: {sql}: {err}"
            );
        }
    }
}

#[test]
fn a_cte_named_like_a_table_does_not_hide_the_table() {
    // A non-recursive CTE's body reads the real table of that name, and
    // needs its own filter.
    let sql =
        "WITH orders AS (SELECT * FROM orders) SELECT * FROM orders WHERE tenant = {{tenant}}";
    assert!(guard(sql, Dialect::Postgres).is_err());
    let sql =
        "WITH orders AS (SELECT * FROM orders WHERE tenant = {{tenant}}) SELECT * FROM orders";
    assert!(guard(sql, Dialect::Postgres).is_ok());
    let sql = "WITH orders AS (SELECT * FROM orders), b AS (SELECT * FROM orders WHERE tenant = {{tenant}}) SELECT * FROM b UNION SELECT * FROM orders";
    assert!(guard(sql, Dialect::Postgres).is_err());
    // A quoted name is another name.
    let sql =
        "WITH \"ORDERS\" AS (SELECT * FROM orders WHERE tenant = {{tenant}}) SELECT * FROM ORDERS";
    assert!(guard(sql, Dialect::Postgres).is_err());
}

#[test]
fn tables_read_outside_a_select_are_refused() {
    assert!(guard("TABLE orders", Dialect::Postgres).is_err());
    let sql = "SELECT * FROM orders WHERE tenant = {{tenant}} AND id IN items";
    assert!(guard(sql, Dialect::Sqlite).is_err());
}

#[test]
fn the_refusal_names_the_select() {
    let err = guard(
        "SELECT 1 FROM a WHERE tenant = {{tenant}}\nUNION SELECT 2 FROM b",
        Dialect::Postgres,
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("line 2, column 7"), "{message}");
    assert!(message.contains("SELECT 2 FROM b"), "{message}");
}

#[test]
fn a_value_that_looks_like_a_filter_is_not_one() {
    // The placeholder of another variable in the same position never counts.
    let sql = "SELECT * FROM orders WHERE tenant = {{other}}";
    assert!(guard(sql, Dialect::Mysql).is_err());
    let sql = "SELECT * FROM orders WHERE x = {{other}} AND tenant IN ({{ids}})";
    assert!(guard(sql, Dialect::Sqlite).is_err());
}
