//! A server that is one node of a cluster: its core is fed from the shared log, not from its sockets.
//!
//! The driver hands every event of this node's connections to [`Link::append`] instead of the core; the
//! tasks here append them to the Redis Stream (in order, retrying until Redis has them), read the whole
//! stream back (everyone's events, in the one order) into the inbox, tick the log's clock, and store the
//! snapshots the driver takes; a thread of its own keeps this node's lease and watches the others'. The
//! core then sees exactly what every other node's core sees, so the rules hold across the cluster; each
//! node carries out only what is aimed at its own connections (the others' are not in its connection
//! table). What the driver does with each entry is in `replica`.
//!
//! Failure handling: while Redis cannot be reached, nothing is appended, so nothing is acknowledged;
//! the node logs what is wrong and retries every half second. A node that cannot renew its lease for
//! most of its life closes its own connections (the others will end them in the log when the lease runs
//! out), so a node cut off can never hold a session the rest of the cluster has ended. A node whose
//! lease is gone is dead: every node that notices appends the end of each of its connections. A reader
//! that finds entries missing (trimmed while it was away) loads the latest snapshot and goes on from it.

use std::cell::Cell;
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_lite::FutureExt;
use smol::channel::{Receiver, Sender};

use super::Shared;
use super::inbox::Input;
use crate::server::{ConnId, LogEntry, LoggedEvent, OwnedEvent, ReplicaLog};
use crate::shell::cluster::{
    ClusterKey, Endpoint, LEASE, LogWriter, Membership, NODE_SHIFT, RESPONSE_MARGIN, RedisLog,
    Snapshots,
};
use crate::time::ShellClock;

/// Where the cluster is and who this node is.
#[derive(Clone, Debug)]
pub struct ClusterNode {
    /// Where Redis is, and how to get in.
    pub endpoint: Endpoint,
    /// The cluster key, when what the cluster keeps in Redis is sealed.
    pub seal: Option<ClusterKey>,
    /// Prefix of every key the cluster uses in Redis (the log is `<prefix>:log`).
    pub prefix: String,
    /// This node's number ([`Membership::join`]).
    pub node: u64,
    /// The name the operator gave it, for the logs.
    pub name: String,
    /// Entries of the log between two snapshots (the most a starting node replays).
    pub snapshot_every: u64,
    /// Where in the log the core handed to the server is: the start, or the snapshot it was loaded
    /// from.
    pub log: ReplicaLog,
}

/// How often the lease is renewed and the others' checked.
const LEASE_EVERY: Duration = Duration::from_secs(1);
/// A node that could not renew its lease for this long stops serving its connections. Counted from when
/// the last successful renewal was *sent*, so it always comes before the lease runs out in Redis.
const FENCE_AFTER: Duration = Duration::from_secs(4);
/// How often a node appends the time, so timers fire when nobody types.
const TICK_EVERY: Duration = Duration::from_millis(250);
/// The longest a read of the log blocks.
const READ_BLOCK: Duration = Duration::from_millis(500);
/// The most entries one read of the log takes: a node that fell behind catches up in few, large
/// reads, and the driver then acts on a large batch at once.
const READ_MAX: usize = 4096;
/// The most entries appended in one pipeline of XADDs.
const APPEND_BATCH: usize = 512;
/// The most batches sent to Redis and not yet confirmed: the next is sent while the ones before are
/// in flight (Redis stores one connection's commands in order, and syncs its file once for all the
/// commands it read at once).
const MAX_IN_FLIGHT: usize = 16;
/// Pause before trying Redis again.
const RETRY: Duration = Duration::from_millis(500);
/// A snapshot is taken at least this often (of log time) when anything happened since the last.
pub(super) const SNAPSHOT_MAX_AGE_MS: u64 = 10 * 60 * 1000;

pub(super) fn node_of(conn: ConnId) -> u64 {
    conn.0 >> NODE_SHIFT
}

/// The first connection id of `node` (node 0, a server alone, counts from 1 as it always has).
pub(super) fn first_conn_id(node: u64) -> u64 {
    (node << NODE_SHIFT) | 1
}

/// A snapshot the driver took, on its way to Redis.
pub(super) struct Taken {
    /// The log entry it is the state after.
    pub(super) position: u64,
    pub(super) bytes: Vec<u8>,
    /// How long encoding held the driver (it serves nobody meanwhile), for the log.
    pub(super) encoding: Duration,
}

