//! The node's decisions, on nodes sharing an in-memory log: gates and kept passwords, fencing, node
//! death, refusals, ticks and the snapshot schedule.

use std::net::SocketAddr;

use super::*;
use crate::protocol::ServerMsg;
use crate::server::Config;
use crate::server::harness::Harness;

const T0: Timestamp = Timestamp(1_700_000_000_000);

fn fresh_core() -> ServerState {
    Harness::new(Config::default(), &[("alice", "a"), ("bob", "b")]).into_state()
}

fn online(node: &Node, user: &str) -> bool {
    node.core().online_users().contains(&user)
}

/// `conn` refused because the node cannot serve it (`BYE unavailable`: its client moves on).
fn unavailable(conn: ConnId) -> Refusal {
    Refusal {
        conn,
        reason: ByeReason::Unavailable,
    }
}

fn peer() -> SocketAddr {
    "127.0.0.1:4000".parse().unwrap()
}

/// Nodes on one log that delivers at once, and what each carried out.
struct Cluster {
    nodes: Vec<Node>,
    log: Vec<LogEntry>,
    /// Per node: how far it has read, and the next number for its appends.
    read: Vec<usize>,
    /// Per node: whether its reader is held (it reads nothing of the log meanwhile).
    held: Vec<bool>,
    seq: Vec<u64>,
    /// Per node: every line sent to its connections, every refusal.
    sent: Vec<Vec<(ConnId, ServerMsg)>>,
    refused: Vec<Vec<Refusal>>,
    now: Timestamp,
}

impl Cluster {
    fn new(n: u64, cfg: NodeConfig) -> Self {
        let nodes = (1..=n)
            .map(|id| Node::new(id, fresh_core(), ReplicaLog::new(), cfg.clone(), T0))
            .collect::<Vec<_>>();
        let len = nodes.len();
        Cluster {
            nodes,
            log: Vec::new(),
            read: vec![0; len],
            held: vec![false; len],
            seq: vec![0; len],
            sent: vec![Vec::new(); len],
            refused: vec![Vec::new(); len],
            now: T0,
        }
    }

    fn node(&mut self, id: u64) -> &mut Node {
        &mut self.nodes[id as usize - 1]
    }

