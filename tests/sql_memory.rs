//! Peak memory of the worst `/api/sql/resolve` inputs: a request-sized
//! query (64 KiB) that references the largest property a token can carry
//! (8 KiB) as often as it fits. Every case is refused or answered within a
//! small, fixed amount of memory. Its own test binary with one test, so the
//! process's peak (VmHWM, reset through `/proc/self/clear_refs`) is this
//! test's alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Map, Value, json};
use tessera::sql::{Dialect, resolve_requiring};

/// The most the peak may grow for one resolution.
const BUDGET_KIB: u64 = 48 * 1024;
const REQUEST_BYTES: usize = 64 * 1024;

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM");
}

/// Properties of at most 8 KiB serialized, the API's limit.
fn properties() -> Vec<(&'static str, Value)> {
    let ints = Value::Array((0..4000).map(|_| json!(0)).collect());
    let strings = Value::Array((0..2).map(|_| json!("x".repeat(4000))).collect());
    let one = json!("y".repeat(8000));
    let cases = vec![
        ("4000 integers", ints),
        ("2 long strings", strings),
        ("an 8000-byte string", one),
    ];
    for (_, value) in &cases {
        assert!(
            serde_json::to_vec(&json!({ "tenant": value }))
                .unwrap()
                .len()
                <= 8 * 1024
        );
    }
    cases
}

#[test]
fn the_worst_queries_stay_within_a_small_memory_budget() {
    let query = |references: usize| {
        format!(
            "SELECT * FROM t WHERE tenant IN ({{{{tenant}}}}) AND x IN ({}1)",
            "{{tenant}},".repeat(references)
        )
    };
    // As many references as a request holds, and few enough that the
    // PostgreSQL SQL stays under the guard's limit and is parsed.
    let longest = query(REQUEST_BYTES / "{{tenant}},".len() - 10);
    assert!(longest.len() <= REQUEST_BYTES);
    let mut report = Vec::new();
    for (what, value, sql) in properties().into_iter().flat_map(|(what, value)| {
        [
            (what, value.clone(), longest.clone()),
            (what, value, query(8)),
        ]
    }) {
        let variables: Map<String, Value> = [("tenant".to_owned(), value)].into_iter().collect();
        for dialect in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
            for require in [vec![], vec!["tenant".to_owned()]] {
                reset_peak();
                let before = peak_kib();
                let outcome = resolve_requiring(&sql, &variables, dialect, &require);
                let grew = peak_kib().saturating_sub(before);
                let outcome = match outcome {
                    Ok(query) => format!("answered, {} bytes of SQL", query.sql.len()),
                    Err(err) => format!("refused: {err}"),
                };
                report.push(format!(
                    "{dialect:?} require={} {what} x{}: +{grew} KiB, {outcome}",
                    !require.is_empty(),
                    sql.matches("{{").count()
                ));
                assert!(grew <= BUDGET_KIB, "{}", report.join("\n"));
            }
        }
    }
    println!("{}", report.join("\n"));
}
