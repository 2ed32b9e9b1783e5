//! A server that is one node of a cluster: the tasks that move its bytes to and from Redis.
//!
//! What the node decides is in `server::cluster::node` (the pure [`Node`](natter_core::server::cluster::node::Node)), composed
//! with the rest of the server side in `server::composed`, whose outputs the driver hands to the
//! [`Link`] here. The tasks here append what it asks to the Redis Stream (in order, retrying until Redis
//! has them), read the whole stream back (everyone's events, in the one order) into the inbox, store
//! the snapshots it hands over and trim the log as far as it says; a thread of its own renews this
//! node's lease when the node's [`Renewals`] say and reads the others' leases and positions, and
//! reports both to the node, which decides what follows (fencing itself, ending a dead node's
//! connections, who takes snapshots, how far to trim).
//!
//! While Redis cannot be reached, nothing is appended, so nothing is acknowledged; the tasks log what is
//! wrong and retry every half second. When the node finds entries missing (trimmed while it was away)
//! and asks for the latest snapshot, the reader fetches it for the node to start again from, and goes
//! on after it.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_lite::FutureExt;
use smol::channel::{Receiver, Sender};

use super::Shared;
use super::inbox::Input;
use crate::shell::clock::ShellClock;
use crate::shell::cluster::{
    Batch, ClusterKey, Echoes, Endpoint, Membership, RETRY, Reconnecting, RedisLog, Snapshots,
    appender,
};
use natter_core::server::cluster::ReplicaLog;
use natter_core::server::cluster::node::Snapshot;
use natter_core::server::cluster::node::{MAX_ENTRY_BYTES, Renewals};
use natter_core::server::composed::News;

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

/// The longest a read of the log blocks.
const READ_BLOCK: Duration = Duration::from_millis(500);
/// The most entries one read of the log takes: a node that fell behind catches up in few, large
/// reads, and the driver then acts on all of it at once (the messages to one user share a write).
/// An entry holds at most [`MAX_ENTRY_BYTES`] of events, so a read brings at most 16 MiB.
const READ_MAX: usize = 16 * 1024 * 1024 / MAX_ENTRY_BYTES;

/// A snapshot the driver took, on its way to Redis.
pub(super) struct Taken {
    /// The log entry it is the state after.
    pub(super) position: u64,
    pub(super) bytes: Vec<u8>,
    /// How long encoding held the driver (it serves nobody meanwhile), for the log.
    pub(super) encoding: Duration,
}

/// What the node's engine holds of the cluster's tasks.
pub(super) struct Link {
    /// Entries to append (each the node's batch of one turn), in order.
    pub(super) append: Sender<Batch>,
    /// Snapshots taken, to the task that stores them.
    pub(super) snapshots: Sender<Taken>,
    /// How far to trim the log (the first entry to keep), to the same task.
    pub(super) trims: Sender<u64>,
    /// The node asks for the cluster's latest snapshot (it found a hole in the log): to the reader.
    pub(super) fetch_snapshot: Sender<()>,
    /// How far this node has applied the log, for its lease (the log is not trimmed past it).
    pub(super) applied: Arc<AtomicU64>,
    /// How many times this node has lost its lease: from a batch made before the latest time and
    /// not yet in Redis, the appender drops what the node no longer wants appended
    /// ([`wanted_when_fenced`](natter_core::server::cluster::node::wanted_when_fenced)).
    pub(super) fences: Rc<Cell<u64>>,
}

impl Link {
    /// The node's fence count and place in the log, for the appender and the lease thread.
    pub(super) fn lease(&self, fences: u64, applied: u64) {
        self.fences.set(fences);
        self.applied.store(applied, Ordering::Relaxed);
    }

    /// A snapshot taken in `encoding`, to the task that stores it. The previous one still being
    /// stored: this one is skipped, the next comes soon enough.
    pub(super) fn store(&self, snapshot: Snapshot, encoding: Duration) {
        let _ = self.snapshots.try_send(Taken {
            position: snapshot.position,
            bytes: snapshot.bytes,
            encoding,
        });
    }

