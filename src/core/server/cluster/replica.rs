//! A copy of the core as one node of a cluster runs it: fed the shared log's entries in the log's one
//! order, with the core's deadlines acted on by the log's time.
//!
//! Several natter servers act as one by each running a copy of the core over one totally ordered log of
//! every node's events (docs/DESIGN.md, "Cluster mode"). Identical input gives identical state, so every
//! rule holds across the cluster because it holds in each copy. What a copy needs beside the core, and
//! keeps here as a plain value (so the simulator checks exactly what the nodes run):
//!
//! - **the log's time**: each event of an entry carries its node's clock; a copy never reads its own.
//!   Feeding an event is "time passes to the event's time" ([`ServerState::handle_timeout`]), then
//!   the event, so every copy acts on the core's deadlines at the same place in the log (the core
//!   keeps the deadlines; only the time they are judged by comes from here);
//! - **which entries were appended twice**: a node whose append got no answer appends again, with the
//!   same per-node number, and the first copy is the one that counts (the whole entry: its events
//!   count once, together);
//! - **the position** of the last entry fed, so that a snapshot says where to go on reading, and a
//!   reader that finds entries missing (the log was trimmed past it) knows it must start again from a
//!   snapshot rather than go on with a hole;
//! - **the nodes found dead**: when the log says a node is dead ([`LogEventKind::NodeDead`]), every
//!   copy ends the sessions of that node it holds *at that place of the log*, and takes none of the
//!   node's later entries until the node says it is back ([`LogEventKind::NodeBack`]). Whoever noticed
//!   the death may have read less of the log than was there, and a node cut off may have appends on
//!   their way (sent before it stopped serving, arriving after a partition heals, or sent again after
//!   Redis restarted): decided here, by the log's one order, no session of a dead node is left open
//!   that nobody will end, and nothing it sent before its death acts after it.

use std::collections::{BTreeMap, BTreeSet};

use crate::server::cluster::entry::{LogEntry, LogEvent, LogEventKind};
use crate::server::event::{ConnId, Effect, Event};
use crate::server::state::ServerState;
use crate::time::Timestamp;

/// The last number seen from each node: an entry numbered no higher is a retry's duplicate.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Dedup {
    last: BTreeMap<u64, u64>,
}

impl Dedup {
    /// Whether the entry `seq` of `node` is new (and remembers it).
    fn fresh(&mut self, node: u64, seq: u64) -> bool {
        let last = self.last.entry(node).or_insert(0);
        if seq <= *last {
            return false;
        }
        *last = seq;
        true
    }
}

/// What became of an entry handed to [`ReplicaLog::apply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Fed to the core (after the deadlines due by its time).
    Fed,
    /// A second copy of an entry its node appended twice: skipped, as on every node.
    Duplicate,
    /// At or before the position already reached (read again after starting from a snapshot): skipped.
    Stale,
    /// Entries are missing before this one (the log was trimmed past this copy): nothing was fed, and
    /// the copy must start again from a snapshot.
    Gap {
        /// The position the copy needed next.
        expected: u64,
    },
}

/// What a copy of the core keeps beside it to follow the log. See the [module documentation](self).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ReplicaLog {
    dedup: Dedup,
    log_now: Timestamp,
    position: u64,
    /// Nodes the log found dead and that have not said they are back: their entries are not taken.
    dead: BTreeSet<u64>,
}

impl Default for ReplicaLog {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplicaLog {
    /// At the start of the log, before its first entry.
    pub fn new() -> Self {
        ReplicaLog {
            dedup: Dedup::default(),
            log_now: Timestamp(0),
            position: 0,
            dead: BTreeSet::new(),
        }
    }

    /// The position of the last entry fed (0 before the first).
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The log's time: the latest entry's, never going back.
    pub fn log_now(&self) -> Timestamp {
        self.log_now
    }

    /// Feeds `entry` to `core`: each of its events in order, the deadlines due by each event's time
    /// first, appending what the core made to `out`, in order.
    pub fn apply(
        &mut self,
        core: &mut ServerState,
        entry: &LogEntry,
        out: &mut Vec<Effect>,
    ) -> Applied {
        let applied = self.admit(entry);
        if applied == Applied::Fed {
            for event in &entry.events {
                self.feed(core, entry.node, event, out);
            }
        }
        applied
    }

    /// Takes `entry` as the next of the log, or says why not: [`Applied::Fed`] means its events are
    /// to be fed now, each with [`Self::feed`] and in order, before anything else (the position has
    /// moved past it). For a caller that acts on each event's effects apart ([`Self::apply`] feeds
    /// them all at once).
    pub fn admit(&mut self, entry: &LogEntry) -> Applied {
        if entry.position <= self.position {
            return Applied::Stale;
        }
        if entry.position != self.position + 1 {
            return Applied::Gap {
                expected: self.position + 1,
            };
        }
        self.position = entry.position;
        if !self.dedup.fresh(entry.node, entry.seq) {
            return Applied::Duplicate;
        }
        Applied::Fed
    }

