//! What goes into the composed server: one [`Input`] enum for everything a driver hears or decides
//! to tell it, so that the shell, the harness and the simulators feed it the same way.

use std::net::IpAddr;

use crate::server::cluster::LogEntry;
use crate::server::cluster::node::LeaseWas;
use crate::server::event::Event;
use crate::server::oplog::Refusal;
use crate::time::Timestamp;

/// One input of the [`Server`](super::Server), with the time it happens at passed beside it.
#[derive(Debug)]
pub enum Input<'a> {
    /// An event of this server's own connections, its shutdown's start, or an operator's request.
    Event(Event<'a>),
    /// A line of one of this server's connections that came in one read with the next input, a
    /// line of the same connection (a client sending faster than the server reads): handled as
    /// [`Event::Line`], except that what the engine made of it is handed over with what it makes of
    /// the lines after it, once. Handing over costs about as much for one line as for twenty, and
    /// that cost was an eighth of a direct message's. The output is the same, in the same order.
    /// If the next input is anything else, what is held is handed over before it.
    LineBeforeMore {
        /// The connection it came on.
        conn: crate::server::event::ConnId,
        /// The line's bytes, as in [`Event::Line`].
        line: &'a [u8],
    },
    /// A client connected on the IRC listener from `peer`: its lines are IRC, read and answered by
    /// its front (`crate::irc`), which speaks to the core in natter lines; the core hears
    /// [`Event::Connected`] as for any connection.
    IrcConnected {
        /// The shell's number for the new connection.
        conn: crate::server::event::ConnId,
        /// The client's address and port.
        peer: std::net::SocketAddr,
    },
    /// News of the cluster, for a cluster node (a server alone never hears any).
    Cluster(News),
    /// Every commit up to this number is durable: the batches that waited for them are released.
    Committed(u64),
    /// The shell turned a client away itself, before the core heard of it: for the operator's log.
    Refused {
        /// The address refused.
        address: IpAddr,
        /// What it was refused.
        what: Refusal,
    },
    /// The inputs handled since the last end of a batch are one batch: its commit is decided, and
    /// its lines are released or wait for that commit.
    EndBatch,
    /// The driver's turn is over: the core acts on the deadlines that are due (a cluster node also
    /// appends what its connections did in the turn, as one entry of the log), then
    /// [`Input::EndBatch`].
    EndTurn,
    /// Time has passed: lazy records falling due are committed, the operator log's minutes that are
    /// up are written, held notices that are due are to be written. (The core's own deadlines wait
    /// for [`Input::EndTurn`], after the turn's inputs, as they always did.)
    Timeout,
    /// Commits whatever is lazy now, due or not (before shutting down).
    FlushLazy,
    /// The server stops: every batch still waiting is forgotten (after a failed commit nothing
    /// that waited for one may leave), the core ends every session, and its goodbyes are released at
    /// once, outside the release rule (they claim nothing was stored); with `store_ok`, the records of
    /// those session ends are committed as one last commit.
    Shutdown {
        /// Whether the store still works (no commit failed).
        store_ok: bool,
    },
    /// The shell is going idle having written `written` bytes since the last tidy-up: whether to
    /// give memory back is the pacer's to say ([`Output::Tidy`](super::Output::Tidy)).
    Idle {
        /// Bytes written since the last tidy-up.
        written: usize,
    },
}

impl Input<'_> {
    /// Whether this is a line of `conn`'s (what may follow [`Input::LineBeforeMore`] without its
    /// effects being handed over first).
    pub(super) fn is_line_of(&self, conn: crate::server::event::ConnId) -> bool {
        match self {
            Input::LineBeforeMore { conn: c, .. } | Input::Event(Event::Line { conn: c, .. }) => {
                *c == conn
            }
            _ => false,
        }
    }
}

/// What the cluster's tasks tell a node.
#[derive(Debug)]
pub enum News {
    /// The next entry of the shared log.
    Logged(Box<LogEntry>),
    /// The cluster's latest snapshot, which the node asked for (it found a hole in the log): it
    /// starts again from it (the entries after it follow).
    Restart(Vec<u8>),
    /// A renewal of this node's lease, sent at `sent` by the server's clock, worked, and found the
    /// lease as `was`.
    Renewed {
        /// When the renewal was sent.
        sent: Timestamp,
        /// What it found in Redis.
        was: LeaseWas,
    },
    /// Nodes `1..=highest` were given out, `live` hold a lease, and `applied` says how far each live
    /// one had read the log when it last renewed.
    Members {
        /// The highest node number given out.
        highest: u64,
        /// The nodes holding a lease.
        live: Vec<u64>,
        /// `(node, position)` of each live node.
        applied: Vec<(u64, u64)>,
    },
    /// The snapshot the node handed over at this position was stored.
    SnapshotStored {
        /// Its position in the log.
        position: u64,
    },
}
