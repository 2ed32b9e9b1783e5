//! The client's state, the one entry point that changes it, and its deadlines.
//!
//! [`ClientState`] holds the parts, each of which owns its data and keeps its own invariants behind
//! its methods, and nothing else (as the server's state does): the session (`session`), the way back
//! to a server (`reconnect`), the conversations known (`conversations`), what came in (`inbox`), what
//! goes out (`outgoing`, `paste`), end-to-end encryption (`encryption`, with the lines held for its
//! saves: `commit`), the private chats (`private`) and the full-screen view model (`screen`). The
//! rules that touch only some parts are handed only those, borrowed for the call (`login`,
//! `moving`). What spans the parts is the state's own, in the files of `state/`:
//!
//! - `typed.rs`: what the user typed (a line, a typed input, a key, a paste), said or run; quitting
//!   and logging out.
//! - `lines.rs`: what the server said, each line decoded once, learnt from, and shown or acted on.
//! - `login.rs`: the server's prompts and the welcome.
//! - `moving.rs`: losing the server and getting back to one.
//! - `secure.rs`: carrying out what the end-to-end device asks, and the key commands.

mod lines;
mod login;
mod moving;
mod secure;
mod typed;

use std::collections::{BTreeMap, BTreeSet};

use super::commit::Commits;
use super::conversations::Conversations;
use super::display::{ClientError, Item};
use super::encryption::Encryption;
use super::event::{Effect, Event, Exit, PeerEvent, ServerEvent, UserEvent, show, show_error};
use super::highlight::Highlights;
use super::inbox::Inbox;
use super::login::Login;
use super::moving::Moving;
use super::outgoing::Outgoing;
use super::paste::Paste;
use super::private::{Ctx, PrivateChats};
use super::read_ahead::ReadAhead;
use super::reconnect::Reconnect;
use super::screen::{Action, Facts, Keeper, Link, Screen, View};
use super::script_order::ScriptOrder;
use super::seen::Seen;
use super::session::{Session, Step};
use super::timer::Timer;
use super::typing::Typing;
use crate::protocol::{Conversation, Name};
use crate::time::Timestamp;
use crate::timers::Timers;

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
    /// Seeds the private chats' handshakes (their ephemeral keys) and the jitter of the waits between
    /// attempts to reach a lost server. The shell passes OS randomness;
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
    /// How long to keep trying to reach a lost server (by default: forever at a terminal, a bound
    /// for a script), and the longest wait between attempts. The waits' jitter is drawn from `seed`.
    pub reconnect: super::reconnect::Policy,
    /// End-to-end encryption of messages (see [`super::e2e`]); `None` sends and shows text as the
    /// server relays it.
    pub e2e: Option<super::e2e::Setup>,
    /// Whom each account ignores at this server (`/ignore`, as the shell kept it): their messages
    /// are not shown.
    pub ignored: BTreeMap<Name, BTreeSet<Name>>,
    /// Words that highlight a line besides the user's name (`--hilight`; see
    /// [`super::highlight`]).
    pub hilights: Vec<String>,
    /// Log every conversation's lines (irssi's autolog): [`Effect::Log`] for each line said or
    /// shown in one, for the shell to write.
    pub logs: bool,
    /// What the full-screen client keeps of its windows across restarts ([`Effect::SaveWindows`],
    /// brought back at the first login: see [`super::screen::saved`]); `None`: nothing.
    pub keep_windows: Option<super::screen::Keep>,
    /// A script's client (piped, no person, no screen): what the client says to a line is shown
    /// after the server's answers to the lines above it (see `script_order`).
    pub script_order: bool,
}

impl Config {
    /// The defaults, with the private-chat listener on `p2p_port`: a line client for a script,
    /// one server, no encryption.
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
            reconnect: super::reconnect::Policy::default(),
            e2e: None,
            ignored: BTreeMap::new(),
            hilights: Vec::new(),
            logs: false,
            keep_windows: None,
            script_order: false,
        }
    }
}