/// What the driver holds of the cluster.
pub(super) struct Link {
    pub(super) node: u64,
    pub(super) append: Sender<LoggedEvent>,
    /// Time, position and duplicates of the log (the core itself is the driver's).
    pub(super) log: ReplicaLog,
    /// Snapshots taken, to the task that stores them.
    pub(super) snapshots: Sender<Taken>,
    /// Entries between snapshots.
    pub(super) snapshot_every: u64,
    /// The position and log time of the last snapshot this node took or started from.
    pub(super) last_snapshot: (u64, crate::time::Timestamp),
    /// How far this node has applied the log, for its lease (the log is not trimmed past it).
    pub(super) applied: Arc<AtomicU64>,
    /// Whether this node is the one that takes snapshots (the live node with the lowest number).
    pub(super) takes_snapshots: Arc<AtomicBool>,
    /// Why this node cannot follow the log any more (a hole it could not fill), once that happens.
    pub(super) lost: Option<String>,
    /// Set while this node has lost its lease: it serves nobody, and appends nothing of its own
    /// connections but their ends.
    pub(super) fenced: Rc<Cell<bool>>,
    /// The appender's queue, to take back what should no longer be appended once fenced.
    pub(super) queue: Receiver<LoggedEvent>,
    /// This node's connections still logging in that have lines waiting (see `replica`).
    pub(super) gates: rustc_hash::FxHashMap<ConnId, crate::server::LineGate>,
    /// The text of each of its connections' latest password line, for the password job.
    pub(super) secrets: rustc_hash::FxHashMap<ConnId, crate::password::Cleartext>,
}

/// The node's background tasks; dropping them stops them (and the lease thread).
pub(super) struct Tasks {
    _tasks: Vec<smol::Task<()>>,
    stop_lease: Arc<AtomicBool>,
}

impl Drop for Tasks {
    fn drop(&mut self) {
        self.stop_lease.store(true, Ordering::Relaxed);
    }
}

/// What the lease thread tells the driver.
enum LeaseNews {
    NodeDead(u64),
    Fenced,
    Renewed,
}

