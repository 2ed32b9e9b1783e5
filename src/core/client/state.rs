//! The client's state, the one entry point that changes it, and its deadlines. What each input means
//! is in the modules beside it: `login` (the server's prompts), `commands` (what the user typed),
//! `server_lines` (what the server said), `moving` (getting back to a server), `private` (private
//! chats); the full-screen client's view model is [`super::screen`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::complete::Known;
use super::event::{Effect, Event, Exit, InputMode, PeerEvent, ServerEvent, UserEvent};
use super::outgoing::Outgoing;
use super::private::{Ctx, PrivateChats};
use super::reconnect::Reconnect;
use super::screen::{Action, Screen};
use super::seen::Seen;
use crate::protocol::{Conversation, MAX_LINE, Name, ServerMsg};
use crate::time::Timestamp;
use crate::timers::Timers;

/// A deadline of the session's own (the private chats keep theirs). Each is re-checked against the
/// phase when it passes, so one no longer wanted does nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Timer {
    /// Connected, but the server has not asked for a username yet: past this, it is not a natter
    /// server (or not a working one), and waiting longer would only look like a hang.
    ServerGreeting,
    /// `logout` was sent; stop waiting for the server's goodbye at this point.
    Logout,
    /// The server was lost and the last attempt to reach one failed: try the next one now.
    Reconnect,
    /// The next lines of a paste are due (see `commands`).
    Paste,
    /// Acknowledge what was shown since the last acknowledgement: one `ack` for a batch of lines (see
    /// `server_lines`).
    Ack,
    /// Ask again for the keys of users the server said have none (see `secure`).
    RetryClaims,
    /// Claims of keys unanswered for a while: say so (see `secure`).
    SlowClaims,
}

