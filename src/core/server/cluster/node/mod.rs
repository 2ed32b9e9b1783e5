//! One node of a cluster, as a plain value: everything a node decides, with no sockets, threads, clock
//! reads or randomness.
//!
//! Several natter servers act as one by each running a copy of the core over one shared, totally
//! ordered log of every node's events (docs/DESIGN.md, "Cluster mode"). The core is the one a server
//! alone runs; what a node adds around it is here, where the unit tests and the simulator reach it:
//!
//! - **its own connections' events go to the log, not the core** ([`Node::handle`] queues each);
//!   what they did in one turn of the shell's driver is one entry of the log ([`Node::poll_append`]:
//!   one append, however many lines it holds). The core is fed only the log's entries
//!   ([`Node::handle_entry`], through [`ReplicaLog`]), every event of an entry in order, in the log's
//!   one order, so every copy makes the same decisions;
//! - **the gates and the kept passwords**: before login a connection's lines go to the log one at a
//!   time, as the core at that point of the log says what each will be taken as, and a password as its
//!   shape only; its text stays here and fills in the password job the core asks for
//!   ([`Gates`]). A gate that fills up holds the connection's reading;
//! - **what the core made, for this node**: lines, closes and controls for its own connections (the
//!   others' nodes carry out theirs), password jobs for its own connections with the text filled in (a
//!   password kept in the clear is compared here at once, and the verdict appended), and the records of
//!   its own connections' events for the operator's log (never committed: the log is the record);
//! - **the lease**: a node whose renewals stopped working for a while is *fenced*: it refuses its
//!   connections (`BYE unavailable`, their clients move on), ends their sessions in the log, appends
//!   nothing else of theirs, and refuses new ones until a renewal works again; a renewal sent past
//!   that deadline, or one that found the lease gone from Redis ([`LeaseWas`]), fences it first;
//! - **deaths**: another node whose lease is gone is said to be dead in the log
//!   ([`LogEventKind::NodeDead`]: every copy ends its sessions there and takes nothing more of it until
//!   it says it is back), once while the log does not say so already. Reading that this node itself
//!   was found dead, it refuses every connection it has and says it is back
//!   ([`LogEventKind::NodeBack`]);
//! - **time**: the core's deadlines are judged by the log's time, so when one is due by this node's
//!   clock and nothing of its own has moved the log's time lately, the node appends a tick;
//! - **snapshots**: when one is due (`Schedule`) and this node takes them (the live node with the
//!   lowest number), it hands one over to be stored; once it is stored, the log is trimmed behind it,
//!   but never past what another live node has read (`Trim`);
//! - **a hole in the log**: entries are numbered without gaps, so an entry past the next one means the
//!   log was trimmed past this node (it was away, frozen, or slow): it refuses its connections (they
//!   missed what happened), asks for the cluster's latest snapshot, and starts again from it
//!   ([`Node::restart`]);
//! - **when to renew the lease**: [`Renewals`], kept by whoever renews, with the numbers the fencing
//!   uses.
//!
//! The shell feeds it ([`Node::handle`], [`Node::handle_entry`], [`Node::lease_renewed`],
//! [`Node::members`], [`Node::positions`], [`Node::snapshot_stored`], [`Node::restart`],
//! [`Node::handle_timeout`]) and carries out what it says, which it keeps in queues: appends to make,
//! effects for its own connections, refusals with their reason, reading held or let go, records to
//! log, snapshots to store, the log to trim, the latest snapshot to fetch. The composed server side
//! (`server::composed`) drains every queue into its one output after each input, so no driver polls
//! them: the server and the cluster simulator carry out the same outputs. The shell moves bytes and
//! decides nothing.

mod lease;
mod schedule;
#[cfg(test)]
mod tests;
mod trim;

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;

use rustc_hash::{FxHashMap, FxHashSet};

pub use self::lease::{LEASE_MS, LeaseWas, Renewals};
use self::lease::{Lease, LeaseChange};
use self::schedule::Schedule;
use self::trim::Trim;
use crate::protocol::ByeReason;
use crate::server::cluster::entry::{LogEntry, LogEvent, LogEventKind};
use crate::server::cluster::gates::Gates;
use crate::server::cluster::replica::{Applied, ReplicaLog};
use crate::server::cluster::snapshot::{self, SnapshotError};
use crate::server::event::{ConnId, Effect, Event};
use crate::server::login::next_line::NextLine;
use crate::server::messages::spare_texts::SpareTexts;
use crate::server::record::Record;
use crate::server::state::ServerState;
use crate::time::Timestamp;

pub use crate::server::event::NODE_SHIFT;

/// The first connection id of `node` (node 0, a server alone, counts from 1 as it always has).
pub fn first_conn_id(node: u64) -> u64 {
    (node << NODE_SHIFT) | 1
}

