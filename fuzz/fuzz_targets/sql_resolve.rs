//! A query from any bytes (the first byte picks the dialect) resolved
//! against variables whose values are hostile text: refused with a typed
//! error or resolved, never a panic. For a resolved query:
//! - no value's text reaches the SQL (every value carries a marker);
//! - MySQL and SQLite: resolving again with one more element in the
//!   array variable adds exactly as many `?` as parameters (each
//!   reference has its own parameters);
//! - where the query itself has no `$` (PostgreSQL) or `?` (MySQL,
//!   SQLite), the placeholders are exactly the parameters: the numbers
//!   `$1..$n` (a variable used twice reuses its numbers), or `n`
//!   question marks.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use tessera::sql::{Dialect, resolve};

#[path = "../../tests/sql/oracle.rs"]
mod oracle;
use oracle::placeholder_numbers;

const MARK: &str = "QQVALQQ";

fn variables(array: usize) -> Map<String, Value> {
    let list: Vec<Value> = (0..array)
        .map(|n| json!(format!("{MARK}{n}' OR 1=1 -- $1 ? {{{{v0}}}} \\")))
        .collect();
    [
        (
            "v0",
            json!(format!("{MARK}'; DROP TABLE t; -- \" ` $$ ]] {{{{v1}}}}")),
        ),
        ("v1", Value::Array(list)),
        ("v2", json!(42)),
        ("v3", Value::Null),
        ("v4", json!(true)),
        ("v5", json!(1.5)),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

fn marks(dialect: Dialect) -> char {
    match dialect {
        Dialect::Postgres => '$',
        Dialect::Mysql | Dialect::Sqlite => '?',
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(sql) = std::str::from_utf8(rest) else {
        return;
    };
    if sql.contains(MARK) {
        return;
    }
    let dialect = match pick % 3 {
        0 => Dialect::Postgres,
        1 => Dialect::Mysql,
        _ => Dialect::Sqlite,
    };
    let Ok(one) = resolve(sql, &variables(1), dialect) else {
        return;
    };
    assert!(!one.sql.contains(MARK), "a value was spliced: {}", one.sql);
    assert!(one.params.len() <= 65_535);

    let two = match resolve(sql, &variables(2), dialect) {
        Ok(two) => two,
        // One more element may cross the size limits; nothing else changes.
        Err(tessera::sql::SqlError::TooLarge(_)) => return,
        Err(err) => panic!("resolved with a 1-element array, not with 2: {err}"),
    };
    assert!(!two.sql.contains(MARK), "a value was spliced: {}", two.sql);
    let mark = marks(dialect);
    let count = |text: &str| text.matches(mark).count();
    if dialect != Dialect::Postgres {
        let signed = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        assert_eq!(
            signed(count(&two.sql)) - signed(count(&one.sql)),
            signed(two.params.len()) - signed(one.params.len()),
            "placeholders and parameters differ: {} / {}",
            one.sql,
            two.sql
        );
    }

    if !sql.contains(mark) {
        for query in [&one, &two] {
            match dialect {
                Dialect::Postgres => {
                    let expected: BTreeSet<usize> = (1..=query.params.len()).collect();
                    assert_eq!(placeholder_numbers(&query.sql), expected, "{}", query.sql);
                }
                Dialect::Mysql | Dialect::Sqlite => {
                    assert_eq!(count(&query.sql), query.params.len(), "{}", query.sql);
                }
            }
        }
    }
});
