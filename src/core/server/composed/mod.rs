//! The server side as one sans-IO value: the core (or a cluster node around its copy of the core),
//! the [`Outbox`], the [`Pacer`] and the [`OperatorLog`], composed the way str0m composes its
//! sub-agents in `Rtc`: one input enum, one output enum, one deadline.
//!
//! Every driver runs this same value: the smol shell, the test harness and the simulators. So what
//! the simulator checks (replies that wait for their commit, the order of every connection's lines,
//! a crash between a record and its commit, a node's appends and refusals) is what the server runs,
//! not a copy of its composition; and every decision (which lines are refusals for the operator's
//! log, why a session ended, what the metrics count, when held notices are due, when to give memory
//! back) is made here, where tests reach it. The driver moves bytes, timers, commits and answers.
//!
//! It also holds the IRC connections' fronts ([`crate::irc`]): a connection announced with
//! [`Input::IrcConnected`] has its lines read by its front, which answers what IRC alone needs and
//! feeds the engine natter lines, and the engine's lines for it go through the front, whose IRC text
//! goes to the outbox as [`Effect::SendRaw`], in order with everything else. Neither the engine nor
//! the driver knows a connection speaks IRC.
//!
//! # The contract
//!
//! A value with four kinds of method, as quinn-proto's connection has: **input**
//! ([`Server::handle_input`]), **output** ([`Server::poll_output`], drained after each input),
//! **time** ([`Server::poll_timeout`]: when to send [`Input::Timeout`] and end a turn), and
//! **getters** and a few synchronous **commands** for what the shell asks while it writes (the
//! pacer's answers, which depend on its queues: [`Server::pace`], [`Server::coalesce`],
//! [`Server::wrote`]). Time is passed in with every input and never read inside.
//!
//! ```text
//! loop {
//!     server.handle_input(Input::Timeout, now);                 // lazy records, log minutes, held notices
//!     for input in batch { server.handle_input(input, now) }    // Event, Cluster, Committed, Refused
//!     server.handle_input(Input::EndTurn, now);                 // the core's deadlines; the batch closes
//!     while let Some(out) = server.poll_output() { carry_out(out) }
//!     sleep until server.poll_timeout() or the next input
//! }
//! ```
//!
//! Outputs come out in the order they were decided; a driver carries each out before the next (a
//! harness may feed inputs while it does: the queue is first in, first out). Lines, closes and the
//! operator's answers come only as [`Output::Released`] batches, in order, once the commit they
//! wait for (if any) is reported durable.

mod counts;
mod engine;
mod input;
mod output;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

pub use self::counts::Counts;
use self::engine::{Engine, Made};
pub use self::input::{Input, News};
pub use self::output::{Ended, Output};
use super::cluster::node::{Lost, Node, Snapshot};
use super::event::{ConnId, Effect, Event};
use super::oplog::{LogLine, OperatorLog, OperatorLogConfig, OutputNotes, Refusal};
use super::outbox::{Outbox, OutboxConfig};
use super::pacing::{Lane, Pacer, PacingConfig, Queued, Tidy, Write};
use super::record::Record;
use super::state::ServerState;
use crate::irc::{IrcFront, Relaying, Step};
use crate::protocol::{ByeReason, ServerMsg};
use crate::time::Timestamp;

/// The numbers of the pieces around the core.
#[derive(Clone, Debug, Default)]
pub struct Parts {
    /// When records are committed and replies may leave.
    pub outbox: OutboxConfig,
    /// When to write.
    pub pacing: PacingConfig,
    /// How the operator's log sums up refusals.
    pub oplog: OperatorLogConfig,
}

