//! What a node knows of the cluster's leases: whether it may serve (its own lease renewed recently
//! enough), which other nodes are dead, and which live node has the lowest number.
//!
//! The renewals themselves are the shell's (a thread of their own, so a busy node never lets its
//! lease lapse); it reports each one that worked, with the instant it was *sent*, and what it read of
//! the others'. What follows from them is decided here.

use std::collections::BTreeSet;

use crate::time::Timestamp;

/// A node's view of the leases.
#[derive(Clone, Debug)]
pub(super) struct Lease {
    /// When the last renewal that worked was sent.
    renewed: Timestamp,
    /// A node that could not renew for this long stops serving (the cluster will end its sessions once
    /// the lease runs out in Redis, which is later: the renewal is counted from when it was sent).
    fence_after_ms: u64,
    fenced: bool,
    /// Other nodes whose lease was found gone, and whose connections were ended for it.
    dead: BTreeSet<u64>,
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
            dead: BTreeSet::new(),
            lowest_live: None,
        }
    }

    pub(super) fn fenced(&self) -> bool {
        self.fenced
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

    /// The nodes `1..=highest` but `me`, read as holding a lease (`live`) or not: the ones newly found
    /// dead, in order. A node found alive again (it was cut off and came back) is watched anew.
    pub(super) fn members(&mut self, me: u64, highest: u64, live: &[u64]) -> Vec<u64> {
        self.lowest_live = live.iter().copied().min();
        let mut newly_dead = Vec::new();
        for other in (1..=highest).filter(|n| *n != me) {
            if live.contains(&other) {
                self.dead.remove(&other);
            } else if self.dead.insert(other) {
                newly_dead.push(other);
            }
        }
        newly_dead
    }

    /// Whether `node` was found dead (and not seen alive since).
    pub(super) fn is_dead(&self, node: u64) -> bool {
        self.dead.contains(&node)
    }

    /// Whether `me` is the live node with the lowest number, and serving: the one that takes the
    /// cluster's snapshots.
    pub(super) fn takes_snapshots(&self, me: u64) -> bool {
        !self.fenced && self.lowest_live == Some(me)
    }
}
