//! Where the middleware's verifying keys come from, and keeping them fresh
//! without ever making a request wait on the network it does not need.
//!
//! A remote JWKS is fetched once at start, then by a background task at
//! the document's `Cache-Control: max-age` (kept between the configured
//! bounds, 30 s and 1 h by default; 30 s after a failure). Requests only
//! read the current keys: one atomically swapped value holding the key set
//! and its version together. The version moves only when the published
//! keys change, so a refresh that returns the same keys keeps every cached
//! verification.
//!
//! A token naming a `kid` that is not held may trigger one fetch, at most
//! once per refetch interval (30 s) across all requests; the request that
//! triggers it waits for that one fetch (5 s at most), every other request
//! goes on without waiting. When fetches fail, the last good keys go on
//! verifying (a warning names the URL and the error), and a token whose key
//! is not held is answered `keys_unavailable` rather than
//! `token_unknown_key`.
//!
//! A fetch reads at most 1 MiB (counted while streaming, whatever the
//! headers say), follows redirects only within the JWKS URL's origin, and
//! gives up after 5 s.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use tessera_verify::{JwksError, KeySet};

/// The default least time between two fetches triggered by unknown `kid`s.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// The default bounds of the background refresh period.
pub const REFRESH_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(30), Duration::from_secs(3600));
/// The longest wait for a JWKS fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// Keys held by something else in the same process (a Tessera service's
/// key ring, which follows its store).
pub trait KeyProvider: Send + Sync + 'static {
    /// The keys now and their version (which must change whenever the
    /// keys do); `None` while none are loaded.
    fn current(&self) -> Option<(Arc<KeySet>, u64)>;
}

/// Where verifying keys come from.
#[derive(Clone)]
pub enum KeySource {
    /// A JWKS document on disk, read once.
    JwksFile(PathBuf),
    /// A JWKS URL such as `https://tessera.example.com/.well-known/jwks.json`,
    /// refreshed in the background.
    JwksUrl(String),
    /// Keys of another component of this process.
    Provider(Arc<dyn KeyProvider>),
    /// A fixed key set.
    Static(KeySet),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::JwksFile(path) => f.debug_tuple("JwksFile").field(path).finish(),
            Self::JwksUrl(url) => f.debug_tuple("JwksUrl").field(url).finish(),
            Self::Provider(_) => f.write_str("Provider"),
            Self::Static(set) => f.debug_tuple("Static").field(&set.len()).finish(),
        }
    }
}

/// Why keys could not be loaded or fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySourceError {
    /// A JWKS file could not be read.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A JWKS fetch failed (the message names the URL and the cause).
    #[error("{0}")]
    Fetch(String),
    /// The document is not a usable JWKS.
    #[error(transparent)]
    Jwks(#[from] JwksError),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// How a remote JWKS is kept fresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refresh {
    /// The least time between two fetches triggered by unknown `kid`s.
    pub unknown_kid_interval: Duration,
    /// The background refresh period is the JWKS `max-age`, kept within
    /// these bounds (the lower one also after a failed fetch).
    pub bounds: (Duration, Duration),
}

impl Default for Refresh {
    fn default() -> Self {
        Self {
            unknown_kid_interval: MIN_REFETCH_INTERVAL,
            bounds: REFRESH_BOUNDS,
        }
    }
}

/// The keys in force: the set and its version, read together.
#[derive(Clone)]
pub struct KeysNow {
    /// The verifying keys.
    pub set: Arc<KeySet>,
    /// Changes whenever the keys change.
    pub version: u64,
}

/// The loaded keys of a [`KeySource`].
pub(crate) enum Keys {
    Fixed(Arc<KeySet>),
    Provider(Arc<dyn KeyProvider>),
    Remote(Arc<Remote>),
}