/// The most bytes of events one entry of the shared log holds ([`LogEvent::encoded_len`]): a
/// larger batch is appended as several entries, in order. (One event alone may be larger, up to a
/// line's limit; none comes near it.) It bounds what one append asks of Redis and what one read of
/// the log brings. Large enough for a busy turn's lines to be one entry: split into several, they
/// come back over several reads of the log, each a turn with a write to every connection it
/// touches, where one entry is one turn and one write each (at 256 KiB, a thousand busy users'
/// node wrote a tenth more often, and spent 5% more CPU a message).
pub const MAX_ENTRY_BYTES: usize = 1024 * 1024;

/// A node's timing and bounds.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Entries of the log between two snapshots (the most a starting node replays).
    pub snapshot_every: u64,
    /// A snapshot is taken at least this often (of log time) when anything happened since the last.
    pub snapshot_max_age_ms: u64,
    /// A node whose lease renewals have not worked for this long (counted from when the last one that
    /// worked was sent) stops serving. Less than the lease itself, so it always stops before the
    /// others end its sessions.
    pub fence_after_ms: u64,
    /// How long a renewal makes the lease last ([`LEASE_MS`]).
    pub lease_ms: u64,
    /// How often the lease is renewed, and how soon after a renewal that failed it is tried again.
    pub renew_every_ms: u64,
    /// How soon a renewal that failed is tried again.
    pub renew_retry_ms: u64,
    /// The least time between two ticks (or any entries) of this node's: the log's time moves on
    /// when nobody types, without a tick per timer.
    pub tick_every_ms: u64,
    /// Lines of one connection waiting at its gate past which its reading is held (let go at half).
    pub gate_max_bytes: usize,
    /// While this many of this node's entries are on their way to the log and back (handed over,
    /// not read back yet), its connections are not read ([`Node::reading_held`]; 0: never held).
    /// A node that read whenever a little input came would make an entry of every trickle while
    /// its last one makes the round trip through Redis (a synced write), and every entry read back
    /// would be a small turn of its own: many small appends, client reads and client writes where
    /// a server alone makes a few large ones. Held, the input gathers in the sockets, and the next
    /// turn reads it all into one large entry.
    pub hold_reading_entries: usize,
    /// The longest reading is held for one entry (counted from when it was made): an entry that
    /// never comes back (one a fence dropped, an append that failed) or comes back late holds no
    /// client longer than this, and no more than this is added to any line's latency.
    pub hold_reading_ms: u64,
    /// Reading is held only while the latest entry handed over holds at least this many events:
    /// a node that turns over a few lines at a time (logins, a quiet cluster) has little to gather
    /// and would only add a round trip to each line's latency (a login's lines go one round trip
    /// each already), while one busy enough to make entries this large makes fewer, larger ones.
    pub hold_reading_min_events: usize,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            snapshot_every: 100_000,
            snapshot_max_age_ms: 10 * 60 * 1000,
            fence_after_ms: 4_000,
            lease_ms: LEASE_MS,
            renew_every_ms: 1_000,
            renew_retry_ms: 250,
            tick_every_ms: 250,
            gate_max_bytes: 64 * 1024,
            hold_reading_entries: 1,
            hold_reading_ms: 5,
            hold_reading_min_events: 16,
        }
    }
}

/// A connection of this node's the node stops serving, and why: its client is told `BYE reason`, and
/// the connection closed once that is written. (The core is not asked: its session is ended in the log,
/// or was never begun.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The connection no longer served.
    pub conn: ConnId,
    /// What its client is told.
    pub reason: ByeReason,
}

/// Hold (`true`) or let go (`false`) the reading of a connection whose gate is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadHold {
    /// The connection whose reading is held or let go.
    pub conn: ConnId,
    /// `true`: stop reading; `false`: read again.
    pub held: bool,
}

/// A snapshot of the cluster to store: the state after log entry `position`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The last log entry the snapshot includes: a copy starting from it reads the log after this.
    pub position: u64,
    /// The encoded snapshot (see `cluster::snapshot`).
    pub bytes: Vec<u8>,
}