/// The whole client, as a value. See the [module documentation](super) for the contract.
pub struct ClientState {
    /// The latest time seen; time never goes backwards inside the core.
    now: Timestamp,
    session: Session,
    reconnect: Reconnect,
    conversations: Conversations,
    /// Who is typing in each conversation (the server's typing signals).
    typing: Typing,
    /// The lines that named the user, and the words that do.
    highlights: Highlights,
    inbox: Inbox,
    outgoing: Outgoing,
    paste: Paste,
    encryption: Encryption,
    /// Server lines held behind end-to-end saves until they are durable.
    commits: Commits,
    /// Private chats being set up or open, and their direct connections.
    chats: PrivateChats,
    /// The full-screen client's view model, when the client runs full screen.
    screen: Option<Screen>,
    /// The session's deadlines, at most one per [`Timer`] (the private chats keep theirs).
    timers: Timers<Timer>,
    /// Whether conversations are logged ([`Effect::Log`]).
    logs: bool,
    /// Keeping the full-screen windows across restarts: when they are read and saved.
    keeper: Keeper,
    /// A script's output kept in the order of its lines.
    order: ScriptOrder,
    /// A person at a line-mode prompt pressed Ctrl-C and was told a second one logs out; a line
    /// typed since takes it back.
    interrupted: bool,
    /// Lines a script's input held already, taken in one at a time as they are asked for.
    ahead: ReadAhead,
}

impl ClientState {
    /// A client just connected to its first server, as `config` says, at `now`.
    pub fn new(config: Config, now: Timestamp) -> Self {
        let Config {
            p2p_port,
            seen,
            handshake_secs,
            expect_secs,
            logout_grace_secs,
            greeting_secs,
            echo_own,
            full_screen,
            history,
            seed,
            servers,
            server_index,
            interactive,
            reconnect,
            e2e,
            ignored,
            hilights,
            logs,
            keep_windows,
            script_order,
        } = config;
        let reconnect = Reconnect::new(servers, server_index, interactive, reconnect, seed);
        let screen = full_screen.then(|| Screen::new(reconnect.current().to_owned(), history, now));
        ClientState {
            now,
            session: Session::new(greeting_secs, logout_grace_secs, p2p_port),
            reconnect,
            conversations: Conversations::new(ignored),
            typing: Typing::default(),
            highlights: Highlights::new(hilights),
            inbox: Inbox::new(seen),
            outgoing: Outgoing::new(echo_own || full_screen),
            paste: Paste::default(),
            encryption: Encryption::new(e2e),
            commits: Commits::default(),
            chats: PrivateChats::new(handshake_secs, expect_secs, seed),
            screen,
            timers: Timers::new(),
            logs,
            keeper: Keeper::new(keep_windows.filter(|_| full_screen)),
            order: ScriptOrder::new(script_order && !interactive && !full_screen),
            ahead: ReadAhead::default(),
            interrupted: false,
        }
    }

    /// Feeds one event in; the effects it causes are appended to `out`, in the order they must happen.
    pub fn handle(&mut self, event: Event<'_>, now: Timestamp, out: &mut Vec<Effect>) {
        let from = out.len();
        match event {
            Event::User(UserEvent::Lines(lines)) => {
                self.now = self.now.max(now);
                self.ahead.extend(lines);
            }
            event => self.handle_one(event, now, out, true),
        }
        self.take_ahead(from, now, out);
    }

    /// Takes in the lines read ahead (`read_ahead`) while the session asks for one: each answers
    /// the `Read` the effects since `start` hold (not passed on: it is answered already). Not while
    /// those effects wait for an answer the shell gives before any other input (the keys opened,
    /// say): the next line is taken when that answer comes. The end-to-end commit their saves need
    /// is asked for once, after the last (a batch of lines shares one sync).
    fn take_ahead(&mut self, start: usize, now: Timestamp, out: &mut Vec<Effect>) {
        if self.session.is_done() {
            return self.ahead.clear();
        }
        let mut from = start;
        let mut took = false;
        while self.ahead.any()
            && self.session.asking()
            && !self.session.is_done()
            && !out[start..].iter().any(Effect::answered_at_once)
        {
            let line = self.ahead.next().expect("checked");
            let mut i = from;
            while i < out.len() {
                if matches!(out[i], Effect::Read(_)) {
                    out.remove(i);
                } else {
                    i += 1;
                }
            }
            from = out.len();
            self.handle_one(Event::User(UserEvent::Line(&line)), now, out, false);
            took = true;
        }
        if took {
            self.commits.ask(out, &mut |o| self.encryption.flush(o));
        }
        if self.session.is_done() {
            self.ahead.clear();
        }
    }

