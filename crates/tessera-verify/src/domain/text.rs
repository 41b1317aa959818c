//! The shared rule for bounded identifier-like text: ids, names and mapping
//! entries are 1..=256 bytes of UTF-8 without control characters.

/// The longest id, name or mapping entry, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 256;

/// Checks the bounded-text rule; the error is a sentence fragment such as
/// "must not be empty".
pub(crate) fn check_bounded_text(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if value.len() > MAX_TEXT_BYTES {
        return Err(format!(
            "must be at most {MAX_TEXT_BYTES} bytes of UTF-8 (got {})",
            value.len()
        ));
    }
    if let Some(position) = value.chars().position(char::is_control) {
        return Err(format!(
            "must not contain control characters (found one at character {position})"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_unicode_and_punctuation() {
        assert_eq!(check_bounded_text("ex {a}:*b é 例"), Ok(()));
    }

    #[test]
    fn rejects_empty_long_and_control() {
        assert!(check_bounded_text("").is_err());
        assert!(check_bounded_text(&"a".repeat(257)).is_err());
        assert_eq!(check_bounded_text(&"a".repeat(256)), Ok(()));
        assert!(check_bounded_text("a\nb").is_err());
        assert!(check_bounded_text("a\u{7f}").is_err());
    }
}