/// Why a node cannot follow the log any more: it must stop, and the cluster goes on without it.
#[derive(Debug, thiserror::Error)]
pub enum Lost {
    /// The log was trimmed past the node, and the snapshot it must start again from cannot be loaded
    /// (a damaged one, or one of another natter version's format).
    #[error("the cluster's latest snapshot cannot be loaded: {0}")]
    Snapshot(#[from] SnapshotError),
}

/// Whether an effect the core made for a connection (a line, a close, a control) or an operator's
/// answer concerns the node `id`, with its open connections `own`: one of its connections' (a line
/// to many keeps only its own among them), or an answer to its operator. Every node carries out
/// its own; the others' nodes carry out theirs. Records and password jobs are
/// [`Node::carry`]'s.
fn concerns(effect: &mut Effect, own: &FxHashSet<ConnId>, id: u64) -> bool {
    match effect {
        Effect::SendMany { to, .. } => {
            to.retain(|c| own.contains(c));
            !to.is_empty()
        }
        // Answered by the node whose operator asked.
        Effect::AdminAnswer { request, .. } => *request >> NODE_SHIFT == id,
        Effect::Send { to: conn, .. }
        | Effect::SendRaw { to: conn, .. }
        | Effect::LoginFailed { conn, .. }
        | Effect::OperatorDid { conn, .. }
        | Effect::Close { conn }
        | Effect::PauseReading { conn }
        | Effect::ResumeReading { conn }
        | Effect::WatchDrain { conn } => own.contains(conn),
        Effect::Persist(_) | Effect::CheckPassword { .. } | Effect::HashPassword { .. } => false,
    }
}

/// One node of a cluster. See the [module documentation](self).
pub struct Node {
    id: u64,
    core: ServerState,
    log: ReplicaLog,
    cfg: NodeConfig,
    /// This node's open connections: the ones whose events it appends and whose lines it carries
    /// out. Asked of every effect of every entry read back, so only the numbers, densely (the
    /// peers beside them made the table five times the size, and the question a cache miss).
    own: FxHashSet<ConnId>,
    /// The peers of its open connections, for the records of their events.
    peers: FxHashMap<ConnId, SocketAddr>,
    gates: Gates,
    /// Connections whose reading is held for a full gate.
    held: Vec<ConnId>,
    lease: Lease,
    schedule: Schedule,
    /// A snapshot is due (taken when polled, of the state then).
    snapshot_due: bool,
    trim: Trim,
    /// A hole was found in the log: the node serves nobody until it starts again from a snapshot.
    behind: bool,
    /// The log found this node dead, and it is to say it is back once it serves.
    back_wanted: bool,
    /// Nodes this one said were dead, whose word it has not read back from the log yet.
    declared: BTreeSet<u64>,
    /// The latest snapshot is to be fetched (a hole was found since the last ask).
    snapshot_wanted: bool,
    /// When each of this node's entries on their way to the log and back was made (the time of its
    /// last event), oldest first: handed over ([`Self::poll_append`]) and not read back yet.
    in_flight: VecDeque<Timestamp>,
    /// How many events the latest entry handed over held.
    last_entry_events: usize,
    /// When this node last appended anything (its entries move the log's time).
    last_append: Option<Timestamp>,
    /// How many times this node has stopped serving for its lease (see [`Self::fences`]).
    fences: u64,
    /// Why this node cannot follow the log any more, once that is so.
    lost: Option<Lost>,
    scratch: Vec<Effect>,
    /// Spare room for the lines of the events it appends (see [`Self::recycle_entry`]).
    lines: SpareTexts,
    appends: VecDeque<LogEvent>,
    effects: Vec<Effect>,
    refusals: VecDeque<Refusal>,
    holds: VecDeque<ReadHold>,
    records: VecDeque<(Record, Option<SocketAddr>)>,
}

impl Node {
    /// Node `id`, with `core` at `log`'s place (the start of the log, or the snapshot it was loaded
    /// from), having renewed its lease at `now`.
    pub fn new(
        id: u64,
        core: ServerState,
        log: ReplicaLog,
        cfg: NodeConfig,
        now: Timestamp,
    ) -> Self {
        let schedule = Schedule::new(
            cfg.snapshot_every,
            cfg.snapshot_max_age_ms,
            log.position(),
            log.log_now(),
        );
        Node {
            id,
            core,
            log,
            lease: Lease::new(now, cfg.fence_after_ms),
            cfg,
            own: FxHashSet::default(),
            peers: FxHashMap::default(),
            gates: Gates::default(),
            held: Vec::new(),
            schedule,
            snapshot_due: false,
            trim: Trim::default(),
            behind: false,
            back_wanted: false,
            declared: BTreeSet::new(),
            snapshot_wanted: false,
            in_flight: VecDeque::new(),
            last_entry_events: 0,
            last_append: None,
            fences: 0,
            lost: None,
            scratch: Vec::new(),
            lines: SpareTexts::default(),
            appends: VecDeque::new(),
            effects: Vec::new(),
            refusals: VecDeque::new(),
            holds: VecDeque::new(),
            records: VecDeque::new(),
        }
    }

    /// This node's number.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Its copy of the core.
    pub fn core(&self) -> &ServerState {
        &self.core
    }

    /// The string of a line's text, written out and given back by the shell, for its copy of the
    /// core to copy a later line's text into ([`ServerState::recycle_text`]). Only the string's room
    /// is reused, never its text, so every copy of the core still makes the same lines from the same
    /// log.
    pub fn recycle_text(&mut self, text: String) {
        self.core.recycle_text(text);
    }

    /// An entry of the log, fed ([`Self::handle_entry`]) and given back: the room of its lines is
    /// kept for the lines this node appends next, as a server alone keeps its texts'. Optional; an
    /// entry dropped only costs the allocator more.
    pub fn recycle_entry(&mut self, entry: LogEntry) {
        for event in entry.events {
            if let LogEventKind::Line { line, .. } = event.kind {
                self.lines.give_bytes(line);
            }
        }
    }

    /// The server has gone idle: its copy of the core gives its spare room back, as a server
    /// alone's does ([`ServerState::shrink`]).
    pub fn shrink(&mut self) {
        self.lines.clear();
        self.core.shrink();
    }

