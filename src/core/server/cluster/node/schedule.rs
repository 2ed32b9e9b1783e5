//! When a node takes a snapshot of the cluster: every `every` entries of the log, or once `max_age_ms`
//! of log time has passed since the last if anything happened since. (Who takes it is the lease's to
//! say: the live node with the lowest number.)

use crate::time::Timestamp;

#[derive(Clone, Debug)]
pub(super) struct Schedule {
    every: u64,
    max_age_ms: u64,
    /// The position and log time of the last snapshot this node took or started from.
    last: u64,
    last_at: Timestamp,
}

impl Schedule {
    /// Counting from the snapshot (or the start of the log) at `position`, taken at log time `at`.
    pub(super) fn new(every: u64, max_age_ms: u64, position: u64, at: Timestamp) -> Self {
        Schedule {
            every: every.max(1),
            max_age_ms,
            last: position,
            last_at: at,
        }
    }

    /// The log is at `position`, at log time `now`: whether a snapshot is due. (Counted as taken when
    /// due and `taking`: a node that does not take them keeps counting from the last it saw.)
    pub(super) fn due(&mut self, position: u64, now: Timestamp, taking: bool) -> bool {
        if self.last_at == Timestamp::ZERO {
            // A fresh cluster's log: its age counts from its first entry, not from 1970.
            self.last_at = now;
        }
        let due = position >= self.last + self.every
            || (position > self.last && now >= self.last_at.plus_millis(self.max_age_ms));
        if !due || !taking {
            return false;
        }
        self.last = position;
        self.last_at = now;
        true
    }

    /// Started again from a snapshot at `position`, log time `at`.
    pub(super) fn restart(&mut self, position: u64, at: Timestamp) {
        self.last = position;
        self.last_at = at;
    }
}
