//! Stored API keys admitted in the last second, remembered so that a busy
//! backend's requests do not each look their key up in the store.
//!
//! Only keys the store knows are remembered (an unknown key is looked up
//! every time, so nothing an attacker sends fills the cache with
//! refusals), each for at most [`ADMITTED_FOR_SECONDS`]: a key revoked on
//! any instance (or with `tessera api-keys revoke`) stops working on every
//! instance within that time, with no message between them. The cache is
//! bounded by entries (`tessera_middleware::BoundedCache`, over
//! `quick_cache`).

use tessera_middleware::BoundedCache;

use super::{ApiKeyHash, ApiKeyName, ApiKeyScope};

/// How long an admitted key is trusted without asking the store again.
pub const ADMITTED_FOR_SECONDS: i64 = 1;

/// The most keys remembered at once.
pub const ADMITTED_KEYS: usize = 10_000;

/// Keys the store admitted lately, with their name and scope.
pub struct AdmittedKeys {
    cache: BoundedCache<ApiKeyHash, (ApiKeyName, ApiKeyScope)>,
}

#[allow(clippy::ptr_arg)]
fn weight(_: &ApiKeyHash, _: &(ApiKeyName, ApiKeyScope)) -> u64 {
    1
}

impl AdmittedKeys {
    /// Remembers at most `entries` keys (`0`: none, every request asks the
    /// store).
    pub fn new(entries: usize) -> Self {
        Self {
            cache: BoundedCache::new(entries, entries as u64, weight),
        }
    }

    /// The name and scope of `hash` if the store admitted it within the
    /// last second (`now` in seconds since the epoch).
    pub fn get(&self, hash: &ApiKeyHash, now: i64) -> Option<(ApiKeyName, ApiKeyScope)> {
        self.cache.get(hash, now, 0)
    }

    /// Remembers that the store admitted `hash` at `now`.
    pub fn remember(&self, hash: ApiKeyHash, name: ApiKeyName, scope: ApiKeyScope, now: i64) {
        self.cache
            .insert(hash, (name, scope), now + ADMITTED_FOR_SECONDS, now, 0);
    }
}

impl std::fmt::Debug for AdmittedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmittedKeys").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::{ADMITTED_FOR_SECONDS, AdmittedKeys};
    use crate::auth::{ApiKey, ApiKeyName, ApiKeyScope};

    #[test]
    fn a_key_is_remembered_for_one_second_only() {
        let keys = AdmittedKeys::new(10);
        let hash = ApiKey::new("k".repeat(40)).hash();
        let name = ApiKeyName::parse("backend").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(keys.get(&hash, 100), None);
        keys.remember(hash.clone(), name.clone(), ApiKeyScope::Admin, 100);
        assert_eq!(keys.get(&hash, 100), Some((name, ApiKeyScope::Admin)));
        assert_eq!(keys.get(&hash, 100 + ADMITTED_FOR_SECONDS), None);
        let none = AdmittedKeys::new(0);
        none.remember(
            hash.clone(),
            ApiKeyName::parse("b").unwrap_or_else(|e| unreachable!("{e}")),
            ApiKeyScope::Admin,
            100,
        );
        assert_eq!(none.get(&hash, 100), None);
    }
}
