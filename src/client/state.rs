//! The client's state, the one entry point that changes it, and the rules for login, the server's lines
//! and logging out. Private chats are in [`super::private`].

use std::collections::{BTreeMap, BTreeSet};

use super::display::{ClientError, EndReason, Item, help_rows};
use super::event::{
    Effect, Event, Exit, InputMode, ServerEvent, UserEvent, show, show_error, warn,
};
use super::input::{Input, InputError, normalize, parse_input};
use super::outgoing::{Conversation, Outcome, Outgoing};
use super::private::{Ctx, PrivateChats};
use super::reconnect::Reconnect;
use super::seen::Seen;
use crate::protocol::p2p::PeerBye;
use crate::protocol::{
    ByeReason, Command, ErrorReply, Name, Prompt, ServerMsg, check_line, decode_line,
};
use crate::time::Timestamp;
use crate::timers::Timers;

/// A deadline of the session's own (the private chats keep theirs). Each is re-checked against the
/// phase when it passes, so one no longer wanted does nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Timer {
    /// Connected, but the server has not asked for a username yet: past this, it is not a natter
    /// server (or not a working one), and waiting longer would only look like a hang.
    ServerGreeting,
    /// `logout` was sent; stop waiting for the server's goodbye at this point.
    Logout,
    /// The server was lost and the last attempt to reach one failed: try the next one now.
    Reconnect,
}

/// What the core is told at start.
#[derive(Clone, Debug)]
pub struct Config {
    /// The port of this client's private-chat listener, registered with the server after login.
    pub p2p_port: u16,
    /// The offline messages already shown from this server, per user (from the state file).
    pub seen: BTreeMap<Name, Seen>,
    /// Seconds a peer connection has for its handshake.
    pub handshake_secs: u64,
    /// Seconds the accepting side waits for the requester to connect.
    pub expect_secs: u64,
    /// Seconds to wait for the server's goodbye after `logout`.
    pub logout_grace_secs: u64,
    /// Seconds the server has to send its first prompt.
    pub greeting_secs: u64,
    /// Show the user's own messages as sent, and what became of each ([`Item::Outgoing`],
    /// [`Item::Outcome`]): a full-screen client does; a line client, whose screen already holds what
    /// was typed, does not.
    pub echo_own: bool,
    /// Seeds the private chats' handshakes (their ephemeral keys). The shell passes OS randomness;
    /// tests a fixed value, which makes them reproducible.
    pub seed: [u8; 32],
    /// The servers this client may use, as the user named them (`host:port`): with more than one, a
    /// lost server is replaced by the next (see [`super::reconnect`]).
    pub servers: Vec<String>,
    /// Which of `servers` the first connection went to.
    pub server_index: usize,
    /// How long to keep trying to reach another server before giving up.
    pub reconnect_give_up_secs: u64,
}

impl Config {
    pub fn new(p2p_port: u16) -> Self {
        Config {
            p2p_port,
            seen: BTreeMap::new(),
            handshake_secs: crate::protocol::p2p::HANDSHAKE_SECS,
            expect_secs: crate::protocol::p2p::EXPECT_SECS,
            logout_grace_secs: 5,
            greeting_secs: 10,
            echo_own: false,
            seed: [0; 32],
            servers: Vec::new(),
            server_index: 0,
            reconnect_give_up_secs: 120,
        }
    }
}

/// Where the client is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Connected, waiting for the server's first prompt.
    Connecting,
    /// Answering the server's prompts; `asked` is the prompt being answered, if any.
    Login {
        asked: Option<InputMode>,
    },
    Online {
        user: Name,
    },
    /// `logout` was sent; waiting for the server's goodbye.
    LoggingOut,
    /// The server was lost and no other is connected yet: `dialing` while an attempt is under way,
    /// otherwise waiting for the reconnection timer.
    Reconnecting {
        dialing: bool,
    },
    /// An exit was requested; nothing more happens.
    Done,
}

/// The whole client, as a value. See the [module documentation](super) for the contract.
pub struct ClientState {
    pub(super) config: Config,
    pub(super) now: Timestamp,
    pub(super) phase: Phase,
    /// Every username seen (other than this user's), for completion.
    known: BTreeSet<Name>,
    /// Every group this user is known to be in, for completion.
    known_groups: BTreeSet<Name>,
    known_version: u64,
    /// Private chats being set up or open, and their direct connections.
    chats: PrivateChats,
    /// The user's own messages waiting for the server's answer (with `echo_own`).
    outgoing: Outgoing,
    /// The servers, and the way back to one when the server in use is lost.
    reconnect: Reconnect,
    /// The session's deadlines.
    timers: Timers<Timer>,
}

