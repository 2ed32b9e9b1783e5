//! A server that is one node of a cluster: its core is fed from the shared log, not from its sockets.
//!
//! The driver hands every event of this node's connections to [`Link::append`] instead of the core; the
//! tasks here append them to the Redis Stream (in order, retrying until Redis has them), read the whole
//! stream back (everyone's events, in the one order) into the inbox, and tick the log's clock; a thread
//! of its own keeps this node's lease and watches the others'. The core then sees exactly what every other node's core
//! sees, so the rules hold across the cluster; each node carries out only what is aimed at its own
//! connections (the others' are not in its connection table).
//!
//! Failure handling: while Redis cannot be reached, nothing is appended, so nothing is acknowledged;
//! the node logs what is wrong and retries every half second. A node that cannot renew its lease for
//! most of its life closes its own connections (the others will end them in the log when the lease runs
//! out), so a node cut off can never hold a session the rest of the cluster has ended. A node whose
//! lease is gone is dead: every node that notices appends the end of each of its connections.

use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use smol::channel::{Receiver, Sender};

use super::Shared;
use super::inbox::Input;
use crate::server::{ConnId, LoggedEvent};
use crate::shell::cluster::{Dedup, LogPosition, Membership, RedisLog};
use crate::time::ShellClock;

/// Where the cluster is and who this node is.
#[derive(Clone, Debug)]
pub struct ClusterNode {
    /// `redis://host:port`.
    pub url: String,
    /// Prefix of every key the cluster uses in Redis (the log is `<prefix>:log`).
    pub prefix: String,
    /// This node's number ([`Membership::join`]).
    pub node: u64,
    /// The name the operator gave it, for the logs.
    pub name: String,
}

/// How long a lease lasts, and how often it is renewed and the others' checked: a dead node's users
/// are logged out within the lease, a check, and the log's round trip.
pub const LEASE: Duration = Duration::from_secs(5);
const LEASE_EVERY: Duration = Duration::from_secs(1);
/// A node that could not renew its lease for this long stops serving its connections.
const FENCE_AFTER: Duration = Duration::from_secs(4);
/// How often a node appends the time, so timers fire when nobody types.
const TICK_EVERY: Duration = Duration::from_millis(250);
/// The longest a read of the log blocks.
const READ_BLOCK: Duration = Duration::from_millis(500);
/// Pause before trying Redis again.
const RETRY: Duration = Duration::from_millis(500);

/// The node's number in the high bits of its connection ids: ids are unique across the cluster, and
/// every node can tell whose a connection is.
const NODE_SHIFT: u32 = 48;

/// The highest node number that fits in a connection id.
pub const MAX_NODE: u64 = (1 << (64 - NODE_SHIFT)) - 1;

pub(super) fn node_of(conn: ConnId) -> u64 {
    conn.0 >> NODE_SHIFT
}

/// The first connection id of `node` (node 0, a server alone, counts from 1 as it always has).
pub(super) fn first_conn_id(node: u64) -> u64 {
    (node << NODE_SHIFT) | 1
}

/// What the driver holds of the cluster.
pub(super) struct Link {
    pub(super) node: u64,
    pub(super) append: Sender<LoggedEvent>,
    pub(super) dedup: Dedup,
    /// The log's time: the latest entry's (the core's timers fire by it, the same on every node).
    pub(super) log_now: crate::time::Timestamp,
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
}

/// Starts appending, reading, ticking and the lease.
pub(super) fn start(
    ex: &smol::LocalExecutor<'static>,
    shared: Rc<Shared>,
    cluster: &ClusterNode,
) -> (Link, Tasks) {
    let (append, queue) = smol::channel::unbounded();
    let key = format!("{}:log", cluster.prefix);
    // The lease is kept on a thread of its own: a driver busy with a burst (a fan-out to thousands)
    // must not let it lapse, or a loaded node would be taken for a dead one.
    let stop_lease = Arc::new(AtomicBool::new(false));
    let (news_tx, news) = smol::channel::unbounded();
    {
        let cluster = cluster.clone();
        let stop = stop_lease.clone();
        let spawned = std::thread::Builder::new()
            .name("natter-lease".into())
            .spawn(move || smol::block_on(lease(cluster, news_tx, stop)));
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
                });
            }
        }
    };
    let tasks = vec![
        ex.spawn(relay),
        ex.spawn(appender(
            cluster.url.clone(),
            key.clone(),
            cluster.node,
            queue,
        )),
        ex.spawn(reader(cluster.url.clone(), key, shared.clone())),
        ex.spawn(ticker(append.clone(), shared.clone())),
    ];
    let link = Link {
        node: cluster.node,
        append,
        dedup: Dedup::default(),
        log_now: crate::time::Timestamp(0),
    };
    (
        link,
        Tasks {
            _tasks: tasks,
            stop_lease,
        },
    )
}

