//! The server's runtime: sockets and the clock on one side, [`ServerState`] on the other. It moves bytes
//! and deadlines and decides nothing.
//!
//! Everything runs on one thread (a smol `LocalExecutor`), with disk syncs on a second one:
//!
//! - the **readiness loop** (`readiness`, over one edge-triggered epoll set, `epoll`) is looked at by
//!   the driver once per turn: listeners' connections are accepted and registered (`accept`); out of
//!   file descriptors, they are refused cleanly instead of left queued; a readable connection (`conn`)
//!   is read until it would block into one buffer shared by all connections, its bytes split into
//!   lines ([`LineDecoder`](natter_core::protocol::LineDecoder)) and appended to the **inbox**
//!   (`inbox`); a writable one finishes a queue the kernel refused. No task per connection;
//! - the **driver** (`driver`) takes the whole inbox as one batch and feeds it to the composed server
//!   side ([`Server`](natter_core::server::composed::Server): the core or a cluster node, the outbox,
//!   the pacer and the operator log in one sans-IO value), then carries out its one output, in order:
//!   commits to the commit thread, released lines written to each connection with one direct
//!   `write`, password jobs to their threads, readers paused, log lines written, a node's appends,
//!   snapshots and trims to its cluster tasks (`cluster_node`);
//! - a server alone sleeps in the epoll set's own `epoll_wait`, its timeout the composed server's one
//!   deadline (no timer of the runtime's), with a doorbell (`bell`, an eventfd) in the set for the
//!   rest: the commit thread's reports, the stop, and the other tasks (the operator's control socket,
//!   the metrics listener's questions, the password workers' answers), which run on the thread's
//!   executor between turns, their sockets and timers watched by async-io's own thread. A cluster
//!   node sleeps in async-io's reactor, beside its Redis tasks, with a single OS timer armed at the
//!   deadline (`wait`).
//!
//! Every decision (commits, releases, held notices, coalescing, giving memory back, what the
//! operator's log says) is in that value, where the harness and the simulators run it too.
//!
//! Why one thread: the core is single-threaded by design, and with reads, driver and writes on the same
//! thread, a line costs no lock, no cross-thread wake-up and no allocation on its way from the socket to
//! the core and back; an idle connection holds no buffer and no task. (Measured figures are in
//! docs/PERFORMANCE.md.)
//!
//! A failed commit stops the server: no reply of that batch or any later one is sent (they could say
//! "stored" of something that is not), and every client is told the server is shutting down.
//!
//! A client that stops reading never slows the others: its queue is bounded, and when it overflows the
//! connection is dropped and the core told it disconnected.

mod accept;
mod bell;
mod cluster_node;
mod conn;
mod conn_state;
mod control;
mod driver;
mod epoll;
mod hasher;
mod inbox;
mod operator;
mod query;
mod readiness;
mod spares;
mod tls_compact;
mod tls_conn;
mod ws_conn;
// Test rigs: a TLS peer driven by hand, the record layer under hostile records and against rustls.
// Compiled for tests and the fuzz targets only (the `rigs` feature), never into the product.
#[cfg(any(test, feature = "rigs"))]
pub mod tls_differential;
#[cfg(any(test, feature = "rigs"))]
pub mod tls_memory;
#[cfg(any(test, feature = "rigs"))]
pub mod tls_peer;
mod tls_read;
mod wait;
mod writing;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use async_net::TcpListener;
use event_listener::{Event as Notify, EventListener};
use smol::LocalExecutor;

pub use self::cluster_node::ClusterNode;
use self::conn::Conns;
pub use self::control::{Control, bind_socket};
use self::driver::Driver;
use self::inbox::{Inbox, Input};
pub use self::query::Query;
use self::readiness::Readiness;
use super::committer::Committer;
use super::persist::Persister;
use crate::shell::clock::ShellClock;
pub use crate::shell::metrics::{
    CoreStats, Metrics, ScrapeRequest, bind as bind_metrics, serve_http,
};
use natter_core::protocol::Renderer;
use natter_core::server::cluster::node::{Node, NodeConfig, first_conn_id};
use natter_core::server::composed::{Parts, Server};
use natter_core::server::outbox::OutboxConfig;
use natter_core::server::{ConnId, ServerState};

