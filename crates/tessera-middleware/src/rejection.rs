//! Why the middleware refused a request, and the answer it sends: the
//! service's JSON error envelope with the same stable codes.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tessera_verify::TokenError;

/// A request the middleware did not let through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The token is not acceptable (its `token_*` code says why).
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The token names a key not held, and the key set cannot be fetched
    /// now: the token is not judged (`503 keys_unavailable`).
    #[error("verifying keys unavailable: {0}")]
    KeysUnavailable(String),
    /// Revocation could not be checked: the token is not treated as valid
    /// (`503 store_unavailable`).
    #[error("revocation could not be checked: {0}")]
    RevocationUnavailable(String),
}

impl Rejection {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Token(err) => err.code(),
            Self::KeysUnavailable(_) => "keys_unavailable",
            Self::RevocationUnavailable(_) => "store_unavailable",
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Token(TokenError::Signing(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Token(TokenError::OriginMismatch) => StatusCode::FORBIDDEN,
            Self::Token(_) => StatusCode::UNAUTHORIZED,
            Self::KeysUnavailable(_) | Self::RevocationUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The message sent to the client (details of 503s stay in the log).
    fn message(&self) -> String {
        match self {
            Self::Token(err) => err.to_string(),
            Self::KeysUnavailable(_) => {
                "the verifying keys could not be fetched; retry shortly".to_owned()
            }
            Self::RevocationUnavailable(_) => "the store is unavailable; retry shortly".to_owned(),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(detail = %self, code = self.code(), "token not judged");
        }
        let mut body = json!({
            "success": 0,
            "error": {"code": self.code(), "message": self.message()},
        });
        if status == StatusCode::UNAUTHORIZED {
            body["valid"] = json!(false);
        }
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer error="invalid_token""#),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