    /// Collects every node's output, appends what they asked to the log and feeds it to every node,
    /// until nothing moves.
    fn settle(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                moved |= self.append_from(i as u64 + 1);
                while let Some(effect) = self.nodes[i].poll_effect() {
                    match effect {
                        Effect::Send { to, msg } => self.sent[i].push((to, msg)),
                        Effect::SendMany { to, msg } => {
                            self.sent[i].extend(to.into_iter().map(|c| (c, msg.clone())))
                        }
                        _ => {}
                    }
                }
                while let Some(r) = self.nodes[i].poll_refusal() {
                    self.refused[i].push(r);
                }
            }
            for i in 0..self.nodes.len() {
                while !self.held[i] && self.read[i] < self.log.len() {
                    let entry = self.log[self.read[i]].clone();
                    self.read[i] += 1;
                    self.nodes[i].handle_entry(&entry, self.now);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Puts what node `id` has to append at the log's end, now; whether there was anything.
    fn append_from(&mut self, id: u64) -> bool {
        let i = id as usize - 1;
        let mut moved = false;
        while let Some(events) = self.nodes[i].poll_append() {
            self.seq[i] += 1;
            self.log.push(LogEntry {
                position: self.log.len() as u64 + 1,
                node: id,
                seq: self.seq[i],
                events,
            });
            moved = true;
        }
        moved
    }

    /// Everything node `id` has to append now, in order (taken: it is not put in the log).
    fn appended(&mut self, id: u64) -> Vec<LogEventKind> {
        std::iter::from_fn(|| self.node(id).poll_append())
            .flatten()
            .map(|e| e.kind)
            .collect()
    }

    /// A connection to node `id`, logged in as `user` (password `password`), both lines typed at once.
    fn log_in(&mut self, id: u64, n: u64, user: &str, password: &str) -> ConnId {
        let conn = ConnId(first_conn_id(id) + n);
        let now = self.now;
        self.node(id)
            .handle(Event::Connected { conn, peer: peer() }, now);
        self.node(id).handle(
            Event::Line {
                conn,
                line: user.as_bytes(),
            },
            now,
        );
        self.node(id).handle(
            Event::Line {
                conn,
                line: password.as_bytes(),
            },
            now,
        );
        self.settle();
        conn
    }

    fn type_line(&mut self, id: u64, conn: ConnId, line: &str) {
        let now = self.now;
        self.node(id).handle(
            Event::Line {
                conn,
                line: line.as_bytes(),
            },
            now,
        );
        self.settle();
    }

    fn lines_to(&self, id: u64, conn: ConnId) -> Vec<String> {
        self.sent[id as usize - 1]
            .iter()
            .filter(|(c, _)| *c == conn)
            .map(|(_, m)| format!("{m:?}"))
            .collect()
    }
}

#[test]
fn lines_before_login_go_one_at_a_time_and_no_password_enters_the_log() {
    let mut c = Cluster::new(2, NodeConfig::default());
    let alice = c.log_in(1, 0, "alice", "a");
    assert!(c.nodes.iter().all(|n| online(n, "alice")));
    // The password went as its shape; its text was compared on node 1 and only the verdict logged.
    assert!(
        c.log
            .iter()
            .flat_map(|e| &e.events)
            .all(|e| !matches!(&e.kind, LogEventKind::Line { line, .. } if &**line == b"a")),
        "{:?}",
        c.log
    );
    assert!(
        c.log
            .iter()
            .flat_map(|e| &e.events)
            .any(|e| matches!(e.kind, LogEventKind::SecretLine { .. }))
    );
    assert!(c.log.iter().flat_map(|e| &e.events).any(
        |e| matches!(e.kind, LogEventKind::PasswordChecked { conn, ok: true, .. } if conn == alice)
    ));
    // Logged in, lines go straight to the log.
    let before = c.log.len();
    c.node(1).handle(
        Event::Line {
            conn: alice,
            line: b"whoelse",
        },
        T0,
    );
    assert!(c.node(1).poll_append().is_some());
    assert_eq!(c.log.len(), before);
}

#[test]
fn each_node_carries_out_only_what_concerns_its_own_connections() {
    let mut c = Cluster::new(2, NodeConfig::default());
    let alice = c.log_in(1, 0, "alice", "a");
    let bob = c.log_in(2, 0, "bob", "b");
    c.type_line(2, bob, "message alice hello");
    assert!(
        c.lines_to(1, alice).iter().any(|l| l.contains("hello")),
        "{:?}",
        c.sent[0]
    );
    assert!(c.sent[0].iter().all(|(to, _)| to.node() == 1));
    assert!(c.sent[1].iter().all(|(to, _)| to.node() == 2));
    // Records of node 1's connections are node 1's to log, with the address they came from.
    let records: Vec<_> = std::iter::from_fn(|| c.node(1).poll_record()).collect();
    assert!(records.iter().any(
        |(r, p)| matches!(r, Record::LoggedIn { user, .. } if &**user == "alice")
            && *p == Some(peer())
    ));
    assert!(
        !records
            .iter()
            .any(|(r, _)| matches!(r, Record::LoggedIn { user, .. } if &**user == "bob"))
    );
}

#[test]
fn a_node_whose_lease_lapses_refuses_everyone_and_appends_only_their_ends() {
    let cfg = NodeConfig::default();
    let mut c = Cluster::new(2, cfg.clone());
    let alice = c.log_in(1, 0, "alice", "a");
    // Not yet: the lease is renewed at T0 and lapses for the node fence_after_ms later.
    assert_eq!(
        c.node(1).poll_timeout(),
        Some(T0.plus_millis(cfg.fence_after_ms))
    );
    let lapse = T0.plus_millis(cfg.fence_after_ms);
    c.node(1).handle_timeout(lapse.minus_millis(1));
    assert!(!c.node(1).fenced());
    assert_eq!(c.node(1).fences(), 0);
    // She types, and the node is cut off before that reaches the log.
    c.node(1).handle(
        Event::Line {
            conn: alice,
            line: b"broadcast late",
        },
        lapse,
    );
    c.now = lapse;
    c.node(1).handle_timeout(lapse);
    assert!(c.node(1).fenced());
    assert_eq!(
        c.node(1).fences(),
        1,
        "counted, so that what was handed over before is known to be from before"
    );
    assert!(!c.node(1).takes_snapshots());
    assert_eq!(
        c.appended(1),
        [LogEventKind::Disconnected { conn: alice }],
        "what she typed must not happen behind her back once she is told"
    );
    assert_eq!(c.node(1).poll_refusal(), Some(unavailable(alice)));
    // A new connection is refused; the shell's word that alice's connection closed appends nothing
    // more; no ticks while fenced.
    let late = ConnId(first_conn_id(1) + 5);
    c.node(1).handle(
        Event::Connected {
            conn: late,
            peer: peer(),
        },
        lapse,
    );
    c.node(1).handle(Event::Disconnected { conn: alice }, lapse);
    assert_eq!(c.node(1).poll_append(), None);
    assert_eq!(c.node(1).poll_refusal().map(|r| r.conn), Some(late));
    assert_eq!(c.node(1).poll_timeout(), None);
    // Renewed: it serves again.
    c.node(1)
        .lease_renewed(lapse.plus_millis(10), LeaseWas::Held, lapse.plus_millis(20));
    assert!(!c.node(1).fenced());
    assert_eq!(
        c.node(1).fences(),
        1,
        "serving again does not undo the count"
    );
    c.node(1).handle(
        Event::Connected {
            conn: late,
            peer: peer(),
        },
        lapse,
    );
    assert!(c.node(1).poll_append().is_some());
    assert_eq!(c.node(1).poll_refusal(), None);
}

#[test]
fn a_node_frozen_past_its_lease_takes_nothing_more_from_its_users_when_it_thaws() {
    let cfg = NodeConfig::default();
    let mut c = Cluster::new(1, cfg.clone());
    let alice = c.log_in(1, 0, "alice", "a");
    // The first thing it hears after the freeze is her line: the lease lapsed meanwhile.
    let thaw = T0.plus_millis(cfg.fence_after_ms + 1_000);
    c.node(1).handle(
        Event::Line {
            conn: alice,
            line: b"broadcast typed while frozen",
        },
        thaw,
    );
    assert!(c.node(1).fenced());
    assert_eq!(c.appended(1), [LogEventKind::Disconnected { conn: alice }]);
}

#[test]
fn a_thawed_node_whose_first_news_is_a_renewal_still_refuses_the_sessions_it_may_have_lost() {
    let cfg = NodeConfig::default();
    let mut c = Cluster::new(1, cfg.clone());
    let alice = c.log_in(1, 0, "alice", "a");
    // Frozen past its fence deadline (the others may have ended her session): the first thing it
    // hears when it thaws is a renewal that worked, before any line or tick would have fenced it.
    let thaw = T0.plus_millis(cfg.fence_after_ms + 1_000);
    c.node(1).lease_renewed(thaw, LeaseWas::Held, thaw);
    assert!(!c.node(1).fenced(), "it serves again");
    assert_eq!(
        c.node(1).poll_refusal(),
        Some(unavailable(alice)),
        "but not her old session"
    );
    assert_eq!(c.appended(1), [LogEventKind::Disconnected { conn: alice }]);
    // What she typed meanwhile is not taken: her connection is no longer the node's.
    c.node(1).handle(
        Event::Line {
            conn: alice,
            line: b"broadcast typed while frozen",
        },
        thaw,
    );
    assert_eq!(c.appended(1), []);
}

#[test]
fn a_renewal_that_finds_the_lease_gone_from_redis_refuses_every_session_first() {
    let cfg = NodeConfig::default();
    let mut c = Cluster::new(1, cfg.clone());
    let alice = c.log_in(1, 0, "alice", "a");
    // Within its own deadline by its clock, but Redis says the lease ran out (a clock that ran slow,
    // a renewal delayed on its way): the others may have found it dead.
    let soon = T0.plus_millis(1_000);
    c.node(1).lease_renewed(soon, LeaseWas::Lapsed, soon);
    assert!(!c.node(1).fenced());
    assert_eq!(c.node(1).poll_refusal().map(|r| r.conn), Some(alice));
    assert_eq!(c.appended(1), [LogEventKind::Disconnected { conn: alice }]);
    // A renewal that finds it held changes nothing.
    let bob = c.log_in(1, 1, "bob", "b");
    c.node(1).lease_renewed(soon, LeaseWas::Held, soon);
    assert_eq!(c.node(1).poll_refusal(), None);
    assert!(c.node(1).is_own(bob));
}

#[test]
fn a_dead_node_is_said_dead_once_and_again_if_it_comes_back_and_dies() {
    let mut c = Cluster::new(2, NodeConfig::default());
    let bob = c.log_in(2, 0, "bob", "b");
    c.node(1).members(2, &[1, 2], T0);
    assert_eq!(c.node(1).poll_append(), None);
    c.node(1).members(2, &[1], T0);
    assert_eq!(
        c.appended(1),
        [LogEventKind::NodeDead { node: 2 }],
        "one word for the node, however many sessions it held"
    );
    // Read again as dead while the word is on its way: nothing more.
    c.node(1).members(2, &[1], T0);
    assert_eq!(c.node(1).poll_append(), None);
    // Put back where it was, the word lands: bob's session ends on both copies; node 2 reads of its
    // death, refuses him and says it is back.
    c.log.push(LogEntry {
        position: c.log.len() as u64 + 1,
        node: 1,
        seq: 99,
        events: vec![LogEvent {
            at: T0,
            kind: LogEventKind::NodeDead { node: 2 },
        }],
    });
    c.settle();
    assert!(!online(&c.nodes[0], "bob") && !online(&c.nodes[1], "bob"));
    assert_eq!(
        c.refused[1].iter().map(|r| r.conn).collect::<Vec<_>>(),
        [bob]
    );
    assert!(!c.nodes[0].log().is_dead(2), "back");
    // Seen alive: nothing said. Its lease gone again (it died after coming back, perhaps while
    // node 1 could not read the leases): said again.
    c.node(1).members(2, &[1, 2], T0);
    assert_eq!(c.node(1).poll_append(), None);
    c.node(1).members(2, &[1], T0);
    assert_eq!(c.appended(1), [LogEventKind::NodeDead { node: 2 }]);
}

#[test]
fn the_log_ends_every_session_of_a_dead_node_even_one_whoever_noticed_had_not_read_of() {
    // Node 1's reader falls behind; meanwhile bob logs in at node 2, and node 1 finds node 2 dead
    // knowing nothing of him.
    let mut c = Cluster::new(2, NodeConfig::default());
    c.held[0] = true;
    c.log_in(2, 0, "bob", "b");
    c.node(1).members(2, &[1], T0);
    assert!(c.nodes[0].core().open_conns().is_empty(), "it saw nothing");
    c.held[0] = false;
    c.settle();
    // Every copy ended bob's session where the word landed, though its writer never knew of it.
    assert!(!online(&c.nodes[0], "bob") && !online(&c.nodes[1], "bob"));
    assert!(c.nodes[0].core().open_conns().is_empty());
    // Node 2 read of its own death: it refused bob, and said it is back.
    assert_eq!(c.refused[1].len(), 1);
    assert!(!c.nodes[0].log().is_dead(2) && !c.nodes[1].log().is_dead(2));
}

#[test]
fn what_a_node_appended_before_it_read_of_its_death_counts_for_nothing_even_landing_after() {
    let mut c = Cluster::new(2, NodeConfig::default());
    let alice = c.log_in(1, 0, "alice", "a");
    let bob = c.log_in(2, 0, "bob", "b");
    // Node 1 is cut off: what alice types is on its way to the log, slowly. Meanwhile node 2 finds
    // node 1's lease gone, and says so first.
    c.node(1).handle(
        Event::Line {
            conn: alice,
            line: b"message bob sent before the partition healed",
        },
        T0,
    );
    c.node(2).members(2, &[2], T0);
    c.append_from(2);
    c.append_from(1);
    c.settle();
    assert!(
        !c.lines_to(2, bob).iter().any(|l| l.contains("partition")),
        "nothing node 1 sent before its death acts after it: {:?}",
        c.lines_to(2, bob)
    );
    assert!(!online(&c.nodes[1], "alice"));
    assert_eq!(c.refused[0], [unavailable(alice)]);
    // The shell's word that the connection closed adds nothing: the log has its end already.
    c.node(1).handle(Event::Disconnected { conn: alice }, T0);
    assert_eq!(c.node(1).poll_append(), None);
    // Node 1 said it is back: a new login there counts.
    assert!(!c.nodes[1].log().is_dead(1));
    c.log_in(1, 1, "alice", "a");
    assert!(online(&c.nodes[1], "alice"));
}

#[test]
fn a_tick_is_appended_once_a_deadline_is_due_and_not_more_often_than_tick_every() {
    let cfg = NodeConfig {
        fence_after_ms: u64::MAX / 4,
        ..NodeConfig::default()
    };
    let mut c = Cluster::new(1, cfg.clone());
    let conn = ConnId(first_conn_id(1));
    c.node(1)
        .handle(Event::Connected { conn, peer: peer() }, T0);
    c.settle();
    // The login deadline is the core's; the node wants to be woken for it.
    let deadline = c.nodes[0]
        .core()
        .poll_timeout()
        .expect("the login deadline");
    assert_eq!(c.node(1).poll_timeout(), Some(deadline));
    c.node(1).handle_timeout(deadline.minus_millis(1));
    assert_eq!(c.node(1).poll_append(), None);
    c.now = deadline;
    c.node(1).handle_timeout(deadline);
    let tick = c.node(1).poll_append().expect("a tick");
    assert_eq!(tick, [LogEvent::tick(deadline)]);
    // Not read back yet: no second tick until tick_every has passed.
    c.node(1)
        .handle_timeout(deadline.plus_millis(cfg.tick_every_ms - 1));
    assert_eq!(c.node(1).poll_append(), None);
    c.node(1)
        .handle_timeout(deadline.plus_millis(cfg.tick_every_ms));
    assert!(c.node(1).poll_append().is_some());
    // Once the log's time passes the deadline, the core acts on it on every copy.
    c.seq[0] += 1;
    c.log.push(LogEntry {
        position: c.log.len() as u64 + 1,
        node: 1,
        seq: c.seq[0],
        events: tick,
    });
    c.settle();
    assert!(
        c.lines_to(1, conn).iter().any(|l| l.contains("Bye")),
        "{:?}",
        c.sent
    );
}

#[test]
fn snapshots_are_taken_by_the_lowest_live_node_when_due() {
    let cfg = NodeConfig {
        snapshot_every: 4,
        // Ten minutes pass below with one renewal: this test is about the snapshot's age.
        fence_after_ms: u64::MAX / 4,
        ..NodeConfig::default()
    };
    let mut c = Cluster::new(2, cfg.clone());
    for id in 1..=2 {
        c.node(id).members(2, &[1, 2], T0);
    }
    assert!(c.nodes[0].takes_snapshots() && !c.nodes[1].takes_snapshots());
    c.log_in(2, 0, "bob", "b");
    assert!(c.log.len() >= 4, "{:?}", c.log);
    let snapshot = c.node(1).poll_snapshot().expect("due after 4 entries");
    assert_eq!(c.node(2).poll_snapshot(), None);
    assert_eq!(c.node(1).poll_snapshot(), None, "taken once");
    let (core, log) = snapshot::decode(&snapshot.bytes).unwrap();
    assert!(snapshot.position >= 4 && log.position() == snapshot.position);
    assert!(core.online_users().contains(&"bob"));
    // Node 1 dies: node 2 takes them from then on.
    c.node(2).members(2, &[2], T0);
    assert!(c.nodes[1].takes_snapshots());
    // A quiet cluster: one entry, then the age limit passes in log time.
    let bob = ConnId(first_conn_id(2));
    c.type_line(2, bob, "whoelse");
    let _ = c.node(2).poll_snapshot();
    c.now = c.now.plus_millis(cfg.snapshot_max_age_ms);
    let now = c.now;
    c.node(2).lease_renewed(now, LeaseWas::Held, now);
    c.node(2).handle(
        Event::Line {
            conn: bob,
            line: b"whoelse",
        },
        now,
    );
    c.settle();
    assert!(c.node(2).poll_snapshot().is_some(), "due by age");
}

#[test]
fn a_full_gate_holds_the_reader_until_it_drains_to_half() {
    let cfg = NodeConfig {
        gate_max_bytes: 100,
        ..NodeConfig::default()
    };
    let mut c = Cluster::new(1, cfg);
    let conn = ConnId(first_conn_id(1));
    c.node(1)
        .handle(Event::Connected { conn, peer: peer() }, T0);
    // Not read back yet: the core does not know the connection, so every line waits.
    for _ in 0..3 {
        c.node(1).handle(
            Event::Line {
                conn,
                line: &[b'x'; 40],
            },
            T0,
        );
    }
    assert_eq!(
        c.node(1).poll_read_hold(),
        Some(ReadHold { conn, held: true })
    );
    assert_eq!(c.node(1).poll_read_hold(), None);
    c.settle();
    assert_eq!(
        c.node(1).poll_read_hold(),
        Some(ReadHold { conn, held: false })
    );
}

#[test]
fn a_node_left_behind_starts_again_from_a_snapshot_and_refuses_its_connections() {
    let mut c = Cluster::new(2, NodeConfig::default());
    let alice = c.log_in(1, 0, "alice", "a");
    let bytes = snapshot::encode(c.nodes[1].core(), c.nodes[1].log());
    let at = c.nodes[1].position();
    c.node(1).restart(&bytes, T0);
    assert_eq!(c.nodes[0].position(), at);
    assert_eq!(c.node(1).poll_refusal(), Some(unavailable(alice)));
    assert_eq!(c.appended(1), [LogEventKind::Disconnected { conn: alice }]);
    // Bytes that are no snapshot stop it.
    let mut broken = Cluster::new(1, NodeConfig::default());
    broken.node(1).restart(b"not a snapshot", T0);
    assert!(matches!(
        broken.nodes[0].lost(),
        Some(Lost::Snapshot(SnapshotError::NotASnapshot))
    ));
}

#[test]
fn a_hole_in_the_log_refuses_everyone_and_asks_for_the_snapshot_until_one_comes() {
    let mut c = Cluster::new(2, NodeConfig::default());
    let alice = c.log_in(1, 0, "alice", "a");
    let bytes = snapshot::encode(c.nodes[1].core(), c.nodes[1].log());
    let at = c.nodes[1].position();
    assert!(!c.node(1).poll_snapshot_wanted());
    // Entries `at + 1` and `at + 2` were trimmed before node 1 read them.
    let past_the_hole = |position, seq| LogEntry {
        position,
        node: 2,
        seq,
        events: vec![LogEvent::tick(T0)],
    };
    c.node(1).handle_entry(&past_the_hole(at + 3, 100), T0);
    assert!(c.nodes[0].behind() && c.nodes[0].lost().is_none());
    assert_eq!(c.nodes[0].position(), at, "nothing past the hole is fed");
    assert!(c.node(1).poll_snapshot_wanted());
    assert!(!c.node(1).poll_snapshot_wanted(), "asked once");
    // Its users missed what was trimmed: they are refused, their sessions ended in the log; a new
    // connection is refused too, and nothing of the stale core's deadlines is ticked.
    assert_eq!(c.node(1).poll_refusal(), Some(unavailable(alice)));
    assert_eq!(c.appended(1), [LogEventKind::Disconnected { conn: alice }]);
    let late = ConnId(first_conn_id(1) + 5);
    c.node(1).handle(
        Event::Connected {
            conn: late,
            peer: peer(),
        },
        T0,
    );
    assert_eq!(c.node(1).poll_refusal().map(|r| r.conn), Some(late));
    // Past the idle timeout of the session the stale core still holds.
    let later = T0.plus_millis(700_000);
    c.node(1).lease_renewed(later, LeaseWas::Lapsed, later);
    c.node(1).handle_timeout(later);
    assert!(
        c.appended(1).iter().all(|e| *e != LogEventKind::Tick),
        "no tick from a node behind"
    );
    // The fetch failed: the next entry past the hole asks again.
    c.node(1).handle_entry(&past_the_hole(at + 4, 101), T0);
    assert!(c.node(1).poll_snapshot_wanted());
    // The snapshot comes: the node is where it says and serves again.
    c.node(1).restart(&bytes, T0);
    assert!(!c.nodes[0].behind() && !c.node(1).poll_snapshot_wanted());
    assert_eq!(c.nodes[0].position(), at);
    let again = ConnId(first_conn_id(1) + 6);
    c.node(1).handle(
        Event::Connected {
            conn: again,
            peer: peer(),
        },
        later,
    );
    assert_eq!(c.node(1).poll_refusal(), None);
}

#[test]
fn the_log_is_trimmed_behind_a_stored_snapshot_as_far_as_the_slowest_live_node_has_read() {
    let cfg = NodeConfig {
        snapshot_every: 4,
        ..NodeConfig::default()
    };
    let mut c = Cluster::new(2, cfg);
    for id in 1..=2 {
        c.node(id).members(2, &[1, 2], T0);
    }
    c.log_in(2, 0, "bob", "b");
    let snapshot = c.node(1).poll_snapshot().expect("due after 4 entries");
    assert_eq!(c.node(1).poll_trim(), None, "nothing before it is stored");
    c.node(1).positions(&[(1, snapshot.position), (2, 2)]);
    c.node(1).snapshot_stored(snapshot.position);
    assert_eq!(c.node(1).poll_trim(), Some(3), "node 2 has read up to 2");
    assert_eq!(c.node(1).poll_trim(), None);
    // Node 2 reads on (its next renewal says so): the rest goes, up to the snapshot.
    c.node(1).positions(&[(1, 0), (2, snapshot.position + 10)]);
    assert_eq!(c.node(1).poll_trim(), Some(snapshot.position + 1));
    // Its own report (a renewal old) holds nothing back.
    c.node(1).positions(&[(1, 0)]);
    assert_eq!(c.node(1).poll_trim(), None);
}

#[test]
fn the_lease_is_renewed_well_within_the_time_the_node_fences_after() {
    let cfg = NodeConfig::default();
    assert!(cfg.renew_every_ms * 3 <= cfg.fence_after_ms && cfg.fence_after_ms < cfg.lease_ms);
    let c = Cluster::new(1, cfg.clone());
    let mut r = c.nodes[0].renewals(T0);
    assert_eq!(r.due(), T0);
    assert_eq!(r.lease_ms(), LEASE_MS);
    r.done(T0, true, T0);
    assert_eq!(r.due(), T0.plus_millis(cfg.renew_every_ms));
    r.done(r.due(), false, r.due());
    assert_eq!(
        r.due(),
        T0.plus_millis(cfg.renew_every_ms + cfg.renew_retry_ms)
    );
}

#[test]
fn a_node_that_stops_tells_its_users_and_ends_their_sessions() {
    let mut c = Cluster::new(2, NodeConfig::default());
    let alice = c.log_in(1, 0, "alice", "a");
    c.node(1).handle(Event::Shutdown, T0);
    assert_eq!(
        c.node(1).poll_refusal(),
        Some(Refusal {
            conn: alice,
            reason: ByeReason::Shutdown
        })
    );
    c.settle();
    assert!(
        !online(&c.nodes[1], "alice"),
        "the cluster goes on without her"
    );
}

#[test]
fn a_line_appended_twice_counts_once_and_does_not_open_the_gate_early() {
    let mut c = Cluster::new(1, NodeConfig::default());
    let conn = ConnId(first_conn_id(1));
    c.node(1)
        .handle(Event::Connected { conn, peer: peer() }, T0);
    c.settle();
    for line in ["alice", "a", "whoelse"] {
        c.node(1).handle(
            Event::Line {
                conn,
                line: line.as_bytes(),
            },
            T0,
        );
    }
    // The username goes to the log; its append gets no answer and is made again.
    let username = c.node(1).poll_append().expect("the username");
    assert_eq!(
        c.node(1).poll_append(),
        None,
        "one line at a time before login"
    );
    for _ in 0..2 {
        c.log.push(LogEntry {
            position: c.log.len() as u64 + 1,
            node: 1,
            seq: c.seq[0] + 1,
            events: username.clone(),
        });
    }
    c.seq[0] += 1;
    let first = c.log[1].clone();
    c.node(1).handle_entry(&first, T0);
    let password = c.node(1).poll_append().expect("the password, as its shape");
    assert!(matches!(
        password[..],
        [LogEvent {
            kind: LogEventKind::SecretLine { .. },
            ..
        }]
    ));
    // The second copy is skipped: the password is not handled yet, so `whoelse` still waits.
    let again = c.log[2].clone();
    c.node(1).handle_entry(&again, T0);
    assert_eq!(c.node(1).poll_append(), None);
}

#[test]
fn one_turn_s_events_are_one_entry_applied_in_order_on_every_node() {
    let mut c = Cluster::new(3, NodeConfig::default());
    let alice = c.log_in(1, 0, "alice", "a");
    let bob = c.log_in(2, 0, "bob", "b");
    let before = c.log.len();
    // One turn of node 1's driver: alice types four lines, and a new connection comes.
    let newcomer = ConnId(first_conn_id(1) + 1);
    for line in [
        "message bob one",
        "message bob two",
        "message bob three",
        "whoelse",
    ] {
        c.node(1).handle(
            Event::Line {
                conn: alice,
                line: line.as_bytes(),
            },
            T0,
        );
    }
    c.node(1).handle(
        Event::Connected {
            conn: newcomer,
            peer: peer(),
        },
        T0,
    );
    c.settle();
    let entry = &c.log[before];
    assert_eq!((entry.node, entry.events.len()), (1, 5), "{entry:?}");
    // Bob got the three on node 2, in order; alice's answers came in the order she typed.
    let to_bob = c.lines_to(2, bob);
    let at = |lines: &[String], what: &str| lines.iter().position(|l| l.contains(what));
    let order = ["\"one\"", "\"two\"", "\"three\""].map(|w| at(&to_bob, w));
    assert!(
        order.iter().all(Option::is_some) && order.is_sorted(),
        "{to_bob:?}"
    );
    let to_alice = c.lines_to(1, alice);
    assert!(
        to_alice.last().is_some_and(|l| l.contains("WhoElse")),
        "{to_alice:?}"
    );
    assert!(!c.lines_to(1, newcomer).is_empty(), "the username prompt");
    // Every copy of the core is in the same state, the third node's (no users of its own) too.
    let states: Vec<Vec<u8>> = c
        .nodes
        .iter()
        .map(|n| snapshot::encode(n.core(), n.log()))
        .collect();
    assert!(states.iter().all(|s| *s == states[0]));
}

#[test]
fn a_turn_larger_than_an_entry_is_appended_as_several_in_order() {
    let mut c = Cluster::new(1, NodeConfig::default());
    let alice = c.log_in(1, 0, "alice", "a");
    // Three entries' worth and more, of lines near the longest a client may send.
    let lines: Vec<String> = (0..3 * MAX_ENTRY_BYTES / 7_000 + 1)
        .map(|i| format!("broadcast {i:03} {}", "x".repeat(7_000)))
        .collect();
    for line in &lines {
        c.node(1).handle(
            Event::Line {
                conn: alice,
                line: line.as_bytes(),
            },
            T0,
        );
    }
    let entries: Vec<Vec<LogEvent>> = std::iter::from_fn(|| c.node(1).poll_append()).collect();
    assert!(entries.len() >= 3, "{} entries", entries.len());
    for entry in &entries {
        let bytes: usize = entry.iter().map(LogEvent::encoded_len).sum();
        assert!(bytes <= MAX_ENTRY_BYTES, "{bytes}");
        assert!(LogEvent::encode_batch(entry).len() <= MAX_ENTRY_BYTES + 5);
    }
    let typed: Vec<&[u8]> = entries
        .iter()
        .flatten()
        .map(|e| match &e.kind {
            LogEventKind::Line { line, .. } => &line[..],
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        typed,
        lines.iter().map(|l| l.as_bytes()).collect::<Vec<_>>()
    );
}

#[test]
fn reading_is_held_while_its_own_entry_makes_the_round_trip_and_no_longer_than_hold_reading_ms() {
    let cfg = NodeConfig {
        fence_after_ms: u64::MAX / 4,
        hold_reading_min_events: 1,
        ..NodeConfig::default()
    };
    let hold = cfg.hold_reading_ms;
    let mut c = Cluster::new(2, cfg);
    let alice = c.log_in(1, 0, "alice", "a");
    let bob = c.log_in(2, 0, "bob", "b");
    let now = c.now;
    assert!(!c.nodes[0].reading_held(now));
    let whoelse = Event::Line {
        conn: alice,
        line: b"whoelse",
    };
    c.node(1).handle(whoelse, now);
    assert!(!c.nodes[0].reading_held(now), "nothing handed over yet");
    c.append_from(1);
    assert!(c.nodes[0].reading_held(now), "its entry is on its way");
    assert!(c.node(1).poll_timeout() <= Some(now.plus_millis(hold)));
    // Another node's entries are not its own: node 2 reads on.
    c.node(2).handle(
        Event::Line {
            conn: bob,
            line: b"whoelse",
        },
        now,
    );
    c.append_from(2);
    assert!(c.nodes[1].reading_held(now));
    c.held[1] = true;
    c.settle();
    assert!(!c.nodes[0].reading_held(now), "its entry came back");
    assert!(c.nodes[1].reading_held(now), "node 2 has read nothing back");
    c.held[1] = false;
    c.settle();
    assert!(!c.nodes[1].reading_held(now));

    // An entry that never comes back (a fence's carrier dropped it) holds no longer than the
    // deadline, and counting starts afresh after it.
    c.node(1).handle(whoelse, now);
    assert!(c.node(1).poll_append().is_some());
    assert!(c.nodes[0].reading_held(now.plus_millis(hold - 1)));
    assert!(!c.nodes[0].reading_held(now.plus_millis(hold)));
    c.node(1).handle_timeout(now.plus_millis(hold));
    assert!(
        c.node(1)
            .poll_timeout()
            .is_none_or(|at| at > now.plus_millis(hold))
    );
    let later = now.plus_millis(hold);
    c.now = later;
    c.node(1).handle(whoelse, later);
    c.append_from(1);
    assert!(c.nodes[0].reading_held(later));
    c.settle();
    assert!(!c.nodes[0].reading_held(later));
}

#[test]
fn reading_is_never_held_with_hold_reading_entries_zero() {
    let cfg = NodeConfig {
        hold_reading_entries: 0,
        ..NodeConfig::default()
    };
    let mut c = Cluster::new(1, cfg);
    let alice = c.log_in(1, 0, "alice", "a");
    let now = c.now;
    c.node(1).handle(
        Event::Line {
            conn: alice,
            line: b"whoelse",
        },
        now,
    );
    c.append_from(1);
    assert!(!c.nodes[0].reading_held(now));
}

#[test]
fn reading_is_held_only_behind_an_entry_of_at_least_hold_reading_min_events() {
    let cfg = NodeConfig::default();
    let min = cfg.hold_reading_min_events;
    let mut c = Cluster::new(1, cfg);
    let alice = c.log_in(1, 0, "alice", "a");
    let now = c.now;
    let line = Event::Line {
        conn: alice,
        line: b"whoelse",
    };
    for _ in 1..min {
        c.node(1).handle(line, now);
    }
    c.append_from(1);
    assert!(!c.nodes[0].reading_held(now), "a small entry: read on");
    c.settle();
    for _ in 0..min {
        c.node(1).handle(line, now);
    }
    c.append_from(1);
    assert!(c.nodes[0].reading_held(now), "a busy node's entry: held");
    c.settle();
    assert!(!c.nodes[0].reading_held(now));
}
