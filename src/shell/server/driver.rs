//! The driver: the one place the server side is driven from.
//!
//! Each turn it takes the whole inbox as one batch, feeds it to the composed server side
//! ([`Server`]: the core or a cluster node, the outbox, the pacer and the operator log, one sans-IO
//! value), ends the turn, and carries out what comes out of its one output, in order ([`Output`]):
//! commits to the commit thread, released lines rendered once (a broadcast once for all its
//! recipients) onto the connections' queues and each queue written with one `write`, password jobs to
//! their threads, readers paused or let go, the operator's log lines, and a cluster node's appends,
//! snapshots and trims to its tasks. It sleeps until the server's one deadline, a socket, or
//! anything else that needs it (`wait`).
//! The driver decides nothing: which lines wait for which commit, when held notices are due, what is
//! a refusal for the operator's log, what the metrics count, is the server's to say. Its writing side
//! is in `writing`.

use std::collections::VecDeque;
use std::io;
use std::rc::Rc;

use futures_lite::FutureExt;
use smol::LocalExecutor;

use super::cluster_node::Link;
use super::conn::drop_conn;
use super::conn_state::State;
use super::hasher::{Answer, Hasher};
use super::inbox::{Inbox, Input};
use super::operator::{log_failed_login, log_line, log_operator_act, log_record};
use super::readiness::Readiness;
use super::wait::{Waiting, Woke};
use super::{Shared, ShellOptions};
use crate::shell::clock::ShellClock;
use crate::shell::cluster::Batch;
use crate::shell::committer::Committer;
use crate::shell::turn_log::{HeldLines, Turn};
use natter_core::protocol::Renderer;
use natter_core::server::cluster::node::NODE_SHIFT;
use natter_core::server::composed::{self, Output, Server};
use natter_core::server::oplog::Refusal;
use natter_core::server::{AdminAnswer, ConnId, Event};
use natter_core::time::Timestamp;

pub(super) struct Driver {
    /// The server side: what decides, and when its output may leave.
    pub(super) server: Server,
    /// A cluster node's tasks (appending, reading, snapshots, the lease); none on a server alone.
    pub(super) link: Option<Link>,
    /// The client sockets: accepted, read and finished writing in each turn.
    pub(super) readiness: Readiness,
    pub(super) clock: ShellClock,
    /// Where it sleeps: its own `epoll_wait` (a server alone) or async-io's reactor (a node).
    pub(super) waiting: Waiting,
    pub(super) shared: Rc<Shared>,
    pub(super) ex: Rc<LocalExecutor<'static>>,
    pub(super) opts: ShellOptions,
    pub(super) committer: Committer,
    /// The batch being handled (swapped with the shared inbox each turn, so both keep their capacity).
    pub(super) batch: Inbox,
    /// Disconnects the driver found itself (overflowing queues, failed writes), fed in next batch.
    pub(super) followups: VecDeque<ConnId>,
    /// Connections with output queued and not yet written.
    pub(super) dirty: Vec<ConnId>,
    /// Per lane, the connections holding notices that may wait, written when the pacer says the
    /// lane is due.
    pub(super) held: [Vec<ConnId>; 2],
    pub(super) scratch: Vec<u8>,
    /// Writes every line onto the queues (keeping a turn's `MSG` time written once).
    pub(super) renderer: Renderer,
    /// Runs the password jobs.
    pub(super) hasher: Hasher,
    /// The operator's requests waiting for the core's answer, by number.
    pub(super) admin_replies: rustc_hash::FxHashMap<u64, smol::channel::Sender<AdminAnswer>>,
    /// The last request number given.
    pub(super) next_request: u64,
}