/// How long after showing a message the client acknowledges it, together with whatever else came
/// meanwhile: lines that arrive together (a mailbox at login, a busy conversation) cost one `ack`.
pub const ACK_DELAY_MS: u64 = 50;

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
    /// Show the user's own messages as sent, and what became of each ([`super::Item::Outgoing`],
    /// [`super::Item::Outcome`]): a full-screen client does; a line client, whose screen already holds
    /// what was typed, does not.
    pub echo_own: bool,
    /// Run the full-screen client's view model ([`Screen`]): keys in, windows out. Implies `echo_own`.
    pub full_screen: bool,
    /// The full-screen client's input history at start, oldest first.
    pub history: Vec<String>,
    /// Seeds the private chats' handshakes (their ephemeral keys). The shell passes OS randomness;
    /// tests a fixed value, which makes them reproducible.
    pub seed: [u8; 32],
    /// The servers this client may use, as the user named them (`host:port`): with more than one, a
    /// lost server is replaced by the next (see `client::reconnect`).
    pub servers: Vec<String>,
    /// Which of `servers` the first connection went to.
    pub server_index: usize,
    /// A person at a terminal answers the prompts: a lost lone server is reconnected to, and a
    /// re-login the client cannot finish by itself (a server not verified, a changed certificate)
    /// asks them. Without one (a script), a lost lone server ends the client, as does such a
    /// re-login: the exit status tells the script, and nothing it sends next is taken for an answer.
    pub interactive: bool,
    /// How long to keep trying to reach a server before giving up.
    pub reconnect_give_up_secs: u64,
    /// End-to-end encryption of messages (see [`super::e2e`]); `None` sends and shows text as the
    /// server relays it.
    pub e2e: Option<super::e2e::Setup>,
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
            full_screen: false,
            history: Vec::new(),
            seed: [0; 32],
            servers: Vec::new(),
            server_index: 0,
            interactive: false,
            reconnect_give_up_secs: 120,
            e2e: None,
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
    /// Reconnecting stopped at a server whose certificate changed: waiting for the user to say
    /// whether to trust the one it presents (`fingerprint`).
    Distrusted {
        fingerprint: String,
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
    pub(super) known: BTreeSet<Name>,
    /// Every group this user is known to be in, for completion.
    pub(super) known_groups: BTreeSet<Name>,
    pub(super) known_version: u64,
    /// Private chats being set up or open, and their direct connections.
    pub(super) chats: PrivateChats,
    /// The user's own messages waiting for the server's answer (with `echo_own`).
    pub(super) outgoing: Outgoing,
    /// The servers, and the way back to one when the server in use is lost.
    pub(super) reconnect: Reconnect,
    /// The session's deadlines.
    pub(super) timers: Timers<Timer>,
    /// The full-screen client's view model, when the client runs full screen.
    pub(super) screen: Option<Screen>,
    /// What the user interface was last asked to read and has not answered yet: asked once, so a
    /// line is never read before the core wants it (no prompt is drawn before "Logged out").
    pub(super) reading: Option<InputMode>,
    /// Whether the server connected to proved it is the one trusted (see [`ServerEvent`]).
    pub(super) verified: bool,
    /// The longest line the server takes (it says so when a line was too long).
    pub(super) line_limit: usize,
    /// Lines of a paste not sent yet, paced to stay well inside the server's flood limit.
    pub(super) paste: VecDeque<(Conversation, String)>,
    /// `grouplist` requests the client made itself (for the full-screen nick lists): their replies
    /// are learnt from, not shown.
    pub(super) quiet_grouplists: u32,
    /// Groups whose members the client asked for itself (it was just added to them): the replies are
    /// learnt from, not shown.
    pub(super) quiet_members: BTreeSet<Name>,
    /// A new account's password, typed once, waiting to be typed again.
    pub(super) new_password: Option<String>,
    /// `passwd` asked for a password: the next line typed is it.
    pub(super) passwd_asked: Option<InputMode>,
    /// The new password typed (twice) for `passwd`, until the server says it is the account's.
    pub(super) passwd_chosen: Option<String>,
    /// `passwd` sent a line and waits for the server's answer before the next line is read.
    pub(super) passwd_waiting: bool,
    /// The server and the reason of the last failed attempt to get back to one, said once.
    pub(super) last_failure: Option<(String, String)>,
    /// The newest message id received on this connection and not acknowledged yet (see [`Timer::Ack`]).
    pub(super) unacked: Option<u64>,
    /// The user whose entry of `config.seen` changed since it was last saved (it is saved before each
    /// acknowledgement, and when the connection is lost).
    pub(super) seen_unsaved: Option<Name>,
    /// The logged-in user's device, when messages are encrypted (see [`super::secure`]).
    pub(super) e2e: Option<super::e2e::E2e>,
    /// Per conversation, the numbers of the user's messages typed in this session whose lines have
    /// not left yet (waiting for keys), in order, with their texts (a line may also carry a message
    /// of an earlier session, or one sent again, which must not take a number of these); `None` for
    /// a client that does not show its own messages.
    pub(super) typed: BTreeMap<Conversation, VecDeque<(Option<u64>, String)>>,
    /// Users whose keys are to be asked for again at [`Timer::RetryClaims`].
    pub(super) retry_claims: Vec<Name>,
    /// The password typed at login, kept in memory until the device it unlocks is open.
    pub(super) e2e_password: Option<String>,
    /// Why the logged-in user's device could not be opened: nothing is sent encrypted, and nothing
    /// that should be is sent at all (see `secure`).
    pub(super) e2e_failure: Option<String>,
    /// Server lines held behind end-to-end saves until they are durable (see `commit`).
    pub(super) commits: super::commit::Commits,
    /// The device being opened is a new one the user asked for (`e2e-newkeys`): it takes the
    /// account.
    pub(super) e2e_new_keys: bool,
    /// Claims to look at again, when each is due ([`Timer::SlowClaims`]), oldest first.
    pub(super) slow_claims: VecDeque<(Timestamp, Name)>,
    /// How each conversation used in this session is protected, as last said (see `secure`).
    pub(super) protections: BTreeMap<Conversation, super::e2e::Protection>,
    /// The messages shown in this session, by id (see `server_lines`).
    pub(super) shown_ids: super::secure::ShownIds,
    /// Per user, the newest message shown before this process logged them in (from the state file):
    /// what is below it was shown in an earlier session.
    pub(super) seen_floor: BTreeMap<Name, Option<Seen>>,
}

