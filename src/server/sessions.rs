//! Connections and sessions: every open connection and where it is in its life, and who is online on
//! which connection.
//!
//! The rule "at most one live session per user" is kept here, in [`Sessions::begin`] and
//! [`Sessions::end`], the only places that change who is online.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use super::accounts::UserId;
use super::backlog::Backlog;
use super::event::ConnId;
use super::flow::Flow;
use crate::protocol::Name;
use crate::time::Timestamp;

/// Where a connection is in its life.
#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(crate) enum Phase {
    AwaitUsername,
    AwaitPassword {
        user: UserId,
    },
    /// The password typed is being checked against the account's hash, off the core's thread (`job`).
    Checking {
        job: u64,
    },
    AwaitNewPassword {
        name: Name,
    },
    /// The new account's password is being hashed (`job`).
    Registering {
        job: u64,
    },
    Online(Session),
}

impl Phase {
    /// Waiting for a password job: lines that come meanwhile are held (see `flow`).
    pub(crate) fn is_waiting(&self) -> bool {
        matches!(self, Phase::Checking { .. } | Phase::Registering { .. })
    }
}

#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(crate) struct Session {
    pub(crate) user: UserId,
    /// The last command that counted as activity (or the login).
    pub(crate) last_active: Timestamp,
    /// The `last_active` for which the idle warning was given, if it was.
    pub(crate) warned: Option<Timestamp>,
    /// Whether the client asked to be told of every delivered message (`receipts on`).
    pub(crate) receipts: bool,
    /// The port of the client's private-chat listener, once registered.
    pub(crate) p2p_port: Option<u16>,
    /// The highest stored-message id delivered on this connection, which bounds what `ack` may confirm.
    pub(crate) delivered_up_to: Option<u64>,
    /// The stored messages that were waiting at login, for `offline` (shared with the mailbox, not
    /// copied).
    pub(crate) waiting: Vec<super::mailboxes::StoredMsg>,
}

#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(crate) struct Conn {
    pub(crate) peer: SocketAddr,
    pub(crate) opened_at: Timestamp,
    pub(crate) phase: Phase,
    /// Its lines' pace and the ones held back.
    pub(crate) flow: Flow,
    /// Counted among its address's connections that are logging in (see `addresses`).
    pub(crate) pending_login: bool,
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct Sessions {
    conns: FxHashMap<ConnId, Conn>,
    /// Users with a live session, and its connection, in user order (for fan-outs and `whoelse`).
    online: BTreeMap<UserId, ConnId>,
    /// The same, indexed by user, for the hot path's "is the recipient online?".
    of_user: Vec<Option<ConnId>>,
    /// Per user, what others sent their live session that may still be queued (see `backlog`).
    backlogs: Vec<Backlog>,
}

impl Sessions {
    /// Makes room for a new account.
    pub(crate) fn add_user(&mut self) {
        self.of_user.push(None);
        self.backlogs.push(Backlog::default());
    }

    /// What others sent `user`'s live session that may still be queued.
    pub(crate) fn backlog_mut(&mut self, user: UserId) -> &mut Backlog {
        &mut self.backlogs[user.index()]
    }

    /// A new connection, waiting for a username.
    pub(crate) fn open(&mut self, conn: ConnId, peer: SocketAddr, now: Timestamp) {
        self.conns.insert(
            conn,
            Conn {
                peer,
                opened_at: now,
                phase: Phase::AwaitUsername,
                flow: Flow::default(),
                pending_login: true,
            },
        );
    }

    pub(crate) fn conn(&self, conn: ConnId) -> Option<&Conn> {
        self.conns.get(&conn)
    }

    pub(crate) fn conn_mut(&mut self, conn: ConnId) -> Option<&mut Conn> {
        self.conns.get_mut(&conn)
    }

    pub(crate) fn phase(&self, conn: ConnId) -> Option<&Phase> {
        self.conns.get(&conn).map(|c| &c.phase)
    }

    /// Moves a connection that is still logging in to another login phase.
    pub(crate) fn set_login_phase(&mut self, conn: ConnId, phase: Phase) {
        debug_assert!(!matches!(phase, Phase::Online(_)), "use begin()");
        if let Some(c) = self.conns.get_mut(&conn) {
            c.phase = phase;
        }
    }

    /// The session of a logged-in connection.
    pub(crate) fn session(&self, conn: ConnId) -> Option<&Session> {
        match self.phase(conn) {
            Some(Phase::Online(s)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn session_mut(&mut self, conn: ConnId) -> Option<&mut Session> {
        match self.conns.get_mut(&conn).map(|c| &mut c.phase) {
            Some(Phase::Online(s)) => Some(s),
            _ => None,
        }
    }

    /// Makes `user` online on `conn`. The caller has checked that `user` has no live session.
    pub(crate) fn begin(&mut self, conn: ConnId, session: Session) {
        let user = session.user;
        debug_assert!(self.of_user[user.index()].is_none(), "one session per user");
        self.of_user[user.index()] = Some(conn);
        self.backlogs[user.index()] = Backlog::default();
        self.online.insert(user, conn);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.phase = Phase::Online(session);
        }
    }

    /// Forgets a connection; returns it (with its session, if it had one, which is ended).
    pub(crate) fn close(&mut self, conn: ConnId) -> Option<Conn> {
        let c = self.conns.remove(&conn)?;
        if let Phase::Online(s) = &c.phase {
            self.of_user[s.user.index()] = None;
            self.online.remove(&s.user);
        }
        Some(c)
    }

    /// The connection of `user`'s live session.
    pub(crate) fn session_of(&self, user: UserId) -> Option<ConnId> {
        self.of_user[user.index()]
    }

    /// Users online and their connections, in user order.
    pub(crate) fn online(&self) -> impl Iterator<Item = (UserId, ConnId)> + '_ {
        self.online.iter().map(|(&u, &c)| (u, c))
    }

    pub(crate) fn online_count(&self) -> usize {
        self.online.len()
    }

    /// Every open connection, in number order.
    pub(crate) fn all_conns(&self) -> Vec<ConnId> {
        let mut all: Vec<ConnId> = self.conns.keys().copied().collect();
        all.sort();
        all
    }

    pub(crate) fn conn_count(&self) -> usize {
        self.conns.len()
    }
}
