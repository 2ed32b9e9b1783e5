//! A whole cluster on a virtual clock: several nodes (each the pure [`Node`] with its core, as the
//! server runs it), one simulated Redis holding the shared log with latency, and users moving between
//! nodes, under injected faults; invariants checked as it runs and at its end.
//!
//! Like iroh-gossip's multi-node simulation, every node is driven by one loop with a seeded generator:
//! each step of 20 ms lands what reached Redis, lets each node read what it may see, renew its lease
//! and read the others', act on its deadlines, and carries out what it says; users type. Faults drawn
//! from the seed: a node killed (its users lose their connection; a new node joins later, from the
//! latest snapshot, as a late joiner), a node whose lease renewals fail, a node frozen for seconds, a
//! node whose appends take seconds to reach Redis (a partition healing: they land after the others
//! may have found it dead), a Redis stall, a Redis restart (answers to appends in flight lost: they
//! are sent again, so some land twice), and snapshots small enough that the log is trimmed and a node
//! left behind starts again.
//!
//! Invariants, on every seed:
//! - **replicas agree**: every live node, once it has read the whole log, has the same state (its
//!   core and place in the log, as values), so every rule (one session per user, lockout, blocks, groups) holds
//!   cluster-wide as it holds in one core;
//! - **nothing acknowledged is lost**: a message whose sender was told `STORED` or `DELIVERED` is
//!   shown to its recipient by the end, even when the recipient's session was ended under it by a
//!   failure (its node died, was cut off, or left behind): `DELIVERED` is said only once the
//!   recipient's client acknowledged the message (with `strict` off, such a loss is only counted, as
//!   [`Report::lost_with_node`]);
//! - **nothing is shown twice**: a message's text is shown to its recipient at most once (one shown
//!   again, stored after a session ended before its acknowledgement arrived, is recognised by its
//!   id, as the client does);
//! - **a session the log ended takes nothing more**: no line of a connection is taken by the copies
//!   of the core after the entry that ended its session (a node found dead has all its sessions
//!   ended there, and nothing it appended counts until it says it is back);
//! - **no session is left at a dead node**: once all is quiet, every connection the cluster holds
//!   open belongs to a running node (else its user could never log in again);
//! - **the rules hold cluster-wide**: the reference model, fed the log as it lands (its one order of
//!   every node's events), says what each connection must be shown, and every line each node shows
//!   its own connections is the model's next line for that connection (all of them, once all is
//!   quiet): a lockout made by failures at several nodes holds at every node, a blocked sender's
//!   messages and presence never reach the blocker, only a group's current members are shown its
//!   messages, as in one server (`reference`). Each client also checks what it alone can see
//!   (never a message or presence from someone it blocked, nor a message of a group it left).

mod redis;
mod reference;
mod users;

use std::collections::BTreeSet;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use self::redis::Redis;
use self::reference::Reference;
use self::users::{Acked, Pending, Reaction, Session, Told, User, receive};
use super::invariants::Violation;
use natter_core::protocol::ServerMsg;
use natter_core::server::cluster::node::{Node, NodeConfig, ReadHold, Renewals, first_conn_id};
use natter_core::server::cluster::{LogEventKind, ReplicaLog, snapshot};
use natter_core::server::harness::START;
use natter_core::server::{Account, Config, ConnId, Effect, Event, ServerState};
use natter_core::time::Timestamp;

/// The cluster's invariants, by name (see the module documentation).
pub mod name {
    pub use crate::invariants::name::REPLICAS;
    /// A message its sender was told was delivered or stored is shown to its recipient.
    pub const ACKNOWLEDGED_KEPT: &str = "cluster-acknowledged-kept";
    /// A message is shown to its recipient at most once.
    pub const SHOWN_ONCE: &str = "cluster-shown-once";
    /// No line of a connection is taken after the entry that ended its session.
    pub const ENDED_SESSION: &str = "cluster-ended-session";
    /// Every line a node shows its connections is the reference model's, fed the log.
    pub const MODEL: &str = "cluster-model-agreement";
    /// No client is shown a message or presence of someone it blocked, nor a message of a group it
    /// left.
    pub const SEEN_RULES: &str = "cluster-rules-seen-by-clients";
    /// Once all is quiet, every connection the cluster holds open is held by a running node: a
    /// session at a node that died is ended, or its user could never log in again.
    pub const NO_ORPHANS: &str = "cluster-no-session-at-a-dead-node";
}

/// One step of the virtual clock.
const STEP_MS: u64 = 20;
/// Groups the users make, join, leave and write to.
const GROUPS: u64 = 3;

