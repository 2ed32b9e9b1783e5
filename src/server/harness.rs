//! A driver for the core with no sockets and a virtual clock: what unit tests, property tests, fuzz
//! targets and the simulator use in place of the smol shell.
//!
//! It does what the shell does, deterministically: keeps the timers the core asks for and fires each at
//! its exact deadline as the clock is advanced, collects every line sent to each connection, remembers
//! which connections the server closed, and keeps the persisted records in order.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::{Account, Config, ConnId, Effect, Event, Record, ServerState};
use crate::protocol::{ServerMsg, render_line};
use crate::time::Timestamp;
use crate::timers::Timers;

/// A server core on a virtual clock.
pub struct Harness {
    pub state: ServerState,
    now: Timestamp,
    timers: Timers,
    inbox: BTreeMap<ConnId, Vec<ServerMsg>>,
    closed: BTreeSet<ConnId>,
    records: Vec<Record>,
    next_conn: u64,
    effects: Vec<Effect>,
    /// Every effect so far, in order (for determinism checks and failure traces).
    pub trace: Vec<Effect>,
    /// The virtual time at which each effect in `trace` happened (timers fire at their own deadlines
    /// within one `advance`, so this is not always `now()`).
    pub trace_times: Vec<Timestamp>,
    keep_trace: bool,
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

    /// Drives an existing core, with the clock at `now`.
    pub fn with_state(state: ServerState, now: Timestamp) -> Self {
        Harness {
            state,
            now,
            timers: Timers::new(),
            inbox: BTreeMap::new(),
            closed: BTreeSet::new(),
            records: Vec::new(),
            next_conn: 1,
            effects: Vec::new(),
            trace: Vec::new(),
            trace_times: Vec::new(),
            keep_trace: false,
        }
    }

    /// Keep every effect in [`Harness::trace`].
    pub fn keep_trace(mut self) -> Self {
        self.keep_trace = true;
        self
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Feeds one event at the current time and carries out its effects.
    pub fn event(&mut self, event: Event<'_>) {
        self.state.handle(event, self.now, &mut self.effects);
        for e in std::mem::take(&mut self.effects) {
            if self.keep_trace {
                self.trace.push(e.clone());
                self.trace_times.push(self.now);
            }
            match e {
                Effect::Send { to, msg } => self.deliver(to, msg),
                Effect::SendMany { to, msg } => {
                    for conn in to {
                        self.deliver(conn, msg.clone());
                    }
                }
                Effect::Close { conn } => {
                    self.closed.insert(conn);
                }
                Effect::SetTimer { timer, at } => self.timers.set(timer, at),
                Effect::CancelTimer { timer } => self.timers.cancel(timer),
                Effect::Persist(r) => self.records.push(r),
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

    pub fn connect_from(&mut self, peer: SocketAddr) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.event(Event::Connected { conn, peer });
        conn
    }

    /// Sends one line (without its ending) from `conn`.
    pub fn send(&mut self, conn: ConnId, line: &str) {
        self.send_bytes(conn, line.as_bytes());
    }

    pub fn send_bytes(&mut self, conn: ConnId, line: &[u8]) {
        self.event(Event::Line { conn, line });
    }

    pub fn too_long(&mut self, conn: ConnId) {
        self.event(Event::LineTooLong { conn });
    }

    pub fn disconnect(&mut self, conn: ConnId) {
        self.event(Event::Disconnected { conn });
    }

    pub fn shutdown(&mut self) {
        self.event(Event::Shutdown);
    }

    /// Moves the clock forward `ms`, firing each due timer at its own deadline, in order.
    pub fn advance(&mut self, ms: u64) {
        let target = self.now.plus_millis(ms);
        while let Some(at) = self.timers.next_deadline().filter(|at| *at <= target) {
            self.now = self.now.max(at);
            while let Some(timer) = self.timers.pop_due(self.now) {
                self.event(Event::TimerFired { timer });
            }
        }
        self.now = target;
    }

    pub fn advance_secs(&mut self, secs: u64) {
        self.advance(secs * 1000);
    }

    /// Moves the clock without firing timers (a stalled runtime); the next `advance` catches up.
    pub fn jump(&mut self, ms: u64) {
        self.now = self.now.plus_millis(ms);
    }

    /// The earliest armed deadline.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.timers.next_deadline()
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

    /// Records persisted so far, oldest first.
    pub fn records(&self) -> &[Record] {
        &self.records
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
