//! The rules of the issuing service: what verification requires (the
//! verifier crate's [`VerifyPolicy`]) and how long issued tokens live.

use std::time::Duration;

use super::VerifyPolicy;

/// The rules of the issuing service: verification plus the default lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// What tokens must satisfy; issued tokens carry its issuer and audience.
    pub verify: VerifyPolicy,
    /// Lifetime when a request gives none (at most `verify.max_ttl`).
    pub default_ttl: Duration,
}

impl TokenPolicy {
    /// How long a revocation must be remembered: after the longest token
    /// lifetime plus the leeway, nothing it covers can still be valid.
    pub fn revocation_retention(&self) -> Duration {
        self.verify.max_ttl + self.verify.leeway
    }
}
