//! The one parser of `Authorization` header values, used wherever one is
//! read: `Token <API key>` or `Bearer <credential>` (schemes are
//! case-insensitive, as HTTP says), one space or more, a non-empty
//! credential of visible ASCII.

/// The scheme of an `Authorization` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Bearer`: a user-group token (or, for admin calls, an API key).
    Bearer,
    /// `Token`: an API key.
    Token,
}

/// A parsed `Authorization` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential<'a> {
    /// Its scheme.
    pub scheme: Scheme,
    /// The credential, trimmed.
    pub value: &'a str,
}

/// Why an `Authorization` value is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationError {
    /// Not `<scheme> <credential>` with a known scheme and a credential of
    /// visible ASCII.
    #[error("malformed Authorization header")]
    Malformed,
}

/// Parses an `Authorization` header value (its raw bytes).
pub fn parse(value: &[u8]) -> Result<Credential<'_>, AuthorizationError> {
    let text = std::str::from_utf8(value).map_err(|_| AuthorizationError::Malformed)?;
    let (scheme, rest) = text.split_once(' ').ok_or(AuthorizationError::Malformed)?;
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("token") {
        Scheme::Token
    } else {
        return Err(AuthorizationError::Malformed);
    };
    let value = rest.trim_matches(' ');
    if value.is_empty() || !all_visible_ascii(value.as_bytes()) {
        return Err(AuthorizationError::Malformed);
    }
    Ok(Credential { scheme, value })
}

/// Whether every byte is visible ASCII (`!` to `~`). Tokens are long:
/// this looks at every byte without stopping early, which the compiler
/// turns into a few wide comparisons instead of one branch per byte.
fn all_visible_ascii(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |visible, &b| {
        visible & (b.wrapping_sub(b'!') <= b'~' - b'!')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_credentials() {
        assert_eq!(
            parse(b"Bearer abc.def.ghi"),
            Ok(Credential {
                scheme: Scheme::Bearer,
                value: "abc.def.ghi"
            })
        );
        assert_eq!(
            parse(b"token  tsk_1 "),
            Ok(Credential {
                scheme: Scheme::Token,
                value: "tsk_1"
            })
        );
        for bad in [
            &b"Bearer"[..],
            b"Bearer ",
            b"Basic dXNlcjpwYXNz",
            b"Bearer a b",
            b"Bearer \xff",
            b"Bearer a\x7f",
            b"Bearer \tabc",
            b"",
        ] {
            assert_eq!(parse(bad), Err(AuthorizationError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn visible_ascii_is_exactly_bang_to_tilde() {
        for b in 0..=u8::MAX {
            assert_eq!(
                all_visible_ascii(&[b'a', b, b'z']),
                b.is_ascii_graphic(),
                "{b}"
            );
        }
    }
}