impl ClientState {
    pub fn new(mut config: Config, now: Timestamp) -> Self {
        config.echo_own |= config.full_screen;
        let chats = PrivateChats::new(config.handshake_secs, config.expect_secs, config.seed);
        let reconnect = Reconnect::new(
            config.servers.clone(),
            config.server_index,
            config.interactive,
        );
        let screen = config.full_screen.then(|| {
            Screen::new(
                reconnect.current().to_owned(),
                std::mem::take(&mut config.history),
                now,
            )
        });
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
            screen,
            reading: None,
            verified: false,
            line_limit: MAX_LINE,
            paste: VecDeque::new(),
            quiet_grouplists: 0,
            quiet_members: BTreeSet::new(),
            new_password: None,
            passwd_asked: None,
            passwd_chosen: None,
            passwd_waiting: false,
            last_failure: None,
            unacked: None,
            seen_unsaved: None,
            e2e: None,
            typed: BTreeMap::new(),
            retry_claims: Vec::new(),
            e2e_password: None,
            e2e_failure: None,
            commits: Default::default(),
            e2e_new_keys: false,
            slow_claims: VecDeque::new(),
            protections: BTreeMap::new(),
            shown_ids: Default::default(),
            seen_floor: BTreeMap::new(),
        }
    }

    /// Feeds one event in; the effects it causes are appended to `out`, in the order they must happen.
    pub fn handle(&mut self, event: Event<'_>, now: Timestamp, out: &mut Vec<Effect>) {
        self.now = self.now.max(now);
        let from = out.len();
        let committed = match &event {
            Event::E2eCommitted(result) => Some(result.clone()),
            _ => None,
        };
        if let Event::Server(ServerEvent::Connected | ServerEvent::ConnectedVerified) = &event {
            self.drop_held_lines(out);
        }
        self.dispatch(event, out);
        self.check_private_ids(out);
        if self.e2e.is_some() && !self.protections.is_empty() {
            self.refresh_protection(out);
        }
        self.commits.hold(out, from);
        if let Some(result) = committed {
            self.on_committed(result, out);
        }
        self.observe(out, from);
    }

    fn dispatch(&mut self, event: Event<'_>, out: &mut Vec<Effect>) {
        if self.phase == Phase::Done {
            // Exiting: only make sure no new peer connection is left open.
            if let Event::Notice(text) = event {
                out.push(Effect::Show(super::Item::Connection(text.to_owned())));
                return;
            }
            if let Event::Peer { link, event } = event
                && !matches!(event, PeerEvent::Closed)
            {
                out.push(Effect::PeerClose { link });
            }
            return;
        }
        match event {
            Event::Server(ServerEvent::Connected) => self.on_connected(false),
            Event::Server(ServerEvent::ConnectedVerified) => self.on_connected(true),
            Event::Server(ServerEvent::ConnectFailed { error }) => {
                if self.phase == (Phase::Reconnecting { dialing: true }) {
                    self.retry_later(error, out);
                }
            }
            Event::Server(ServerEvent::Untrusted { error, presented }) => {
                self.on_untrusted(error, presented, out)
            }
            Event::Server(ServerEvent::Line(bytes)) => self.on_server_line(bytes, out),
            Event::Server(ServerEvent::LineTooLong) => super::event::show_error(
                out,
                super::ClientError::BadServerLine("line too long".into()),
            ),
            Event::Server(ServerEvent::Closed) => self.on_server_closed(out),
            Event::User(UserEvent::Line(bytes)) => {
                self.reading = None;
                self.on_user_line(bytes, out)
            }
            Event::User(UserEvent::Input(input)) => self.on_input(input, out),
            Event::User(UserEvent::Key(key)) => self.on_key(key, out),
            Event::User(UserEvent::Paste(text)) => {
                let now = self.now;
                if let Some(screen) = &mut self.screen {
                    let actions = screen.paste(text, now);
                    self.on_actions(actions, out);
                }
            }
            Event::User(UserEvent::Resize { rows }) => {
                if let Some(screen) = &mut self.screen {
                    screen.resize(rows);
                }
            }
            Event::User(UserEvent::Eof) => self.on_user_quit(false, out),
            Event::User(UserEvent::Interrupt) => self.on_user_quit(true, out),
            Event::Peer { link, event } => {
                let cx = self.cx();
                self.chats.on_peer(&cx, link, event, out)
            }
            Event::Notice(text) => out.push(Effect::Show(super::Item::Connection(text.to_owned()))),
            Event::E2eOpened { user, stored } => self.on_e2e_opened(user, stored, out),
            Event::E2eCommitted(_) => {}
            Event::E2eRewrapped(result) => self.on_e2e_rewrapped(result, out),
        }
    }

    /// What the full-screen view model takes from the effects of one input: what is shown, and what
    /// is asked.
    fn observe(&mut self, out: &[Effect], from: usize) {
        let Some(screen) = &mut self.screen else {
            return;
        };
        for effect in &out[from..] {
            match effect {
                Effect::Show(item) => screen.show(item, self.now),
                Effect::Read(mode) => screen.read(mode.clone()),
                _ => {}
            }
        }
    }

    /// A key in the full-screen client.
    fn on_key(&mut self, key: super::screen::Key, out: &mut Vec<Effect>) {
        let known = match key {
            super::screen::Key::Tab => self.known_names(),
            _ => Known::default(),
        };
        let now = self.now;
        let Some(screen) = &mut self.screen else {
            return;
        };
        let actions = screen.key(key, &known, now);
        self.on_actions(actions, out);
    }

    fn on_actions(&mut self, actions: Vec<Action>, out: &mut Vec<Effect>) {
        for action in actions {
            match action {
                Action::Login(line) => {
                    self.reading = None;
                    self.on_user_line(line.as_bytes(), out)
                }
                Action::Typed(line) => {
                    self.reading = None;
                    self.on_user_line(line.as_bytes(), out)
                }
                Action::Paste { to, lines } => self.on_paste(to, lines, out),
                Action::Interrupt => self.on_user_quit(true, out),
                Action::Eof => self.on_user_quit(false, out),
            }
        }
    }

    /// Asks the user interface to read in `mode`, unless that is what it is doing already.
    pub(super) fn ask(&mut self, mode: InputMode, out: &mut Vec<Effect>) {
        if self.reading.as_ref() != Some(&mode) {
            self.reading = Some(mode.clone());
            out.push(Effect::Read(mode));
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
        let from = out.len();
        loop {
            if self.phase == Phase::Done {
                break;
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
                (None, None) => break,
            }
        }
        self.check_private_ids(out);
        self.commits.hold(out, from);
        self.observe(out, from);
    }

    fn on_timer(&mut self, timer: Timer, out: &mut Vec<Effect>) {
        match timer {
            Timer::ServerGreeting => self.on_greeting_deadline(out),
            Timer::Reconnect => self.on_redial(out),
            Timer::Logout => self.on_logout_deadline(out),
            Timer::Paste => self.send_paste(out),
            Timer::Ack => self.acknowledge(out),
            Timer::RetryClaims => self.retry_claims(out),
            Timer::SlowClaims => self.slow_claims(out),
        }
    }

    /// The logged-in user, if any.
    pub fn user(&self) -> Option<&Name> {
        match &self.phase {
            Phase::Online { user } => Some(user),
            _ => None,
        }
    }

    /// The full-screen client's view model, when the client runs full screen: what the shell draws.
    pub fn screen(&self) -> Option<&Screen> {
        self.screen.as_ref()
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

    fn known_names(&self) -> Known {
        Known {
            users: self.known.iter().map(|u| u.to_string()).collect(),
            groups: self.known_groups.iter().map(|g| g.to_string()).collect(),
        }
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
    pub(super) fn cx(&self) -> Ctx {
        Ctx {
            now: self.now,
            me: self.user().cloned(),
        }
    }

    pub(super) fn logging_in(&self) -> bool {
        matches!(self.phase, Phase::Connecting | Phase::Login { .. })
    }

    /// Between losing a server and being logged in on another: no command can be sent.
    pub(super) fn moving(&self) -> bool {
        matches!(
            self.phase,
            Phase::Reconnecting { .. } | Phase::Distrusted { .. }
        ) || (self.logging_in() && self.reconnect.relogin())
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

    /// The usernames and groups a line of the server mentions, for completion.
    pub(super) fn learn_from(&mut self, msg: &ServerMsg) {
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
            ServerMsg::WhoElse { users } | ServerMsg::WhoElseSince { users, .. } => users.clone(),
            ServerMsg::GroupCreated { members, .. } | ServerMsg::GroupMembers { members, .. } => {
                members.clone()
            }
            ServerMsg::GroupList { groups } => {
                groups.iter().flat_map(|(_, m)| m.iter().cloned()).collect()
            }
            // An error may name someone who does not exist.
            ServerMsg::Error(_) => Vec::new(),
            // The rest name at most the other end of a conversation.
            other => match other.conversation() {
                Some(Conversation::User(u) | Conversation::Private(u)) => vec![u],
                _ => Vec::new(),
            },
        };
        for n in &names {
            self.learn(n);
        }
        match msg {
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
            ServerMsg::GroupMessage { group, .. }
            | ServerMsg::GroupCreated { group, .. }
            | ServerMsg::GroupSent { group, .. }
            | ServerMsg::GroupMembers { group, .. }
            | ServerMsg::GroupJoined { group, .. }
            | ServerMsg::OfflineMessage {
                group: Some(group), ..
            } => self.learn_group(group),
            _ => {}
        }
    }

    pub(super) fn exit(&mut self, exit: Exit, out: &mut Vec<Effect>) {
        self.save_seen(out);
        self.say_what_waits(out);
        self.chats.close_all(out);
        self.phase = Phase::Done;
        out.push(Effect::Exit(exit));
    }
}
