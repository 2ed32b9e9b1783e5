//! What goes into the core and what comes out of it.

use std::net::SocketAddr;

use super::record::Record;
use crate::protocol::ServerMsg;

/// A connection, numbered by the shell. Numbers are never reused within one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// A timer the core asked for. Each id has at most one deadline: setting it again moves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerId {
    /// The connection's current deadline: finishing login, or (once logged in) the idle timeout.
    Conn(ConnId),
    /// A private-chat request waiting for an answer.
    Offer(u64),
}

/// An input to [`super::ServerState::handle`].
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A client connected from `peer`.
    Connected { conn: ConnId, peer: SocketAddr },
    /// One complete line from a client, without its line ending (see [`crate::protocol::LineDecoder`]).
    Line { conn: ConnId, line: &'a [u8] },
    /// The client sent a line longer than the limit; the decoder is dropping it.
    LineTooLong { conn: ConnId },
    /// The connection is gone: the client closed it, it failed, or the shell dropped it (for instance
    /// because the client stopped reading and its outbound queue overflowed).
    Disconnected { conn: ConnId },
    /// A timer the core set has reached its deadline. A timer that is no longer wanted is ignored.
    TimerFired { timer: TimerId },
    /// The server is stopping: tell everyone and close every connection.
    Shutdown,
}

/// An output of [`super::ServerState::handle`], to be carried out by the shell in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send one line to one connection.
    Send { to: ConnId, msg: ServerMsg },
    /// Send the same line to many connections: rendered once, shared by all.
    SendMany { to: Vec<ConnId>, msg: ServerMsg },
    /// Flush what was sent to this connection, then close it. The core has already forgotten it; no
    /// `Disconnected` event is needed (one that arrives anyway is ignored).
    Close { conn: ConnId },
    /// Arm (or move) a timer: deliver `Event::TimerFired { timer }` at or after `at`.
    SetTimer {
        timer: TimerId,
        at: crate::time::Timestamp,
    },
    /// Disarm a timer. Firing it anyway is harmless.
    CancelTimer { timer: TimerId },
    /// Make this change durable. Replies produced by the same batch of events must not be sent before it is.
    Persist(Record),
}
