//! The one error table of the HTTP API: every failure a client can see is an
//! [`ApiError`] with a stable `code`, and [`ErrorCode::status`] is the only
//! place that maps a code to an HTTP status.
//!
//! Domain errors (`FieldError`, `StoreError`, `TokenError`) know nothing of
//! HTTP; the `From` impls here translate them. Details of 5xx failures go to
//! the log, never into a response.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::FieldError;
use crate::ring::SharedRingError;
use crate::sql::SqlError;
use crate::store::StoreError;
use crate::token::revocation::VerifyFailure;
use crate::token::{NoKeys, TokenError};

/// Seconds a client should wait before retrying a 503 or 429.
const RETRY_AFTER_SECS: &str = "1";

/// Every error code of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // the variants are documented by `as_str` and docs/api.md
pub enum ErrorCode {
    InvalidRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    StoreUnavailable,
    Internal,
    TokenMalformed,
    TokenExpired,
    TokenNotYetValid,
    TokenSignatureInvalid,
    TokenUnknownKey,
    TokenRevoked,
    TokenClaimsInvalid,
    SqlInvalid,
    SqlVariableMissing,
    SqlTenantFilterMissing,
    SqlTooLarge,
    KeysUnavailable,
    Conflict,
    CursorExpired,
    Draining,
    SessionExpired,
    TokenOriginMismatch,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 27] = [
        Self::InvalidRequest,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::RateLimited,
        Self::StoreUnavailable,
        Self::Internal,
        Self::TokenMalformed,
        Self::TokenExpired,
        Self::TokenNotYetValid,
        Self::TokenSignatureInvalid,
        Self::TokenUnknownKey,
        Self::TokenRevoked,
        Self::TokenClaimsInvalid,
        Self::SqlInvalid,
        Self::SqlVariableMissing,
        Self::SqlTenantFilterMissing,
        Self::SqlTooLarge,
        Self::KeysUnavailable,
        Self::Conflict,
        Self::CursorExpired,
        Self::Draining,
        Self::SessionExpired,
        Self::TokenOriginMismatch,
    ];

    /// The code as sent in `error.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited => "rate_limited",
            Self::StoreUnavailable => "store_unavailable",
            Self::Internal => "internal",
            Self::TokenMalformed => "token_malformed",
            Self::TokenExpired => "token_expired",
            Self::TokenNotYetValid => "token_not_yet_valid",
            Self::TokenSignatureInvalid => "token_signature_invalid",
            Self::TokenUnknownKey => "token_unknown_key",
            Self::TokenRevoked => "token_revoked",
            Self::TokenClaimsInvalid => "token_claims_invalid",
            Self::SqlInvalid => "sql_invalid",
            Self::SqlVariableMissing => "sql_variable_missing",
            Self::SqlTenantFilterMissing => "sql_tenant_filter_missing",
            Self::SqlTooLarge => "sql_too_large",
            Self::KeysUnavailable => "keys_unavailable",
            Self::Conflict => "conflict",
            Self::CursorExpired => "cursor_expired",
            Self::Draining => "draining",
            Self::SessionExpired => "session_expired",
            Self::TokenOriginMismatch => "token_origin_mismatch",
        }
    }

    /// The HTTP status of the code.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidRequest
            | Self::SqlInvalid
            | Self::SqlVariableMissing
            | Self::SqlTenantFilterMissing => StatusCode::BAD_REQUEST,
            Self::Unauthorized
            | Self::TokenMalformed
            | Self::TokenExpired
            | Self::TokenNotYetValid
            | Self::TokenSignatureInvalid
            | Self::TokenUnknownKey
            | Self::TokenRevoked
            | Self::TokenClaimsInvalid
            | Self::SessionExpired => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::TokenOriginMismatch => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
            Self::CursorExpired => StatusCode::GONE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge | Self::SqlTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::StoreUnavailable | Self::KeysUnavailable | Self::Draining => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error answer: code, message, and the request field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The stable code.
    pub code: ErrorCode,
    /// A message safe to show the client.
    pub message: String,
    /// The request field at fault, if one is.
    pub field: Option<String>,
    /// For `rate_limited`: the limit and when it resets.
    pub rate_limit: Option<RateLimitInfo>,
}

/// What a `429` says about the limit it hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitInfo {
    /// Requests allowed at once (`RateLimit-Limit`).
    pub limit: u32,
    /// Seconds until a request is admitted again (`Retry-After`,
    /// `RateLimit-Reset`).
    pub reset_secs: u64,
}

impl ApiError {
    /// An error with `code` and a client-safe `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            rate_limit: None,
        }
    }

    /// Adds what a `429` says about its limit.
    pub fn with_rate_limit(mut self, info: RateLimitInfo) -> Self {
        self.rate_limit = Some(info);
        self
    }

    /// A 400 `invalid_request`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// Names the request field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// A 500 whose `detail` is logged and not returned.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }
}

impl From<FieldError> for ApiError {
    fn from(err: FieldError) -> Self {
        Self::invalid_request(err.to_string()).with_field(err.field)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) | StoreError::Contention => {
                // The store logs an outage once when it starts and ends.
                tracing::debug!(detail = %err, "store unavailable");
                Self::new(
                    ErrorCode::StoreUnavailable,
                    "the store is unavailable; retry shortly",
                )
            }
            StoreError::NameTaken(_) | StoreError::Conflict(_) => {
                Self::invalid_request(err.to_string())
            }
            StoreError::Invalid(field) => field.into(),
            StoreError::Corrupt(_) | StoreError::Open(_) => Self::internal(&err),
        }
    }
}

