//! Property tests: for generated SQL around variables and hostile values,
//! `resolve` never panics and no value's text reaches the SQL.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tessera::sql::{Dialect, resolve};

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_and_never_splices_a_value(
        pieces in prop::collection::vec(sql_piece(), 0..24),
        values in prop::collection::vec(hostile_value(), 3),
        dialect in dialect(),
    ) {
        let sql: String = pieces.concat();
        let variables: Map<String, Value> = values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (format!("v{i}"), v))
            .collect();
        if let Ok(query) = resolve(&sql, &variables, dialect) {
            prop_assert!(!query.sql.contains(MARK), "spliced: {}", query.sql);
            let placeholders = match dialect {
                Dialect::Postgres => (1..=query.params.len()).all(|n| query.sql.contains(&format!("${n}"))),
                Dialect::Mysql | Dialect::Sqlite => query.sql.matches('?').count() >= query.params.len(),
            };
            prop_assert!(placeholders, "{} with {} params", query.sql, query.params.len());
        }
    }

    #[test]
    fn arbitrary_text_never_panics(sql in "\\PC{0,200}", dialect in dialect()) {
        let variables: Map<String, Value> = [("t".to_owned(), json!("x"))].into_iter().collect();
        let _ = resolve(&sql, &variables, dialect);
    }
}