/// Runtime limits that are not protocol rules. (The longest line a client may send is a protocol rule:
/// the shell reads it from the core's [`Config`](natter_core::server::Config).)
#[derive(Clone, Debug)]
pub struct ShellOptions {
    /// Bytes that may wait to be written to one client before it is considered stuck and dropped.
    pub max_outbound: usize,
    /// How long shutdown waits for goodbyes to be flushed.
    pub shutdown_grace: Duration,
    /// Batches that may be handled but not yet sent because their records are being committed. With 1
    /// the driver waits for each commit before taking the next batch; with 2 it prepares the next batch
    /// while the previous one commits. Replies always go out in batch order, each after its own commit.
    pub commit_depth: usize,
    /// Threads that check and hash passwords.
    pub password_threads: usize,
    /// Speak TLS with this configuration (`None`: plain text).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// TCP keepalive: probe a connection idle this long, so a client that vanished without closing is
    /// noticed (within this and half as much again, see `accept::keepalive_interval`; each
    /// connection's first probe comes between half this and this, `accept::keepalive_idle`); `None`: off.
    pub keepalive: Option<Duration>,
    /// Set `TCP_NODELAY` on every client connection (the default): each write leaves at once. Off, a
    /// small write to a client with an earlier one not yet acknowledged waits for that
    /// acknowledgement (Nagle's algorithm, the `nagle` setting), so lines made close together leave
    /// in one segment.
    pub nodelay: bool,
    /// Be one node of a cluster (`None`: a server alone).
    pub cluster: Option<ClusterNode>,
    /// Count for the metrics listener (`None`: no metrics).
    pub metrics: Option<Arc<Metrics>>,
    /// What IRC connections are told of the server (its name, its message of the day).
    pub irc: natter_core::irc::IrcSettings,
}

impl Default for ShellOptions {
    fn default() -> Self {
        ShellOptions {
            max_outbound: 256 * 1024,
            shutdown_grace: Duration::from_secs(2),
            commit_depth: 2,
            password_threads: hasher::default_threads(),
            keepalive: Some(Duration::from_secs(60)),
            nodelay: true,
            tls: None,
            cluster: None,
            metrics: None,
            irc: natter_core::irc::IrcSettings::default(),
        }
    }
}

/// The size of the read buffer all connections share.
const READ_BUF: usize = 64 * 1024;

/// What the server thread's tasks share. Only ever touched from that thread, and never borrowed across
/// an `.await`.
pub(super) struct Shared {
    /// The batch the readiness loop and the other tasks are filling.
    inbox: RefCell<Inbox>,
    /// Every open connection's I/O state.
    conns: RefCell<Conns>,
    /// Where every connection is read into; shared because only one is read at a time.
    read_buf: RefCell<Box<[u8]>>,
    /// Written output queues, kept for the next connection that gets a line.
    spares: RefCell<spares::Spares>,
    /// Wakes the driver; `wake_pending` avoids notifying it again before it has looked.
    wake: Notify,
    wake_pending: Cell<bool>,
    /// The driver took the inbox: tasks waiting for room may go on.
    room: Notify,
    /// Bytes written since the driver last gave memory back.
    written: Cell<usize>,
    /// Accepting must be tried again (a listener's edge passed while no descriptor could be had).
    accept_again: Cell<bool>,
    /// A timer to set `accept_again` is running.
    accept_retry: Cell<bool>,
    /// Connections whose reads queued TLS records to write (the handshake's), for the driver.
    flush_requests: RefCell<Vec<ConnId>>,
    /// The TLS configuration, when the server speaks TLS: a reload may put a new certificate here
    /// (connections that start later use it), and its fingerprint beside it.
    tls: RefCell<Option<Arc<rustls::ServerConfig>>>,
    tls_fingerprint: RefCell<Option<String>>,
    /// The next connection's number, for every listener.
    next_conn: Cell<u64>,
    /// The metrics, when they are kept.
    metrics: Option<Arc<Metrics>>,
}

