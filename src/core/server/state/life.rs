//! A connection's life, as the state carries it out: opened (within its address's limit), logged in
//! (the session begins), idle, closed (the session ends); shutting down; and acting on the deadlines.

use std::net::SocketAddr;

use super::ServerState;
use crate::protocol::{ByeReason, Name, Prompt, ServerMsg};
use crate::server::config::{Config, PRESENCE_BURST};
use crate::server::connections::about::About;
use crate::server::connections::idle::{self, Due};
use crate::server::connections::sessions::Session;
use crate::server::event::{ConnId, Effect, TimerId, UserId, send};
use crate::server::login::addresses::AddressKey;
use crate::server::login::rule::Outcome;
use crate::server::presence::announced::Tell;
use crate::server::presence::departed::Departure;
use crate::server::rate::Rate;
use crate::server::record::Record;
use crate::time::Timestamp;

impl ServerState {
    pub(super) fn on_connected(
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
        // A banned address first: the shell holds a TLS handshake until this answer, so it costs
        // the server nothing.
        if self.bans.address(peer.ip(), now).is_some() {
            send(out, conn, ServerMsg::Bye(ByeReason::Banned));
            out.push(Effect::Close { conn });
            return;
        }
        let limits = &self.config.address_limits;
        // New connections per address, first: the shell holds a TLS handshake until this answer.
        if let Err(ready) = self.addresses.connect(AddressKey::of(peer), limits, now) {
            let secs = ready
                .as_millis()
                .saturating_sub(now.as_millis())
                .div_ceil(1000);
            send(
                out,
                conn,
                ServerMsg::Bye(ByeReason::ConnectThrottled { secs: secs.max(1) }),
            );
            out.push(Effect::Close { conn });
            return;
        }
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
        let login_by = now.plus_secs(self.config.login_timeout_secs);
        self.sessions.set_deadline(conn, login_by);
        send(out, conn, ServerMsg::Prompt(Prompt::Username));
    }

    /// Carries out where a login step left `conn` (see [`Outcome`]).
    pub(super) fn carry_out(
        &mut self,
        conn: ConnId,
        outcome: Outcome,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        match outcome {
            Outcome::Pending => {}
            Outcome::Refused(reason) => self.close_with(conn, reason, now, out),
            Outcome::LoggedIn(user) => self.begin_session(conn, user, now, out),
            Outcome::Registered { name, password } => {
                let user = self.add_user(name, password);
                self.begin_session(conn, user, now, out);
            }
            Outcome::Guest(name) => {
                let user = self.add_guest(name);
                self.begin_session(conn, user, now, out);
            }
        }
    }

    /// A password job was answered: where it leaves its connection is carried out, then the lines the
    /// connection sent meanwhile are handled.
    pub(super) fn after_password_job(
        &mut self,
        answer: Option<(ConnId, Outcome)>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some((conn, outcome)) = answer else {
            return;
        };
        self.carry_out(conn, outcome, now, out);
        self.release_held(conn, now, out);
    }

    /// Makes `user` online on `conn`: welcome, how many one-time keys it has published (if it has an
    /// identity), the first window of stored messages (before anything else; the rest as the client
    /// reads), then presence.
    fn begin_session(&mut self, conn: ConnId, user: UserId, now: Timestamp, out: &mut Vec<Effect>) {
        let name = self.name(user).clone();
        let waiting = self.mailboxes.stored(user).cloned().collect();
        self.sessions.begin(conn, Session::new(user, now, waiting));
        let idle_at = idle::next_at(&self.config, now, false);
        self.sessions.set_deadline(conn, idle_at);
        // A guest's visit leaves no login history (nothing of a guest is stored).
        if !self.accounts.is_guest(user) {
            out.push(Effect::Persist(Record::LoggedIn {
                user: name.clone(),
                at: now,
            }));
        }
        send(out, conn, ServerMsg::Welcome { user: name.clone() });
        self.key_rules().welcome(conn, user, out);
        // (The mailbox holds nothing from users this user blocks: `block` discards it.)
        self.delivery().pump(user, out);
        self.group_rules()
            .invitations_at_login(conn, user, now, out);
        self.announce(user, true, now, out);
    }

    /// `user` came (`online`) or went: the others are told now, or, if the user's presence changes
    /// too often, when the interval is over, as it then stands (see `announced`).
    fn announce(&mut self, user: UserId, online: bool, now: Timestamp, out: &mut Vec<Effect>) {
        let rate = presence_rate(&self.config);
        match self.announced.changed(user, online, rate, now) {
            Tell::Now => self.presence().announce(user, online, out),
            Tell::At(at) => self.timers.set(TimerId::Presence(user.0), at),
            Tell::Nothing => {}
        }
    }

