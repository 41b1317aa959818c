//! The scanner reads each dialect as its server does, or refuses: one test
//! per construct where the servers' lexers differ from a naive reading.

use serde_json::json;

use super::vars;
use crate::sql::{Dialect, SqlError, resolve};

fn run(sql: &str, dialect: Dialect) -> Result<String, SqlError> {
    resolve(sql, &vars(json!({"t": "acme", "n": 1, "x": 2})), dialect).map(|q| q.sql)
}

fn refused_at(sql: &str, dialect: Dialect) -> usize {
    match run(sql, dialect) {
        Err(SqlError::Invalid { offset, .. }) => offset,
        other => panic!("{dialect:?} {sql:?} was not refused: {other:?}"),
    }
}

#[test]
fn mysql_double_dash_is_a_comment_only_before_space_and_otherwise_refused() {
    assert_eq!(
        run("SELECT 1 -- {{x}}\n, {{t}}", Dialect::Mysql).unwrap(),
        "SELECT 1 -- {{x}}\n, ?"
    );
    assert_eq!(
        run("SELECT 1 --\t{{x}}\n, {{t}}", Dialect::Mysql).unwrap(),
        "SELECT 1 --\t{{x}}\n, ?"
    );
    assert_eq!(
        run("SELECT {{t}} --", Dialect::Mysql).unwrap(),
        "SELECT ? --"
    );
    // `--x` is two minus signs to MySQL: what follows is code, and a
    // hand-written placeholder there would bind. Refused outright.
    assert_eq!(refused_at("SELECT 1 --1, ? -- {{t}}", Dialect::Mysql), 9);
    assert_eq!(refused_at("SELECT 1 --[[ {{t}} ]]", Dialect::Mysql), 9);
    // PostgreSQL and SQLite: always a comment.
    assert!(run("SELECT 1 --? \n, {{t}}", Dialect::Sqlite).is_ok());
    assert!(run("SELECT 1 --$1 \n, {{t}}", Dialect::Postgres).is_ok());
}

#[test]
fn mysql_executed_comments_are_refused() {
    assert_eq!(refused_at("SELECT 1 /*! , ? */, {{t}}", Dialect::Mysql), 9);
    assert_eq!(refused_at("SELECT 1 /*!50001 , ? */", Dialect::Mysql), 9);
    assert_eq!(refused_at("SELECT 1 /*M! , ? */", Dialect::Mysql), 9);
    assert_eq!(refused_at("SELECT 1 /*M!100000 , ? */", Dialect::Mysql), 9);
    assert!(run("SELECT 1 /* plain ? */, {{t}}", Dialect::Mysql).is_ok());
    assert!(run("SELECT 1 /*! is a comment here */", Dialect::Postgres).is_ok());
}

#[test]
fn mode_dependent_mysql_strings_are_refused() {
    // NO_BACKSLASH_ESCAPES decides where 'a\' ends.
    assert_eq!(
        refused_at(r"SELECT 'a\', ? , {{t}} -- '", Dialect::Mysql),
        9
    );
    // ANSI_QUOTES decides whether "..." is a string or an identifier.
    assert_eq!(refused_at("SELECT \"a\" , {{t}}", Dialect::Mysql), 7);
    assert_eq!(
        run("SELECT 'it''s', `col`, {{t}}", Dialect::Mysql).unwrap(),
        "SELECT 'it''s', `col`, ?"
    );
}

#[test]
fn sqlite_quotes_and_parameters() {
    assert_eq!(
        run("SELECT [a ? b], `c ? d`, \"e ? f\", {{t}}", Dialect::Sqlite).unwrap(),
        "SELECT [a ? b], `c ? d`, \"e ? f\", ?"
    );
    assert_eq!(refused_at("SELECT [a {{t}}]", Dialect::Sqlite), 10);
    assert_eq!(refused_at("SELECT [a", Dialect::Sqlite), 7);
    for (sql, at) in [
        ("SELECT ?1", 7),
        ("SELECT ?", 7),
        ("SELECT :name", 7),
        ("SELECT @name", 7),
        ("SELECT $name", 7),
        ("SELECT #name", 7),
        ("SELECT a, :a", 10),
    ] {
        assert_eq!(refused_at(sql, Dialect::Sqlite), at, "{sql}");
    }
    // `$` inside an identifier is part of it.
    assert!(run("SELECT a$b FROM t", Dialect::Sqlite).is_ok());
    // Optional clauses still work around bracket identifiers.
    assert_eq!(
        run("SELECT 1 [[ AND [col] = {{t}} ]]", Dialect::Sqlite).unwrap(),
        "SELECT 1  AND [col] = ? "
    );
}

