//! Several copies of the core on one log: the check that replicating the core is sound.
//!
//! A cluster of natter servers can act as one if each runs its own copy of the core over one shared,
//! totally ordered log of every node's events: identical input must give identical state and effects.
//! The core is built for that (no clock reads, no randomness but a seeded generator, every collection
//! it iterates ordered or keyed deterministically), and this check holds it to it. It takes the log of
//! a simulated run (every event the primary core was fed and every instant it was let act on its
//! deadlines, with the time and the effects it made) and feeds it, in lockstep, to three more cores:
//!
//! - one that runs from the start, like a second node;
//! - one that joins late (a third of the way in) and first catches up by replaying the log so far;
//! - one that crashes half-way, loses its state, and comes back two thirds of the way in, rebuilt by
//!   replaying the log from the start.
//!
//! After every event each running replica must have made exactly the effects the primary made for it,
//! and have the same next deadline.
//! [`check_log_timed`] then checks the way a cluster node really follows the log, snapshots included.
//! Any divergence (an order that depends on a hash seed or an address, a hidden clock read, state
//! outside the core) is reported with the event and both sides' effects.

use super::invariants::{Violation, name};
use natter_core::server::cluster::snapshot;
use natter_core::server::cluster::{Applied, LogEntry, LogEvent, ReplicaLog};
use natter_core::server::harness::Fed;
use natter_core::server::{Effect, ServerState};
use natter_core::time::Timestamp;

/// When the replicas join, crash and come back, as fractions of the log.
#[derive(Clone, Copy, Debug)]
struct Plan {
    late_join: usize,
    crash: usize,
    back: usize,
}

impl Plan {
    fn for_len(len: usize) -> Plan {
        Plan {
            late_join: len / 3,
            crash: len / 2,
            back: len * 2 / 3,
        }
    }
}

/// One replica: a core, or nothing while it is down or not yet started.
struct Replica {
    role: &'static str,
    core: Option<ServerState>,
}

/// Feeds `log` to replicas built by `fresh` (the state the primary started this log from) and checks
/// that each makes the primary's effects for every event. Returns how many events were compared.
pub fn check(fresh: &dyn Fn() -> ServerState, log: &[Fed]) -> Result<u64, Violation> {
    let plan = Plan::for_len(log.len());
    let mut replicas = [
        Replica {
            role: "second node",
            core: Some(fresh()),
        },
        Replica {
            role: "late joiner",
            core: None,
        },
        Replica {
            role: "crashed and rebuilt",
            core: Some(fresh()),
        },
    ];
    let mut compared = 0u64;
    let mut out = Vec::new();
    for (i, fed) in log.iter().enumerate() {
        if i == plan.late_join {
            replicas[1].core = Some(catch_up(fresh, &log[..i], replicas[1].role)?);
        }
        if i == plan.crash {
            replicas[2].core = None;
        }
        if i == plan.back && i > plan.crash {
            replicas[2].core = Some(catch_up(fresh, &log[..i], replicas[2].role)?);
        }
        for r in &mut replicas {
            let Some(core) = &mut r.core else { continue };
            out.clear();
            feed_as_primary(core, &fed.event, &mut out);
            compare(r.role, i, fed, core, &out)?;
            compared += 1;
        }
    }
    Ok(compared)
}

/// Feeds one entry of the primary's log as the primary was fed it: the event, or for a tick, time
/// passing to its instant.
fn feed_as_primary(core: &mut ServerState, entry: &LogEvent, out: &mut Vec<Effect>) {
    match entry.as_event() {
        Some(event) => core.handle(event, entry.at, out),
        None => core.handle_timeout(entry.at, out),
    }
}

/// A replica that starts at `done.len()`: a fresh core fed everything before it. Its effects are not
/// carried out (a node catching up has no connections of its own yet), but they must still agree.
fn catch_up(
    fresh: &dyn Fn() -> ServerState,
    done: &[Fed],
    role: &'static str,
) -> Result<ServerState, Violation> {
    let mut core = fresh();
    let mut out = Vec::new();
    for (i, fed) in done.iter().enumerate() {
        out.clear();
        feed_as_primary(&mut core, &fed.event, &mut out);
        compare(role, i, fed, &core, &out)?;
    }
    Ok(core)
}