/// The server side, composed. See the [module documentation](self).
pub struct Server {
    engine: Engine,
    outbox: Outbox,
    pacer: Pacer,
    oplog: OperatorLog,
    /// A cluster node's connections' addresses, for the operator's log: its core may hear of a
    /// connection only once the shared log has it. A server alone asks its core
    /// ([`ServerState::peer_of`]) instead of keeping every connection's address a second time (40
    /// bytes and more a connection, idle ones included).
    peers: FxHashMap<ConnId, SocketAddr>,
    /// The connection whose `Connected` is being handled, and its address: a connection the core
    /// turns away at once is never in its table.
    connecting: Option<(ConnId, SocketAddr)>,
    /// What the engine made of the input being handled (reused).
    made: Made,
    /// The connection whose lines' effects are in `made`, not yet handed over: more of its lines
    /// follow ([`Input::LineBeforeMore`]).
    holding_for: Option<ConnId>,
    /// When each batch with lines still in the outbox was handled, oldest first.
    batch_times: VecDeque<Timestamp>,
    /// The batch being handled has lines, closes or answers.
    batch_sends: bool,
    out: VecDeque<Output>,
    counts: Counts,
    /// Keep a copy of what the engine made of each input ([`Self::last_made`]), for the harness's
    /// replica checks and traces.
    keep_made: bool,
    last_made: Vec<Effect>,
    closed: Vec<ConnId>,
    /// The IRC connections' fronts: which connections speak IRC, and their translations.
    irc: IrcFront,
    /// What the fronts asked of the engine and not yet done, in order (see [`FrontJob`]).
    front_jobs: VecDeque<FrontJob>,
    /// Feeding the fronts' jobs now (a job's own output must not start another round).
    pumping: bool,
    /// Connections a front closed whose end the engine has not heard yet: nothing more is sent them.
    front_closed: Vec<ConnId>,
    /// A front's steps (reused).
    steps: Vec<Step>,
    /// For each IRC connection whose drain is watched: the newest stored message released before
    /// the watch was asked (acknowledged for the client once the connection has drained), and the
    /// newest released since (watched next).
    stored_out: FxHashMap<ConnId, (u64, Option<u64>)>,
}

/// Whether `effect`, made of a line read together with more, may wait to be handed over with what
/// the lines after it make ([`Input::LineBeforeMore`]): a line the operator's log does not look at.
/// What the log does look at (a refusal, a goodbye) is told with the client's address, and a later
/// line may end the connection and its address with it; records, closes and password checks go at
/// once for the same reason and because they act on their own.
fn may_wait(effect: &Effect) -> bool {
    match effect {
        Effect::Send { msg, .. } => !matches!(msg, ServerMsg::Bye(_)) && Refusal::of(msg).is_none(),
        Effect::SendMany { .. } => true,
        _ => false,
    }
}

/// What an IRC front asked the engine to hear, after the output being handed over.
#[derive(Debug)]
enum FrontJob {
    /// A natter line, as if the connection's client had typed it.
    Feed(ConnId, Vec<u8>),
    /// A natter line carrying an IRC message, which the fronts follow while the engine handles it.
    Relay(ConnId, Vec<u8>, Relaying),
    /// The connection is gone (the front closed it).
    Gone(ConnId),
}

impl Server {
    /// A server alone: `core` decides, and its records are committed by the driver.
    pub fn alone(core: ServerState, parts: Parts) -> Self {
        Self::over(Engine::Alone(core), parts)
    }

    /// A node of a cluster: `node` decides; its records go to the shared log, not to a commit.
    pub fn node(node: Node, parts: Parts) -> Self {
        Self::over(Engine::node(node), parts)
    }

    fn over(engine: Engine, parts: Parts) -> Self {
        Server {
            engine,
            outbox: Outbox::new(parts.outbox),
            pacer: Pacer::new(parts.pacing),
            oplog: OperatorLog::new(parts.oplog),
            peers: FxHashMap::default(),
            connecting: None,
            made: Made::default(),
            batch_times: VecDeque::new(),
            batch_sends: false,
            out: VecDeque::new(),
            counts: Counts::default(),
            keep_made: false,
            last_made: Vec::new(),
            closed: Vec::new(),
            irc: IrcFront::default(),
            front_jobs: VecDeque::new(),
            pumping: false,
            holding_for: None,
            front_closed: Vec::new(),
            steps: Vec::new(),
            stored_out: FxHashMap::default(),
        }
    }

    /// The same, with the IRC listener's settings (its name, its message of the day) set to
    /// `settings` (before any input).
    pub fn with_irc(mut self, settings: crate::irc::IrcSettings) -> Self {
        self.set_irc(settings);
        self
    }

    /// The IRC listener's settings set to `settings` (before any IRC connection).
    pub fn set_irc(&mut self, settings: crate::irc::IrcSettings) {
        self.irc = IrcFront::new(settings);
    }