#[test]
fn postgres_dollar_quote_tags_may_be_any_letters() {
    assert_eq!(
        run("SELECT $ü$ , $1 $ü$, {{t}}", Dialect::Postgres).unwrap(),
        "SELECT $ü$ , $1 $ü$, $1"
    );
    assert_eq!(
        run("SELECT $tag_1$ $1 $tag_1$, {{t}}", Dialect::Postgres).unwrap(),
        "SELECT $tag_1$ $1 $tag_1$, $1"
    );
    assert_eq!(refused_at("SELECT $é$ {{t}} $é$", Dialect::Postgres), 12);
}

#[test]
fn postgres_escape_strings_continue_across_lines_with_escapes() {
    // E'a' and the next line's '...' are one constant: \' stays escaped.
    let sql = "SELECT E'a'\n'\\' , $1 -- ', {{t}}";
    assert_eq!(
        run(sql, Dialect::Postgres).unwrap(),
        "SELECT E'a'\n'\\' , $1 -- ', $1"
    );
    let sql = "SELECT E'a'\n'\\' , x', {{t}}";
    assert_eq!(
        run(sql, Dialect::Postgres).unwrap(),
        "SELECT E'a'\n'\\' , x', $1"
    );
    let sql = "SELECT E'a' -- c\n  -- d\n'\\' , x', {{t}}";
    assert!(run(sql, Dialect::Postgres).unwrap().ends_with(", $1"));
    // Without a newline it is not a continuation (and a backslash in a
    // plain string is refused).
    assert_eq!(refused_at("SELECT E'a' '\\' , x'", Dialect::Postgres), 13);
    assert!(run("SELECT E'a'\x0b\n'b'", Dialect::Postgres).is_err());
}

#[test]
fn postgres_backslash_in_plain_strings_is_refused() {
    // standard_conforming_strings=off would read \' as an escaped quote.
    assert_eq!(refused_at(r"SELECT 'a\', $1 -- '", Dialect::Postgres), 9);
    assert!(run(r"SELECT E'a\'b', {{t}}", Dialect::Postgres).is_ok());
    assert!(run(r#"SELECT "a\b", $q$ \ $q$, {{t}}"#, Dialect::Postgres).is_ok());
}

#[test]
fn postgres_line_comments_end_at_a_carriage_return() {
    assert_eq!(refused_at("SELECT 1 -- c\r, $1", Dialect::Postgres), 16);
    // MySQL and SQLite end them at a newline only.
    assert!(run("SELECT 1 -- c\r, ?\n", Dialect::Mysql).is_ok());
    assert!(run("SELECT 1 -- c\r, ?\n", Dialect::Sqlite).is_ok());
}

#[test]
fn nested_block_comments() {
    assert!(run("SELECT 1 /* a /* b */ $1 */, {{t}}", Dialect::Postgres).is_ok());
    assert_eq!(refused_at("SELECT 1 /* a /* b */ ? */", Dialect::Mysql), 14);
    assert_eq!(
        refused_at("SELECT 1 /* a /* b */ ? */", Dialect::Sqlite),
        14
    );
}

#[test]
fn removed_markers_never_glue_tokens() {
    let pg =
        |sql: &str, v: serde_json::Value| resolve(sql, &vars(v), Dialect::Postgres).map(|q| q.sql);
    // A placeholder never runs into a digit, a letter or another one.
    assert_eq!(pg("SELECT {{n}}1", json!({"n": 5})).unwrap(), "SELECT $1 1");
    assert_eq!(pg("SELECT a{{n}}", json!({"n": 5})).unwrap(), "SELECT a $1");
    assert_eq!(
        pg("SELECT {{n}}{{m}}", json!({"n": 5, "m": 6})).unwrap(),
        "SELECT $1 $2"
    );
    let q = resolve("SELECT {{n}}1", &vars(json!({"n": 5})), Dialect::Sqlite).unwrap();
    assert_eq!(q.sql, "SELECT ? 1");
    // Operators and parentheses touch placeholders as written.
    assert_eq!(
        pg("a={{n}} AND b IN({{n}})", json!({"n": 5})).unwrap(),
        "a=$1 AND b IN($1)"
    );
    // A dropped or kept clause never makes `--` or `/*`.
    assert_eq!(
        pg("SELECT 1 -[[{{x}}]]-1", json!({})).unwrap(),
        "SELECT 1 - -1"
    );
    assert_eq!(
        pg("SELECT 1 /[[{{x}}]]* 2", json!({})).unwrap(),
        "SELECT 1 / * 2"
    );
    assert_eq!(
        pg("SELECT 1 -[[-{{x}}]]", json!({"x": 1})).unwrap(),
        "SELECT 1 - -$1"
    );
    assert_eq!(pg("SELECT a[[ {{x}} ]]b", json!({})).unwrap(), "SELECT a b");
}
