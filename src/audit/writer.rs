//! Writes audit events behind the requests that cause them.
//!
//! A request hands its event to a bounded queue and answers; one task
//! takes whatever has queued up (up to [`BATCH`] events) and appends it to
//! the store in one call: one transaction on the embedded store, one
//! pipeline of `XADD`s on Redis (on a Cluster, the same commands sent at
//! once, each to its group's node). Under load that is one store round
//! trip for many requests instead of one each.
//!
//! Nothing is dropped to make room: when the queue is full (the store is
//! slower than the traffic), a request waits for space, as it waited for
//! its own write before. [`AuditWriter::settle`] waits until everything
//! queued before it is written: the audit API calls it so an instance
//! reads its own events, and shutdown calls it so none is left behind. A
//! store error is logged when writes start failing, and the number of
//! events lost once they succeed again (an outage gives two lines, not one
//! per batch).

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};

use super::AuditEvent;
use crate::domain::GroupId;
use crate::store::GroupStore;

/// Events written per store call, at most.
pub const BATCH: usize = 512;
/// Events waiting to be written, at most.
pub const QUEUED: usize = 8192;

// Nearly every message is an event: boxing it would add an allocation each.
#[allow(clippy::large_enum_variant)]
enum Message {
    Event(GroupId, AuditEvent),
    Settle(oneshot::Sender<()>),
}

/// The queue's sending side; the writing task ends when it is dropped,
/// after writing what was queued.
#[derive(Debug, Clone)]
pub struct AuditWriter {
    queue: mpsc::Sender<Message>,
}

impl AuditWriter {
    /// Starts the writing task on the current runtime, keeping `keep`
    /// events per group.
    pub fn start(store: Arc<dyn GroupStore>, keep: usize) -> Self {
        let (queue, received) = mpsc::channel(QUEUED);
        tokio::spawn(write_batches(received, store, keep));
        Self { queue }
    }

    /// Queues `event` for the trail of `id`.
    pub async fn push(&self, id: GroupId, event: AuditEvent) {
        if self.queue.send(Message::Event(id, event)).await.is_err() {
            tracing::warn!("audit event not recorded: the writer has stopped");
        }
    }

    /// Waits until every event queued before this call has been written
    /// (or its write has failed and been logged).
    pub async fn settle(&self) {
        let (done, written) = oneshot::channel();
        if self.queue.send(Message::Settle(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

async fn write_batches(
    mut received: mpsc::Receiver<Message>,
    store: Arc<dyn GroupStore>,
    keep: usize,
) {
    let mut messages = Vec::with_capacity(BATCH);
    let mut events = Vec::with_capacity(BATCH);
    let mut settled = Vec::new();
    let mut lost = 0usize;
    while received.recv_many(&mut messages, BATCH).await > 0 {
        for message in messages.drain(..) {
            match message {
                Message::Event(id, event) => events.push((id, event)),
                Message::Settle(done) => settled.push(done),
            }
        }
        if !events.is_empty() {
            match store.append_audit(&events, keep, Utc::now()).await {
                Err(err) => {
                    if lost == 0 {
                        tracing::warn!(error = %err, "audit events not recorded until the store accepts writes again");
                    }
                    lost += events.len();
                }
                Ok(_) if lost > 0 => {
                    tracing::warn!(
                        events = lost,
                        "audit events were not recorded while the store refused writes"
                    );
                    lost = 0;
                }
                Ok(_) => {}
            }
            events.clear();
        }
        for done in settled.drain(..) {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Utc;

    use super::{AuditWriter, BATCH};
    use crate::audit::{AuditEvent, AuditKind, Caller};
    use crate::domain::GroupId;
    use crate::store::{EmbeddedStore, GroupStore};

    fn event() -> AuditEvent {
        AuditEvent::new(AuditKind::Issued, Utc::now(), 1, &Caller::default())
    }

    #[tokio::test]
    async fn settle_waits_for_every_event_queued_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn GroupStore> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let writer = AuditWriter::start(store.clone(), 10_000);
        let (a, b) = (GroupId::parse("a").unwrap(), GroupId::parse("b").unwrap());
        // More than one batch, over two groups.
        let count = BATCH * 2 + 7;
        for n in 0..count {
            let id = if n % 3 == 0 { &b } else { &a };
            writer.push(id.clone(), event()).await;
        }
        writer.settle().await;
        let held = |id: &GroupId| {
            let store = store.clone();
            let id = id.clone();
            async move { store.audit_events(&id, None, 10_000).await.unwrap().len() }
        };
        assert_eq!(held(&a).await + held(&b).await, count);
        assert_eq!(held(&b).await, count.div_ceil(3));
    }

    #[tokio::test]
    async fn retention_applies_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn GroupStore> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let writer = AuditWriter::start(store.clone(), 5);
        let id = GroupId::parse("a").unwrap();
        for _ in 0..BATCH + 3 {
            writer.push(id.clone(), event()).await;
        }
        writer.settle().await;
        assert_eq!(store.audit_events(&id, None, 100).await.unwrap().len(), 5);
    }
}