    /// The same, with the outbox's rule set to `cfg` (before any input).
    pub fn with_outbox(mut self, cfg: OutboxConfig) -> Self {
        self.outbox = Outbox::new(cfg);
        self
    }

    /// The core of a server alone, taken back.
    pub fn into_core(self) -> Option<ServerState> {
        match self.engine {
            Engine::Alone(core) => Some(core),
            Engine::Node(_) => None,
        }
    }

    /// Keeps a copy of what the engine made of each input, before the outbox
    /// ([`Self::last_made`]).
    pub fn keep_made(&mut self) {
        self.keep_made = true;
    }

    /// What the engine made of the last input, in order (kept only after [`Self::keep_made`]).
    pub fn last_made(&self) -> &[Effect] {
        &self.last_made
    }

    /// One input at `now`.
    pub fn handle_input(&mut self, input: Input<'_>, now: Timestamp) {
        if self.keep_made {
            self.last_made.clear();
        }
        if let Some(held) = self.holding_for.take()
            && !input.is_line_of(held)
        {
            self.hand_over(Some(held), now);
        }
        match input {
            Input::Event(event) => self.event(event, now),
            Input::LineBeforeMore { conn, line } => {
                let event = Event::Line { conn, line };
                let as_they_are = !self.keep_made && self.carries_lines_as_they_are();
                match &mut self.engine {
                    // (A node's engine also writes to the output itself, and an IRC front or the
                    // harness's copy of each input's effects wants them per line: those hand over
                    // every line.)
                    Engine::Alone(core) if as_they_are => {
                        let from = self.made.effects.len();
                        core.handle(event, now, &mut self.made.effects);
                        if self.made.effects[from..].iter().all(may_wait) {
                            self.holding_for = Some(conn);
                        } else {
                            self.hand_over(Some(conn), now);
                            self.pump_front(now);
                        }
                    }
                    _ => self.event(event, now),
                }
            }
            Input::IrcConnected { conn, peer } => {
                self.irc.open(conn);
                self.event(Event::Connected { conn, peer }, now);
            }
            Input::Cluster(news) => {
                let (engine, made, out) = (&mut self.engine, &mut self.made, &mut self.out);
                engine.news(news, now, made, out);
                self.hand_over(None, now);
            }
            Input::Committed(seq) => {
                self.outbox.committed(seq);
                self.release();
            }
            Input::Refused { address, what } => {
                if let Some(line) = self.oplog.note(address, what, None, None, now) {
                    self.out.push_back(Output::OperatorLine(line));
                }
            }
            Input::EndBatch => self.end_batch(now),
            Input::EndTurn => {
                let (engine, made, out) = (&mut self.engine, &mut self.made, &mut self.out);
                engine.end_turn(now, made, out);
                self.hand_over(None, now);
                self.end_batch(now);
            }
            Input::Timeout => {
                self.outbox.handle_timeout(now);
                self.push_commits();
                let mut lines = Vec::new();
                self.oplog.handle_timeout(now, &mut lines);
                self.out.extend(lines.into_iter().map(Output::OperatorLine));
                self.pacer.handle_timeout(now);
                for lane in Lane::ALL {
                    if self.pacer.take_held_due(lane, now) {
                        self.out.push_back(Output::WriteHeld(lane));
                    }
                }
            }
            Input::FlushLazy => {
                self.outbox.flush_lazy();
                self.push_commits();
            }
            Input::Shutdown { store_ok } => self.shutdown(store_ok, now),
            Input::Idle { written } => {
                if self.pacer.tidy(now, written) == Tidy::Now {
                    self.outbox.shrink();
                    match &mut self.engine {
                        Engine::Alone(core) => core.shrink(),
                        Engine::Node(r) => r.node.shrink(),
                    }
                    self.out.push_back(Output::Tidy);
                }
            }
        }
    }

    /// A released batch ([`Output::Released`]) carried out and emptied, given back: the next batch
    /// starts with its room. Optional; a driver that drops its batches only allocates more.
    pub fn recycle(&mut self, effects: Vec<Effect>) {
        self.outbox.recycle(effects);
    }

