//! A whole cluster on a virtual clock: several nodes (each the pure [`Node`] with its core, as the
//! server runs it), one simulated Redis holding the shared log with latency, and users moving between
//! nodes, under injected faults; invariants checked as it runs and at its end.
//!
//! Like iroh-gossip's multi-node simulation, every node is driven by one loop with a seeded generator:
//! each step of 20 ms lands what reached Redis, lets each node read what it may see, renew its lease
//! and read the others', act on its deadlines, and carries out what it says; users type. The faults
//! are values ([`Fault`], carried out by `inject.rs`), drawn from the seed or scripted by a test by
//! name and time ([`SimConfig::script`]): a node killed (its users lose their connection; a new node joins later,
//! from the latest snapshot, as a late joiner), a node whose lease renewals fail, a node frozen for
//! seconds, a node whose appends take seconds to reach Redis (a partition healing: they land after
//! the others may have found it dead), a Redis stall, a Redis restart (answers to appends in flight
//! lost: they are sent again, so some land twice); and snapshots are small enough that the log is
//! trimmed and a node left behind starts again.
//!
//! The pieces: `redis.rs` (the simulated Redis), `users.rs` (each client's state and what it does with
//! a line), `typing.rs` (what the users type each step), `fault.rs` and `inject.rs`, `reference.rs`
//! (the reference model fed the log), `checks.rs` (the invariants on the log as it lands and at the
//! end); the run itself, step by step, is here.
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

mod checks;
mod fault;
mod inject;
mod redis;
mod reference;
mod typing;
mod users;

use std::collections::BTreeSet;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

pub use self::fault::Fault;
use self::redis::Redis;
use self::reference::Reference;
use self::users::{Acked, Pending, Reaction, User, receive};
use super::invariants::Violation;
use natter_core::protocol::ServerMsg;
use natter_core::server::cluster::node::{Node, NodeConfig, Renewals};
use natter_core::server::cluster::{ReplicaLog, snapshot};
use natter_core::server::composed::{Input, News, Output, Parts, Server};
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
    /// Inject faults drawn from the seed.
    pub faults: bool,
    /// Faults named and timed by a test: each carried out once its time (milliseconds from the
    /// start of the run, in order) has come, beside those drawn.
    pub script: Vec<(u64, Fault)>,
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
            script: Vec::new(),
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
    /// The node, composed with the rest of the server side exactly as the server runs it.
    server: Server,
    /// The node asked for the cluster's latest snapshot (it found a hole in the log).
    wants_snapshot: bool,
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

