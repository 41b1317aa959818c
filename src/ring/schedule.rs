//! Scheduled rotation: publish a new key when the active one is older than
//! the period, activate it once it has been published long enough for
//! every renderer's cached JWKS to hold it, and retire a former key once
//! every token it signed has expired.
//!
//! [`next_step`] decides from the stored ring alone, and every instance
//! applies it through [`super::SharedRing::change`]: the step is decided
//! again on the ring as read inside the compare-and-set, so when several
//! instances act at once exactly one writes each step and the others find
//! nothing left to do.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{SharedRing, SharedRingError};
use crate::token::{Kid, RingDocument};

/// How long a ring change may take to reach every instance (one poll, one
/// read); added to waits that protect tokens in flight.
pub const PROPAGATION: Duration = Duration::from_secs(2);

/// The rotation timetable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// A new key is published when the active one is this old.
    pub every: Duration,
    /// A published key becomes active this long after it was published.
    pub publish_delay: Duration,
    /// A former key is retired this long after it stopped signing (the
    /// longest token lifetime plus the leeway; [`PROPAGATION`] is added).
    pub retire_after: Duration,
}

/// One step of a rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Publish a new key of the active key's algorithm.
    Publish,
    /// Make this published key the active one.
    Activate(Kid),
    /// Retire this former key.
    Retire(Kid),
}

fn passed(since: DateTime<Utc>, wait: Duration, now: DateTime<Utc>) -> bool {
    chrono::Duration::from_std(wait).is_ok_and(|wait| since + wait <= now)
}

/// The step due in `doc` at `now`, if any: retiring comes first, then
/// activating a waiting key, then publishing one.
pub fn next_step(doc: &RingDocument, rotation: &Rotation, now: DateTime<Utc>) -> Option<Step> {
    let active = doc.active_key()?;
    let unretired = || {
        doc.keys
            .iter()
            .filter(|key| key.retired_at.is_none() && key.kid != doc.active)
    };
    let retire_after = rotation.retire_after + PROPAGATION;
    if let Some(former) = unretired().find(|key| {
        key.deactivated_at
            .is_some_and(|at| passed(at, retire_after, now))
    }) {
        return Some(Step::Retire(former.kid.clone()));
    }
    // A key published after the active one was made, never active yet.
    let waiting = unretired()
        .filter(|key| key.activated_at.is_none() && key.created_at > active.created_at)
        .max_by_key(|key| key.created_at);
    match waiting {
        Some(key) if passed(key.created_at, rotation.publish_delay, now) => {
            Some(Step::Activate(key.kid.clone()))
        }
        Some(_) => None,
        None if passed(active.created_at, rotation.every, now) => Some(Step::Publish),
        None => None,
    }
}

/// Applies the step due now, if any, by compare-and-set; the step taken.
pub async fn step(ring: &SharedRing, rotation: &Rotation) -> Result<Option<Step>, SharedRingError> {
    let (_, step) = ring
        .change(|doc, kek, now| {
            let Some(step) = next_step(doc, rotation, now) else {
                return Ok(None);
            };
            match &step {
                Step::Publish => {
                    let alg = doc
                        .active_key()
                        .map_or(crate::token::KeyAlgorithm::EdDSA, |key| key.alg);
                    doc.add(alg, false, now, kek)?;
                }
                Step::Activate(kid) => doc.activate(kid.as_str(), now)?,
                Step::Retire(kid) => doc.retire(kid.as_str(), now)?,
            }
            Ok(Some(step))
        })
        .await?;
    Ok(step)
}

/// Takes the due step every `every` (and every step of a backlog at once),
/// for ever. Failures are logged and retried at the next tick.
pub async fn run(ring: Arc<SharedRing>, rotation: Rotation, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        loop {
            match step(&ring, &rotation).await {
                Ok(Some(step)) => tracing::info!(?step, "scheduled key rotation step"),
                Ok(None) => break,
                Err(err) => {
                    tracing::warn!(%err, "scheduled key rotation step failed; retrying");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{KEK_BYTES, Kek, KeyAlgorithm};

    fn kek() -> Kek {
        Kek::from_bytes(&[7; KEK_BYTES]).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn at(t0: DateTime<Utc>, n: i64) -> DateTime<Utc> {
        t0 + chrono::Duration::seconds(n)
    }

    #[test]
    fn one_period_publishes_activates_and_later_retires() {
        let rotation = Rotation {
            every: secs(100),
            publish_delay: secs(10),
            retire_after: secs(30),
        };
        let t0 = Utc::now();
        let kek = kek();
        let mut doc = RingDocument::generate(KeyAlgorithm::ES256, t0, &kek)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let first = doc.active.clone();
        assert_eq!(next_step(&doc, &rotation, at(t0, 99)), None);
        assert_eq!(next_step(&doc, &rotation, at(t0, 100)), Some(Step::Publish));

        let second = doc
            .add(KeyAlgorithm::ES256, false, at(t0, 100), &kek)
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            next_step(&doc, &rotation, at(t0, 109)),
            None,
            "still being published"
        );
        assert_eq!(
            next_step(&doc, &rotation, at(t0, 110)),
            Some(Step::Activate(second.clone()))
        );
        assert_eq!(doc.activate(second.as_str(), at(t0, 110)), Ok(()));

        // Retired after the lifetime plus the propagation margin.
        assert_eq!(next_step(&doc, &rotation, at(t0, 141)), None);
        assert_eq!(
            next_step(&doc, &rotation, at(t0, 142)),
            Some(Step::Retire(first.clone()))
        );
        assert_eq!(doc.retire(first.as_str(), at(t0, 142)), Ok(()));
        // The next period counts from the new key's creation.
        assert_eq!(next_step(&doc, &rotation, at(t0, 199)), None);
        assert_eq!(next_step(&doc, &rotation, at(t0, 200)), Some(Step::Publish));
    }

    #[test]
    fn a_key_published_by_hand_is_not_activated_by_the_schedule_before_the_delay() {
        let rotation = Rotation {
            every: secs(1000),
            publish_delay: secs(10),
            retire_after: secs(30),
        };
        let t0 = Utc::now();
        let kek = kek();
        let mut doc = RingDocument::generate(KeyAlgorithm::EdDSA, t0, &kek)
            .unwrap_or_else(|e| unreachable!("{e}"));
        let manual = doc
            .add(KeyAlgorithm::EdDSA, false, at(t0, 5), &kek)
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(next_step(&doc, &rotation, at(t0, 14)), None);
        assert_eq!(
            next_step(&doc, &rotation, at(t0, 15)),
            Some(Step::Activate(manual))
        );
    }
}
