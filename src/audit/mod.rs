//! The per-group audit trail: who was issued, refreshed, refused or
//! revoked what, for a SaaS backend to show its customer.
//!
//! Each [`AuditEvent`] is appended to the group's trail in the store (a
//! Redis stream per group, or an embedded table), which keeps the latest
//! `--audit-retention` events of each group (`0` turns the trail off).
//! Requests queue their events and answer; [`AuditWriter`] writes them in
//! batches behind them.
//! Successful verifications are not logged one by one: they are counted
//! per group and hour in memory ([`VerificationCounts`]) and added to the
//! store every few seconds, so the verify path stays a memory increment.
//! Writing an event never makes the request fail: a store error is logged
//! (the store's outage log says when the store is down) and the answer
//! goes out. Nothing here knows about HTTP beyond the [`Caller`] fields.

mod counts;
mod writer;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tessera_verify::{SessionId, TokenId};

use crate::domain::GroupId;
use crate::store::{FeedCursor, GroupStore};

pub use counts::{HourCount, VerificationCounts};
pub use writer::AuditWriter;

/// The default number of events kept per group.
pub const DEFAULT_RETENTION: usize = 10_000;
/// How many hours of verification counts are kept per group (90 days).
pub const HOURS_KEPT: usize = 90 * 24;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// Get-user created the group and issued a token (a new session).
    Created,
    /// Get-user issued a token for the existing group (a new session).
    Issued,
    /// A token was refreshed (same session, new `jti`).
    Refreshed,
    /// `/api/verify` refused a token of this service naming the group.
    VerifyFailed,
    /// Refresh refused a token of this service naming the group.
    RefreshFailed,
    /// Every earlier token of the group was revoked.
    GroupRevoked,
    /// One viewing session was revoked.
    SessionRevoked,
    /// One token was revoked.
    TokenRevoked,
    /// The group was deleted.
    Deleted,
}

/// Who made the request: what the trail records of the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The request id.
    pub request_id: Option<String>,
    /// The admin API key's name, `(operator)` for `TESSERA_API_KEY`.
    pub api_key: Option<String>,
    /// The client's address (behind trusted proxies, the forwarded one).
    pub client: Option<String>,
    /// The request's `Origin` header, if any (at most 256 bytes kept).
    pub origin: Option<String>,
}

/// The label recorded for the operator's `TESSERA_API_KEY` (stored key
/// names cannot contain parentheses).
pub const OPERATOR_KEY_LABEL: &str = "(operator)";

/// One event of a group's trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it happened (RFC 3339, milliseconds).
    pub at: String,
    /// What happened.
    pub event: AuditKind,
    /// The group's `team_id` at the time.
    pub team_id: u64,
    /// The request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The admin API key's name, for admin calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// The client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The request's `Origin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The viewing session concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<SessionId>,
    /// The token concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<TokenId>,
    /// The error code of a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl AuditEvent {
    /// An event of `kind` at `now` by `caller` for the group `team_id`.
    pub fn new(kind: AuditKind, now: DateTime<Utc>, team_id: u64, caller: &Caller) -> Self {
        Self {
            at: now.to_rfc3339_opts(SecondsFormat::Millis, true),
            event: kind,
            team_id,
            request_id: caller.request_id.clone(),
            api_key: caller.api_key.clone(),
            client: caller.client.clone(),
            origin: caller.origin.clone(),
            sid: None,
            jti: None,
            code: None,
        }
    }

    /// The event with the token's `jti` and `sid`.
    pub fn of_token(mut self, jti: &TokenId, sid: Option<&SessionId>) -> Self {
        self.jti = Some(jti.clone());
        self.sid = sid.cloned();
        self
    }

    /// The event with an error code.
    pub fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.to_owned());
        self
    }

    /// When it happened, if the stored text reads as a time.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.at)
            .ok()
            .map(|at| at.with_timezone(&Utc))
    }
}

/// An event as stored: its position in the group's trail and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its position (the form of a Redis stream id, as the feed's).
    pub cursor: FeedCursor,
    /// The event.
    pub event: AuditEvent,
}

