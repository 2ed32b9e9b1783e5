//! A server that is one node of a cluster: the tasks that move its bytes to and from Redis.
//!
//! What the node decides is in `server::node` (the pure [`Node`](crate::server::node::Node)), driven by
//! `replica`. The tasks here append what it asks to the Redis Stream (in order, retrying until Redis
//! has them), read the whole stream back (everyone's events, in the one order) into the inbox, and
//! store the snapshots it hands over; a thread of its own renews this node's lease every second and
//! reads the others', and reports both to the node, which decides what follows (fencing itself, ending
//! a dead node's connections, who takes snapshots).
//!
//! While Redis cannot be reached, nothing is appended, so nothing is acknowledged; the tasks log what is
//! wrong and retry every half second. A reader that finds entries missing (trimmed while it was away)
//! fetches the latest snapshot for the node to start again from, and goes on after it.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_lite::FutureExt;
use smol::channel::{Receiver, Sender};

use super::Shared;
use super::engine::News;
use super::inbox::Input;
use crate::server::node::MAX_ENTRY_BYTES;
use crate::server::{LoggedEvent, ReplicaLog};
use crate::shell::cluster::{
    ClusterKey, Endpoint, LEASE, Membership, RETRY, Reconnecting, RedisLog, Snapshots, appender,
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
    pub(super) append: Sender<Vec<LoggedEvent>>,
    /// Snapshots taken, to the task that stores them.
    pub(super) snapshots: Sender<Taken>,
    /// How far this node has applied the log, for its lease (the log is not trimmed past it).
    pub(super) applied: Arc<AtomicU64>,
    /// Set while this node has lost its lease: the appender drops what the node no longer wants
    /// appended ([`wanted_when_fenced`](crate::server::node::wanted_when_fenced)).
    pub(super) fenced: Rc<Cell<bool>>,
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

/// Starts appending, reading (after `log`'s position), storing snapshots and the lease (reported by
/// `clock`, the server's).
pub(super) fn start(
    ex: &smol::LocalExecutor<'static>,
    shared: Rc<Shared>,
    cluster: &ClusterNode,
    clock: ShellClock,
) -> (Link, Tasks) {
    let log = &cluster.log;
    let (append, queue) = smol::channel::unbounded();
    let fenced = Rc::new(Cell::new(false));
    let key = format!("{}:log", cluster.prefix);
    let applied = Arc::new(AtomicU64::new(log.position()));
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
        ex.spawn(store_snapshots(
            cluster.endpoint.clone(),
            cluster.prefix.clone(),
            cluster.node,
            taken,
            cluster.seal.clone(),
        )),
    ];
    let link = Link {
        append,
        snapshots,
        applied,
        fenced,
    };
    (
        link,
        Tasks {
            _tasks: tasks,
            stop_lease,
        },
    )
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
                    shared.push(Input::Cluster(News::Restart(bytes)));
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

/// What the lease thread works with.
struct LeaseState {
    cluster: ClusterNode,
    news: Sender<News>,
    stop: Arc<AtomicBool>,
    /// How far the driver has applied the log.
    applied: Arc<AtomicU64>,
    /// The server's clock, by which the node judges its lease.
    clock: ShellClock,
}

/// Renews this node's lease and reads the others', and tells the node each renewal that worked (when
/// it was sent) and who holds a lease; what follows is the node's to decide.
async fn lease(s: LeaseState) {
    let cluster = &s.cluster;
    let mut members: Option<Membership> = None;
    while !s.stop.load(Ordering::Relaxed) {
        if members.is_none() {
            // Leases and positions are not sealed: they say nothing of what users do.
            members = Membership::connect(&cluster.endpoint, &cluster.prefix, None)
                .await
                .ok();
        }
        if let Some(m) = members.as_mut() {
            let sent = s.clock.now();
            let applied = s.applied.load(Ordering::Relaxed);
            match m.renew(cluster.node, LEASE, applied).await {
                Ok(()) => {
                    let _ = s.news.send(News::Renewed { sent }).await;
                    let highest = m.nodes().await.unwrap_or(0);
                    if let Ok(alive) = m.alive(highest).await {
                        let live = (1..).zip(alive).filter(|(_, a)| *a).map(|(n, _)| n);
                        let live = live.collect();
                        let _ = s.news.send(News::Members { highest, live }).await;
                    }
                }
                Err(_) => members = None,
            }
        }
        smol::Timer::after(LEASE_EVERY).await;
    }
}
