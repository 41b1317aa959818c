//! Revocation without the store: the service's revocation feed
//! (`GET /api/revocations`), polled in the background with a renderer key,
//! held in memory and checked on every request with no network call.
//!
//! Until the first complete read, every token is answered `503` (it cannot
//! be judged). A revocation reaches the middleware within one poll period
//! (2 s by default) plus the request time. If the cursor expired (the
//! renderer was cut off longer than the feed keeps entries), the feed is
//! read again from the start; until that succeeds, tokens issued before
//! the last complete read are refused with `503`, as a revocation may have
//! been missed. Entries are dropped once nothing they cover can be valid
//! (the feed's retention), so memory stays bounded by the feed's size.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use serde::Deserialize;
use tessera_verify::feed::Revocation;
use tessera_verify::{Claims, TokenError};

use crate::rejection::Rejection;

/// The default time between two reads of the feed.
pub const FEED_POLL_EVERY: Duration = Duration::from_secs(2);
/// The longest wait for one read.
const FEED_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer read.
const MAX_FEED_BYTES: usize = 8 * 1024 * 1024;

/// Where and how to read the feed.
#[derive(Clone)]
pub struct RevocationFeedConfig {
    /// The feed's URL, e.g. `https://tessera.example.com/api/revocations`.
    pub url: String,
    /// A renderer API key (`tessera api-keys create --scope renderer`).
    pub key: String,
    /// The time between two reads.
    pub every: Duration,
}

impl std::fmt::Debug for RevocationFeedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationFeedConfig")
            .field("url", &self.url)
            .field("key", &"[redacted]")
            .field("every", &self.every)
            .finish()
    }
}

impl RevocationFeedConfig {
    /// The feed of the Tessera at `base` (e.g. `https://tessera.example.com`),
    /// read every 2 s with `key`.
    pub fn new(base: &str, key: impl Into<String>) -> Self {
        Self {
            url: format!("{}/api/revocations", base.trim_end_matches('/')),
            key: key.into(),
            every: FEED_POLL_EVERY,
        }
    }
}

/// What the middleware knows of the feed.
#[derive(Default)]
struct Known {
    /// Revocations by group id, each with when it may be forgotten (unix s).
    revoked: HashMap<String, Vec<(Revocation, i64)>>,
    /// Where the next read starts.
    cursor: Option<String>,
    /// When the last complete read ended (unix s); `None` before the first.
    complete_at: Option<i64>,
    /// While set, tokens issued before it are refused (a gap may hide
    /// revocations).
    gap_before: Option<i64>,
    /// Reads that failed in a row, for logging once.
    failing: bool,
}

/// The feed as held by one middleware.
pub(crate) struct Feed {
    config: RevocationFeedConfig,
    client: reqwest::Client,
    known: Mutex<Known>,
    clock: tessera_verify::clock::SharedClock,
}

#[derive(Deserialize)]
struct Page {
    revocations: Vec<Entry>,
    next_cursor: Option<String>,
    more: bool,
    retention_seconds: u64,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(flatten)]
    revocation: Revocation,
}

/// Why one read failed.
enum ReadError {
    Expired,
    Failed(String),
}

impl Feed {
    /// Starts reading `config`'s feed: once now, then in the background.
    pub(crate) async fn start(
        config: RevocationFeedConfig,
        clock: tessera_verify::clock::SharedClock,
    ) -> Result<Arc<Self>, crate::KeySourceError> {
        let client = reqwest::Client::builder()
            .timeout(FEED_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| crate::KeySourceError::Client(err.to_string()))?;
        let feed = Arc::new(Self {
            config,
            client,
            known: Mutex::new(Known::default()),
            clock,
        });
        feed.poll().await;
        tokio::spawn(poll_in_background(Arc::downgrade(&feed)));
        Ok(feed)
    }

