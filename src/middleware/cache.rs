//! The middleware's two small caches, both bounded and both keyed so that
//! a stale entry can only make a request fail, never pass:
//! - verified tokens by their exact string (a *positive* cache: a rewritten
//!   ES256 signature is a different string and is verified afresh), valid
//!   until the token's `exp` and only under the key version it was verified
//!   with;
//! - the current generation of groups (for revocation), for a short time.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

/// A bounded map whose entries carry their own end of life. When full, it
/// first drops what has ended, then everything (a burst of new entries must
/// not grow memory, and a cache miss only costs a verification).
#[derive(Debug)]
pub struct BoundedCache<K, V> {
    capacity: usize,
    entries: Mutex<HashMap<K, (V, i64, u64)>>,
}

impl<K: Eq + Hash, V: Clone> BoundedCache<K, V> {
    /// A cache of at most `capacity` entries (0 disables it).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value of `key` if it lives past `now` and was stored under `version`.
    pub fn get<Q>(&self, key: &Q, now: i64, version: u64) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(_, until, stored)| *until > now && *stored == version)
            .map(|(value, _, _)| value.clone())
    }

    /// Stores `value` until `until` (exclusive) under `version`.
    pub fn insert(&self, key: K, value: V, until: i64, now: i64, version: u64) {
        if self.capacity == 0 || until <= now {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (_, end, stored)| *end > now && *stored == version);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (value, until, version));
    }

    /// How many entries it holds.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::BoundedCache;

    #[test]
    fn entries_end_at_their_time_and_on_version_change() {
        let cache = BoundedCache::new(10);
        cache.insert("t", 1, 100, 0, 7);
        assert_eq!(cache.get(&"t", 99, 7), Some(1));
        assert_eq!(cache.get(&"t", 100, 7), None, "ends at its time");
        assert_eq!(cache.get(&"t", 50, 8), None, "keys changed");
    }

    #[test]
    fn never_grows_past_its_capacity() {
        let cache = BoundedCache::new(3);
        for i in 0..100 {
            cache.insert(i, i, 1000, 0, 1);
            assert!(cache.len() <= 3);
        }
        let disabled = BoundedCache::new(0);
        disabled.insert(1, 1, 1000, 0, 1);
        assert_eq!(disabled.get(&1, 0, 1), None);
    }
}