impl ClientState {
    pub fn new(config: Config, now: Timestamp) -> Self {
        let chats = PrivateChats::new(config.handshake_secs, config.expect_secs, config.seed);
        let reconnect = Reconnect::new(config.servers.clone(), config.server_index);
        ClientState {
            reconnect,
            config,
            now,
            phase: Phase::Connecting,
            known: BTreeSet::new(),
            known_groups: BTreeSet::new(),
            known_version: 0,
            chats,
            outgoing: Outgoing::default(),
            timers: Timers::new(),
        }
    }

    /// Feeds one event in; the effects it causes are appended to `out`, in the order they must happen.
    pub fn handle(&mut self, event: Event<'_>, now: Timestamp, out: &mut Vec<Effect>) {
        self.now = self.now.max(now);
        if self.phase == Phase::Done {
            // Exiting: only make sure no new peer connection is left open.
            if let Event::Peer { link, event } = event
                && !matches!(event, super::event::PeerEvent::Closed)
            {
                out.push(Effect::PeerClose { link });
            }
            return;
        }
        match event {
            Event::Server(ServerEvent::Connected) => {
                if matches!(self.phase, Phase::Reconnecting { .. }) {
                    self.phase = Phase::Connecting;
                }
                let at = self.now.plus_secs(self.config.greeting_secs);
                self.timers.set(Timer::ServerGreeting, at);
            }
            Event::Server(ServerEvent::ConnectFailed { error }) => {
                if self.phase == (Phase::Reconnecting { dialing: true }) {
                    self.retry_later(error, out);
                }
            }
            Event::Server(ServerEvent::Line(bytes)) => self.on_server_line(bytes, out),
            Event::Server(ServerEvent::LineTooLong) => {
                show_error(out, ClientError::BadServerLine("line too long".into()))
            }
            Event::Server(ServerEvent::Closed) => self.on_server_closed(out),
            Event::User(UserEvent::Line(bytes)) => self.on_user_line(bytes, out),
            Event::User(UserEvent::Eof) => self.on_user_quit(false, out),
            Event::User(UserEvent::Interrupt) => self.on_user_quit(true, out),
            Event::Peer { link, event } => {
                let cx = self.cx();
                self.chats.on_peer(&cx, link, event, out)
            }
        }
    }

