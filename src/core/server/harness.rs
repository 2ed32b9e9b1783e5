//! A driver for the core with no sockets and a virtual clock: what unit tests, property tests, fuzz
//! targets and the simulator use in place of the smol shell.
//!
//! It drives the same composed value the server runs ([`Server`]: the core, the outbox, the pacer and
//! the operator log), deterministically: every event is a batch of its own (so replies that vouch for
//! a record wait for its commit, and lazy records wait their turn), the core's deadlines are acted on at their exact instants as the clock is advanced
//! (the clock jumps from one to the next, as quinn-proto's tests do), every line
//! released to each connection is collected, the connections the server closed are remembered, and the
//! persisted records are kept in order.
//!
//! Commits complete at once by default ([`Durability::Instant`]), which is what rule-by-rule tests want.
//! With [`Durability::Manual`] they complete only when [`Harness::complete_commits`] says so, and
//! [`Harness::durable_records`] is what a crash right now would leave: that is how the simulator crashes
//! the server between a record and its commit.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::cluster::LogEvent;
use super::cluster::gates::{Gates, Passed};
use super::composed::{Input, Output, Parts, Server};
use super::outbox::{Commit, OutboxConfig};
use super::{Account, Config, ConnId, Effect, Event, Record, ServerState};
use crate::protocol::{ServerMsg, render_line};
use crate::time::Timestamp;

/// When the harness's commits become durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// As soon as they are made: a reply that waits for a commit is released in the same event.
    Instant,
    /// Only at [`Harness::complete_commits`].
    Manual,
}

/// A server core on a virtual clock.
pub struct Harness {
    /// The server side as the server runs it.
    server: Server,
    now: Timestamp,
    durability: Durability,
    inbox: BTreeMap<ConnId, Vec<ServerMsg>>,
    /// What IRC connections received, as their bytes.
    irc_inbox: BTreeMap<ConnId, Vec<u8>>,
    /// The connections made on the IRC listener: their lines go to their front, not through the
    /// password gates (a cluster node gates the natter lines the front feeds it, inside the node).
    irc_conns: BTreeSet<ConnId>,
    closed: BTreeSet<ConnId>,
    /// Every record the core asked to persist, in order, durable or not.
    records: Vec<Record>,
    /// The records whose commit completed, in order: what survives a crash.
    durable: Vec<Record>,
    /// Commits handed over and not complete (only with [`Durability::Manual`]).
    in_flight: VecDeque<Commit>,
    next_conn: u64,
    /// Every effect so far, in order (for determinism checks and failure traces): lines and closes when
    /// they are released to the connection, records when the core makes them.
    pub trace: Vec<Effect>,
    /// The virtual time at which each effect in `trace` happened (deadlines are acted on at their own
    /// instants within one `advance`, so this is not always `now()`).
    pub trace_times: Vec<Timestamp>,
    keep_trace: bool,
    /// Password jobs are answered by [`Self::answer_jobs`] only, not at once.
    manual_jobs: bool,
    /// Password jobs handed over and not answered (only with manual jobs).
    jobs: VecDeque<Effect>,
    /// Connections whose client reads nothing: their drain watches are not answered until it reads.
    stalled: BTreeSet<ConnId>,
    /// Stalled connections with a drain watch waiting.
    watched: BTreeSet<ConnId>,
    /// Connections the core asked not to be read.
    paused: BTreeSet<ConnId>,
    /// With [`Self::keep_log`]: everything fed to the core, for replicas to be checked against.
    pub log: Option<Vec<Fed>>,
    /// With [`Self::gate_passwords`]: each connection's lines before login, let through as a cluster
    /// node lets them into its log (passwords as [`Event::SecretLine`], their text kept here for the
    /// password job).
    gates: Option<Gates>,
    /// Letting lines through the gates now (an event fed on the way must not start another round).
    pumping: bool,
    /// Password lines fed without their text so far (the caller may reset it).
    pub secret_lines: u64,
    /// The operator's requests so far, and the answers released and not yet taken.
    next_request: u64,
    answers: BTreeMap<u64, super::AdminAnswer>,
}

/// One input of the core as [`Harness::keep_log`] keeps it: an event, or time passing (a tick, for
/// [`ServerState::handle_timeout`]), with what the core made of it.
#[derive(Clone, Debug)]
pub struct Fed {
    /// The event and its time, as a shared log holds it.
    pub event: LogEvent,
    /// What the core made for it, in order (before the outbox).
    pub effects: Vec<Effect>,
    /// The core's earliest deadline afterwards: copies of the core must agree on their deadlines too.
    pub next_deadline: Option<Timestamp>,
}

