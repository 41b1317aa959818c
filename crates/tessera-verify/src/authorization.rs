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
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthorizationError::Malformed);
    }
    Ok(Credential { scheme, value })
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
            b"",
        ] {
            assert_eq!(parse(bad), Err(AuthorizationError::Malformed), "{bad:?}");
        }
    }
}
