//! The server's runtime: sockets and the clock on one side, [`ServerState`] on the other.
//!
//! It moves bytes and deadlines and decides nothing. Shape:
//!
//! - an accept task numbers each connection and starts a **reader** and a **writer** task for it;
//! - readers split bytes into lines ([`LineDecoder`]) and append them to one shared inbox;
//! - one **driver** owns the core: it takes *everything* in the inbox as one batch, feeds it in, fires due
//!   timers, and hands the batch's records to the **commit thread** (one durable write per batch);
//! - the batch's lines wait until that commit is done and are then queued on the connections' outboxes,
//!   batches strictly in order — each outbox is written with one `write` per wake-up. Meanwhile the driver
//!   goes on with the next batch (at most [`ShellOptions::commit_depth`] batches wait), so a disk sync
//!   never stalls the core;
//! - the driver keeps a single OS timer, armed at the earliest deadline the core asked for.
//!
//! A failed commit stops the server: no reply of that batch or any later one is sent (they could say
//! "stored" of something that is not), and every client is told the server is shutting down.
//!
//! A client that stops reading never slows the others: its outbox is bounded, and when it overflows the
//! connection is dropped and the core told it disconnected.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_net::{TcpListener, TcpStream};
use event_listener::Event as Notify;
use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use rustc_hash::FxHashMap;
use smol::Task;

use super::committer::Committer;
use super::persist::Persister;
use super::timers::Timers;
use crate::protocol::{Frame, LineDecoder, render_into};
use crate::server::{ConnId, Effect, Event, Record, ServerState};
use crate::time::ShellClock;

/// Runtime limits that are not protocol rules.
#[derive(Clone, Debug)]
pub struct ShellOptions {
    /// The longest line accepted from a client, in bytes.
    pub max_line: usize,
    /// Bytes that may wait to be written to one client before it is considered stuck and dropped.
    pub max_outbound: usize,
    /// How long shutdown waits for goodbyes to be flushed.
    pub shutdown_grace: Duration,
    /// Batches that may be handled but not yet sent because their records are being committed. With 1
    /// the driver waits for each commit before taking the next batch; with 2 it prepares the next batch
    /// while the previous one commits. Replies always go out in batch order, each after its own commit.
    pub commit_depth: usize,
}

impl Default for ShellOptions {
    fn default() -> Self {
        ShellOptions {
            max_line: 8192,
            max_outbound: 256 * 1024,
            shutdown_grace: Duration::from_secs(2),
            commit_depth: 2,
        }
    }
}

/// Lines waiting in the inbox beyond which readers pause, so a flood cannot grow memory without bound.
const MAX_INBOX: usize = 64 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind; keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What readers and the accept task hand to the driver.
enum Input {
    Open {
        conn: ConnId,
        peer: SocketAddr,
        outbox: Arc<Outbox>,
        writer: Task<()>,
    },
    Line {
        conn: ConnId,
        line: Box<[u8]>,
    },
    TooLong {
        conn: ConnId,
    },
    Gone {
        conn: ConnId,
    },
}

#[derive(Default)]
struct Inbox {
    queue: Mutex<Vec<Input>>,
    ready: Notify,
    drained: Notify,
}

impl Inbox {
    fn push_all(&self, items: impl IntoIterator<Item = Input>) {
        let mut q = lock(&self.queue);
        let was_empty = q.is_empty();
        q.extend(items);
        let now_empty = q.is_empty();
        drop(q);
        if was_empty && !now_empty {
            self.ready.notify(1);
        }
    }

    fn push(&self, item: Input) {
        self.push_all(std::iter::once(item));
    }

    fn take(&self) -> Vec<Input> {
        let items = std::mem::take(&mut *lock(&self.queue));
        if !items.is_empty() {
            self.drained.notify(usize::MAX);
        }
        items
    }

    /// Waits while the inbox is over its bound.
    async fn wait_for_room(&self) {
        loop {
            let listener = self.drained.listen();
            if lock(&self.queue).len() < MAX_INBOX {
                return;
            }
            listener.await;
        }
    }
}

/// Bytes waiting for one connection's writer.
#[derive(Default)]
struct OutState {
    buf: Vec<u8>,
    /// Flush what is queued, then close.
    close: bool,
    /// Close now, dropping what is queued (overflow, or the connection is already gone).
    abort: bool,
}

struct Outbox {
    state: Mutex<OutState>,
    ready: Notify,
    /// Kept so an abort can shut the socket down: that unblocks a writer stuck in `write` to a peer
    /// that stopped reading, and the reader, so both tasks end and the descriptor is freed.
    stream: TcpStream,
}