impl Driver {
    /// Serves until `stop` yields or closes; an error means a commit failed.
    ///
    /// How it sleeps is `waiting`'s (see `wait`): a server alone in its own `epoll_wait` (run it
    /// with a plain `block_on`, never inside an async runtime's, and it runs the other tasks
    /// between turns), a cluster node in async-io's reactor (run it inside `ex.run`).
    pub(super) async fn serve(&mut self, stop: &smol::channel::Receiver<()>) -> io::Result<()> {
        let reports = self.committer.reports();
        let ex = self.ex.clone();
        let _log = HeldLines::written_when_dropped();
        loop {
            let direct = self.waiting.direct_now();
            // This turn's log lines are held with those of the turns before, and leave together
            // once enough are held or the oldest is due (`turn_log`), or before a wait for the disk.
            let turn = Turn::begin();
            if direct && stopped(stop) {
                return Ok(());
            }
            while let Some(report) = self.committer.try_next() {
                self.on_committed(report?);
            }
            let now = self.clock.now();
            self.server.handle_input(composed::Input::Timeout, now);
            self.carry_out_output(now);
            if self.server.must_wait() {
                self.flush_dirty();
                turn.end_writing();
                // Enough batches wait for the disk: take no more input until the oldest is durable.
                // (The other tasks run in the executor meanwhile, not in the driver's sleep.)
                self.waiting.let_go();
                let committed = async { Woke::Committed(self.committer.next().await) };
                let stopping = async {
                    let _ = stop.recv().await;
                    Woke::Stop
                };
                let woke = if direct {
                    // The other tasks run meanwhile (a node's run inside the executor already).
                    ex.run(committed.or(stopping)).await
                } else {
                    committed.or(stopping).await
                };
                match woke {
                    Woke::Committed(report) => self.on_committed(report?),
                    _ => return Ok(()),
                }
                continue;
            }
            if let Some(m) = &self.opts.metrics {
                m.set_ready(self.server.serving());
            }
            // A node whose own entries are on their way to the log and back leaves its sockets
            // unread (the server's rule, and its deadline): their input gathers for one large
            // entry. (Only where the driver can sleep without the sockets: in async-io's reactor.)
            let held = !direct && self.server.reading_held(self.clock.now());
            let listener = if direct {
                // The other tasks first: what they push joins this turn's batch.
                while ex.try_tick() {}
                None
            } else {
                Some(self.shared.arm_wake())
            };
            // What the sockets have: accepted, read into the inbox, refused queues finished.
            let more_to_read = !held && self.readiness.turn(&self.shared, &self.ex);
            self.shared.take_inbox(&mut self.batch);
            let now = self.clock.now();
            let timers_due = self.server.poll_timeout().is_some_and(|at| at <= now);
            let flush_requested = self.take_flush_requests();
            if !self.batch.is_empty()
                || timers_due
                || !self.followups.is_empty()
                || flush_requested
                || more_to_read
            {
                let size = self.batch.inputs.len();
                self.run_batch(now);
                if let Some(why) = self.server.lost().map(ToString::to_string) {
                    tracing::error!(
                        "this node cannot follow the cluster any more: {why}; stopping"
                    );
                    return Err(io::Error::other(why));
                }
                let coalesce = self.server.coalesce(size, self.dirty.len());
                if !coalesce {
                    self.flush_dirty();
                }
                // (Lines kept are looked at again before the driver sleeps.)
                let _ = turn.end();
                if coalesce && !direct {
                    // Busy: let the next turn add what has arrived meanwhile before writing, so
                    // each connection gets more lines per `write` (the other tasks run first).
                    futures_lite::future::yield_now().await;
                }
                continue;
            }
            // Nothing more to do right now: write everything before sleeping.
            self.flush_dirty();
            let written = self.shared.written.get();
            self.server
                .handle_input(composed::Input::Idle { written }, now);
            self.carry_out_output(now);
            let log_due = turn.end();
            if !held && self.readiness.may_read_more(&self.shared) {
                // What the idle turn said let a connection be read (its input waits unread).
                continue;
            }
            let deadline = self
                .server
                .poll_timeout()
                .map(|at| self.clock.instant_at(at));
            // Asleep, the driver still wakes when the log's held lines are due.
            let deadline = deadline.into_iter().chain(log_due).min();
            let woke = self.waiting.sleep(
                &mut self.readiness,
                &ex,
                deadline,
                listener,
                &reports,
                stop,
                !held,
            );
            match woke.await {
                Woke::Stop => return Ok(()),
                Woke::Committed(report) => self.on_committed(report?),
                Woke::Look => {}
            }
        }
    }

    /// Marks the connections whose reads queued TLS records (the handshake's) for writing; whether
    /// there were any.
    pub(super) fn take_flush_requests(&mut self) -> bool {
        let requests = std::mem::take(&mut *self.shared.flush_requests.borrow_mut());
        if requests.is_empty() {
            return false;
        }
        let mut conns = self.shared.conns.borrow_mut();
        for conn in requests {
            if let Some(io) = conns.get_mut(&conn)
                && !io.state.contains(State::DIRTY)
            {
                io.state.insert(State::DIRTY);
                self.dirty.push(conn);
            }
        }
        true
    }