/// One copy of the core as a cluster node runs it: the core and what follows the log beside it
/// ([`ReplicaLog`]: the log's time, positions, duplicates).
struct NodeCore {
    core: ServerState,
    log: ReplicaLog,
}

impl NodeCore {
    fn new(core: ServerState) -> Self {
        NodeCore {
            core,
            log: ReplicaLog::new(),
        }
    }

    /// A node started from a snapshot of `other`, taken now (through its bytes, as Redis keeps it).
    fn from_snapshot(other: &NodeCore, role: &str) -> Result<Self, Violation> {
        let bytes = snapshot::encode(&other.core, &other.log);
        let (core, log) = snapshot::decode(&bytes).map_err(|e| Violation {
            invariant: name::REPLICAS,
            detail: format!("the {role} could not load a snapshot just taken: {e}"),
        })?;
        Ok(NodeCore { core, log })
    }

    /// Feeds one entry the way a node does; everything the core made for it.
    fn feed(&mut self, entry: &LogEntry, out: &mut Vec<Effect>) -> Applied {
        self.log.apply(&mut self.core, entry, out)
    }
}

/// The cluster's own way of following the log, checked: the run's log (its ticks are a node's ticks),
/// numbered as the shared log numbers its entries, is fed to node-style cores, each acting on its
/// deadlines by the log's time before every entry. They must make the same effects and have the same
/// next deadline, entry by entry, as a reference node that ran from the start:
///
/// - a second node from the start;
/// - a node that joins late and catches up by replaying the log so far;
/// - a node that joins late from a snapshot of the reference (the way a node starts once the log has
///   been trimmed), and first reads again a few entries the snapshot already holds, which it must skip;
/// - a node that crashes and is rebuilt from a snapshot of the second node;
///
/// and a node fed the log with an entry missing must refuse to go on past the hole.
/// Returns how many entries were compared.
pub fn check_log_timed(fresh: &dyn Fn() -> ServerState, log: &[Fed]) -> Result<u64, Violation> {
    let entries: Vec<LogEntry> = log
        .iter()
        .enumerate()
        .map(|(i, fed)| LogEntry {
            position: i as u64 + 1,
            node: 1,
            seq: i as u64 + 1,
            events: vec![fed.event.clone()],
        })
        .collect();
    let plan = Plan::for_len(entries.len());
    let from_snapshot_at = entries.len() / 4;
    let mut reference = NodeCore::new(fresh());
    let mut made: Vec<Fed> = Vec::with_capacity(entries.len());
    let mut second = Some(NodeCore::new(fresh()));
    let mut late: Option<NodeCore> = None;
    let mut snapped: Option<NodeCore> = None;
    let mut crashed = Some(NodeCore::new(fresh()));
    let mut compared = 0u64;
    let catch_up = |upto: usize, made: &[Fed], role: &'static str| {
        let mut node = NodeCore::new(fresh());
        for (i, entry) in entries[..upto].iter().enumerate() {
            let mut out = Vec::new();
            node.feed(entry, &mut out);
            compare(role, i, &made[i], &node.core, &out)?;
        }
        Ok::<_, Violation>(node)
    };
    for (i, entry) in entries.iter().enumerate() {
        if i == from_snapshot_at {
            let role = "node started from a snapshot";
            let mut node = NodeCore::from_snapshot(&reference, role)?;
            for again in &entries[i.saturating_sub(3)..i] {
                let mut out = Vec::new();
                let applied = node.feed(again, &mut out);
                if applied != Applied::Stale || !out.is_empty() {
                    return Err(Violation {
                        invariant: name::REPLICAS,
                        detail: format!(
                            "the {role} fed entry {} again, which its snapshot holds: {applied:?}, {out:?}",
                            again.position
                        ),
                    });
                }
            }
            snapped = Some(node);
        }
        let mut effects = Vec::new();
        reference.feed(entry, &mut effects);
        let want = Fed {
            event: entry.events[0].clone(),
            effects,
            next_deadline: reference.core.poll_timeout(),
        };
        if i == plan.late_join {
            late = Some(catch_up(i, &made, "late-joining node")?);
        }
        if i == plan.crash {
            crashed = None;
        }
        if i == plan.back
            && i > plan.crash
            && let Some(second) = &second
        {
            crashed = Some(NodeCore::from_snapshot(
                second,
                "node rebuilt from a snapshot after a crash",
            )?);
        }
        for (role, node) in [
            ("second node", &mut second),
            ("late-joining node", &mut late),
            ("node started from a snapshot", &mut snapped),
            ("node rebuilt from a snapshot after a crash", &mut crashed),
        ] {
            let Some(node) = node else { continue };
            let mut got = Vec::new();
            node.feed(entry, &mut got);
            compare(role, i, &want, &node.core, &got)?;
            compared += 1;
        }
        made.push(want);
    }
    // A hole in the log: the next entry after one that is missing is refused, and nothing is fed.
    if entries.len() >= 3 {
        let mut node = catch_up(1, &made, "node that meets a hole")?;
        let mut out = Vec::new();
        let applied = node.feed(&entries[2], &mut out);
        if applied != (Applied::Gap { expected: 2 }) || !out.is_empty() {
            return Err(Violation {
                invariant: name::REPLICAS,
                detail: format!(
                    "a node fed entry 3 right after entry 1 went on past the hole: {applied:?}, {out:?}"
                ),
            });
        }
    }
    Ok(compared)
}

