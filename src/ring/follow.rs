//! Following the stored ring: every instance reads it once a second (and at
//! once when woken, e.g. on SIGHUP) and installs a changed ring, so a key
//! published, activated or retired anywhere is in use everywhere within
//! about two seconds. A failed read keeps the ring installed: a store
//! outage never takes the keys away. Failures are logged when they start
//! and when they end, not once per poll.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::{Bootstrap, Created, Refreshed, SharedRing};

/// How often the stored ring is read.
pub const POLL_EVERY: Duration = Duration::from_secs(1);

/// Refreshes `ring` every `every` and whenever `wake` is notified, for
/// ever. `bootstrap` creates the ring if the store has none and this
/// process holds none (a start while the store was down).
pub async fn follow(
    ring: Arc<SharedRing>,
    every: Duration,
    wake: Arc<Notify>,
    bootstrap: Bootstrap,
) {
    let mut failing: Option<&'static str> = None;
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = wake.notified() => {}
        }
        let outcome = ring.refresh(Some(&bootstrap)).await;
        report(&ring, &outcome, &mut failing);
    }
}

/// Logs what a refresh did: a change, the start and the end of a failure
/// (again only when the kind of failure changes).
pub fn report(
    ring: &SharedRing,
    outcome: &Result<Refreshed, super::SharedRingError>,
    failing: &mut Option<&'static str>,
) {
    match outcome {
        Ok(refreshed) => {
            if failing.take().is_some() {
                tracing::info!("the key ring is readable again");
            }
            log_refresh(ring, refreshed);
        }
        Err(err) => {
            let kind = match err {
                super::SharedRingError::Store(_) => "store",
                _ if err.unopened_kid().is_some() => "kek",
                _ => "ring",
            };
            if *failing != Some(kind) {
                match err.unopened_kid() {
                    Some(kid) => tracing::error!(
                        %kid, %err,
                        "the stored key ring does not open with this KEK; keeping the keys held \
                         (was the ring resealed? restart with the new KEK)"
                    ),
                    None => tracing::warn!(%err, "cannot read the key ring; keeping the keys held"),
                }
                *failing = Some(kind);
            }
        }
    }
}

/// Logs a refresh that changed something.
pub fn log_refresh(ring: &SharedRing, refreshed: &Refreshed) {
    let (active, alg) = ring
        .keys()
        .current()
        .map(|keys| {
            (
                keys.active().0.kid.to_string(),
                keys.active().0.alg.as_str(),
            )
        })
        .unwrap_or_default();
    match refreshed {
        Refreshed::Unchanged => {}
        Refreshed::Installed {
            version,
            created: None,
        } => {
            tracing::info!(version, active_kid = %active, alg, "key ring loaded");
        }
        Refreshed::Installed {
            version,
            created: Some(Created::Generated),
        } => {
            tracing::info!(version, active_kid = %active, alg, "created the key ring in the store with a new signing key");
        }
        Refreshed::Installed {
            version,
            created: Some(Created::Migrated(count)),
        } => {
            tracing::info!(
                version, active_kid = %active, alg, keys = count,
                "imported the keys directory into the store's key ring; its key files are no longer read and may be deleted (keep the kek file)"
            );
        }
        Refreshed::Restored { version } => {
            tracing::warn!(
                version,
                "the store had lost the key ring; wrote back the ring this instance holds"
            );
        }
    }
}
