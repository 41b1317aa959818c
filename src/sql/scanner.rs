//! The scanner: splits a query into text, variable references and optional
//! clauses in one pass, skipping string literals, quoted identifiers and
//! comments by the dialect's rules.

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
            (b'-', Some(b'-')) => line_end(bytes, i),
            (b'#', _) if dialect == Dialect::Mysql => line_end(bytes, i),
            (b'/', Some(b'*')) => block_comment_end(bytes, i, dialect)?,
            (b'\'', _) => {
                let escapes = match dialect {
                    Dialect::Mysql => true,
                    Dialect::Postgres => is_escape_string_prefix(bytes, i),
                    Dialect::Sqlite => false,
                };
                quoted_end(bytes, i, escapes, "a string literal")?
            }
            (b'"', _) if dialect == Dialect::Mysql => {
                quoted_end(bytes, i, true, "a string literal")?
            }
            (b'"', _) => quoted_end(bytes, i, false, "a quoted identifier")?,
            (b'`', _) if dialect != Dialect::Postgres => {
                quoted_end(bytes, i, false, "a quoted identifier")?
            }
            (b'$', _) if dialect == Dialect::Postgres => dollar(bytes, i)?,
            (b'?', _) if dialect != Dialect::Postgres => {
                return Err(SqlError::invalid(
                    i,
                    "a ? placeholder written in the query; use {{name}} (it becomes a bound parameter)",
                ));
            }
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
            _ => i + 1,
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

fn line_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| start + n + 1)
}

fn block_comment_end(bytes: &[u8], start: usize, dialect: Dialect) -> Result<usize, SqlError> {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') if depth == 0 || dialect == Dialect::Postgres => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Ok(i);
                }
            }
            _ => i += 1,
        }
    }
    Err(SqlError::invalid(start, "unterminated /* comment"))
}

/// A PostgreSQL `E'...'` string: an `E` that does not end an identifier.
fn is_escape_string_prefix(bytes: &[u8], quote: usize) -> bool {
    quote >= 1
        && matches!(bytes[quote - 1], b'E' | b'e')
        && (quote < 2 || !is_identifier_byte(bytes[quote - 2]))
}

fn is_identifier_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80
}

/// The end of a quoted run opened at `start` by its quote character; the
/// quote doubled inside stands for itself, and with `escapes` a backslash
/// escapes the next byte. `{{` inside is an error: it would not be bound.
fn quoted_end(bytes: &[u8], start: usize, escapes: bool, what: &str) -> Result<usize, SqlError> {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if escapes => i += 2,
            b if b == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return Ok(i + 1);
                }
            }
            b'{' if bytes.get(i + 1) == Some(&b'{') => return Err(inside_quotes(i, what)),
            _ => i += 1,
        }
    }
    Err(SqlError::invalid(start, format!("unterminated {what}")))
}

fn inside_quotes(offset: usize, what: &str) -> SqlError {
    SqlError::invalid(
        offset,
        format!(
            "{{{{ inside {what}: a variable is a bound parameter and is never spliced into quotes; \
             write {{{{name}}}} outside the quotes"
        ),
    )
}

/// A `$` in PostgreSQL: a dollar-quoted string (`$tag$...$tag$`), a
/// hand-written positional parameter (refused), or an ordinary character.
fn dollar(bytes: &[u8], start: usize) -> Result<usize, SqlError> {
    let follows_identifier = start > 0 && is_identifier_byte(bytes[start - 1]);
    if follows_identifier {
        return Ok(start + 1);
    }
    if bytes.get(start + 1).is_some_and(u8::is_ascii_digit) {
        return Err(SqlError::invalid(
            start,
            "a positional parameter written in the query; use {{name}} (it becomes a bound parameter)",
        ));
    }
    let mut tag_end = start + 1;
    while tag_end < bytes.len()
        && (bytes[tag_end].is_ascii_alphanumeric() || bytes[tag_end] == b'_')
    {
        tag_end += 1;
    }
    if bytes.get(tag_end) != Some(&b'$') {
        return Ok(start + 1);
    }
    let delimiter = &bytes[start..=tag_end];
    let body = tag_end + 1;
    let close = bytes[body..]
        .windows(delimiter.len())
        .position(|window| window == delimiter)
        .ok_or_else(|| SqlError::invalid(start, "unterminated dollar-quoted string"))?;
    if let Some(at) = bytes[body..body + close]
        .windows(2)
        .position(|w| w == b"{{")
    {
        return Err(inside_quotes(body + at, "a dollar-quoted string"));
    }
    Ok(body + close + delimiter.len())
}
