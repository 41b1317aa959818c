//! The token rules an operator configures: what verification requires,
//! and how long issued tokens live.

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

/// The rules of the issuing service: verification plus the default lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// What tokens must satisfy; issued tokens carry its issuer and audience.
    pub verify: VerifyPolicy,
    /// Lifetime when a request gives none (at most `verify.max_ttl`).
    pub default_ttl: Duration,
}