    /// [`Self::handle`] for one event; `ask_commit`: the end-to-end commit its saves need is asked
    /// for now (otherwise by the caller, after more events).
    fn handle_one(
        &mut self,
        event: Event<'_>,
        now: Timestamp,
        out: &mut Vec<Effect>,
        ask_commit: bool,
    ) {
        self.now = self.now.max(now);
        let from = out.len();
        let committed = match &event {
            Event::E2eCommitted(result) => Some(result.clone()),
            _ => None,
        };
        if let Event::Server(ServerEvent::Connected | ServerEvent::ConnectedVerified) = &event {
            self.drop_held_lines(out);
            self.answers_lost(out);
        }
        if let Event::Server(ServerEvent::Closed) = &event {
            // The answers awaited will not come: what a script's lines were told is said now.
            self.order.flush(out);
        }
        let typed_line = matches!(event, Event::User(UserEvent::Line(_)));
        self.dispatch(event, out);
        self.check_private_ids(out);
        if self.encryption.protections_said() {
            self.refresh_protection(out);
        }
        if typed_line && self.session.online() {
            self.order.typed(out, from, self.session.p2p_port());
        } else {
            self.order.sent(out, from);
        }
        if ask_commit {
            self.commits
                .hold(out, from, &mut |o| self.encryption.flush(o));
        } else {
            self.commits.gather(out, from);
        }
        if let Some(result) = committed {
            self.on_committed(result, out);
        }
        self.observe(out, from);
        self.log(out, from);
        self.keep_windows(out, from);
    }

    /// The full-screen windows changed: saved a little later, or now if the client is ending
    /// (before it says so).
    fn keep_windows(&mut self, out: &mut Vec<Effect>, from: usize) {
        let Some(screen) = &self.screen else {
            return;
        };
        match out[from..]
            .iter()
            .position(|e| matches!(e, Effect::Exit(_)))
        {
            Some(i) => {
                let mut save = Vec::new();
                self.keeper
                    .save(screen, self.now, &mut self.timers, &mut save);
                let at = from + i;
                out.splice(at..at, save);
            }
            None => self.keeper.changed(screen, self.now, &mut self.timers),
        }
    }

    /// The conversations' lines among what one input showed, for their logs.
    fn log(&self, out: &mut Vec<Effect>, from: usize) {
        if !self.logs {
            return;
        }
        let me = self.session.user();
        let lines: Vec<Effect> = out[from..]
            .iter()
            .filter_map(|effect| match effect {
                Effect::Show(item) => super::chatlog::line_of(item, me, self.now),
                _ => None,
            })
            .map(Effect::Log)
            .collect();
        out.extend(lines);
    }

    /// `text` was said to `to` by the user, and the client does not show its own lines (line
    /// mode): logged all the same.
    pub(super) fn log_said(&self, to: &Conversation, text: &str, out: &mut Vec<Effect>) {
        if let (true, false, Some(me)) = (self.logs, self.outgoing.echo_own(), self.session.user())
        {
            out.push(Effect::Log(super::chatlog::said_by_me(
                to, me, text, self.now,
            )));
        }
    }

