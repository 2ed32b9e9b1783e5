//! The client's state, the one entry point that changes it, and the rules for login, the server's lines
//! and logging out. Private chats are in [`super::private`].

use std::collections::{BTreeMap, BTreeSet};

use super::display::{ClientError, Item, Problem, help_rows};
use super::event::{Effect, Event, Exit, InputMode, LinkId, ServerEvent, TimerId, UserEvent};
use super::input::{Input, InputError, parse_input};
use super::private::{Link, Peer};
use super::seen::Seen;
use crate::protocol::p2p::PeerBye;
use crate::protocol::{
    ByeReason, Command, ErrorReply, Name, Prompt, ServerMsg, check_line, decode_line,
};
use crate::time::Timestamp;

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
    known_version: u64,
    /// Private chats being set up or open, by peer.
    pub(super) peers: BTreeMap<Name, Peer>,
    /// Peer-to-peer connections.
    pub(super) links: BTreeMap<LinkId, Link>,
    pub(super) next_out: u64,
    pub(super) next_setup: u64,
    /// `stopprivate` lines the client sent on its own to keep the server's record in step; their
    /// replies (`PRIVATE-ENDED`, or `no-session` if the other side told the server first) are expected
    /// and not shown.
    pub(super) quiet_stops: BTreeMap<Name, u32>,
}