impl From<SharedRingError> for ApiError {
    fn from(err: SharedRingError) -> Self {
        use crate::token::RingChangeError;
        match err {
            SharedRingError::Store(err) => err.into(),
            SharedRingError::Contention => {
                Self::new(ErrorCode::Conflict, "the key ring changed meanwhile; retry")
            }
            SharedRingError::Absent => {
                tracing::warn!(detail = %err, "no key ring");
                Self::new(
                    ErrorCode::KeysUnavailable,
                    "the key ring is not in the store yet; retry shortly",
                )
            }
            SharedRingError::Change(RingChangeError::UnknownKid(kid)) => {
                Self::new(ErrorCode::NotFound, format!("no key {kid}"))
            }
            SharedRingError::Change(RingChangeError::Conflict(why)) => {
                Self::new(ErrorCode::Conflict, why)
            }
            SharedRingError::Ring(_) | SharedRingError::SelfTest(_) => Self::internal(&err),
        }
    }
}

impl From<NoKeys> for ApiError {
    fn from(err: NoKeys) -> Self {
        tracing::warn!(detail = %err, "no signing keys");
        Self::new(
            ErrorCode::KeysUnavailable,
            "the signing keys are not loaded yet; retry shortly",
        )
    }
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        let code = match err {
            TokenError::Malformed(_) => ErrorCode::TokenMalformed,
            TokenError::UnknownKey(_) => ErrorCode::TokenUnknownKey,
            TokenError::SignatureInvalid => ErrorCode::TokenSignatureInvalid,
            TokenError::Expired => ErrorCode::TokenExpired,
            TokenError::NotYetValid => ErrorCode::TokenNotYetValid,
            TokenError::ClaimsInvalid(_) => ErrorCode::TokenClaimsInvalid,
            TokenError::Revoked => ErrorCode::TokenRevoked,
            TokenError::SessionExpired => ErrorCode::SessionExpired,
            TokenError::OriginMismatch => ErrorCode::TokenOriginMismatch,
            TokenError::Signing(_) => return Self::internal(&err),
        };
        Self::new(code, err.to_string())
    }
}

/// `{"success": 0, "error": {...}}`, fields in the documented order.
#[derive(Serialize)]
struct Envelope<'a> {
    success: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid: Option<bool>,
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

impl From<SqlError> for ApiError {
    fn from(err: SqlError) -> Self {
        let code = match err {
            SqlError::Invalid { .. } => ErrorCode::SqlInvalid,
            SqlError::VariableMissing { .. } => ErrorCode::SqlVariableMissing,
            SqlError::TenantFilterMissing { .. } => ErrorCode::SqlTenantFilterMissing,
            SqlError::TooLarge(_) => ErrorCode::SqlTooLarge,
        };
        Self::new(code, err.to_string()).with_field("sql")
    }
}

impl From<VerifyFailure> for ApiError {
    fn from(err: VerifyFailure) -> Self {
        match err {
            VerifyFailure::Token(err) => err.into(),
            VerifyFailure::Store(err) => err.into(),
        }
    }
}

impl ErrorCode {
    /// Whether the code reports a rejected token (answers then also carry
    /// `"valid": false`).
    pub fn is_token_rejection(self) -> bool {
        self.as_str().starts_with("token_")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let envelope = Envelope {
            success: 0,
            valid: self.code.is_token_rejection().then_some(false),
            error: ErrorBody {
                code: self.code.as_str(),
                message: &self.message,
                field: self.field.as_deref(),
                request_id: crate::api::request_id::current(),
            },
        };
        let mut response = (status, Json(envelope)).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            let challenge = if self.code == ErrorCode::Unauthorized {
                r#"Token realm="tessera""#
            } else {
                r#"Bearer error="invalid_token""#
            };
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(info) = self.rate_limit {
            let reset = HeaderValue::from(info.reset_secs.max(1));
            headers.insert(header::RETRY_AFTER, reset.clone());
            headers.insert("ratelimit-limit", HeaderValue::from(info.limit));
            headers.insert("ratelimit-remaining", HeaderValue::from_static("0"));
            headers.insert("ratelimit-reset", reset);
        } else if matches!(
            status,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS
        ) {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case() {
        let all = ErrorCode::ALL;
        let names: std::collections::HashSet<_> = all.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), all.len());
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
    }

    #[test]
    fn token_errors_keep_the_verifier_crates_codes() {
        for err in [
            TokenError::Malformed("x".into()),
            TokenError::UnknownKey("x".into()),
            TokenError::SignatureInvalid,
            TokenError::Expired,
            TokenError::NotYetValid,
            TokenError::ClaimsInvalid("x".into()),
            TokenError::Revoked,
            TokenError::Signing("x".into()),
        ] {
            let code = err.code();
            assert_eq!(ApiError::from(err).code.as_str(), code);
        }
    }

    #[test]
    fn store_details_do_not_reach_the_client() {
        let err = ApiError::from(StoreError::Unavailable("10.0.0.5:6379 refused".into()));
        assert_eq!(err.code, ErrorCode::StoreUnavailable);
        assert!(!err.message.contains("6379"));
        let err = ApiError::from(StoreError::Corrupt("secret detail".into()));
        assert_eq!(err.code, ErrorCode::Internal);
        assert!(!err.message.contains("secret"));
    }
}
