//! `KeyHandle`: the running service's keyring, replaceable while requests
//! are in flight (when the shared ring in the store changes). The keyring
//! and its version live in one atomically swapped value, so a reader always
//! gets a keyring together with the version it belongs to: a cache keyed on
//! the version can never file a result verified with old keys under a new
//! version.
//!
//! A handle may be empty: a service that starts while its store is down has
//! no keys until the store answers, and says so (`keys_unavailable`) rather
//! than signing with a key no other instance knows.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::KeyRing;

/// A keyring (none yet when empty) and its version (increasing with every
/// replacement).
#[derive(Debug)]
pub struct VersionedKeys {
    /// The keys, once loaded.
    pub ring: Option<Arc<KeyRing>>,
    /// Their version.
    pub version: u64,
}

/// No keyring is loaded yet (the store has not answered since start-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no signing keys are loaded yet: the key ring has not been read from the store")]
pub struct NoKeys;

/// A shared, replaceable keyring.
#[derive(Clone, Debug)]
pub struct KeyHandle {
    current: Arc<ArcSwap<VersionedKeys>>,
}

impl KeyHandle {
    /// A handle holding `ring` as version 1.
    pub fn new(ring: KeyRing) -> Self {
        Self {
            current: Arc::new(ArcSwap::from_pointee(VersionedKeys {
                ring: Some(Arc::new(ring)),
                version: 1,
            })),
        }
    }

    /// A handle with no keyring yet (version 0).
    pub fn empty() -> Self {
        Self {
            current: Arc::new(ArcSwap::from_pointee(VersionedKeys {
                ring: None,
                version: 0,
            })),
        }
    }

    /// The keyring now, if one is loaded.
    pub fn current(&self) -> Option<Arc<KeyRing>> {
        self.current.load().ring.clone()
    }

    /// The keyring now, or [`NoKeys`].
    pub fn loaded(&self) -> Result<Arc<KeyRing>, NoKeys> {
        self.current().ok_or(NoKeys)
    }

    /// The keyring now with its version, read together.
    pub fn snapshot(&self) -> Arc<VersionedKeys> {
        self.current.load_full()
    }

    /// Replaces the keyring; requests already holding the old one finish
    /// with it.
    pub fn replace(&self, ring: KeyRing) {
        let ring = Arc::new(ring);
        self.current.rcu(|old| VersionedKeys {
            ring: Some(ring.clone()),
            version: old.version + 1,
        });
    }

    /// Increases with every replacement.
    pub fn version(&self) -> u64 {
        self.current.load().version
    }
}

/// The service's keys as a middleware key source in the same process.
impl tessera_middleware::KeyProvider for KeyHandle {
    fn current(&self) -> Option<(Arc<tessera_verify::KeySet>, u64)> {
        let snapshot = self.snapshot();
        let ring = snapshot.ring.as_ref()?;
        Some((ring.shared_keyset(), snapshot.version))
    }
}

#[cfg(test)]
mod tests {
    use super::KeyHandle;
    use crate::token::KeyRing;

    #[test]
    fn a_reader_never_sees_one_keyring_with_another_ones_version() {
        let dirs = [(); 2].map(|()| tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}")));
        let load = |i: usize| {
            KeyRing::load_or_init(dirs[i].path(), chrono::Utc::now())
                .unwrap_or_else(|e| unreachable!("{e}"))
                .0
        };
        let kid_a = load(0).active().0.kid.to_string();
        let (a, b) = (
            (0..1000).map(|_| load(0)).collect::<Vec<_>>(),
            (0..1000).map(|_| load(1)).collect::<Vec<_>>(),
        );
        let handle = KeyHandle::new(load(0));
        // Odd versions hold ring A, even ones ring B.
        let writer = {
            let handle = handle.clone();
            std::thread::spawn(move || {
                for (ring_b, ring_a) in b.into_iter().zip(a) {
                    handle.replace(ring_b);
                    handle.replace(ring_a);
                }
            })
        };
        let mut checked = 0u32;
        while !writer.is_finished() || checked == 0 {
            let snapshot = handle.snapshot();
            let ring = snapshot.ring.as_ref().unwrap_or_else(|| unreachable!());
            let is_a = ring.active().0.kid.to_string() == kid_a;
            assert_eq!(
                is_a,
                snapshot.version % 2 == 1,
                "version {}",
                snapshot.version
            );
            checked += 1;
        }
        let _ = writer.join();
        assert_eq!(handle.version(), 2001);
    }

    #[test]
    fn an_empty_handle_says_so_until_a_ring_arrives() {
        let handle = KeyHandle::empty();
        assert!(handle.current().is_none());
        assert_eq!(handle.loaded().err(), Some(super::NoKeys));
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let (ring, _) = KeyRing::load_or_init(dir.path(), chrono::Utc::now())
            .unwrap_or_else(|e| unreachable!("{e}"));
        handle.replace(ring);
        assert!(handle.loaded().is_ok());
        assert_eq!(handle.version(), 1);
    }
}