impl ClientState {
    pub fn new(config: Config, now: Timestamp) -> Self {
        ClientState {
            config,
            now,
            phase: Phase::Connecting,
            known: BTreeSet::new(),
            known_version: 0,
            peers: BTreeMap::new(),
            links: BTreeMap::new(),
            next_out: 1,
            next_setup: 1,
            quiet_stops: BTreeMap::new(),
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
            Event::Server(ServerEvent::Connected) => out.push(Effect::SetTimer {
                timer: TimerId::ServerGreeting,
                at: self.now.plus_secs(self.config.greeting_secs),
            }),
            Event::Server(ServerEvent::Line(bytes)) => self.on_server_line(bytes, out),
            Event::Server(ServerEvent::LineTooLong) => {
                show_error(out, ClientError::BadServerLine("line too long".into()))
            }
            Event::Server(ServerEvent::Closed) => self.on_server_closed(out),
            Event::User(UserEvent::Line(bytes)) => self.on_user_line(bytes, out),
            Event::User(UserEvent::Eof | UserEvent::Interrupt) => self.on_user_quit(out),
            Event::Peer { link, event } => self.on_peer(link, event, out),
            Event::TimerFired(timer) => self.on_timer(timer, out),
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

    /// Changes whenever [`Self::known_users`] does, so a shell copies the list only then.
    pub fn known_users_version(&self) -> u64 {
        self.known_version
    }

    /// Whether a private chat with `peer` is open (both sides have completed the handshake).
    pub fn private_open(&self, peer: &str) -> bool {
        self.peers.get(peer).is_some_and(Peer::is_open)
    }

    /// Peer connections the core is tracking (set up, waiting, or open).
    pub fn link_count(&self) -> usize {
        self.links.len()
    }

    fn logging_in(&self) -> bool {
        matches!(self.phase, Phase::Connecting | Phase::Login { .. })
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

    fn learn_from(&mut self, msg: &ServerMsg) {
        let names: Vec<Name> = match msg {
            ServerMsg::Message { from, .. }
            | ServerMsg::OfflineMessage { from, .. }
            | ServerMsg::Broadcast { from, .. }
            | ServerMsg::PrivateRequest { from, .. } => vec![from.clone()],
            ServerMsg::Presence { user, .. }
            | ServerMsg::Blocked { user }
            | ServerMsg::Unblocked { user } => vec![user.clone()],
            ServerMsg::Stored { to, .. } => vec![to.clone()],
            ServerMsg::WhoElse { users } | ServerMsg::WhoElseSince { users, .. } => users.clone(),
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
    }

    // --- the server's lines ---

    fn on_server_line(&mut self, bytes: &[u8], out: &mut Vec<Effect>) {
        // The server filters control characters from what users send; checking again here means a
        // broken or hostile server cannot rewrite this terminal either.
        let msg = match check_line(bytes).map(decode_line) {
            Ok(Ok(msg)) => msg,
            Ok(Err(e)) => return show_error(out, ClientError::BadServerLine(e.to_string())),
            Err(e) => return show_error(out, ClientError::BadServerLine(e.to_string())),
        };
        self.learn_from(&msg);
        match msg {
            ServerMsg::Prompt(p) => self.on_prompt(p, out),
            ServerMsg::Welcome { user } => self.on_welcome(user, out),
            ServerMsg::Registered { user } => show(out, Item::Registered { user }),
            ServerMsg::Message { from, text } => show(out, Item::Message { from, text }),
            ServerMsg::OfflineMessage {
                id,
                sent_at,
                from,
                text,
            } => self.on_offline_message(id, sent_at, from, text, out),
            ServerMsg::Broadcast { from, text } => show(out, Item::Broadcast { from, text }),
            ServerMsg::Presence { user, online } => show(out, Item::Presence { user, online }),
            ServerMsg::WhoElse { users } => show(out, Item::WhoElse { users }),
            ServerMsg::WhoElseSince { secs, users } => {
                show(out, Item::WhoElseSince { secs, users })
            }
            ServerMsg::Stored { to, .. } => show(out, Item::Stored { to }),
            ServerMsg::BroadcastSent { delivered, skipped } => {
                show(out, Item::BroadcastSent { delivered, skipped })
            }
            ServerMsg::Blocked { user } => show(out, Item::Blocked { user }),
            ServerMsg::Unblocked { user } => show(out, Item::Unblocked { user }),
            // The reply to the client's own registration: nothing for the user to read.
            ServerMsg::P2pPort { .. } => {}
            ServerMsg::PrivateRequest { from, secs } => {
                show(out, Item::PrivateRequest { from, secs })
            }
            ServerMsg::PrivatePending { to, secs } => show(out, Item::PrivateAsked { to, secs }),
            ServerMsg::PrivateAccepted { peer, addr, token } => {
                self.on_private_accepted(peer, addr, token, out)
            }
            ServerMsg::PrivateExpect { peer, token } => self.on_private_expect(peer, token, out),
            ServerMsg::PrivateDeclined { peer } => show(out, Item::PrivateDeclined { peer }),
            ServerMsg::PrivateDeclineSent { peer } => show(out, Item::PrivateDeclineSent { peer }),
            ServerMsg::PrivateCancelled { peer, reason } => {
                show(out, Item::PrivateCancelled { peer, reason })
            }
            ServerMsg::PrivateEnded { peer } => {
                if !self.take_quiet_stop(&peer) {
                    show(
                        out,
                        Item::PrivateEnded {
                            peer,
                            why: super::display::EndReason::YouStopped,
                        },
                    );
                }
            }
            ServerMsg::Help { command } => {
                let spec = command.spec();
                show(
                    out,
                    Item::Help {
                        usage: spec.usage,
                        summary: spec.summary,
                    },
                )
            }
            ServerMsg::Error(e) => self.on_server_error(e, out),
            ServerMsg::Bye(reason) => self.on_bye(reason, out),
        }
    }

    fn on_prompt(&mut self, prompt: Prompt, out: &mut Vec<Effect>) {
        if self.phase == Phase::Connecting {
            self.phase = Phase::Login { asked: None };
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
        *asked = Some(mode.clone());
        out.push(Effect::Read(mode));
    }

    fn on_welcome(&mut self, user: Name, out: &mut Vec<Effect>) {
        if !self.logging_in() {
            return;
        }
        self.known.remove(&user);
        self.phase = Phase::Online { user: user.clone() };
        show(out, Item::Welcome { user: user.clone() });
        out.push(Effect::Send(
            Command::P2pPort {
                port: self.config.p2p_port,
            }
            .to_line(),
        ));
        out.push(Effect::Read(InputMode::Command { user }));
    }

    /// Shows a stored message unless it is a redelivery of one already shown, remembers it durably, and
    /// only then acknowledges it, so the server forgets nothing the user has not seen.
    fn on_offline_message(
        &mut self,
        id: u64,
        sent_at: Timestamp,
        from: Name,
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
            && self.take_quiet_stop(user)
        {
            return;
        }
        let refused =
            matches!(e, ErrorReply::AlreadyOnline) && matches!(self.phase, Phase::Login { .. });
        show(out, Item::Error(Problem::Server(e)));
        if refused {
            // The server would ask for another username; the issue asks the client to stop here.
            self.exit(Exit::LoginRefused, out);
        }
    }

    fn on_bye(&mut self, reason: ByeReason, out: &mut Vec<Effect>) {
        let peers_told = match reason {
            ByeReason::Logout => PeerBye::Logout,
            _ => PeerBye::Offline,
        };
        self.end_all_private(peers_told, out);
        show(out, Item::Bye(reason));
        let exit = match reason {
            ByeReason::Logout => Exit::LoggedOut,
            ByeReason::Locked | ByeReason::Full => Exit::LoginRefused,
            ByeReason::Timeout { .. } | ByeReason::LoginTimeout { .. } | ByeReason::Shutdown => {
                Exit::EndedByServer
            }
        };
        self.exit(exit, out);
    }

    fn on_server_closed(&mut self, out: &mut Vec<Effect>) {
        match self.phase {
            Phase::Connecting | Phase::Login { .. } => {
                show_error(out, ClientError::ServerClosedAtLogin);
                self.exit(Exit::ConnectionLost, out);
            }
            Phase::Online { .. } => {
                self.end_all_private(PeerBye::Offline, out);
                show_error(out, ClientError::ServerLost);
                self.exit(Exit::ConnectionLost, out);
            }
            Phase::LoggingOut => {
                show(out, Item::Bye(ByeReason::Logout));
                self.exit(Exit::LoggedOut, out);
            }
            Phase::Done => {}
        }
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
        match &mut self.phase {
            Phase::Login { asked } => {
                // The server trims and checks what is typed at its prompts, and asks again if it is wrong.
                if asked.take().is_some() {
                    out.push(Effect::Send(line.to_owned()));
                }
            }
            Phase::Online { .. } => self.on_command(line, out),
            Phase::LoggingOut => {
                show_error(out, ClientError::LoggingOut(line.trim().to_owned()));
            }
            Phase::Connecting | Phase::Done => {}
        }
    }

    fn on_command(&mut self, line: &str, out: &mut Vec<Effect>) {
        let cmd = match parse_input(line) {
            Ok(Input::Blank) => return,
            Ok(Input::Private { to, text }) => return self.send_private(to, text, out),
            Ok(Input::Command(cmd)) => cmd,
            Err(InputError::Server(e)) => return show(out, Item::Error(Problem::Server(e))),
            Err(InputError::Client(e)) => return show_error(out, e),
        };
        match cmd {
            Command::Help => {
                for (usage, summary) in help_rows() {
                    show(out, Item::Help { usage, summary });
                }
            }
            Command::Logout => self.begin_logout(out),
            Command::StopPrivate { user } => self.stop_private(user, out),
            other => out.push(Effect::Send(other.to_line())),
        }
    }

    fn on_user_quit(&mut self, out: &mut Vec<Effect>) {
        match self.phase {
            Phase::Connecting | Phase::Login { .. } => {
                show(out, Item::Warning("Not logged in; disconnected.".into()));
                self.exit(Exit::NotLoggedIn, out);
            }
            Phase::Online { .. } => self.begin_logout(out),
            // Asked twice: stop waiting for the server.
            Phase::LoggingOut => self.exit(Exit::LoggedOut, out),
            Phase::Done => {}
        }
    }

    /// Tells the peers, asks the server to log out, and waits (boundedly) for its goodbye.
    fn begin_logout(&mut self, out: &mut Vec<Effect>) {
        self.end_all_private(PeerBye::Logout, out);
        out.push(Effect::Send(Command::Logout.to_line()));
        self.phase = Phase::LoggingOut;
        out.push(Effect::SetTimer {
            timer: TimerId::Logout,
            at: self.now.plus_secs(self.config.logout_grace_secs),
        });
    }

    fn on_timer(&mut self, timer: TimerId, out: &mut Vec<Effect>) {
        match timer {
            TimerId::ServerGreeting => {
                if self.phase == Phase::Connecting {
                    show_error(
                        out,
                        ClientError::NoGreeting {
                            secs: self.config.greeting_secs,
                        },
                    );
                    self.exit(Exit::ConnectionLost, out);
                }
            }
            TimerId::Logout => {
                if self.phase == Phase::LoggingOut {
                    show_error(out, ClientError::LogoutUnconfirmed);
                    self.exit(Exit::LoggedOut, out);
                }
            }
            TimerId::Setup(id) => self.on_setup_deadline(id, out),
            TimerId::Greeting(link) => self.on_greeting_deadline(link, out),
        }
    }

    pub(super) fn exit(&mut self, exit: Exit, out: &mut Vec<Effect>) {
        for link in std::mem::take(&mut self.links).into_keys() {
            out.push(Effect::PeerClose { link });
        }
        self.peers.clear();
        self.phase = Phase::Done;
        out.push(Effect::Exit(exit));
    }

    /// Tells the server a private chat is over, expecting its reply not to be worth showing.
    pub(super) fn quiet_stop(&mut self, peer: &Name, out: &mut Vec<Effect>) {
        if self.user().is_none() {
            return;
        }
        *self.quiet_stops.entry(peer.clone()).or_default() += 1;
        out.push(Effect::Send(Command::StopPrivate { user: peer }.to_line()));
    }

    fn take_quiet_stop(&mut self, peer: &Name) -> bool {
        match self.quiet_stops.get_mut(peer) {
            Some(n) if *n > 1 => {
                *n -= 1;
                true
            }
            Some(_) => {
                self.quiet_stops.remove(peer);
                true
            }
            None => false,
        }
    }
}

pub(super) fn show(out: &mut Vec<Effect>, item: Item) {
    out.push(Effect::Show(item));
}

pub(super) fn show_error(out: &mut Vec<Effect>, e: ClientError) {
    out.push(Effect::Show(Item::Error(Problem::Client(e))));
}