/// A connection to the log that comes back by itself: connects when first needed and after a failure,
/// retrying every [`RETRY`], and says once that Redis is unreachable and once that it is back.
struct Reconnecting {
    url: String,
    key: String,
    /// What this connection is for, in the log lines.
    what: &'static str,
    log: Option<RedisLog>,
    /// Since when Redis has failed this connection.
    down_since: Option<Instant>,
}

impl Reconnecting {
    fn new(url: String, key: String, what: &'static str) -> Self {
        Reconnecting {
            url,
            key,
            what,
            log: None,
            down_since: None,
        }
    }

    /// The connection, once there is one.
    async fn get(&mut self) -> &mut RedisLog {
        let log = match self.log.take() {
            Some(l) => l,
            None => loop {
                match RedisLog::connect(&self.url, &self.key, READ_BLOCK).await {
                    Ok(l) => break l,
                    Err(e) => self.failed(&e).await,
                }
            },
        };
        self.log.insert(log)
    }

    /// A request failed: the connection is dropped, and the next [`Self::get`] makes a new one after a
    /// pause.
    async fn failed(&mut self, e: &dyn std::fmt::Display) {
        self.log = None;
        if self.down_since.is_none() {
            self.down_since = Some(Instant::now());
            tracing::error!(
                "{}: {e}. Redis at {} is needed to serve; nothing is acknowledged until it is back (retrying)",
                self.what,
                self.url
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

/// Appends what the driver queues, in order, each entry numbered for this node; retries (with the same
/// numbers, so a duplicate is recognised) until Redis has it.
async fn appender(url: String, key: String, node: u64, queue: Receiver<LoggedEvent>) {
    let mut log = Reconnecting::new(url, key, "cannot append to the cluster's log");
    let mut seq = 0u64;
    while let Ok(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match queue.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        let first_seq = seq + 1;
        seq += batch.len() as u64;
        loop {
            match log.get().await.append_many(node, first_seq, &batch).await {
                Ok(()) => {
                    log.ok();
                    break;
                }
                Err(e) => log.failed(&e).await,
            }
        }
    }
}

/// Reads the whole log, from the start, into the inbox, and follows it.
async fn reader(url: String, key: String, shared: Rc<Shared>) {
    let mut log = Reconnecting::new(url, key, "cannot read the cluster's log");
    let mut at = LogPosition::start();
    loop {
        match log.get().await.read_after(&at, 1024).await {
            Ok(entries) => {
                log.ok();
                let Some(last) = entries.last() else { continue };
                at = last.position;
                for entry in entries {
                    shared.wait_for_room().await;
                    shared.push_quietly(Input::Logged(Box::new(entry)));
                }
                shared.wake_driver();
            }
            Err(e) => log.failed(&e).await,
        }
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

/// Renews this node's lease; tells the driver when it has lapsed (stop serving) and when another
/// node's has (end its connections).
async fn lease(cluster: ClusterNode, news: Sender<LeaseNews>, stop: Arc<AtomicBool>) {
    let mut members: Option<Membership> = None;
    let mut renewed = Instant::now();
    let mut fenced = false;
    let mut dead = BTreeSet::new();
    while !stop.load(Ordering::Relaxed) {
        if members.is_none() {
            members = Membership::connect(&cluster.url, &cluster.prefix)
                .await
                .ok();
        }
        // A node that was frozen or cut off for most of a lease may have been declared dead: it stops
        // serving its connections before anything else, even if Redis answers again at once.
        if !fenced && renewed.elapsed() >= FENCE_AFTER {
            fenced = true;
            tracing::error!(
                "node {} ({}) could not renew its lease for {} s: closing its connections, which the rest of the cluster ends",
                cluster.node,
                cluster.name,
                FENCE_AFTER.as_secs()
            );
            let _ = news.send(LeaseNews::Fenced).await;
        }
        if let Some(m) = members.as_mut() {
            match m.renew(cluster.node, LEASE).await {
                Ok(()) => {
                    renewed = Instant::now();
                    fenced = false;
                    let highest = m.nodes().await.unwrap_or(0);
                    if let Ok(alive) = m.alive(highest).await {
                        for (other, alive) in (1..).zip(alive) {
                            if other == cluster.node {
                                continue;
                            }
                            if alive {
                                // Back (a node that was cut off renews its lease again): watched anew.
                                dead.remove(&other);
                            } else if dead.insert(other) {
                                let _ = news.send(LeaseNews::NodeDead(other)).await;
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