/// Where the virtual clock starts: an arbitrary, realistic wall-clock time (2023-11-14).
pub const START: Timestamp = Timestamp(1_700_000_000_000);

impl Harness {
    /// A core with these `(username, password)` accounts and a fixed token seed.
    pub fn new(config: Config, accounts: &[(&str, &str)]) -> Self {
        let accounts = accounts
            .iter()
            .map(|(u, p)| Account {
                username: (*u).into(),
                password: (*p).into(),
            })
            .collect();
        Self::with_state(ServerState::new(config, accounts, [7; 32]), START)
    }

    /// The IRC listener's settings (its name, its message of the day) set to `settings`.
    pub fn irc_settings(mut self, settings: crate::irc::IrcSettings) -> Self {
        self.server.set_irc(settings);
        self
    }

    /// Drives an existing core, with the clock at `now`.
    pub fn with_state(state: ServerState, now: Timestamp) -> Self {
        let mut server = Server::alone(state, Parts::default());
        server.keep_made();
        Harness {
            server,
            now,
            durability: Durability::Instant,
            inbox: BTreeMap::new(),
            irc_inbox: BTreeMap::new(),
            irc_conns: BTreeSet::new(),
            closed: BTreeSet::new(),
            records: Vec::new(),
            durable: Vec::new(),
            in_flight: VecDeque::new(),
            next_conn: 1,
            trace: Vec::new(),
            trace_times: Vec::new(),
            keep_trace: false,
            manual_jobs: false,
            jobs: VecDeque::new(),
            stalled: BTreeSet::new(),
            watched: BTreeSet::new(),
            paused: BTreeSet::new(),
            log: None,
            gates: None,
            pumping: false,
            secret_lines: 0,
            next_request: 0,
            answers: BTreeMap::new(),
        }
    }

    /// Feeds lines as a cluster node does: before login one at a time, each when the core says what it
    /// will be taken as, and passwords without their text (`cluster::gates`). What users see must be
    /// exactly what they see when every line is fed at once in the clear.
    pub fn gate_passwords(mut self) -> Self {
        self.gates = Some(Gates::default());
        self
    }

    /// Lets through each gate what the core now allows, until nothing more moves.
    fn pump_gates(&mut self) {
        if self.pumping || self.gates.as_ref().is_none_or(Gates::is_empty) {
            return;
        }
        self.pumping = true;
        loop {
            let mut moved = false;
            let conns = self.gates.as_ref().map(Gates::conns).unwrap_or_default();
            for conn in conns {
                let next = self.server.core().next_line(conn);
                let mut passed = Vec::new();
                let state = self.server.core();
                if let Some(gates) = &mut self.gates {
                    gates.release(
                        conn,
                        next,
                        &|text| state.weak_password(conn, text),
                        &mut passed,
                    );
                }
                for p in passed {
                    moved = true;
                    if matches!(p, Passed::Secret(_)) {
                        self.secret_lines += 1;
                    }
                    self.event(p.event(conn));
                    if let Some(gates) = &mut self.gates {
                        gates.handled(conn);
                    }
                }
            }
            if !moved {
                break;
            }
        }
        if let Some(gates) = &mut self.gates {
            gates.prune();
        }
        self.pumping = false;
    }

    /// The gate of `conn`, when lines go through gates.
    fn gate(&mut self, conn: ConnId) -> Option<&mut super::cluster::LineGate> {
        Some(self.gates.as_mut()?.gate(conn))
    }

    /// Password checks and hashes wait for [`Self::answer_jobs`] instead of being answered at once.
    pub fn manual_jobs(mut self) -> Self {
        self.manual_jobs = true;
        self
    }

    /// Answers every password job handed over so far, each as an event of its own.
    pub fn answer_jobs(&mut self) {
        while let Some(job) = self.jobs.pop_front() {
            self.answer(job);
        }
    }

    /// Answers the most recent password job only.
    pub fn answer_last_job(&mut self) {
        if let Some(job) = self.jobs.pop_back() {
            self.answer(job);
        }
    }

    /// Answers every password job handed over so far as one the shell could not do (as a worker
    /// without randomness for a salt answers); jobs these answers start wait.
    pub fn fail_jobs(&mut self) {
        let failed: Vec<Effect> = self.jobs.drain(..).collect();
        for job in failed {
            let (Effect::CheckPassword { conn, job, .. } | Effect::HashPassword { conn, job, .. }) =
                job
            else {
                unreachable!("not a password job: {job:?}");
            };
            self.event(Event::PasswordJobFailed { conn, job });
        }
    }

