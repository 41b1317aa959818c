//! The rules of the issuing service: what verification requires (the
//! verifier crate's [`VerifyPolicy`]) and how long issued tokens live.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

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

    /// When a deny-list entry made at `now` may go: once every token it
    /// covers is past its expiry plus the leeway and the refresh grace.
    /// A token or session revoked at `now` gets no new token afterwards
    /// (refresh checks the deny-list), so every token it covers expires by
    /// `now` plus the longest lifetime, or by `expires_by` when that is
    /// known (the revoked token's `exp`, the session's cap); a minute more
    /// covers a refresh that was in flight during the revocation.
    pub fn denial_until(&self, now: DateTime<Utc>, expires_by: Option<i64>) -> DateTime<Utc> {
        let after_expiry = self.verify.leeway + self.refresh_grace + IN_FLIGHT_MARGIN;
        let longest = later(now, self.verify.max_ttl);
        let covered = expires_by
            .and_then(|at| DateTime::from_timestamp(at, 0))
            .map_or(longest, |at| at.min(longest));
        later(covered, after_expiry).max(later(now, IN_FLIGHT_MARGIN))
    }
}

/// How long a request in flight during a revocation may still take.
const IN_FLIGHT_MARGIN: Duration = Duration::from_secs(60);

/// `at` plus `duration`, saturating at the latest time chrono holds.
fn later(at: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(duration)
        .ok()
        .and_then(|delta| at.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
