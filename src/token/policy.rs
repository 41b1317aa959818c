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
    /// The longest a viewing session can be kept alive by refreshes: no
    /// token of a session expires after its start plus this.
    pub max_session: Duration,
    /// How long after its expiry a token may still be refreshed.
    pub refresh_grace: Duration,
}

impl TokenPolicy {
    /// How long a revocation must be remembered: after the longest token
    /// lifetime plus the leeway, nothing it covers can still be valid.
    pub fn revocation_retention(&self) -> Duration {
        self.verify.max_ttl + self.verify.leeway
    }
}