    /// Password jobs waiting for [`Self::answer_jobs`].
    pub fn jobs_waiting(&self) -> usize {
        self.jobs.len()
    }

    /// From now on `conn`'s client reads nothing: the core is not told its queue drained (until
    /// [`Self::resume_reader`], or an [`Event::Drained`] fed by hand).
    pub fn stall_reader(&mut self, conn: ConnId) {
        self.stalled.insert(conn);
    }

    /// `conn`'s client reads again: everything written to it leaves, so a drain watch that waited is
    /// answered now.
    pub fn resume_reader(&mut self, conn: ConnId) {
        self.stalled.remove(&conn);
        if self.watched.remove(&conn) {
            self.event(Event::Drained { conn });
        }
    }

    /// Whether the core asked the shell to stop reading `conn`.
    pub fn is_paused(&self, conn: ConnId) -> bool {
        self.paused.contains(&conn)
    }

    /// Does a password job as the shell's worker would (hashes with the least work argon2 allows, and a
    /// fixed salt), and feeds its answer back.
    fn answer(&mut self, job: Effect) {
        let job = match &mut self.gates {
            Some(gates) => gates.fill_in(job),
            None => job,
        };
        match job {
            Effect::CheckPassword {
                conn,
                job,
                hash,
                password,
            } => {
                let ok = password.is_some_and(|p| crate::password::matches(&hash, &p.0));
                self.event(Event::PasswordChecked { conn, job, ok });
            }
            Effect::HashPassword {
                conn,
                job,
                password,
            } => {
                let password =
                    password.expect("a password to hash: typed, or kept for a secret line");
                let hash = crate::password::hash(
                    &password.0,
                    &[42; 16],
                    crate::password::Strength::Minimal,
                );
                self.event(Event::PasswordHashed {
                    conn,
                    job,
                    hash: &hash,
                });
            }
            other => unreachable!("not a password job: {other:?}"),
        }
    }

    /// Carries out everything the server said since the last call, in order: commits handed over
    /// (completed at once if durability is instant), released lines delivered, password jobs
    /// answered (now, unless jobs are manual), readers paused and resumed, and drain watches
    /// answered (now, unless the reader is stalled: the harness's clients read everything at once).
    /// What the operator's log and the metrics are told is not a client's business here.
    fn run(&mut self) {
        while let Some(output) = self.server.poll_output() {
            match output {
                Output::Commit(commit) => {
                    self.in_flight.push_back(commit);
                    if self.durability == Durability::Instant {
                        self.complete_commits();
                    }
                }
                Output::Released { made_at, effects } => self.carry_out(made_at, effects),
                Output::PasswordJob(job) => {
                    if self.manual_jobs {
                        self.jobs.push_back(job);
                    } else {
                        self.answer(job);
                    }
                }
                Output::PauseReading { conn } => {
                    self.paused.insert(conn);
                }
                Output::ResumeReading { conn } => {
                    self.paused.remove(&conn);
                }
                Output::WatchDrain { conn } => {
                    if self.stalled.contains(&conn) {
                        self.watched.insert(conn);
                    } else {
                        self.event(Event::Drained { conn });
                    }
                }
                Output::OperatorLine(_)
                | Output::LoginFailed { .. }
                | Output::OperatorDid { .. }
                | Output::Record { .. }
                | Output::Counts(_)
                | Output::WriteHeld(_)
                | Output::Tidy => {}
                other => unreachable!("a server alone says nothing of a cluster: {other:?}"),
            }
        }
    }

    /// Keep every event and the effects it made in [`Harness::log`].
    pub fn keep_log(mut self) -> Self {
        self.log = Some(Vec::new());
        self
    }

    /// Keep every effect in [`Harness::trace`].
    pub fn keep_trace(mut self) -> Self {
        self.keep_trace = true;
        self
    }

    /// Commits complete only at [`Self::complete_commits`], with this release rule.
    pub fn manual_commits(mut self, cfg: OutboxConfig) -> Self {
        self.durability = Durability::Manual;
        self.server = self.server.with_outbox(cfg);
        self.server.keep_made();
        self
    }

    /// The virtual clock's time.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Feeds one event at the current time, as a batch of its own, and carries out what it released.
    pub fn event(&mut self, event: Event<'_>) {
        let now = self.now;
        self.server.handle_input(Input::Event(event), now);
        self.made(|| LogEvent::new(event, now));
        self.server.handle_input(Input::EndBatch, now);
        self.run();
        self.pump_gates();
    }

