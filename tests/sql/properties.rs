//! Property tests: for generated SQL around variables and hostile values,
//! `resolve` never panics and no value's text reaches the SQL.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tessera::sql::{Dialect, resolve};

use crate::oracle::placeholder_numbers;

/// Values carry a marker the SQL pieces never contain.
const MARK: &str = "QQVALQQ";

fn sql_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("SELECT * FROM t WHERE a = ".to_owned()),
        Just("{{v0}}".to_owned()),
        Just("{{ v1 }}".to_owned()),
        Just("{{v2}}".to_owned()),
        Just("{{missing}}".to_owned()),
        Just(" AND ".to_owned()),
        Just("'lit''eral'".to_owned()),
        Just("E'esc\\'aped'".to_owned()),
        Just("\"ident\"".to_owned()),
        Just("`tick`".to_owned()),
        Just("$tag$ body $tag$".to_owned()),
        Just("-- comment {{v0}}\n".to_owned()),
        Just("/* block {{v1}} */".to_owned()),
        Just("[[ AND b = {{v1}} ]]".to_owned()),
        Just("[[".to_owned()),
        Just("]]".to_owned()),
        Just("{{".to_owned()),
        Just("}}".to_owned()),
        Just("'".to_owned()),
        Just("$".to_owned()),
        Just("?".to_owned()),
        "[a-z0-9 ,()=<>*]{0,12}",
    ]
}

fn hostile_value() -> impl Strategy<Value = Value> {
    let text = "[ -~ʼ€\\\\'\"`$;{}\\[\\]]{0,40}".prop_map(|s| json!(format!("{MARK}{s}")));
    prop_oneof![
        text.clone(),
        prop::collection::vec(
            "[ -~]{0,10}".prop_map(|s| json!(format!("{MARK}{s}"))),
            1..4
        )
        .prop_map(Value::Array),
        any::<i64>().prop_map(|n| json!(n)),
        Just(Value::Null),
        Just(json!(true)),
    ]
}

fn dialect() -> impl Strategy<Value = Dialect> {
    prop_oneof![
        Just(Dialect::Postgres),
        Just(Dialect::Mysql),
        Just(Dialect::Sqlite)
    ]
}

/// For generated SQL around variables and hostile values: no panic, no
/// value's text in the SQL, and the placeholders are exactly `$1..$n` for
/// `n` parameters. Enough generated queries must resolve for this to mean
/// anything, which the runner counts.
#[test]
fn never_panics_and_never_splices_a_value() {
    use proptest::test_runner::{Config, TestRunner};
    let accepted = std::cell::Cell::new(0usize);
    let mut runner = TestRunner::new(Config::with_cases(2000));
    let strategy = (
        prop::collection::vec(sql_piece(), 0..24),
        prop::collection::vec(hostile_value(), 3),
        dialect(),
    );
    runner
        .run(&strategy, |(pieces, values, dialect)| {
            let sql: String = pieces.concat();
            let variables: Map<String, Value> = values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("v{i}"), v))
                .collect();
            let Ok(query) = resolve(&sql, &variables, dialect) else {
                return Ok(());
            };
            accepted.set(accepted.get() + 1);
            prop_assert!(!query.sql.contains(MARK), "spliced: {}", query.sql);
            match dialect {
                Dialect::Postgres => {
                    let expected: std::collections::BTreeSet<usize> =
                        (1..=query.params.len()).collect();
                    prop_assert_eq!(placeholder_numbers(&query.sql), expected, "{}", query.sql);
                }
                Dialect::Mysql | Dialect::Sqlite => prop_assert!(
                    query.sql.matches('?').count() >= query.params.len(),
                    "{} with {} params",
                    query.sql,
                    query.params.len()
                ),
            }
            Ok(())
        })
        .unwrap();
    assert!(
        accepted.get() >= 200,
        "only {} of 2000 queries resolved",
        accepted.get()
    );
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(sql in "\\PC{0,200}", dialect in dialect()) {
        let variables: Map<String, Value> = [("t".to_owned(), json!("x"))].into_iter().collect();
        let _ = resolve(&sql, &variables, dialect);
    }
}

/// Found by the generator: a dollar-quoted string followed by a digit is
/// no placeholder, and a reference right after one is bound, not glued.
#[test]
fn a_dollar_quote_before_a_digit_or_a_reference() {
    let variables: Map<String, Value> = [("v0".to_owned(), json!(format!("{MARK}x")))]
        .into_iter()
        .collect();
    let query = resolve("SELECT $tag$ body $tag$0", &variables, Dialect::Postgres).unwrap();
    assert!(placeholder_numbers(&query.sql).is_empty(), "{}", query.sql);
    let query = resolve(
        "SELECT $tag$ body $tag${{v0}}",
        &variables,
        Dialect::Postgres,
    )
    .unwrap();
    assert_eq!(query.params.len(), 1);
    assert_eq!(
        placeholder_numbers(&query.sql),
        [1].into_iter().collect(),
        "{}",
        query.sql
    );
}
