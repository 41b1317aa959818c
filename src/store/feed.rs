//! The revocation feed as the store keeps it: entries in order, each with
//! a cursor `<milliseconds>-<sequence>` (the form of a Redis stream id), the
//! time it was recorded and the [`Revocation`]. Entries older than the
//! retention (the longest token lifetime plus the leeway: nothing they
//! cover can still be valid) are dropped as new ones arrive, so the feed
//! stays bounded.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_verify::feed::Revocation;

use super::StoreError;

/// A position in the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedCursor {
    /// When the entry was recorded, in milliseconds since the epoch.
    pub ms: u64,
    /// Its order among entries of the same millisecond.
    pub seq: u64,
}

impl FeedCursor {
    /// Parses `<ms>-<seq>`.
    pub fn parse(text: &str) -> Option<Self> {
        let (ms, seq) = text.split_once('-')?;
        let number = |part: &str| {
            (!part.is_empty() && part.len() <= 20 && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
        };
        Some(Self {
            ms: number(ms)?,
            seq: number(seq)?,
        })
    }

    /// Whether entries after this cursor may already have been dropped.
    pub fn expired(self, now: DateTime<Utc>, retention: Duration) -> bool {
        self.ms < oldest_kept_ms(now, retention)
    }
}

impl fmt::Display for FeedCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One entry of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// Its position.
    pub cursor: FeedCursor,
    /// The revocation.
    pub revocation: Revocation,
}

/// The milliseconds of the oldest entry kept at `now`.
pub fn oldest_kept_ms(now: DateTime<Utc>, retention: Duration) -> u64 {
    let now_ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    now_ms.saturating_sub(u64::try_from(retention.as_millis()).unwrap_or(u64::MAX))
}

/// The time as milliseconds since the epoch.
pub fn millis(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp_millis()).unwrap_or(0)
}

/// How an entry's revocation is stored.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    revocation: Revocation,
}

/// The stored text of `revocation`.
pub fn encode_revocation(revocation: &Revocation) -> Result<String, StoreError> {
    serde_json::to_string(&Stored {
        revocation: revocation.clone(),
    })
    .map_err(|err| StoreError::Corrupt(err.to_string()))
}

/// A stored revocation.
pub fn decode_revocation(text: &str) -> Result<Revocation, StoreError> {
    serde_json::from_str::<Stored>(text)
        .map(|stored| stored.revocation)
        .map_err(|err| StoreError::Corrupt(format!("revocation feed entry: {err}")))
}

#[cfg(test)]
mod tests {
    use super::FeedCursor;

    #[test]
    fn cursors() {
        assert_eq!(
            FeedCursor::parse("1700000000000-3"),
            Some(FeedCursor {
                ms: 1_700_000_000_000,
                seq: 3
            })
        );
        for bad in [
            "",
            "1",
            "1-",
            "-1",
            "a-1",
            "1-1-1",
            "99999999999999999999999-0",
            "1 -2",
        ] {
            assert_eq!(FeedCursor::parse(bad), None, "{bad}");
        }
        let cursor = FeedCursor { ms: 5, seq: 0 };
        assert_eq!(FeedCursor::parse(&cursor.to_string()), Some(cursor));
    }
}
