//! `MeteredStore`: any [`GroupStore`] with every call timed and every
//! failure counted (`tessera_store_operation_duration_seconds`,
//! `tessera_store_errors_total`), wrapped once at start-up.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tessera_verify::Claims;
use tessera_verify::feed::{Denial, Revocation};

use super::Metrics;
use crate::audit::{AuditEntry, AuditEvent, HourCount};
use crate::auth::{ApiKeyHash, ApiKeyName, ApiKeyRecord};
use crate::domain::{GroupId, GroupRecord, GroupUpsert, TeamId};
use crate::store::{
    FeedCursor, FeedEntry, GroupStore, ImportReport, StoreError, TokenState, Upserted,
};

/// A store whose calls are measured.
pub struct MeteredStore {
    inner: Arc<dyn GroupStore>,
    metrics: Arc<Metrics>,
    backend: &'static str,
}

impl MeteredStore {
    /// `inner`, measured as `backend` (`embedded` or `redis`).
    pub fn new(inner: Arc<dyn GroupStore>, metrics: Arc<Metrics>, backend: &'static str) -> Self {
        Self {
            inner,
            metrics,
            backend,
        }
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let start = Instant::now();
        let outcome = call.await;
        let failed = outcome.as_ref().err().map(kind);
        self.metrics
            .store(self.backend, operation, start.elapsed(), failed);
        outcome
    }
}

/// The `kind` label of a failure.
fn kind(err: &StoreError) -> &'static str {
    match err {
        StoreError::Unavailable(_) => "unavailable",
        StoreError::Corrupt(_) => "corrupt",
        StoreError::Contention => "contention",
        StoreError::NameTaken(_) | StoreError::Conflict(_) | StoreError::Invalid(_) => "refused",
        StoreError::Open(_) => "open",
    }
}

#[async_trait]
impl GroupStore for MeteredStore {
    async fn upsert(
        &self,
        change: &GroupUpsert,
        now: DateTime<Utc>,
    ) -> Result<Upserted, StoreError> {
        self.timed("upsert", self.inner.upsert(change, now)).await
    }

    async fn get(&self, id: &GroupId) -> Result<Option<GroupRecord>, StoreError> {
        self.timed("get", self.inner.get(id)).await
    }

    async fn delete(&self, id: &GroupId) -> Result<bool, StoreError> {
        self.timed("delete", self.inner.delete(id)).await
    }

    async fn bump_gen(
        &self,
        id: &GroupId,
        now: DateTime<Utc>,
    ) -> Result<Option<GroupRecord>, StoreError> {
        self.timed("bump_gen", self.inner.bump_gen(id, now)).await
    }

    async fn list(
        &self,
        after: Option<TeamId>,
        limit: usize,
    ) -> Result<Vec<GroupRecord>, StoreError> {
        self.timed("list", self.inner.list(after, limit)).await
    }

    async fn import(
        &self,
        records: &[GroupRecord],
        overwrite: bool,
    ) -> Result<ImportReport, StoreError> {
        self.timed("import", self.inner.import(records, overwrite))
            .await
    }

    async fn token_state(
        &self,
        claims: &Claims,
        now: DateTime<Utc>,
    ) -> Result<TokenState, StoreError> {
        self.timed("token_state", self.inner.token_state(claims, now))
            .await
    }

    async fn deny(
        &self,
        id: &GroupId,
        denial: &Denial,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.timed("deny", self.inner.deny(id, denial, until, now))
            .await
    }

    async fn append_audit(
        &self,
        events: &[(GroupId, AuditEvent)],
        keep: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<FeedCursor>, StoreError> {
        self.timed("append_audit", self.inner.append_audit(events, keep, now))
            .await
    }

    async fn audit_events(
        &self,
        id: &GroupId,
        before: Option<FeedCursor>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.timed("audit_events", self.inner.audit_events(id, before, limit))
            .await
    }

    async fn add_verifications(
        &self,
        counts: &[HourCount],
        keep_hours: usize,
    ) -> Result<(), StoreError> {
        self.timed(
            "add_verifications",
            self.inner.add_verifications(counts, keep_hours),
        )
        .await
    }

    async fn verification_counts(
        &self,
        id: &GroupId,
        limit: usize,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        self.timed(
            "verification_counts",
            self.inner.verification_counts(id, limit),
        )
        .await
    }

    async fn audited_groups(
        &self,
        after: Option<&GroupId>,
        limit: usize,
    ) -> Result<Vec<GroupId>, StoreError> {
        self.timed("audited_groups", self.inner.audited_groups(after, limit))
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.timed("ping", self.inner.ping()).await
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        self.timed("insert_api_key", self.inner.insert_api_key(key))
            .await
    }

    async fn find_api_key(&self, hash: &ApiKeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.timed("find_api_key", self.inner.find_api_key(hash))
            .await
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.timed("list_api_keys", self.inner.list_api_keys())
            .await
    }

    async fn revoke_api_key(&self, name: &ApiKeyName) -> Result<bool, StoreError> {
        self.timed("revoke_api_key", self.inner.revoke_api_key(name))
            .await
    }

    async fn record_revocation(
        &self,
        revocation: &Revocation,
        now: DateTime<Utc>,
        retention: Duration,
    ) -> Result<FeedCursor, StoreError> {
        self.timed(
            "record_revocation",
            self.inner.record_revocation(revocation, now, retention),
        )
        .await
    }

    async fn revocations(
        &self,
        since: Option<FeedCursor>,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, StoreError> {
        self.timed("revocations", self.inner.revocations(since, limit))
            .await
    }

    async fn key_ring(&self) -> Result<Option<String>, StoreError> {
        self.timed("key_ring", self.inner.key_ring()).await
    }

    async fn replace_key_ring(
        &self,
        expected: Option<&str>,
        next: &str,
    ) -> Result<bool, StoreError> {
        self.timed(
            "replace_key_ring",
            self.inner.replace_key_ring(expected, next),
        )
        .await
    }
}