    /// Where in the log its core is.
    pub fn log(&self) -> &ReplicaLog {
        &self.log
    }

    /// The position of the last entry fed (what its lease reports, so the log is not trimmed past it).
    pub fn position(&self) -> u64 {
        self.log.position()
    }

    /// Whether it has lost its lease and serves nobody.
    pub fn fenced(&self) -> bool {
        self.lease.fenced()
    }

    /// How many times it has been fenced so far: each batch it hands over ([`Self::poll_append`])
    /// goes with this count as it was then. Whoever carries the batches to Redis drops, from a batch
    /// handed over before the latest fence and not yet in Redis, what its users typed
    /// ([`wanted_when_fenced`]): they were told the node could not serve. The count, not whether it
    /// is fenced now, because the node may serve again before that carrier looks: a fence and the
    /// renewal that ends it can both come while it waits to reach Redis, and what was typed before
    /// the fence must still never get in.
    pub fn fences(&self) -> u64 {
        self.fences
    }

    /// Whether it found a hole in the log and waits for a snapshot to start again from, serving
    /// nobody.
    pub fn behind(&self) -> bool {
        self.behind
    }

    /// When to renew its lease, and for how long, from `now` on: for whoever renews it.
    pub fn renewals(&self, now: Timestamp) -> Renewals {
        Renewals::new(
            self.cfg.renew_every_ms,
            self.cfg.renew_retry_ms,
            self.cfg.lease_ms,
            now,
        )
    }

    /// Whether it is the node that takes the cluster's snapshots now.
    pub fn takes_snapshots(&self) -> bool {
        self.lease.takes_snapshots(self.id)
    }

    /// Why it cannot follow the log any more: the node must stop.
    pub fn lost(&self) -> Option<&Lost> {
        self.lost.as_ref()
    }

    /// Whether `conn` is one of its open connections.
    pub fn is_own(&self, conn: ConnId) -> bool {
        self.own.contains(&conn)
    }

    /// An event of one of this node's connections (or its shutdown), at `now` by its clock: to the log
    /// (lines before login through the connection's gate), or refused.
    pub fn handle(&mut self, event: Event<'_>, now: Timestamp) {
        // A node that was frozen past its lease stops serving before it takes anything more from
        // its users, whatever order its shell hands it the news in.
        self.check_lease(now);
        match event {
            Event::Connected { conn, peer } => {
                if self.fenced() || self.behind {
                    self.refusals.push_back(Refusal {
                        conn,
                        reason: ByeReason::Unavailable,
                    });
                    return;
                }
                self.own.insert(conn);
                self.peers.insert(conn, peer);
                self.append(event, now);
            }
            Event::Line { conn, line } => self.read(conn, Some(line), now),
            Event::LineTooLong { conn } => self.read(conn, None, now),
            Event::Disconnected { conn } => {
                // Once: a connection this node refused had its session ended already.
                if self.own.remove(&conn) {
                    self.peers.remove(&conn);
                    self.forget(conn);
                    self.append(event, now);
                }
            }
            Event::Shutdown => self.leave(now),
            // The operator's: to the log, like the users' own events, so every copy carries it out.
            Event::Admin { .. } => self.append(event, now),
            Event::SecretLine { conn, .. }
            | Event::Drained { conn }
            | Event::PasswordChecked { conn, .. }
            | Event::PasswordHashed { conn, .. }
            | Event::PasswordJobFailed { conn, .. } => {
                if self.is_own(conn) {
                    self.append(event, now);
                }
            }
        }
    }

    /// The next entry of the shared log, read at `now` by this node's clock: its events fed to the
    /// core one after the other (each after the deadlines due by its time), and what each makes
    /// carried out where it concerns this node.
    pub fn handle_entry(&mut self, entry: &LogEntry, now: Timestamp) {
        if self.lost.is_some() {
            return;
        }
        match self.log.admit(entry) {
            Applied::Fed => {}
            Applied::Duplicate => {
                tracing::debug!(
                    "log entry {} appended twice; the first counts",
                    entry.position
                );
                return;
            }
            Applied::Stale => return,
            Applied::Gap { expected } => {
                self.left_behind(expected, entry.position, now);
                return;
            }
        }
        self.behind = false;
        if entry.node == self.id {
            // One of its own back (entries come back in the order they were handed over).
            self.in_flight.pop_front();
        }
        let mut made = std::mem::take(&mut self.scratch);
        for event in &entry.events {
            made.clear();
            // Its own word of a death, read back (taken or not): it may be said again if need be.
            if entry.node == self.id
                && let LogEventKind::NodeDead { node } = event.kind
            {
                self.declared.remove(&node);
            }
            let alive = !self.log.is_dead(self.id);
            if self.log.feed(&mut self.core, entry.node, event, &mut made) {
                self.fed(entry.node, &event.kind, &mut made, now);
                if alive && self.log.is_dead(self.id) {
                    self.found_dead(now);
                }
            }
        }
        self.scratch = made;
        self.open_gates(now);
        let taking = self.takes_snapshots();
        if self
            .schedule
            .due(self.log.position(), self.log.log_now(), taking)
        {
            self.snapshot_due = true;
        }
    }

