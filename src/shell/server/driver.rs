//! The driver: the one place the core is driven from.
//!
//! Each turn it takes the whole inbox as one batch, feeds it to the core, lets the core act on its
//! deadlines that are due, and hands the core's output to the [`Outbox`], which decides what is committed when and which lines may leave; it
//! gives the commits to the commit thread and carries out the released lines: every line rendered once (a
//! broadcast once for all its recipients), appended to the connections' queues, and each queue written
//! with one `write`. When to write (held notices, coalescing under load) and when to give memory back is
//! the [`Pacer`]'s to say. The driver itself decides nothing: it moves bytes, timers and commits.

use std::collections::VecDeque;
use std::io;
use std::rc::Rc;

use futures_lite::FutureExt;
use smol::LocalExecutor;

use super::cluster_node::{Link, still_wanted_when_fenced};
use super::conn::{CLOSING_HANDSHAKE_GRACE, Flush, drop_conn, writer};
use super::hasher::{Answer, Hasher};
use super::inbox::{Inbox, Input, Typed};
use super::{Shared, ShellOptions};
use crate::protocol::{ByeReason, ServerMsg, render_into};
use crate::server::oplog::{Level, LogLine, OperatorLog, Refusal, utc};
use crate::server::outbox::Outbox;
use crate::server::pacing::{Pacer, Queued, Tidy, Write};
use crate::server::{ConnId, Effect, Event, LoggedEvent, Record, ServerState};
use crate::shell::committer::Committer;
use crate::time::{ShellClock, Timestamp};

/// Gives the allocator's free memory back to the operating system. glibc keeps what a burst freed
/// (tens of MB after a presence flood to thousands of users) unless asked.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks and releases the allocator's own free lists; it is safe to call
    // at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The operator's record of who came and went: logins, logouts, lockouts and new accounts, at the
/// default level, with the address they came from when the event had one. Never a password or a
/// message's text. A lockout's end is a UTC time.
fn log_record(record: &Record, peer: Option<std::net::SocketAddr>) {
    let from = peer.map(|p| format!(" from {p}")).unwrap_or_default();
    match record {
        Record::LoggedIn { user, .. } => tracing::info!("{user} logged in{from}"),
        Record::LoggedOut { user, .. } => tracing::info!("{user} logged out"),
        Record::LockedOut { user, until } => tracing::info!(
            "{user} locked after repeated wrong passwords{from}, until {}",
            utc(*until)
        ),
        Record::AccountCreated { user, .. } => tracing::info!("{user} registered{from}"),
        _ => {}
    }
}

/// Writes the operator log's lines at their level.
fn log_lines(lines: &mut Vec<LogLine>) {
    for line in lines.drain(..) {
        match line.level {
            Level::Warn => tracing::warn!("{}", line.text),
            Level::Info => tracing::info!("{}", line.text),
        }
    }
}

pub(super) struct Driver {
    pub(super) core: ServerState,
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
    /// Cluster mode: the core is fed from the shared log (see `cluster_node` and `replica`).
    pub(super) cluster: Option<Link>,
}