/// What one run does.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Nodes at the start.
    pub nodes: usize,
    pub users: usize,
    /// Steps of `STEP_MS` with users typing and faults injected (then as many to settle).
    pub steps: usize,
    /// Inject faults.
    pub faults: bool,
    /// A `DELIVERED` message lost with its recipient's node is a failure too (on by default: the
    /// delivery acknowledgements close that loss).
    pub strict: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            nodes: 3,
            users: 6,
            steps: 1_500,
            faults: true,
            strict: true,
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub entries: u64,
    pub acknowledged: u64,
    pub shown: u64,
    pub kills: u32,
    pub joins: u32,
    pub freezes: u32,
    pub lease_lapses: u32,
    pub stalls: u32,
    pub redis_restarts: u32,
    pub restarts_from_snapshot: u32,
    /// Times a node's appends took seconds to reach Redis.
    pub slow_links: u32,
    /// Accounts locked by a third wrong password in a row.
    pub lockouts: u32,
    /// Logins refused because the account was locked (after wrong passwords, at any node).
    pub lockouts_met: u32,
    /// Of those, at another node than the one whose failure locked it.
    pub lockouts_met_elsewhere: u32,
    /// Messages refused because their recipient blocked the sender.
    pub refused_blocked: u32,
    /// Group messages shown, and groups left.
    pub group_messages_shown: u32,
    pub groups_left: u32,
    /// `DELIVERED` messages whose recipient's session was ended under them by a failure.
    pub lost_with_node: Vec<String>,
}

/// A running node and what the simulation keeps beside it.
struct SimNode {
    node: Node,
    /// The position handed to it last.
    read: u64,
    /// Its appends' numbers.
    seq: u64,
    read_delay_ms: u64,
    frozen_until: Timestamp,
    renewals_fail_until: Timestamp,
    /// Until then its link to Redis is slow: its appends take [`SimNode::slow_ms`] to arrive (a
    /// partition healing, packets retransmitted), in order, while its lease renewals, on a
    /// connection of their own, may work or not.
    slow_until: Timestamp,
    slow_ms: u64,
    /// When it renews its lease (the node says), as the shell's lease thread does.
    renewals: Renewals,
    /// Its users' events while it is frozen, handed over when it thaws.
    waiting: Vec<(ConnId, WaitingInput)>,
}

enum WaitingInput {
    /// A connection from this address.
    Open(std::net::SocketAddr),
    Line(String),
    Drained,
    Closed,
}

struct Sim {
    rng: ChaCha8Rng,
    cfg: SimConfig,
    now: Timestamp,
    redis: Redis,
    nodes: Vec<SimNode>,
    users: Vec<User>,
    acked: Vec<Acked>,
    /// Connections whose session the log has ended.
    ended: BTreeSet<ConnId>,
    /// A copy of the core that reads every entry as it lands: which connection each message was
    /// delivered to.
    oracle: (ServerState, ReplicaLog),
    delivered_to: std::collections::BTreeMap<String, ConnId>,
    /// An answer that did not match the message it answered, once one came.
    mismatch: Option<String>,
    /// The reference model fed the log, and what each connection was shown against it.
    reference: Reference,
    /// The first line shown that the model did not send.
    disagreement: Option<String>,
    /// In the final round: users log in to collect what was stored for them.
    settling: bool,
    next_conn: u64,
    texts: u64,
    /// The state every node starts from on an empty log, as bytes.
    fresh: Vec<u8>,
    report: Report,
}

