//! Differential tests: the resolver reads a query as the real server does.
//!
//! A generated corpus mixes strings, comments, quoted identifiers, optional
//! clauses, references and hand-written placeholders hidden where the
//! dialects' lexers differ. For every query the resolver accepts and the
//! server can prepare, the server must count exactly the parameters the
//! resolver bound (a hand-written placeholder the resolver took for text,
//! or a reference it bound inside what the server reads as a string,
//! shows as a different count), and no value may appear in the SQL. Each
//! server is also tried in the modes that change its lexing.

use mysql::prelude::Queryable;
use serde_json::{Map, Value, json};
use tessera::sql::{Dialect, ResolvedQuery, resolve};
use tokio_postgres::NoTls;

use crate::common::mariadb::MariaDb;
use crate::common::postgres::Postgres;

const MARK: &str = "QQVALQQ";

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Select-list items; PostgreSQL's hand-written parameters are `$1` (typed, so
/// that PostgreSQL can prepare them): one the resolver missed shows in the count.
fn items(dialect: Dialect) -> Vec<&'static str> {
    let mut items = vec![
        "1",
        "'s'",
        "'it''s'",
        "'?'",
        "'$9'",
        "'--'",
        "'/*'",
        "'{{v}}'",
        "'a\\'",
        "'a\\' , ? , '",
    ];
    items.extend(match dialect {
        Dialect::Postgres => vec![
            "{{v}}::text",
            "{{w}}::text",
            "{{x}}::text",
            "{{v}}::text || 'x'",
            "E'\\' , $1::text , '",
            "E'a'\n'\\' , $1::text , '",
            "E'a' -- c\n'\\' , $1::text , '",
            "E'a' '\\' , $1::text , '",
            "$ü$ $1::text $ü$",
            "$$ ? $$",
            "$a$ {{v}} $a$",
            "1 AS \"a $9 b\"",
            "1 AS a$b",
            "{{v}}::text1",
            "1 AS \"{{v}}\"",
        ],
        Dialect::Mysql => vec![
            "{{v}}",
            "{{w}}",
            "{{x}}",
            "1 AS `a ? b`",
            "\"a ? b\"",
            "\"a\\\" , ? , \"",
            "1--1",
            "1 - -1",
            "x'41'",
            "_utf8mb4'x'",
            "{{v}}1",
        ],
        Dialect::Sqlite => vec![
            "{{v}}",
            "{{w}}",
            "{{x}}",
            "1 AS [a ? b]",
            "1 AS `a ? b`",
            "1 AS \"a ? b\"",
            "x'41'",
            "{{v}}1",
            ":a",
            "@a",
            "$a",
            "?9",
        ],
    });
    items
}

fn separators(dialect: Dialect) -> Vec<&'static str> {
    let hidden = match dialect {
        Dialect::Postgres => "$1::text",
        Dialect::Mysql | Dialect::Sqlite => "?",
    };
    let mut separators = vec![
        ", ",
        ",\n",
        " -- c\n, ",
        " --c\n, ",
        " /* c */, ",
        " /* /* */ , ? */, ",
        ", [[{{v}}, ]]",
        ", [[{{missing}}, ]]",
        " -[[{{missing}}]]- ",
        " /[[{{missing}}]]* ",
        ", -- c\r, ",
        " #c\n, ",
        " /*! , ? */, ",
        " /*M! , ? */, ",
    ];
    separators.extend(match hidden {
        "?" => [
            " -- ? \n, ",
            " --?\n, ",
            " /* ? */, ",
            " # ?\n, ",
            " -- c\r, ? , ",
        ],
        _ => [
            " -- $1::text \n, ",
            " --$1::text\n, ",
            " /* $1::text */, ",
            " # $1::text\n, ",
            " -- c\r, $1::text , ",
        ],
    });
    separators
}

