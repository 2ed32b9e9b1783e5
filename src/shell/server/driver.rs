//! The driver: the one place the core is driven from.
//!
//! Each turn it takes the whole inbox as one batch, feeds it to the core, fires due timers, hands the
//! batch's records to the commit thread, and carries out the batch's output: every line rendered once
//! (a broadcast once for all its recipients), appended to the connections' queues, and each queue written
//! with one `write` at the end of the batch.
//!
//! A batch whose records include one that a reply acknowledges ([`Record::acknowledged`]) keeps its
//! output until that commit is durable; batches are released strictly in order, so a later batch never
//! overtakes an earlier one on any connection. At most [`ShellOptions::commit_depth`] batches may wait.

use std::collections::VecDeque;
use std::io;
use std::rc::Rc;

use futures_lite::FutureExt;
use smol::LocalExecutor;

use super::conn::{Flush, drop_conn, writer};
use super::inbox::{Inbox, Input};
use super::{Shared, ShellOptions};
use crate::protocol::{ServerMsg, render_into};
use crate::server::{ConnId, Effect, Event, Record, ServerState};
use crate::shell::committer::Committer;
use crate::time::{ShellClock, Timestamp};
use crate::timers::Timers;

/// How long records that no reply acknowledges (login history, acks) may wait before being committed:
/// they are not worth a disk sync of their own, and a crash can cost at most this much history (and
/// redeliver messages whose ack was not kept, which clients recognise by id).
const LAZY_DELAY: std::time::Duration = std::time::Duration::from_millis(100);
/// Lazy records beyond which they are committed at once (bounds what a crash can lose).
const LAZY_MAX: usize = 8192;

/// Bytes written since the last tidy-up beyond which going idle triggers one.
const TIDY_AFTER_BYTES: usize = 1 << 20;
/// At most one tidy-up per this long.
const TIDY_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

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

/// How long a notice that may wait ([`ServerMsg::can_wait`]) is held for the recipient's next lines.
/// Presence notices are most of a busy server's output; held this long, a user who sees logins and
/// logouts all the time gets them a few per `write` instead of one each, and cannot tell the difference.
const NOTICE_DELAY: std::time::Duration = std::time::Duration::from_millis(10);
/// Bytes queued for one connection beyond which held notices are written at the end of the batch
/// anyway: holding is for small notices, not a way to build up memory.
const NOTICE_HELD_MAX: usize = 4096;

/// Inputs in a batch from which the driver considers itself busy (see [`Driver::should_coalesce`]).
const COALESCE_MIN: usize = 64;
/// Lines queued in a turn from which the driver considers itself busy even with few inputs (one login
/// with a thousand users online queues a thousand presence lines).
const COALESCE_MIN_LINES: usize = 1024;
/// Held lines per connection at which coalescing has done its job: writes are then worth making.
const COALESCE_LINES_PER_CONN: usize = 8;
/// Turns a batch's output may be held at most.
const COALESCE_TURNS: u32 = 16;

pub(super) struct Driver {
    pub(super) core: ServerState,
    pub(super) clock: ShellClock,
    pub(super) timers: Timers,
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
    /// Records of the current batch.
    pub(super) records: Vec<Record>,
    /// Records no reply acknowledges, waiting to be committed with the next that one does, or after
    /// [`LAZY_DELAY`] (see [`Record::acknowledged`]).
    pub(super) lazy: Vec<Record>,
    /// When the oldest lazy record arrived.
    pub(super) lazy_since: Option<std::time::Instant>,
    /// Whether one of them acknowledges something to a user (so the batch's output must wait).
    pub(super) acknowledged: bool,
    /// Sends and closes of the current batch.
    pub(super) sends: Vec<Effect>,
    /// Disconnects the driver found itself (overflowing queues, failed writes), fed in next batch.
    pub(super) followups: VecDeque<ConnId>,
    /// Handled batches whose output is not sent yet, oldest first.
    pub(super) pending: VecDeque<Pending>,
    /// The sequence number of the last batch handed to the committer.
    pub(super) submitted: u64,
    /// Every batch up to this sequence number is durable.
    pub(super) committed: u64,
    /// Connections with output queued and not yet written.
    pub(super) dirty: Vec<ConnId>,
    /// Connections holding notices that may wait, to be written by [`Self::held_due`] at the latest.
    pub(super) held: Vec<ConnId>,
    /// When the oldest held notice was queued.
    pub(super) held_since: Option<std::time::Instant>,
    /// Turns whose output has been held back for coalescing since the last write.
    pub(super) coalesced: u32,
    /// Lines queued since the last write.
    pub(super) held_lines: usize,
    /// When the last tidy-up was (see [`Self::tidy_before_sleep`]).
    pub(super) last_tidy: std::time::Instant,
    /// A tidy-up put off by the rate limit, due then.
    pub(super) tidy_due: Option<std::time::Instant>,
    pub(super) scratch: Vec<u8>,
}

