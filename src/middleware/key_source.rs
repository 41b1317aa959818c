//! Where the middleware's verifying keys come from, and keeping them fresh.
//!
//! A remote JWKS is fetched at start, again when it is older than five
//! minutes, and again when a token names an unknown `kid` (for a key
//! rotated in since the last fetch) — but never more than once per 30 s,
//! so a flood of tokens with made-up `kid`s cannot turn into a flood of
//! fetches. A failed fetch keeps the keys already held: it can make tokens
//! fail, never pass; a token whose key is not held while the fetch is
//! failing is reported as `keys_unavailable`, not as an unknown key.
//!
//! The fetch reads at most 1 MiB (counted while streaming, whatever the
//! headers say), follows redirects only within the JWKS URL's origin, and
//! gives up after 5 s.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::token::{KeyHandle, KeyRing, KeySet};

/// The default least time between two fetches of a remote JWKS.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// The age after which a remote JWKS is fetched again.
pub const REFRESH_AFTER: Duration = Duration::from_secs(300);
/// The longest wait for a JWKS fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// Where verifying keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A JWKS document on disk, read once.
    JwksFile(PathBuf),
    /// A JWKS URL such as `https://tessera.example.com/.well-known/jwks.json`.
    JwksUrl(String),
    /// The keyring of a Tessera service in the same process (follows its
    /// reloads).
    Shared(KeyHandle),
    /// A fixed key set.
    Static(KeySet),
}

/// The keys in force for one verification.
pub enum KeysNow {
    /// A whole keyring.
    Ring(Arc<KeyRing>),
    /// A key set.
    Set(Arc<KeySet>),
}

impl KeysNow {
    /// The verifying keys.
    pub fn set(&self) -> &KeySet {
        match self {
            Self::Ring(ring) => ring.keyset(),
            Self::Set(set) => set,
        }
    }
}

/// The loaded keys of a [`KeySource`].
pub enum Keys {
    /// Keys read once.
    Fixed(Arc<KeySet>),
    /// A service's reloadable keyring.
    Shared(KeyHandle),
    /// A JWKS fetched over HTTP and kept fresh.
    Remote(Remote),
}

/// A JWKS fetched over HTTP.
pub struct Remote {
    url: String,
    min_interval: Duration,
    client: reqwest::Client,
    /// The keys, their version, and when they were fetched.
    current: RwLock<(Arc<KeySet>, u64, Option<Instant>)>,
    /// Why the last fetch failed; `None` once one succeeds.
    failing: RwLock<Option<String>>,
    /// Held while fetching; holds the time of the last attempt.
    gate: tokio::sync::Mutex<Option<Instant>>,
}

impl Keys {
    /// Loads the keys of `source`. A local source that cannot be read is an
    /// error; a remote one that cannot be fetched yet starts empty and is
    /// fetched again later.
    pub async fn load(source: KeySource) -> Result<Self, String> {
        Self::load_with(source, MIN_REFETCH_INTERVAL).await
    }

    /// [`Keys::load`] with another least time between remote fetches.
    pub async fn load_with(source: KeySource, min_interval: Duration) -> Result<Self, String> {
        Ok(match source {
            KeySource::JwksFile(path) => {
                let text =
                    std::fs::read(&path).map_err(|err| format!("{}: {err}", path.display()))?;
                Self::Fixed(Arc::new(parse_jwks(&text)?))
            }
            KeySource::Static(set) => Self::Fixed(Arc::new(set)),
            KeySource::Shared(handle) => Self::Shared(handle),
            KeySource::JwksUrl(url) => {
                let client = reqwest::Client::builder()
                    .timeout(FETCH_TIMEOUT)
                    .redirect(same_origin_redirects())
                    .build()
                    .map_err(|err| format!("HTTP client: {err}"))?;
                let remote = Remote {
                    url,
                    min_interval,
                    client,
                    current: RwLock::new((Arc::new(KeySet::default()), 0, None)),
                    failing: RwLock::new(Some("not fetched yet".to_owned())),
                    gate: tokio::sync::Mutex::new(None),
                };
                remote.fetch_if(|_| true).await;
                Self::Remote(remote)
            }
        })
    }