/// Starts appending, reading (after `log`'s position), ticking, storing snapshots and the lease.
pub(super) fn start(
    ex: &smol::LocalExecutor<'static>,
    shared: Rc<Shared>,
    cluster: &ClusterNode,
) -> (Link, Tasks) {
    let log = cluster.log.clone();
    let (append, queue) = smol::channel::unbounded();
    let fenced = Rc::new(Cell::new(false));
    let key = format!("{}:log", cluster.prefix);
    let applied = Arc::new(AtomicU64::new(log.position()));
    let takes_snapshots = Arc::new(AtomicBool::new(false));
    // The lease is kept on a thread of its own: a driver busy with a burst (a fan-out to thousands)
    // must not let it lapse, or a loaded node would be taken for a dead one.
    let stop_lease = Arc::new(AtomicBool::new(false));
    let (news_tx, news) = smol::channel::unbounded();
    {
        let lease_state = LeaseState {
            cluster: cluster.clone(),
            news: news_tx,
            stop: stop_lease.clone(),
            applied: applied.clone(),
            takes_snapshots: takes_snapshots.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("natter-lease".into())
            .spawn(move || smol::block_on(lease(lease_state)));
        if let Err(e) = spawned {
            tracing::error!("cannot start the lease thread: {e}; this node will be taken for dead");
        }
    }
    let relay = {
        let shared = shared.clone();
        async move {
            while let Ok(n) = news.recv().await {
                shared.push(match n {
                    LeaseNews::NodeDead(node) => Input::NodeDead(node),
                    LeaseNews::Fenced => Input::Fenced,
                    LeaseNews::Renewed => Input::Unfenced,
                });
            }
        }
    };
    let (snapshots, taken) = smol::channel::bounded(1);
    let tasks = vec![
        ex.spawn(relay),
        ex.spawn(appender(
            cluster.endpoint.clone(),
            key.clone(),
            cluster.node,
            queue.clone(),
            fenced.clone(),
            cluster.seal.clone(),
        )),
        ex.spawn(reader(
            cluster.endpoint.clone(),
            cluster.prefix.clone(),
            key,
            log.position(),
            shared.clone(),
            cluster.seal.clone(),
        )),
        ex.spawn(ticker(append.clone(), shared.clone())),
        ex.spawn(store_snapshots(
            cluster.endpoint.clone(),
            cluster.prefix.clone(),
            cluster.node,
            taken,
            cluster.seal.clone(),
        )),
    ];
    let last_snapshot = (log.position(), log.log_now());
    let link = Link {
        node: cluster.node,
        append,
        log,
        snapshots,
        snapshot_every: cluster.snapshot_every.max(1),
        last_snapshot,
        applied,
        takes_snapshots,
        lost: None,
        fenced,
        queue,
        gates: Default::default(),
        secrets: Default::default(),
    };
    (
        link,
        Tasks {
            _tasks: tasks,
            stop_lease,
        },
    )
}

/// A connection to Redis that comes back by itself: connects when first needed and after a failure,
/// retrying every [`RETRY`], and says once that Redis is unreachable and once that it is back.
struct Reconnecting<T> {
    /// What this connection is for, in the log lines.
    what: &'static str,
    endpoint: Endpoint,
    con: Option<T>,
    /// Since when Redis has failed this connection.
    down_since: Option<Instant>,
}

impl<T> Reconnecting<T> {
    fn new(endpoint: Endpoint, what: &'static str) -> Self {
        Reconnecting {
            endpoint,
            what,
            con: None,
            down_since: None,
        }
    }

    /// The connection, if there is one or one can be made now; `None` after a failed try (and a
    /// pause), so that the caller looks again at what it holds before the next.
    async fn get<F, Fut>(&mut self, connect: F) -> Option<&mut T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, crate::shell::cluster::LogError>>,
    {
        let con = match self.con.take() {
            Some(c) => c,
            None => match connect().await {
                Ok(c) => c,
                Err(e) => {
                    self.failed(&e).await;
                    return None;
                }
            },
        };
        Some(self.con.insert(con))
    }

    /// A request failed: the connection is dropped, and the next [`Self::get`] makes a new one after a
    /// pause.
    async fn failed(&mut self, e: &dyn std::fmt::Display) {
        self.con = None;
        if self.down_since.is_none() {
            self.down_since = Some(Instant::now());
            tracing::error!(
                "{}: {e} (Redis at {} is needed to serve: nothing is acknowledged until it is back; \
                 retrying every {} ms)",
                self.what,
                self.endpoint,
                RETRY.as_millis()
            );
        }
        smol::Timer::after(RETRY).await;
    }

    /// A request succeeded.
    fn ok(&mut self) {
        if let Some(since) = self.down_since.take() {
            tracing::warn!(
                "{}: Redis is reachable again after {:.1} s",
                self.what,
                since.elapsed().as_secs_f64()
            );
        }
    }
}

/// Whether an entry waiting to be appended still should be once this node is fenced: the events of
/// its own connections are not (their users were told the server cannot serve, so what they typed
/// must not happen later behind their backs), except their ends; another node's connections ended
/// on its behalf are. What Redis already has may still count: an append whose answer was lost.
pub(super) fn still_wanted_when_fenced(node: u64, entry: &LoggedEvent) -> bool {
    match &entry.event {
        OwnedEvent::Disconnected { .. } => true,
        OwnedEvent::Tick => false,
        other => LogEntry::conn_of(other).is_none_or(|c| node_of(c) != node),
    }
}

/// A batch of this node's entries, each with its number, on its way to Redis.
struct Batch {
    entries: Vec<(u64, LoggedEvent)>,
    /// When it was sent on the connection in use (`None`: not yet, or to send again on a new one).
    sent: Option<Instant>,
}

impl Batch {
    fn numbered(&self) -> Vec<(u64, &LoggedEvent)> {
        self.entries.iter().map(|(s, e)| (*s, e)).collect()
    }
}

/// What the appender waited for.
enum Next {
    /// Redis answered the oldest batch in flight (or failed it).
    Confirmed(Result<(), crate::shell::cluster::LogError>),
    /// The driver queued more (`None`: it is gone).
    More(Option<LoggedEvent>),
    /// The oldest batch in flight had no answer within its time.
    Late,
}

/// Appends what the driver queues, in order, each entry numbered for this node, pipelined: a batch is
/// sent as soon as it is queued, while earlier ones wait for Redis's answer (at most
/// [`MAX_IN_FLIGHT`]). After a failure (an error, or no answer within [`RESPONSE_MARGIN`]) a new
/// connection is made and every batch not confirmed is sent again, in order and with the same
/// numbers, so a reader drops what the first try got in. Once the node is fenced, what it has not
/// sent of its own connections' events is dropped (see [`still_wanted_when_fenced`]).
async fn appender(
    endpoint: Endpoint,
    key: String,
    node: u64,
    queue: Receiver<LoggedEvent>,
    fenced: Rc<Cell<bool>>,
    seal: Option<ClusterKey>,
) {
    let mut log = Reconnecting::new(endpoint.clone(), "cannot append to the cluster's log");
    let connect = || LogWriter::connect(&endpoint, &key, node, seal.clone());
    let mut seq = 0u64;
    let mut unconfirmed: VecDeque<Batch> = VecDeque::new();
    let mut open = true;
    while open || !unconfirmed.is_empty() {
        if fenced.get() {
            for batch in unconfirmed.iter_mut().filter(|b| b.sent.is_none()) {
                batch
                    .entries
                    .retain(|(_, e)| still_wanted_when_fenced(node, e));
            }
            unconfirmed.retain(|b| !b.entries.is_empty());
            if unconfirmed.is_empty() && !open {
                break;
            }
        }
        if !unconfirmed.is_empty() {
            let Some(con) = log.get(connect).await else {
                // No connection: whatever was sent goes again on the next one.
                unconfirmed.iter_mut().for_each(|b| b.sent = None);
                continue;
            };
            let mut failed = None;
            for batch in unconfirmed.iter_mut().filter(|b| b.sent.is_none()) {
                if let Err(e) = con.send(&batch.numbered()).await {
                    failed = Some(e);
                    break;
                }
                batch.sent = Some(Instant::now());
            }
            if let Some(e) = failed {
                unconfirmed.iter_mut().for_each(|b| b.sent = None);
                log.failed(&e).await;
                continue;
            }
        }
        let room = open && unconfirmed.len() < MAX_IN_FLIGHT;
        let next = match (unconfirmed.front().and_then(|b| b.sent), log.con.as_mut()) {
            (Some(sent), Some(con)) => {
                // The answer first: one already there is taken, however late this task is polled.
                let confirm = async { Next::Confirmed(con.confirmed().await) };
                let more = async {
                    if room {
                        Next::More(queue.recv().await.ok())
                    } else {
                        futures_lite::future::pending().await
                    }
                };
                let late = async {
                    smol::Timer::at(sent + RESPONSE_MARGIN).await;
                    Next::Late
                };
                confirm.or(more).or(late).await
            }
            _ => Next::More(queue.recv().await.ok()),
        };
        match next {
            Next::Confirmed(Ok(())) => {
                unconfirmed.pop_front();
                log.ok();
            }
            Next::Confirmed(Err(e)) => {
                unconfirmed.iter_mut().for_each(|b| b.sent = None);
                log.failed(&e).await;
            }
            Next::Late => {
                unconfirmed.iter_mut().for_each(|b| b.sent = None);
                log.failed(&format!(
                    "Redis did not answer an append within {} ms",
                    RESPONSE_MARGIN.as_millis()
                ))
                .await;
            }
            Next::More(None) => open = false,
            Next::More(Some(first)) => {
                let mut entries = Vec::with_capacity(queue.len().min(APPEND_BATCH) + 1);
                let mut number = |e: LoggedEvent| {
                    seq += 1;
                    (seq, e)
                };
                entries.push(number(first));
                while entries.len() < APPEND_BATCH {
                    match queue.try_recv() {
                        Ok(e) => entries.push(number(e)),
                        Err(_) => break,
                    }
                }
                unconfirmed.push_back(Batch {
                    entries,
                    sent: None,
                });
            }
        }
    }
}

/// Reads the log after `position` into the inbox, and follows it. When entries it has not read are
/// gone (trimmed behind a snapshot while this node was away), it hands the driver the latest snapshot
/// and goes on from there.
async fn reader(
    endpoint: Endpoint,
    prefix: String,
    key: String,
    mut position: u64,
    shared: Rc<Shared>,
    seal: Option<ClusterKey>,
) {
    let mut log = Reconnecting::new(endpoint.clone(), "cannot read the cluster's log");
    let connect = || RedisLog::connect(&endpoint, &key, READ_BLOCK, seal.clone());
    loop {
        let Some(con) = log.get(connect).await else {
            continue;
        };
        let entries = match con.read_after(position, READ_MAX).await {
            Ok(entries) => {
                log.ok();
                entries
            }
            Err(e) => {
                log.failed(&e).await;
                continue;
            }
        };
        let Some(first) = entries.first() else {
            continue;
        };
        if first.position != position + 1 {
            tracing::warn!(
                "the cluster's log was trimmed past this node (it had read up to entry {position}, the \
                 log now starts at {}): starting again from the latest snapshot",
                first.position
            );
            match latest_snapshot(&endpoint, &prefix, seal.clone()).await {
                Some((at, bytes)) => {
                    position = at;
                    shared.wait_for_room().await;
                    shared.push(Input::Restart(bytes));
                }
                None => {
                    smol::Timer::after(RETRY).await;
                }
            }
            continue;
        }
        for entry in entries {
            position = entry.position;
            shared.wait_for_room().await;
            shared.push_quietly(Input::Logged(Box::new(entry)));
        }
        shared.wake_driver();
    }
}

/// The cluster's latest snapshot and its position, or `None` (after saying why) if there is none that
/// can be read.
async fn latest_snapshot(
    endpoint: &Endpoint,
    prefix: &str,
    seal: Option<ClusterKey>,
) -> Option<(u64, Vec<u8>)> {
    let bytes = match Snapshots::connect(endpoint, prefix, seal).await {
        Ok(mut s) => s.latest().await,
        Err(e) => Err(e),
    };
    match bytes {
        Ok(Some(bytes)) => match crate::server::snapshot::position_of(&bytes) {
            Ok(at) => Some((at, bytes)),
            Err(e) => {
                tracing::error!("the cluster's latest snapshot cannot be read: {e}");
                None
            }
        },
        Ok(None) => {
            tracing::error!("the cluster's log has a hole and there is no snapshot to start from");
            None
        }
        Err(e) => {
            tracing::error!("cannot fetch the cluster's latest snapshot: {e}");
            None
        }
    }
}

/// Stores the snapshots the driver takes, and trims the log behind them (never past a live node).
async fn store_snapshots(
    endpoint: Endpoint,
    prefix: String,
    node: u64,
    taken: Receiver<Taken>,
    seal: Option<ClusterKey>,
) {
    // A snapshot stored whose trim another node held back: trimmed again at that instant.
    let mut retrim: Option<(Instant, u64)> = None;
    loop {
        let next = async { taken.recv().await.ok() };
        let Taken {
            position,
            bytes,
            encoding,
        } = match retrim {
            Some((at, position)) => {
                let due = async {
                    smol::Timer::at(at).await;
                    None
                };
                match next.or(due).await {
                    Some(taken) => taken,
                    None => {
                        retrim = None;
                        trim_again(&endpoint, &prefix, node, position).await;
                        continue;
                    }
                }
            }
            None => match next.await {
                Some(taken) => taken,
                None => return,
            },
        };
        let started = Instant::now();
        let stored = async {
            let mut members = Membership::connect(&endpoint, &prefix, None).await?;
            let highest = members.nodes().await?;
            let slowest = members.slowest_applied(highest, node).await?;
            let keep_from = slowest.unwrap_or(position).min(position) + 1;
            let mut snapshots = Snapshots::connect(&endpoint, &prefix, seal.clone()).await?;
            let stored = snapshots.store(position, &bytes, keep_from).await?;
            Ok::<_, crate::shell::cluster::LogError>((stored, keep_from))
        };
        match stored.await {
            Ok((true, keep_from)) => {
                tracing::info!(
                    "snapshot of the cluster at log entry {position} stored ({} KiB, encoded in {} ms, \
                     stored in {} ms); the log now starts at entry {keep_from}",
                    bytes.len() / 1024,
                    encoding.as_millis(),
                    started.elapsed().as_millis()
                );
                retrim =
                    (keep_from <= position).then(|| (Instant::now() + LEASE_EVERY * 2, position));
            }
            Ok((false, _)) => {
                tracing::debug!("a snapshot as recent as entry {position} was already stored")
            }
            Err(e) => tracing::warn!("could not store a snapshot at entry {position}: {e}"),
        }
    }
}

/// A node held the log back from the snapshot at `position` (its last report is up to a lease renewal
/// old, or it is slow): the log is trimmed again once the nodes have reported since, so that it does
/// not keep waiting for the next snapshot.
async fn trim_again(endpoint: &Endpoint, prefix: &str, node: u64, position: u64) {
    let trimmed = async {
        let mut members = Membership::connect(endpoint, prefix, None).await?;
        let highest = members.nodes().await?;
        let slowest = members.slowest_applied(highest, node).await?;
        let keep_from = slowest.unwrap_or(position).min(position) + 1;
        Snapshots::connect(endpoint, prefix, None)
            .await?
            .trim(keep_from)
            .await
    };
    if let Err(e) = trimmed.await {
        tracing::debug!("could not trim the log behind entry {position}: {e}");
    }
}

/// Appends the time when one of the core's timers is due by this node's clock and nothing else is
/// waiting to be appended (any entry moves the log's time). An idle cluster with no timers appends
/// nothing; otherwise at most one tick per node every [`TICK_EVERY`].
async fn ticker(append: Sender<LoggedEvent>, shared: Rc<Shared>) {
    let clock = ShellClock::start();
    loop {
        smol::Timer::after(TICK_EVERY).await;
        let now = clock.now();
        let due = shared.next_core_timer.get().is_some_and(|at| at <= now);
        if due && append.is_empty() && append.send(LoggedEvent::tick(now)).await.is_err() {
            return;
        }
    }
}

/// What the lease thread works with.
struct LeaseState {
    cluster: ClusterNode,
    news: Sender<LeaseNews>,
    stop: Arc<AtomicBool>,
    /// How far the driver has applied the log.
    applied: Arc<AtomicU64>,
    /// Set while this node is the live node with the lowest number.
    takes_snapshots: Arc<AtomicBool>,
}

/// Renews this node's lease; tells the driver when it has lapsed (stop serving), when it is renewed
/// again (serve again), and when another node's has lapsed (end its connections).
async fn lease(s: LeaseState) {
    let cluster = &s.cluster;
    let mut members: Option<Membership> = None;
    let mut renewed = Instant::now();
    let mut fenced = false;
    let mut dead = BTreeSet::new();
    while !s.stop.load(Ordering::Relaxed) {
        if members.is_none() {
            // Leases and positions are not sealed: they say nothing of what users do.
            members = Membership::connect(&cluster.endpoint, &cluster.prefix, None)
                .await
                .ok();
        }
        // A node that was frozen or cut off for most of a lease may have been declared dead: it stops
        // serving its connections before anything else, even if Redis answers again at once.
        if !fenced && renewed.elapsed() >= FENCE_AFTER {
            fenced = true;
            s.takes_snapshots.store(false, Ordering::Relaxed);
            tracing::error!(
                "node {} ({}) could not renew its lease for {} s: closing its connections, which the rest of the cluster ends",
                cluster.node,
                cluster.name,
                FENCE_AFTER.as_secs()
            );
            let _ = s.news.send(LeaseNews::Fenced).await;
        }
        if let Some(m) = members.as_mut() {
            let sent = Instant::now();
            let applied = s.applied.load(Ordering::Relaxed);
            match m.renew(cluster.node, LEASE, applied).await {
                Ok(()) => {
                    renewed = sent;
                    if std::mem::take(&mut fenced) {
                        tracing::warn!(
                            "node {} ({}) holds its lease again: serving",
                            cluster.node,
                            cluster.name
                        );
                        let _ = s.news.send(LeaseNews::Renewed).await;
                    }
                    let highest = m.nodes().await.unwrap_or(0);
                    if let Ok(alive) = m.alive(highest).await {
                        let lowest_alive = (1..).zip(&alive).find(|(_, a)| **a).map(|(n, _)| n);
                        s.takes_snapshots
                            .store(lowest_alive == Some(cluster.node), Ordering::Relaxed);
                        for (other, alive) in (1..).zip(alive) {
                            if other == cluster.node {
                                continue;
                            }
                            if alive {
                                // Back (a node that was cut off renews its lease again): watched anew.
                                dead.remove(&other);
                            } else if dead.insert(other) {
                                let _ = s.news.send(LeaseNews::NodeDead(other)).await;
                            }
                        }
                    }
                }
                Err(_) => members = None,
            }
        }
        smol::Timer::after(LEASE_EVERY).await;
    }
}
