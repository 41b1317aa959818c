//! Resolved queries executed by a real PostgreSQL with bound parameters:
//! hostile values stay data, each query returns only its tenant's rows,
//! and the table survives.

use serde_json::{Map, Value, json};
use tessera::sql::{Dialect, ResolvedQuery, resolve};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls};

use crate::common::postgres::Postgres;

async fn connect(server: &Postgres) -> Client {
    let (client, connection) = tokio_postgres::connect(&server.connection_string(), NoTls)
        .await
        .unwrap_or_else(|err| panic!("connect: {err}; log in {}", server.dir().display()));
    tokio::spawn(connection);
    client
}

/// The parameters of a resolved query as tokio-postgres values.
fn bind(params: &[Value]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|value| -> Box<dyn ToSql + Sync + Send> {
            match value {
                Value::String(text) => Box::new(text.clone()),
                Value::Number(n) if n.is_i64() => Box::new(n.as_i64().unwrap()),
                Value::Number(n) => Box::new(n.as_f64().unwrap()),
                Value::Bool(b) => Box::new(*b),
                Value::Null => Box::new(None::<String>),
                other => panic!("unbindable {other}"),
            }
        })
        .collect()
}

async fn run(client: &Client, query: &ResolvedQuery) -> Vec<(i64, String)> {
    let params = bind(&query.params);
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    client
        .query(query.sql.as_str(), &refs)
        .await
        .unwrap_or_else(|err| panic!("{}: {err}", query.sql))
        .iter()
        .map(|row| (row.get::<_, i64>(0), row.get::<_, String>(1)))
        .collect()
}

fn vars(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_bind_as_data_and_return_only_their_tenants_rows() {
    let server = Postgres::start();
    let client = connect(&server).await;
    client
        .batch_execute(
            "CREATE TABLE orders (id BIGINT PRIMARY KEY, tenant TEXT NOT NULL, region TEXT NOT NULL, amount BIGINT NOT NULL)",
        )
        .await
        .unwrap();

    let hostile = [
        "x' OR '1'='1".to_owned(),
        "1; DROP TABLE orders; --".to_owned(),
        r"back\slash\'".to_owned(),
        "unicode ʼ quote ʼ OR ʼ1ʼ=ʼ1".to_owned(),
        "y".repeat(10 * 1024),
        "{{region}}".to_owned(),
    ];
    let mut id = 0i64;
    let mut insert = |tenant: &str, region: &str| {
        id += 1;
        (id, tenant.to_owned(), region.to_owned())
    };
    let mut rows = vec![
        insert("acme", "eu"),
        insert("acme", "us"),
        insert("globex", "eu"),
    ];
    for value in &hostile {
        rows.push(insert(value, "eu"));
        rows.push(insert(value, "apac"));
    }
    for (id, tenant, region) in &rows {
        client
            .execute(
                "INSERT INTO orders VALUES ($1, $2, $3, 10)",
                &[id, tenant, region],
            )
            .await
            .unwrap();
    }

    let sql = "SELECT id, tenant FROM orders WHERE tenant = {{tenant}} ORDER BY id";
    for value in hostile.iter().map(String::as_str).chain(["acme", "globex"]) {
        let query = resolve(
            sql,
            &vars(json!({"tenant": value, "region": "eu"})),
            Dialect::Postgres,
        )
        .unwrap();
        assert!(!query.sql.contains(value), "a value was spliced");
        let found = run(&client, &query).await;
        let expected: Vec<(i64, String)> = rows
            .iter()
            .filter(|(_, tenant, _)| tenant == value)
            .map(|(id, tenant, _)| (*id, tenant.clone()))
            .collect();
        assert_eq!(found, expected, "{}", &value[..value.len().min(40)]);
    }
    let count: i64 = client
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, rows.len() as i64, "the table survived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrays_drive_in_lists_and_optional_clauses_follow_their_variable() {
    let server = Postgres::start();
    let client = connect(&server).await;
    client
        .batch_execute(
            "CREATE TABLE orders (id BIGINT, tenant TEXT, region TEXT);
             INSERT INTO orders VALUES (1, 'acme', 'eu'), (2, 'acme', 'us'), (3, 'acme', 'apac'), (4, 'globex', 'eu');",
        )
        .await
        .unwrap();
    let ids = |found: Vec<(i64, String)>| found.into_iter().map(|(id, _)| id).collect::<Vec<_>>();

    let in_list = "SELECT id, tenant FROM orders WHERE tenant = {{tenant}} AND region IN ({{regions}}) ORDER BY id";
    let query = resolve(
        in_list,
        &vars(json!({"tenant": "acme", "regions": ["eu", "apac"]})),
        Dialect::Postgres,
    )
    .unwrap();
    assert_eq!(
        query.sql,
        "SELECT id, tenant FROM orders WHERE tenant = $1 AND region IN ($2, $3) ORDER BY id"
    );
    assert_eq!(ids(run(&client, &query).await), vec![1, 3]);

    let optional = "SELECT id, tenant FROM orders WHERE tenant = {{tenant}} [[AND region = {{region}}]] ORDER BY id";
    let with = resolve(
        optional,
        &vars(json!({"tenant": "acme", "region": "us"})),
        Dialect::Postgres,
    )
    .unwrap();
    assert_eq!(ids(run(&client, &with).await), vec![2]);
    let without = resolve(
        optional,
        &vars(json!({"tenant": "acme"})),
        Dialect::Postgres,
    )
    .unwrap();
    assert_eq!(ids(run(&client, &without).await), vec![1, 2, 3]);
}
