//! Successful verifications counted per group and hour, in memory, until
//! the next flush to the store. A sharded map (`dashmap`) keeps the verify
//! path free of a shared lock; its size is bounded by the groups verified
//! between two flushes (each an existing group: the token passed the store
//! check).

use chrono::{DateTime, Utc};
use dashmap::DashMap;

use crate::domain::GroupId;

/// One group's count for one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourCount {
    /// The group.
    pub id: GroupId,
    /// The hour's start, seconds since the epoch.
    pub hour: i64,
    /// Successful verifications in that hour.
    pub count: u64,
}

/// The counts not yet in the store.
#[derive(Debug, Default)]
pub struct VerificationCounts {
    /// By group: (hour, count) pairs, usually one.
    pending: DashMap<GroupId, Vec<(i64, u64)>>,
}

/// The start of the hour holding `at`.
pub fn hour_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600) * 3600
}

impl VerificationCounts {
    /// Counts one verification of `id` at `now` (no allocation once the
    /// group is counted in this hour).
    pub fn add(&self, id: &GroupId, now: DateTime<Utc>) {
        self.add_many(id, hour_of(now), 1);
    }

    fn add_many(&self, id: &GroupId, hour: i64, count: u64) {
        let bump = |slots: &mut Vec<(i64, u64)>| match slots.iter_mut().find(|s| s.0 == hour) {
            Some(slot) => slot.1 += count,
            None => slots.push((hour, count)),
        };
        if let Some(mut slots) = self.pending.get_mut(id.as_str()) {
            bump(&mut slots);
            return;
        }
        bump(&mut self.pending.entry(id.clone()).or_default());
    }

    /// Takes every pending count out.
    pub fn take(&self) -> Vec<HourCount> {
        let ids: Vec<GroupId> = self.pending.iter().map(|e| e.key().clone()).collect();
        ids.into_iter()
            .filter_map(|id| self.pending.remove(id.as_str()))
            .flat_map(|(id, slots)| {
                slots.into_iter().map(move |(hour, count)| HourCount {
                    id: id.clone(),
                    hour,
                    count,
                })
            })
            .collect()
    }

    /// Returns counts a failed flush could not write.
    pub fn put_back(&self, counts: Vec<HourCount>) {
        for HourCount { id, hour, count } in counts {
            self.add_many(&id, hour, count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{VerificationCounts, hour_of};
    use crate::domain::GroupId;
    use chrono::DateTime;

    #[test]
    fn counts_per_group_and_hour_survive_a_failed_flush() {
        let counts = VerificationCounts::default();
        let (a, b) = (GroupId::parse("a").unwrap(), GroupId::parse("b").unwrap());
        let at = |s| DateTime::from_timestamp(s, 0).unwrap();
        counts.add(&a, at(7200));
        counts.add(&a, at(10_799));
        counts.add(&a, at(10_800));
        counts.add(&b, at(7201));
        let mut taken = counts.take();
        taken.sort_by_key(|c| (c.id.as_str().to_owned(), c.hour));
        let flat: Vec<(&str, i64, u64)> = taken
            .iter()
            .map(|c| (c.id.as_str(), c.hour, c.count))
            .collect();
        assert_eq!(flat, [("a", 7200, 2), ("a", 10_800, 1), ("b", 7200, 1)]);
        assert!(counts.take().is_empty());
        counts.put_back(taken);
        counts.add(&b, at(7202));
        let back: u64 = counts.take().iter().map(|c| c.count).sum();
        assert_eq!(back, 5);
        assert_eq!(hour_of(at(-1)), -3600);
    }
}
