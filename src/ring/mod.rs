//! The signing key ring every instance of one store shares.
//!
//! The ring is one document in the store ([`crate::token::RingDocument`]):
//! each key's public facts with its private part sealed under the KEK.
//! [`SharedRing`] is where the store, the KEK and the running service's
//! [`KeyHandle`] meet: it reads the document, opens it, proves it signs
//! (the self-test) and installs it; it applies changes by compare-and-set,
//! so instances changing the ring at once never lose a change; and on an
//! empty store it creates the ring once (from a keys directory of an
//! earlier version, or with a new key).
//!
//! The follower ([`follow`]) polls the document every second; the
//! scheduler ([`schedule`]) turns a rotation period into publish, activate
//! and retire steps. Nothing here knows about HTTP.

mod entry;
mod error;
pub mod follow;
pub mod schedule;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::SharedClock;
use crate::store::GroupStore;
use crate::token::{
    Kek, KeyAlgorithm, KeyHandle, KeyRing, RingDocument, TokenPolicy, VerifyPolicy,
};

pub use entry::KeyEntry;
pub use error::SharedRingError;

/// How many times a change is retried when other writers keep winning.
const CHANGE_ATTEMPTS: usize = 16;

/// How to create the ring when the store has none.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    /// A keys directory of an earlier version (`keyring.json` and
    /// `*.key`), imported when it holds a manifest.
    pub legacy_dir: Option<PathBuf>,
    /// The algorithm of the first key otherwise.
    pub first_alg: KeyAlgorithm,
}

/// What a refresh found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// The stored ring is the one installed.
    Unchanged,
    /// Another ring was installed.
    Installed {
        /// Its version.
        version: u64,
        /// How it came to be, when this refresh created it.
        created: Option<Created>,
    },
    /// The store had lost the ring; the one installed was written back.
    Restored {
        /// Its version.
        version: u64,
    },
}

/// How a refresh created the ring in an empty store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Imported from a keys directory: how many keys.
    Migrated(usize),
    /// A new key.
    Generated,
}

/// The key ring of one store as this process sees it.
pub struct SharedRing {
    store: Arc<dyn GroupStore>,
    kek: Arc<Kek>,
    keys: KeyHandle,
    clock: SharedClock,
    /// The document last installed in `keys`. Held while a refresh reads
    /// and installs, so an older read never replaces a newer install.
    installed: tokio::sync::Mutex<Option<String>>,
}