    /// What the core `made` of one event of an entry appended by node `from`, carried out where it
    /// concerns this node.
    fn fed(&mut self, from: u64, event: &LogEventKind, made: &mut Vec<Effect>, now: Timestamp) {
        let conn = event.conn();
        // Each node logs what its own connections did (and the timers of its own entries): the
        // operator reads every login once, on the node it happened on.
        let ours = conn.map_or(from == self.id, |c| c.node() == self.id);
        if ours
            && let Some(c) = conn
            && matches!(
                event,
                LogEventKind::Line { .. }
                    | LogEventKind::LineTooLong { .. }
                    | LogEventKind::SecretLine { .. }
            )
        {
            self.gates.handled(c);
        }
        // Most events make only lines and controls for connections, kept or dropped where they lie
        // and handed on as one block: an effect is large (a line inline), and moved one at a time
        // it was copied twice more per message than a server alone copies it.
        if !made.iter().any(Effect::is_job_or_record) {
            let (own, id) = (&self.own, self.id);
            made.retain_mut(|effect| concerns(effect, own, id));
            self.effects.append(made);
            return;
        }
        let peer = conn.and_then(|c| self.peers.get(&c).copied());
        for effect in made.drain(..) {
            self.carry(effect, ours, peer, now);
        }
    }

    /// The log says this node is dead (another node found its lease gone): every session of its the
    /// log held is ended there, and nothing more of its is taken until it says it is back. So every
    /// connection it has is refused (rather than left open with nobody listening; the word is the
    /// fenced node's, `BYE unavailable`, and the client moves to another node), and it says it is back:
    /// what it appends after that counts again, and what it appended before (on its way, or not yet
    /// read) does not.
    fn found_dead(&mut self, now: Timestamp) {
        tracing::warn!(
            "the cluster found node {} dead (its lease ran out): closing its connections, whose \
             sessions the cluster ended",
            self.id
        );
        self.refuse_own(ByeReason::Unavailable);
        self.back_wanted = true;
        self.say_back(now);
    }

    /// Appends that this node is back, once the log has found it dead and it serves again.
    fn say_back(&mut self, now: Timestamp) {
        if self.back_wanted && !self.fenced() && !self.behind {
            self.back_wanted = false;
            self.appends.push_back(LogEvent {
                at: now,
                kind: LogEventKind::NodeBack { node: self.id },
            });
        }
    }

    /// The log's next entry is `found`, not `expected`: the entries between were trimmed while this
    /// node had not read them. Its connections missed them, so they are refused (and their sessions
    /// ended in the log); it asks for the latest snapshot, again at each entry past the hole until one
    /// comes (a fetch may fail).
    fn left_behind(&mut self, expected: u64, found: u64, now: Timestamp) {
        self.snapshot_wanted = true;
        self.in_flight.clear();
        if self.behind {
            return;
        }
        tracing::warn!(
            "the cluster's log was trimmed past this node (it had read up to entry {}, the next it \
             found is {found}): starting again from the latest snapshot",
            expected - 1
        );
        self.behind = true;
        self.refuse_all(ByeReason::Unavailable, now);
    }

    /// One effect of the core's, for the entry just fed (`ours`: of this node's; `peer`: its
    /// connection's address), kept if it concerns this node.
    fn carry(&mut self, mut effect: Effect, ours: bool, peer: Option<SocketAddr>, now: Timestamp) {
        match effect {
            Effect::Persist(record) => {
                if ours {
                    self.records.push_back((record, peer));
                }
            }
            Effect::CheckPassword { conn, .. } | Effect::HashPassword { conn, .. }
                if self.is_own(conn) =>
            {
                self.password_job(effect, now)
            }
            Effect::CheckPassword { .. } | Effect::HashPassword { .. } => {}
            _ => {
                if concerns(&mut effect, &self.own, self.id) {
                    self.effects.push(effect);
                }
            }
        }
    }

    /// A password job for one of this node's connections, with the text it kept filled in: compared
    /// here at once with a password kept in the clear (the verdict appended), else handed to the
    /// workers.
    fn password_job(&mut self, job: Effect, now: Timestamp) {
        match self.gates.fill_in(job) {
            Effect::CheckPassword {
                conn,
                job,
                hash,
                password,
            } if !crate::password::is_hash(&hash) => {
                let event = match password {
                    Some(p) => Event::PasswordChecked {
                        conn,
                        job,
                        ok: crate::password::plain_matches(&hash, &p.0),
                    },
                    None => {
                        tracing::error!("{conn}: a password to check, but its text is not here");
                        Event::PasswordJobFailed { conn, job }
                    }
                };
                self.append(event, now);
            }
            job => self.effects.push(job),
        }
    }