    /// Lets the core act on its deadlines due now, as a batch of its own (the end of a turn).
    fn handle_timeout(&mut self) {
        let now = self.now;
        self.server.handle_input(Input::EndTurn, now);
        self.made(|| LogEvent::tick(now));
        self.run();
        self.pump_gates();
    }

    /// Notes what the core made of the input just handled: its records, and the trace and log.
    fn made(&mut self, event: impl FnOnce() -> LogEvent) {
        let made = self.server.last_made().to_vec();
        for e in &made {
            if let Effect::Persist(r) = e {
                self.records.push(r.clone());
            }
            if matches!(e, Effect::Persist(_)) || e.is_control() {
                self.traced(e);
            }
        }
        if let Some(log) = &mut self.log {
            log.push(Fed {
                event: event(),
                effects: made,
                next_deadline: self.server.core().poll_timeout(),
            });
        }
    }

    fn traced(&mut self, e: &Effect) {
        self.traced_at(e, self.now);
    }

    fn traced_at(&mut self, e: &Effect, at: Timestamp) {
        if self.keep_trace {
            self.trace.push(e.clone());
            self.trace_times.push(at);
        }
    }

    /// Commits the lazy records now, as a server does before it stops.
    pub fn flush_lazy(&mut self) {
        self.server.handle_input(Input::FlushLazy, self.now);
        self.run();
    }

    /// Completes every commit handed over so far, and carries out what waited for them.
    pub fn complete_commits(&mut self) {
        let mut last = None;
        while let Some(c) = self.in_flight.pop_front() {
            self.durable.extend(c.records);
            last = Some(c.seq);
        }
        if let Some(seq) = last {
            self.server.handle_input(Input::Committed(seq), self.now);
        }
        self.run();
    }

    /// Carries out one released batch, made at `at`.
    fn carry_out(&mut self, at: Timestamp, sends: Vec<Effect>) {
        {
            for e in sends {
                self.traced_at(&e, at);
                match e {
                    Effect::Send { to, msg } => self.deliver(to, msg),
                    Effect::SendMany { to, msg } => {
                        for conn in to {
                            self.deliver(conn, msg.clone());
                        }
                    }
                    Effect::SendRaw { to, bytes, .. } => {
                        assert!(!self.closed.contains(&to), "lines sent to {to} once closed");
                        self.irc_inbox.entry(to).or_default().extend(bytes);
                    }
                    Effect::Close { conn } => {
                        self.closed.insert(conn);
                    }
                    Effect::AdminAnswer { request, answer } => {
                        self.answers.insert(request, answer);
                    }
                    other => unreachable!("the outbox keeps records and controls: {other:?}"),
                }
            }
        }
    }

    fn deliver(&mut self, to: ConnId, msg: ServerMsg) {
        assert!(
            !self.closed.contains(&to),
            "the core sent {msg:?} to {to}, which it had closed"
        );
        // Every message the core produces must be renderable as one line of the protocol.
        let line = render_line(&msg);
        debug_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        self.inbox.entry(to).or_default().push(msg);
    }

    /// Opens a connection from a distinct loopback port.
    pub fn connect(&mut self) -> ConnId {
        let port = 40_000 + u16::try_from(self.next_conn % 20_000).unwrap_or(0);
        self.connect_from(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
    }

    /// Connects a new client from `peer` (its number is the next one) and returns its connection.
    pub fn connect_from(&mut self, peer: SocketAddr) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.event(Event::Connected { conn, peer });
        conn
    }

    /// Connects a new client on the IRC listener (from a distinct loopback port).
    pub fn irc_connect(&mut self) -> ConnId {
        let port = 40_000 + u16::try_from(self.next_conn % 20_000).unwrap_or(0);
        let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.irc_conns.insert(conn);
        let now = self.now;
        self.server
            .handle_input(Input::IrcConnected { conn, peer }, now);
        self.made(|| LogEvent::new(Event::Connected { conn, peer }, now));
        self.server.handle_input(Input::EndBatch, now);
        self.run();
        conn
    }

    /// What the IRC connection `conn` received since the last call, as text.
    pub fn take_irc(&mut self, conn: ConnId) -> String {
        let bytes = self.irc_inbox.remove(&conn).unwrap_or_default();
        String::from_utf8(bytes).expect("IRC lines are UTF-8")
    }