    /// The text of a line the driver has written (a `MSG` line's, taken out of it), given back: the
    /// core (or a cluster node's copy of it) copies a later line's text into it. Optional; a driver
    /// that drops them only allocates more.
    pub fn recycle_text(&mut self, text: String) {
        match &mut self.engine {
            Engine::Alone(core) => core.recycle_text(text),
            Engine::Node(r) => r.node.recycle_text(text),
        }
    }

    /// The next thing for the driver to carry out.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`Input::Timeout`] and [`Input::EndTurn`] are next due: the earliest deadline of the
    /// core (or node), the outbox's lazy records, the pacer and the operator log.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        [
            self.engine.poll_timeout(),
            self.outbox.poll_timeout(),
            self.pacer.poll_timeout(),
            self.oplog.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// An event of this server's, to the engine, and what it made handed over. A line of an IRC
    /// connection goes through its front first, which may answer it itself, or feed the engine
    /// natter lines for it.
    fn event(&mut self, event: Event<'_>, now: Timestamp) {
        if !self.irc.is_empty()
            && let Some(conn) = event.conn()
            && self.irc.speaks_irc(conn)
        {
            match event {
                Event::Line { conn, line } => {
                    let mut steps = std::mem::take(&mut self.steps);
                    self.irc.from_client(conn, line, now, &mut steps);
                    self.take_steps(conn, &mut steps);
                    self.pump_front(now);
                    // All the line asked for is answered: a labeled response is said.
                    self.irc.end_command(conn, &mut steps);
                    self.take_steps(conn, &mut steps);
                    self.steps = steps;
                    return;
                }
                Event::Drained { conn } => {
                    if let Some((id, next)) = self.stored_out.remove(&conn) {
                        let ack = format!("ack {id}").into_bytes();
                        self.front_jobs.push_back(FrontJob::Feed(conn, ack));
                        if let Some(next) = next {
                            self.stored_out.insert(conn, (next, None));
                            self.out.push_back(Output::WatchDrain { conn });
                        }
                    }
                }
                Event::Disconnected { conn } => {
                    self.irc.forget(conn);
                    self.stored_out.remove(&conn);
                }
                _ => {}
            }
        }
        self.feed_engine(event, now);
        self.pump_front(now);
    }

    /// What a front asked for, carried out in order: its lines to the outbox, its natter lines and
    /// closes to the jobs fed to the engine once the output being handed over is.
    fn take_steps(&mut self, conn: ConnId, steps: &mut Vec<Step>) {
        for step in steps.drain(..) {
            match step {
                Step::Say(bytes) => self.carry(Effect::SendRaw {
                    to: conn,
                    bytes,
                    delivers: None,
                }),
                Step::SayStored { bytes, id } => self.carry(Effect::SendRaw {
                    to: conn,
                    bytes,
                    delivers: Some(id),
                }),
                Step::Feed(line) => self.front_jobs.push_back(FrontJob::Feed(conn, line)),
                Step::Relay(line, relaying) => self
                    .front_jobs
                    .push_back(FrontJob::Relay(conn, line, relaying)),
                Step::Close => {
                    self.irc.forget(conn);
                    self.stored_out.remove(&conn);
                    self.front_closed.push(conn);
                    self.carry(Effect::Close { conn });
                    self.front_jobs.push_back(FrontJob::Gone(conn));
                }
            }
        }
    }

    /// Feeds the engine what the fronts asked for, until they ask nothing more.
    fn pump_front(&mut self, now: Timestamp) {
        if self.pumping {
            return;
        }
        self.pumping = true;
        while let Some(job) = self.front_jobs.pop_front() {
            match job {
                // What a front asked for a connection it has closed since is moot.
                FrontJob::Feed(conn, _) | FrontJob::Relay(conn, ..)
                    if self.front_closed.contains(&conn) => {}
                FrontJob::Feed(conn, line) => {
                    self.feed_engine(Event::Line { conn, line: &line }, now)
                }
                FrontJob::Relay(conn, line, relaying) => {
                    self.irc.begin_relay(conn, relaying, now);
                    self.feed_engine(Event::Line { conn, line: &line }, now);
                    let mut steps = std::mem::take(&mut self.steps);
                    self.irc.end_relay(&mut steps);
                    self.take_steps(conn, &mut steps);
                    self.steps = steps;
                }
                FrontJob::Gone(conn) => {
                    self.feed_engine(Event::Disconnected { conn }, now);
                    self.front_closed.retain(|c| *c != conn);
                }
            }
        }
        self.pumping = false;
    }

