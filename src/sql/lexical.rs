//! The lexical rules of each dialect that decide where code ends and a
//! string, quoted identifier or comment begins — as the server's own lexer
//! reads them (PostgreSQL's `scan.l`, MariaDB/MySQL's `sql_lex.cc`,
//! SQLite's `tokenize.c`).
//!
//! Where a construct's extent or meaning depends on a server setting the
//! resolver cannot know, it is refused rather than guessed: a backslash in
//! a plain PostgreSQL string (`standard_conforming_strings`), a backslash
//! in a MySQL string (`NO_BACKSLASH_ESCAPES`), a MySQL `"..."`
//! (`ANSI_QUOTES`), MySQL's executed comments (`/*! */`, `/*M! */`), and
//! every placeholder syntax the server itself would bind.
//!
//! No crate does this: `sqlparser` tokenizes one idealised dialect per
//! type and does not refuse mode-dependent input, so the rules are written
//! here and proven by the differential tests against the real servers.

use super::{Dialect, SqlError};

/// What the scanner finds at a position of code.
pub enum Lexeme {
    /// An ordinary byte of code.
    Code,
    /// A string, quoted identifier or comment that ends before this offset.
    Skip(usize),
}

/// Reads the construct starting at `i` (outside strings and comments), or
/// refuses it. `{{`, `[[` and `]]` are the scanner's, not handled here.
pub fn lexeme(bytes: &[u8], i: usize, dialect: Dialect) -> Result<Lexeme, SqlError> {
    let next = bytes.get(i + 1).copied();
    let skip = match (bytes[i], next, dialect) {
        (b'-', Some(b'-'), Dialect::Mysql) => {
            // MySQL and MariaDB: `--` opens a comment only before whitespace,
            // a control character or the end; `1--1` is 1 - (-1). That
            // reading hangs on the next byte, which removing a marker or
            // clause could change, so the minus-minus form is refused.
            match bytes.get(i + 2) {
                None => bytes.len(),
                Some(&c) if c <= b' ' || c == 0x7f => line_end(bytes, i, dialect),
                Some(_) => {
                    return Err(SqlError::invalid(
                        i,
                        "-- without a following space: MySQL reads it as two minus signs; write '- -', or '-- ' for a comment",
                    ));
                }
            }
        }
        (b'-', Some(b'-'), _) => line_end(bytes, i, dialect),
        (b'#', _, Dialect::Mysql) => line_end(bytes, i, dialect),
        (b'/', Some(b'*'), Dialect::Mysql) => {
            let rest = &bytes[i + 2..];
            if rest.starts_with(b"!") || rest.starts_with(b"M!") {
                return Err(SqlError::invalid(
                    i,
                    "an executed comment (/*! ... */ or /*M! ... */): the server runs its text; write it as plain SQL",
                ));
            }
            block_comment_end(bytes, i, false)?
        }
        (b'/', Some(b'*'), dialect) => block_comment_end(bytes, i, dialect == Dialect::Postgres)?,
        (b'\'', _, Dialect::Postgres) if is_escape_string_prefix(bytes, i) => {
            escape_string_end(bytes, i)?
        }
        (b'\'', _, Dialect::Postgres) => quoted_end(
            bytes,
            i,
            Backslash::Refused(
                "a backslash in a plain string: its meaning depends on standard_conforming_strings; write E'...' for escapes",
            ),
            "a string literal",
        )?,
        (b'\'', _, Dialect::Mysql) => quoted_end(
            bytes,
            i,
            Backslash::Refused(
                "a backslash in a string: its meaning depends on NO_BACKSLASH_ESCAPES; double a quote ('') instead of escaping it",
            ),
            "a string literal",
        )?,
        (b'\'', _, Dialect::Sqlite) => quoted_end(bytes, i, Backslash::Plain, "a string literal")?,
        (b'"', _, Dialect::Mysql) => {
            return Err(SqlError::invalid(
                i,
                "\"...\" is a string or an identifier depending on ANSI_QUOTES; write '...' for strings and `...` for identifiers",
            ));
        }
        (b'"', _, _) => quoted_end(bytes, i, Backslash::Plain, "a quoted identifier")?,
        (b'`', _, Dialect::Mysql | Dialect::Sqlite) => {
            quoted_end(bytes, i, Backslash::Plain, "a quoted identifier")?
        }
        (b'[', _, Dialect::Sqlite) => bracket_identifier_end(bytes, i)?,
        (b'$', _, Dialect::Postgres) => return dollar(bytes, i),
        (b'?', _, Dialect::Mysql | Dialect::Sqlite) => {
            return Err(hand_written(i, "a ? placeholder"));
        }
        (b'$', _, Dialect::Sqlite) if !follows_identifier(bytes, i) => {
            return Err(hand_written(i, "a $name parameter"));
        }
        (b':' | b'@' | b'#', _, Dialect::Sqlite) => {
            return Err(hand_written(i, "a :name, @name or #name parameter"));
        }
        _ => return Ok(Lexeme::Code),
    };
    Ok(Lexeme::Skip(skip))
}

fn hand_written(offset: usize, what: &str) -> SqlError {
    SqlError::invalid(
        offset,
        format!("{what} written in the query; use {{{{name}}}} (it becomes a bound parameter)"),
    )
}