    /// A user's held presence may be told now.
    fn presence_due(&mut self, user: UserId, now: Timestamp, out: &mut Vec<Effect>) {
        if user.index() >= self.accounts.len() {
            return;
        }
        let online = self.sessions.session_of(user).is_some();
        let rate = presence_rate(&self.config);
        match self.announced.due(user, online, rate, now) {
            Tell::Now => self.presence().announce(user, online, out),
            Tell::At(at) => self.timers.set(TimerId::Presence(user.0), at),
            Tell::Nothing => {}
        }
    }

    /// Ends `user`'s session (its connection is already closed): what their client did not
    /// acknowledge is kept for the next login, history, presence, and any private-chat state that
    /// needed them online. A guest has no next login: it is forgotten, its name free again.
    fn end_session(&mut self, user: UserId, now: Timestamp, out: &mut Vec<Effect>) {
        if self.accounts.is_guest(user) {
            // It leaves its groups (the members are told, and a stored group records it) and its
            // invitations end, so nothing of it outlives it.
            let groups: Vec<Name> = self.groups.groups_of(user).cloned().collect();
            for g in &groups {
                self.group_rules().remove_member(g, user, out);
            }
            self.group_rules().end_invitations(user, out);
            self.history.logged_out(user, now);
            self.announce(user, false, now, out);
            self.brokering().end_for(user, out);
            // What it did not acknowledge goes with it: there is no mailbox to keep it in.
            self.forget_user(user);
            return;
        }
        self.delivery().session_ended(user, out);
        let name = self.name(user).clone();
        self.history.logged_out(user, now);
        out.push(Effect::Persist(Record::LoggedOut {
            user: name,
            at: now,
        }));
        self.announce(user, false, now, out);
        self.brokering().end_for(user, out);
    }

    /// Says goodbye with `reason`, forgets the connection and closes it.
    pub(super) fn close_with(
        &mut self,
        conn: ConnId,
        reason: ByeReason,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        send(out, conn, ServerMsg::Bye(reason));
        self.drop_conn(conn, now, out);
        out.push(Effect::Close { conn });
    }

    /// Forgets a connection, ending its session (with presence and history) if it had one.
    pub(super) fn drop_conn(&mut self, conn: ConnId, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(closed) = self.sessions.close(conn) else {
            return;
        };
        self.timers.cancel(TimerId::Flow(conn));
        self.closed_peers.push((conn, closed.peer));
        if closed.pending_login {
            self.addresses
                .done_pending(AddressKey::of(closed.peer), now);
        }
        if let Some(user) = closed.user {
            let name = self.name(user).clone();
            let about = closed.about.unwrap_or_else(|| About::of_name(&name));
            self.departed.push(Departure {
                account: !self.accounts.is_guest(user),
                name,
                at: now,
                about,
            });
            self.end_session(user, now, out);
        }
    }

    /// Says goodbye to every connection and closes it. History is still recorded, but presence and
    /// private-chat notices are not sent: everyone who would receive them is being disconnected too.
    pub(super) fn on_shutdown(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        self.shutting_down = true;
        for conn in self.sessions.all_conns() {
            self.close_with(conn, ByeReason::Shutdown, now, out);
        }
    }

    /// One of the core's deadlines has come.
    pub(super) fn on_deadline(&mut self, timer: TimerId, now: Timestamp, out: &mut Vec<Effect>) {
        match timer {
            TimerId::Conn(conn) => self.on_conn_deadline(conn, now, out),
            TimerId::Offer(id) => self.brokering().offer_expired(id, out),
            TimerId::Flow(conn) => self.release_held(conn, now, out),
            TimerId::Presence(user) => self.presence_due(UserId(user), now, out),
        }
    }

    /// Finishing login, the idle warning or the idle logout (see `idle`).
    fn on_conn_deadline(&mut self, conn: ConnId, now: Timestamp, out: &mut Vec<Effect>) {
        let Some(c) = self.sessions.conn(conn) else {
            return;
        };
        match idle::when_due(&self.config, c, now) {
            Due::Later(at) => self.sessions.set_deadline(conn, at),
            Due::Warn {
                secs_left,
                logout_at,
            } => {
                self.sessions.idle_warning_given(conn);
                send(out, conn, ServerMsg::IdleWarning { secs_left });
                self.sessions.set_deadline(conn, logout_at);
            }
            Due::Close(reason) => self.close_with(conn, reason, now, out),
        }
    }
}

/// The rate of one user's presence announcements (`None`: every change at once).
fn presence_rate(config: &Config) -> Option<Rate> {
    (config.presence_interval_secs > 0)
        .then(|| Rate::every_secs(config.presence_interval_secs, PRESENCE_BURST))
        .flatten()
}
