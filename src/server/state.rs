//! The server's state and the one entry point that changes it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rustc_hash::FxHashMap;

use super::accounts::Account;
use super::config::Config;
use super::event::{ConnId, Effect, Event, TimerId};
use crate::protocol::{
    ByeReason, Command, ErrorReply, Name, ParseError, Prompt, ServerMsg, check_line, parse_command,
};
use crate::time::Timestamp;

/// An account, by its index in [`ServerState::users`]. Accounts are never deleted, so ids stay valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct UserId(pub(crate) u32);

/// A message kept for a user who was offline when it was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredMsg {
    pub(crate) id: u64,
    pub(crate) from: Name,
    pub(crate) sent_at: Timestamp,
    pub(crate) text: String,
}

#[derive(Debug)]
pub(crate) struct User {
    pub(crate) name: Name,
    pub(crate) password: String,
    /// Wrong passwords in a row since the last success or lockout.
    pub(crate) failures: u32,
    pub(crate) locked_until: Option<Timestamp>,
    /// The connection of the live session, if any: at most one, by construction.
    pub(crate) session: Option<ConnId>,
    /// The users this user has blocked.
    pub(crate) blocks: BTreeSet<UserId>,
    /// Stored messages, oldest first. They stay until the user's client acknowledges them, so a
    /// connection lost mid-delivery (or a server crash) delivers them again rather than losing them.
    pub(crate) mailbox: VecDeque<StoredMsg>,
    /// When the last session ended; `None` if it never did (never logged in, or online since restart).
    pub(crate) last_logout: Option<Timestamp>,
}

impl User {
    pub(crate) fn new(name: Name, password: String) -> Self {
        User {
            name,
            password,
            failures: 0,
            locked_until: None,
            session: None,
            blocks: BTreeSet::new(),
            mailbox: VecDeque::new(),
            last_logout: None,
        }
    }
}

/// Where a connection is in its life.
#[derive(Debug)]
pub(crate) enum Phase {
    AwaitUsername,
    AwaitPassword { user: UserId },
    AwaitNewPassword { name: Name },
    Online(Session),
}

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) user: UserId,
    /// The last command that counted as activity (or the login).
    pub(crate) last_active: Timestamp,
    /// The port of the client's private-chat listener, once registered.
    pub(crate) p2p_port: Option<u16>,
    /// The highest stored-message id delivered on this connection, which bounds what `ack` may confirm.
    pub(crate) delivered_up_to: Option<u64>,
}

#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) peer: SocketAddr,
    pub(crate) opened_at: Timestamp,
    pub(crate) phase: Phase,
}

/// A private-chat request waiting for the target's answer.
#[derive(Debug)]
pub(crate) struct Offer {
    pub(crate) id: u64,
}

/// The whole server, as a value. See the [module documentation](super) for the contract.
pub struct ServerState {
    pub(crate) config: Config,
    /// The latest time seen; time never goes backwards inside the core.
    pub(crate) now: Timestamp,
    pub(crate) users: Vec<User>,
    pub(crate) by_name: FxHashMap<Name, UserId>,
    pub(crate) conns: FxHashMap<ConnId, Conn>,
    /// Users with a live session, and its connection.
    pub(crate) online: BTreeMap<UserId, ConnId>,
    /// `(last_logout, user)` for every user who has logged out, so `whoelsesince` reads only the span it
    /// asks about instead of scanning every account.
    pub(crate) logouts: BTreeSet<(Timestamp, UserId)>,
    /// Pending private-chat requests, keyed by `(requester, target)`.
    pub(crate) offers: BTreeMap<(UserId, UserId), Offer>,
    pub(crate) offer_by_id: FxHashMap<u64, (UserId, UserId)>,
    pub(crate) next_offer_id: u64,
    /// Private chats the server brokered, as `(smaller id, larger id)`.
    pub(crate) private_sessions: BTreeSet<(UserId, UserId)>,
    /// The id the next stored message gets. Ids only grow, across restarts too (see `restore`).
    pub(crate) next_msg_id: u64,
    /// Source of private-chat tokens, seeded by the caller: the core itself has no randomness.
    pub(crate) rng: ChaCha20Rng,
    /// Set by `Shutdown`: everyone is being disconnected, so nobody is told about anybody leaving.
    pub(crate) shutting_down: bool,
}