impl Driver {
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
            self.oplog_timeout(self.clock.now());
            self.submit_commits();
            let listener = self.shared.arm_wake();
            self.shared.take_inbox(&mut self.batch);
            let now = self.clock.now();
            let timers_due = self.core_deadline().is_some_and(|at| at <= now);
            let flush_requested = self.take_flush_requests();
            if !self.batch.is_empty() || timers_due || !self.followups.is_empty() || flush_requested
            {
                let size = self.batch.inputs.len();
                self.run_batch(now);
                if let Some(why) = self.cluster_lost() {
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
                self.core_deadline(),
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

    /// When the core must next be let act on its deadlines by this node's clock: its earliest one on a
    /// server alone; never in a cluster, whose copies act on them by the log's time (`replica`).
    fn core_deadline(&self) -> Option<Timestamp> {
        match self.cluster {
            Some(_) => None,
            None => self.core.poll_timeout(),
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
                Input::Open { conn, .. } if self.fenced() => self.refuse_unavailable(conn, now),
                Input::Open { conn, peer } => self.feed(Event::Connected { conn, peer }, now),
                Input::Line { conn, range } if self.cluster.is_some() => {
                    self.read_from_own(conn, Typed::Line(&batch.bytes[range]), now)
                }
                Input::Line { conn, range } => {
                    let line = &batch.bytes[range];
                    self.feed(Event::Line { conn, line }, now);
                }
                Input::TooLong { conn } if self.cluster.is_some() => {
                    self.read_from_own(conn, Typed::TooLong, now)
                }
                Input::TooLong { conn } => self.feed(Event::LineTooLong { conn }, now),
                Input::Gone { conn } => {
                    tracing::debug!("{conn} gone");
                    drop_conn(&mut self.shared.conns.borrow_mut(), conn);
                    self.feed(Event::Disconnected { conn }, now);
                }
                Input::Drained { conn } => self.feed(Event::Drained { conn }, now),
                Input::Refused { peer, what } => {
                    self.note_refusal(peer.ip(), what, None, None, now);
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
                Input::Logged(entry) => self.apply_logged(*entry),
                Input::Restart(bytes) => self.restart_from(bytes, now),
                Input::NodeDead(node) => self.end_node(node, now),
                Input::Fenced => self.fence(now),
                Input::Unfenced => self.unfence(),
            }
        }
        batch.clear();
        self.batch = batch;
        match &self.cluster {
            None => {
                self.core.handle_timeout(now, &mut self.effects);
                self.hand_over_effects(None, true);
            }
            // The ticker appends time to the log once the core's next deadline has come.
            Some(_) => self.shared.next_core_timer.set(self.core.poll_timeout()),
        }
        self.outbox.end_batch(now);
        self.submit_commits();
        self.carry_out_ready(now);
    }

    /// An event of this server's: to the core, or, in a cluster, to the shared log (the core gets it
    /// when it comes back from there, in its place among every node's events).
    pub(super) fn feed(&mut self, event: Event<'_>, now: Timestamp) {
        if let Some(link) = &self.cluster {
            let entry = LoggedEvent::new(event, now);
            if !link.fenced.get() || still_wanted_when_fenced(link.node, &entry) {
                let _ = link.append.try_send(entry);
            }
            return;
        }
        self.apply(event, now);
    }

    /// Closes `conn` once what is queued for it is written (by the next [`Self::flush_dirty`]).
    pub(super) fn close_after_flush(&mut self, conn: ConnId) {
        if let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn) {
            io.closing = true;
            if !io.dirty {
                io.dirty = true;
                self.dirty.push(conn);
            }
        }
    }

    /// Feeds one event to the core and hands its output to the outbox.
    fn apply(&mut self, event: Event<'_>, now: Timestamp) {
        let conn = match event {
            Event::Connected { conn, .. }
            | Event::Line { conn, .. }
            | Event::LineTooLong { conn }
            | Event::SecretLine { conn, .. }
            | Event::Disconnected { conn }
            | Event::Drained { conn }
            | Event::PasswordChecked { conn, .. }
            | Event::PasswordHashed { conn, .. } => Some(conn),
            Event::Shutdown => None,
        };
        self.core.handle(event, now, &mut self.effects);
        self.hand_over_effects(conn, true);
    }

    /// Hands what the core made (for an event about `conn`) to the outbox, and the records to the
    /// operator's log if `log_records`. A cluster node commits nothing: its records are already in the
    /// shared log, as the events that made them.
    ///
    /// Refusals the core sends to this server's connections (goodbyes and errors that turn a client
    /// away) go to the operator log, with the account when the core names it: a session ended for
    /// flooding is followed, in the same output, by the record of its logout.
    pub(super) fn hand_over_effects(&mut self, conn: Option<ConnId>, log_records: bool) {
        let in_cluster = self.cluster.is_some();
        // Read only when a refusal needs it: this runs for every event.
        let clock = self.clock;
        let mut now = None;
        let mut now = move || *now.get_or_insert_with(|| clock.now());
        let mut effects = std::mem::take(&mut self.effects);
        // A `BYE flood` whose account is named by the logout record that follows it.
        let mut flooded: Option<(std::net::IpAddr, Option<Timestamp>)> = None;
        for effect in effects.drain(..) {
            match &effect {
                Effect::Persist(record) => {
                    if log_records {
                        let peer =
                            conn.and_then(|c| self.shared.conns.borrow().get(&c).map(|io| io.peer));
                        log_record(record, peer);
                    }
                    if let (Record::LoggedOut { user, .. }, Some((ip, until))) = (record, flooded) {
                        flooded = None;
                        self.note_refusal(ip, Refusal::Flood, Some(user), until, now());
                    }
                    if in_cluster {
                        continue;
                    }
                }
                Effect::Send { to, msg } => {
                    if let Some(what) = Refusal::of(msg) {
                        let peer = self.shared.conns.borrow().get(to).map(|io| io.peer);
                        if let Some(peer) = peer {
                            if let ServerMsg::Bye(ByeReason::Flood { cooldown_secs }) = msg {
                                let until =
                                    (*cooldown_secs > 0).then(|| now().plus_secs(*cooldown_secs));
                                flooded = Some((peer.ip(), until));
                            } else {
                                self.note_refusal(peer.ip(), what, None, None, now());
                            }
                        }
                    }
                }
                _ => {}
            }
            self.outbox.push(effect);
        }
        self.effects = effects;
        if let Some((ip, until)) = flooded {
            self.note_refusal(ip, Refusal::Flood, None, until, now());
        }
        self.carry_out_controls();
    }

    /// Tells the operator log of a refusal; a line it says to write now is written.
    fn note_refusal(
        &mut self,
        ip: std::net::IpAddr,
        what: Refusal,
        user: Option<&crate::protocol::Name>,
        until: Option<Timestamp>,
        now: Timestamp,
    ) {
        if let Some(line) = self.oplog.note(ip, what, user, until, now) {
            log_lines(&mut vec![line]);
        }
    }

    /// Writes the operator log's summaries that are due.
    fn oplog_timeout(&mut self, now: Timestamp) {
        if self.oplog.poll_timeout().is_some_and(|at| at <= now) {
            let mut lines = Vec::new();
            self.oplog.handle_timeout(now, &mut lines);
            log_lines(&mut lines);
        }
    }

    /// Carries out what acts at once: password jobs go to the workers, readers pause or resume, and a
    /// connection's next completed write is reported to the core.
    fn carry_out_controls(&mut self) {
        while let Some(control) = self.outbox.poll_control() {
            match control {
                Effect::CheckPassword { .. } | Effect::HashPassword { .. } => {
                    if self.cluster.is_none() {
                        self.hasher.submit(control);
                    } else {
                        self.own_password_work(control);
                    }
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

    /// Going idle after a burst: shrink the batch buffers back and return the memory the burst freed to
    /// the system, when the pacer says it is worth it.
    fn tidy_before_sleep(&mut self, now: Timestamp) {
        if self.pacer.tidy(now, self.shared.written.get()) != Tidy::Now {
            return;
        }
        self.shared.written.set(0);
        self.batch.shrink();
        self.shared.inbox.borrow_mut().shrink();
        self.scratch = Vec::new();
        self.dirty.shrink_to(1024);
        self.held.shrink_to(1024);
        release_free_memory();
    }

    /// Marks every connection holding notices for writing (by the next [`Self::flush_dirty`]).
    fn release_held(&mut self) {
        let mut conns = self.shared.conns.borrow_mut();
        for conn in self.held.drain(..) {
            let Some(io) = conns.get_mut(&conn) else {
                continue;
            };
            io.held = false;
            // Written meanwhile with other lines, or not: only a queue with bytes is worth a write.
            if !io.dirty && io.queued() > 0 {
                io.dirty = true;
                self.dirty.push(conn);
            }
        }
    }

    /// Renders one released batch's lines onto the connections' queues (written by
    /// [`Self::flush_dirty`]).
    fn carry_out(&mut self, sends: Vec<Effect>, now: Timestamp) {
        for effect in sends {
            match effect {
                Effect::Send { to, msg } => {
                    self.scratch.clear();
                    render_into(&msg, &mut self.scratch);
                    self.queue(to, &msg, now);
                }
                Effect::SendMany { to, msg } => {
                    // Rendered once, copied to each recipient's queue.
                    self.scratch.clear();
                    render_into(&msg, &mut self.scratch);
                    for conn in to {
                        self.queue(conn, &msg, now);
                    }
                }
                Effect::Close { conn } => self.close_after_flush(conn),
                other => tracing::error!("the outbox keeps records and controls: {other:?}"),
            }
        }
    }

    /// Appends `self.scratch` (`msg` rendered) to `conn`'s queue, to be written when the pacer says.
    /// Drops the connection if the queue would pass the bound (a client that stopped reading must not
    /// hold the server's memory or slow the others).
    pub(super) fn queue(&mut self, conn: ConnId, msg: &ServerMsg, now: Timestamp) {
        let max = self.opts.max_outbound;
        let mut conns = self.shared.conns.borrow_mut();
        let Some(io) = conns.get_mut(&conn) else {
            return;
        };
        if io.queued() + self.scratch.len() > max {
            tracing::debug!("{conn} is not reading; dropped after {max} bytes queued");
            let peer = io.peer;
            drop_conn(&mut conns, conn);
            drop(conns);
            self.followups.push_back(conn);
            // The operator hears of it summed up per address: a slow reader is dropped without a
            // word, and many of them must not write the log at their pace.
            self.note_refusal(peer.ip(), Refusal::SlowReader, None, None, now);
            return;
        }
        io.push(&self.scratch);
        let state = Queued {
            due: io.dirty,
            held: io.held,
            bytes: io.queued(),
        };
        match self.pacer.queued(msg, state, now) {
            Write::WithBatch => {
                if !io.dirty {
                    io.dirty = true;
                    self.dirty.push(conn);
                }
            }
            Write::Hold => {
                if !io.held {
                    io.held = true;
                    self.held.push(conn);
                }
            }
        }
    }

    /// One write per connection that got output; a full socket gets a writer task, a closed one is gone.
    pub(super) fn flush_dirty(&mut self) {
        self.pacer.wrote();
        let mut conns = self.shared.conns.borrow_mut();
        for conn in self.dirty.drain(..) {
            let Some(io) = conns.get_mut(&conn) else {
                continue;
            };
            io.dirty = false;
            if io.writer.is_some() {
                continue;
            }
            self.shared
                .written
                .set(self.shared.written.get() + io.queued());
            match io.flush() {
                Flush::Done => {
                    if std::mem::take(&mut io.watch_drain) {
                        self.shared.push(Input::Drained { conn });
                    }
                    if io.closing {
                        drop_conn(&mut conns, conn);
                    }
                }
                Flush::Blocked => {
                    let stream = io.stream.clone();
                    io.writer = Some(self.ex.spawn(writer(self.shared.clone(), conn, stream)));
                }
                Flush::Handshaking => {
                    // The reader flushes it again when the handshake is over; a client that never
                    // finishes it is dropped after a grace period.
                    if !std::mem::replace(&mut io.reaped, true) {
                        let shared = self.shared.clone();
                        self.ex
                            .spawn(async move {
                                smol::Timer::after(CLOSING_HANDSHAKE_GRACE).await;
                                drop_conn(&mut shared.conns.borrow_mut(), conn);
                            })
                            .detach();
                    }
                }
                Flush::Failed => {
                    drop_conn(&mut conns, conn);
                    self.followups.push_back(conn);
                }
            }
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
        if self.cluster.is_some() {
            self.leave_cluster().await;
            return Ok(());
        }
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
        self.committer.stop().await;
        // Connections the core never heard of (accepted in the last instant) are closed too.
        self.close_all().await;
        failure.map_or(Ok(()), Err)
    }

    /// Closes every connection, waiting (boundedly) for what is queued to be written.
    pub(super) async fn close_all(&mut self) {
        let rest: Vec<ConnId> = self.shared.conns.borrow().keys().copied().collect();
        for conn in rest {
            if let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn) {
                io.closing = true;
                io.dirty = true;
            }
            self.dirty.push(conn);
        }
        self.flush_dirty();
        let drained = async {
            loop {
                let listener = self.shared.writers_done.listen();
                if self.shared.conns.borrow().is_empty() {
                    return;
                }
                listener.await;
            }
        };
        let grace = self.opts.shutdown_grace;
        drained
            .or(async {
                smol::Timer::after(grace).await;
            })
            .await;
        let rest: Vec<ConnId> = self.shared.conns.borrow().keys().copied().collect();
        for conn in rest {
            drop_conn(&mut self.shared.conns.borrow_mut(), conn);
        }
    }
}