/// One event as the API and the export show it: its `id`, the group and
/// the event's fields.
pub fn entry_json(id: &GroupId, entry: &AuditEntry) -> Value {
    let mut value = serde_json::to_value(&entry.event).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut value {
        fields.insert("id".into(), json!(entry.cursor.to_string()));
        fields.insert("user_group_id".into(), json!(id.as_str()));
    }
    value
}

/// An hour's start as RFC 3339.
pub fn hour_text(hour: i64) -> String {
    DateTime::<Utc>::from_timestamp(hour, 0)
        .map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// How many refusals of one group are itemized: 1 a second, 30 at once.
/// Whoever holds an expired token of a group could otherwise fill the
/// group's trail with refusals and push the events that matter out of
/// the retention.
fn refusal_quota() -> governor::Quota {
    governor::Quota::per_second(std::num::NonZeroU32::MIN)
        .allow_burst(std::num::NonZeroU32::new(30).unwrap_or(std::num::NonZeroU32::MIN))
}

/// The audit trail as the service writes it: the retention, the
/// in-memory verification counts and the per-group pace of refusals.
pub struct Audit {
    /// Events kept per group; `0`: no trail.
    pub retention: usize,
    /// Successful verifications not yet added to the store.
    pub counts: VerificationCounts,
    refusals: governor::DefaultKeyedRateLimiter<GroupId>,
    /// Writes the events; `None` when there is no trail.
    writer: Option<AuditWriter>,
    /// Where the events and the counts go.
    store: std::sync::Arc<dyn GroupStore>,
    /// Whether the last flush of the counts failed (an outage is logged
    /// when it starts and when it ends, not at every flush).
    counts_failing: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl Audit {
    /// A trail keeping `retention` events per group (`0`: off) in `store`;
    /// starts its writer on the current runtime.
    pub fn new(retention: usize, store: std::sync::Arc<dyn GroupStore>) -> Self {
        Self {
            retention,
            counts: VerificationCounts::default(),
            refusals: governor::RateLimiter::keyed(refusal_quota()),
            writer: (retention > 0).then(|| AuditWriter::start(store.clone(), retention)),
            store,
            counts_failing: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether a refusal of a token of `id` may be itemized now (see
    /// [`refusal_quota`]); the caller counts those that may not.
    pub fn admit_refusal(&self, id: &GroupId) -> bool {
        self.refusals.check_key(id).is_ok()
    }

    /// Whether events are recorded.
    pub fn enabled(&self) -> bool {
        self.retention > 0
    }

    /// Queues `event` for the trail of `id` (see [`AuditWriter`]). A
    /// failure is logged, never returned: the request it records has
    /// already succeeded or failed on its own terms.
    pub async fn record(&self, id: &GroupId, event: AuditEvent) {
        if let Some(writer) = &self.writer {
            writer.push(id.clone(), event).await;
        }
    }

    /// Writes every event queued so far and the pending verification
    /// counts: before the trail is read, and at shutdown.
    pub async fn settle(&self) {
        if let Some(writer) = &self.writer {
            writer.settle().await;
        }
        self.flush().await;
    }

    /// Counts one successful verification of `id` at `now`.
    pub fn count_verification(&self, id: &GroupId, now: DateTime<Utc>) {
        if self.enabled() {
            self.counts.add(id, now);
        }
    }

    /// Adds the counts gathered so far to the store; on failure they are
    /// kept for the next flush.
    pub async fn flush(&self) {
        let counts = self.counts.take();
        if counts.is_empty() {
            return;
        }
        use std::sync::atomic::Ordering;
        match self.store.add_verifications(&counts, HOURS_KEPT).await {
            Err(err) => {
                if !self.counts_failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %err, "verification counts not recorded; kept until the store takes them");
                }
                self.counts.put_back(counts);
            }
            Ok(()) => {
                if self.counts_failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        "verification counts recorded again, the ones kept meanwhile included"
                    );
                }
            }
        }
    }
}

/// How often verification counts go to the store.
pub const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Adds the pending counts to the store every `every`, until the audit
/// settings are dropped.
pub async fn flush_every(audit: std::sync::Weak<Audit>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(audit) = audit.upgrade() else { return };
        audit.flush().await;
        // Forget the pace of groups that have been quiet.
        audit.refusals.retain_recent();
    }
}