    /// Feeds one event of the entry just admitted (appended by node `from`) to `core`, after the
    /// deadlines due by its time (the log's time never goes back), appending what the core made to
    /// `out`. Whether it was taken: an event of a node the log found dead is not (not even its time),
    /// but for that node's word that it is back.
    pub fn feed(
        &mut self,
        core: &mut ServerState,
        from: u64,
        event: &LogEvent,
        out: &mut Vec<Effect>,
    ) -> bool {
        if !self.takes(from, &event.kind) {
            return false;
        }
        let at = event.at.max(self.log_now);
        self.log_now = at;
        core.handle_timeout(at, out);
        match event.kind {
            LogEventKind::NodeDead { node } => self.node_dead(core, node, at, out),
            // Only a node itself says it is back; another's word of it is nothing.
            LogEventKind::NodeBack { node } if node == from => {
                self.dead.remove(&node);
            }
            LogEventKind::NodeBack { .. } => {}
            _ => {
                if let Some(event) = event.as_event() {
                    core.handle(event, at, out);
                }
            }
        }
        true
    }

    /// Whether an event of an entry node `from` appended is taken: none of a node found dead, until
    /// it says it is back (only a node itself says so).
    pub fn takes(&self, from: u64, event: &LogEventKind) -> bool {
        !self.dead.contains(&from) || *event == (LogEventKind::NodeBack { node: from })
    }

    /// Whether the log has found `node` dead, and not heard since that it is back.
    pub fn is_dead(&self, node: u64) -> bool {
        self.dead.contains(&node)
    }

