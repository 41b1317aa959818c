//! An oracle for resolved SQL, written apart from the scanner it checks:
//! the property tests here and the `sql_resolve` fuzz target (which
//! includes this file) read placeholders with it.

use std::collections::BTreeSet;

/// The numbers of PostgreSQL placeholders in `sql` (`$` and every digit
/// after it, so `$10` is 10, never 1). A `$` that follows an identifier
/// character is not a placeholder: it continues an identifier or closes a
/// dollar-quote tag (`$tag$0` is the end of a string, then `0`), as the
/// server reads it; a placeholder glued to a word would therefore be
/// missing here and fail the comparison.
pub fn placeholder_numbers(sql: &str) -> BTreeSet<usize> {
    let bytes = sql.as_bytes();
    let mut numbers = BTreeSet::new();
    for (at, _) in sql.match_indices('$') {
        let glued = at > 0 && {
            let before = bytes[at - 1];
            before.is_ascii_alphanumeric() || before == b'_' || before == b'$' || before >= 0x80
        };
        if glued {
            continue;
        }
        let digits: String = bytes[at + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .map(|&b| char::from(b))
            .collect();
        if let Ok(n) = digits.parse() {
            numbers.insert(n);
        }
    }
    numbers
}
