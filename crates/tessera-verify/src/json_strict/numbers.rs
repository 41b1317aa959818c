//! Numbers that would not survive parsing unchanged are refused: an
//! integer outside `i64`/`u64`, a number outside the finite `f64` range,
//! or a decimal with more precision than an `f64` holds (it would be
//! rounded, so the stored value would differ from the one sent).
//!
//! serde_json hands over numbers already converted, so the check reads the
//! number lexemes of the raw text (strings skipped); serde_json still
//! decides whether the text is JSON at all.

/// The first number in `bytes` that cannot be held exactly, with why.
pub fn first_inexact(bytes: &[u8]) -> Option<String> {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = string_end(bytes, i),
            b'-' | b'0'..=b'9' => {
                let end = number_end(bytes, i);
                let lexeme = std::str::from_utf8(&bytes[i..end]).unwrap_or_default();
                if let Some(problem) = check(lexeme) {
                    return Some(problem);
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    None
}

fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn number_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
        i += 1;
    }
    i
}

fn check(lexeme: &str) -> Option<String> {
    let shown = || {
        let mut text: String = lexeme.chars().take(40).collect();
        if lexeme.len() > 40 {
            text.push_str("...");
        }
        text
    };
    if !lexeme.contains(['.', 'e', 'E']) {
        let fits = lexeme.parse::<i64>().is_ok() || lexeme.parse::<u64>().is_ok();
        return (!fits).then(|| {
            format!(
                "the number {} does not fit a 64-bit integer; send it as a string",
                shown()
            )
        });
    }
    let value = match lexeme.parse::<f64>() {
        Ok(value) if value.is_finite() => value,
        _ => return Some(format!("the number {} is out of range", shown())),
    };
    let exact = decimal(lexeme).is_some_and(|sent| Some(sent) == decimal(&value.to_string()));
    (!exact).then(|| {
        format!(
            "the number {} cannot be held exactly (it would become {value}); send it as a string",
            shown()
        )
    })
}

/// A decimal as (negative, significant digits, exponent) with
/// value = 0.digits × 10^exponent; zero has no digits (and no sign).
fn decimal(text: &str) -> Option<(bool, String, i64)> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i64>().ok()?),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let significant = digits.trim_matches('0');
    if significant.is_empty() {
        return Some((false, String::new(), 0));
    }
    let position = i64::try_from(whole.len()).ok()? - i64::try_from(leading).ok()?;
    Some((
        negative,
        significant.to_owned(),
        position.checked_add(exponent)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::first_inexact;

    #[test]
    fn exact_numbers_pass() {
        for text in [
            "0",
            "-0",
            "1",
            "-9223372036854775808",
            "18446744073709551615",
            "0.1",
            "1.5e3",
            "1E+2",
            "0.30000000000000004",
            "1.0",
            "2.50",
            "-0.0",
            "1e-7",
            "123456789012.5",
        ] {
            assert_eq!(first_inexact(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn rounded_or_out_of_range_numbers_are_named() {
        for text in [
            "18446744073709551616",
            "-9223372036854775809",
            "9007199254740993.0",
            "0.1000000000000000000001",
            "1e400",
            "-1e400",
            "1e-400",
            "3.141592653589793238462643383279",
        ] {
            let problem = first_inexact(text.as_bytes());
            assert!(problem.is_some(), "{text} passed");
        }
    }

    #[test]
    fn numbers_inside_strings_are_text() {
        assert_eq!(
            first_inexact(br#"{"a":"1e400","b\"":"99999999999999999999"}"#),
            None
        );
        assert!(first_inexact(br#"{"a":"x","b":[1, 1e400]}"#).is_some());
    }
}