impl Shared {
    fn new(
        tls: Option<Arc<rustls::ServerConfig>>,
        first_conn: u64,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        Shared {
            flush_requests: RefCell::default(),
            tls: RefCell::new(tls),
            tls_fingerprint: RefCell::new(None),
            next_conn: Cell::new(first_conn),
            metrics,
            inbox: RefCell::default(),
            conns: RefCell::default(),
            read_buf: RefCell::new(vec![0u8; READ_BUF].into_boxed_slice()),
            spares: RefCell::default(),
            wake: Notify::new(),
            wake_pending: Cell::new(false),
            room: Notify::new(),
            written: Cell::new(0),
            accept_again: Cell::new(false),
            accept_retry: Cell::new(false),
        }
    }

    fn push(&self, input: Input) {
        self.push_quietly(input);
        self.wake_driver();
    }

    /// Queues an input without waking the driver: the driver is the caller, or someone else will.
    fn push_quietly(&self, input: Input) {
        self.inbox.borrow_mut().push(input);
    }

    /// Wakes a driver asleep in the reactor (a cluster node's). A driver asleep in its own
    /// `epoll_wait` runs the tasks that push before each turn, and needs no waking from them.
    fn wake_driver(&self) {
        if !self.wake_pending.replace(true) {
            self.wake.notify(1);
        }
    }

    /// Called by the driver before it looks at the inbox: any input pushed from now on wakes it.
    fn arm_wake(&self) -> EventListener {
        let listener = self.wake.listen();
        self.wake_pending.set(false);
        listener
    }

    /// Swaps the gathered batch into `batch` (which must be empty) and lets tasks waiting for room go on.
    fn take_inbox(&self, batch: &mut Inbox) {
        std::mem::swap(&mut *self.inbox.borrow_mut(), batch);
        if !batch.is_empty() {
            self.room.notify(usize::MAX);
        }
    }

    /// Waits while the inbox is over its bound.
    async fn wait_for_room(&self) {
        while self.inbox.borrow().is_full() {
            let listener = self.room.listen();
            if !self.inbox.borrow().is_full() {
                return;
            }
            listener.await;
        }
    }
}

/// A running server's handle: its address, and a way to stop it.
pub struct ServerHandle {
    pub local_addr: SocketAddr,
    /// Where it speaks IRC, when it does.
    pub irc_addr: Option<SocketAddr>,
    /// Where it speaks IRC over WebSocket, when it does.
    pub irc_ws_addr: Option<SocketAddr>,
    stop: smol::channel::Sender<()>,
    done: smol::channel::Receiver<io::Result<()>>,
}

impl ServerHandle {
    /// Asks the server to shut down cleanly (clients are told) and waits until it has.
    pub async fn shutdown(self) -> io::Result<()> {
        let _ = self.stop.try_send(());
        self.join().await
    }

    /// Waits for the server to stop by itself (only an error stops it).
    pub async fn join(self) -> io::Result<()> {
        self.done
            .recv()
            .await
            .unwrap_or_else(|_| Err(io::Error::other("the server thread ended abruptly")))
    }

    /// A sender that stops the server when a value is sent (or it is dropped along with all clones).
    pub fn stopper(&self) -> smol::channel::Sender<()> {
        self.stop.clone()
    }
}

/// Starts serving on `listener` on a thread of its own.
pub fn spawn(
    listener: TcpListener,
    core: ServerState,
    persister: Box<dyn Persister>,
    opts: ShellOptions,
) -> io::Result<ServerHandle> {
    spawn_with_irc(listener, None, core, persister, opts)
}

/// As [`spawn`], speaking IRC on `irc` too.
pub fn spawn_with_irc(
    listener: TcpListener,
    irc: Option<TcpListener>,
    core: ServerState,
    persister: Box<dyn Persister>,
    opts: ShellOptions,
) -> io::Result<ServerHandle> {
    spawn_with_irc_ws(listener, irc, None, core, persister, opts)
}

/// As [`spawn_with_irc`], speaking IRC over WebSocket on `irc_ws` too.
pub fn spawn_with_irc_ws(
    listener: TcpListener,
    irc: Option<TcpListener>,
    irc_ws: Option<TcpListener>,
    core: ServerState,
    persister: Box<dyn Persister>,
    opts: ShellOptions,
) -> io::Result<ServerHandle> {
    let local_addr = listener.local_addr()?;
    let irc_addr = irc.as_ref().map(TcpListener::local_addr).transpose()?;
    let irc_ws_addr = irc_ws.as_ref().map(TcpListener::local_addr).transpose()?;
    let (stop, stopped) = smol::channel::bounded(1);
    let (report, done) = smol::channel::bounded(1);
    std::thread::Builder::new()
        .name("natter-server".into())
        .spawn(move || {
            let result = run_server(Serving {
                listeners: vec![listener],
                irc_listeners: irc.into_iter().collect(),
                irc_ws_listeners: irc_ws.into_iter().collect(),
                core,
                persister,
                opts,
                stop: stopped,
                control: None,
                scrapes: None,
            });
            let _ = report.send_blocking(result);
        })?;
    Ok(ServerHandle {
        local_addr,
        irc_addr,
        irc_ws_addr,
        stop,
        done,
    })
}