impl Outbox {
    fn new(stream: TcpStream) -> Self {
        Outbox {
            state: Mutex::default(),
            ready: Notify::new(),
            stream,
        }
    }

    /// Queues bytes; `false` if that took the queue past `max` (the connection is then aborted).
    fn enqueue(&self, bytes: &[u8], max: usize) -> bool {
        let mut st = lock(&self.state);
        if st.abort || st.close {
            return true;
        }
        if st.buf.len() + bytes.len() > max {
            drop(st);
            self.abort();
            return false;
        }
        let was_empty = st.buf.is_empty();
        st.buf.extend_from_slice(bytes);
        drop(st);
        if was_empty {
            self.ready.notify(1);
        }
        true
    }

    fn close(&self) {
        lock(&self.state).close = true;
        self.ready.notify(1);
    }

    fn abort(&self) {
        let mut st = lock(&self.state);
        st.abort = true;
        st.buf = Vec::new();
        drop(st);
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.ready.notify(1);
    }
}

/// A running server's handle: its address, and a way to stop it.
pub struct ServerHandle {
    pub local_addr: SocketAddr,
    stop: smol::channel::Sender<()>,
    task: Task<io::Result<()>>,
}

impl ServerHandle {
    /// Asks the server to shut down cleanly (clients are told) and waits until it has.
    pub async fn shutdown(self) -> io::Result<()> {
        let _ = self.stop.try_send(());
        self.task.await
    }

    /// Waits for the server to stop by itself (only an error stops it).
    pub async fn join(self) -> io::Result<()> {
        self.task.await
    }

    /// A sender that stops the server when a value is sent (or it is dropped along with all clones).
    pub fn stopper(&self) -> smol::channel::Sender<()> {
        self.stop.clone()
    }
}

/// Starts serving on `listener` on smol's global executor.
pub fn spawn(
    listener: TcpListener,
    core: ServerState,
    persister: Box<dyn Persister>,
    opts: ShellOptions,
) -> io::Result<ServerHandle> {
    let local_addr = listener.local_addr()?;
    let (stop, stopped) = smol::channel::bounded(1);
    let task = smol::spawn(run(listener, core, persister, opts, stopped));
    Ok(ServerHandle {
        local_addr,
        stop,
        task,
    })
}

/// Serves until `stop` yields (or closes), then shuts down cleanly.
pub async fn run(
    listener: TcpListener,
    core: ServerState,
    persister: Box<dyn Persister>,
    opts: ShellOptions,
    stop: smol::channel::Receiver<()>,
) -> io::Result<()> {
    let committer = Committer::start(persister)?;
    let inbox = Arc::new(Inbox::default());
    let acceptor = smol::spawn(accept_loop(listener, inbox.clone(), opts.max_line));
    let mut driver = Driver {
        core,
        clock: ShellClock::start(),
        outboxes: FxHashMap::default(),
        closing: Vec::new(),
        timers: Timers::new(),
        effects: Vec::new(),
        records: Vec::new(),
        sends: Vec::new(),
        followups: VecDeque::new(),
        committer,
        pending: VecDeque::new(),
        submitted: 0,
        committed: 0,
        opts,
        inbox,
        scratch: Vec::new(),
    };
    let result = driver.serve(stop).await;
    drop(acceptor);
    if let Err(e) = &result {
        tracing::error!(
            "could not store state durably: {e}; stopping without sending unstored replies"
        );
    }
    let late = driver.shutdown(result.is_ok()).await;
    result.and(late)
}

async fn accept_loop(listener: TcpListener, inbox: Arc<Inbox>, max_line: usize) {
    let mut next_id = 1u64;
    let mut warned_fds = false;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                warned_fds = false;
                let _ = stream.set_nodelay(true);
                let conn = ConnId(next_id);
                next_id += 1;
                tracing::debug!("{conn} connected from {peer}");
                let outbox = Arc::new(Outbox::new(stream.clone()));
                let writer =
                    smol::spawn(writer(stream.clone(), conn, outbox.clone(), inbox.clone()));
                inbox.push(Input::Open {
                    conn,
                    peer,
                    outbox,
                    writer,
                });
                smol::spawn(reader(stream, conn, inbox.clone(), max_line)).detach();
            }
            Err(e) if is_out_of_fds(&e) => {
                // Nothing to accept with: back off instead of spinning, and say so once per episode.
                if !warned_fds {
                    tracing::warn!(
                        "out of file descriptors ({e}); new connections wait until some close"
                    );
                    warned_fds = true;
                }
                smol::Timer::after(Duration::from_millis(100)).await;
            }
            Err(e) => {
                tracing::debug!("accept failed: {e}");
                smol::Timer::after(Duration::from_millis(5)).await;
            }
        }
    }
}