    /// An event to the engine, and what it made handed over.
    fn feed_engine(&mut self, event: Event<'_>, now: Timestamp) {
        let conn = event.conn();
        let node = matches!(self.engine, Engine::Node(_));
        if let Event::Connected { conn, peer } = event {
            self.connecting = Some((conn, peer));
            if node {
                self.peers.insert(conn, peer);
            }
        }
        self.engine
            .handle(event, now, &mut self.made, &mut self.out);
        self.hand_over(conn, now);
        self.connecting = None;
        if node && let Event::Disconnected { conn } = event {
            self.peers.remove(&conn);
        }
    }

    /// The address `conn` connected from, while the operator's log may still name it.
    fn peer_of(&self, conn: ConnId) -> Option<SocketAddr> {
        if let Some((connecting, peer)) = self.connecting
            && connecting == conn
        {
            return Some(peer);
        }
        match &self.engine {
            Engine::Alone(core) => core.peer_of(conn),
            Engine::Node(_) => self.peers.get(&conn).copied(),
        }
    }

    /// Hands what the engine made (for an event about `conn`) to the outbox, and tells the
    /// operator's log, the metrics and the driver what concerns them.
    ///
    /// Refusals sent to this server's connections (goodbyes and errors that turn a client away) go
    /// to the operator log, with the account when the core names it: a session ended for flooding
    /// is followed, in the same output, by the record of its logout (a node's records come after its
    /// effects for that reason).
    fn hand_over(&mut self, conn: Option<ConnId>, now: Timestamp) {
        let mut effects = std::mem::take(&mut self.made.effects);
        let mut records = std::mem::take(&mut self.made.records);
        if self.keep_made {
            self.last_made.extend(effects.iter().cloned());
        }
        let mut notes = OutputNotes::default();
        let mut lines = Vec::new();
        let mut clock = || now;
        // The goodbye last said, for the logout that follows it (none: the connection was lost).
        let mut bye = None;
        if self.carries_lines_as_they_are() && effects.iter().all(Effect::is_line) {
            // The common case (a command answered, a message passed on): lines only, for natter
            // clients only, each noted where it is and all of them moved to the batch at once, not
            // moved one by one through `carry` (an effect is large, and this runs for every input).
            for effect in &effects {
                self.note_line(effect, &mut notes, &mut clock, &mut lines, &mut bye);
            }
            if !effects.is_empty() {
                self.batch_sends = true;
                self.outbox.append_sends(&mut effects);
            }
        }
        // (A drain is begun only when there is something to drain: ending even an empty one costs
        // a few dozen instructions, and this runs for every input.)
        if !effects.is_empty() {
            for effect in effects.drain(..) {
                match &effect {
                    Effect::Persist(record) => {
                        if tells_operator(record) {
                            // Looked up only for a record the operator's log tells of: this runs
                            // for every input.
                            let from = conn.and_then(|c| self.peer_of(c));
                            self.out.push_back(told(record.clone(), from, &mut bye));
                        }
                        self.counts.record(record);
                        self.oplog
                            .note_record(&mut notes, record, &mut clock, &mut lines);
                    }
                    Effect::Close { conn } => self.closed.push(*conn),
                    line => self.note_line(line, &mut notes, &mut clock, &mut lines, &mut bye),
                }
                self.carry(effect);
            }
        }
        if !records.is_empty() {
            for (record, from) in records.drain(..) {
                self.counts.record(&record);
                self.oplog
                    .note_record(&mut notes, &record, &mut clock, &mut lines);
                if tells_operator(&record) {
                    self.out.push_back(told(record, from, &mut bye));
                }
            }
        }
        self.made.effects = effects;
        self.made.records = records;
        self.oplog.end_output(notes, &mut clock, &mut lines);
        // (Most outputs have no line for the operator: extending by nothing is not free.)
        if !lines.is_empty() {
            self.out.extend(lines.into_iter().map(Output::OperatorLine));
        }
        if !self.closed.is_empty() {
            for conn in self.closed.drain(..) {
                self.peers.remove(&conn);
            }
        }
    }

