//! The scanner: splits a query into text, variable references and optional
//! clauses in one pass, skipping string literals, quoted identifiers and
//! comments by the dialect's rules ([`super::lexical`]).

use super::lexical::{self, Lexeme};
use super::{Dialect, SqlError};

/// The longest variable name (the properties' rule).
const MAX_NAME_BYTES: usize = 64;

/// A piece of a scanned query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part<'a> {
    /// SQL text, copied as is.
    Text(&'a str),
    /// `{{name}}` at `offset`.
    Var {
        /// The variable.
        name: &'a str,
        /// Byte offset of the `{{`.
        offset: usize,
    },
    /// `[[ ... ]]` at `offset`: text and variables only.
    Optional {
        /// What is inside.
        parts: Vec<Part<'a>>,
        /// Byte offset of the `[[`.
        offset: usize,
    },
}

/// Whether `name` is referenced outside every optional clause.
pub fn references_outside_optional(parts: &[Part<'_>], name: &str) -> bool {
    parts
        .iter()
        .any(|part| matches!(part, Part::Var { name: used, .. } if *used == name))
}

struct Scan<'a> {
    sql: &'a str,
    top: Vec<Part<'a>>,
    optional: Option<(Vec<Part<'a>>, usize)>,
    text_start: usize,
}

impl<'a> Scan<'a> {
    fn push(&mut self, part: Part<'a>) {
        match &mut self.optional {
            Some((parts, _)) => parts.push(part),
            None => self.top.push(part),
        }
    }

    /// Ends the current text run at `end`.
    fn flush(&mut self, end: usize) {
        if end > self.text_start {
            let text = &self.sql[self.text_start..end];
            self.push(Part::Text(text));
        }
    }
}

/// Scans `sql` into parts.
pub fn scan(sql: &str, dialect: Dialect) -> Result<Vec<Part<'_>>, SqlError> {
    let bytes = sql.as_bytes();
    let mut scan = Scan {
        sql,
        top: Vec::new(),
        optional: None,
        text_start: 0,
    };
    let mut i = 0;
    while i < bytes.len() {
        let next = bytes.get(i + 1).copied();
        i = match (bytes[i], next) {
            (b'{', Some(b'{')) => {
                scan.flush(i);
                let (name, end) = reference(sql, i)?;
                scan.push(Part::Var { name, offset: i });
                scan.text_start = end;
                end
            }
            (b'[', Some(b'[')) => {
                if let Some((_, open)) = scan.optional {
                    return Err(SqlError::invalid(
                        i,
                        format!(
                            "optional clauses do not nest (the one at byte {open} is still open)"
                        ),
                    ));
                }
                scan.flush(i);
                scan.optional = Some((Vec::new(), i));
                scan.text_start = i + 2;
                i + 2
            }
            (b']', Some(b']')) => {
                scan.flush(i);
                let Some((parts, offset)) = scan.optional.take() else {
                    return Err(SqlError::invalid(i, "]] without an opening [["));
                };
                scan.top.push(Part::Optional { parts, offset });
                scan.text_start = i + 2;
                i + 2
            }
            _ => match lexical::lexeme(bytes, i, dialect)? {
                Lexeme::Code => i + 1,
                Lexeme::Skip(end) => end,
            },
        };
    }
    scan.flush(bytes.len());
    if let Some((_, open)) = scan.optional {
        return Err(SqlError::invalid(open, "[[ is never closed with ]]"));
    }
    Ok(scan.top)
}

/// `{{ name }}` at `start`: the name and the offset after `}}`.
fn reference(sql: &str, start: usize) -> Result<(&str, usize), SqlError> {
    let inner_start = start + 2;
    let close = sql[inner_start..]
        .find("}}")
        .ok_or_else(|| SqlError::invalid(start, "{{ is never closed with }}"))?;
    let end = inner_start + close + 2;
    let name = sql[inner_start..inner_start + close].trim();
    if name.is_empty() {
        return Err(SqlError::invalid(start, "empty variable reference {{}}"));
    }
    let mut chars = name.chars();
    let well_formed = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= MAX_NAME_BYTES;
    if !well_formed {
        return Err(SqlError::invalid(
            start,
            format!("invalid variable name {name:?}: names match [A-Za-z_][A-Za-z0-9_]{{0,63}}"),
        ));
    }
    if sql.as_bytes().get(end) == Some(&b'}') {
        return Err(SqlError::invalid(
            end,
            "a stray } after a variable reference",
        ));
    }
    Ok((name, end))
}