    /// Feeds the batch in and ends the turn, carrying out what comes out.
    fn run_batch(&mut self, now: Timestamp) {
        while let Some(conn) = self.followups.pop_front() {
            self.feed(Event::Disconnected { conn }, now);
        }
        let mut batch = std::mem::take(&mut self.batch);
        let mut inputs = batch.inputs.drain(..);
        while let Some(input) = inputs.next() {
            match input {
                Input::Open {
                    conn,
                    peer,
                    irc: false,
                } => self.feed(Event::Connected { conn, peer }, now),
                Input::Open {
                    conn,
                    peer,
                    irc: true,
                } => {
                    self.server
                        .handle_input(composed::Input::IrcConnected { conn, peer }, now);
                    self.carry_out_output(now);
                }
                Input::Line { conn, range } => {
                    let line = &batch.bytes[range];
                    // Lines read together are handed to the server together: what they make is
                    // handed over and carried out once, after the last.
                    if let Some(Input::Line { conn: next, .. }) = inputs.as_slice().first()
                        && *next == conn
                    {
                        self.server
                            .handle_input(composed::Input::LineBeforeMore { conn, line }, now);
                    } else {
                        self.feed(Event::Line { conn, line }, now);
                    }
                }
                Input::TooLong { conn } => self.feed(Event::LineTooLong { conn }, now),
                Input::Gone { conn } => {
                    tracing::debug!("{conn} gone");
                    drop_conn(&mut self.shared.conns.borrow_mut(), conn);
                    self.feed(Event::Disconnected { conn }, now);
                }
                Input::Drained { conn } => self.feed(Event::Drained { conn }, now),
                Input::Refused { peer, what } => self.note_refusal(peer.ip(), what, now),
                Input::Answer(Answer::Checked { conn, job, ok }) => {
                    self.feed(Event::PasswordChecked { conn, job, ok }, now)
                }
                Input::Answer(Answer::Hashed { conn, job, hash }) => self.feed(
                    Event::PasswordHashed {
                        conn,
                        job,
                        hash: &hash,
                    },
                    now,
                ),
                Input::Answer(Answer::Failed { conn, job }) => {
                    self.feed(Event::PasswordJobFailed { conn, job }, now)
                }
                Input::Cluster(news) => {
                    self.server
                        .handle_input(composed::Input::Cluster(news), now);
                    self.carry_out_output(now);
                }
                Input::Admin { action, who, reply } => {
                    tracing::info!("administration by {who}: {}", action.describe());
                    self.next_request += 1;
                    let request = (self.server.node_id() << NODE_SHIFT) | self.next_request;
                    self.admin_replies.insert(request, reply);
                    self.feed(
                        Event::Admin {
                            request,
                            action: &action,
                        },
                        now,
                    );
                }
                Input::Query { query, reply } => {
                    let _ = reply.try_send(query.answer(self.server.core(), now));
                }
                Input::Scrape(reply) => {
                    let _ = reply.try_send(self.core_stats());
                }
                Input::Backup { to, reply } => {
                    self.committer
                        .backup(crate::shell::committer::Backup { to, done: reply });
                }
            }
        }
        drop(inputs);
        batch.clear();
        self.batch = batch;
        self.server.handle_input(composed::Input::EndTurn, now);
        self.carry_out_output(now);
    }

    /// An event of this server's, to the server side, and what it says to do at once carried out.
    fn feed(&mut self, event: Event<'_>, now: Timestamp) {
        self.server.handle_input(composed::Input::Event(event), now);
        self.carry_out_output(now);
    }