    /// What a line handed over tells the metrics and the operator's log (and the goodbye it says,
    /// for the logout that follows). Anything but a line tells nothing here.
    fn note_line(
        &mut self,
        effect: &Effect,
        notes: &mut OutputNotes,
        clock: &mut impl FnMut() -> Timestamp,
        lines: &mut Vec<LogLine>,
        bye: &mut Option<ByeReason>,
    ) {
        match effect {
            Effect::Send { to, msg } => {
                if let ServerMsg::Bye(reason) = msg {
                    *bye = Some(*reason);
                }
                self.counts.sent(msg, 1);
                // Only a refusal concerns the operator's log (most lines are not one).
                if Refusal::of(msg).is_some()
                    && let Some(peer) = self.peer_of(*to)
                {
                    self.oplog.note_sent(notes, peer.ip(), msg, clock, lines);
                }
            }
            Effect::SendMany { to, msg } => self.counts.sent(msg, to.len()),
            _ => {}
        }
    }

    /// Whether a line goes to the batch as it is: no connection speaks IRC, none was closed by its
    /// front, no IRC message is being relayed (each of which would have `carry` look at it).
    fn carries_lines_as_they_are(&self) -> bool {
        self.irc.is_empty() && self.front_closed.is_empty() && !self.irc.relaying()
    }

    /// One effect: what acts at once goes out now, the rest to the outbox's batch. A line for an
    /// IRC connection goes through its front, and what it says instead goes to the batch.
    fn carry(&mut self, mut effect: Effect) {
        // The common case first: no connection speaks IRC, so a line or a close goes to the batch
        // and a record to the commit as they are (each step below would move the effect again,
        // and match it again; a login and a logout each hand over a record among their lines).
        if self.carries_lines_as_they_are() {
            match effect {
                Effect::Persist(record) => return self.outbox.push_record(record),
                Effect::Send { .. } | Effect::SendMany { .. } | Effect::Close { .. } => {
                    self.batch_sends = true;
                    return self.outbox.push_send(effect);
                }
                other => effect = other,
            }
        }
        if !self.front_closed.is_empty() {
            // Connections whose front closed them, which the engine has not heard of yet.
            match &mut effect {
                Effect::Send { to, .. } if self.front_closed.contains(to) => return,
                Effect::SendMany { to, .. } => {
                    to.retain(|c| !self.front_closed.contains(c));
                    if to.is_empty() {
                        return;
                    }
                }
                _ => {}
            }
        }
        if self.irc.relaying()
            && let Effect::Send { msg, .. } | Effect::SendMany { msg, .. } = &effect
        {
            // The IRC message being handled may reach natter clients only: its id, for the echo.
            self.irc.observe(msg);
        }
        let effect = match effect {
            Effect::Send { to, msg } if self.speaks_irc(to) => {
                let mut steps = std::mem::take(&mut self.steps);
                let account =
                    crate::irc::sender_of(&msg).is_some_and(|n| self.engine.core().is_account(n));
                self.irc.from_core(to, &msg, account, &mut steps);
                self.take_steps(to, &mut steps);
                self.steps = steps;
                return;
            }
            Effect::SendMany { mut to, msg }
                if !self.irc.is_empty() && to.iter().any(|c| self.speaks_irc(*c)) =>
            {
                let irc: Vec<ConnId> = to.iter().copied().filter(|c| self.speaks_irc(*c)).collect();
                to.retain(|c| !self.speaks_irc(*c));
                for conn in irc {
                    self.carry(Effect::Send {
                        to: conn,
                        msg: msg.clone(),
                    });
                }
                if to.is_empty() {
                    return;
                }
                Effect::SendMany { to, msg }
            }
            Effect::Close { conn } if self.speaks_irc(conn) => {
                // A labeled response gathered so far goes out before the close.
                let mut steps = std::mem::take(&mut self.steps);
                self.irc.end_command(conn, &mut steps);
                self.take_steps(conn, &mut steps);
                self.steps = steps;
                self.irc.forget(conn);
                self.stored_out.remove(&conn);
                Effect::Close { conn }
            }
            other => other,
        };
        match effect {
            Effect::CheckPassword { .. } | Effect::HashPassword { .. } => {
                self.out.push_back(Output::PasswordJob(effect))
            }
            Effect::PauseReading { conn } => self.out.push_back(Output::PauseReading { conn }),
            Effect::ResumeReading { conn } => self.out.push_back(Output::ResumeReading { conn }),
            Effect::WatchDrain { conn } => self.out.push_back(Output::WatchDrain { conn }),
            Effect::LoginFailed { conn, user, reason } => {
                self.counts.logins_failed += 1;
                let address = self.peer_of(conn).map(|p| p.ip());
                self.out.push_back(Output::LoginFailed {
                    user,
                    address,
                    reason,
                });
            }
            Effect::OperatorDid { conn, user, act } => {
                let address = self.peer_of(conn).map(|p| p.ip());
                self.out
                    .push_back(Output::OperatorDid { user, address, act });
            }
            Effect::Persist(_) => self.outbox.push(effect),
            Effect::Send { .. }
            | Effect::SendMany { .. }
            | Effect::SendRaw { .. }
            | Effect::Close { .. }
            | Effect::AdminAnswer { .. } => {
                self.batch_sends = true;
                self.outbox.push(effect);
            }
        }
    }