    /// How many revocations are held in memory.
    pub(crate) fn held(&self) -> usize {
        self.known().revoked.values().map(Vec::len).sum()
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Refuses `claims` if the feed revoked them, or if the feed cannot
    /// vouch for them (never read, or a gap since before they were issued).
    pub(crate) fn check(&self, claims: &Claims) -> Result<(), Rejection> {
        let known = self.known();
        if known.complete_at.is_none() {
            return Err(Rejection::RevocationUnavailable(
                "the revocation feed has not been read yet".into(),
            ));
        }
        if known.gap_before.is_some_and(|gap| claims.iat < gap) {
            return Err(Rejection::RevocationUnavailable(
                "the revocation feed is being read again after a gap".into(),
            ));
        }
        let revoked = known
            .revoked
            .get(claims.sub.as_str())
            .is_some_and(|list| list.iter().any(|(revocation, _)| revocation.covers(claims)));
        if revoked {
            return Err(TokenError::Revoked.into());
        }
        Ok(())
    }

    /// Reads every page after the cursor; on an expired cursor, reads the
    /// whole feed again.
    async fn poll(&self) {
        let outcome = match self.read_all().await {
            Err(ReadError::Expired) => {
                {
                    let mut known = self.known();
                    known.gap_before = known.complete_at;
                    known.cursor = None;
                }
                tracing::warn!(url = %self.config.url, "revocation feed cursor expired; reading it again");
                self.read_all().await
            }
            other => other,
        };
        let mut known = self.known();
        match outcome {
            Ok(()) => {
                if known.failing {
                    tracing::info!(url = %self.config.url, "revocation feed readable again");
                }
                known.failing = false;
                known.gap_before = None;
                known.complete_at = Some(self.clock.now().timestamp());
            }
            Err(err) => {
                let err = match err {
                    ReadError::Failed(err) => err,
                    ReadError::Expired => "the cursor expired again".to_owned(),
                };
                if !known.failing {
                    tracing::warn!(url = %self.config.url, %err, "revocation feed read failed; keeping what is known");
                }
                known.failing = true;
            }
        }
    }

    async fn read_all(&self) -> Result<(), ReadError> {
        loop {
            let cursor = self.known().cursor.clone();
            let page = self.read_page(cursor.as_deref()).await?;
            let now = self.clock.now().timestamp();
            let keep_until =
                now.saturating_add(i64::try_from(page.retention_seconds).unwrap_or(i64::MAX));
            let mut known = self.known();
            for entry in page.revocations {
                let id = entry.revocation.user_group_id.as_str().to_owned();
                let list = known.revoked.entry(id).or_default();
                // A feed read again after a gap repeats what is held.
                if !list.iter().any(|(held, _)| *held == entry.revocation) {
                    list.push((entry.revocation, keep_until));
                }
            }
            known.revoked.retain(|_, list| {
                list.retain(|(_, until)| *until > now);
                !list.is_empty()
            });
            if page.next_cursor.is_some() {
                known.cursor = page.next_cursor;
            }
            if !page.more {
                return Ok(());
            }
        }
    }

    async fn read_page(&self, cursor: Option<&str>) -> Result<Page, ReadError> {
        let failed = |what: String| ReadError::Failed(format!("{}: {what}", self.config.url));
        let mut request = self
            .client
            .get(&self.config.url)
            .header("Authorization", format!("Token {}", self.config.key));
        if let Some(cursor) = cursor {
            request = request.query(&[("since", cursor)]);
        }
        let mut response = request
            .send()
            .await
            .map_err(|err| failed(err.to_string()))?;
        if response.status() == reqwest::StatusCode::GONE {
            return Err(ReadError::Expired);
        }
        if !response.status().is_success() {
            return Err(failed(format!("status {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| failed(err.to_string()))?
        {
            if body.len() + chunk.len() > MAX_FEED_BYTES {
                return Err(failed("answer too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        let value = tessera_verify::json_strict::from_slice(&body)
            .map_err(|err| failed(err.to_string()))?;
        serde_json::from_value(value).map_err(|err| failed(err.to_string()))
    }
}

/// Reads the feed every period for as long as it is in use.
async fn poll_in_background(feed: Weak<Feed>) {
    loop {
        let every = match feed.upgrade() {
            Some(feed) => feed.config.every,
            None => return,
        };
        tokio::time::sleep(every).await;
        let Some(feed) = feed.upgrade() else {
            return;
        };
        feed.poll().await;
    }
}
