//! Where user groups and admin API keys live.
//!
//! [`GroupStore`] is the one seam every backend implements; the rules of
//! what a get-or-create does to a record live in
//! [`crate::domain::GroupRecord`], so backends only decide how to make the
//! read-modify-write atomic. Nothing here knows about HTTP.

mod audit;
mod codec;
mod embedded;
mod export;
mod feed;
mod import;
mod outage;
mod redis;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audit::{AuditEntry, AuditEvent, HourCount};
use crate::auth::{ApiKeyHash, ApiKeyName, ApiKeyRecord};
use crate::domain::{GroupId, GroupRecord, GroupUpsert, TeamId};
use tessera_verify::Claims;
use tessera_verify::feed::{Denial, Revocation};

pub use self::embedded::EmbeddedStore;
pub use self::export::{EXPORT_PAGE, export_page};
pub use self::feed::{FeedCursor, FeedEntry};
pub use self::outage::without_password;
pub use self::redis::{RedisConfig, RedisStore, RedisTarget};

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Records written (new, or replaced with `overwrite`).
    pub written: usize,
    /// Records already stored exactly as imported.
    pub unchanged: usize,
}

/// The outcome of a get-or-create.
#[derive(Debug, Clone, PartialEq)]
pub struct Upserted {
    /// The group as stored after the call.
    pub record: GroupRecord,
    /// Whether this call created it.
    pub created: bool,
}

/// What the store says of one token: its group's stored record (`None`
/// when gone), still encoded, and whether its `jti` or `sid` is on the
/// group's deny-list. The record is decoded only by who needs it whole
/// (refresh); a verification reads its generation alone.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenState {
    /// The stored record of the token's `sub`, as the store holds it.
    pub stored: Option<Vec<u8>>,
    /// Whether the token or its session was revoked.
    pub denied: bool,
}

impl TokenState {
    /// The state as the verifier's rule reads it.
    pub fn standing(&self) -> Result<tessera_verify::Standing, StoreError> {
        let generation = self
            .stored
            .as_deref()
            .map(tessera_verify::stored::decode_generation)
            .transpose()
            .map_err(|err| StoreError::Corrupt(format!("stored group record: {err}")))?;
        Ok(tessera_verify::Standing {
            generation,
            denied: self.denied,
        })
    }

    /// The group's record, decoded and checked.
    pub fn record(&self) -> Result<Option<GroupRecord>, StoreError> {
        self.stored.as_deref().map(codec::decode).transpose()
    }
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached or did not answer within the deadline.
    /// Retrying later may succeed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back (a bug or outside interference).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Writers kept racing on one record; retrying may succeed.
    #[error("too much contention on one record")]
    Contention,
    /// An API key with this name already exists.
    #[error("an API key named {0} already exists")]
    NameTaken(ApiKeyName),
    /// Imported records clash with stored ones; nothing was imported.
    #[error("{0}")]
    Conflict(String),
    /// The change would break a rule of the group as a whole (its token
    /// would be too large); nothing was written.
    #[error("{0}")]
    Invalid(crate::domain::FieldError),
    /// The store could not be opened: a data directory in use by another
    /// process or unreadable, a corrupt database file, a bad setting (the
    /// message says which).
    #[error("{0}")]
    Open(String),
}