/// Serves on the calling thread until `stop` yields (or closes), then shuts down cleanly. Blocks the
/// thread (it sleeps in its own `epoll_wait`): call it outside any async runtime's `block_on`.
pub fn run(
    listener: TcpListener,
    irc: Option<TcpListener>,
    core: ServerState,
    persister: Box<dyn Persister>,
    opts: ShellOptions,
    stop: smol::channel::Receiver<()>,
) -> io::Result<()> {
    run_server(Serving {
        listeners: vec![listener],
        irc_listeners: irc.into_iter().collect(),
        irc_ws_listeners: Vec::new(),
        core,
        persister,
        opts,
        stop,
        control: None,
        scrapes: None,
    })
}

/// Everything a server runs with: [`run_server`]'s arguments.
pub struct Serving {
    /// Where to accept connections (one per bind address).
    pub listeners: Vec<TcpListener>,
    /// Where to accept IRC connections (none: no IRC listener).
    pub irc_listeners: Vec<TcpListener>,
    /// Where to accept IRC connections over WebSocket (none: no such listener).
    pub irc_ws_listeners: Vec<TcpListener>,
    pub core: ServerState,
    pub persister: Box<dyn Persister>,
    pub opts: ShellOptions,
    pub stop: smol::channel::Receiver<()>,
    /// The operator's control socket and reloads (`None`: none).
    pub control: Option<Control>,
    /// The metrics listener's questions for the core (`None`: no listener).
    pub scrapes: Option<smol::channel::Receiver<ScrapeRequest>>,
}

/// As [`run`], with several listeners, the operator's control and the metrics listener's questions.
/// Blocks the calling thread until the server has shut down; call it outside any async runtime's
/// `block_on` (the thread sleeps in its own `epoll_wait`, and the tasks' I/O is left to async-io's
/// thread).
pub fn run_server(s: Serving) -> io::Result<()> {
    let ex = Rc::new(LocalExecutor::new());
    let result = serve(ex.clone(), s);
    // Tasks cancelled on the way out are only scheduled to be dropped; run them, so every socket they
    // hold is closed now, not when the process exits.
    while ex.try_tick() {}
    result
}

fn serve(ex: Rc<LocalExecutor<'static>>, s: Serving) -> io::Result<()> {
    let Serving {
        listeners,
        irc_listeners,
        irc_ws_listeners,
        core,
        persister,
        opts,
        stop,
        control,
        scrapes,
    } = s;
    let first_id = first_conn_id(opts.cluster.as_ref().map_or(0, |c| c.node));
    let shared = Rc::new(Shared::new(
        opts.tls.clone(),
        first_id,
        opts.metrics.clone(),
    ));
    let clock = ShellClock::start();
    let natter = listeners.into_iter().map(|l| (l, false, false));
    let irc = irc_listeners.into_iter().map(|l| (l, true, false));
    let irc_ws = irc_ws_listeners.into_iter().map(|l| (l, true, true));
    let listeners = natter
        .chain(irc)
        .chain(irc_ws)
        .map(|(l, irc, ws)| Ok((readiness::std_listener(l)?, irc, ws)))
        .collect::<io::Result<Vec<_>>>()?;
    let readiness = Readiness::new(
        listeners,
        opts.keepalive,
        opts.nodelay,
        core.config().max_line,
        opts.max_outbound,
    )?;
    if let Some(control) = control {
        control::start(control, &ex, shared.clone())?;
    }
    let _scraping = scrapes.map(|scrapes| {
        let shared = shared.clone();
        ex.spawn(async move {
            while let Ok(reply) = scrapes.recv().await {
                shared.push(Input::Scrape(reply));
            }
        })
    });
    // Standalone or one node of a cluster: chosen here, once.
    match opts.cluster.clone() {
        None => drive(
            Server::alone(core, parts(&opts)).with_irc(opts.irc.clone()),
            None,
            readiness,
            &ex,
            shared,
            persister,
            opts,
            clock,
            &stop,
        ),
        Some(cluster) => {
            let config = NodeConfig {
                snapshot_every: cluster.snapshot_every,
                ..NodeConfig::default()
            };
            let config = hold_from_env(config);
            let node = Node::new(cluster.node, core, cluster.log.clone(), config, clock.now());
            let renewals = node.renewals(clock.now());
            let (link, tasks) = cluster_node::start(&ex, shared.clone(), &cluster, renewals, clock);
            let server = Server::node(node, parts(&opts)).with_irc(opts.irc.clone());
            let served = drive(
                server,
                Some(link),
                readiness,
                &ex,
                shared,
                persister,
                opts,
                clock,
                &stop,
            );
            drop(tasks);
            served
        }
    }
}