fn corpus(dialect: Dialect, seed: u64, count: usize) -> Vec<String> {
    let (items, separators) = (items(dialect), separators(dialect));
    let mut rng = Rng(seed);
    (0..count)
        .map(|_| {
            let mut sql = format!("SELECT {}", rng.pick(&items));
            for _ in 0..rng.next() % 4 {
                sql.push_str(rng.pick(&separators));
                sql.push_str(rng.pick(&items));
            }
            sql
        })
        .collect()
}

fn variables() -> Map<String, Value> {
    json!({"v": format!("{MARK}'"), "w": format!("{MARK}\\"), "x": format!("{MARK}--")})
        .as_object()
        .cloned()
        .unwrap()
}

/// Resolves each query; for each accepted one asks `prepare` for the
/// server's parameter count (None: the server refused it). Returns how
/// many were accepted and prepared, after checking every count.
fn compare(
    dialect: Dialect,
    mode: &str,
    corpus: &[String],
    mut prepare: impl FnMut(&str) -> Option<usize>,
) -> usize {
    let (mut accepted, mut prepared) = (0, 0);
    for sql in corpus {
        let Ok(ResolvedQuery {
            sql: resolved,
            params,
            ..
        }) = resolve(sql, &variables(), dialect)
        else {
            continue;
        };
        accepted += 1;
        assert!(
            !resolved.contains(MARK),
            "{dialect:?}: a value was spliced: {resolved}"
        );
        if let Some(count) = prepare(&resolved) {
            prepared += 1;
            assert_eq!(
                count,
                params.len(),
                "{dialect:?} ({mode}) disagrees with the resolver on {sql:?}, resolved as {resolved:?}"
            );
        }
    }
    println!(
        "{dialect:?} ({mode}): {} generated, {accepted} accepted, {prepared} prepared by the server, all agreeing",
        corpus.len()
    );
    prepared
}

#[test]
fn sqlite_counts_the_parameters_the_resolver_bound() {
    let corpus = corpus(Dialect::Sqlite, 0x5eed_0001, 3000);
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let prepared = compare(Dialect::Sqlite, "default", &corpus, |sql| {
        conn.prepare(sql)
            .ok()
            .map(|statement| statement.parameter_count())
    });
    assert!(
        prepared >= 300,
        "only {prepared} queries prepared: the corpus is vacuous"
    );
}

#[test]
fn mariadb_counts_the_parameters_the_resolver_bound_in_every_mode() {
    let corpus = corpus(Dialect::Mysql, 0x5eed_0002, 2000);
    let mut db = MariaDb::start();
    for mode in ["STRICT_TRANS_TABLES", "ANSI_QUOTES,NO_BACKSLASH_ESCAPES"] {
        db.conn()
            .query_drop(format!("SET SESSION sql_mode = '{mode}'"))
            .unwrap();
        let conn = db.conn();
        let prepared = compare(Dialect::Mysql, mode, &corpus, |sql| {
            let statement = conn.prep(sql).ok()?;
            let count = usize::from(statement.num_params());
            conn.close(statement).ok()?;
            Some(count)
        });
        assert!(prepared >= 200, "{mode}: only {prepared} queries prepared");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_counts_the_parameters_the_resolver_bound_in_every_mode() {
    let corpus = corpus(Dialect::Postgres, 0x5eed_0003, 2000);
    let server = Postgres::start();
    let (client, connection) = tokio_postgres::connect(&server.connection_string(), NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    for mode in ["on", "off"] {
        client
            .batch_execute(&format!(
                "SET standard_conforming_strings = {mode}; SET escape_string_warning = off"
            ))
            .await
            .unwrap();
        let mut counts = Vec::new();
        for sql in &corpus {
            if let Ok(query) = resolve(sql, &variables(), Dialect::Postgres) {
                let count = client
                    .prepare(&query.sql)
                    .await
                    .ok()
                    .map(|statement| statement.params().len());
                counts.push((query.sql, count));
            }
        }
        let mut answers = counts
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>();
        let prepared = compare(Dialect::Postgres, mode, &corpus, |sql| {
            answers.get(sql).copied().flatten()
        });
        answers.clear();
        assert!(
            prepared >= 200,
            "standard_conforming_strings={mode}: only {prepared} prepared"
        );
    }
}