/// A backend for groups and API keys. Every method is atomic on its own.
#[async_trait]
pub trait GroupStore: Send + Sync + 'static {
    /// Gets the group of `change.id`, creating it when absent, and applies
    /// the fields `change` sets. Concurrent calls for one new id create it
    /// exactly once; every caller sees the same `team_id`.
    async fn upsert(
        &self,
        change: &GroupUpsert,
        now: DateTime<Utc>,
    ) -> Result<Upserted, StoreError>;

    /// The group of `id`, if any.
    async fn get(&self, id: &GroupId) -> Result<Option<GroupRecord>, StoreError>;

    /// Deletes the group of `id`; `false` when there was none. Its
    /// `team_id` is never given out again.
    async fn delete(&self, id: &GroupId) -> Result<bool, StoreError>;

    /// Increments the group's `gen` (revoking every earlier token) and
    /// returns the updated record; `None` when there is no such group.
    async fn bump_gen(
        &self,
        id: &GroupId,
        now: DateTime<Utc>,
    ) -> Result<Option<GroupRecord>, StoreError>;

    /// Up to `limit` groups with a `team_id` above `after` (all when
    /// `None`), in increasing `team_id` order. A walk that passes the last
    /// `team_id` of each page as the next `after` sees every group that
    /// existed when it began exactly once, however many are created
    /// meanwhile (new groups get higher `team_id`s).
    async fn list(
        &self,
        after: Option<TeamId>,
        limit: usize,
    ) -> Result<Vec<GroupRecord>, StoreError>;

    /// Stores exported records as they are (`team_id`, `gen`, timestamps
    /// kept) and moves the `team_id` counter past the highest. A record
    /// clashes when a different record has its `provided_id` (allowed with
    /// `overwrite`) or another group has its `team_id` (never allowed); on
    /// any clash nothing is written.
    async fn import(
        &self,
        records: &[GroupRecord],
        overwrite: bool,
    ) -> Result<ImportReport, StoreError>;

    /// The group of `claims.sub` and whether the token's `jti` or `sid` is
    /// on the group's deny-list at `now`; both read at once.
    async fn token_state(
        &self,
        claims: &Claims,
        now: DateTime<Utc>,
    ) -> Result<TokenState, StoreError>;

    /// Puts `denial` on the deny-list of the group `id` until `until` (an
    /// entry already there is never shortened). The entry disappears by
    /// itself after `until`, so the list stays bounded.
    async fn deny(
        &self,
        id: &GroupId,
        denial: &Denial,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Appends `event` to the audit trail of the group `id`, keeping its
    /// latest `keep` events; the event's position. `now` orders the
    /// embedded store's trail (Redis uses its own clock).
    async fn append_audit(
        &self,
        events: &[(GroupId, AuditEvent)],
        keep: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<FeedCursor>, StoreError>;

    /// Up to `limit` events of the group `id` older than `before` (from the
    /// newest when `None`), newest first.
    async fn audit_events(
        &self,
        id: &GroupId,
        before: Option<FeedCursor>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Adds successful verifications per group and hour, keeping the
    /// latest `keep_hours` hours of each group.
    async fn add_verifications(
        &self,
        counts: &[HourCount],
        keep_hours: usize,
    ) -> Result<(), StoreError>;

    /// The latest `limit` hours of the group's verification counts
    /// (hour start in seconds, count), newest first.
    async fn verification_counts(
        &self,
        id: &GroupId,
        limit: usize,
    ) -> Result<Vec<(i64, u64)>, StoreError>;

    /// Up to `limit` groups with an audit trail after `after`, in the
    /// store's order: with the listed groups, every group whose trail an
    /// export must cover (deleted groups included).
    async fn audited_groups(
        &self,
        after: Option<&GroupId>,
        limit: usize,
    ) -> Result<Vec<GroupId>, StoreError>;

    /// Succeeds when the backend answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Stores a new API key; fails with [`StoreError::NameTaken`] when the
    /// name is in use.
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;

    /// The key with this hash, if it exists and is not revoked.
    async fn find_api_key(&self, hash: &ApiKeyHash) -> Result<Option<ApiKeyRecord>, StoreError>;

    /// Every API key, ordered by name.
    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError>;

    /// Revokes the key named `name`; `false` when there is none.
    async fn revoke_api_key(&self, name: &ApiKeyName) -> Result<bool, StoreError>;

    /// The signing key ring document, if one was stored. The store keeps it
    /// as opaque text: private parts arrive already sealed.
    async fn key_ring(&self) -> Result<Option<String>, StoreError>;

    /// Appends `revocation` to the revocation feed, dropping entries older
    /// than `retention`. Called before the change it announces, so a
    /// failure in between can only over-announce.
    async fn record_revocation(
        &self,
        revocation: &Revocation,
        now: DateTime<Utc>,
        retention: std::time::Duration,
    ) -> Result<FeedCursor, StoreError>;

    /// Up to `limit` feed entries after `since` (from the oldest kept when
    /// `None`), oldest first.
    async fn revocations(
        &self,
        since: Option<FeedCursor>,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, StoreError>;

    /// Replaces the key ring document with `next` if the stored one is
    /// still `expected` (`None`: none stored yet); whether it did. One key,
    /// so it is atomic on Redis Cluster too.
    async fn replace_key_ring(
        &self,
        expected: Option<&str>,
        next: &str,
    ) -> Result<bool, StoreError>;
}