    /// The keys now and their version (a new version ends cached results).
    pub async fn now(&self) -> (KeysNow, u64) {
        match self {
            Self::Fixed(set) => (KeysNow::Set(set.clone()), 0),
            Self::Shared(handle) => {
                let snapshot = handle.snapshot();
                let keys = match &snapshot.ring {
                    Some(ring) => KeysNow::Ring(ring.clone()),
                    None => KeysNow::Set(Arc::new(KeySet::default())),
                };
                (keys, snapshot.version)
            }
            Self::Remote(remote) => {
                let stale = remote
                    .read()
                    .2
                    .is_none_or(|at| at.elapsed() > REFRESH_AFTER);
                if stale {
                    remote.fetch_if_interval_passed().await;
                }
                let (set, version, _) = remote.read();
                (KeysNow::Set(set), version)
            }
        }
    }

    /// Why the keys cannot be trusted to be complete: the last fetch of a
    /// remote JWKS failed, or the service's key ring is not loaded yet
    /// (`None` for local keys, a loaded ring and a healthy remote).
    pub fn unavailable(&self) -> Option<String> {
        match self {
            Self::Shared(handle) => handle.loaded().err().map(|err| err.to_string()),
            Self::Remote(remote) => remote
                .failing
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            _ => None,
        }
    }

    /// A token named a `kid` we do not hold: fetch a remote JWKS again if
    /// the last attempt is at least 30 s old. Whether new keys arrived.
    pub async fn refetch_for_unknown_kid(&self) -> bool {
        match self {
            Self::Remote(remote) => remote.fetch_if_interval_passed().await,
            _ => false,
        }
    }
}

impl Remote {
    fn read(&self) -> (Arc<KeySet>, u64, Option<Instant>) {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    async fn fetch_if_interval_passed(&self) -> bool {
        let interval = self.min_interval;
        self.fetch_if(|last| last.is_none_or(|at| at.elapsed() >= interval))
            .await
    }

    /// Fetches when `due(last attempt)` holds (checked under the gate, so
    /// concurrent callers fetch once). Whether new keys were installed.
    async fn fetch_if(&self, due: impl Fn(Option<Instant>) -> bool) -> bool {
        let mut last = self.gate.lock().await;
        if !due(*last) {
            return false;
        }
        *last = Some(Instant::now());
        let fetched = self.fetch().await;
        let mut failing = self.failing.write().unwrap_or_else(PoisonError::into_inner);
        match fetched {
            Ok(set) => {
                *failing = None;
                let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
                let version = current.1 + 1;
                *current = (Arc::new(set), version, Some(Instant::now()));
                true
            }
            Err(err) => {
                tracing::warn!(url = %self.url, %err, "JWKS fetch failed; keeping the keys held");
                *failing = Some(err);
                false
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let mut response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|err| format!("JWKS fetch from {}: {}", self.url, with_causes(&err)))?;
        if !response.status().is_success() {
            return Err(format!(
                "JWKS fetch from {}: status {}",
                self.url,
                response.status()
            ));
        }
        let too_large = || format!("JWKS fetch from {}: larger than 1 MiB", self.url);
        if response
            .content_length()
            .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| format!("JWKS fetch from {}: {}", self.url, with_causes(&err)))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        parse_jwks(&body)
    }
}

/// An error and its causes, `outer: inner: ...`.
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Follows up to 5 redirects, each within the origin (scheme, host and
/// port) of the URL first asked for.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let origin = |url: &reqwest::Url| {
            (
                url.scheme().to_owned(),
                url.host_str().map(str::to_owned),
                url.port_or_known_default(),
            )
        };
        let first = attempt.previous().first().map(origin);
        if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else if first.is_some_and(|first| first != origin(attempt.url())) {
            attempt.error("redirect to another origin refused")
        } else {
            attempt.follow()
        }
    })
}

fn parse_jwks(bytes: &[u8]) -> Result<KeySet, String> {
    let document = crate::json_strict::from_slice(bytes).map_err(|err| format!("JWKS: {err}"))?;
    KeySet::from_jwks(&document)
}
