//! What a verifier requires of a token.

use std::time::Duration;

/// What a verifier requires of a token (shared by the service, the
/// middleware and the offline CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// The required `iss`.
    pub issuer: String,
    /// The audience that must be in `aud`.
    pub audience: String,
    /// The longest lifetime (`exp - iat`) a token may have.
    pub max_ttl: Duration,
    /// Clock skew tolerated when checking `exp`, `nbf` and `iat`.
    pub leeway: Duration,
}