/// The end of a line comment at `start`: PostgreSQL ends it at a newline
/// or a carriage return, MySQL and SQLite at a newline only.
fn line_end(bytes: &[u8], start: usize, dialect: Dialect) -> usize {
    let ends = |b: u8| b == b'\n' || (b == b'\r' && dialect == Dialect::Postgres);
    bytes[start..]
        .iter()
        .position(|&b| ends(b))
        .map_or(bytes.len(), |n| start + n + 1)
}

/// The end of `/* ... */` at `start`. PostgreSQL nests them; MySQL and
/// SQLite do not, and a `/*` inside one is refused there (servers have
/// disagreed on it across versions).
fn block_comment_end(bytes: &[u8], start: usize, nests: bool) -> Result<usize, SqlError> {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') if depth == 0 || nests => {
                depth += 1;
                i += 2;
            }
            (b'/', b'*') => {
                return Err(SqlError::invalid(
                    i,
                    "/* inside a comment: this dialect does not nest comments",
                ));
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

/// Whether `byte` continues an identifier (PostgreSQL and SQLite allow `$`
/// and every non-ASCII byte).
pub fn is_identifier_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80
}

fn follows_identifier(bytes: &[u8], i: usize) -> bool {
    i > 0 && is_identifier_byte(bytes[i - 1])
}

/// What a backslash means inside a quoted run.
#[derive(Clone, Copy)]
enum Backslash {
    /// An ordinary character.
    Plain,
    /// It escapes the next byte.
    Escapes,
    /// Its meaning depends on a server mode: refused, with this reason.
    Refused(&'static str),
}

/// The end of a quoted run opened at `start` by its quote character; the
/// quote doubled inside stands for itself. `{{` inside is an error: it
/// would not be bound.
fn quoted_end(
    bytes: &[u8],
    start: usize,
    backslash: Backslash,
    what: &str,
) -> Result<usize, SqlError> {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match (bytes[i], backslash) {
            (b'\\', Backslash::Escapes) => i += 2,
            (b'\\', Backslash::Refused(reason)) => return Err(SqlError::invalid(i, reason)),
            (b, _) if b == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return Ok(i + 1);
                }
            }
            (b'{', _) if bytes.get(i + 1) == Some(&b'{') => return Err(inside_quotes(i, what)),
            _ => i += 1,
        }
    }
    Err(SqlError::invalid(start, format!("unterminated {what}")))
}

/// A PostgreSQL `E'...'` string, with its continuations: a string that
/// follows after whitespace holding a newline (and `--` comments) is the
/// same constant, and keeps the backslash escapes.
fn escape_string_end(bytes: &[u8], start: usize) -> Result<usize, SqlError> {
    let mut end = quoted_end(bytes, start, Backslash::Escapes, "a string literal")?;
    while let Some(next) = continuation(bytes, end)? {
        end = quoted_end(bytes, next, Backslash::Escapes, "a string literal")?;
    }
    Ok(end)
}

/// Where a PostgreSQL string continues after `end` (`quotecontinue` in
/// `scan.l`): the offset of the next quote when only horizontal space and
/// `--` comments, then a newline, then any space and comments stand
/// between. A vertical tab there is refused: PostgreSQL versions disagree
/// on whether it is space.
fn continuation(bytes: &[u8], end: usize) -> Result<Option<usize>, SqlError> {
    let mut i = end;
    let mut newline = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' | b'\r' => {
                newline = true;
                i += 1;
            }
            b' ' | b'\t' | b'\x0c' => i += 1,
            b'\x0b' => {
                return Err(SqlError::invalid(
                    i,
                    "a vertical tab after an E'...' string: PostgreSQL versions disagree on whether the string continues",
                ));
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = line_end(bytes, i, Dialect::Postgres);
                newline |= matches!(bytes.get(i - 1), Some(b'\n' | b'\r'));
            }
            b'\'' if newline => return Ok(Some(i)),
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// A SQLite `[identifier]`: ends at the first `]`, no escapes.
fn bracket_identifier_end(bytes: &[u8], start: usize) -> Result<usize, SqlError> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b']' => return Ok(i + 1),
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                return Err(inside_quotes(i, "a [quoted identifier]"));
            }
            _ => i += 1,
        }
    }
    Err(SqlError::invalid(start, "unterminated [quoted identifier]"))
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

/// A `$` in PostgreSQL: a dollar-quoted string (`$tag$...$tag$`, the tag
/// an identifier without `$`: letters of any script, digits after the
/// first, `_`), a hand-written positional parameter (refused), or an
/// ordinary character.
fn dollar(bytes: &[u8], start: usize) -> Result<Lexeme, SqlError> {
    if follows_identifier(bytes, start) {
        return Ok(Lexeme::Code);
    }
    if bytes.get(start + 1).is_some_and(u8::is_ascii_digit) {
        return Err(hand_written(start, "a positional parameter"));
    }
    let mut tag_end = start + 1;
    while tag_end < bytes.len() && is_identifier_byte(bytes[tag_end]) && bytes[tag_end] != b'$' {
        tag_end += 1;
    }
    if bytes.get(tag_end) != Some(&b'$') {
        return Ok(Lexeme::Code);
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
    Ok(Lexeme::Skip(body + close + delimiter.len()))
}