    /// Closes the batch being handled: its commit is decided, its lines released or held.
    fn end_batch(&mut self, now: Timestamp) {
        if std::mem::take(&mut self.batch_sends) {
            self.batch_times.push_back(now);
        }
        self.outbox.end_batch(now);
        self.push_commits();
        self.release();
        if !self.counts.is_empty() {
            self.out
                .push_back(Output::Counts(std::mem::take(&mut self.counts)));
        }
    }

    fn push_commits(&mut self) {
        while let Some(commit) = self.outbox.poll_commit() {
            self.out.push_back(Output::Commit(commit));
        }
    }

    fn release(&mut self) {
        while let Some(effects) = self.outbox.poll_ready() {
            let made_at = self.batch_times.pop_front().unwrap_or(Timestamp::ZERO);
            // Stored messages handed to an IRC client, which cannot acknowledge them: the newest
            // one is acknowledged for it once these lines are written.
            let mut watch = Vec::new();
            let irc = !self.irc.is_empty();
            for e in effects.iter().filter(|_| irc) {
                if let Effect::SendRaw {
                    to,
                    delivers: Some(id),
                    ..
                } = e
                {
                    match self.stored_out.get_mut(to) {
                        // A watch is under way: these lines are written after it was asked.
                        Some((_, next)) => *next = Some(*id),
                        None => {
                            self.stored_out.insert(*to, (*id, None));
                            watch.push(*to);
                        }
                    }
                }
            }
            self.out.push_back(Output::Released { made_at, effects });
            self.out
                .extend(watch.into_iter().map(|conn| Output::WatchDrain { conn }));
        }
    }

    /// Whether `conn` speaks IRC (and its front is still there).
    fn speaks_irc(&self, conn: ConnId) -> bool {
        self.irc.speaks_irc(conn)
    }

    /// See [`Input::Shutdown`].
    fn shutdown(&mut self, store_ok: bool, now: Timestamp) {
        self.outbox.abandon_pending();
        self.batch_times.clear();
        self.event(Event::Shutdown, now);
        self.engine.append(&mut self.out);
        self.batch_sends = false;
        let (records, sends) = self.outbox.take_batch();
        if store_ok && !records.is_empty() {
            self.outbox.submit_now(records);
            self.push_commits();
        }
        if !sends.is_empty() {
            self.out.push_back(Output::Released {
                made_at: now,
                effects: sends,
            });
        }
        if !self.counts.is_empty() {
            self.out
                .push_back(Output::Counts(std::mem::take(&mut self.counts)));
        }
    }

    /// A line was queued on a connection in state `conn`, at `now`: write it with the batch, or
    /// hold it (the pacer's answer; the shell knows its queues, the rule is here). `waits` is
    /// [`Lane::waiting`] of the line, looked at once for all its recipients.
    #[inline]
    pub fn pace_in(&mut self, waits: Option<Lane>, conn: Queued, now: Timestamp) -> Write {
        self.pacer.queued_in(waits, conn, now)
    }