    /// A line of `conn` (`None`: an overlong one): to the log at once for a logged-in user; before
    /// login, through its gate.
    fn read(&mut self, conn: ConnId, line: Option<&[u8]>, now: Timestamp) {
        if !self.is_own(conn) {
            return;
        }
        let passwd = line.is_some_and(crate::server::cluster::gates::is_passwd_line);
        if !self.gates.holds(conn) && self.core.next_line(conn) == NextLine::Free && !passwd {
            let event = match line {
                Some(line) => Event::Line { conn, line },
                None => Event::LineTooLong { conn },
            };
            return self.append(event, now);
        }
        let gate = self.gates.gate(conn);
        match line {
            Some(line) => gate.push_line(line),
            None => gate.push_too_long(),
        }
        if self.gates.waiting_bytes(conn) > self.cfg.gate_max_bytes && !self.held.contains(&conn) {
            self.held.push(conn);
            self.holds.push_back(ReadHold { conn, held: true });
        }
        self.open_gate(conn, now);
    }

    /// Lets through every gate what the core now allows.
    fn open_gates(&mut self, now: Timestamp) {
        if self.gates.is_empty() {
            return;
        }
        for conn in self.gates.conns() {
            self.open_gate(conn, now);
        }
    }

    /// Lets through `conn`'s gate what the core allows now, to the log.
    fn open_gate(&mut self, conn: ConnId, now: Timestamp) {
        let mut passed = Vec::new();
        self.gates.release(
            conn,
            self.core.next_line(conn),
            &|text| self.core.weak_password(conn, text),
            &mut passed,
        );
        if self.gates.waiting_bytes(conn) <= self.cfg.gate_max_bytes / 2
            && let Some(i) = self.held.iter().position(|c| *c == conn)
        {
            self.held.swap_remove(i);
            self.holds.push_back(ReadHold { conn, held: false });
        }
        for p in passed {
            self.append(p.event(conn), now);
        }
    }

    /// Drops what this node kept for `conn`.
    fn forget(&mut self, conn: ConnId) {
        self.gates.forget(conn);
        self.held.retain(|c| *c != conn);
    }

    /// Appends `event` (at `now`), unless the node is fenced and it is not wanted then.
    fn append(&mut self, event: Event<'_>, now: Timestamp) {
        // A line is kept until its entry comes back from the log: copied into spare room (given
        // back by [`Self::recycle_entry`]), not a new allocation per line.
        let lines = &mut self.lines;
        let entry = LogEvent::with_line_copied(event, now, |line| lines.copy_of_bytes(line));
        self.push_append(entry);
    }

    /// Appends `entry`, unless the node is fenced and it is not wanted then.
    fn push_append(&mut self, entry: LogEvent) {
        if self.fenced() && !wanted_when_fenced(self.id, &entry) {
            return;
        }
        self.last_append = Some(entry.at);
        self.appends.push_back(entry);
    }

    /// Refuses every connection of this node's with `reason` and ends its session in the log.
    fn refuse_all(&mut self, reason: ByeReason, now: Timestamp) {
        for conn in self.refuse_own(reason) {
            self.append(Event::Disconnected { conn }, now);
        }
    }

    /// Refuses every connection of this node's with `reason`: the ones refused, in order.
    fn refuse_own(&mut self, reason: ByeReason) -> Vec<ConnId> {
        let mut own: Vec<ConnId> = self.own.drain().collect();
        self.peers.clear();
        own.sort_unstable();
        for &conn in &own {
            self.refusals.push_back(Refusal { conn, reason });
        }
        self.gates.clear();
        self.held.clear();
        own
    }

    /// A renewal of this node's lease, sent at `sent`, worked (at `now`), and found the lease in
    /// Redis as `was`: it serves again if it was fenced.
    ///
    /// A renewal that comes too late must not hide that the lease lapsed: sent after this node's
    /// fence deadline, or finding the lease gone from Redis, it means the other nodes may have found
    /// this one dead and ended its sessions meanwhile (a frozen node thaws and renews before it reads
    /// the log's news). So the node first refuses its connections, exactly as if it had fenced in
    /// time, and only then serves again: a session the cluster ended never takes another line.
    pub fn lease_renewed(&mut self, sent: Timestamp, was: LeaseWas, now: Timestamp) {
        self.check_lease(sent);
        if was == LeaseWas::Lapsed && !self.fenced() {
            self.fence(now, "its lease had run out in Redis when it renewed it");
        }
        if self.lease.renewed(sent) == Some(LeaseChange::Unfence) {
            tracing::warn!("node {} holds its lease again: serving", self.id);
            self.say_back(now);
        }
        self.handle_timeout(now);
    }

