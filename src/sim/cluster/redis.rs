//! The simulated Redis: the shared log with latency, the nodes' leases, the latest snapshot, and what
//! goes wrong with it (a stall, a restart that loses the answers to appends in flight).
//!
//! It keeps the orders the real one keeps and no more: one node's appends land in the order it sent
//! them, everyone's in the order they reached Redis (a stalled Redis takes them in that order when it
//! is back), and an entry is numbered one past the last, gap-free, whatever was trimmed.

use std::collections::BTreeMap;

use natter_core::server::cluster::node::LeaseWas;
use natter_core::server::cluster::{LogEntry, LogEvent};
use natter_core::time::Timestamp;

/// An append (one entry: a node's batch of events) on its way.
#[derive(Clone, Debug)]
struct InFlight {
    arrive: Timestamp,
    /// The order appends were sent in, across nodes: ties at a stall's end keep it.
    order: u64,
    node: u64,
    seq: u64,
    events: Vec<LogEvent>,
    /// How many times its node had been fenced when it made the entry.
    fences: u64,
}

/// An append whose answer a restart lost, waiting to be sent again by its node.
#[derive(Clone, Debug)]
pub struct Unanswered {
    pub node: u64,
    pub seq: u64,
    pub events: Vec<LogEvent>,
    /// How many times its node had been fenced when it made the entry: a fence since then drops
    /// its users' events before it is sent again (as the shell's appender does).
    pub fences: u64,
}

/// One landed entry, and when readers may see it.
#[derive(Clone, Debug)]
pub struct Landed {
    pub entry: LogEntry,
    pub at: Timestamp,
}

#[derive(Default)]
pub struct Redis {
    /// The log's entries not trimmed, in order.
    pub entries: Vec<Landed>,
    /// The position the next entry gets.
    next: u64,
    in_flight: Vec<InFlight>,
    /// Appends whose answer a restart lost: sent again by their node once Redis is back.
    pub unanswered: Vec<Unanswered>,
    sent: u64,
    /// Entries that landed at a restart, reported by the next [`Self::land`].
    landed_at_restart: Vec<LogEntry>,
    /// Nothing is taken or answered before this.
    pub stalled_until: Timestamp,
    /// Each node's lease: when it runs out, and how far the node had read when it renewed.
    pub leases: BTreeMap<u64, (Timestamp, u64)>,
    /// The highest node number given out.
    pub highest: u64,
    /// The latest snapshot: its position and bytes.
    pub snapshot: Option<(u64, Vec<u8>)>,
}

impl Redis {
    /// Nothing is on its way to the log, nor waits to be sent again.
    pub fn idle(&self) -> bool {
        self.in_flight.is_empty() && self.unanswered.is_empty()
    }

    pub fn new() -> Self {
        Redis {
            next: 1,
            ..Redis::default()
        }
    }

    pub fn stalled(&self, now: Timestamp) -> bool {
        now < self.stalled_until
    }

    /// `node` sends its entry `seq` (its batch, made after `fences` fences), taking `latency_ms`
    /// to arrive.
    pub fn send(&mut self, now: Timestamp, latency_ms: u64, append: Unanswered) {
        let Unanswered {
            node,
            seq,
            events,
            fences,
        } = append;
        // A node whose earlier appends await sending again sends this one after them (its appender
        // keeps every unconfirmed batch, in order, ahead of new ones).
        if self.unanswered.iter().any(|u| u.node == node) {
            self.unanswered.push(Unanswered {
                node,
                seq,
                events,
                fences,
            });
            return;
        }
        let last = self
            .in_flight
            .iter()
            .filter(|f| f.node == node)
            .map(|f| f.arrive)
            .max();
        let arrive = now.plus_millis(latency_ms).max(last.unwrap_or(now));
        self.sent += 1;
        self.in_flight.push(InFlight {
            arrive,
            order: self.sent,
            node,
            seq,
            events,
            fences,
        });
    }