    /// Waits, at most `grace`, until what the node handed the appender is safe in Redis (its last
    /// appends: the session ends of its shutdown), before its connections are closed.
    pub(super) async fn settle(&self, grace: Duration) {
        let append = &self.append;
        let appended = async {
            while !append.is_empty() {
                smol::Timer::after(Duration::from_millis(10)).await;
            }
            // The last batch taken from the queue is on its way to Redis.
            smol::Timer::after(Duration::from_millis(100)).await;
        };
        appended
            .or(async {
                smol::Timer::after(grace).await;
            })
            .await;
    }
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

/// Starts appending, reading (after `log`'s position), storing snapshots and trimming, and the lease
/// (renewed when `renewals` say, by `clock`, the server's).
pub(super) fn start(
    ex: &smol::LocalExecutor<'static>,
    shared: Rc<Shared>,
    cluster: &ClusterNode,
    renewals: Renewals,
    clock: ShellClock,
) -> (Link, Tasks) {
    let log = &cluster.log;
    let (append, queue) = smol::channel::unbounded();
    let fences = Rc::new(Cell::new(0));
    let key = format!("{}:log", cluster.prefix);
    let applied = Arc::new(AtomicU64::new(log.position()));
    // The lease is kept on a thread of its own: a driver busy with a burst (a fan-out to thousands)
    // must not let it lapse, or a loaded node would be taken for a dead one.
    let stop_lease = Arc::new(AtomicBool::new(false));
    let (news_tx, news) = smol::channel::unbounded();
    {
        let lease_state = LeaseState {
            cluster: cluster.clone(),
            renewals,
            news: news_tx,
            stop: stop_lease.clone(),
            applied: applied.clone(),
            clock,
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
                shared.push(Input::Cluster(n));
            }
        }
    };
    let (snapshots, taken) = smol::channel::bounded(1);
    let (trims, to_trim) = smol::channel::unbounded();
    let (fetch_snapshot, fetch) = smol::channel::bounded(1);
    let echoes = Echoes::default();
    let tasks = vec![
        ex.spawn(relay),
        ex.spawn(appender(
            cluster.endpoint.clone(),
            key.clone(),
            cluster.node,
            queue.clone(),
            fences.clone(),
            cluster.seal.clone(),
            echoes.clone(),
        )),
        ex.spawn(reader(
            cluster.endpoint.clone(),
            cluster.prefix.clone(),
            key,
            log.position(),
            cluster.node,
            shared.clone(),
            fetch,
            cluster.seal.clone(),
            echoes,
        )),
        ex.spawn(store_snapshots(
            cluster.endpoint.clone(),
            cluster.prefix.clone(),
            taken,
            to_trim,
            shared.clone(),
            cluster.seal.clone(),
        )),
    ];
    let link = Link {
        append,
        snapshots,
        trims,
        fetch_snapshot,
        applied,
        fences,
    };
    (
        link,
        Tasks {
            _tasks: tasks,
            stop_lease,
        },
    )
}