impl ServerState {
    /// A server with these accounts. `seed` feeds the private-chat token generator; shells pass OS
    /// randomness, tests and simulations a fixed value.
    pub fn new(config: Config, accounts: Vec<Account>, seed: [u8; 32]) -> Self {
        let mut st = ServerState {
            config,
            now: Timestamp::ZERO,
            users: Vec::new(),
            by_name: FxHashMap::default(),
            conns: FxHashMap::default(),
            online: BTreeMap::new(),
            logouts: BTreeSet::new(),
            offers: BTreeMap::new(),
            offer_by_id: FxHashMap::default(),
            next_offer_id: 1,
            private_sessions: BTreeSet::new(),
            next_msg_id: 1,
            rng: ChaCha20Rng::from_seed(seed),
            shutting_down: false,
        };
        for a in accounts {
            st.add_user(Name::from(a.username), a.password);
        }
        st
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Feeds one event in; the effects it causes are appended to `out`, in the order they must happen.
    pub fn handle(&mut self, event: Event<'_>, now: Timestamp, out: &mut Vec<Effect>) {
        let now = self.advance(now);
        match event {
            Event::Connected { conn, peer } => self.on_connected(conn, peer, now, out),
            Event::Line { conn, line } => self.on_line(conn, line, now, out),
            Event::LineTooLong { conn } => self.on_line_too_long(conn, out),
            Event::Disconnected { conn } => self.on_disconnected(conn, now, out),
            Event::TimerFired { timer } => self.on_timer(timer, now, out),
            Event::Shutdown => self.on_shutdown(now, out),
        }
    }

    /// Clamps `now` so time never runs backwards inside the core, whatever the caller's clock does.
    fn advance(&mut self, now: Timestamp) -> Timestamp {
        self.now = self.now.max(now);
        self.now
    }

    pub(crate) fn add_user(&mut self, name: Name, password: String) -> UserId {
        let id = UserId(u32::try_from(self.users.len()).expect("fewer than 2^32 accounts"));
        self.by_name.insert(name.clone(), id);
        self.users.push(User::new(name, password));
        id
    }

    pub(crate) fn user(&self, id: UserId) -> &User {
        &self.users[id.0 as usize]
    }

    pub(crate) fn user_mut(&mut self, id: UserId) -> &mut User {
        &mut self.users[id.0 as usize]
    }

    pub(crate) fn find_user(&self, name: &str) -> Option<UserId> {
        self.by_name.get(name).copied()
    }

    /// Whether `who` has blocked `whom`.
    pub(crate) fn blocks(&self, who: UserId, whom: UserId) -> bool {
        self.user(who).blocks.contains(&whom)
    }

    fn on_connected(
        &mut self,
        conn: ConnId,
        peer: SocketAddr,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        self.conns.insert(
            conn,
            Conn {
                peer,
                opened_at: now,
                phase: Phase::AwaitUsername,
            },
        );
        out.push(Effect::SetTimer {
            timer: TimerId::Conn(conn),
            at: now.plus_secs(self.config.login_timeout_secs),
        });
        send(out, conn, ServerMsg::Prompt(Prompt::Username));
    }

    fn on_line(&mut self, conn: ConnId, bytes: &[u8], now: Timestamp, out: &mut Vec<Effect>) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let online = matches!(c.phase, Phase::Online(_));
        let line = match check_line(bytes) {
            Ok(line) => line,
            Err(e) => {
                send(out, conn, ErrorReply::from(e));
                if !online {
                    self.reprompt(conn, out);
                }
                return;
            }
        };
        if online {
            self.on_command_line(conn, line, now, out);
        } else {
            self.on_login_line(conn, line, now, out);
        }
    }