/// A JWKS fetched over HTTP and refreshed in the background.
pub(crate) struct Remote {
    url: String,
    client: reqwest::Client,
    refresh: Refresh,
    current: ArcSwap<Snapshot>,
    /// Why the last fetch failed; `None` once one succeeds.
    failing: Mutex<Option<String>>,
    /// When a fetch for an unknown `kid` last started.
    last_unknown_kid_fetch: Mutex<Option<Instant>>,
    /// Fetches made, for operators and tests.
    fetches: AtomicU64,
}

/// One version of the remote keys.
struct Snapshot {
    keys: KeysNow,
    /// The document as published (canonical), to tell a change.
    document: serde_json::Value,
}

impl Keys {
    /// Loads the keys of `source`. A local source that cannot be read is an
    /// error; a remote one that cannot be fetched yet starts empty and is
    /// fetched again by its background task.
    pub(crate) async fn load(source: KeySource, refresh: Refresh) -> Result<Self, KeySourceError> {
        Ok(match source {
            KeySource::JwksFile(path) => {
                let bytes = tokio::fs::read(&path)
                    .await
                    .map_err(|err| KeySourceError::File {
                        path: path.display().to_string(),
                        reason: err.to_string(),
                    })?;
                Self::Fixed(Arc::new(KeySet::from_jwks_bytes(&bytes)?))
            }
            KeySource::Static(set) => Self::Fixed(Arc::new(set)),
            KeySource::Provider(provider) => Self::Provider(provider),
            KeySource::JwksUrl(url) => {
                let remote = Arc::new(Remote {
                    client: jwks_client()?,
                    refresh,
                    current: ArcSwap::from_pointee(Snapshot {
                        keys: KeysNow {
                            set: Arc::new(KeySet::default()),
                            version: 0,
                        },
                        document: serde_json::Value::Null,
                    }),
                    failing: Mutex::new(Some("not fetched yet".to_owned())),
                    // The fetch at start counts as the first one.
                    last_unknown_kid_fetch: Mutex::new(Some(Instant::now())),
                    fetches: AtomicU64::new(0),
                    url,
                });
                let next = remote.fetch_and_install().await;
                match remote.failing() {
                    None => {
                        tracing::info!(url = %remote.url, keys = remote.now().set.len(), "JWKS fetched")
                    }
                    Some(err) => {
                        tracing::warn!(url = %remote.url, %err, "first JWKS fetch failed; retrying in the background")
                    }
                }
                tokio::spawn(refresh_in_background(Arc::downgrade(&remote), next));
                Self::Remote(remote)
            }
        })
    }

    /// The keys now, without waiting for anything.
    pub(crate) fn now(&self) -> KeysNow {
        match self {
            Self::Fixed(set) => KeysNow {
                set: set.clone(),
                version: 0,
            },
            Self::Provider(provider) => provider.current().map_or_else(
                || KeysNow {
                    set: Arc::new(KeySet::default()),
                    version: 0,
                },
                |(set, version)| KeysNow { set, version },
            ),
            Self::Remote(remote) => remote.now(),
        }
    }

    /// Why the keys cannot be trusted to be complete: the last fetch of a
    /// remote JWKS failed, or the provider holds no keys yet.
    pub(crate) fn unavailable(&self) -> Option<String> {
        match self {
            Self::Fixed(_) => None,
            Self::Provider(provider) => provider
                .current()
                .is_none()
                .then(|| "no keys are loaded yet".to_owned()),
            Self::Remote(remote) => remote.failing(),
        }
    }

    /// A token named a `kid` we do not hold: fetch a remote JWKS now if no
    /// such fetch started within the refetch interval (this caller waits
    /// for it; others do not). Whether the keys changed.
    pub(crate) async fn refetch_for_unknown_kid(&self) -> bool {
        let Self::Remote(remote) = self else {
            return false;
        };
        {
            let mut last = remote
                .last_unknown_kid_fetch
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < remote.refresh.unknown_kid_interval) {
                return false;
            }
            *last = Some(Instant::now());
        }
        let before = remote.now().version;
        remote.fetch_and_install().await;
        remote.now().version != before
    }

    /// How many JWKS fetches were made (0 for local keys).
    pub(crate) fn fetches(&self) -> u64 {
        match self {
            Self::Remote(remote) => remote.fetches.load(Ordering::Relaxed),
            _ => 0,
        }
    }
}