/// Reads the log after `position` into the inbox, and follows it. When the node asks for the latest
/// snapshot (it found entries missing: trimmed behind a snapshot while it was away), the reader hands
/// it over, between two reads, and goes on after it: every entry it hands over next comes after the
/// snapshot. This node's (`node`'s) own entries come back as its appender kept them, when they come
/// back unchanged (`echoes`).
#[allow(clippy::too_many_arguments)]
async fn reader(
    endpoint: Endpoint,
    prefix: String,
    key: String,
    mut position: u64,
    node: u64,
    shared: Rc<Shared>,
    fetch: Receiver<()>,
    seal: Option<ClusterKey>,
    echoes: Echoes,
) {
    let mut log = Reconnecting::new(endpoint.clone(), "cannot read the cluster's log");
    let connect = || RedisLog::connect(&endpoint, &key, READ_BLOCK, seal.clone());
    loop {
        if fetch.try_recv().is_ok() {
            match latest_snapshot(&endpoint, &prefix, seal.clone()).await {
                Some((at, bytes)) => {
                    position = at;
                    shared.wait_for_room().await;
                    shared.push(Input::Cluster(News::Restart(bytes)));
                }
                // Said why; the node asks again at the next entry past the hole.
                None => {
                    smol::Timer::after(RETRY).await;
                }
            }
        }
        let Some(con) = log.get(connect).await else {
            continue;
        };
        let entries = match con
            .read_after_echoed(position, READ_MAX, Some((node, &echoes)))
            .await
        {
            Ok(entries) => {
                log.ok();
                entries
            }
            Err(e) => {
                log.failed(&e).await;
                continue;
            }
        };
        if entries.is_empty() {
            continue;
        }
        for entry in entries {
            position = entry.position;
            shared.wait_for_room().await;
            shared.push_quietly(Input::Cluster(News::Logged(Box::new(entry))));
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
        Ok(Some(bytes)) => match natter_core::server::cluster::snapshot::position_of(&bytes) {
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

/// What the snapshot task was handed.
enum ToStore {
    Snapshot(Taken),
    /// Trim the log's entries before this one.
    Trim(u64),
}

/// Stores the snapshots the driver takes (telling the node each one stored), and trims the log as far
/// as the node says (never past the stored snapshot: the script sees to that).
async fn store_snapshots(
    endpoint: Endpoint,
    prefix: String,
    taken: Receiver<Taken>,
    trims: Receiver<u64>,
    shared: Rc<Shared>,
    seal: Option<ClusterKey>,
) {
    loop {
        let snapshot = async { taken.recv().await.ok().map(ToStore::Snapshot) };
        let trim = async { trims.recv().await.ok().map(ToStore::Trim) };
        match snapshot.or(trim).await {
            None => return,
            Some(ToStore::Trim(keep_from)) => {
                let trimmed = async {
                    Snapshots::connect(&endpoint, &prefix, None)
                        .await?
                        .trim(keep_from)
                        .await
                };
                match trimmed.await {
                    Ok(n) => tracing::debug!(
                        "{n} entries of the cluster's log trimmed: it now starts at entry {keep_from} \
                         at the latest"
                    ),
                    Err(e) => {
                        tracing::debug!("could not trim the log before entry {keep_from}: {e}")
                    }
                }
            }
            Some(ToStore::Snapshot(Taken {
                position,
                bytes,
                encoding,
            })) => {
                let started = Instant::now();
                let stored = async {
                    Snapshots::connect(&endpoint, &prefix, seal.clone())
                        .await?
                        .store(position, &bytes)
                        .await
                };
                match stored.await {
                    Ok(true) => {
                        tracing::info!(
                            "snapshot of the cluster at log entry {position} stored ({} KiB, encoded \
                             in {} ms, stored in {} ms)",
                            bytes.len() / 1024,
                            encoding.as_millis(),
                            started.elapsed().as_millis()
                        );
                        shared.push(Input::Cluster(News::SnapshotStored { position }));
                    }
                    Ok(false) => {
                        tracing::debug!(
                            "a snapshot as recent as entry {position} was already stored"
                        )
                    }
                    Err(e) => tracing::warn!("could not store a snapshot at entry {position}: {e}"),
                }
            }
        }
    }
}

/// What the lease thread works with.
struct LeaseState {
    cluster: ClusterNode,
    /// When to renew, and for how long (the node's numbers).
    renewals: Renewals,
    news: Sender<News>,
    stop: Arc<AtomicBool>,
    /// How far the driver has applied the log.
    applied: Arc<AtomicU64>,
    /// The server's clock, by which the node judges its lease.
    clock: ShellClock,
}

/// Renews this node's lease when its [`Renewals`] say, reads the others' leases and how far they have
/// read, and tells the node each renewal that worked (when it was sent) and what it read; what follows
/// is the node's to decide.
async fn lease(mut s: LeaseState) {
    let cluster = &s.cluster;
    let mut members: Option<Membership> = None;
    while !s.stop.load(Ordering::Relaxed) {
        let wait = s
            .renewals
            .due()
            .as_millis()
            .saturating_sub(s.clock.now().as_millis());
        if wait > 0 {
            // In short steps, so that a stopping server does not wait for its next renewal.
            smol::Timer::after(Duration::from_millis(wait.min(250))).await;
            continue;
        }
        if members.is_none() {
            // Leases and positions are not sealed: they say nothing of what users do.
            members = Membership::connect(&cluster.endpoint, &cluster.prefix, None)
                .await
                .ok();
        }
        let sent = s.clock.now();
        let ok = match members.as_mut() {
            None => false,
            Some(m) => {
                let applied = s.applied.load(Ordering::Relaxed);
                let ttl = Duration::from_millis(s.renewals.lease_ms());
                match m.renew(cluster.node, ttl, applied).await {
                    Ok(was) => {
                        let _ = s.news.send(News::Renewed { sent, was }).await;
                        let highest = m.nodes().await.unwrap_or(0);
                        if let Ok(nodes) = m.alive(highest).await {
                            let live = nodes.iter().filter(|n| n.alive).map(|n| n.node).collect();
                            let applied = nodes
                                .iter()
                                .filter(|n| n.alive)
                                .filter_map(|n| Some((n.node, n.applied?)))
                                .collect();
                            let _ = s
                                .news
                                .send(News::Members {
                                    highest,
                                    live,
                                    applied,
                                })
                                .await;
                        }
                        true
                    }
                    Err(_) => {
                        members = None;
                        false
                    }
                }
            }
        };
        s.renewals.done(sent, ok, s.clock.now());
    }
}
