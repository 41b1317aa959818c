//! Rendering scanned parts: placeholders in the SQL, values in the
//! parameter list.
//!
//! Two promises hold here. The work is bounded before it is done: at most
//! [`MAX_PARAMS`] parameters, [`MAX_SQL_BYTES`] of SQL and
//! [`MAX_PARAM_BYTES`] of parameter values, each checked before the piece
//! that would pass it is copied. And removing a marker never changes how
//! the server splits the rest into tokens: where a placeholder or the
//! edge of an optional clause meets text that could run into it (`-` and
//! `-`, `/` and `*`, `$1` and a digit), a space keeps them apart.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::guard::Binding;
use super::scanner::Part;
use super::{Dialect, SqlError};

/// The most bound parameters: the protocol limit of PostgreSQL and MySQL.
pub const MAX_PARAMS: usize = 65_535;
/// The longest resolved SQL.
pub const MAX_SQL_BYTES: usize = 1024 * 1024;
/// The most bytes of string parameter values (other values are bounded by
/// [`MAX_PARAMS`]).
pub const MAX_PARAM_BYTES: usize = 1024 * 1024;

/// A query ready to run with bound parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedQuery {
    /// The SQL with placeholders.
    pub sql: String,
    /// The parameter values, in placeholder order, with their JSON types
    /// (string, integer, float, boolean, null).
    pub params: Vec<Value>,
    /// The variables bound, in order of first use.
    pub variables_used: Vec<String>,
}

/// A resolved query and where each of its placeholders came from.
pub struct Rendered {
    /// The query.
    pub query: ResolvedQuery,
    /// Where each placeholder is, when asked for.
    pub bindings: Vec<Binding>,
}

/// What the last piece written ended with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edge {
    /// Text that was contiguous in the query.
    Text,
    /// A marker (`[[`, `]]` or a dropped clause) was removed here.
    Removed,
    /// A placeholder.
    Placeholder,
}

struct Render<'v> {
    variables: &'v Map<String, Value>,
    dialect: Dialect,
    out: ResolvedQuery,
    /// Placeholder positions, kept only when the guard will read them.
    bindings: Option<Vec<Binding>>,
    /// PostgreSQL: the placeholders already given to each variable.
    numbered: HashMap<&'v str, String>,
    param_bytes: usize,
    edge: Edge,
}

