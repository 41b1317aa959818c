//! The middleware's two small caches, both bounded (by entries and by
//! bytes) and both keyed so that a stale entry can only make a request
//! fail, never pass:
//! - verified tokens by their exact string (a *positive* cache: a rewritten
//!   ES256 signature is a different string and is verified afresh), valid
//!   until the token's `exp` and only under the key version it was verified
//!   with;
//! - the current generation of groups (for revocation), for a short time.
//!
//! Eviction is `quick_cache`'s (CLOCK-Pro, weighted); this type adds the
//! per-entry end of life and key version, and the bound on entries:
//! `quick_cache` bounds the weight only (its item count is a sizing hint),
//! so every entry weighs at least `bytes / entries`, and a full cache of
//! the lightest entries holds `entries` of them.

use std::borrow::Borrow;
use std::hash::Hash;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// How much an entry costs, in bytes.
pub type Weigh<K, V> = fn(&K, &V) -> u64;

/// A value with its end of life and key version.
type Entry<V> = (V, i64, u64);

#[derive(Clone)]
struct EntryWeight<K, V> {
    weigh: Weigh<K, V>,
    /// The least an entry weighs: the bytes over the entries.
    floor: u64,
}

impl<K, V> Weighter<K, Entry<V>> for EntryWeight<K, V> {
    fn weight(&self, key: &K, value: &Entry<V>) -> u64 {
        (self.weigh)(key, &value.0).max(self.floor)
    }
}

/// A bounded map whose entries carry their own end of life and the key
/// version they were made under.
pub struct BoundedCache<K, V> {
    cache: Option<Cache<K, Entry<V>, EntryWeight<K, V>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> BoundedCache<K, V> {
    /// A cache of at most `entries` entries weighing at most `bytes` in all
    /// (`entries` 0 disables it).
    pub fn new(entries: usize, bytes: u64, weigh: Weigh<K, V>) -> Self {
        let floor = bytes
            .div_ceil(u64::try_from(entries).unwrap_or(u64::MAX).max(1))
            .max(1);
        Self {
            cache: (entries > 0 && bytes > 0)
                .then(|| Cache::with_weighter(entries, bytes, EntryWeight { weigh, floor })),
        }
    }

    /// Whether the cache was made to hold nothing (no entries or no
    /// bytes): a caller may then skip computing keys at all.
    pub fn is_off(&self) -> bool {
        self.cache.is_none()
    }

    /// The value of `key` if it lives past `now` and was stored under `version`.
    pub fn get<Q>(&self, key: &Q, now: i64, version: u64) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized + quick_cache::Equivalent<K>,
    {
        self.cache
            .as_ref()?
            .get(key)
            .filter(|(_, until, stored)| *until > now && *stored == version)
            .map(|(value, _, _)| value)
    }

    /// Stores `value` until `until` (exclusive) under `version`.
    pub fn insert(&self, key: K, value: V, until: i64, now: i64, version: u64) {
        if let Some(cache) = &self.cache
            && until > now
        {
            cache.insert(key, (value, until, version));
        }
    }

    /// The total weight held.
    #[cfg(test)]
    pub fn weight(&self) -> u64 {
        self.cache.as_ref().map_or(0, Cache::weight)
    }

    /// The entries held.
    #[cfg(test)]
    pub fn entries(&self) -> usize {
        self.cache.as_ref().map_or(0, Cache::len)
    }
}

#[cfg(test)]
mod tests {
    use super::BoundedCache;

    fn one(_: &u32, _: &u32) -> u64 {
        1
    }

    #[test]
    fn entries_end_at_their_time_and_on_version_change() {
        let cache = BoundedCache::new(10, 10, one);
        cache.insert(1, 1, 100, 0, 7);
        assert_eq!(cache.get(&1, 99, 7), Some(1));
        assert_eq!(cache.get(&1, 100, 7), None, "ends at its time");
        assert_eq!(cache.get(&1, 50, 8), None, "keys changed");
    }

    #[test]
    fn never_holds_more_than_its_bytes() {
        #[allow(clippy::ptr_arg)] // the key type is `String`
        fn by_length(key: &String, _: &u32) -> u64 {
            key.len() as u64
        }
        let cache = BoundedCache::new(1000, 64 * 1024, by_length);
        for i in 0..1000u32 {
            cache.insert(format!("{i:016}").repeat(64), i, 1000, 0, 1);
            assert!(cache.weight() <= 64 * 1024, "{}", cache.weight());
        }
        let disabled = BoundedCache::new(0, 1024, one);
        disabled.insert(1, 1, 1000, 0, 1);
        assert_eq!(disabled.get(&1, 0, 1), None);
    }

    /// Light entries are bounded by their number, not only by the bytes
    /// (which would let them be many more).
    #[test]
    fn never_holds_more_than_its_entries() {
        let cache = BoundedCache::new(100, 1024 * 1024, one);
        for i in 0..10_000u32 {
            cache.insert(i, i, 1000, 0, 1);
            assert!(cache.entries() <= 100, "{} entries", cache.entries());
        }
        assert!(
            cache.entries() >= 50,
            "only {} entries kept",
            cache.entries()
        );
    }

    #[test]
    fn a_disabled_cache_keeps_nothing() {
        let disabled = BoundedCache::new(0, 1024, one);
        assert!(disabled.is_off());
        disabled.insert(1, 1, 1000, 0, 1);
        assert_eq!(disabled.get(&1, 0, 1), None);
        assert!(BoundedCache::new(1, 0, one).is_off(), "no bytes: off too");
        assert!(!BoundedCache::new(1, 1024, one).is_off());
    }
}
