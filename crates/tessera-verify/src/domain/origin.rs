//! Browser origins (`scheme://host[:port]`), as `--cors-origins` and a
//! token's `allowed_origins` name them: `http` or `https`, a host, an
//! optional port, nothing else (no path, no wildcard).

/// The most origins one token may be bound to.
pub const MAX_ALLOWED_ORIGINS: usize = 16;
/// The longest origin accepted, so that a token bound to the most origins
/// still fits the 16 KiB every verifier accepts (`tests/token_size.rs`).
pub const MAX_ORIGIN_BYTES: usize = 56;

/// An exact origin, lowercased; the error says why `text` is not one.
pub fn parse_origin(text: &str) -> Result<String, String> {
    let refuse = |why: &str| format!("{text:?} {why}");
    if text.len() > MAX_ORIGIN_BYTES {
        return Err(refuse(&format!("is longer than {MAX_ORIGIN_BYTES} bytes")));
    }
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| refuse("is not an http:// or https:// origin"))?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => (host, Some(port)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|port| port > 0));
    if !host_ok || !port_ok {
        return Err(refuse(
            "is not an origin (scheme://host[:port], no path, no wildcard)",
        ));
    }
    Ok(text.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::parse_origin;

    #[test]
    fn exact_origins_only() {
        assert_eq!(
            parse_origin("https://App.Example.com"),
            Ok("https://app.example.com".into())
        );
        assert!(parse_origin("http://localhost:3000").is_ok());
        for bad in [
            "app.example.com",
            "https://a/",
            "https://a/path",
            "https://*.a.com",
            "ftp://a",
            "https://",
            "https://a:0",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}