/// The numbers of the pieces around the core, as the options say.
fn parts(opts: &ShellOptions) -> Parts {
    Parts {
        outbox: OutboxConfig {
            commit_depth: opts.commit_depth,
            ..OutboxConfig::default()
        },
        ..Parts::default()
    }
}

/// Runs the driver over `server` (with `link`, a cluster node's tasks) until `stop`, then shuts down.
#[allow(clippy::too_many_arguments)]
fn drive(
    server: Server,
    link: Option<cluster_node::Link>,
    readiness: Readiness,
    ex: &Rc<LocalExecutor<'static>>,
    shared: Rc<Shared>,
    persister: Box<dyn Persister>,
    opts: ShellOptions,
    clock: ShellClock,
    stop: &smol::channel::Receiver<()>,
) -> io::Result<()> {
    let committer = Committer::start(persister, opts.metrics.clone())?;
    let (hasher, answers) = hasher::Hasher::start(opts.password_threads);
    let answering = {
        let shared = shared.clone();
        ex.spawn(async move {
            while let Ok(answer) = answers.recv().await {
                shared.push(Input::Answer(answer));
            }
        })
    };
    let node = link.is_some();
    let waiting = if node {
        wait::Waiting::reactor(&readiness)?
    } else {
        wait::Waiting::direct(&readiness)
    };
    let mut driver = Driver {
        server,
        link,
        readiness,
        clock,
        waiting,
        shared,
        ex: ex.clone(),
        opts,
        committer,
        batch: Inbox::default(),
        followups: VecDeque::new(),
        dirty: Vec::new(),
        held: [Vec::new(), Vec::new()],
        scratch: Vec::new(),
        renderer: Renderer::default(),
        hasher,
        admin_replies: Default::default(),
        next_request: 0,
    };
    // A server alone sleeps in its own epoll_wait, so no async runtime's `block_on` may be around it
    // (its tasks' I/O is async-io's own thread's); a node sleeps in async-io's reactor (see `wait`).
    let served = if node {
        async_io::block_on(ex.run(driver.serve(stop)))
    } else {
        futures_lite::future::block_on(driver.serve(stop))
    };
    drop(answering);
    if let Err(e) = &served {
        tracing::error!("could not store state durably: {e}; stopping");
    }
    // The shutdown's waits (the last commits, a node's last appends) are the tasks' kind: async,
    // with the other tasks running meanwhile.
    let stopped = async_io::block_on(ex.run(driver.shutdown(served.is_ok())));
    served.and(stopped)
}

/// `config` with the hold of a node's reading while its own entries make the round trip
/// (`NodeConfig::hold_reading_ms`) as `NATTER_CLUSTER_HOLD_MS` says, when it is set: `0` turns the
/// hold off, so that a bench can measure a node with and without it from one build.
fn hold_from_env(mut config: NodeConfig) -> NodeConfig {
    let Some(ms) = std::env::var("NATTER_CLUSTER_HOLD_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    else {
        return config;
    };
    if ms == 0 {
        config.hold_reading_entries = 0;
    } else {
        config.hold_reading_ms = ms;
    }
    tracing::info!("NATTER_CLUSTER_HOLD_MS={ms}: reading held for at most {ms} ms");
    config
}
