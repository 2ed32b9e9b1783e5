//! The server's state and the one entry point that changes it.

use std::net::SocketAddr;

use super::accounts::{Accounts, UserId};
use super::addresses::{AddressKey, Addresses};
use super::blocks::Blocks;
use super::brokerage::Brokerage;
use super::config::Config;
use super::credentials::Account;
use super::event::{ConnId, Effect, Event, TimerId};
use super::flow::Input;
use super::group_book::GroupBook;
use super::history::History;
use super::mailboxes::Mailboxes;
use super::passwords::Jobs;
use super::sessions::{Phase, Sessions};
use crate::protocol::{
    ByeReason, Command, ErrorReply, Name, Prompt, ServerMsg, check_line, parse_command,
};
use crate::time::Timestamp;
use crate::timers::Timers;

/// The whole server, as a value. See the [module documentation](super) for the contract.
///
/// Its state is in parts that each own their data and keep their own invariants (as quinn-proto's
/// connection holds its streams and packet spaces); the rule modules combine them.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ServerState {
    pub(crate) config: Config,
    /// The latest time seen; time never goes backwards inside the core.
    pub(crate) now: Timestamp,
    pub(crate) accounts: Accounts,
    pub(crate) sessions: Sessions,
    pub(crate) blocks: Blocks,
    pub(crate) mailboxes: Mailboxes,
    pub(crate) history: History,
    pub(crate) brokerage: Brokerage,
    pub(crate) groups: GroupBook,
    /// Per source address: connections logging in, failed logins, registrations.
    pub(crate) addresses: Addresses,
    /// When `addresses` is next tidied (it holds only addresses with state, and grows between tidies).
    addresses_tidy_at: usize,
    /// Password checks and hashes handed to the shell and not answered yet.
    pub(crate) jobs: Jobs,
    /// Set by `Shutdown`: everyone is being disconnected, so nobody is told about anybody leaving.
    pub(crate) shutting_down: bool,
    /// The deadlines the rules asked for: at most one per [`TimerId`], each re-checked when it fires.
    pub(crate) timers: Timers<TimerId>,
}

impl ServerState {
    /// A server with these accounts. `seed` feeds the private-chat token generator; shells pass OS
    /// randomness, tests and simulations a fixed value.
    pub fn new(config: Config, accounts: Vec<Account>, seed: [u8; 32]) -> Self {
        let mut st = ServerState {
            config,
            now: Timestamp::ZERO,
            accounts: Accounts::default(),
            sessions: Sessions::default(),
            blocks: Blocks::default(),
            mailboxes: Mailboxes::default(),
            history: History::default(),
            brokerage: Brokerage::new(seed),
            groups: GroupBook::default(),
            addresses: Addresses::default(),
            addresses_tidy_at: 1024,
            jobs: Jobs::default(),
            shutting_down: false,
            timers: Timers::new(),
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
            Event::Line { conn, line } => self.on_input(conn, Input::Line(line), now, out),
            Event::LineTooLong { conn } => self.on_input(conn, Input::TooLong, now, out),
            Event::SecretLine { conn, shape } => {
                self.on_input(conn, Input::Secret(shape), now, out)
            }
            Event::Disconnected { conn } => self.on_disconnected(conn, now, out),
            Event::PasswordChecked { job, ok, .. } => self.on_password_checked(job, ok, now, out),
            Event::PasswordHashed { job, hash, .. } => self.on_password_hashed(job, hash, now, out),
            Event::Drained { conn } => {
                if let Some(user) = self.sessions.session(conn).map(|s| s.user) {
                    self.sessions.backlog_mut(user).drained();
                }
            }
            Event::Shutdown => self.on_shutdown(now, out),
        }
    }