    fn on_line_too_long(&mut self, conn: ConnId, out: &mut Vec<Effect>) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let online = matches!(c.phase, Phase::Online(_));
        send(
            out,
            conn,
            ErrorReply::LineTooLong {
                max: self.config.max_line,
            },
        );
        if !online {
            self.reprompt(conn, out);
        }
    }

    fn on_command_line(&mut self, conn: ConnId, line: &str, now: Timestamp, out: &mut Vec<Effect>) {
        let cmd = match parse_command(line) {
            Ok(cmd) => cmd,
            Err(e) => {
                send(out, conn, parse_error_reply(e));
                return;
            }
        };
        let Some(Phase::Online(session)) = self.conns.get_mut(&conn).map(|c| &mut c.phase) else {
            return;
        };
        if cmd.is_activity() {
            session.last_active = now;
        }
        let me = session.user;
        match cmd {
            Command::Message { to, text } => self.cmd_message(conn, me, to, text, now, out),
            Command::Broadcast { text } => self.cmd_broadcast(conn, me, text, out),
            Command::WhoElse => self.cmd_whoelse(conn, me, out),
            Command::WhoElseSince { secs } => self.cmd_whoelsesince(conn, me, secs, now, out),
            Command::Block { user } => self.cmd_block(conn, me, user, out),
            Command::Unblock { user } => self.cmd_unblock(conn, me, user, out),
            Command::StartPrivate { user } => self.cmd_startprivate(conn, me, user, now, out),
            Command::Accept { user } => self.cmd_accept(conn, me, user, out),
            Command::Decline { user } => self.cmd_decline(conn, me, user, out),
            Command::StopPrivate { user } => self.cmd_stopprivate(conn, me, user, out),
            Command::P2pPort { port } => self.cmd_p2pport(conn, port, out),
            Command::Ack { id } => self.cmd_ack(conn, me, id, out),
            Command::Logout => self.logout(conn, now, out),
            Command::Help => {
                for command in crate::protocol::CommandName::listed() {
                    send(out, conn, ServerMsg::Help { command });
                }
            }
            // The client reports private-chat use; resetting the idle clock (above) is the whole effect.
            Command::Active => {}
        }
    }

    /// `logout`: confirm, close, and end the session.
    pub(crate) fn logout(&mut self, conn: ConnId, now: Timestamp, out: &mut Vec<Effect>) {
        self.close_with(conn, ByeReason::Logout, now, out);
    }

    fn on_disconnected(&mut self, conn: ConnId, now: Timestamp, out: &mut Vec<Effect>) {
        self.drop_conn(conn, now, out);
    }

    /// Forgets a connection, ending its session (with presence and history) if it had one.
    pub(crate) fn drop_conn(&mut self, conn: ConnId, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        out.push(Effect::CancelTimer {
            timer: TimerId::Conn(conn),
        });
        if let Phase::Online(session) = c.phase {
            self.end_session(session.user, now, out);
        }
    }

    fn on_timer(&mut self, timer: TimerId, now: Timestamp, out: &mut Vec<Effect>) {
        match timer {
            TimerId::Conn(conn) => self.on_conn_deadline(conn, now, out),
            TimerId::Offer(id) => self.on_offer_expired(id, out),
        }
    }

    /// The connection's deadline may have moved since this timer was set (activity pushes it back); if
    /// it has not passed yet, re-arm for the real deadline instead of acting.
    fn on_conn_deadline(&mut self, conn: ConnId, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let (deadline, bye) = match &c.phase {
            Phase::Online(s) => (
                s.last_active.plus_secs(self.config.timeout_secs),
                ByeReason::Timeout {
                    secs: self.config.timeout_secs,
                },
            ),
            _ => (
                c.opened_at.plus_secs(self.config.login_timeout_secs),
                ByeReason::LoginTimeout {
                    secs: self.config.login_timeout_secs,
                },
            ),
        };
        if now < deadline {
            out.push(Effect::SetTimer {
                timer: TimerId::Conn(conn),
                at: deadline,
            });
            return;
        }
        self.close_with(conn, bye, now, out);
    }

    /// Says goodbye to every connection and closes it. History is still recorded, but presence and
    /// private-chat notices are not sent: everyone who would receive them is being disconnected too.
    fn on_shutdown(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        self.shutting_down = true;
        let mut all: Vec<ConnId> = self.conns.keys().copied().collect();
        all.sort();
        for conn in all {
            self.close_with(conn, ByeReason::Shutdown, now, out);
        }
    }

    /// The session of a logged-in connection.
    pub(crate) fn session_mut(&mut self, conn: ConnId) -> Option<&mut Session> {
        match self.conns.get_mut(&conn).map(|c| &mut c.phase) {
            Some(Phase::Online(s)) => Some(s),
            _ => None,
        }
    }

    /// Resolves a username argument, answering the error if it names nobody or the caller.
    pub(crate) fn target(
        &self,
        conn: ConnId,
        me: UserId,
        name: &str,
        command: crate::protocol::CommandName,
        out: &mut Vec<Effect>,
    ) -> Option<UserId> {
        let Some(id) = self.find_user(name) else {
            send(
                out,
                conn,
                ErrorReply::NoSuchUser {
                    user: name.to_owned(),
                },
            );
            return None;
        };
        if id == me {
            send(out, conn, ErrorReply::NotYourself { command });
            return None;
        }
        Some(id)
    }
}

/// Pushes one line for one connection.
pub(crate) fn send(out: &mut Vec<Effect>, to: ConnId, msg: impl Into<ServerMsg>) {
    out.push(Effect::Send {
        to,
        msg: msg.into(),
    });
}

impl From<crate::protocol::LineError> for ErrorReply {
    fn from(e: crate::protocol::LineError) -> Self {
        match e {
            crate::protocol::LineError::InvalidUtf8 => ErrorReply::InvalidUtf8,
            crate::protocol::LineError::ControlChar => ErrorReply::ControlChar,
        }
    }
}

fn parse_error_reply(e: ParseError) -> ErrorReply {
    match e {
        ParseError::Empty => ErrorReply::EmptyLine,
        ParseError::Unknown => ErrorReply::UnknownCommand,
        ParseError::Usage(command) => ErrorReply::Usage { command },
        ParseError::BadNumber(command) => ErrorReply::BadNumber { command },
    }
}