    /// Carries out everything the server side said, in order: the one place its output is read.
    fn carry_out_output(&mut self, now: Timestamp) {
        while let Some(output) = self.server.poll_output() {
            match output {
                Output::Commit(commit) => self.committer.submit(commit.seq, commit.records),
                Output::Released { effects, .. } => self.carry_out(effects, now),
                Output::PasswordJob(job) => self.hasher.submit(job),
                Output::PauseReading { conn } => {
                    if let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn) {
                        io.state.insert(State::PAUSED);
                    }
                }
                // Input left unread meanwhile is read in the next turn.
                Output::ResumeReading { conn } => {
                    if let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn) {
                        io.state.remove(State::PAUSED);
                    }
                }
                Output::HoldReading { conn, held } => {
                    if let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn) {
                        io.state.set(State::GATED, held);
                    }
                }
                Output::WatchDrain { conn } => {
                    if let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn) {
                        io.state.insert(State::WATCH_DRAIN);
                    }
                }
                // Its goodbye and close follow in a released batch.
                Output::NodeRefused { .. } => {}
                Output::OperatorLine(line) => log_line(line),
                Output::LoginFailed {
                    user,
                    address,
                    reason,
                } => log_failed_login(user.as_deref(), address, reason),
                Output::OperatorDid { user, address, act } => {
                    log_operator_act(&user, address, &act)
                }
                Output::Record {
                    record,
                    from,
                    ended,
                } => log_record(&record, from, ended),
                Output::Counts(counts) => {
                    if let Some(m) = &self.opts.metrics {
                        m.count(&counts);
                    }
                }
                Output::WriteHeld(lane) => self.release_held(lane),
                Output::Tidy => self.tidy(),
                Output::Append { events, fences } => {
                    if let Some(link) = &self.link {
                        let _ = link.append.try_send(Batch { events, fences });
                    }
                }
                Output::SnapshotDue => {
                    // Timed: encoding holds the driver, and the operator reads how long.
                    let started = std::time::Instant::now();
                    if let Some(snapshot) = self.server.take_snapshot()
                        && let Some(link) = &self.link
                    {
                        link.store(snapshot, started.elapsed());
                    }
                }
                Output::FetchSnapshot => {
                    // One ask waiting is enough: the reader fetches the latest snapshot when it
                    // comes to it.
                    if let Some(link) = &self.link {
                        let _ = link.fetch_snapshot.try_send(());
                    }
                }
                Output::Trim { keep_from } => {
                    if let Some(link) = &self.link {
                        let _ = link.trims.try_send(keep_from);
                    }
                }
                Output::Lease {
                    applied, fences, ..
                } => {
                    if let Some(link) = &self.link {
                        link.lease(fences, applied);
                    }
                }
            }
        }
    }

    /// Every commit up to `seq` is durable: send what waited for it.
    fn on_committed(&mut self, seq: u64) {
        let now = self.clock.now();
        self.server
            .handle_input(composed::Input::Committed(seq), now);
        self.carry_out_output(now);
    }

    /// Tells every client, closes every connection, and waits (boundedly) for the goodbyes to flush.
    ///
    /// With a healthy store, the batches already handled are committed and sent first, then the session
    /// ends of the shutdown itself. After a failed commit, nothing that waited for a commit is sent; the
    /// goodbyes still are, as they claim nothing was stored.
    ///
    /// Returns a commit failure met on the way, so the server does not exit as if all went well.
    pub(super) async fn shutdown(&mut self, store_ok: bool) -> io::Result<()> {
        self.waiting.let_go();
        let mut failure = None;
        if store_ok {
            let now = self.clock.now();
            self.server.handle_input(composed::Input::FlushLazy, now);
            self.carry_out_output(now);
        }
        while store_ok && failure.is_none() && self.server.commits_in_flight() {
            match self.committer.next().await {
                Ok(seq) => self.on_committed(seq),
                Err(e) => {
                    tracing::error!(
                        "could not store state durably: {e}; stopping without sending unstored replies"
                    );
                    failure = Some(e);
                }
            }
        }
        let store_ok = store_ok && failure.is_none();
        if let Some(m) = &self.opts.metrics {
            m.set_ready(false);
        }
        let now = self.clock.now();
        // The goodbyes are queued (written by `close_all`), the session ends committed as one last
        // commit, and a node's last appends handed to its appender.
        self.server
            .handle_input(composed::Input::Shutdown { store_ok }, now);
        self.carry_out_output(now);
        if store_ok
            && self.server.commits_in_flight()
            && let Err(e) = self.committer.next().await
        {
            tracing::error!("the final commit (session ends) failed: {e}");
            failure = Some(e);
        }
        if let Some(link) = &self.link {
            link.settle(self.opts.shutdown_grace).await;
        }
        self.committer.stop().await;
        // Connections the core never heard of (accepted in the last instant) are closed too.
        self.close_all();
        failure.map_or(Ok(()), Err)
    }
}

impl Driver {
    /// What only the core knows, for the metrics.
    fn core_stats(&self) -> crate::shell::server::CoreStats {
        let core = self.server.core();
        let (messages, largest) = core.mailbox_totals();
        let online = core.online_count() as u64;
        crate::shell::server::CoreStats {
            users_online: online,
            connections_logging_in: (core.connection_count() as u64).saturating_sub(online),
            mailbox_messages: messages as u64,
            largest_mailbox: largest as u64,
            log_lag: self.server.log_lag(),
        }
    }
}

impl Driver {
    /// The operator's request `request` is answered.
    pub(super) fn answer_admin(&mut self, request: u64, answer: AdminAnswer) {
        match &answer {
            Ok(text) => tracing::info!("administration done: {text}"),
            Err(text) => tracing::warn!("administration refused: {text}"),
        }
        if let Some(reply) = self.admin_replies.remove(&request) {
            let _ = reply.try_send(answer);
        }
    }

    /// Tells the server side of a refusal the shell made itself, for the operator's log.
    pub(super) fn note_refusal(&mut self, ip: std::net::IpAddr, what: Refusal, now: Timestamp) {
        self.server
            .handle_input(composed::Input::Refused { address: ip, what }, now);
        self.carry_out_output(now);
    }
}

/// Whether the server was told to stop (or everything that could tell it is gone).
fn stopped(stop: &smol::channel::Receiver<()>) -> bool {
    !matches!(stop.try_recv(), Err(smol::channel::TryRecvError::Empty))
}
