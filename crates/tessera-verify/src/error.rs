//! Why a token is refused, each reason with its stable code.

/// Why a token could not be issued or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT of the expected shape.
    #[error("token is malformed: {0}")]
    Malformed(String),
    /// The `kid` names no key that may verify, or the header does not fit the key.
    #[error("token key is unknown: {0}")]
    UnknownKey(String),
    /// The signature does not match.
    #[error("token signature is invalid")]
    SignatureInvalid,
    /// `exp` has passed.
    #[error("token has expired")]
    Expired,
    /// `nbf` or `iat` lies in the future.
    #[error("token is not yet valid")]
    NotYetValid,
    /// A required claim is missing or wrong.
    #[error("token claims are invalid: {0}")]
    ClaimsInvalid(String),
    /// The group was deleted or revoked after the token was issued.
    #[error("token has been revoked")]
    Revoked,
    /// The token is bound to browser origins and the request's `Origin`
    /// is not one of them.
    #[error("this token may not be used from this origin")]
    OriginMismatch,
    /// The token's viewing session is older than the longest session: it
    /// cannot be refreshed any more.
    #[error("the session has ended; get a new token from the backend")]
    SessionExpired,
    /// Signing failed (a bug or a broken key, never the client's fault).
    #[error("token signing failed: {0}")]
    Signing(String),
}

impl TokenError {
    /// The stable error code of the API (`error.code`). Every code but
    /// `internal` (signing) is a `token_*` rejection answered with `401`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "token_malformed",
            Self::UnknownKey(_) => "token_unknown_key",
            Self::SignatureInvalid => "token_signature_invalid",
            Self::Expired => "token_expired",
            Self::NotYetValid => "token_not_yet_valid",
            Self::ClaimsInvalid(_) => "token_claims_invalid",
            Self::Revoked => "token_revoked",
            Self::SessionExpired => "session_expired",
            Self::OriginMismatch => "token_origin_mismatch",
            Self::Signing(_) => "internal",
        }
    }
}

/// Why a JWKS document cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    /// Not JSON, or JSON with duplicate members or inexact numbers.
    #[error("JWKS: {0}")]
    Json(String),
    /// Not a JWKS, or a key in it is unusable (the message names it).
    #[error("JWKS: {0}")]
    Invalid(String),
}

/// A value that is not what it should be: what was parsed, and why not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ParseError {
    /// What was being parsed (`"algorithm"`, `"key id"`, ...).
    pub what: &'static str,
    /// Why it is refused, for a person to read.
    pub reason: String,
}

impl ParseError {
    /// A refusal of a `what`.
    pub fn new(what: &'static str, reason: impl Into<String>) -> Self {
        Self {
            what,
            reason: reason.into(),
        }
    }
}

impl From<ParseError> for String {
    fn from(err: ParseError) -> Self {
        err.reason
    }
}