    fn dispatch(&mut self, event: Event<'_>, out: &mut Vec<Effect>) {
        if self.session.is_done() {
            // Exiting: only make sure no new peer connection is left open.
            if let Event::Notice(text) = event {
                out.push(Effect::Show(Item::Connection(text.to_owned())));
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
                if self.session.dialing() {
                    self.retry_later(error, out);
                }
            }
            Event::Server(ServerEvent::Untrusted { error, presented }) => {
                self.on_untrusted(error, presented, out)
            }
            Event::Server(ServerEvent::Line(bytes)) => self.on_server_line(bytes, out),
            Event::Server(ServerEvent::LineTooLong) => {
                show_error(out, ClientError::BadServerLine("line too long".into()))
            }
            Event::Server(ServerEvent::Closed) => self.on_server_closed(out),
            Event::User(UserEvent::Line(bytes)) => {
                self.session.forget_asked();
                self.interrupted = false;
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
            // Kept by `handle`, and taken in one at a time.
            Event::User(UserEvent::Lines(_)) => {}
            Event::User(UserEvent::Eof) => self.on_user_quit(false, out),
            Event::User(UserEvent::Interrupt) => self.on_interrupt(out),
            Event::Peer { link, event } => {
                let cx = self.cx();
                self.chats.on_peer(&cx, link, event, out)
            }
            Event::Notice(text) => out.push(Effect::Show(Item::Connection(text.to_owned()))),
            Event::E2eOpened { user, stored } => self.on_e2e_opened(user, stored, out),
            Event::WindowsLoaded { user, bytes } => {
                if let Some(screen) = &mut self.screen {
                    self.keeper.loaded(user, bytes, screen, out);
                }
            }
            Event::E2eCommitted(_) => {}
            Event::E2eRewrapped(result) => {
                if let Err(why) = result {
                    // The stored keys still open with the old password; the user is told how to
                    // get in with the new one.
                    show_error(out, ClientError::E2eRewrapFailed(why));
                }
            }
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
    fn on_key(&mut self, key: super::key::Key, out: &mut Vec<Effect>) {
        let known = match key {
            super::key::Key::Tab => self.conversations.known(),
            _ => Default::default(),
        };
        let now = self.now;
        if self.screen.is_none() {
            return;
        }
        // Logged out for being idle: typing logs in again (what is typed is kept for after).
        if self.session.is_offline() == Some(true)
            && matches!(
                key,
                super::key::Key::Char(_)
                    | super::key::Key::Enter
                    | super::key::Key::Ctrl('j' | 'm')
            )
        {
            self.wake(out);
        }
        let Some(screen) = &mut self.screen else {
            return;
        };
        let actions = screen.key(key, &known, now);
        self.on_actions(actions, out);
    }

    /// Carries out what the full-screen view model asked of the session.
    fn on_actions(&mut self, actions: Vec<Action>, out: &mut Vec<Effect>) {
        for action in actions {
            match action {
                // A line typed answers what was asked: the next question is asked anew.
                Action::Answer(line) => {
                    self.session.forget_asked();
                    self.on_user_line(line.as_bytes(), out)
                }
                Action::Input(typed) => {
                    self.session.forget_asked();
                    self.on_typed(&typed, out)
                }
                Action::Refused(e) => {
                    self.session.forget_asked();
                    self.refused(e, out)
                }
                Action::Paste { to, lines } => self.on_paste(to, lines, out),
                Action::Interrupt => self.on_user_quit(true, out),
                Action::Eof => self.on_user_quit(false, out),
            }
        }
    }

    /// When the core next needs [`Self::handle_timeout`] called: its earliest deadline, if any.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.session.is_done() {
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
            if self.session.is_done() {
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
        self.commits
            .hold(out, from, &mut |o| self.encryption.flush(o));
        self.observe(out, from);
        self.log(out, from);
        self.keep_windows(out, from);
        self.take_ahead(from, now, out);
    }

    fn on_timer(&mut self, timer: Timer, out: &mut Vec<Effect>) {
        match timer {
            Timer::ServerGreeting => self.on_greeting_deadline(out),
            Timer::Reconnect => self.on_redial(out),
            Timer::Logout => {
                if self.session.logging_out_to_stay() {
                    // No goodbye to `/disconnect`: the connection is dropped all the same.
                    self.disconnected(out);
                } else if self.session.logging_out_now() {
                    // Silent for the whole grace period (each line from the server starts it
                    // again): what was sent last may not have been done, which a script's status
                    // must not hide as a clean logout.
                    show_error(out, ClientError::LogoutUnconfirmed);
                    self.exit(Exit::ConnectionLost, out);
                }
            }
            Timer::Paste => self.send_paste(out),
            Timer::Ack => self.acknowledge(out),
            Timer::Typing => self.typing.expire(self.now, &mut self.timers),
            Timer::RetryClaims => self.retry_claims(out),
            Timer::SlowClaims => self.slow_claims(out),
            Timer::SaveWindows => {
                if let Some(screen) = &self.screen {
                    self.keeper.save(screen, self.now, &mut self.timers, out);
                }
            }
        }
    }

    /// The logged-in user, if any.
    pub fn user(&self) -> Option<&Name> {
        self.session.user()
    }

    /// The full-screen client, when the client runs full screen: what the shell draws, the view
    /// model with what the session knows that it shows beside it.
    pub fn screen(&self) -> Option<View<'_>> {
        let screen = self.screen.as_ref()?;
        let link = match (self.session.is_offline(), self.reconnect.lost_since()) {
            (Some(wake_on_typing), _) => Link::Offline { wake_on_typing },
            (None, Some(since)) => Link::Reconnecting {
                since,
                next_try: self.reconnect.next_try(),
            },
            (None, None) => Link::Up,
        };
        let facts = Facts {
            server: self.reconnect.current(),
            link,
            online: self.conversations.online(),
            members: self.conversations.members(),
            protections: self.encryption.protections(),
            idle_deadline: self.session.idle_deadline(),
            topics: self.conversations.topics(),
            away: self.conversations.away(),
            typing: self.typing.all(),
            version: [
                self.typing.version(),
                self.reconnect.version(),
                self.conversations.people_version(),
                self.encryption.protections_version(),
                self.session.idle_version(),
            ]
            .iter()
            .fold(0u64, |sum, v| sum.wrapping_add(*v)),
        };
        Some(View::new(screen, facts))
    }

    /// Every username the client has seen, sorted, for completion.
    pub fn known_users(&self) -> impl Iterator<Item = &Name> {
        self.conversations.users()
    }

    /// Every group this user is known to be in, sorted, for completion.
    pub fn known_groups(&self) -> impl Iterator<Item = &Name> {
        self.conversations.groups()
    }

    /// Changes whenever [`Self::known_users`] or [`Self::known_groups`] does, so a shell copies the
    /// lists only then.
    pub fn known_users_version(&self) -> u64 {
        self.conversations.version()
    }

    /// Whether a private chat with `peer` is open (both sides have completed the handshake).
    pub fn private_open(&self, peer: &str) -> bool {
        self.chats.is_open(peer)
    }

    /// Peer connections the core is tracking (set up, waiting, or open).
    pub fn link_count(&self) -> usize {
        self.chats.link_count()
    }

    /// Whether the client has asked to exit.
    pub fn is_done(&self) -> bool {
        self.session.is_done()
    }

    /// The login rule, handed the parts it touches.
    fn login(&mut self) -> Login<'_> {
        Login {
            session: &mut self.session,
            reconnect: &mut self.reconnect,
            timers: &mut self.timers,
        }
    }

    /// The moving rule, handed the parts it touches.
    fn moves(&mut self) -> Moving<'_> {
        Moving {
            session: &mut self.session,
            reconnect: &mut self.reconnect,
            timers: &mut self.timers,
            now: self.now,
        }
    }

