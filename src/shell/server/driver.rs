//! The driver: the one place the core is driven from.
//!
//! Each turn it takes the whole inbox as one batch, feeds it to the core, lets the core act on its
//! deadlines that are due, and hands the core's output to the [`Outbox`], which decides what is committed when and which lines may leave; it
//! gives the commits to the commit thread and carries out the released lines: every line rendered once (a
//! broadcast once for all its recipients), appended to the connections' queues, and each queue written
//! with one `write`. When to write (held notices, coalescing under load) and when to give memory back is
//! the [`Pacer`]'s to say. The driver itself decides nothing: it moves bytes, timers and commits.
//!
//! It hands the inputs to an [`Engine`], chosen when the server starts: the core itself on a server
//! alone, or a cluster node (`node_engine`), which sends them to the shared log and feeds its core from
//! there; either way what comes out is carried out the same. Its writing side is in `writing`.

use std::collections::VecDeque;
use std::io;
use std::rc::Rc;

use futures_lite::FutureExt;
use smol::LocalExecutor;

use super::conn::drop_conn;
use super::core_engine::{Engine, conn_of, log_record};
use super::hasher::{Answer, Hasher};
use super::inbox::{Inbox, Input};
use super::operator::log_lines;
use super::{Shared, ShellOptions};
use crate::shell::clock::ShellClock;
use crate::shell::committer::Committer;
use natter_core::protocol::{ByeReason, ServerMsg};
use natter_core::server::cluster::node::NODE_SHIFT;
use natter_core::server::oplog::{OperatorLog, OutputNotes, Refusal};
use natter_core::server::outbox::Outbox;
use natter_core::server::pacing::Pacer;
use natter_core::server::{AdminAnswer, ConnId, Effect, Event, Record};
use natter_core::time::Timestamp;

pub(super) struct Driver<E> {
    /// What decides: the core, or a cluster node.
    pub(super) engine: E,
    pub(super) clock: ShellClock,
    /// What may be committed and sent when.
    pub(super) outbox: Outbox,
    /// When to write and when to give memory back.
    pub(super) pacer: Pacer,
    /// What the operator's log says of refusals, summed up per address.
    pub(super) oplog: OperatorLog,
    /// The one OS timer, kept across waits and moved only when the earliest deadline changes: each new
    /// registration makes the reactor wake up once for nothing.
    pub(super) alarm: smol::Timer,
    /// What `alarm` is set to (`None`: never, or it has fired).
    pub(super) alarm_at: Option<std::time::Instant>,
    pub(super) shared: Rc<Shared>,
    pub(super) ex: Rc<LocalExecutor<'static>>,
    pub(super) opts: ShellOptions,
    pub(super) committer: Committer,
    /// The batch being handled (swapped with the shared inbox each turn, so both keep their capacity).
    pub(super) batch: Inbox,
    /// The core's output for the event being handled.
    pub(super) effects: Vec<Effect>,
    /// Disconnects the driver found itself (overflowing queues, failed writes), fed in next batch.
    pub(super) followups: VecDeque<ConnId>,
    /// Connections with output queued and not yet written.
    pub(super) dirty: Vec<ConnId>,
    /// Connections holding notices that may wait, written when the pacer says they are due.
    pub(super) held: Vec<ConnId>,
    pub(super) scratch: Vec<u8>,
    /// Runs the password jobs.
    pub(super) hasher: Hasher,
    /// The operator's requests waiting for the core's answer, by number.
    pub(super) admin_replies: rustc_hash::FxHashMap<u64, smol::channel::Sender<AdminAnswer>>,
    /// The last request number given.
    pub(super) next_request: u64,
}