    /// The operator asks for `action`: its answer, once released (commits complete at once unless
    /// [`Self::manual_commits`]; `None` while it waits for one).
    pub fn admin(&mut self, action: super::Admin) -> Option<super::AdminAnswer> {
        self.next_request += 1;
        let request = self.next_request;
        self.event(Event::Admin {
            request,
            action: &action,
        });
        self.answers.remove(&request)
    }

    /// Sends one line (without its ending) from `conn`.
    pub fn send(&mut self, conn: ConnId, line: &str) {
        self.send_bytes(conn, line.as_bytes());
    }

    /// Sends `line`'s bytes from the client: through its line gate when lines go through gates (as on a
    /// cluster node), else straight to the core.
    pub fn send_bytes(&mut self, conn: ConnId, line: &[u8]) {
        if self.irc_conns.contains(&conn) {
            self.event(Event::Line { conn, line });
            return;
        }
        match self.gate(conn) {
            Some(gate) => {
                gate.push_line(line);
                self.pump_gates();
            }
            None => self.event(Event::Line { conn, line }),
        }
    }

    /// Reports that the client sent a line longer than the limit.
    pub fn too_long(&mut self, conn: ConnId) {
        match self.gate(conn) {
            Some(gate) => {
                gate.push_too_long();
                self.pump_gates();
            }
            None => self.event(Event::LineTooLong { conn }),
        }
    }

    /// Reports that the client's connection is gone.
    pub fn disconnect(&mut self, conn: ConnId) {
        self.event(Event::Disconnected { conn });
    }

    /// Stops the server, as its operator would.
    pub fn shutdown(&mut self) {
        self.event(Event::Shutdown);
    }

    /// Moves the clock forward `ms`, stopping at each deadline on the way (the core's and the
    /// outbox's), in order, to act on it at its own instant. Lazy records falling due at an instant are
    /// committed before the core acts on its deadlines of that instant.
    pub fn advance(&mut self, ms: u64) {
        let target = self.now.plus_millis(ms);
        while let Some(at) = self.server.poll_timeout().filter(|at| *at <= target) {
            self.now = self.now.max(at);
            self.server.handle_input(Input::Timeout, self.now);
            self.run();
            if self
                .server
                .core()
                .poll_timeout()
                .is_some_and(|at| at <= self.now)
            {
                self.handle_timeout();
            }
        }
        self.now = target;
    }

    /// [`advance`](Self::advance)s the clock `secs` seconds.
    pub fn advance_secs(&mut self, secs: u64) {
        self.advance(secs * 1000);
    }

    /// Moves the clock without acting on deadlines (a stalled runtime); the next `advance` catches up.
    pub fn jump(&mut self, ms: u64) {
        self.now = self.now.plus_millis(ms);
    }

    /// The core's earliest deadline.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.server.core().poll_timeout()
    }

    /// The core.
    pub fn state(&self) -> &ServerState {
        self.server.core()
    }

    /// The core itself, to feed it past the composition (a test of the core's own guarantees).
    pub fn state_mut(&mut self) -> &mut ServerState {
        self.server
            .core_mut()
            .expect("the harness drives a server alone")
    }

    /// The core, taken back.
    pub fn into_state(self) -> ServerState {
        self.server
            .into_core()
            .expect("the harness drives a server alone")
    }

    /// The lines `conn` received since the last call.
    pub fn take(&mut self, conn: ConnId) -> Vec<ServerMsg> {
        self.inbox.remove(&conn).unwrap_or_default()
    }

    /// The lines `conn` received since the last take, without taking them.
    pub fn peek(&self, conn: ConnId) -> &[ServerMsg] {
        self.inbox.get(&conn).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Empties every connection's received lines.
    pub fn clear_all(&mut self) {
        self.inbox.clear();
    }

    /// Whether the server closed `conn`.
    pub fn is_closed(&self, conn: ConnId) -> bool {
        self.closed.contains(&conn)
    }

    /// Every record the core asked to persist so far, oldest first, whether or not its commit completed.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The records whose commit completed, oldest first: what a crash now would leave.
    pub fn durable_records(&self) -> &[Record] {
        &self.durable
    }

    /// Whether commits were handed over that have not completed.
    pub fn commits_pending(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Connects and logs in, asserting the welcome; the connection's received lines are cleared.
    pub fn login(&mut self, user: &str, password: &str) -> ConnId {
        let conn = self.connect();
        self.send(conn, user);
        self.send(conn, password);
        let got = self.take(conn);
        assert!(
            got.iter()
                .any(|m| matches!(m, ServerMsg::Welcome { user: u } if &**u == user)),
            "login of {user} failed: {got:?}"
        );
        conn
    }
}