fn violation(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

/// Runs one seed.
pub fn run(seed: u64, cfg: &SimConfig) -> Result<Report, Violation> {
    let accounts: Vec<Account> = (0..cfg.users)
        .map(|i| Account {
            username: format!("u{i}"),
            password: format!("p{i}"),
        })
        .collect();
    let pairs: Vec<(String, String)> = accounts
        .iter()
        .map(|a| (a.username.clone(), a.password.clone()))
        .collect();
    let config = rules();
    let fresh = snapshot::encode(
        &ServerState::new(config.clone(), accounts, [9; 32]),
        &ReplicaLog::new(),
    );
    let mut sim = Sim {
        rng: ChaCha8Rng::seed_from_u64(seed),
        cfg: cfg.clone(),
        now: START,
        redis: Redis::new(),
        nodes: Vec::new(),
        users: (0..cfg.users).map(User::new).collect(),
        acked: Vec::new(),
        ended: BTreeSet::new(),
        oracle: snapshot::decode(&fresh).expect("a snapshot just taken"),
        delivered_to: Default::default(),
        mismatch: None,
        reference: Reference::new(config, &pairs, START),
        disagreement: None,
        settling: false,
        next_conn: 0,
        texts: 0,
        fresh,
        report: Report::default(),
    };
    for _ in 0..cfg.nodes {
        sim.join();
    }
    for _ in 0..cfg.steps {
        if cfg.faults {
            sim.inject();
        }
        sim.users_type();
        sim.step()?;
    }
    sim.settle()?;
    sim.check_end()?;
    sim.report.entries = sim.redis.highest_position();
    Ok(sim.report)
}

/// The rules every node runs: the defaults, with a lockout short enough to end within a run, and
/// without the flood and per-address limits, which the reference model does not model (they have
/// tests of their own; the cluster's users type slowly, each from an address of its own).
fn rules() -> Config {
    Config {
        block_duration_secs: 5,
        ..Config::default().unlimited()
    }
}

impl Sim {
    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n.max(1)
    }

    fn chance(&mut self, per_million: u64) -> bool {
        self.below(1_000_000) < per_million
    }

    /// A new node joins: from the latest snapshot, or the start of the log.
    fn join(&mut self) {
        self.redis.highest += 1;
        let id = self.redis.highest;
        let bytes = self.redis.snapshot.as_ref().map_or(&self.fresh, |(_, b)| b);
        let (core, log) = snapshot::decode(bytes).expect("a snapshot the cluster stored");
        let cfg = NodeConfig {
            snapshot_every: 40,
            ..NodeConfig::default()
        };
        let read = log.position();
        let lease_ms = cfg.lease_ms;
        let _ = self.redis.renew(id, self.now, lease_ms, read);
        let read_delay_ms = self.below(30);
        let node = Node::new(id, core, log, cfg, self.now);
        let mut renewals = node.renewals(self.now);
        // Joining renewed once.
        renewals.done(self.now, true, self.now);
        self.nodes.push(SimNode {
            node,
            read,
            seq: 0,
            read_delay_ms,
            frozen_until: self.now,
            renewals_fail_until: self.now,
            slow_until: self.now,
            slow_ms: 0,
            renewals,
            waiting: Vec::new(),
        });
        if id > self.cfg.nodes as u64 {
            self.report.joins += 1;
        }
    }

    fn index_of(&self, id: u64) -> Option<usize> {
        self.nodes.iter().position(|n| n.node.id() == id)
    }

    /// Draws the faults of this step.
    fn inject(&mut self) {
        let now = self.now;
        if self.nodes.len() > 1 && self.chance(600) {
            let i = self.below(self.nodes.len() as u64) as usize;
            let dead = self.nodes.remove(i);
            self.report.kills += 1;
            for u in &mut self.users {
                if u.session.is_some_and(|s| s.node == dead.node.id()) {
                    u.ended(false);
                }
            }
        }
        if self.nodes.len() < self.cfg.nodes && self.chance(3_000) {
            self.join();
        }
        if !self.nodes.is_empty() && self.chance(500) {
            let i = self.below(self.nodes.len() as u64) as usize;
            let ms = 1_000 + self.below(7_000);
            self.nodes[i].frozen_until = now.plus_millis(ms);
            self.report.freezes += 1;
        }
        if !self.nodes.is_empty() && self.chance(500) {
            let i = self.below(self.nodes.len() as u64) as usize;
            let ms = 2_000 + self.below(6_000);
            self.nodes[i].renewals_fail_until = now.plus_millis(ms);
            self.report.lease_lapses += 1;
        }
        if !self.nodes.is_empty() && self.chance(300) {
            let i = self.below(self.nodes.len() as u64) as usize;
            self.nodes[i].slow_ms = 500 + self.below(7_000);
            self.nodes[i].slow_until = now.plus_millis(1_000 + self.below(4_000));
            self.report.slow_links += 1;
        }
        if self.chance(300) {
            let ms = 100 + self.below(6_000);
            self.redis.stalled_until = self.redis.stalled_until.max(now.plus_millis(ms));
            self.report.stalls += 1;
        }
        if self.chance(300) {
            let ms = 100 + self.below(2_000);
            let landed = self.below(8) as usize;
            self.redis.restart(now, ms, landed);
            self.report.redis_restarts += 1;
        }
    }

    /// Another user than `u`, at random.
    fn other_than(&mut self, u: usize) -> usize {
        let to = self.below(self.users.len() as u64 - 1) as usize;
        if to >= u { to + 1 } else { to }
    }

    /// Each user's client may connect, send a message, block or unblock someone, make, join, leave
    /// or write to a group, or log out.
    fn users_type(&mut self) {
        for u in 0..self.users.len() {
            match self.users[u].session {
                None => {
                    if self.nodes.is_empty() || !self.chance(20_000) {
                        continue;
                    }
                    // Now and then a user mistypes its password a few times running: at another
                    // node each time, which must count as at one server.
                    if !self.settling && self.users[u].fumbles == 0 && self.chance(40_000) {
                        self.users[u].fumbles = 2 + self.below(2) as u32;
                    }
                    let mut i = self.below(self.nodes.len() as u64) as usize;
                    if self.users[u].fumbles > 0
                        && self.nodes.len() > 1
                        && self.users[u].last_node == Some(self.nodes[i].node.id())
                    {
                        i = (i + 1) % self.nodes.len();
                    }
                    self.connect(u, i);
                }
                Some(s) if s.welcomed => {
                    let r = self.below(1_000_000);
                    let (line, pending) = match r {
                        0..60_000 => {
                            let to = self.other_than(u);
                            self.texts += 1;
                            let text = format!("m{}", self.texts);
                            let line = format!("message {} {text}", self.users[to].name);
                            (line, Pending::Message(to, text))
                        }
                        60_000..75_000 => {
                            let g = self.below(GROUPS);
                            self.texts += 1;
                            (
                                format!("message group g{g} gm{}", self.texts),
                                Pending::Other,
                            )
                        }
                        75_000..79_000 => {
                            let whom = self.other_than(u);
                            let name = self.users[whom].name.clone();
                            let user = &mut self.users[u];
                            // Unblocking counts from when it is typed, blocking from when it is
                            // answered: if the answer is lost with the session, the client cannot
                            // know whether it happened.
                            let verb = match user.perhaps_blocked.contains(&name) {
                                true => {
                                    user.blocked.remove(&name);
                                    user.unblocking.insert(name.clone());
                                    "unblock"
                                }
                                false => {
                                    user.perhaps_blocked.insert(name.clone());
                                    "block"
                                }
                            };
                            (format!("{verb} {name}"), Pending::Other)
                        }
                        79_000..81_000 => {
                            let g = self.below(GROUPS);
                            let mut line = format!("create group g{g}");
                            for _ in 0..1 + self.below(3) {
                                let m = self.other_than(u);
                                line.push(' ');
                                line.push_str(&self.users[m].name);
                            }
                            (line, Pending::Other)
                        }
                        81_000..84_000 => {
                            let g = self.below(GROUPS);
                            let whom = self.other_than(u);
                            // Not someone it may have blocked: adding them is told to the members who
                            // do not block them, so the adder would hear no answer.
                            if self.users[u]
                                .perhaps_blocked
                                .contains(&self.users[whom].name)
                            {
                                continue;
                            }
                            (
                                format!("group add g{g} {}", self.users[whom].name),
                                Pending::Other,
                            )
                        }
                        84_000..86_000 => (
                            format!("group leave g{}", self.below(GROUPS)),
                            Pending::Other,
                        ),
                        86_000..89_000 => {
                            self.input(s.node, s.conn, WaitingInput::Line("logout".into()));
                            continue;
                        }
                        _ => continue,
                    };
                    self.users[u].pending.push_back(pending);
                    self.input(s.node, s.conn, WaitingInput::Line(line));
                }
                Some(_) => {}
            }
        }
    }

    /// User `u`'s client connects to the `i`th node and logs in, receipts on.
    fn connect(&mut self, u: usize, i: usize) {
        let node = self.nodes[i].node.id();
        self.users[u].last_node = Some(node);
        self.next_conn += 1;
        let conn = ConnId(first_conn_id(node) + self.next_conn);
        self.users[u].session = Some(Session {
            node,
            conn,
            welcomed: false,
        });
        // Now and then a wrong password (not in the final round), and a few in a row when the user
        // fumbles: wrong passwords typed at different nodes count together, and a lockout holds at
        // every node.
        let fumbling = self.users[u].fumbles > 0 && !self.settling;
        if fumbling {
            self.users[u].fumbles -= 1;
        }
        let wrong = fumbling || (!self.settling && self.chance(100_000));
        let name = self.users[u].name.clone();
        let password = match wrong {
            true => "wrong".to_owned(),
            false => self.users[u].password.clone(),
        };
        // Each user from an address of its own: the per-address limits hold as for any users.
        let peer = std::net::SocketAddr::from(([127, 0, 0, 1 + u as u8], 40_000));
        self.input(node, conn, WaitingInput::Open(peer));
        for line in [name, password] {
            self.input(node, conn, WaitingInput::Line(line));
        }
    }

    /// An input of a user's client for its node: now, or when the node thaws.
    fn input(&mut self, node: u64, conn: ConnId, input: WaitingInput) {
        let Some(i) = self.index_of(node) else {
            return;
        };
        if let WaitingInput::Line(line) = &input {
            self.reference.typed(conn, line);
        }
        self.nodes[i].waiting.push((conn, input));
    }

    /// One step of the clock: Redis lands what arrived, each node that is not frozen takes its users'
    /// input, reads the log, renews its lease, acts on its deadlines; what they say is carried out.
    fn step(&mut self) -> Result<(), Violation> {
        self.now = self.now.plus_millis(STEP_MS);
        let now = self.now;
        self.resend_unanswered();
        for entry in self.redis.land(now) {
            let applied = self.oracle.1.admit(&entry);
            assert!(
                !matches!(applied, natter_core::server::cluster::Applied::Gap { .. }),
                "the simulated Redis numbered entries with a hole: {applied:?} at {}",
                entry.position
            );
            // A second copy of an entry (its append was sent again after its answer was lost):
            // every reader drops it by its node's number, so it neither counts for the checks nor
            // feeds the model.
            if applied != natter_core::server::cluster::Applied::Fed {
                continue;
            }
            self.reference
                .feed(&entry)
                .map_err(|e| violation(name::MODEL, e))?;
            for event in &entry.events {
                self.check_taken(&entry, &event.kind)?;
                let mut made = Vec::new();
                let (core, log) = &mut self.oracle;
                log.feed(core, entry.node, event, &mut made);
                for e in made {
                    if let Effect::Send {
                        to,
                        msg: ServerMsg::Message { text, .. },
                    } = e
                    {
                        self.delivered_to.insert(text, to);
                    }
                }
            }
        }
        for i in 0..self.nodes.len() {
            if self.nodes[i].frozen_until > now {
                continue;
            }
            for (conn, input) in std::mem::take(&mut self.nodes[i].waiting) {
                let node = &mut self.nodes[i].node;
                match input {
                    WaitingInput::Open(peer) => node.handle(Event::Connected { conn, peer }, now),
                    WaitingInput::Line(line) => node.handle(
                        Event::Line {
                            conn,
                            line: line.as_bytes(),
                        },
                        now,
                    ),
                    WaitingInput::Drained => node.handle(Event::Drained { conn }, now),
                    WaitingInput::Closed => node.handle(Event::Disconnected { conn }, now),
                }
                self.carry_out(i);
            }
            self.read_log(i);
            self.carry_out(i);
            if self.nodes[i].renewals.due() <= now {
                let ok = !self.redis.stalled(now) && self.nodes[i].renewals_fail_until <= now;
                self.nodes[i].renewals.done(now, ok, now);
                if ok {
                    let id = self.nodes[i].node.id();
                    let lease_ms = self.nodes[i].renewals.lease_ms();
                    let was = self
                        .redis
                        .renew(id, now, lease_ms, self.nodes[i].node.position());
                    self.nodes[i].node.lease_renewed(now, was, now);
                    let live = self.redis.live(now);
                    let highest = self.redis.highest;
                    self.nodes[i].node.members(highest, &live, now);
                    let applied = self.redis.applied(now);
                    self.nodes[i].node.positions(&applied);
                    self.carry_out(i);
                }
            }
            if self.nodes[i]
                .node
                .poll_timeout()
                .is_some_and(|at| at <= now)
            {
                self.nodes[i].node.handle_timeout(now);
                self.carry_out(i);
            }
            self.append(i);
            if let Some(d) = self.disagreement.take() {
                return Err(violation(name::MODEL, d));
            }
            if let Some(why) = self.nodes[i].node.lost() {
                return Err(violation(
                    name::REPLICAS,
                    format!(
                        "node {} could not follow the log: {why}",
                        self.nodes[i].node.id()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Appends whose answer a Redis restart lost are sent again once it is back, by nodes still
    /// running (a frozen one once it thaws); a fenced node drops what it no longer wants appended
    /// (as its appender does).
    fn resend_unanswered(&mut self) {
        if self.redis.stalled(self.now) || self.redis.unanswered.is_empty() {
            return;
        }
        let unanswered = std::mem::take(&mut self.redis.unanswered);
        for (node, seq, mut events) in unanswered {
            let Some(i) = self.index_of(node) else {
                continue;
            };
            // A frozen node sends nothing: its appender sends them once it thaws.
            if self.nodes[i].frozen_until > self.now {
                self.redis.unanswered.push((node, seq, events));
                continue;
            }
            if self.nodes[i].node.fenced() {
                events.retain(|e| natter_core::server::cluster::node::wanted_when_fenced(node, e));
                if events.is_empty() {
                    continue;
                }
            }
            let latency = self.latency(i);
            self.redis.send(self.now, latency, node, seq, events);
        }
    }

    /// The `i`th node reads what it may see of the log, as the shell's reader does; when the node
    /// finds a hole (it was left behind a trim) and asks for the latest snapshot, it starts again
    /// from it, and reads on after it.
    fn read_log(&mut self, i: usize) {
        if self.redis.stalled(self.now) {
            return;
        }
        let visible = self.now.minus_millis(self.nodes[i].read_delay_ms);
        let entries: Vec<_> = self
            .redis
            .read_after(self.nodes[i].read, visible)
            .cloned()
            .collect();
        for entry in entries {
            self.nodes[i].read = entry.position;
            self.nodes[i].node.handle_entry(&entry, self.now);
            self.carry_out(i);
        }
        if self.nodes[i].node.poll_snapshot_wanted()
            && let Some((at, bytes)) = self.redis.snapshot.clone()
        {
            self.nodes[i].node.restart(&bytes, self.now);
            self.nodes[i].read = at;
            self.report.restarts_from_snapshot += 1;
            self.carry_out(i);
        }
    }

    /// Sends what the `i`th node has to append, at the end of its step (as the shell does at the end
    /// of its driver's turn): one entry for everything of the step.
    fn append(&mut self, i: usize) {
        let id = self.nodes[i].node.id();
        while let Some(events) = self.nodes[i].node.poll_append() {
            self.nodes[i].seq += 1;
            let seq = self.nodes[i].seq;
            let latency = self.latency(i);
            self.redis.send(self.now, latency, id, seq, events);
        }
    }

    /// How long an append of the `i`th node's takes to reach Redis now.
    fn latency(&mut self, i: usize) -> u64 {
        match self.nodes[i].slow_until > self.now {
            true => self.nodes[i].slow_ms,
            false => 1 + self.below(10),
        }
    }

    /// Carries out what the `i`th node says (its appends are sent at the end of its step).
    fn carry_out(&mut self, i: usize) {
        let now = self.now;
        let id = self.nodes[i].node.id();
        while let Some(effect) = self.nodes[i].node.poll_effect() {
            match effect {
                Effect::Send { to, msg } => self.deliver(id, to, &msg),
                Effect::SendMany { to, msg } => {
                    for c in to {
                        self.deliver(id, c, &msg);
                    }
                }
                Effect::Close { conn } => self.closed(id, conn, false),
                Effect::CheckPassword { conn, job, .. } => {
                    // Every password here is kept in the clear and compared by the node itself.
                    unreachable!("a hashed password job for {conn} ({job})")
                }
                Effect::HashPassword { .. } => unreachable!("nobody registers here"),
                // The users' clients read everything at once.
                Effect::WatchDrain { conn } => {
                    self.nodes[i].waiting.push((conn, WaitingInput::Drained))
                }
                _ => {}
            }
        }
        while let Some(refusal) = self.nodes[i].node.poll_refusal() {
            // The node's own word, not the core's: the model's lines for it stop here.
            self.reference.cut(refusal.conn);
            self.deliver(id, refusal.conn, &ServerMsg::Bye(refusal.reason));
            self.closed(id, refusal.conn, false);
        }
        while let Some(ReadHold { .. }) = self.nodes[i].node.poll_read_hold() {}
        while self.nodes[i].node.poll_record().is_some() {}
        if let Some(s) = self.nodes[i].node.poll_snapshot()
            && self.redis.store_snapshot(now, s.position, s.bytes)
        {
            self.nodes[i].node.snapshot_stored(s.position);
        }
        while let Some(keep_from) = self.nodes[i].node.poll_trim() {
            self.redis.trim(now, keep_from);
        }
    }

    /// The user whose client holds `conn` at node `node`.
    fn user_at(&self, node: u64, conn: ConnId) -> Option<usize> {
        self.users
            .iter()
            .position(|u| u.session.is_some_and(|s| s.node == node && s.conn == conn))
    }

    fn deliver(&mut self, node: u64, conn: ConnId, msg: &ServerMsg) {
        if let Err(e) = self.reference.shown(conn, msg) {
            let user = self.user_at(node, conn).map(|u| self.users[u].name.clone());
            self.disagreement
                .get_or_insert(format!("node {node} to {user:?}: {e}"));
        }
        let Some(u) = self.user_at(node, conn) else {
            return;
        };
        self.count(u, node, msg);
        match receive(&mut self.users[u], msg) {
            Reaction::Nothing => {}
            Reaction::Say(lines) => {
                for line in lines {
                    self.input(node, conn, WaitingInput::Line((*line).to_owned()));
                }
            }
            Reaction::Ack(id) => self.input(node, conn, WaitingInput::Line(format!("ack {id}"))),
            Reaction::Answered(to, text, _, Some(named)) if named != self.users[to].name => {
                self.mismatch.get_or_insert(format!(
                    "{} was answered about {named} for its message {text:?} to {}",
                    self.users[u].name, self.users[to].name
                ));
            }
            Reaction::Answered(to, text, Some(told), _) => {
                self.report.acknowledged += 1;
                self.acked.push(Acked {
                    text,
                    from: u,
                    to,
                    told,
                });
            }
            Reaction::Answered(_, _, None, _) => {}
            Reaction::LoginFailed => {
                if matches!(
                    msg,
                    ServerMsg::Error(natter_core::protocol::ErrorReply::Locked { .. })
                ) {
                    self.report.lockouts_met += 1;
                }
                self.closed(node, conn, true)
            }
            Reaction::Gone => {
                let asked = matches!(
                    msg,
                    ServerMsg::Bye(natter_core::protocol::ByeReason::Logout)
                );
                self.closed(node, conn, asked);
            }
        }
    }

    /// Counts what shows a run reached a rule.
    fn count(&mut self, u: usize, node: u64, msg: &ServerMsg) {
        use natter_core::protocol::ErrorReply;
        let user = &mut self.users[u];
        match msg {
            ServerMsg::Error(ErrorReply::LockedNow { .. }) => {
                self.report.lockouts += 1;
                user.locked_at = Some(node);
            }
            ServerMsg::Error(ErrorReply::Locked { .. })
                if user.locked_at.is_some_and(|n| n != node) =>
            {
                self.report.lockouts_met_elsewhere += 1;
            }
            ServerMsg::Error(ErrorReply::BlockedBy { .. }) => self.report.refused_blocked += 1,
            ServerMsg::GroupMessage { id, .. }
            | ServerMsg::OfflineMessage {
                id, group: Some(_), ..
            } if !user.shown_ids.contains(id) => self.report.group_messages_shown += 1,
            ServerMsg::GroupLeft { user: who, .. } if **who == *user.name => {
                self.report.groups_left += 1
            }
            _ => {}
        }
    }

    /// `conn` at `node` is closed (by the node): its client is offline, and the node hears so.
    fn closed(&mut self, node: u64, conn: ConnId, asked: bool) {
        if let Some(u) = self.user_at(node, conn) {
            self.users[u].ended(asked);
            self.input(node, conn, WaitingInput::Closed);
        }
    }

    /// A session the log ended takes nothing more: checked on what every copy of the core takes of
    /// `event` (an event of `entry`), before it is fed. (A node found dead has its sessions ended, and
    /// its later events are not taken until it is back.)
    fn check_taken(
        &mut self,
        entry: &natter_core::server::cluster::LogEntry,
        event: &LogEventKind,
    ) -> Result<(), Violation> {
        let (core, log) = &self.oracle;
        if !log.takes(entry.node, event) {
            return Ok(());
        }
        match event {
            LogEventKind::Disconnected { conn } => {
                self.ended.insert(*conn);
            }
            LogEventKind::NodeDead { node } => self
                .ended
                .extend(core.open_conns().into_iter().filter(|c| c.node() == *node)),
            LogEventKind::Line { conn, line } if self.ended.contains(conn) => {
                return Err(violation(
                    name::ENDED_SESSION,
                    format!(
                        "log entry {}: a line of {conn} ({:?}) after the log ended its session",
                        entry.position,
                        String::from_utf8_lossy(line)
                    ),
                ));
            }
            _ => {}
        }
        Ok(())
    }

    /// Faults over: every node thaws and renews, Redis answers, and the cluster runs until it is
    /// quiet; then every user logs out and in again (collecting what was stored for it).
    fn settle(&mut self) -> Result<(), Violation> {
        let now = self.now;
        self.redis.stalled_until = self.redis.stalled_until.min(now);
        for n in &mut self.nodes {
            n.frozen_until = now;
            n.renewals_fail_until = now;
            n.slow_until = now;
        }
        if self.nodes.is_empty() {
            self.join();
        }
        for _ in 0..(12_000 / STEP_MS) {
            self.step()?;
        }
        for u in 0..self.users.len() {
            if let Some(s) = self.users[u].session {
                self.input(s.node, s.conn, WaitingInput::Line("logout".into()));
            }
        }
        for _ in 0..(2_000 / STEP_MS) {
            self.step()?;
        }
        // Everyone logs in again (retrying while refused: a lockout or a throttle runs out).
        self.settling = true;
        for _ in 0..120 {
            if self
                .users
                .iter()
                .all(|u| u.session.is_some_and(|s| s.welcomed))
            {
                break;
            }
            for u in 0..self.users.len() {
                if self.users[u].session.is_none() {
                    let i = u % self.nodes.len();
                    self.connect(u, i);
                }
            }
            for _ in 0..(1_000 / STEP_MS) {
                self.step()?;
            }
        }
        for _ in 0..(2_000 / STEP_MS) {
            self.step()?;
        }
        // A deadline may still fall due in those last steps (an acknowledgement's commit, a held
        // presence), and its entry land after a node's last read: go on until every node has read
        // the whole log, or a bound that only a log that never goes quiet reaches.
        for _ in 0..(10_000 / STEP_MS) {
            let end = self.redis.highest_position();
            if self.redis.idle() && self.nodes.iter().all(|n| n.node.position() == end) {
                break;
            }
            self.step()?;
        }
        Ok(())
    }

    fn check_end(&mut self) -> Result<(), Violation> {
        if let Some(m) = &self.mismatch {
            return Err(violation(name::ACKNOWLEDGED_KEPT, m.clone()));
        }
        if let Some(u) = self.users.iter().find(|u| u.broken.is_some()) {
            return Err(violation(
                name::SEEN_RULES,
                format!(
                    "{} (its last lines: {:?})",
                    u.broken.clone().unwrap_or_default(),
                    u.last
                ),
            ));
        }
        let nodes = &self.nodes;
        self.reference
            .all_shown(|c| nodes.iter().any(|n| n.node.is_own(c)))
            .map_err(|e| violation(name::MODEL, e))?;
        // Replicas agree: every node has read the whole log, and holds the same state.
        let end = self.redis.highest_position();
        let mut states = Vec::new();
        for n in &self.nodes {
            if n.node.position() != end {
                return Err(violation(
                    name::REPLICAS,
                    format!(
                        "node {} is at entry {} of {end} once all is quiet",
                        n.node.id(),
                        n.node.position()
                    ),
                ));
            }
            // Compared as values: a hash map's order in the bytes depends on its history (a node
            // started from a snapshot built it anew), never on what it holds.
            let state = serde_json::to_value((n.node.core(), n.node.log()))
                .expect("the core's state is plain data that serde always encodes");
            states.push((n.node.id(), state));
        }
        if let Some(n) = self.nodes.first() {
            let running: BTreeSet<u64> = self.nodes.iter().map(|n| n.node.id()).collect();
            if let Some(orphan) = n
                .node
                .core()
                .open_conns()
                .into_iter()
                .find(|c| !running.contains(&c.node()))
            {
                return Err(violation(
                    name::NO_ORPHANS,
                    format!(
                        "{orphan} is open at log entry {end}, but its node {} is not running",
                        orphan.node()
                    ),
                ));
            }
        }
        if let Some((first, bytes)) = states.first()
            && let Some((other, _)) = states.iter().find(|(_, b)| b != bytes)
        {
            return Err(violation(
                name::REPLICAS,
                format!("nodes {first} and {other} hold different states at log entry {end}"),
            ));
        }
        for u in &self.users {
            for (text, times) in &u.shown {
                self.report.shown += 1;
                if *times > 1 {
                    return Err(violation(
                        name::SHOWN_ONCE,
                        format!("{} was shown {text:?} {times} times", u.name),
                    ));
                }
            }
        }
        for a in &self.acked {
            let recipient = &self.users[a.to];
            // Blocking a sender discards what it left for the blocker, stored or not.
            if recipient.shown.contains_key(&a.text)
                || self.reference.discarded_by_block.contains(&a.text)
            {
                continue;
            }
            let with_node = a.told == Told::Delivered
                && self
                    .delivered_to
                    .get(&a.text)
                    .is_some_and(|c| recipient.disrupted.contains(c));
            if with_node && !self.cfg.strict {
                self.report.lost_with_node.push(a.text.clone());
                continue;
            }
            let kept = self.nodes.first().map(|n| {
                n.node
                    .core()
                    .stored_messages(&recipient.name)
                    .iter()
                    .any(|m| m.text == a.text)
            });
            return Err(violation(
                name::ACKNOWLEDGED_KEPT,
                format!(
                    "{:?} to {}, acknowledged to its sender as {:?}, was never shown (its \
                     recipient: session {:?}, {} logins, disrupted {:?}, last sent {:?}; still in \
                     its mailbox: {kept:?}; delivered to {:?}; the model sent it: {:?}; its \
                     sender's last lines: {:?})",
                    a.text,
                    recipient.name,
                    a.told,
                    recipient.session,
                    recipient.logins,
                    recipient.disrupted,
                    recipient.last,
                    self.delivered_to.get(&a.text),
                    self.reference.trail(&a.text),
                    self.users[a.from].last,
                ),
            ));
        }
        Ok(())
    }
}