    /// After a batch of `inputs` that left `due_conns` connections to write: hold the writes for
    /// another turn (true), or write now.
    pub fn coalesce(&mut self, inputs: usize, due_conns: usize) -> bool {
        self.pacer.coalesce(inputs, due_conns)
    }

    /// The connections due were written.
    pub fn wrote(&mut self) {
        self.pacer.wrote();
    }

    /// The snapshot [`Output::SnapshotDue`] asked for, of the state now.
    pub fn take_snapshot(&mut self) -> Option<Snapshot> {
        match &mut self.engine {
            Engine::Node(r) => r.node.poll_snapshot(),
            Engine::Alone(_) => None,
        }
    }

    /// The core (a cluster node's copy), for the operator's questions, the metrics and tests.
    pub fn core(&self) -> &ServerState {
        self.engine.core()
    }

    /// The core itself, for tests that reach past the composition (a server alone only).
    pub fn core_mut(&mut self) -> Option<&mut ServerState> {
        match &mut self.engine {
            Engine::Alone(core) => Some(core),
            Engine::Node(_) => None,
        }
    }

    /// The cluster node, on a cluster.
    pub fn cluster_node(&self) -> Option<&Node> {
        match &self.engine {
            Engine::Node(r) => Some(&r.node),
            Engine::Alone(_) => None,
        }
    }

    /// This server's node number (0: a server alone), which its operator's requests carry in their
    /// high bits.
    pub fn node_id(&self) -> u64 {
        self.cluster_node().map_or(0, Node::id)
    }

    /// Why this server cannot go on (a cluster node that cannot follow the log), once that is so.
    pub fn lost(&self) -> Option<&Lost> {
        self.cluster_node().and_then(Node::lost)
    }

    /// Whether it serves now (a cluster node fenced or behind does not): `/health`.
    pub fn serving(&self) -> bool {
        self.cluster_node()
            .is_none_or(|n| !n.fenced() && !n.behind())
    }

    /// How far behind this one each live node of a cluster last said it was, in entries.
    pub fn log_lag(&self) -> Vec<(u64, u64)> {
        let Engine::Node(r) = &self.engine else {
            return Vec::new();
        };
        let here = r.node.position();
        r.positions
            .iter()
            .map(|&(node, at)| (node, here.saturating_sub(at)))
            .collect()
    }

    /// Whether enough batches wait for the disk that the driver must take no input until one is
    /// durable.
    pub fn must_wait(&self) -> bool {
        self.outbox.must_wait()
    }

    /// Whether the driver is to leave its connections unread at `now` (sockets, accepts and their
    /// readiness; everything else goes on): a cluster node while its own entries are on their way
    /// to the log and back, for a bounded time that [`Self::poll_timeout`] includes
    /// ([`Node::reading_held`]). A server alone never holds its reading this way.
    pub fn reading_held(&self, now: Timestamp) -> bool {
        self.cluster_node().is_some_and(|n| n.reading_held(now))
    }

    /// Whether commits were handed over that are not reported durable yet.
    pub fn commits_in_flight(&self) -> bool {
        self.outbox.commits_in_flight()
    }

    /// Records made since the last commit was decided, in order: what a crash right now would lose
    /// even if every commit in flight completed.
    pub fn uncommitted(&self) -> impl Iterator<Item = &Record> {
        self.outbox.uncommitted()
    }
}

/// `record` for the operator's log; a logout says why, from the goodbye said just before it (`bye`,
/// taken), else the connection was lost.
fn told(record: Record, from: Option<SocketAddr>, bye: &mut Option<ByeReason>) -> Output {
    let ended = matches!(record, Record::LoggedOut { .. }).then(|| Ended::after(bye.take()));
    Output::Record {
        record,
        from,
        ended,
    }
}

/// Whether the operator's log tells of `record`: who came and went, never a message.
fn tells_operator(record: &Record) -> bool {
    matches!(
        record,
        Record::LoggedIn { .. }
            | Record::LoggedOut { .. }
            | Record::AccountRemoved { .. }
            | Record::AccountRenamed { .. }
            | Record::PasswordSet { .. }
            | Record::Unlocked { .. }
            | Record::Banned { .. }
            | Record::Unbanned { .. }
            | Record::LockedOut { .. }
            | Record::AccountCreated { .. }
    )
}