impl SimNode {
    fn node(&self) -> &Node {
        self.server
            .cluster_node()
            .expect("the server side of a cluster node")
    }
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
    /// The scripted faults not carried out yet, earliest first.
    script: Vec<(u64, Fault)>,
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
        script: script(cfg),
        report: Report::default(),
    };
    for _ in 0..cfg.nodes {
        sim.join();
    }
    for _ in 0..cfg.steps {
        sim.scripted();
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

/// The run's scripted faults, earliest first; each must fall within the steps that inject faults.
fn script(cfg: &SimConfig) -> Vec<(u64, Fault)> {
    let mut script = cfg.script.clone();
    script.sort_by_key(|(at, _)| *at);
    let end = cfg.steps as u64 * STEP_MS;
    if let Some((at, fault)) = script.iter().find(|(at, _)| *at >= end) {
        panic!("the script's {fault:?} at {at} ms falls after the {end} ms of faults of this run");
    }
    script
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
        // How long the node leaves its users' input unread while its own entries make the round
        // trip through Redis: never, or for up to a few steps (a server's few milliseconds are
        // less than a step here, so they would never show).
        let hold_reading_ms = self.below(4) * STEP_MS * 2;
        let cfg = NodeConfig {
            snapshot_every: 40,
            hold_reading_entries: 1 + self.below(2) as usize,
            hold_reading_ms,
            // The simulation's users type a line now and then: held at every entry, or never.
            hold_reading_min_events: 1,
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
            server: Server::node(node, Parts::default()),
            wants_snapshot: false,
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
        self.nodes.iter().position(|n| n.node().id() == id)
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
            // Its sockets are left unread while the node holds its reading (as the shell's driver
            // leaves them): what its users sent waits, in order, for a later step.
            let held = self.nodes[i].server.reading_held(now);
            let waiting = match held {
                true => Vec::new(),
                false => std::mem::take(&mut self.nodes[i].waiting),
            };
            for (conn, input) in waiting {
                match input {
                    WaitingInput::Open(peer) => {
                        self.feed(i, Input::Event(Event::Connected { conn, peer }))
                    }
                    WaitingInput::Line(line) => self.feed(
                        i,
                        Input::Event(Event::Line {
                            conn,
                            line: line.as_bytes(),
                        }),
                    ),
                    WaitingInput::Drained => self.feed(i, Input::Event(Event::Drained { conn })),
                    WaitingInput::Closed => {
                        self.feed(i, Input::Event(Event::Disconnected { conn }))
                    }
                }
            }
            self.read_log(i);
            if self.nodes[i].renewals.due() <= now {
                let ok = !self.redis.stalled(now) && self.nodes[i].renewals_fail_until <= now;
                self.nodes[i].renewals.done(now, ok, now);
                if ok {
                    let id = self.nodes[i].node().id();
                    let lease_ms = self.nodes[i].renewals.lease_ms();
                    let was = self
                        .redis
                        .renew(id, now, lease_ms, self.nodes[i].node().position());
                    let server = &mut self.nodes[i].server;
                    server.handle_input(Input::Cluster(News::Renewed { sent: now, was }), now);
                    let members = News::Members {
                        highest: self.redis.highest,
                        live: self.redis.live(now),
                        applied: self.redis.applied(now),
                    };
                    self.feed(i, Input::Cluster(members));
                }
            }
            // The end of its turn, as the shell's driver ends each: its deadlines, and what it has to
            // append sent as one entry.
            self.nodes[i].server.handle_input(Input::EndTurn, now);
            self.carry_out(i);
            if let Some(d) = self.disagreement.take() {
                return Err(violation(name::MODEL, d));
            }
            if let Some(why) = self.nodes[i].server.lost() {
                return Err(violation(
                    name::REPLICAS,
                    format!(
                        "node {} could not follow the log: {why}",
                        self.nodes[i].node().id()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Appends whose answer a Redis restart lost are sent again once it is back, by nodes still
    /// running (a frozen one once it thaws); a node fenced since it made one drops what it no
    /// longer wants appended from it (as its appender does), whether or not it serves again now.
    fn resend_unanswered(&mut self) {
        if self.redis.stalled(self.now) || self.redis.unanswered.is_empty() {
            return;
        }
        let unanswered = std::mem::take(&mut self.redis.unanswered);
        for mut append in unanswered {
            let Some(i) = self.index_of(append.node) else {
                continue;
            };
            // A frozen node sends nothing: its appender sends them once it thaws.
            if self.nodes[i].frozen_until > self.now {
                self.redis.unanswered.push(append);
                continue;
            }
            // Fenced since it made the entry (even if it serves again now): its users were told.
            let fences = self.nodes[i].node().fences();
            if fences > append.fences {
                let node = append.node;
                append
                    .events
                    .retain(|e| natter_core::server::cluster::node::wanted_when_fenced(node, e));
                append.fences = fences;
                if append.events.is_empty() {
                    continue;
                }
            }
            let latency = self.latency(i);
            self.redis.send(self.now, latency, append);
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
            self.feed(i, Input::Cluster(News::Logged(Box::new(entry))));
        }
        if std::mem::take(&mut self.nodes[i].wants_snapshot)
            && let Some((at, bytes)) = self.redis.snapshot.clone()
        {
            self.nodes[i].read = at;
            self.report.restarts_from_snapshot += 1;
            self.feed(i, Input::Cluster(News::Restart(bytes)));
        }
    }

    /// One input of the `i`th node's, as a batch of its own, and what it says carried out.
    fn feed(&mut self, i: usize, input: Input<'_>) {
        let now = self.now;
        let server = &mut self.nodes[i].server;
        server.handle_input(input, now);
        server.handle_input(Input::EndBatch, now);
        self.carry_out(i);
    }

    /// How long an append of the `i`th node's takes to reach Redis now.
    fn latency(&mut self, i: usize) -> u64 {
        match self.nodes[i].slow_until > self.now {
            true => self.nodes[i].slow_ms,
            false => 1 + self.below(10),
        }
    }

    /// Carries out what the `i`th node says, in order, as the shell's driver does: lines delivered,
    /// its appends sent (one entry for everything of its turn), snapshots stored, the log trimmed.
    fn carry_out(&mut self, i: usize) {
        let now = self.now;
        let id = self.nodes[i].node().id();
        while let Some(output) = self.nodes[i].server.poll_output() {
            match output {
                Output::Released { effects, .. } => {
                    for effect in effects {
                        match effect {
                            Effect::Send { to, msg } => self.deliver(id, to, &msg),
                            Effect::SendMany { to, msg } => {
                                for c in to {
                                    self.deliver(id, c, &msg);
                                }
                            }
                            Effect::Close { conn } => self.closed(id, conn, false),
                            _ => {}
                        }
                    }
                }
                Output::PasswordJob(Effect::CheckPassword { conn, job, .. }) => {
                    // Every password here is kept in the clear and compared by the node itself.
                    unreachable!("a hashed password job for {conn} ({job})")
                }
                Output::PasswordJob(_) => unreachable!("nobody registers here"),
                // The users' clients read everything at once.
                Output::WatchDrain { conn } => {
                    self.nodes[i].waiting.push((conn, WaitingInput::Drained))
                }
                // The node's own word, not the core's: the model's lines for it stop here (its
                // goodbye follows).
                Output::NodeRefused { conn, .. } => self.reference.cut(conn),
                Output::Append { events, fences } => {
                    self.nodes[i].seq += 1;
                    let seq = self.nodes[i].seq;
                    let latency = self.latency(i);
                    let append = redis::Unanswered {
                        node: id,
                        seq,
                        events,
                        fences,
                    };
                    self.redis.send(now, latency, append);
                }
                Output::SnapshotDue => {
                    if let Some(s) = self.nodes[i].server.take_snapshot()
                        && self.redis.store_snapshot(now, s.position, s.bytes)
                    {
                        let stored = News::SnapshotStored {
                            position: s.position,
                        };
                        self.nodes[i]
                            .server
                            .handle_input(Input::Cluster(stored), now);
                    }
                }
                Output::FetchSnapshot => self.nodes[i].wants_snapshot = true,
                Output::Trim { keep_from } => self.redis.trim(now, keep_from),
                Output::Commit(c) => unreachable!("a node commits nothing: {c:?}"),
                Output::PauseReading { .. }
                | Output::ResumeReading { .. }
                | Output::HoldReading { .. }
                | Output::OperatorLine(_)
                | Output::LoginFailed { .. }
                | Output::OperatorDid { .. }
                | Output::Record { .. }
                | Output::Counts(_)
                | Output::WriteHeld(_)
                | Output::Tidy
                | Output::Lease { .. } => {}
            }
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
            Reaction::Join(group) => {
                self.users[u].pending.push_back(Pending::Join);
                self.input(
                    node,
                    conn,
                    WaitingInput::Line(format!("group join {group}")),
                );
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
}