    /// What the private chats need to know of the session.
    fn cx(&self) -> Ctx {
        Ctx {
            now: self.now,
            me: self.session.user().cloned(),
        }
    }

    /// Between losing a server and being logged in on another: no command can be sent.
    fn moving(&self) -> bool {
        self.session.between_servers() || (self.session.logging_in() && self.reconnect.relogin())
    }

    /// Carries out what a rule's step left to do.
    fn step(&mut self, step: Step, out: &mut Vec<Effect>) {
        if let Step::End(exit) = step {
            self.exit(exit, out);
        }
    }

    /// The client ends: what was shown is saved, what still waits to be sent is said (it is kept),
    /// the private chats are closed, and the shell is told how it ended.
    fn exit(&mut self, exit: Exit, out: &mut Vec<Effect>) {
        self.order.flush(out);
        self.inbox.save_seen(out);
        let waiting = self.encryption.waiting();
        if waiting > 0 {
            show(
                out,
                Item::Warning(format!(
                    "{waiting} message{} still wait{} (for encryption keys, a decision about a changed key, or a group's members); kept on this device, {} when you next log in.",
                    if waiting == 1 { "" } else { "s" },
                    if waiting == 1 { "s" } else { "" },
                    if waiting == 1 {
                        "it is sent"
                    } else {
                        "they are sent"
                    },
                )),
            );
        }
        self.chats.close_all(out);
        self.session.done();
        out.push(Effect::Exit(exit));
    }
}

/// What the tests look at inside.
#[cfg(test)]
impl ClientState {
    /// The open end-to-end device.
    pub(super) fn device(&self) -> Option<&super::e2e::E2e> {
        self.encryption.device()
    }

    /// What was shown, per user, as the state file is to keep it.
    pub(super) fn seen(&self) -> &BTreeMap<Name, Seen> {
        self.inbox.seen()
    }

    /// The password the stored keys are unlocked with.
    pub(super) fn e2e_password(&self) -> Option<&str> {
        self.encryption.password()
    }
}