    /// What was read of the cluster's leases: nodes `1..=highest` were given out, and `live` hold a
    /// lease. Each node newly found dead is said to be so in the log, once, where every copy of the
    /// core ends its sessions ([`LogEventKind::NodeDead`]): all it holds at that place of the log, not
    /// only those this node has read of (it may be behind), and from then on nothing that node
    /// appended counts until it says it is back.
    ///
    /// Whether to say so follows the log, not this node's memory of the leases: a node the log said
    /// was dead may have come back and died again while this one could not read the leases, and a
    /// word already on its way is not said twice.
    pub fn members(&mut self, highest: u64, live: &[u64], now: Timestamp) {
        self.lease.live(live);
        let me = self.id;
        for node in (1..=highest).filter(|n| *n != me && !live.contains(n)) {
            if self.log.is_dead(node) || self.declared.contains(&node) {
                continue;
            }
            self.declared.insert(node);
            let held = self
                .core
                .open_conns()
                .into_iter()
                .filter(|c| c.node() == node)
                .count();
            if held > 0 {
                tracing::warn!(
                    "cluster node {node} stopped renewing its lease: ending its {held} connection(s)"
                );
            }
            self.push_append(LogEvent {
                at: now,
                kind: LogEventKind::NodeDead { node },
            });
        }
    }

    /// How far the other live nodes have read the log, as they last reported: `(node, position)`.
    /// The log is never trimmed past the slowest.
    pub fn positions(&mut self, applied: &[(u64, u64)]) {
        let others: Vec<(u64, u64)> = applied
            .iter()
            .copied()
            .filter(|(n, _)| *n != self.id)
            .collect();
        self.trim.others(&others);
    }

    /// The snapshot this node handed over at `position` was stored: the log may be trimmed behind
    /// it.
    pub fn snapshot_stored(&mut self, position: u64) {
        self.trim.stored(position);
    }

    /// The log was trimmed past this node: it starts again from the cluster's latest snapshot
    /// (`bytes`). Its own connections missed what happened meanwhile, so they are refused and their
    /// sessions ended in the log.
    pub fn restart(&mut self, bytes: &[u8], now: Timestamp) {
        match snapshot::decode(bytes) {
            Ok((core, log)) => {
                tracing::warn!(
                    "starting again from the cluster's snapshot at log entry {}",
                    log.position()
                );
                self.core = core;
                self.schedule.restart(log.position(), log.log_now());
                self.back_wanted = log.is_dead(self.id);
                self.declared.clear();
                self.log = log;
                self.behind = false;
                self.snapshot_wanted = false;
                self.in_flight.clear();
                self.refuse_all(ByeReason::Unavailable, now);
                self.say_back(now);
            }
            Err(e) => self.lost = Some(Lost::Snapshot(e)),
        }
    }

    /// This node stops (the cluster goes on): its users are told the server is shutting down (their
    /// clients move to another node), and their sessions end in the log.
    fn leave(&mut self, now: Timestamp) {
        self.refuse_all(ByeReason::Shutdown, now);
    }

    /// When [`Self::handle_timeout`] must next be called: the lease's lapse, and a tick once the core's
    /// next deadline has come.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        [self.tick_due(), self.lease.deadline(), self.hold_until()]
            .into_iter()
            .flatten()
            .min()
    }

    /// When a tick is to be appended: once the core's next deadline has come, and not sooner than
    /// [`NodeConfig::tick_every_ms`] after this node's last entry (which moves the log's time as well).
    fn tick_due(&self) -> Option<Timestamp> {
        if self.fenced() || self.behind {
            return None;
        }
        let due = self.core.poll_timeout()?;
        Some(match self.last_append {
            Some(last) => due.max(last.plus_millis(self.cfg.tick_every_ms)),
            None => due,
        })
    }