    /// The earliest deadline the core has: when the driver must next call [`Self::handle_timeout`]
    /// (`None`: no deadline at all). It changes only when the core is fed something.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.timers.next_deadline()
    }

    /// Lets time pass to `now`: every deadline due by then is acted on, earliest first (one that a rule
    /// sets on the way and is already due too), appending the effects to `out`. Calling it early, late
    /// or more than once is harmless: a deadline acts only once due, and re-checks what it is for then.
    pub fn handle_timeout(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        let now = self.advance(now);
        while let Some(timer) = self.timers.pop_due(now) {
            self.on_timer(timer, now, out);
        }
    }

    /// Clamps `now` so time never runs backwards inside the core, whatever the caller's clock does.
    fn advance(&mut self, now: Timestamp) -> Timestamp {
        self.now = self.now.max(now);
        self.now
    }

    /// Adds an account, with a slot for it in every part.
    pub(crate) fn add_user(&mut self, name: Name, password: String) -> UserId {
        let id = self.accounts.add(name, password);
        self.sessions.add_user();
        self.blocks.add_user();
        self.mailboxes.add_user();
        self.history.add_user();
        self.groups.add_user();
        id
    }

    pub(crate) fn name(&self, id: UserId) -> &Name {
        self.accounts.name(id)
    }

    pub(crate) fn find_user(&self, name: &str) -> Option<UserId> {
        self.accounts.find(name)
    }

    /// Whether `who` has blocked `whom`.
    pub(crate) fn blocks(&self, who: UserId, whom: UserId) -> bool {
        self.blocks.blocks(who, whom)
    }

    fn on_connected(
        &mut self,
        conn: ConnId,
        peer: SocketAddr,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if self.addresses.len() >= self.addresses_tidy_at {
            self.addresses.tidy(now);
            self.addresses_tidy_at = (self.addresses.len() * 2).max(1024);
        }
        let limits = &self.config.address_limits;
        if !self.addresses.open(AddressKey::of(peer), limits) {
            let max = limits.max_pending;
            send(
                out,
                conn,
                ServerMsg::Bye(ByeReason::TooManyConnections { max }),
            );
            out.push(Effect::Close { conn });
            return;
        }
        self.sessions.open(conn, peer, now);
        self.timers.set(
            TimerId::Conn(conn),
            now.plus_secs(self.config.login_timeout_secs),
        );
        send(out, conn, ServerMsg::Prompt(Prompt::Username));
    }

    /// A line or an overlong one, once `flow` lets it through.
    pub(crate) fn handle_input(
        &mut self,
        conn: ConnId,
        input: Input<'_>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        match input {
            Input::Line(line) => self.on_line(conn, line, now, out),
            Input::TooLong => self.on_line_too_long(conn, out),
            Input::Secret(shape) => self.on_secret(conn, shape, now, out),
        }
    }

    fn on_line(&mut self, conn: ConnId, bytes: &[u8], now: Timestamp, out: &mut Vec<Effect>) {
        let Some(phase) = self.sessions.phase(conn) else {
            return;
        };
        let online = matches!(phase, Phase::Online(_));
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
        let Some(phase) = self.sessions.phase(conn) else {
            return;
        };
        let online = matches!(phase, Phase::Online(_));
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
                send(out, conn, ErrorReply::from(e));
                return;
            }
        };
        let Some(session) = self.sessions.session_mut(conn) else {
            return;
        };
        if cmd.is_activity() {
            session.last_active = now;
        }
        let me = session.user;
        match cmd {
            Command::Message { to, text } => self.cmd_message(conn, me, to, text, now, out),
            Command::MessageGroup { group, text } => {
                self.cmd_message_group(conn, me, group, text, now, out)
            }
            Command::CreateGroup { group, members } => {
                self.cmd_create_group(conn, me, group, &members, out)
            }
            Command::GroupAdd { group, user } => self.cmd_group_add(conn, me, group, user, out),
            Command::GroupLeave { group } => self.cmd_group_leave(conn, me, group, out),
            Command::GroupMembers { group } => self.cmd_group_members(conn, me, group, out),
            Command::GroupList => self.cmd_grouplist(conn, me, out),
            Command::Ping { user } => self.cmd_ping(conn, me, user, now, out),
            Command::WhoLastHr => self.cmd_whoelsesince(conn, me, 3600, now, out),
            Command::Offline => self.cmd_offline(conn, me, out),
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
            Command::Receipts { on } => {
                if let Some(s) = self.sessions.session_mut(conn) {
                    s.receipts = on;
                }
            }
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
        let Some(c) = self.sessions.close(conn) else {
            return;
        };
        self.timers.cancel(TimerId::Conn(conn));
        self.timers.cancel(TimerId::Flow(conn));
        if c.pending_login {
            self.addresses.done_pending(AddressKey::of(c.peer), now);
        }
        if let Phase::Online(session) = c.phase {
            self.end_session(session.user, now, out);
        }
    }

    fn on_timer(&mut self, timer: TimerId, now: Timestamp, out: &mut Vec<Effect>) {
        match timer {
            TimerId::Conn(conn) => self.on_conn_deadline(conn, now, out),
            TimerId::Offer(id) => self.on_offer_expired(id, out),
            TimerId::Flow(conn) => self.release_held(conn, now, out),
        }
    }

    /// Says goodbye to every connection and closes it. History is still recorded, but presence and
    /// private-chat notices are not sent: everyone who would receive them is being disconnected too.
    fn on_shutdown(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        self.shutting_down = true;
        for conn in self.sessions.all_conns() {
            self.close_with(conn, ByeReason::Shutdown, now, out);
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