    /// When the core next needs [`Self::handle_timeout`] called: its earliest deadline, if any.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.phase == Phase::Done {
            return None;
        }
        match (self.timers.next_deadline(), self.chats.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Acts on every deadline passed at `now`, earliest first. Early or repeated calls do nothing.
    pub fn handle_timeout(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        self.now = self.now.max(now);
        loop {
            if self.phase == Phase::Done {
                return;
            }
            let own = self.timers.next_deadline().filter(|at| *at <= self.now);
            let chats = self.chats.poll_timeout().filter(|at| *at <= self.now);
            match (own, chats) {
                (Some(a), Some(b)) if b < a => {
                    let cx = self.cx();
                    self.chats.handle_timeout(&cx, out);
                }
                (Some(_), _) => {
                    if let Some(timer) = self.timers.pop_due(self.now) {
                        self.on_timer(timer, out);
                    }
                }
                (None, Some(_)) => {
                    let cx = self.cx();
                    self.chats.handle_timeout(&cx, out);
                }
                (None, None) => return,
            }
        }
    }

    /// The logged-in user, if any.
    pub fn user(&self) -> Option<&Name> {
        match &self.phase {
            Phase::Online { user } => Some(user),
            _ => None,
        }
    }

    /// Every username the client has seen, sorted, for completion.
    pub fn known_users(&self) -> impl Iterator<Item = &Name> {
        self.known.iter()
    }

    /// Every group this user is known to be in, sorted, for completion.
    pub fn known_groups(&self) -> impl Iterator<Item = &Name> {
        self.known_groups.iter()
    }

    /// Changes whenever [`Self::known_users`] or [`Self::known_groups`] does, so a shell copies the
    /// lists only then.
    pub fn known_users_version(&self) -> u64 {
        self.known_version
    }

    /// Whether a private chat with `peer` is open (both sides have completed the handshake).
    pub fn private_open(&self, peer: &str) -> bool {
        self.chats.is_open(peer)
    }

    /// Peer connections the core is tracking (set up, waiting, or open).
    pub fn link_count(&self) -> usize {
        self.chats.link_count()
    }

    /// What the private chats need to know of the session.
    fn cx(&self) -> Ctx {
        Ctx {
            now: self.now,
            me: self.user().cloned(),
        }
    }

    fn logging_in(&self) -> bool {
        matches!(self.phase, Phase::Connecting | Phase::Login { .. })
    }

    /// Between losing a server and being logged in on another: no command can be sent.
    fn moving(&self) -> bool {
        matches!(self.phase, Phase::Reconnecting { .. })
            || (self.logging_in() && self.reconnect.relogin())
    }

    /// Whether the client has asked to exit.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    fn learn(&mut self, name: &Name) {
        if self.user() == Some(name) {
            return;
        }
        if self.known.insert(name.clone()) {
            self.known_version += 1;
        }
    }

    fn learn_group(&mut self, group: &Name) {
        if self.known_groups.insert(group.clone()) {
            self.known_version += 1;
        }
    }

    fn learn_from(&mut self, msg: &ServerMsg) {
        let names: Vec<Name> = match msg {
            ServerMsg::Message { from, .. }
            | ServerMsg::OfflineMessage { from, .. }
            | ServerMsg::OfflineAgain { from, .. }
            | ServerMsg::Broadcast { from, .. }
            | ServerMsg::GroupMessage { from, .. }
            | ServerMsg::PrivateRequest { from, .. } => vec![from.clone()],
            ServerMsg::Presence { user, .. }
            | ServerMsg::Blocked { user }
            | ServerMsg::Unblocked { user }
            | ServerMsg::Ping { user, .. }
            | ServerMsg::GroupLeft { user, .. } => vec![user.clone()],
            ServerMsg::GroupJoined { user, by, .. } => vec![user.clone(), by.clone()],
            ServerMsg::Stored { to, .. } => vec![to.clone()],
            ServerMsg::WhoElse { users } | ServerMsg::WhoElseSince { users, .. } => users.clone(),
            ServerMsg::GroupCreated { members, .. } | ServerMsg::GroupMembers { members, .. } => {
                members.clone()
            }
            ServerMsg::GroupList { groups } => {
                groups.iter().flat_map(|(_, m)| m.iter().cloned()).collect()
            }
            ServerMsg::PrivatePending { to, .. } => vec![to.clone()],
            ServerMsg::PrivateAccepted { peer, .. }
            | ServerMsg::PrivateExpect { peer, .. }
            | ServerMsg::PrivateDeclined { peer }
            | ServerMsg::PrivateDeclineSent { peer }
            | ServerMsg::PrivateCancelled { peer, .. }
            | ServerMsg::PrivateEnded { peer } => vec![peer.clone()],
            _ => Vec::new(),
        };
        for n in &names {
            self.learn(n);
        }
        match msg {
            ServerMsg::GroupMessage { group, .. }
            | ServerMsg::GroupCreated { group, .. }
            | ServerMsg::GroupSent { group, .. }
            | ServerMsg::GroupMembers { group, .. }
            | ServerMsg::GroupJoined { group, .. }
            | ServerMsg::OfflineMessage {
                group: Some(group), ..
            } => self.learn_group(group),
            ServerMsg::GroupList { groups } => {
                for (g, _) in groups {
                    self.learn_group(g);
                }
            }
            ServerMsg::GroupLeft { group, user }
                if self.user() == Some(user) && self.known_groups.remove(group) =>
            {
                self.known_version += 1;
            }
            _ => {}
        }
    }

    // --- the server's lines ---

    fn on_server_line(&mut self, bytes: &[u8], out: &mut Vec<Effect>) {
        // The server filters control characters from what users send; checking again here means a
        // broken or hostile server cannot rewrite this terminal either.
        let msg = match check_line(bytes).map(decode_line) {
            // What others wrote is shown with any invisible or reordering character made visible.
            Ok(Ok(msg)) => super::reveal::reveal_msg(msg),
            Ok(Err(e)) => return show_error(out, ClientError::BadServerLine(e.to_string())),
            Err(e) => return show_error(out, ClientError::BadServerLine(e.to_string())),
        };
        self.learn_from(&msg);
        if self.config.echo_own
            && let Some((seq, outcome)) = self.outgoing.answered(&msg)
        {
            show(out, Item::Outcome { seq, outcome });
        }
        match msg {
            ServerMsg::Prompt(p) => self.on_prompt(p, out),
            ServerMsg::Welcome { user } => self.on_welcome(user, out),
            ServerMsg::OfflineMessage {
                id,
                sent_at,
                from,
                group,
                text,
            } => self.on_offline_message(id, sent_at, from, group, text, out),
            // Shown again on request: no redelivery check, no acknowledgement.
            ServerMsg::OfflineAgain {
                sent_at,
                from,
                group,
                text,
                ..
            } => show(
                out,
                Item::Offline {
                    from,
                    group,
                    text,
                    age_secs: self.now.millis_since(sent_at) / 1000,
                },
            ),
            // The reply to the client's own registration, and a delivery the outcome above shows:
            // nothing for the user to read.
            ServerMsg::P2pPort { .. } | ServerMsg::Delivered { .. } => {}
            ServerMsg::PrivateAccepted { peer, addr, token } => {
                let cx = self.cx();
                self.chats.on_private_accepted(&cx, peer, addr, token, out)
            }
            ServerMsg::PrivateExpect { peer, token } => {
                let cx = self.cx();
                self.chats.on_private_expect(&cx, peer, token, out)
            }
            ServerMsg::PrivateEnded { peer } => {
                if !self.chats.take_quiet_stop(&peer) {
                    show(
                        out,
                        Item::PrivateEnded {
                            peer,
                            why: EndReason::YouStopped,
                        },
                    );
                }
            }
            ServerMsg::Error(e) => self.on_server_error(e, out),
            ServerMsg::Bye(reason) => self.on_bye(reason, out),
            // Everything else is shown as it came.
            other => show(out, other),
        }
    }

    fn on_prompt(&mut self, prompt: Prompt, out: &mut Vec<Effect>) {
        if self.phase == Phase::Connecting {
            self.phase = Phase::Login { asked: None };
            self.timers.cancel(Timer::ServerGreeting);
        }
        let Phase::Login { asked } = &mut self.phase else {
            // A prompt after login is not in the protocol; nothing sensible to answer.
            return show_error(out, ClientError::BadServerLine("unexpected prompt".into()));
        };
        let mode = match prompt {
            Prompt::Username => InputMode::Username,
            Prompt::Password => InputMode::Password,
            Prompt::NewPassword { user } => InputMode::NewPassword { user },
        };
        // Logging in again after a move: answer from what the user typed the first time.
        if self.reconnect.relogin()
            && let Some(c) = self.reconnect.credentials().cloned()
        {
            match mode {
                InputMode::Username => return out.push(Effect::Send(c.user.to_string())),
                InputMode::Password => return out.push(Effect::Send(c.password.clone())),
                // The account is unknown here: only the user can decide what to do.
                _ => {
                    self.reconnect.stop_relogin();
                    warn(
                        out,
                        format!(
                            "{} does not know the account {}; answer its questions to go on.",
                            self.reconnect.current(),
                            c.user
                        ),
                    );
                }
            }
        }
        *asked = Some(mode.clone());
        out.push(Effect::Read(mode));
    }

    fn on_welcome(&mut self, user: Name, out: &mut Vec<Effect>) {
        if !self.logging_in() {
            return;
        }
        self.known.remove(&user);
        self.phase = Phase::Online { user: user.clone() };
        let moved = self.reconnect.relogin();
        self.reconnect.logged_in(&user);
        if moved {
            warn(
                out,
                format!(
                    "Reconnected to {}; logged in again as {user}.",
                    self.reconnect.current()
                ),
            );
        } else {
            show(out, ServerMsg::Welcome { user: user.clone() });
        }
        out.push(Effect::Send(
            Command::P2pPort {
                port: self.config.p2p_port,
            }
            .to_line(),
        ));
        if self.config.echo_own {
            // Answers to settle the user's own messages with (see `outgoing`).
            out.push(Effect::Send(Command::Receipts { on: true }.to_line()));
        }
        // After a move the input never stopped reading commands.
        if !moved {
            out.push(Effect::Read(InputMode::Command { user }));
        }
    }

    /// Shows a stored message unless it is a redelivery of one already shown, remembers it durably, and
    /// only then acknowledges it, so the server forgets nothing the user has not seen.
    fn on_offline_message(
        &mut self,
        id: u64,
        sent_at: Timestamp,
        from: Name,
        group: Option<Name>,
        text: String,
        out: &mut Vec<Effect>,
    ) {
        let Some(user) = self.user().cloned() else {
            return;
        };
        let shown = self.config.seen.get(&user).copied();
        if !shown.is_some_and(|s| s.covers(id, sent_at)) {
            show(
                out,
                Item::Offline {
                    from,
                    group,
                    text,
                    age_secs: self.now.millis_since(sent_at) / 1000,
                },
            );
            let seen = Seen { id, sent_at };
            self.config.seen.insert(user.clone(), seen);
            out.push(Effect::SaveSeen { user, seen });
        }
        out.push(Effect::Send(Command::Ack { id }.to_line()));
    }

    fn on_server_error(&mut self, e: ErrorReply, out: &mut Vec<Effect>) {
        if let ErrorReply::NoSession { user } = &e
            && self.chats.take_quiet_stop(user)
        {
            return;
        }
        if self.logging_in() && self.reconnect.relogin() {
            if e == ErrorReply::AlreadyOnline {
                // The session on the lost server is not over yet (a dead node's sessions end within
                // a bounded time, a vanished connection's at the keepalive's limit): this server
                // answers, so it is asked again shortly.
                return self.retry_here(out);
            }
            self.reconnect.stop_relogin();
            warn(
                out,
                format!(
                    "Logging in again at {} did not work; answer its questions to go on.",
                    self.reconnect.current()
                ),
            );
        }
        // (`already-online` at login: the server asks for another username, and so does the client.)
        show(out, e);
    }

    fn on_bye(&mut self, reason: ByeReason, out: &mut Vec<Effect>) {
        // A server stopping (or cut off from its cluster) is a server lost, when there is another to
        // move to.
        if matches!(reason, ByeReason::Shutdown | ByeReason::Unavailable)
            && matches!(self.phase, Phase::Online { .. })
            && self.reconnect.can_move()
        {
            show(out, ServerMsg::Bye(reason));
            return self.move_server(out);
        }
        // While moving, a server that cannot take the session now is one attempt failed: the next
        // is tried (a full one may have room for someone else's session, not for this one now).
        if self.moving() {
            let why = match reason {
                ByeReason::Shutdown => Some("it is shutting down"),
                ByeReason::Unavailable => Some("it cannot reach its cluster's storage"),
                ByeReason::Full => Some("it is full"),
                _ => None,
            };
            if let Some(why) = why {
                return self.retry_later(why, out);
            }
        }
        let peers_told = match reason {
            ByeReason::Logout => PeerBye::Logout,
            _ => PeerBye::Offline,
        };
        self.chats.end_all(peers_told, out);
        show(out, ServerMsg::Bye(reason));
        let exit = match reason {
            ByeReason::Logout => Exit::LoggedOut,
            ByeReason::Locked
            | ByeReason::Full
            | ByeReason::TooManyConnections { .. }
            | ByeReason::ConnectThrottled { .. }
            | ByeReason::TlsRequired
            | ByeReason::PlainTextOnly => Exit::LoginRefused,
            ByeReason::Timeout { .. }
            | ByeReason::LoginTimeout { .. }
            | ByeReason::Shutdown
            | ByeReason::Unavailable
            | ByeReason::Flood => Exit::EndedByServer,
        };
        self.exit(exit, out);
    }

    fn on_server_closed(&mut self, out: &mut Vec<Effect>) {
        if self.moving() {
            return self.retry_later("it closed the connection", out);
        }
        if matches!(self.phase, Phase::Online { .. }) && self.reconnect.can_move() {
            return self.move_server(out);
        }
        match self.phase {
            Phase::Connecting | Phase::Login { .. } => {
                show_error(out, ClientError::ServerClosedAtLogin);
                self.exit(Exit::ConnectionLost, out);
            }
            Phase::Online { .. } => {
                self.chats.end_all(PeerBye::Offline, out);
                show_error(out, ClientError::ServerLost);
                self.exit(Exit::ConnectionLost, out);
            }
            Phase::LoggingOut => {
                show(out, ServerMsg::Bye(ByeReason::Logout));
                self.exit(Exit::LoggedOut, out);
            }
            Phase::Reconnecting { .. } | Phase::Done => {}
        }
    }

    // --- moving to another server ---

    /// The server in use is gone: private chats end (the server brokered them), and the next server is
    /// tried at once.
    fn move_server(&mut self, out: &mut Vec<Effect>) {
        self.chats.end_all(PeerBye::Offline, out);
        let user = self.user().cloned();
        let lost = self.reconnect.lost(self.now);
        let user = user.map(|u| format!(" as {u}")).unwrap_or_default();
        warn(
            out,
            format!(
                "Lost the connection to {lost}; connecting to {} to log in again{user}...",
                self.reconnect.current()
            ),
        );
        self.phase = Phase::Reconnecting { dialing: true };
        out.push(Effect::ConnectServer {
            index: self.reconnect.current_index(),
        });
    }

    /// The attempt at the current server failed (`why`): the next is tried after a pause, until the
    /// bound since the server was lost has passed.
    fn retry_later(&mut self, why: &str, out: &mut Vec<Effect>) {
        out.push(Effect::DropServer);
        let failed = self.reconnect.current().to_owned();
        let Some(wait_ms) = self.reconnect.failed(self.now, self.give_up_ms()) else {
            return self.no_server_left(out);
        };
        let when = match wait_ms {
            0 => "now".to_owned(),
            ms => format!("in {} s", ms.div_ceil(1000)),
        };
        warn(
            out,
            format!(
                "Could not log in again at {failed} ({why}); trying {} {when}.",
                self.reconnect.current()
            ),
        );
        self.redial_in(wait_ms);
    }

    /// The current server answers, but the session on the lost one has not ended yet: asked again in a
    /// moment, saying so once.
    fn retry_here(&mut self, out: &mut Vec<Effect>) {
        out.push(Effect::DropServer);
        let Some((wait_ms, first)) = self.reconnect.wait_here(self.now, self.give_up_ms()) else {
            return self.no_server_left(out);
        };
        if first {
            warn(
                out,
                format!(
                    "{} is up, but your session on the lost server has not ended yet (a cluster ends \
                     it within seconds); waiting for it...",
                    self.reconnect.current()
                ),
            );
        }
        self.redial_in(wait_ms);
    }

    /// How long after losing its server the client gives up finding another.
    fn give_up_ms(&self) -> u64 {
        self.config.reconnect_give_up_secs * 1000
    }

    /// No server could be used for the whole bound: said, and the client ends as a lost connection does.
    fn no_server_left(&mut self, out: &mut Vec<Effect>) {
        show_error(
            out,
            ClientError::NoServerLeft {
                secs: self.config.reconnect_give_up_secs,
            },
        );
        self.exit(Exit::ConnectionLost, out);
    }

    /// Dials the current server once `wait_ms` have passed.
    fn redial_in(&mut self, wait_ms: u64) {
        self.phase = Phase::Reconnecting { dialing: false };
        self.timers
            .set(Timer::Reconnect, self.now.plus_millis(wait_ms));
    }

    // --- the user's lines ---

    fn on_user_line(&mut self, bytes: &[u8], out: &mut Vec<Effect>) {
        let line = match check_line(bytes) {
            Ok(line) => line,
            Err(e) => {
                show_error(out, ClientError::Input(e));
                if let Phase::Login { asked: Some(mode) } = &self.phase {
                    out.push(Effect::Read(mode.clone()));
                }
                return;
            }
        };
        if self.moving() {
            return show_error(out, ClientError::NotConnected(line.trim().to_owned()));
        }
        match &mut self.phase {
            Phase::Login { asked } => {
                // The server trims and checks what is typed at its prompts, and asks again if it is wrong.
                match asked.take() {
                    Some(InputMode::Username) => self.reconnect.typed_username(line),
                    Some(InputMode::Password | InputMode::NewPassword { .. }) => {
                        self.reconnect.typed_password(line)
                    }
                    Some(InputMode::Command { .. }) | None => return,
                }
                out.push(Effect::Send(line.to_owned()));
            }
            Phase::Online { .. } => self.on_command(line, out),
            Phase::LoggingOut => {
                show_error(out, ClientError::LoggingOut(line.trim().to_owned()));
            }
            Phase::Connecting | Phase::Reconnecting { .. } | Phase::Done => {}
        }
    }

    fn on_command(&mut self, line: &str, out: &mut Vec<Effect>) {
        let line = normalize(line);
        let cmd = match parse_input(&line) {
            Ok(Input::Blank) => return,
            Ok(Input::Private { to, text }) => {
                if self.chats.send_private(to, text, out) && self.config.echo_own {
                    let to = Conversation::Private(Name::from(to));
                    let seq = self.outgoing.sent(&to, false);
                    let text = text.to_owned();
                    show(out, Item::Outgoing { seq, to, text });
                    show(
                        out,
                        Item::Outcome {
                            seq,
                            outcome: Outcome::Sent,
                        },
                    );
                }
                return;
            }
            Ok(Input::Command(cmd)) => cmd,
            Err(InputError::Server(e)) => return show(out, e),
            Err(InputError::Client(e)) => return show_error(out, e),
        };
        match cmd {
            Command::Help => {
                for (usage, summary) in help_rows() {
                    show(out, Item::Help { usage, summary });
                }
            }
            Command::Logout => self.begin_logout(out),
            Command::StopPrivate { user } => {
                let cx = self.cx();
                self.chats.stop_private(&cx, user, out)
            }
            other => {
                if self.config.echo_own {
                    let own = match &other {
                        Command::Message { to, text } => {
                            Some((Conversation::User(Name::from(*to)), *text))
                        }
                        Command::MessageGroup { group, text } => {
                            Some((Conversation::Group(Name::from(*group)), *text))
                        }
                        _ => None,
                    };
                    if let Some((to, text)) = own {
                        let seq = self.outgoing.sent(&to, true);
                        let text = text.to_owned();
                        show(out, Item::Outgoing { seq, to, text });
                    }
                }
                out.push(Effect::Send(other.to_line()))
            }
        }
    }

    /// The input ended, or the user pressed Ctrl-C (`interrupt`).
    fn on_user_quit(&mut self, interrupt: bool, out: &mut Vec<Effect>) {
        match self.phase {
            Phase::Connecting | Phase::Login { .. } | Phase::Reconnecting { .. } => {
                show(out, Item::Warning("Not logged in; disconnected.".into()));
                self.exit(Exit::NotLoggedIn, out);
            }
            Phase::Online { .. } => self.begin_logout(out),
            // Ctrl-C a second time: stop waiting for the server.
            Phase::LoggingOut if interrupt => self.exit(Exit::LoggedOut, out),
            // The input of a script that ended with `logout`: the answers to its last commands and
            // the goodbye are still on their way (the logout timer bounds the wait).
            Phase::LoggingOut => {}
            Phase::Done => {}
        }
    }

    /// Tells the peers, asks the server to log out, and waits (boundedly) for its goodbye.
    fn begin_logout(&mut self, out: &mut Vec<Effect>) {
        self.chats.end_all(PeerBye::Logout, out);
        out.push(Effect::Send(Command::Logout.to_line()));
        self.phase = Phase::LoggingOut;
        let at = self.now.plus_secs(self.config.logout_grace_secs);
        self.timers.set(Timer::Logout, at);
    }

    fn on_timer(&mut self, timer: Timer, out: &mut Vec<Effect>) {
        match timer {
            Timer::ServerGreeting => {
                if self.phase == Phase::Connecting && self.reconnect.relogin() {
                    let secs = self.config.greeting_secs;
                    self.retry_later(
                        &format!("it did not ask for a username within {secs} s"),
                        out,
                    );
                } else if self.phase == Phase::Connecting {
                    show_error(
                        out,
                        ClientError::NoGreeting {
                            secs: self.config.greeting_secs,
                        },
                    );
                    self.exit(Exit::ConnectionLost, out);
                }
            }
            Timer::Reconnect => {
                if self.phase == (Phase::Reconnecting { dialing: false }) {
                    self.phase = Phase::Reconnecting { dialing: true };
                    out.push(Effect::ConnectServer {
                        index: self.reconnect.current_index(),
                    });
                }
            }
            Timer::Logout => {
                if self.phase == Phase::LoggingOut {
                    show_error(out, ClientError::LogoutUnconfirmed);
                    self.exit(Exit::LoggedOut, out);
                }
            }
        }
    }

    fn exit(&mut self, exit: Exit, out: &mut Vec<Effect>) {
        self.chats.close_all(out);
        self.phase = Phase::Done;
        out.push(Effect::Exit(exit));
    }
}
