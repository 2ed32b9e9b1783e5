//! The table of deadlines a core has asked for, for a shell (or the simulator) to wait on.
//!
//! One entry per timer id (each core has its own timer ids); setting an
//! id again moves its deadline. The runtime keeps a single OS timer
//! armed at [`Timers::next_deadline`], as quinn's runtime does, instead of one per connection.

use std::collections::BTreeSet;
use std::hash::Hash;

use rustc_hash::FxHashMap;

use crate::time::Timestamp;

/// The deadlines a core has asked for, at most one per timer id `T`, kept in deadline order.
#[derive(Clone, Debug)]
pub struct Timers<T> {
    by_deadline: BTreeSet<(Timestamp, T)>,
    /// Each armed timer's deadline. Fx rather than std's SipHash: the ids are the core's own small
    /// numbers, and every connection sets, moves and cancels its timer a few times per login.
    by_id: FxHashMap<T, Timestamp>,
}

impl<T> Default for Timers<T> {
    fn default() -> Self {
        Timers {
            by_deadline: BTreeSet::new(),
            by_id: FxHashMap::default(),
        }
    }
}

impl<T: Copy + Ord + Hash> Timers<T> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms `timer` at `at`, moving its deadline if it was armed already.
    pub fn set(&mut self, timer: T, at: Timestamp) {
        if let Some(old) = self.by_id.insert(timer, at) {
            self.by_deadline.remove(&(old, timer));
        }
        self.by_deadline.insert((at, timer));
    }

    /// Disarms `timer`; nothing happens if it was not armed.
    pub fn cancel(&mut self, timer: T) {
        if let Some(old) = self.by_id.remove(&timer) {
            self.by_deadline.remove(&(old, timer));
        }
    }

    /// The earliest deadline, if any timer is armed.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.by_deadline.first().map(|(at, _)| *at)
    }

    /// The earliest armed timer and its deadline, if any.
    pub fn first(&self) -> Option<(Timestamp, T)> {
        self.by_deadline.first().copied()
    }

    /// Removes and returns the earliest timer due at `now`, if any.
    pub fn pop_due(&mut self, now: Timestamp) -> Option<T> {
        let &(at, timer) = self.by_deadline.first()?;
        if at > now {
            return None;
        }
        self.by_deadline.pop_first();
        self.by_id.remove(&timer);
        Some(timer)
    }

    /// How many timers are armed.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// As a list of `(deadline, id)`, earliest first: what a snapshot of a cluster node's core keeps.
impl<T: serde::Serialize> serde::Serialize for Timers<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(&self.by_deadline)
    }
}

impl<'de, T> serde::Deserialize<'de> for Timers<T>
where
    T: serde::Deserialize<'de> + Copy + Ord + Hash,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = Vec::<(Timestamp, T)>::deserialize(d)?;
        let mut timers = Timers::default();
        for (at, timer) in list {
            timers.set(timer, at);
        }
        Ok(timers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{ConnId, TimerId};

    #[test]
    fn setting_again_moves_the_deadline() {
        let mut t: Timers<TimerId> = Timers::new();
        let a = TimerId::Conn(ConnId(1));
        let b = TimerId::Offer(1);
        t.set(a, Timestamp(10));
        t.set(b, Timestamp(20));
        t.set(a, Timestamp(30));
        assert_eq!(t.len(), 2);
        assert_eq!(t.next_deadline(), Some(Timestamp(20)));
        assert_eq!(t.pop_due(Timestamp(25)), Some(b));
        assert_eq!(t.pop_due(Timestamp(25)), None);
        t.cancel(a);
        assert!(t.is_empty());
        assert_eq!(t.next_deadline(), None);
    }
}
