//! What comes out of the composed server: one [`Output`] enum for everything the driver must carry
//! out. Each variant is a thing to do (write, commit, hold a reader, append to the log, log a line),
//! never a question: what it means was decided inside.

use std::net::{IpAddr, SocketAddr};

use super::counts::Counts;
use crate::protocol::{ByeReason, Name};
use crate::server::cluster::LogEvent;
use crate::server::event::{ConnId, Effect, LoginFailure};
use crate::server::oplog::LogLine;
use crate::server::outbox::Commit;
use crate::server::pacing::Lane;
use crate::server::record::Record;
use crate::time::Timestamp;

/// One thing for the driver to carry out, in the order they come.
#[derive(Debug)]
pub enum Output {
    /// Records to make durable, in this order, as commit `seq`; report it with
    /// [`Input::Committed`](super::Input::Committed).
    Commit(Commit),
    /// Lines, closes and operator answers released together (a batch whose commit, if any, is
    /// durable), to carry out in this order: only [`Effect::Send`], [`Effect::SendMany`],
    /// [`Effect::Close`] and [`Effect::AdminAnswer`]. `made_at` is when the core made them.
    Released {
        /// When the batch was handled.
        made_at: Timestamp,
        /// What to send, close and answer, in order.
        effects: Vec<Effect>,
    },
    /// A password job to run away from the core's thread ([`Effect::CheckPassword`] or
    /// [`Effect::HashPassword`], the text filled in by a cluster node): answer it with its event.
    PasswordJob(Effect),
    /// Stop reading `conn` until [`Output::ResumeReading`]: its lines are being held.
    PauseReading {
        /// The connection.
        conn: ConnId,
    },
    /// Read `conn` again.
    ResumeReading {
        /// The connection.
        conn: ConnId,
    },
    /// Answer [`Event::Drained`](crate::server::Event::Drained) once everything queued for `conn`
    /// so far has been written.
    WatchDrain {
        /// The connection.
        conn: ConnId,
    },
    /// A cluster node's gate for `conn` is full (`held`) or has room again: hold or let go its
    /// reading (apart from [`Output::PauseReading`], which is the core's).
    HoldReading {
        /// The connection.
        conn: ConnId,
        /// Hold (`true`) or let go.
        held: bool,
    },
    /// A cluster node stopped serving `conn` on its own (it is fenced, behind, found dead or
    /// leaving): its goodbye (`BYE reason`) and close follow in a released batch. What the core would
    /// have sent it next is lost with it.
    NodeRefused {
        /// The connection.
        conn: ConnId,
        /// Why.
        reason: ByeReason,
    },
    /// A line for the operator's log: the refusals seen, summed up per address.
    OperatorLine(LogLine),
    /// A failed login, for its own stable line (an intrusion blocker reads it) and the metrics:
    /// `user` is the account when there is one, `address` where the attempt came from.
    LoginFailed {
        /// The account, if the name typed was one.
        user: Option<Name>,
        /// The client's address, when known.
        address: Option<IpAddr>,
        /// Why it failed.
        reason: LoginFailure,
    },
    /// What a session did as (or to become) the server's operator, for the operator's log:
    /// `user` is the session's account, `address` where it came from.
    OperatorDid {
        /// The session's account.
        user: Name,
        /// The client's address, when known.
        address: Option<IpAddr>,
        /// What it did.
        act: crate::server::OperatorAct,
    },
    /// A record of who came and went (logins, logouts, lockouts, accounts made, changed or removed,
    /// bans) for the operator's log, with the address it came from when the event had one. A logout
    /// says why the session `ended`.
    Record {
        /// The record.
        record: Record,
        /// The client's address, when the event had one.
        from: Option<SocketAddr>,
        /// For a logout: why the session ended.
        ended: Option<Ended>,
    },
    /// What the metrics count, summed over the batch just ended.
    Counts(Counts),
    /// The lines held in a lane for their recipients' next lines are due: write every connection
    /// held in that lane.
    WriteHeld(Lane),
    /// The server went idle after a burst: give memory back now.
    Tidy,
    /// Events to append to the shared log, as one entry, in order (a cluster node's).
    Append {
        /// The entry's events.
        events: Vec<LogEvent>,
        /// How many times the node had been fenced when it made the entry
        /// ([`Node::fences`](crate::server::cluster::node::Node::fences)): once the count has moved
        /// on ([`Output::Lease`]), what of the entry is not yet in Redis loses its users' events
        /// ([`wanted_when_fenced`](crate::server::cluster::node::wanted_when_fenced)).
        fences: u64,
    },
    /// A snapshot of the cluster is due: take it now with
    /// [`Server::take_snapshot`](super::Server::take_snapshot) and store it.
    SnapshotDue,
    /// Fetch the cluster's latest snapshot and hand it back as
    /// [`News::Restart`](super::News::Restart): the node found a hole in the log.
    FetchSnapshot,
    /// The shared log may be trimmed: entries before `keep_from` go.
    Trim {
        /// The first entry to keep.
        keep_from: u64,
    },
    /// A cluster node's lease changed hands or its place in the log moved: what its lease renewals
    /// report, and whether its appends may go on.
    Lease {
        /// It has lost its lease and serves nobody.
        fenced: bool,
        /// The position of the last entry of the log it has applied.
        applied: u64,
        /// How many times it has been fenced so far (see [`Output::Append`]).
        fences: u64,
    },
}

/// Why a session ended, as a logout's line says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The user logged out.
    Logout,
    /// Idle too long.
    Idle,
    /// Disconnected for flooding.
    Flood,
    /// Kicked by the operator.
    Kicked,
    /// Banned by the operator.
    Banned,
    /// The account was removed.
    Removed,
    /// The server shut down.
    Shutdown,
    /// The cluster could not serve it.
    Unavailable,
    /// The connection was lost (no goodbye was said).
    Lost,
}

impl Ended {
    /// From the goodbye said just before the logout (none: the connection was lost).
    pub fn after(bye: Option<ByeReason>) -> Ended {
        match bye {
            Some(ByeReason::Logout) => Ended::Logout,
            Some(ByeReason::Timeout { .. }) => Ended::Idle,
            Some(ByeReason::Flood { .. }) => Ended::Flood,
            Some(ByeReason::Kicked) => Ended::Kicked,
            Some(ByeReason::Banned) => Ended::Banned,
            Some(ByeReason::Removed) => Ended::Removed,
            Some(ByeReason::Shutdown) => Ended::Shutdown,
            Some(ByeReason::Unavailable) => Ended::Unavailable,
            Some(_) | None => Ended::Lost,
        }
    }

    /// The words the operator's log says it with.
    pub fn words(self) -> &'static str {
        match self {
            Ended::Logout => "logout",
            Ended::Idle => "idle",
            Ended::Flood => "flood",
            Ended::Kicked => "kicked",
            Ended::Banned => "banned",
            Ended::Removed => "removed",
            Ended::Shutdown => "shutdown",
            Ended::Unavailable => "cluster unavailable",
            Ended::Lost => "connection lost",
        }
    }
}
