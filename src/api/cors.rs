//! CORS for browsers, off by default: only the routes a dashboard page may
//! call (`POST /api/verify`, `POST /api/token/refresh`,
//! `GET /.well-known/jwks.json`) and their preflights answer with CORS
//! headers; admin routes never do, whatever
//! `--cors-origins` says.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// Which browser origins may read the answers of the CORS routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    /// None (the default): no CORS headers anywhere.
    #[default]
    Off,
    /// Any origin (`*`), echoed back.
    Any,
    /// These exact origins (`scheme://host[:port]`).
    List(Vec<HeaderValue>),
}

/// Why a `--cors-origins` value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--cors-origins / TESSERA_CORS_ORIGINS: {0}")]
pub struct CorsOriginsError(String);

impl CorsOrigins {
    /// Parses `*` or a comma-separated list of exact origins such as
    /// `https://app.example.com,http://localhost:3000`.
    pub fn parse(text: &str) -> Result<Self, CorsOriginsError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Self::Off);
        }
        if text == "*" {
            return Ok(Self::Any);
        }
        text.split(',')
            .map(|origin| parse_origin(origin.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map(Self::List)
    }

    /// The layer for the CORS routes, `None` when off.
    pub fn layer(&self) -> Option<CorsLayer> {
        let origins = match self {
            Self::Off => return None,
            Self::Any => AllowOrigin::mirror_request(),
            Self::List(list) => AllowOrigin::list(list.iter().cloned()),
        };
        Some(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
                .expose_headers([HeaderName::from_static("retry-after")])
                .max_age(PREFLIGHT_MAX_AGE),
        )
    }
}

/// One origin, as a header value.
fn parse_origin(origin: &str) -> Result<HeaderValue, CorsOriginsError> {
    let exact = crate::domain::parse_origin(origin).map_err(CorsOriginsError)?;
    HeaderValue::from_str(&exact).map_err(|_| CorsOriginsError(format!("{origin:?} is not valid")))
}

#[cfg(test)]
mod tests {
    use super::CorsOrigins;

    #[test]
    fn origins_are_exact() {
        assert_eq!(CorsOrigins::parse(""), Ok(CorsOrigins::Off));
        assert_eq!(CorsOrigins::parse("*"), Ok(CorsOrigins::Any));
        let list = CorsOrigins::parse("https://app.example.com, http://localhost:3000");
        assert!(
            matches!(list, Ok(CorsOrigins::List(ref l)) if l.len() == 2),
            "{list:?}"
        );
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "ftp://x",
            "https://",
            "https://a:0",
            "https://a:99999",
            "https://a,*",
        ] {
            assert!(CorsOrigins::parse(bad).is_err(), "{bad}");
        }
    }
}