impl std::fmt::Debug for SharedRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRing")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl SharedRing {
    /// The ring of `store`, opened with `kek`, installed into `keys`.
    pub fn new(
        store: Arc<dyn GroupStore>,
        kek: Arc<Kek>,
        keys: KeyHandle,
        clock: SharedClock,
    ) -> Self {
        Self {
            store,
            kek,
            keys,
            clock,
            installed: tokio::sync::Mutex::new(None),
        }
    }

    /// The handle the ring is installed into.
    pub fn keys(&self) -> &KeyHandle {
        &self.keys
    }

    /// The document last installed, if any (no store call).
    pub fn installed_document(&self) -> Option<RingDocument> {
        let installed = self.installed.try_lock().ok()?;
        RingDocument::from_json(installed.as_deref()?).ok()
    }

    /// The stored document, read now.
    pub async fn document(&self) -> Result<RingDocument, SharedRingError> {
        let text = self
            .store
            .key_ring()
            .await?
            .ok_or(SharedRingError::Absent)?;
        Ok(RingDocument::from_json(&text)?)
    }

    /// Reads the stored ring and installs it when it differs from the one
    /// installed. With no ring in the store: writes back the installed one
    /// if there is one (a store that lost its data keeps the keys every
    /// instance holds), otherwise creates it as `bootstrap` says (or fails
    /// with [`SharedRingError::Absent`] without `bootstrap`).
    pub async fn refresh(
        &self,
        bootstrap: Option<&Bootstrap>,
    ) -> Result<Refreshed, SharedRingError> {
        let mut installed = self.installed.lock().await;
        let mut created = None;
        let text = match self.store.key_ring().await? {
            Some(text) => text,
            None => {
                if let Some(held) = installed.as_deref() {
                    if self.store.replace_key_ring(None, held).await? {
                        let version = RingDocument::from_json(held)?.version;
                        return Ok(Refreshed::Restored { version });
                    }
                } else if let Some(bootstrap) = bootstrap {
                    let (doc, how) = self.first_ring(bootstrap)?;
                    let text = doc.to_json()?;
                    // A ring that does not open and sign is never written.
                    self.open_and_test(&text, &self.kek)?;
                    if self.store.replace_key_ring(None, &text).await? {
                        created = Some(how);
                    }
                }
                // Another writer got there first, or the ring is still absent.
                self.store
                    .key_ring()
                    .await?
                    .ok_or(SharedRingError::Absent)?
            }
        };
        if installed.as_deref() == Some(text.as_str()) {
            return Ok(Refreshed::Unchanged);
        }
        let version = self.install(&text)?;
        *installed = Some(text);
        Ok(Refreshed::Installed { version, created })
    }

    /// Applies `change` to the stored ring by compare-and-set (read, change,
    /// write if nobody wrote meanwhile, else again with the newer ring) and
    /// installs the result. `change` sees the KEK and the time; a change
    /// that leaves the version as it was writes nothing. A ring that would
    /// not open or sign is never written.
    pub async fn change<T>(
        &self,
        change: impl FnMut(&mut RingDocument, &Kek, DateTime<Utc>) -> Result<T, SharedRingError>,
    ) -> Result<(RingDocument, T), SharedRingError> {
        self.change_checked(None, change).await
    }

    /// Seals every key again under `new` (by compare-and-set, checked to
    /// open and sign under `new`). Not installed here: this process keeps
    /// the keys it holds, and every instance needs the new KEK to read the
    /// ring from now on.
    pub async fn reseal(&self, new: &Kek) -> Result<RingDocument, SharedRingError> {
        let (doc, ()) = self
            .change_checked(Some(new), |doc, old, _| Ok(doc.reseal(old, new)?))
            .await?;
        Ok(doc)
    }

    /// [`SharedRing::change`]; the result is checked to open under
    /// `check_with` (and then not installed) when given.
    async fn change_checked<T>(
        &self,
        check_with: Option<&Kek>,
        mut change: impl FnMut(&mut RingDocument, &Kek, DateTime<Utc>) -> Result<T, SharedRingError>,
    ) -> Result<(RingDocument, T), SharedRingError> {
        for _ in 0..CHANGE_ATTEMPTS {
            let old = self
                .store
                .key_ring()
                .await?
                .ok_or(SharedRingError::Absent)?;
            let mut doc = RingDocument::from_json(&old)?;
            let version = doc.version;
            let outcome = change(&mut doc, &self.kek, self.clock.now())?;
            if doc.version == version {
                return Ok((doc, outcome));
            }
            let next = doc.to_json()?;
            self.open_and_test(&next, check_with.unwrap_or(&self.kek))?;
            if self.store.replace_key_ring(Some(&old), &next).await? {
                if check_with.is_none() {
                    // Installed here at once; other instances follow by
                    // polling. A refresh that installed something newer
                    // meanwhile is undone by the next refresh.
                    let mut installed = self.installed.lock().await;
                    self.install(&next)?;
                    *installed = Some(next);
                }
                return Ok((doc, outcome));
            }
        }
        Err(SharedRingError::Contention)
    }

    /// The first ring: the legacy directory's keys, or one new key.
    fn first_ring(
        &self,
        bootstrap: &Bootstrap,
    ) -> Result<(RingDocument, Created), SharedRingError> {
        if let Some(dir) = bootstrap
            .legacy_dir
            .as_deref()
            .filter(|dir| KeyRing::has_manifest(dir))
        {
            let doc = RingDocument::from_dir(dir, &self.kek)?;
            let count = doc.keys.len();
            return Ok((doc, Created::Migrated(count)));
        }
        let doc = RingDocument::generate(bootstrap.first_alg, self.clock.now(), &self.kek)?;
        Ok((doc, Created::Generated))
    }

    /// Opens and self-tests `text`, then makes it the handle's keyring;
    /// the document's version.
    fn install(&self, text: &str) -> Result<u64, SharedRingError> {
        let (doc, ring) = self.open_and_test(text, &self.kek)?;
        self.keys.replace(ring);
        Ok(doc.version)
    }

    fn open_and_test(
        &self,
        text: &str,
        kek: &Kek,
    ) -> Result<(RingDocument, KeyRing), SharedRingError> {
        let doc = RingDocument::from_json(text)?;
        let ring = doc.open(kek)?;
        crate::token::self_test(&ring, &self_test_policy(), self.clock.now())
            .map_err(SharedRingError::SelfTest)?;
        Ok((doc, ring))
    }
}

/// The claims rules of the self-test every installed ring passes: any
/// valid policy proves the keys sign and verify.
fn self_test_policy() -> TokenPolicy {
    TokenPolicy {
        verify: VerifyPolicy {
            issuer: "tessera-self-test".into(),
            audience: "tessera-self-test".into(),
            max_ttl: Duration::from_secs(3600),
            leeway: Duration::from_secs(60),
        },
        default_ttl: Duration::from_secs(60),
        max_session: Duration::from_secs(7 * 86_400),
        refresh_grace: Duration::ZERO,
    }
}