    /// Time has passed to `now` by this node's clock: it stops serving if its lease lapsed, and
    /// appends a tick if the core's next deadline has come and nothing of this node's moved the log's
    /// time lately.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.check_lease(now);
        if self.hold_until().is_some_and(|until| until <= now) {
            // Its entries are late (or will never come back): counted afresh from the next one,
            // and one read back after all finds nothing to take off.
            self.in_flight.clear();
        }
        if self.tick_due().is_some_and(|at| at <= now) {
            self.last_append = Some(now);
            self.appends.push_back(LogEvent::tick(now));
        }
    }

    /// Fences the node if its lease has lapsed by `now`.
    fn check_lease(&mut self, now: Timestamp) {
        if self.lease.at(now) == Some(LeaseChange::Fence) {
            let why = format!(
                "it could not renew its lease for {} ms",
                self.cfg.fence_after_ms
            );
            self.fence(now, &why);
        }
    }

    /// Stops serving (`why`): every connection refused and its session ended in the log, and nothing
    /// more of theirs appended.
    fn fence(&mut self, now: Timestamp, why: &str) {
        tracing::error!(
            "node {}: {why}: closing its connections, which the rest of the cluster ends",
            self.id
        );
        self.lease.fence();
        self.fences += 1;
        // Its appender drops what its users typed from the entries not in Redis yet: those may
        // never come back.
        self.in_flight.clear();
        self.appends.retain(|e| wanted_when_fenced(self.id, e));
        self.refuse_all(ByeReason::Unavailable, now);
    }

    /// The next entry to append to the shared log: everything this node has to append since the
    /// last call, in order, as one batch, within [`MAX_ENTRY_BYTES`] (what is over comes in the next
    /// entries, in order). The shell calls it at the end of each turn of its driver, so that what
    /// the node's connections did in one turn is one entry: one append, one place in the log, and
    /// one read for the other nodes.
    pub fn poll_append(&mut self) -> Option<Vec<LogEvent>> {
        let first = self.appends.pop_front()?;
        let mut bytes = first.encoded_len();
        // Room for all of them at once (usually all fit), not grown by doubling, a move of every
        // event each time.
        let mut batch = Vec::with_capacity(self.appends.len() + 1);
        batch.push(first);
        while let Some(next) = self.appends.front() {
            bytes += next.encoded_len();
            if bytes > MAX_ENTRY_BYTES {
                break;
            }
            batch.extend(self.appends.pop_front());
        }
        if let Some(last) = batch.last() {
            self.in_flight.push_back(last.at);
        }
        self.last_entry_events = batch.len();
        Some(batch)
    }

    /// Whether the shell is to leave its connections unread now, at `now`: while
    /// [`NodeConfig::hold_reading_entries`] of this node's entries are on their way to the log and
    /// back (the latest one large enough, [`NodeConfig::hold_reading_min_events`]), for at most
    /// [`NodeConfig::hold_reading_ms`] after the oldest was made
    /// ([`Self::poll_timeout`] includes that deadline; [`Self::handle_timeout`] at it lets go). What
    /// the clients send meanwhile waits in their sockets, unacknowledged, and the turn after the
    /// entry comes back reads it all into one entry. Everything else (the log's entries, answers,
    /// writes, timers) goes on while reading is held.
    pub fn reading_held(&self, now: Timestamp) -> bool {
        self.hold_until().is_some_and(|until| now < until)
    }

    /// Until when reading is held, while it is (see [`Self::reading_held`]).
    fn hold_until(&self) -> Option<Timestamp> {
        let depth = self.cfg.hold_reading_entries;
        // A node that serves nobody has no reading to hold (and its entries' fate is the fence's).
        if depth == 0
            || self.in_flight.len() < depth
            || self.last_entry_events < self.cfg.hold_reading_min_events
            || self.fenced()
            || self.behind
        {
            return None;
        }
        let oldest = self.in_flight.front()?;
        Some(oldest.plus_millis(self.cfg.hold_reading_ms))
    }

    /// The next effect for one of this node's connections (a line, a close, a control, a password job
    /// with its text), in order, to carry out as a server alone does.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        (!self.effects.is_empty()).then(|| self.effects.remove(0))
    }

    /// Every effect [`Self::poll_effect`] would give, in order, appended to `into` at once: an
    /// entry read back makes one or more for every message in it, so they are handed over whole
    /// (the two vectors swapped when `into` is empty, as it is between inputs; else one copy of
    /// the block), never moved one at a time.
    pub fn drain_effects(&mut self, into: &mut Vec<Effect>) {
        if into.is_empty() {
            std::mem::swap(into, &mut self.effects);
        } else {
            into.append(&mut self.effects);
        }
    }

    /// The next connection to refuse.
    pub fn poll_refusal(&mut self) -> Option<Refusal> {
        self.refusals.pop_front()
    }

    /// The next connection whose reading to hold or let go.
    pub fn poll_read_hold(&mut self) -> Option<ReadHold> {
        self.holds.pop_front()
    }

    /// The next record of this node's connections, with the address it came from, for the operator's
    /// log.
    pub fn poll_record(&mut self) -> Option<(Record, Option<SocketAddr>)> {
        self.records.pop_front()
    }

    /// The first entry of the log to keep, when it may be trimmed further (entries before it go).
    pub fn poll_trim(&mut self) -> Option<u64> {
        self.trim.next()
    }

    /// Whether to fetch the cluster's latest snapshot and hand it to [`Self::restart`] (the node
    /// found a hole in the log), then read on after its position.
    pub fn poll_snapshot_wanted(&mut self) -> bool {
        std::mem::take(&mut self.snapshot_wanted)
    }

    /// Whether a snapshot is due ([`Self::poll_snapshot`] takes it).
    pub fn snapshot_due(&self) -> bool {
        self.snapshot_due
    }

    /// A snapshot to store, when one is due: of the state now.
    pub fn poll_snapshot(&mut self) -> Option<Snapshot> {
        if !std::mem::take(&mut self.snapshot_due) {
            return None;
        }
        Some(Snapshot {
            position: self.log.position(),
            bytes: snapshot::encode(&self.core, &self.log),
        })
    }
}

/// Whether an entry of node `node`'s still goes to the log once that node is fenced: the events of its
/// own connections do not (their users were told the server cannot serve, so what they typed must not
/// happen later behind their backs), except their ends; what it says of the cluster (another node's
/// death, its own return) does. (What Redis already has may still count: an append whose answer was
/// lost.)
pub fn wanted_when_fenced(node: u64, entry: &LogEvent) -> bool {
    match &entry.kind {
        LogEventKind::Disconnected { .. }
        | LogEventKind::NodeDead { .. }
        | LogEventKind::NodeBack { .. } => true,
        LogEventKind::Tick => false,
        other => other.conn().is_none_or(|c| c.node() != node),
    }
}
