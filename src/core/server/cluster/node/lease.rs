//! What a node knows of the cluster's leases: whether it may serve (its own lease renewed recently
//! enough) and which live node has the lowest number; and when to renew. (Which nodes are dead is
//! the shared log's to say, so every node agrees: `super::Node::members`.)
//!
//! The renewals themselves are the shell's (a thread of their own, so a busy node never lets its
//! lease lapse), at the times [`Renewals`] gives; it reports each one that worked, with the instant it
//! was *sent*, and what it read of the others'. What follows from them is decided here.

use crate::time::Timestamp;

/// How long a lease lasts in Redis: a node that stops renewing is found dead this long after its last
/// renewal (and its users' sessions ended).
pub const LEASE_MS: u64 = 5_000;

/// When to renew the lease, and for how long: every `every_ms` after the last renewal that worked,
/// and, after one that failed, again `retry_ms` later (a renewal that fails for a moment must not cost
/// the lease). Kept by whoever renews (the shell's lease thread, the simulator), apart from the node, so
/// that a busy node never delays a renewal; the node's fencing uses the same numbers
/// ([`super::NodeConfig`]), so that a node always stops serving before the others find its lease gone.
#[derive(Clone, Debug)]
pub struct Renewals {
    every_ms: u64,
    retry_ms: u64,
    lease_ms: u64,
    next: Timestamp,
}

impl Renewals {
    /// The first renewal is due at `now` (joining renewed once already, but the shell's first one
    /// also reads the others' leases).
    pub(super) fn new(every_ms: u64, retry_ms: u64, lease_ms: u64, now: Timestamp) -> Self {
        Renewals {
            every_ms,
            retry_ms,
            lease_ms,
            next: now,
        }
    }

    /// When the next renewal is due.
    pub fn due(&self) -> Timestamp {
        self.next
    }

    /// How long each renewal makes the lease last.
    pub fn lease_ms(&self) -> u64 {
        self.lease_ms
    }

    /// A renewal sent at `sent` worked (`ok`) or failed, as known at `now`.
    pub fn done(&mut self, sent: Timestamp, ok: bool, now: Timestamp) {
        self.next = match ok {
            true => sent.plus_millis(self.every_ms),
            false => now.plus_millis(self.retry_ms),
        }
        .max(now);
    }
}

/// What a renewal that worked found of the lease in Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseWas {
    /// Still there: the lease never lapsed since the last renewal.
    Held,
    /// Gone: it ran out before this renewal made it anew, so the other nodes may have found this one
    /// dead meanwhile (whatever this node's own clock says).
    Lapsed,
}

/// A node's view of the leases.
#[derive(Clone, Debug)]
pub(super) struct Lease {
    /// When the last renewal that worked was sent.
    renewed: Timestamp,
    /// A node that could not renew for this long stops serving (the cluster will end its sessions once
    /// the lease runs out in Redis, which is later: the renewal is counted from when it was sent).
    fence_after_ms: u64,
    fenced: bool,
    /// The live node with the lowest number, as last read.
    lowest_live: Option<u64>,
}

/// What a change of the leases asks of the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum LeaseChange {
    /// Its own lease lapsed: stop serving.
    Fence,
    /// Its own lease is held again: serve again.
    Unfence,
}

impl Lease {
    /// A node that has just renewed its lease (joining does), at `now`.
    pub(super) fn new(now: Timestamp, fence_after_ms: u64) -> Self {
        Lease {
            renewed: now,
            fence_after_ms,
            fenced: false,
            lowest_live: None,
        }
    }

    pub(super) fn fenced(&self) -> bool {
        self.fenced
    }

    /// Stops serving now, whatever the deadline says (the lease was found gone).
    pub(super) fn fence(&mut self) {
        self.fenced = true;
    }

    /// A renewal sent at `sent` worked.
    pub(super) fn renewed(&mut self, sent: Timestamp) -> Option<LeaseChange> {
        self.renewed = self.renewed.max(sent);
        std::mem::take(&mut self.fenced).then_some(LeaseChange::Unfence)
    }

    /// When the lease lapses unless renewed (`None` once fenced: nothing more to decide).
    pub(super) fn deadline(&self) -> Option<Timestamp> {
        (!self.fenced).then(|| self.renewed.plus_millis(self.fence_after_ms))
    }

    /// Time has passed to `now`.
    pub(super) fn at(&mut self, now: Timestamp) -> Option<LeaseChange> {
        if self.deadline().is_some_and(|d| now >= d) {
            self.fenced = true;
            return Some(LeaseChange::Fence);
        }
        None
    }

    /// The nodes read as holding a lease now (which are dead is the log's to say).
    pub(super) fn live(&mut self, live: &[u64]) {
        self.lowest_live = live.iter().copied().min();
    }

    /// Whether `me` is the live node with the lowest number, and serving: the one that takes the
    /// cluster's snapshots.
    pub(super) fn takes_snapshots(&self, me: u64) -> bool {
        !self.fenced && self.lowest_live == Some(me)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewals_come_every_second_and_sooner_after_one_that_failed() {
        let t0 = Timestamp(1_000_000);
        let mut r = Renewals::new(1_000, 250, LEASE_MS, t0);
        assert_eq!(r.due(), t0, "at once");
        r.done(t0, true, t0.plus_millis(30));
        assert_eq!(
            r.due(),
            t0.plus_millis(1_000),
            "counted from when it was sent"
        );
        r.done(r.due(), false, t0.plus_millis(1_400));
        assert_eq!(
            r.due(),
            t0.plus_millis(1_650),
            "a failure is tried again soon"
        );
        // An answer that took longer than the period: the next goes at once, not in the past.
        r.done(t0.plus_millis(1_650), true, t0.plus_millis(3_000));
        assert_eq!(r.due(), t0.plus_millis(3_000));
        assert_eq!(r.lease_ms(), LEASE_MS);
    }

    #[test]
    fn a_lease_not_renewed_for_fence_after_fences_and_a_renewal_serves_again() {
        let t0 = Timestamp(1_000_000);
        let mut l = Lease::new(t0, 4_000);
        assert_eq!(l.at(t0.plus_millis(3_999)), None);
        assert_eq!(l.deadline(), Some(t0.plus_millis(4_000)));
        // A renewal that worked counts from when it was sent, not when its answer came.
        l.renewed(t0.plus_millis(1_000));
        assert_eq!(l.at(t0.plus_millis(4_999)), None);
        assert_eq!(l.at(t0.plus_millis(5_000)), Some(LeaseChange::Fence));
        assert!(l.fenced() && l.deadline().is_none());
        assert_eq!(l.renewed(t0.plus_millis(5_500)), Some(LeaseChange::Unfence));
        assert!(!l.fenced());
    }
}