impl<E: Engine> Driver<E> {
    /// Serves until `stop` yields or closes; an error means a commit failed.
    pub(super) async fn serve(&mut self, stop: &smol::channel::Receiver<()>) -> io::Result<()> {
        enum Wake {
            Input,
            Timer,
            Stop,
            Committed(io::Result<u64>),
        }
        let reports = self.committer.reports();
        loop {
            while let Some(report) = self.committer.try_next() {
                self.on_committed(report?);
            }
            if self.pacer.take_held_due(self.clock.now()) {
                self.release_held();
            }
            if self.outbox.must_wait() {
                self.flush_dirty();
                // Enough batches wait for the disk: take no more input until the oldest is durable.
                let committed = async { Wake::Committed(self.committer.next().await) };
                let stopping = async {
                    let _ = stop.recv().await;
                    Wake::Stop
                };
                match committed.or(stopping).await {
                    Wake::Committed(report) => self.on_committed(report?),
                    _ => return Ok(()),
                }
                continue;
            }
            self.outbox.handle_timeout(self.clock.now());
            let mut lines = Vec::new();
            self.oplog.handle_timeout(self.clock.now(), &mut lines);
            log_lines(&mut lines);
            self.submit_commits();
            if let Some(m) = &self.opts.metrics {
                m.set_ready(self.engine.serving());
            }
            let listener = self.shared.arm_wake();
            self.shared.take_inbox(&mut self.batch);
            let now = self.clock.now();
            let timers_due = self.engine.poll_timeout().is_some_and(|at| at <= now);
            let flush_requested = self.take_flush_requests();
            if !self.batch.is_empty() || timers_due || !self.followups.is_empty() || flush_requested
            {
                let size = self.batch.inputs.len();
                self.run_batch(now);
                if let Some(why) = self.engine.failed() {
                    tracing::error!(
                        "this node cannot follow the cluster any more: {why}; stopping"
                    );
                    return Err(io::Error::other(why));
                }
                if self.pacer.coalesce(size, self.dirty.len()) {
                    // Busy: let the readers add what has arrived meanwhile before writing, so each
                    // connection gets more lines per `write`.
                    self.pass_through_reactor().await;
                } else {
                    self.flush_dirty();
                }
                continue;
            }
            // Nothing more to do right now: write everything before sleeping.
            self.flush_dirty();
            self.tidy_before_sleep(now);
            let deadline = [
                self.engine.poll_timeout(),
                self.outbox.poll_timeout(),
                self.pacer.poll_timeout(),
                self.oplog.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min()
            .map(|at| self.clock.instant_at(at));
            // Only ever moved earlier: an alarm that rings too early just finds nothing due and is set
            // again, which is cheaper than moving it each time a connection's deadline comes or goes.
            if let Some(at) = deadline
                && self.alarm_at.is_none_or(|armed| at < armed)
            {
                self.alarm.set_at(at);
                self.alarm_at = Some(at);
            }
            let input = async {
                listener.await;
                Wake::Input
            };
            let alarm = &mut self.alarm;
            let timer = async {
                alarm.await;
                Wake::Timer
            };
            let stopping = async {
                let _ = stop.recv().await;
                Wake::Stop
            };
            let committed = async {
                match reports.recv().await {
                    Ok(report) => Wake::Committed(report),
                    // The thread is gone: `try_next` reports that at the top of the loop.
                    Err(_) => Wake::Input,
                }
            };
            match input.or(timer).or(committed).or(stopping).await {
                Wake::Stop => return Ok(()),
                Wake::Committed(report) => self.on_committed(report?),
                Wake::Timer => self.alarm_at = None,
                Wake::Input => {}
            }
        }
    }

    /// Lets the reactor look for I/O once and the readers it wakes run, then comes back: the driver's
    /// alarm is set to now (the reactor then polls without blocking), and the yield puts the driver
    /// behind the readers that the same pass woke.
    async fn pass_through_reactor(&mut self) {
        let now = std::time::Instant::now();
        self.alarm.set_at(now);
        self.alarm_at = Some(now);
        (&mut self.alarm).await;
        self.alarm_at = None;
        futures_lite::future::yield_now().await;
    }

    /// Marks the connections whose readers queued TLS records (the handshake's) for writing; whether
    /// there were any.
    fn take_flush_requests(&mut self) -> bool {
        let requests = std::mem::take(&mut *self.shared.flush_requests.borrow_mut());
        if requests.is_empty() {
            return false;
        }
        let mut conns = self.shared.conns.borrow_mut();
        for conn in requests {
            if let Some(io) = conns.get_mut(&conn)
                && !io.dirty
            {
                io.dirty = true;
                self.dirty.push(conn);
            }
        }
        true
    }

    /// Feeds the batch in, then commits and sends as the outbox allows.
    fn run_batch(&mut self, now: Timestamp) {
        while let Some(conn) = self.followups.pop_front() {
            self.feed(Event::Disconnected { conn }, now);
        }
        let mut batch = std::mem::take(&mut self.batch);
        for input in batch.inputs.drain(..) {
            match input {
                Input::Open { conn, peer } => self.feed(Event::Connected { conn, peer }, now),
                Input::Line { conn, range } => {
                    let line = &batch.bytes[range];
                    self.feed(Event::Line { conn, line }, now);
                }
                Input::TooLong { conn } => self.feed(Event::LineTooLong { conn }, now),
                Input::Gone { conn } => {
                    tracing::debug!("{conn} gone");
                    drop_conn(&mut self.shared.conns.borrow_mut(), conn);
                    self.feed(Event::Disconnected { conn }, now);
                }
                Input::Drained { conn } => self.feed(Event::Drained { conn }, now),
                Input::Refused { peer, what } => {
                    self.note_refusal(peer.ip(), what, now);
                }
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
                Input::Cluster(news) => {
                    self.engine.news(news, now, &mut self.effects);
                    self.hand_over_effects(None);
                }
                Input::Admin { action, who, reply } => {
                    tracing::info!("administration by {who}: {}", action.describe());
                    self.next_request += 1;
                    let request = (self.engine.node() << NODE_SHIFT) | self.next_request;
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
                    let _ = reply.try_send(query.answer(self.engine.core(), now));
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
        batch.clear();
        self.batch = batch;
        self.engine.handle_timeout(now, &mut self.effects);
        self.hand_over_effects(None);
        self.outbox.end_batch(now);
        self.submit_commits();
        self.carry_out_ready(now);
    }

    /// An event of this server's, to the engine, and what it made to the outbox.
    fn feed(&mut self, event: Event<'_>, now: Timestamp) {
        let conn = conn_of(&event);
        self.engine.handle(event, now, &mut self.effects);
        self.hand_over_effects(conn);
    }

    /// Hands what the engine made (for an event about `conn`) to the outbox, and the records to the
    /// operator's log.
    ///
    /// Refusals sent to this server's connections (goodbyes and errors that turn a client away) go to
    /// the operator log, with the account when the core names it: a session ended for flooding is
    /// followed, in the same output, by the record of its logout.
    fn hand_over_effects(&mut self, conn: Option<ConnId>) {
        // Read only when a refusal needs it: this runs for every event.
        let clock = self.clock;
        let mut now = None;
        let mut now = move || *now.get_or_insert_with(|| clock.now());
        let mut effects = std::mem::take(&mut self.effects);
        let mut notes = OutputNotes::default();
        let mut lines = Vec::new();
        // The goodbye last said, for the logout that follows it (none: the connection was lost).
        let mut bye = None;
        let metrics = self.opts.metrics.clone();
        for effect in effects.drain(..) {
            match &effect {
                Effect::Persist(record) => {
                    let peer =
                        conn.and_then(|c| self.shared.conns.borrow().get(&c).map(|io| io.peer));
                    log_with_reason(record, peer, &mut bye);
                    if let Some(m) = &metrics {
                        m.record(record);
                    }
                    self.oplog
                        .note_record(&mut notes, record, &mut now, &mut lines);
                }
                Effect::Send { to, msg } => {
                    if let ServerMsg::Bye(reason) = msg {
                        bye = Some(*reason);
                    }
                    if let Some(m) = &metrics {
                        m.sent(msg, 1);
                    }
                    let peer = self.shared.conns.borrow().get(to).map(|io| io.peer);
                    if let Some(peer) = peer {
                        self.oplog
                            .note_sent(&mut notes, peer.ip(), msg, &mut now, &mut lines);
                    }
                }
                Effect::SendMany { to, msg } => {
                    if let Some(m) = &metrics {
                        m.sent(msg, to.len());
                    }
                }
                _ => {}
            }
            self.outbox.push(effect);
        }
        self.effects = effects;
        // A cluster node's records, apart from its effects (the log is their record): in the same
        // output, so that a session ended for flooding is still named by the logout that follows.
        while let Some((record, peer)) = self.engine.poll_logged_record() {
            log_with_reason(&record, peer, &mut bye);
            if let Some(m) = &metrics {
                m.record(&record);
            }
            self.oplog
                .note_record(&mut notes, &record, &mut now, &mut lines);
        }
        self.oplog.end_output(notes, &mut now, &mut lines);
        log_lines(&mut lines);
        self.carry_out_controls();
    }

    /// Carries out what acts at once: password jobs go to the workers, readers pause or resume, and a
    /// connection's next completed write is reported to the core.
    fn carry_out_controls(&mut self) {
        while let Some(control) = self.outbox.poll_control() {
            match control {
                Effect::CheckPassword { .. } | Effect::HashPassword { .. } => {
                    self.hasher.submit(control)
                }
                Effect::PauseReading { conn } => {
                    if let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn) {
                        io.paused = true;
                    }
                }
                Effect::ResumeReading { conn } => {
                    if let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn) {
                        io.paused = false;
                        io.resume.notify(usize::MAX);
                    }
                }
                Effect::WatchDrain { conn } => {
                    if let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn) {
                        io.watch_drain = true;
                    }
                }
                Effect::LoginFailed { conn, user, reason } => {
                    let peer = self.shared.conns.borrow().get(&conn).map(|io| io.peer.ip());
                    log_failed_login(user.as_deref(), peer, reason);
                    if let Some(m) = &self.opts.metrics {
                        m.login_failed(reason);
                    }
                }
                other => tracing::error!("not a control effect: {other:?}"),
            }
        }
    }

    /// Hands the commits the outbox decided to the commit thread.
    fn submit_commits(&mut self) {
        while let Some(commit) = self.outbox.poll_commit() {
            self.committer.submit(commit.seq, commit.records);
        }
    }

    /// Every commit up to `seq` is durable: send what waited for it.
    fn on_committed(&mut self, seq: u64) {
        self.outbox.committed(seq);
        self.carry_out_ready(self.clock.now());
    }

    fn carry_out_ready(&mut self, now: Timestamp) {
        while let Some(sends) = self.outbox.poll_ready() {
            self.carry_out(sends, now);
        }
    }

    /// Tells every client, closes every connection, and waits (boundedly) for the goodbyes to flush.
    ///
    /// With a healthy store, the batches already handled are committed and sent first, then the session
    /// ends of the shutdown itself. After a failed commit, nothing that waited for a commit is sent; the
    /// goodbyes still are, as they claim nothing was stored.
    ///
    /// Returns a commit failure met on the way, so the server does not exit as if all went well.
    pub(super) async fn shutdown(&mut self, store_ok: bool) -> io::Result<()> {
        let mut failure = None;
        if store_ok {
            self.outbox.flush_lazy();
            self.submit_commits();
        }
        while store_ok && failure.is_none() && self.outbox.commits_in_flight() {
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
        self.outbox.abandon_pending();
        let now = self.clock.now();
        self.feed(Event::Shutdown, now);
        let (records, sends) = self.outbox.take_batch();
        if store_ok && !records.is_empty() {
            self.outbox.submit_now(records);
            self.submit_commits();
            if let Err(e) = self.committer.next().await {
                tracing::error!("the final commit (session ends) failed: {e}");
                failure = Some(e);
            }
        }
        self.carry_out(sends, now);
        self.engine.settle(self.opts.shutdown_grace).await;
        self.committer.stop().await;
        // Connections the core never heard of (accepted in the last instant) are closed too.
        self.close_all().await;
        failure.map_or(Ok(()), Err)
    }
}

impl<E: Engine> Driver<E> {
    /// What only the core knows, for the metrics.
    fn core_stats(&self) -> crate::shell::server::CoreStats {
        let core = self.engine.core();
        let (messages, largest) = core.mailbox_totals();
        let online = core.online_count() as u64;
        crate::shell::server::CoreStats {
            users_online: online,
            connections_logging_in: (core.connection_count() as u64).saturating_sub(online),
            mailbox_messages: messages as u64,
            largest_mailbox: largest as u64,
            log_lag: self.engine.log_lag(),
        }
    }
}

/// One line per failed login, in a stable form an intrusion blocker (fail2ban) reads
/// (docs/OPERATING.md): `login failed user=NAME address=IP reason=WHY`, `-` for an unknown user (a
/// name typed at the prompt that is no account is never written: it may be a mistyped password).
fn log_failed_login(
    user: Option<&str>,
    peer: Option<std::net::IpAddr>,
    reason: natter_core::server::LoginFailure,
) {
    let user = user.unwrap_or("-");
    let address = peer.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    tracing::warn!(
        "login failed user={user} address={address} reason={}",
        reason.word()
    );
}

/// Logs a record; a logout says why, from the goodbye said just before it (`bye`, taken), else the
/// connection was lost.
fn log_with_reason(
    record: &Record,
    peer: Option<std::net::SocketAddr>,
    bye: &mut Option<ByeReason>,
) {
    match record {
        Record::LoggedOut { user, .. } => {
            let why = match bye.take() {
                Some(ByeReason::Logout) => "logout",
                Some(ByeReason::Timeout { .. }) => "idle",
                Some(ByeReason::Flood { .. }) => "flood",
                Some(ByeReason::Kicked) => "kicked",
                Some(ByeReason::Banned) => "banned",
                Some(ByeReason::Removed) => "removed",
                Some(ByeReason::Shutdown) => "shutdown",
                Some(ByeReason::Unavailable) => "cluster unavailable",
                Some(_) | None => "connection lost",
            };
            tracing::info!("{user} logged out ({why})");
        }
        _ => log_record(record, peer),
    }
}

impl<E> Driver<E> {
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

    /// Tells the operator log of a refusal the shell made itself; a line it says to write now is
    /// written.
    pub(super) fn note_refusal(&mut self, ip: std::net::IpAddr, what: Refusal, now: Timestamp) {
        if let Some(line) = self.oplog.note(ip, what, None, None, now) {
            log_lines(&mut vec![line]);
        }
    }
}
