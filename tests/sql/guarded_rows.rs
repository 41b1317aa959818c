//! `require` on MariaDB and SQLite: guarded queries return only the
//! tenant's rows with hostile values bound as data, and the ways around a
//! reference-only guard are refused before they reach the server.

use mysql::prelude::Queryable;
use serde_json::{Map, Value, json};
use tessera::sql::{Dialect, ResolvedQuery, SqlError, resolve_requiring};

use crate::common::mariadb::MariaDb;

const TENANTS: [&str; 4] = ["acme", "globex", "x' OR '1'='1", "a\\' OR 1=1 -- "];

fn vars(tenant: &str) -> Map<String, Value> {
    json!({"tenant": tenant, "regions": ["eu", "us"]})
        .as_object()
        .cloned()
        .unwrap()
}

fn guarded(sql: &str, tenant: &str, dialect: Dialect) -> Result<ResolvedQuery, SqlError> {
    resolve_requiring(sql, &vars(tenant), dialect, &["tenant".to_owned()])
}

const QUERY: &str = "SELECT id, tenant FROM orders WHERE tenant = {{tenant}} AND region IN ({{regions}}) ORDER BY id";

const BYPASSES: [&str; 4] = [
    "SELECT id, tenant FROM orders WHERE {{tenant}} IS NOT NULL ORDER BY id",
    "SELECT id, tenant FROM orders WHERE tenant = {{tenant}} OR 1 = 1 ORDER BY id",
    "SELECT id, tenant FROM orders WHERE tenant = {{tenant}} UNION SELECT id, tenant FROM orders",
    "SELECT id, tenant FROM orders WHERE id IN (SELECT id FROM orders) AND {{tenant}} = {{tenant}}",
];

/// Rows `(id, tenant, region)`: two per tenant, one in a region not asked for.
fn rows() -> Vec<(i64, String, String)> {
    let mut rows = Vec::new();
    for (n, tenant) in TENANTS.iter().enumerate() {
        for (m, region) in ["eu", "apac"].iter().enumerate() {
            rows.push((
                (n * 2 + m) as i64,
                (*tenant).to_owned(),
                (*region).to_owned(),
            ));
        }
    }
    rows
}

fn expected(tenant: &str) -> Vec<(i64, String)> {
    rows()
        .into_iter()
        .filter(|(_, t, region)| t == tenant && region == "eu")
        .map(|(id, t, _)| (id, t))
        .collect()
}

fn bypasses_are_refused(dialect: Dialect) {
    for sql in BYPASSES {
        let err = guarded(sql, "acme", dialect).unwrap_err();
        assert!(
            matches!(err, SqlError::TenantFilterMissing { .. }),
            "{dialect:?} {sql}: {err}"
        );
    }
}

#[test]
fn mariadb_guarded_queries_return_only_the_tenants_rows() {
    let mut db = MariaDb::start();
    let conn = db.conn();
    conn.query_drop("CREATE TABLE orders (id BIGINT PRIMARY KEY, tenant TEXT, region TEXT)")
        .unwrap();
    for (id, tenant, region) in rows() {
        conn.exec_drop("INSERT INTO orders VALUES (?, ?, ?)", (id, tenant, region))
            .unwrap();
    }
    for tenant in TENANTS {
        let query = guarded(QUERY, tenant, Dialect::Mysql).unwrap();
        let params: Vec<mysql::Value> = query
            .params
            .iter()
            .map(|v| mysql::Value::from(v.as_str().unwrap()))
            .collect();
        let found: Vec<(i64, String)> = conn.exec(&query.sql, params).unwrap();
        assert_eq!(found, expected(tenant), "{tenant}");
    }
    bypasses_are_refused(Dialect::Mysql);
    let count: Option<i64> = conn.query_first("SELECT count(*) FROM orders").unwrap();
    assert_eq!(count, Some(rows().len() as i64));
}

#[test]
fn sqlite_guarded_queries_return_only_the_tenants_rows() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant TEXT, region TEXT)")
        .unwrap();
    for (id, tenant, region) in rows() {
        conn.execute(
            "INSERT INTO orders VALUES (?1, ?2, ?3)",
            (id, tenant, region),
        )
        .unwrap();
    }
    for tenant in TENANTS {
        let query = guarded(QUERY, tenant, Dialect::Sqlite).unwrap();
        let mut statement = conn.prepare(&query.sql).unwrap();
        let params = rusqlite::params_from_iter(query.params.iter().map(|v| v.as_str().unwrap()));
        let found: Vec<(i64, String)> = statement
            .query_map(params, |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(found, expected(tenant), "{tenant}");
    }
    bypasses_are_refused(Dialect::Sqlite);
}

#[test]
fn postgres_bypasses_are_refused() {
    bypasses_are_refused(Dialect::Postgres);
}