/// One handled batch waiting to be sent.
pub(super) struct Pending {
    /// The commit it waits for, if any.
    commit: Option<u64>,
    sends: Vec<Effect>,
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
                self.committed = report?;
            }
            self.release();
            if self
                .held_due()
                .is_some_and(|due| due <= std::time::Instant::now())
            {
                self.release_held();
            }
            if self.pending.len() >= self.opts.commit_depth.max(1) {
                self.flush_dirty();
                // Enough batches wait for the disk: take no more input until the oldest is durable.
                let committed = async { Wake::Committed(self.committer.next().await) };
                let stopping = async {
                    let _ = stop.recv().await;
                    Wake::Stop
                };
                match committed.or(stopping).await {
                    Wake::Committed(report) => self.committed = report?,
                    _ => return Ok(()),
                }
                continue;
            }
            if self
                .lazy_due()
                .is_some_and(|due| due <= std::time::Instant::now())
            {
                self.submit_lazy();
            }
            let listener = self.shared.arm_wake();
            self.shared.take_inbox(&mut self.batch);
            let now = self.clock.now();
            let timers_due = self.timers.next_deadline().is_some_and(|at| at <= now);
            if !self.batch.is_empty() || timers_due || !self.followups.is_empty() {
                let size = self.batch.inputs.len();
                self.run_batch(now);
                if self.should_coalesce(size) {
                    // Busy: let the readers add what has arrived meanwhile before writing, so each
                    // connection gets more lines per `write`.
                    self.coalesced += 1;
                    self.pass_through_reactor().await;
                } else {
                    self.flush_dirty();
                }
                continue;
            }
            // Nothing more to do right now: write everything before sleeping.
            self.flush_dirty();
            self.tidy_before_sleep();
            let deadline = self
                .timers
                .next_deadline()
                .map(|at| self.clock.instant_at(at))
                .into_iter()
                .chain(self.lazy_due())
                .chain(self.held_due())
                .chain(self.tidy_due)
                .min();
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
                Wake::Committed(report) => self.committed = report?,
                Wake::Timer => self.alarm_at = None,
                Wake::Input => {}
            }
        }
    }

    /// Whether to hold this batch's output for the next one. Only under load: a batch of at least
    /// [`COALESCE_MIN`] inputs means clients are sending faster than one turn takes, so the queueing delay
    /// is already larger than one more turn. A small batch (light load) is always written at once, so
    /// coalescing never adds latency there. It stops paying once the held output averages
    /// [`COALESCE_LINES_PER_CONN`] lines per connection, and is bounded in turns (and so in bytes held:
    /// each batch is bounded by the inbox).
    fn should_coalesce(&self, batch_size: usize) -> bool {
        !self.dirty.is_empty()
            && (batch_size >= COALESCE_MIN || self.held_lines >= COALESCE_MIN_LINES)
            && self.coalesced < COALESCE_TURNS
            && self.held_lines < COALESCE_LINES_PER_CONN * self.dirty.len()
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

    /// Feeds the batch in, then commits and sends as its records allow.
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
                    self.core
                        .handle(Event::Line { conn, line }, now, &mut self.effects);
                    self.sort_effects();
                }
                Input::TooLong { conn } => self.feed(Event::LineTooLong { conn }, now),
                Input::Gone { conn } => {
                    tracing::debug!("{conn} gone");
                    drop_conn(&mut self.shared.conns.borrow_mut(), conn);
                    self.feed(Event::Disconnected { conn }, now);
                }
            }
        }
        batch.clear();
        self.batch = batch;
        while let Some(timer) = self.timers.pop_due(now) {
            self.feed(Event::TimerFired { timer }, now);
        }
        self.finish_batch();
    }

    fn feed(&mut self, event: Event<'_>, now: Timestamp) {
        self.core.handle(event, now, &mut self.effects);
        self.sort_effects();
    }

    /// Timers take effect at once; records and output wait for the end of the batch.
    fn sort_effects(&mut self) {
        for effect in self.effects.drain(..) {
            match effect {
                Effect::SetTimer { timer, at } => self.timers.set(timer, at),
                Effect::CancelTimer { timer } => self.timers.cancel(timer),
                Effect::Persist(record) => {
                    self.acknowledged |= record.acknowledged();
                    self.records.push(record);
                }
                send_or_close => self.sends.push(send_or_close),
            }
        }
    }

    /// Submits the batch's records (if any); its output waits for them only if they acknowledge
    /// something, and always behind earlier batches still waiting.
    fn finish_batch(&mut self) {
        let commit = if self.records.is_empty() {
            None
        } else if self.acknowledged {
            // Committed now, behind any lazy records (which keeps the order of all records).
            let mut records = std::mem::take(&mut self.lazy);
            records.append(&mut self.records);
            self.lazy_since = None;
            Some(self.submit(records))
        } else {
            if self.lazy.is_empty() {
                self.lazy_since = Some(std::time::Instant::now());
            }
            self.lazy.append(&mut self.records);
            if self.lazy.len() >= LAZY_MAX {
                self.submit_lazy();
            }
            None
        };
        self.acknowledged = false;
        let sends = std::mem::take(&mut self.sends);
        if commit.is_none() && self.pending.is_empty() {
            self.carry_out(sends);
        } else if commit.is_some() || !sends.is_empty() {
            self.pending.push_back(Pending { commit, sends });
        }
    }

    /// Going idle after a burst: shrink the batch buffers back and return the memory the burst freed to
    /// the system, so an idle server's size reflects its connections, not its busiest moment. Rate
    /// limited, and only after enough traffic for it to matter.
    fn tidy_before_sleep(&mut self) {
        self.tidy_due = None;
        if self.shared.written.get() < TIDY_AFTER_BYTES {
            return;
        }
        let next = self.last_tidy + TIDY_EVERY;
        if std::time::Instant::now() < next {
            // Too soon after the last one: come back then, if still idle.
            self.tidy_due = Some(next);
            return;
        }
        self.shared.written.set(0);
        self.last_tidy = std::time::Instant::now();
        self.batch.shrink();
        self.shared.inbox.borrow_mut().shrink();
        self.scratch = Vec::new();
        self.dirty.shrink_to(1024);
        self.held.shrink_to(1024);
        release_free_memory();
    }

    /// Hands records to the commit thread; returns their sequence number.
    fn submit(&mut self, records: Vec<Record>) -> u64 {
        self.submitted += 1;
        self.committer.submit(self.submitted, records);
        self.submitted
    }

    /// Commits the lazy records now.
    fn submit_lazy(&mut self) {
        self.lazy_since = None;
        if !self.lazy.is_empty() {
            let records = std::mem::take(&mut self.lazy);
            self.submit(records);
        }
    }

    /// When the lazy records are due to be committed, if there are any.
    fn lazy_due(&self) -> Option<std::time::Instant> {
        self.lazy_since.map(|since| since + LAZY_DELAY)
    }

    /// When the held notices are due to be written, if there are any.
    fn held_due(&self) -> Option<std::time::Instant> {
        self.held_since.map(|since| since + NOTICE_DELAY)
    }

    /// Marks every connection holding notices for writing (by the next [`Self::flush_dirty`]).
    fn release_held(&mut self) {
        self.held_since = None;
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

    /// Sends, in order, every waiting batch whose records are durable, stopping at the first that is not.
    pub(super) fn release(&mut self) {
        while let Some(p) = self.pending.front() {
            if p.commit.is_some_and(|seq| seq > self.committed) {
                break;
            }
            let p = self.pending.pop_front().expect("front exists");
            self.carry_out(p.sends);
        }
    }

    /// Renders one batch's lines onto the connections' queues (written by [`Self::flush_dirty`]).
    pub(super) fn carry_out(&mut self, sends: Vec<Effect>) {
        for effect in sends {
            match effect {
                Effect::Send { to, msg } => {
                    self.scratch.clear();
                    render_into(&msg, &mut self.scratch);
                    self.queue(to, &msg);
                }
                Effect::SendMany { to, msg } => {
                    // Rendered once, copied to each recipient's queue.
                    self.scratch.clear();
                    render_into(&msg, &mut self.scratch);
                    for conn in to {
                        self.queue(conn, &msg);
                    }
                }
                Effect::Close { conn } => {
                    if let Some(io) = self.shared.conns.borrow_mut().get_mut(&conn) {
                        io.closing = true;
                        if !io.dirty {
                            io.dirty = true;
                            self.dirty.push(conn);
                        }
                    }
                }
                Effect::SetTimer { .. } | Effect::CancelTimer { .. } | Effect::Persist(_) => {
                    unreachable!("sorted out in sort_effects")
                }
            }
        }
    }

    /// Appends `self.scratch` (`msg` rendered) to `conn`'s queue, to be written at the end of the batch,
    /// or within [`NOTICE_DELAY`] if `msg` may wait. Drops the connection if the queue would pass the
    /// bound (a client that stopped reading must not hold the server's memory or slow the others).
    fn queue(&mut self, conn: ConnId, msg: &ServerMsg) {
        let max = self.opts.max_outbound;
        let mut conns = self.shared.conns.borrow_mut();
        let Some(io) = conns.get_mut(&conn) else {
            return;
        };
        if io.queued() + self.scratch.len() > max {
            tracing::warn!("{conn} is not reading; dropped after {max} bytes queued");
            drop_conn(&mut conns, conn);
            self.followups.push_back(conn);
            return;
        }
        io.push(&self.scratch);
        if io.dirty {
            // Written at the end of this batch anyway.
            self.held_lines += 1;
        } else if msg.can_wait() && io.queued() <= NOTICE_HELD_MAX {
            if !io.held {
                io.held = true;
                self.held.push(conn);
                self.held_since.get_or_insert_with(std::time::Instant::now);
            }
        } else {
            self.held_lines += 1;
            io.dirty = true;
            self.dirty.push(conn);
        }
    }

    /// One write per connection that got output; a full socket gets a writer task, a closed one is gone.
    fn flush_dirty(&mut self) {
        self.coalesced = 0;
        self.held_lines = 0;
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
                    if io.closing {
                        drop_conn(&mut conns, conn);
                    }
                }
                Flush::Blocked => {
                    let stream = io.stream.clone();
                    io.writer = Some(self.ex.spawn(writer(self.shared.clone(), conn, stream)));
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
        let mut failure = None;
        if store_ok {
            self.submit_lazy();
        }
        while store_ok && failure.is_none() && self.committed < self.submitted {
            match self.committer.next().await {
                Ok(seq) => {
                    self.committed = seq;
                    self.release();
                }
                Err(e) => {
                    tracing::error!(
                        "could not store state durably: {e}; stopping without sending unstored replies"
                    );
                    failure = Some(e);
                }
            }
        }
        let store_ok = store_ok && failure.is_none();
        if store_ok {
            self.release();
        }
        self.pending.clear();
        let now = self.clock.now();
        self.feed(Event::Shutdown, now);
        let records = std::mem::take(&mut self.records);
        if store_ok && !records.is_empty() {
            self.submitted += 1;
            self.committer.submit(self.submitted, records);
            if let Err(e) = self.committer.next().await {
                tracing::error!("the final commit (session ends) failed: {e}");
                failure = Some(e);
            }
        }
        let sends = std::mem::take(&mut self.sends);
        self.carry_out(sends);
        self.committer.stop().await;
        // Connections the core never heard of (accepted in the last instant) are closed too.
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
        failure.map_or(Ok(()), Err)
    }
}