    /// The log found `node` dead: every connection of its that the core holds open here is ended, in
    /// the order of their numbers (as on every copy). Once only: a second word of the same death
    /// finds nothing of the node's left open, since nothing of it was taken meanwhile.
    fn node_dead(
        &mut self,
        core: &mut ServerState,
        node: u64,
        at: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if !self.dead.insert(node) {
            return;
        }
        let mut gone: Vec<ConnId> = core
            .open_conns()
            .into_iter()
            .filter(|c| c.node() == node)
            .collect();
        gone.sort_unstable();
        for conn in gone {
            core.handle(Event::Disconnected { conn }, at, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::harness::Harness;
    use crate::server::{Config, Event};

    fn fresh() -> ServerState {
        Harness::new(Config::default(), &[("alice", "a"), ("bob", "b")]).state
    }

    fn entry(position: u64, node: u64, seq: u64, at: u64, event: Event<'_>) -> LogEntry {
        LogEntry {
            position,
            node,
            seq,
            events: vec![LogEvent::new(event, Timestamp(at))],
        }
    }

    #[test]
    fn a_retried_append_counts_once_and_a_hole_is_never_skipped() {
        let mut core = fresh();
        let mut log = ReplicaLog::new();
        let mut out = Vec::new();
        let peer = "127.0.0.1:1".parse().unwrap();
        let open = |p, seq| {
            entry(
                p,
                1,
                seq,
                1_000,
                Event::Connected {
                    conn: ConnId(1),
                    peer,
                },
            )
        };
        assert_eq!(log.apply(&mut core, &open(1, 1), &mut out), Applied::Fed);
        assert!(!out.is_empty(), "the username prompt");
        assert!(core.poll_timeout().is_some(), "the login deadline");
        out.clear();
        // The same entry appended again by its node, then read again after a snapshot.
        assert_eq!(
            log.apply(&mut core, &open(2, 1), &mut out),
            Applied::Duplicate
        );
        assert_eq!(log.apply(&mut core, &open(2, 1), &mut out), Applied::Stale);
        assert!(out.is_empty());
        // Entry 3 is missing: entry 4 is refused.
        let gone = entry(4, 1, 2, 1_000, Event::Disconnected { conn: ConnId(1) });
        assert_eq!(
            log.apply(&mut core, &gone, &mut out),
            Applied::Gap { expected: 3 }
        );
        assert_eq!(log.position(), 2);
    }

    #[test]
    fn a_dead_node_s_sessions_end_where_its_death_is_logged_and_nothing_of_it_counts_until_it_is_back()
     {
        let mut core = fresh();
        let mut log = ReplicaLog::new();
        let mut out = Vec::new();
        let peer = "127.0.0.1:1".parse().unwrap();
        // Node 2's connection (its number in the high bits), opened; node 3 then finds node 2 dead.
        let conn = ConnId((2 << crate::server::event::NODE_SHIFT) | 1);
        let said = |position, node, seq, event| LogEntry {
            position,
            node,
            seq,
            events: vec![LogEvent {
                at: Timestamp(1_000),
                kind: event,
            }],
        };
        let open = entry(1, 2, 1, 1_000, Event::Connected { conn, peer });
        assert_eq!(log.apply(&mut core, &open, &mut out), Applied::Fed);
        assert_eq!(core.open_conns(), [conn]);
        let dead = said(2, 3, 1, LogEventKind::NodeDead { node: 2 });
        log.apply(&mut core, &dead, &mut out);
        assert!(log.is_dead(2) && core.open_conns().is_empty());
        // What node 2 sent before it read of its death lands late: not taken.
        let late = entry(3, 2, 2, 1_000, Event::Connected { conn, peer });
        assert_eq!(log.apply(&mut core, &late, &mut out), Applied::Fed);
        assert!(core.open_conns().is_empty());
        // Another node's word that node 2 is back counts for nothing; node 2's own does.
        log.apply(
            &mut core,
            &said(4, 3, 2, LogEventKind::NodeBack { node: 2 }),
            &mut out,
        );
        assert!(log.is_dead(2));
        log.apply(
            &mut core,
            &said(5, 2, 3, LogEventKind::NodeBack { node: 2 }),
            &mut out,
        );
        assert!(!log.is_dead(2));
        let next = ConnId(conn.0 + 1);
        let again = entry(6, 2, 4, 1_000, Event::Connected { conn: next, peer });
        log.apply(&mut core, &again, &mut out);
        assert_eq!(core.open_conns(), [next]);
    }

    /// A real session's events, each with its time, as a node would append them.
    fn session() -> Vec<LogEvent> {
        let mut h = Harness::with_state(fresh(), crate::server::harness::START).keep_log();
        let (a, b) = (h.connect(), h.connect());
        for (conn, text) in [
            (a, "alice"),
            (a, "a"),
            (b, "bob"),
            (b, "wrong"),
            (b, "b"),
            (a, "message bob one"),
            (a, "message bob two"),
            (b, "block alice"),
            (a, "message bob three"),
            (b, "unblock alice"),
            (a, "broadcast four"),
            (b, "whoelse"),
        ] {
            h.send(conn, text);
            h.advance(700);
        }
        // Past the idle timeout: both sessions end by the log's time.
        h.advance(700_000);
        h.log.take().unwrap().into_iter().map(|f| f.event).collect()
    }

    /// The events fed through `log`, entry by entry: every effect made, in order, and the core.
    fn follow(entries: &[LogEntry]) -> (Vec<Effect>, ServerState) {
        let mut core = fresh();
        let mut log = ReplicaLog::new();
        let mut out = Vec::new();
        for entry in entries {
            let applied = log.apply(&mut core, entry, &mut out);
            assert!(!matches!(applied, Applied::Gap { .. }), "{applied:?}");
        }
        (out, core)
    }

    #[test]
    fn an_entry_of_several_events_is_applied_in_order_as_they_would_be_one_by_one_on_every_copy() {
        let events = session();
        assert!(events.len() >= 15, "{}", events.len());
        let one_by_one: Vec<LogEntry> = (1..)
            .zip(&events)
            .map(|(n, e)| LogEntry {
                position: n,
                node: 1,
                seq: n,
                events: vec![e.clone()],
            })
            .collect();
        let (want, want_core) = follow(&one_by_one);
        assert!(
            want.iter().any(|e| matches!(e, Effect::Close { .. })),
            "the session ends by the log's time: {want:?}"
        );
        // Batches of every size from one to all, each appended twice (a retry whose answer was lost):
        // the same effects in the same order, the same state, every time.
        for size in 1..=events.len() {
            let mut entries = Vec::new();
            for (seq, chunk) in (1..).zip(events.chunks(size)) {
                for _ in 0..2 {
                    entries.push(LogEntry {
                        position: entries.len() as u64 + 1,
                        node: 1,
                        seq,
                        events: chunk.to_vec(),
                    });
                }
            }
            let (got, core) = follow(&entries);
            assert_eq!(got, want, "batches of {size}");
            assert_eq!(
                crate::server::cluster::snapshot::encode(&core, &ReplicaLog::new()),
                crate::server::cluster::snapshot::encode(&want_core, &ReplicaLog::new()),
                "batches of {size}"
            );
        }
    }

    #[test]
    fn deadlines_act_by_the_log_s_time_before_the_entry_that_passes_them() {
        let mut core = fresh();
        let mut log = ReplicaLog::new();
        let mut out = Vec::new();
        let peer = "127.0.0.1:1".parse().unwrap();
        log.apply(
            &mut core,
            &entry(
                1,
                1,
                1,
                1_000,
                Event::Connected {
                    conn: ConnId(1),
                    peer,
                },
            ),
            &mut out,
        );
        let deadline = core.poll_timeout().unwrap();
        out.clear();
        // A tick past the login deadline: the connection is told and closed, by the log's time.
        let tick = LogEntry {
            position: 2,
            node: 2,
            seq: 1,
            events: vec![LogEvent::tick(deadline)],
        };
        assert_eq!(log.apply(&mut core, &tick, &mut out), Applied::Fed);
        assert!(
            out.iter()
                .any(|e| matches!(e, Effect::Close { conn } if *conn == ConnId(1))),
            "{out:?}"
        );
        assert_eq!(log.log_now(), deadline);
        assert_eq!(core.poll_timeout(), None);
    }
}