fn is_out_of_fds(e: &io::Error) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    matches!(e.raw_os_error(), Some(EMFILE | ENFILE))
}

async fn reader(mut stream: TcpStream, conn: ConnId, inbox: Arc<Inbox>, max_line: usize) {
    let mut decoder = LineDecoder::new(max_line);
    let mut buf = vec![0u8; 4096];
    let mut batch = Vec::new();
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        decoder.feed(&buf[..n], |frame| {
            batch.push(match frame {
                Frame::Line(line) => Input::Line {
                    conn,
                    line: line.into(),
                },
                Frame::TooLong => Input::TooLong { conn },
            })
        });
        if !batch.is_empty() {
            inbox.wait_for_room().await;
            inbox.push_all(batch.drain(..));
        }
    }
    inbox.push(Input::Gone { conn });
}

async fn writer(mut stream: TcpStream, conn: ConnId, outbox: Arc<Outbox>, inbox: Arc<Inbox>) {
    enum Next {
        Write,
        Wait,
        Finish { flush: bool },
    }
    let mut batch = Vec::new();
    loop {
        let listener = outbox.ready.listen();
        let next = {
            let mut st = lock(&outbox.state);
            if st.abort {
                Next::Finish { flush: false }
            } else if !st.buf.is_empty() {
                std::mem::swap(&mut st.buf, &mut batch);
                Next::Write
            } else if st.close {
                Next::Finish { flush: true }
            } else {
                Next::Wait
            }
        };
        match next {
            Next::Wait => {
                listener.await;
                continue;
            }
            Next::Finish { flush } => {
                if flush {
                    let _ = stream.flush().await;
                }
                let _ = stream.shutdown(std::net::Shutdown::Both);
                return;
            }
            Next::Write => {}
        }
        if stream.write_all(&batch).await.is_err() {
            outbox.abort();
            inbox.push(Input::Gone { conn });
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
        batch.clear();
        if batch.capacity() > 64 * 1024 {
            batch = Vec::new();
        }
    }
}

struct Driver {
    core: ServerState,
    clock: ShellClock,
    outboxes: FxHashMap<ConnId, (Arc<Outbox>, Task<()>)>,
    /// Writers of closed connections still flushing; awaited at shutdown.
    closing: Vec<Task<()>>,
    timers: Timers,
    /// The core's output for the event being handled.
    effects: Vec<Effect>,
    /// Records of the current batch, committed before any of its sends.
    records: Vec<Record>,
    /// Sends and closes of the current batch, carried out after the commit.
    sends: Vec<Effect>,
    /// Disconnects the driver itself discovered (overflowing outboxes), fed in as the next batch.
    followups: VecDeque<ConnId>,
    committer: Committer,
    /// Handled batches whose lines are not sent yet, oldest first.
    pending: VecDeque<Pending>,
    /// The sequence number of the last batch handed to the committer.
    submitted: u64,
    /// Every batch up to this sequence number is durable.
    committed: u64,
    opts: ShellOptions,
    inbox: Arc<Inbox>,
    scratch: Vec<u8>,
}

/// One handled batch waiting to be sent.
struct Pending {
    /// Its records' sequence number, if it had records: it may be sent once that is committed.
    commit: Option<u64>,
    sends: Vec<Effect>,
}

impl Driver {
    async fn serve(&mut self, stop: smol::channel::Receiver<()>) -> io::Result<()> {
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
            if self.pending.len() >= self.opts.commit_depth.max(1) {
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
            let listener = self.inbox.ready.listen();
            let inputs = self.inbox.take();
            let now = self.clock.now();
            let timers_due = self.timers.next_deadline().is_some_and(|at| at <= now);
            if !inputs.is_empty() || timers_due || !self.followups.is_empty() {
                self.batch(inputs);
                continue;
            }
            let deadline = self
                .timers
                .next_deadline()
                .map(|at| self.clock.instant_at(at));
            let input = async {
                listener.await;
                Wake::Input
            };
            let timer = async {
                match deadline {
                    Some(at) => {
                        smol::Timer::at(at).await;
                    }
                    None => std::future::pending::<()>().await,
                }
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
                Wake::Input | Wake::Timer => {}
            }
        }
    }

    /// Feeds one batch in and hands its records to the committer; its output waits for the commit.
    fn batch(&mut self, inputs: Vec<Input>) {
        let now = self.clock.now();
        tracing::trace!("batch of {} inputs", inputs.len());
        while let Some(conn) = self.followups.pop_front() {
            self.feed(Event::Disconnected { conn }, now);
        }
        for input in inputs {
            match input {
                Input::Open {
                    conn,
                    peer,
                    outbox,
                    writer,
                } => {
                    self.outboxes.insert(conn, (outbox, writer));
                    self.feed(Event::Connected { conn, peer }, now);
                }
                Input::Line { conn, line } => self.feed(Event::Line { conn, line: &line }, now),
                Input::TooLong { conn } => self.feed(Event::LineTooLong { conn }, now),
                Input::Gone { conn } => {
                    tracing::debug!("{conn} gone");
                    if let Some((outbox, writer)) = self.outboxes.remove(&conn) {
                        outbox.abort();
                        writer.detach();
                    }
                    self.feed(Event::Disconnected { conn }, now);
                }
            }
        }
        while let Some(timer) = self.timers.pop_due(now) {
            self.feed(Event::TimerFired { timer }, now);
        }
        self.finish_batch();
    }

    /// Submits the batch's records (if any) and queues its output behind them.
    fn finish_batch(&mut self) {
        let commit = if self.records.is_empty() {
            None
        } else {
            self.submitted += 1;
            self.committer
                .submit(self.submitted, std::mem::take(&mut self.records));
            Some(self.submitted)
        };
        let sends = std::mem::take(&mut self.sends);
        if commit.is_some() || !sends.is_empty() {
            self.pending.push_back(Pending { commit, sends });
        }
        self.release();
    }

    /// Sends, in order, every waiting batch whose records are durable, stopping at the first that is not.
    fn release(&mut self) {
        while let Some(p) = self.pending.front() {
            if p.commit.is_some_and(|seq| seq > self.committed) {
                break;
            }
            let p = self.pending.pop_front().expect("front exists");
            self.carry_out(p.sends);
        }
        self.closing.retain(|t| !t.is_finished());
    }

    /// Hands one event to the core and sorts its effects: timers at once, records and sends for the
    /// end of the batch.
    fn feed(&mut self, event: Event<'_>, now: crate::time::Timestamp) {
        self.core.handle(event, now, &mut self.effects);
        for effect in self.effects.drain(..) {
            match effect {
                Effect::SetTimer { timer, at } => self.timers.set(timer, at),
                Effect::CancelTimer { timer } => self.timers.cancel(timer),
                Effect::Persist(record) => self.records.push(record),
                send_or_close => self.sends.push(send_or_close),
            }
        }
    }

    /// Renders and queues one batch's lines, and closes the connections it closed.
    fn carry_out(&mut self, sends: Vec<Effect>) {
        let max = self.opts.max_outbound;
        for effect in sends {
            match effect {
                Effect::Send { to, msg } => {
                    self.scratch.clear();
                    render_into(&msg, &mut self.scratch);
                    self.enqueue(to, max);
                }
                Effect::SendMany { to, msg } => {
                    self.scratch.clear();
                    render_into(&msg, &mut self.scratch);
                    for conn in to {
                        self.enqueue(conn, max);
                    }
                }
                Effect::Close { conn } => {
                    if let Some((outbox, writer)) = self.outboxes.remove(&conn) {
                        outbox.close();
                        self.closing.push(writer);
                    }
                }
                Effect::SetTimer { .. } | Effect::CancelTimer { .. } | Effect::Persist(_) => {
                    unreachable!("sorted out in feed")
                }
            }
        }
    }

    /// Queues `self.scratch` for `conn`, dropping the connection if its queue overflows.
    fn enqueue(&mut self, conn: ConnId, max: usize) {
        let Some((outbox, _)) = self.outboxes.get(&conn) else {
            return;
        };
        if !outbox.enqueue(&self.scratch, max) {
            tracing::warn!("{conn} is not reading; dropped after {max} bytes queued");
            if let Some((_, writer)) = self.outboxes.remove(&conn) {
                writer.detach();
            }
            self.followups.push_back(conn);
        }
    }

    /// Tells every client, closes every connection, and waits (boundedly) for the goodbyes to flush.
    ///
    /// With a healthy store, the batches already handled are committed and sent first, then the session
    /// ends of the shutdown itself. After a failed commit, nothing that waited for a commit is sent; the
    /// goodbyes still are, as they claim nothing was stored.
    ///
    /// Returns a commit failure met on the way, so the server does not exit as if all went well.
    async fn shutdown(&mut self, store_ok: bool) -> io::Result<()> {
        let mut failure = None;
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
        } else {
            self.pending.clear();
        }
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
        for (_, (outbox, writer)) in self.outboxes.drain() {
            outbox.close();
            self.closing.push(writer);
        }
        let writers = std::mem::take(&mut self.closing);
        let all_flushed = async {
            for w in writers {
                w.await;
            }
        };
        let grace = self.opts.shutdown_grace;
        all_flushed
            .or(async {
                smol::Timer::after(grace).await;
            })
            .await;
        failure.map_or(Ok(()), Err)
    }
}