/// Whether a replica fed entry `i` made what the primary made (`want`), and its deadlines agree.
fn compare(
    role: &str,
    i: usize,
    want: &Fed,
    replica: &ServerState,
    got: &[Effect],
) -> Result<(), Violation> {
    let deadline: Option<Timestamp> = replica.poll_timeout();
    if want.effects == got && want.next_deadline == deadline {
        return Ok(());
    }
    Err(Violation {
        invariant: name::REPLICAS,
        detail: format!(
            "the {role} diverged at log entry {i} ({:?}):\n  primary made {:?}, next deadline {:?}\n  replica made {got:?}, next deadline {deadline:?}",
            want.event, want.effects, want.next_deadline
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_core::server::harness::Harness;
    use natter_core::server::{Config, ConnId, Event};

    fn fresh() -> ServerState {
        Harness::new(Config::default(), &[("alice", "a"), ("bob", "b")]).into_state()
    }

    /// A short session on a harness that keeps its log.
    fn logged_session() -> Vec<Fed> {
        let mut h = Harness::with_state(fresh(), natter_core::server::harness::START).keep_log();
        let a = h.connect();
        let b = h.connect();
        for (conn, line) in [
            (a, "alice"),
            (a, "a"),
            (b, "bob"),
            (b, "b"),
            (a, "message bob hi"),
            (b, "whoelse"),
        ] {
            h.send(conn, line);
        }
        h.advance(1_000);
        h.event(Event::Disconnected { conn: b });
        h.log.take().unwrap()
    }

    #[test]
    fn copies_of_the_core_on_one_log_agree() {
        let log = logged_session();
        assert!(log.len() > 6, "{log:?}");
        let compared = check(&fresh, &log).unwrap();
        assert!(compared >= 2 * log.len() as u64, "{compared}");
    }

    #[test]
    fn node_style_cores_acting_on_deadlines_by_the_log_s_time_agree() {
        let mut log = logged_session();
        // Time passes in the log (a tick long after): the idle timeout fires by it on every node.
        let later = log.last().unwrap().event.at.plus_secs(3_600);
        log.push(Fed {
            event: LogEvent::tick(later),
            effects: Vec::new(),
            next_deadline: None,
        });
        let compared = check_log_timed(&fresh, &log).unwrap();
        assert!(compared > 0);
    }

    #[test]
    fn a_divergence_is_reported_with_the_entry_and_both_sides() {
        let mut log = logged_session();
        // The log says one line was fed and the primary made the effects of another.
        let i = log
            .iter()
            .position(|f| matches!(&f.event.kind, natter_core::server::cluster::LogEventKind::Line { line, .. } if &**line == b"whoelse"))
            .unwrap();
        log[i].event = LogEvent::new(
            Event::Line {
                conn: ConnId(2),
                line: b"message alice hello",
            },
            log[i].event.at,
        );
        let err = check(&fresh, &log).unwrap_err();
        assert_eq!(err.invariant, name::REPLICAS);
        assert!(err.detail.contains("diverged"), "{}", err.detail);
    }
}
