//! Rendering scanned parts: placeholders in the SQL, values in the
//! parameter list.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::scanner::Part;
use super::{Dialect, SqlError};

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

struct Render<'v> {
    variables: &'v Map<String, Value>,
    dialect: Dialect,
    out: ResolvedQuery,
    /// PostgreSQL: the placeholders already given to each variable.
    numbered: HashMap<String, String>,
}

/// Renders `parts` with `variables`.
pub fn render(
    parts: &[Part<'_>],
    variables: &Map<String, Value>,
    dialect: Dialect,
) -> Result<ResolvedQuery, SqlError> {
    let mut render = Render {
        variables,
        dialect,
        out: ResolvedQuery {
            sql: String::with_capacity(parts.len() * 16),
            params: Vec::new(),
            variables_used: Vec::new(),
        },
        numbered: HashMap::new(),
    };
    for part in parts {
        match part {
            Part::Text(text) => render.out.sql.push_str(text),
            Part::Var { name, offset } => render.variable(name, *offset)?,
            Part::Optional { parts, .. } => {
                let complete = parts.iter().all(|part| match part {
                    Part::Var { name, .. } => variables.contains_key(*name),
                    _ => true,
                });
                if complete {
                    for part in parts {
                        match part {
                            Part::Text(text) => render.out.sql.push_str(text),
                            Part::Var { name, offset } => render.variable(name, *offset)?,
                            Part::Optional { .. } => {}
                        }
                    }
                }
            }
        }
    }
    Ok(render.out)
}

impl Render<'_> {
    fn variable(&mut self, name: &str, offset: usize) -> Result<(), SqlError> {
        let value = self
            .variables
            .get(name)
            .ok_or_else(|| SqlError::VariableMissing {
                name: name.to_owned(),
                offset,
            })?;
        if !self.out.variables_used.iter().any(|used| used == name) {
            self.out.variables_used.push(name.to_owned());
        }
        if let Some(placeholders) = self.numbered.get(name) {
            self.out.sql.push_str(placeholders);
            return Ok(());
        }
        let values: Vec<&Value> = match value {
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
                items.iter().collect()
            }
            scalar => vec![scalar],
        };
        let mut placeholders = String::new();
        for (index, value) in values.into_iter().enumerate() {
            if index > 0 {
                placeholders.push_str(", ");
            }
            self.out.params.push(value.clone());
            match self.dialect {
                Dialect::Postgres => {
                    placeholders.push('$');
                    placeholders.push_str(&self.out.params.len().to_string());
                }
                Dialect::Mysql | Dialect::Sqlite => placeholders.push('?'),
            }
        }
        self.out.sql.push_str(&placeholders);
        if self.dialect == Dialect::Postgres {
            self.numbered.insert(name.to_owned(), placeholders);
        }
        Ok(())
    }
}