/// Renders `parts` with `variables`; with `locate`, also records where
/// each placeholder is (for the tenant guard).
pub fn render(
    parts: &[Part<'_>],
    variables: &Map<String, Value>,
    dialect: Dialect,
    locate: bool,
) -> Result<Rendered, SqlError> {
    let mut render = Render {
        variables,
        dialect,
        out: ResolvedQuery {
            sql: String::with_capacity(parts.len() * 16),
            params: Vec::new(),
            variables_used: Vec::new(),
        },
        bindings: locate.then(Vec::new),
        numbered: HashMap::new(),
        param_bytes: 0,
        edge: Edge::Text,
    };
    for part in parts {
        match part {
            Part::Text(text) => render.text(text)?,
            Part::Var { name, offset } => render.variable(name, *offset)?,
            Part::Optional { parts, .. } => {
                render.edge = Edge::Removed;
                let complete = parts.iter().all(|part| match part {
                    Part::Var { name, .. } => variables.contains_key(*name),
                    _ => true,
                });
                if complete {
                    for part in parts {
                        match part {
                            Part::Text(text) => render.text(text)?,
                            Part::Var { name, offset } => render.variable(name, *offset)?,
                            Part::Optional { .. } => {}
                        }
                    }
                    render.edge = Edge::Removed;
                }
            }
        }
    }
    Ok(Rendered {
        query: render.out,
        bindings: render.bindings.unwrap_or_default(),
    })
}

/// Whether `byte` stands alone as a token in every dialect, or is space.
fn separates(byte: u8) -> bool {
    byte.is_ascii_whitespace() || matches!(byte, b'(' | b')' | b',')
}

/// Operators a placeholder (`$n`, `?`) can touch without forming a token.
fn operator(byte: u8) -> bool {
    matches!(
        byte,
        b'=' | b'<' | b'>' | b'!' | b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'|' | b'&' | b'~'
    )
}

impl<'v> Render<'v> {
    /// Writes `piece`, first a space where it would run into what precedes.
    fn write(&mut self, piece: &str, placeholder: bool) -> Result<(), SqlError> {
        let space = match (self.out.sql.as_bytes().last(), piece.as_bytes().first()) {
            (Some(&before), Some(&first)) if self.edge != Edge::Text || placeholder => {
                let touches_placeholder = placeholder || self.edge == Edge::Placeholder;
                let other = if placeholder { before } else { first };
                !(separates(before) || separates(first) || (touches_placeholder && operator(other)))
            }
            _ => false,
        };
        let needed = self.out.sql.len() + usize::from(space) + piece.len();
        if needed > MAX_SQL_BYTES {
            return Err(SqlError::TooLarge(format!(
                "the resolved SQL would exceed {MAX_SQL_BYTES} bytes"
            )));
        }
        if space {
            self.out.sql.push(' ');
        }
        self.out.sql.push_str(piece);
        self.edge = if placeholder {
            Edge::Placeholder
        } else {
            Edge::Text
        };
        Ok(())
    }

    fn text(&mut self, text: &str) -> Result<(), SqlError> {
        self.write(text, false)
    }

    fn variable(&mut self, name: &str, offset: usize) -> Result<(), SqlError> {
        let Some((name, value)) = self.variables.get_key_value(name) else {
            return Err(SqlError::VariableMissing {
                name: name.to_owned(),
                offset,
            });
        };
        let values: &[Value] = match value {
            Value::Object(_) => {
                return Err(SqlError::invalid(
                    offset,
                    format!(
                        "{name} is an object; only strings, numbers, booleans, null and arrays of those bind"
                    ),
                ));
            }
            Value::Array(items) if items.is_empty() => {
                return Err(SqlError::invalid(
                    offset,
                    format!("{name} is an empty array; IN () would silently match nothing"),
                ));
            }
            Value::Array(items) => {
                if items
                    .iter()
                    .any(|item| matches!(item, Value::Array(_) | Value::Object(_)))
                {
                    return Err(SqlError::invalid(
                        offset,
                        format!("{name} holds nested arrays or objects"),
                    ));
                }
                items
            }
            scalar => std::slice::from_ref(scalar),
        };
        let variable = match self.out.variables_used.iter().position(|used| used == name) {
            Some(index) => index,
            None => {
                self.out.variables_used.push(name.clone());
                self.out.variables_used.len() - 1
            }
        };
        let placeholders = match self.numbered.get(name.as_str()) {
            Some(placeholders) => placeholders.clone(),
            None => {
                self.bind(values)?;
                let first = self.out.params.len() - values.len() + 1;
                let placeholders = placeholder_list(self.dialect, first, values.len());
                if self.dialect == Dialect::Postgres {
                    self.numbered.insert(name.as_str(), placeholders.clone());
                }
                placeholders
            }
        };
        let start = self.out.sql.len();
        self.write(&placeholders, true)?;
        if let Some(bindings) = &mut self.bindings {
            // One binding per placeholder in the list.
            let lead = self.out.sql.len() - start - placeholders.len();
            for (at, _) in placeholders.match_indices(['$', '?']) {
                bindings.push(Binding {
                    offset: start + lead + at,
                    variable,
                });
            }
        }
        Ok(())
    }

    /// Appends `values` to the parameters, refusing first if they would
    /// pass a limit.
    fn bind(&mut self, values: &[Value]) -> Result<(), SqlError> {
        if self.out.params.len() + values.len() > MAX_PARAMS {
            return Err(SqlError::TooLarge(format!(
                "the query would bind more than {MAX_PARAMS} parameters"
            )));
        }
        let bytes: usize = values.iter().map(value_bytes).sum();
        if self.param_bytes + bytes > MAX_PARAM_BYTES {
            return Err(SqlError::TooLarge(format!(
                "the parameter values would exceed {MAX_PARAM_BYTES} bytes"
            )));
        }
        self.param_bytes += bytes;
        self.out.params.extend_from_slice(values);
        Ok(())
    }
}

/// `$first, $first+1, ...` or `?, ?, ...`.
fn placeholder_list(dialect: Dialect, first: usize, count: usize) -> String {
    let mut list = String::with_capacity(count * 6);
    for index in 0..count {
        if index > 0 {
            list.push_str(", ");
        }
        match dialect {
            Dialect::Postgres => {
                list.push('$');
                list.push_str(&(first + index).to_string());
            }
            Dialect::Mysql | Dialect::Sqlite => list.push('?'),
        }
    }
    list
}

/// The heap bytes a scalar's copy takes beyond its fixed size.
fn value_bytes(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len(),
        _ => 0,
    }
}
