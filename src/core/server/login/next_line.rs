//! What a connection's next line will be taken as: the core's answer to a cluster node that must let
//! a connection's lines into the shared log before login one at a time, passwords as their shape only
//! (`cluster::gates`). Which line is a password is the login's to say, and it can say it only for the
//! line it is about to read: the phase a line meets depends on the lines before it.

use crate::server::connections::sessions::{Phase, Sessions};
use crate::server::event::ConnId;

/// What a connection's next line will be taken as, for a node deciding what to put in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextLine {
    /// Logged in: its lines are commands, and may go to the log as fast as they come.
    Free,
    /// Logging in: one line now, then ask again once it has been handled. A `secret` one is a password.
    One {
        /// Whether it is a password, whose text must stay on the connection's node.
        secret: bool,
    },
    /// Not now: the connection is not known yet, a password job runs, or lines are held (flood
    /// control): which phase the next line meets is not settled.
    Wait,
}

/// What the next line of `conn` will be taken as (see [`NextLine`]).
pub(crate) fn next_line(sessions: &Sessions, conn: ConnId) -> NextLine {
    let Some(c) = sessions.conn(conn) else {
        return NextLine::Wait;
    };
    if c.holds_lines() {
        return NextLine::Wait;
    }
    match c.phase() {
        Phase::Online(s) if s.passwd().awaits_password() => NextLine::One { secret: true },
        Phase::Online(s) if s.passwd().is_waiting() => NextLine::Wait,
        Phase::Online(_) => NextLine::Free,
        Phase::AwaitUsername => NextLine::One { secret: false },
        Phase::AwaitPassword { .. } | Phase::AwaitNewPassword { .. } => {
            NextLine::One { secret: true }
        }
        Phase::Checking { .. } | Phase::Registering { .. } => NextLine::Wait,
    }
}