impl Remote {
    fn now(&self) -> KeysNow {
        self.current.load().keys.clone()
    }

    fn failing(&self) -> Option<String> {
        self.failing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Fetches once and installs what changed; the wait before the next
    /// background refresh.
    async fn fetch_and_install(&self) -> Duration {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let (lower, upper) = self.refresh.bounds;
        match fetch_jwks(&self.client, &self.url).await {
            Ok((set, max_age)) => {
                let document = set.jwks();
                // Install only a change, so cached verifications survive a
                // refresh that returns the same keys.
                self.current.rcu(|old| {
                    if old.document == document {
                        old.clone()
                    } else {
                        Arc::new(Snapshot {
                            keys: KeysNow {
                                set: Arc::new(set.clone()),
                                version: old.keys.version + 1,
                            },
                            document: document.clone(),
                        })
                    }
                });
                let was_failing = self
                    .failing
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                if was_failing.is_some() && self.fetches.load(Ordering::Relaxed) > 1 {
                    tracing::info!(url = %self.url, "JWKS fetched again");
                }
                max_age.unwrap_or(lower).clamp(lower, upper.max(lower))
            }
            Err(err) => {
                tracing::warn!(url = %self.url, %err, "JWKS fetch failed; keeping the keys held");
                *self.failing.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(err.to_string());
                lower
            }
        }
    }
}

/// Refreshes `remote` for as long as it is in use.
async fn refresh_in_background(remote: Weak<Remote>, mut wait: Duration) {
    loop {
        tokio::time::sleep(wait).await;
        let Some(remote) = remote.upgrade() else {
            return;
        };
        wait = remote.fetch_and_install().await;
    }
}

/// The HTTP client of JWKS fetches: a deadline, same-origin redirects.
pub fn jwks_client() -> Result<reqwest::Client, KeySourceError> {
    reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(same_origin_redirects())
        .build()
        .map_err(|err| KeySourceError::Client(err.to_string()))
}

/// Fetches and parses the JWKS at `url` once; with the document's
/// `Cache-Control: max-age`, if any.
pub async fn fetch_jwks(
    client: &reqwest::Client,
    url: &str,
) -> Result<(KeySet, Option<Duration>), KeySourceError> {
    let failed = |what: String| KeySourceError::Fetch(format!("JWKS fetch from {url}: {what}"));
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|err| failed(with_causes(&err)))?;
    if !response.status().is_success() {
        return Err(failed(format!("status {}", response.status())));
    }
    let max_age = response
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|value| value.to_str().ok())
        .and_then(max_age);
    if response
        .content_length()
        .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
    {
        return Err(failed("larger than 1 MiB".into()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| failed(with_causes(&err)))?
    {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(failed("larger than 1 MiB".into()));
        }
        body.extend_from_slice(&chunk);
    }
    let set = KeySet::from_jwks_bytes(&body).map_err(|err| failed(err.to_string()))?;
    Ok((set, max_age))
}

/// `max-age=N` of a `Cache-Control` value.
fn max_age(value: &str) -> Option<Duration> {
    value.split(',').find_map(|directive| {
        let (name, seconds) = directive.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| seconds.trim().trim_matches('"').parse().ok())
            .flatten()
            .map(Duration::from_secs)
    })
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

#[cfg(test)]
mod tests {
    use super::max_age;
    use std::time::Duration;

    #[test]
    fn cache_control_max_age() {
        assert_eq!(
            max_age("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(max_age("MAX-AGE=\"60\""), Some(Duration::from_secs(60)));
        assert_eq!(max_age("no-store"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }
}
