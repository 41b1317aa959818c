//! `KeyHandle`: the running service's keyring, replaceable while requests
//! are in flight (on SIGHUP). Readers take a cheap `Arc` of the keyring of
//! the moment; a version number tells caches that the keys changed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use super::KeyRing;

/// A shared, replaceable keyring.
#[derive(Clone, Debug)]
pub struct KeyHandle {
    ring: Arc<RwLock<Arc<KeyRing>>>,
    version: Arc<AtomicU64>,
}

impl KeyHandle {
    /// A handle holding `ring`.
    pub fn new(ring: KeyRing) -> Self {
        Self {
            ring: Arc::new(RwLock::new(Arc::new(ring))),
            version: Arc::new(AtomicU64::new(1)),
        }
    }

    /// The keyring now.
    pub fn current(&self) -> Arc<KeyRing> {
        self.ring
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the keyring; requests already holding the old one finish
    /// with it.
    pub fn replace(&self, ring: KeyRing) {
        *self.ring.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(ring);
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    /// Increases with every replacement.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }
}
