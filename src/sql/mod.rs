//! SQL variables: `{{name}}` references in a dashboard query become bound
//! parameters, never spliced text.
//!
//! [`resolve`] scans the query once (linear in its length), leaving string
//! literals, quoted identifiers and comments alone, and produces the SQL
//! with placeholders (`$1, $2, ...` for PostgreSQL, `?` for MySQL and
//! SQLite), the typed parameter values in order, and the names used.
//!
//! - An array value expands to a placeholder list for `IN (...)`; an empty
//!   array is an error (it would silently match nothing).
//! - `[[ ... ]]` is an optional clause: kept (without the brackets) when
//!   every variable inside is present, dropped whole otherwise. Optional
//!   clauses do not nest.
//! - A variable missing outside an optional clause, an object value, a
//!   `{{` inside a string literal or quoted identifier, and a malformed
//!   reference are errors with the byte offset. A value's text is never
//!   scanned, so `{{other}}` inside a value is just data.
//! - Placeholders written by hand (`$1` in PostgreSQL, `?` in MySQL and
//!   SQLite) are refused: they would be misnumbered against the bound ones.
//!
//! This module knows nothing of HTTP or tokens: the caller passes the
//! variables of a *verified* token.

mod error;
mod guard;
mod lexical;
mod render;
mod scanner;

use serde_json::{Map, Value};

pub use error::SqlError;
pub use guard::MAX_GUARDED_SQL_BYTES;
pub use render::{MAX_PARAM_BYTES, MAX_PARAMS, MAX_SQL_BYTES, ResolvedQuery};

/// The SQL dialect, which decides quoting rules and placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL: `$1, $2, ...`; `E'...'` and `$tag$...$tag$` strings.
    Postgres,
    /// MySQL: `?`; backtick identifiers; backslash escapes in strings.
    Mysql,
    /// SQLite: `?`.
    Sqlite,
}

impl std::str::FromStr for Dialect {
    type Err = tessera_verify::ParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "mysql" => Ok(Self::Mysql),
            "sqlite" => Ok(Self::Sqlite),
            other => Err(tessera_verify::ParseError::new(
                "dialect",
                format!("unknown dialect {other:?}: use postgres, mysql or sqlite"),
            )),
        }
    }
}

/// Resolves the `{{variables}}` of `sql` against `variables`.
pub fn resolve(
    sql: &str,
    variables: &Map<String, Value>,
    dialect: Dialect,
) -> Result<ResolvedQuery, SqlError> {
    resolve_requiring(sql, variables, dialect, &[])
}

/// [`resolve`], refusing the query unless every name in `require` is
/// referenced outside an optional clause (the tenant guard: a dashboard
/// query that forgets the tenant filter is refused rather than run for
/// everyone).
pub fn resolve_requiring(
    sql: &str,
    variables: &Map<String, Value>,
    dialect: Dialect,
    require: &[String],
) -> Result<ResolvedQuery, SqlError> {
    let parts = scanner::scan(sql, dialect)?;
    for name in require {
        if !scanner::references_outside_optional(&parts, name) {
            return Err(SqlError::TenantFilterMissing {
                name: name.clone(),
                context: "it is not referenced outside an optional clause".to_owned(),
            });
        }
    }
    let rendered = render::render(&parts, variables, dialect, !require.is_empty())?;
    guard::check(&rendered, dialect, require)?;
    Ok(rendered.query)
}

#[cfg(test)]
mod tests;