    /// Lands what has arrived by `now` (nothing while stalled), in the order it arrived. Returns the
    /// entries that landed.
    pub fn land(&mut self, now: Timestamp) -> Vec<LogEntry> {
        let mut landed = std::mem::take(&mut self.landed_at_restart);
        if self.stalled(now) {
            return landed;
        }
        let mut due: Vec<InFlight> = Vec::new();
        self.in_flight.retain(|f| {
            if f.arrive <= now {
                due.push(f.clone());
                false
            } else {
                true
            }
        });
        due.sort_by_key(|f| (f.arrive.max(self.stalled_until), f.order));
        for f in due {
            let entry = LogEntry {
                position: self.next,
                node: f.node,
                seq: f.seq,
                events: f.events,
            };
            self.next += 1;
            self.entries.push(Landed {
                entry: entry.clone(),
                at: now,
            });
            landed.push(entry);
        }
        landed
    }

    /// Redis restarts, down for `down_ms`: of the appends in flight, the first `landed` it had read
    /// (in the order they reached it) are stored, their answers lost; the rest are not. Their nodes
    /// send all of them again, with the same numbers, once Redis is back.
    pub fn restart(&mut self, now: Timestamp, down_ms: u64, landed: usize) {
        let mut in_flight = std::mem::take(&mut self.in_flight);
        in_flight.sort_by_key(|f| (f.arrive, f.order));
        for (i, f) in in_flight.into_iter().enumerate() {
            if i < landed {
                let entry = LogEntry {
                    position: self.next,
                    node: f.node,
                    seq: f.seq,
                    events: f.events.clone(),
                };
                self.next += 1;
                self.entries.push(Landed {
                    entry: entry.clone(),
                    at: now,
                });
                self.landed_at_restart.push(entry);
            }
            self.unanswered.push(Unanswered {
                node: f.node,
                seq: f.seq,
                events: f.events,
                fences: f.fences,
            });
        }
        self.stalled_until = self.stalled_until.max(now.plus_millis(down_ms));
    }

    /// The position of the last entry appended (0: none), trimmed or not.
    pub fn highest_position(&self) -> u64 {
        self.next - 1
    }

    /// The position of the first entry kept.
    pub fn first(&self) -> u64 {
        self.entries.first().map_or(self.next, |l| l.entry.position)
    }

    /// The entries after `after` that readers may see by `visible` (landed by then).
    pub fn read_after(&self, after: u64, visible: Timestamp) -> impl Iterator<Item = &LogEntry> {
        let start = (after + 1).saturating_sub(self.first()) as usize;
        self.entries
            .get(start.min(self.entries.len())..)
            .unwrap_or_default()
            .iter()
            .take_while(move |l| l.at <= visible)
            .map(|l| &l.entry)
    }

    /// `node` renews its lease at `now` for `lease_ms`, having read up to `applied`; what it found
    /// of the lease before (the shell's `SET ... GET` answers the same).
    pub fn renew(&mut self, node: u64, now: Timestamp, lease_ms: u64, applied: u64) -> LeaseWas {
        let before = self
            .leases
            .insert(node, (now.plus_millis(lease_ms), applied));
        match before {
            Some((until, _)) if until > now => LeaseWas::Held,
            _ => LeaseWas::Lapsed,
        }
    }

    /// How far each node holding a lease at `now` had read when it renewed.
    pub fn applied(&self, now: Timestamp) -> Vec<(u64, u64)> {
        self.leases
            .iter()
            .filter(|(_, (until, _))| *until > now)
            .map(|(n, (_, applied))| (*n, *applied))
            .collect()
    }

    /// The nodes holding a lease at `now`.
    pub fn live(&self, now: Timestamp) -> Vec<u64> {
        self.leases
            .iter()
            .filter(|(_, (until, _))| *until > now)
            .map(|(n, _)| *n)
            .collect()
    }

    /// Stores a snapshot if it is newer than the one stored (as the shell's script does). Whether
    /// it was.
    pub fn store_snapshot(&mut self, now: Timestamp, position: u64, bytes: Vec<u8>) -> bool {
        if self.stalled(now)
            || self
                .snapshot
                .as_ref()
                .is_some_and(|(at, _)| *at >= position)
        {
            return false;
        }
        self.snapshot = Some((position, bytes));
        true
    }

    /// Trims the entries before `keep_from`, but none after the stored snapshot (as the shell's
    /// script does: how far is the node's to say).
    pub fn trim(&mut self, now: Timestamp, keep_from: u64) {
        if self.stalled(now) {
            return;
        }
        let stored = self.snapshot.as_ref().map_or(0, |(at, _)| *at);
        let keep_from = keep_from.min(stored + 1);
        self.entries.retain(|l| l.entry.position >= keep_from);
    }
}
