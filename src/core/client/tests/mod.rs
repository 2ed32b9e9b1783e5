//! Unit tests of the client core on a virtual clock: the server's lines are rendered by the real
//! renderer and fed in as bytes, so what is tested is what a real client receives.

mod e2e;
mod e2e_store;
mod live;
mod login;
mod logs;
mod papercuts;
mod private;
mod read_ahead;
mod reconnect;
mod restore;
mod screen;
mod session;
mod staying;
mod timers;
mod typing;
mod words;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use super::*;
use crate::protocol::{Name, Prompt, ServerMsg, Token, render_line};
use crate::time::Timestamp;

pub(super) const START: Timestamp = Timestamp(1_700_000_000_000);
pub(super) const P2P_PORT: u16 = 5555;

/// One client core, with everything it asked for recorded.
pub(super) struct Client {
    pub state: ClientState,
    pub now: Timestamp,
    pub shown: Vec<Item>,
    pub sent: Vec<String>,
    /// Frames sent on peer links (payloads, as the core hands them to the shell).
    pub peer_sent: Vec<(LinkId, Vec<u8>)>,
    pub closed: BTreeSet<LinkId>,
    pub connects: Vec<(LinkId, SocketAddr)>,
    pub reads: Vec<InputMode>,
    pub saved: Vec<(Name, Seen)>,
    /// Whom the user ignores, each time the core asked to keep it.
    pub ignored_saved: Vec<(Name, Vec<Name>)>,
    /// End-to-end state the core asked to persist, in order (parts saved whole).
    pub e2e_saved: Vec<(crate::client::e2e::Part, Vec<u8>)>,
    /// Everything the core asked to persist, in order: what `OpenE2e` is answered with.
    pub e2e_store: Vec<(crate::client::e2e::Part, crate::client::e2e::Stored)>,
    /// Commits asked for (each answered at once, with `commit_fails` if set).
    pub commits: u32,
    pub commit_fails: Option<String>,
    /// `OpenE2e` is answered with this error instead of the store.
    pub open_fails: Option<String>,
    /// `RewrapE2e`: (previous password, new one), each answered done.
    pub rewraps: Vec<(String, String)>,
    /// The conversations' log lines, in order.
    pub logged: Vec<crate::client::chatlog::LogLine>,
    /// The full-screen windows as last kept (`SaveWindows`): what `LoadWindows` is answered with.
    pub windows_kept: Option<Vec<u8>>,
    /// `LoadWindows` is answered with this error instead of the windows kept.
    pub windows_unreadable: Option<String>,
    /// How many times the windows were saved, and set aside.
    pub windows_saves: u32,
    pub windows_set_aside: u32,
    /// `ConnectServer` (the index) and `DropServer` (`None`), in order.
    pub server_conns: Vec<Option<usize>>,
    /// The certificate each `ConnectServer` was to accept, in order.
    pub accepted_certs: Vec<Option<String>>,
    pub exit: Option<Exit>,
}

impl Client {
    pub(super) fn new() -> Self {
        Self::with_config(Config::new(P2P_PORT))
    }

    pub(super) fn with_config(config: Config) -> Self {
        let mut c = Client {
            state: ClientState::new(config, START),
            now: START,
            shown: Vec::new(),
            sent: Vec::new(),
            peer_sent: Vec::new(),
            closed: BTreeSet::new(),
            connects: Vec::new(),
            reads: Vec::new(),
            saved: Vec::new(),
            ignored_saved: Vec::new(),
            e2e_saved: Vec::new(),
            e2e_store: Vec::new(),
            commits: 0,
            commit_fails: None,
            open_fails: None,
            rewraps: Vec::new(),
            logged: Vec::new(),
            windows_kept: None,
            windows_unreadable: None,
            windows_saves: 0,
            windows_set_aside: 0,
            server_conns: Vec::new(),
            accepted_certs: Vec::new(),
            exit: None,
        };
        c.event(Event::Server(ServerEvent::Connected));
        c
    }

    /// A client logged in as `user`, with what login produced cleared.
    pub(super) fn online(user: &str) -> Self {
        let mut c = Self::new();
        c.login(user);
        c.clear();
        c
    }

    pub(super) fn login(&mut self, user: &str) {
        self.server(ServerMsg::Prompt(Prompt::Username));
        self.typed(user);
        self.server(ServerMsg::Prompt(Prompt::Password));
        self.typed("pw");
        self.server(ServerMsg::Welcome {
            user: Name::from(user),
        });
    }

    pub(super) fn event(&mut self, event: Event<'_>) {
        let mut out = Vec::new();
        self.state.handle(event, self.now, &mut out);
        self.record(out);
    }

    pub(super) fn record_for_test(&mut self, out: Vec<Effect>) {
        self.record(out)
    }

    fn record(&mut self, out: Vec<Effect>) {
        use crate::client::e2e::Stored;
        let mut answers = Vec::new();
        for e in out {
            match e {
                Effect::OpenE2e { user, .. } => {
                    let stored = match &self.open_fails {
                        Some(e) => Err(e.clone()),
                        None => Ok(self.e2e_store.clone()),
                    };
                    answers.push(Event::E2eOpened { user, stored });
                }
                Effect::CommitE2e => {
                    self.commits += 1;
                    answers.push(Event::E2eCommitted(match &self.commit_fails {
                        Some(e) => Err(e.clone()),
                        None => Ok(()),
                    }));
                }
                Effect::AppendE2e { part, bytes, .. } => {
                    self.e2e_store.push((part, Stored::Appended(bytes)))
                }
                Effect::Send(line) => self.sent.push(line),
                Effect::Show(item) => self.shown.push(item),
                Effect::Read(mode) => self.reads.push(mode),
                Effect::Connect { link, addr } => self.connects.push((link, addr)),
                Effect::PeerSend { link, frame } => {
                    assert!(
                        !self.closed.contains(&link),
                        "sent {frame:?} on {link} after closing it"
                    );
                    self.peer_sent.push((link, frame))
                }
                Effect::PeerClose { link } => {
                    self.closed.insert(link);
                }
                Effect::SaveSeen { user, seen } => self.saved.push((user, seen)),
                Effect::SaveIgnored { user, ignored } => self.ignored_saved.push((user, ignored)),
                Effect::SaveE2e { part, bytes, .. } => {
                    assert!(
                        !String::from_utf8_lossy(&bytes)
                            .contains(crate::client::e2e::test_engine::PENDING),
                        "a pending pickle saved (not materialised) in {part:?}"
                    );
                    self.e2e_store.retain(|(p, _)| *p != part);
                    self.e2e_store
                        .push((part.clone(), Stored::Whole(bytes.clone())));
                    self.e2e_saved.push((part, bytes))
                }
                Effect::ConnectServer { index, accept_cert } => {
                    self.server_conns.push(Some(index));
                    self.accepted_certs.push(accept_cert);
                }
                Effect::DropServer => self.server_conns.push(None),
                Effect::Log(line) => self.logged.push(line),
                Effect::LoadWindows { user } => answers.push(Event::WindowsLoaded {
                    user,
                    bytes: match &self.windows_unreadable {
                        Some(e) => Err(e.clone()),
                        None => Ok(self.windows_kept.clone()),
                    },
                }),
                Effect::SaveWindows { windows, .. } => {
                    self.windows_saves += 1;
                    self.windows_kept = Some(windows.encode());
                }
                Effect::SetAsideWindows { .. } => {
                    self.windows_set_aside += 1;
                    self.windows_kept = None;
                }
                Effect::RewrapE2e {
                    previous, password, ..
                } => {
                    self.rewraps.push((previous, password));
                    answers.push(Event::E2eRewrapped(Ok(())));
                }
                Effect::Exit(exit) => {
                    assert!(self.exit.is_none(), "exited twice");
                    self.exit = Some(exit);
                }
            }
        }
        // As the shell does: answered after the effects of the event that asked.
        for event in answers {
            self.event(event);
        }
    }

    pub(super) fn server(&mut self, msg: ServerMsg) {
        let line = render_line(&msg);
        self.server_raw(&line[..line.len() - 1]);
    }

    pub(super) fn server_raw(&mut self, line: &[u8]) {
        self.event(Event::Server(ServerEvent::Line(line)));
    }

    pub(super) fn typed(&mut self, line: &str) {
        self.event(Event::User(UserEvent::Line(line.as_bytes())));
    }

    /// A full-screen client, logged in as `user` (who else is online: `online`), its login's output
    /// cleared.
    pub(super) fn full_screen(user: &str, online: &[&str]) -> Self {
        let mut config = Config::new(P2P_PORT);
        config.full_screen = true;
        config.servers = vec!["127.0.0.1:4000".into()];
        config.interactive = true;
        let mut c = Client::with_config(config);
        c.event(Event::User(UserEvent::Resize { rows: 24 }));
        c.server(ServerMsg::Prompt(Prompt::Username));
        c.keys(user);
        c.key(crate::client::screen::Key::Enter);
        c.server(ServerMsg::Prompt(Prompt::Password));
        c.keys("pw");
        c.key(crate::client::screen::Key::Enter);
        c.server(ServerMsg::Welcome {
            user: Name::from(user),
        });
        c.server(ServerMsg::WhoElse {
            users: online.iter().map(|u| Name::from(*u)).collect(),
        });
        c.server(ServerMsg::GroupList { groups: vec![] });
        c.clear();
        c
    }

    pub(super) fn key(&mut self, key: crate::client::screen::Key) {
        self.event(Event::User(UserEvent::Key(key)));
    }

    /// Types `text`, key by key (no Enter).
    pub(super) fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.key(crate::client::screen::Key::Char(c));
        }
    }

    /// Types `line` and presses Enter.
    pub(super) fn enter(&mut self, line: &str) {
        self.keys(line);
        self.key(crate::client::screen::Key::Enter);
    }

    pub(super) fn paste(&mut self, text: &str) {
        self.event(Event::User(UserEvent::Paste(text)));
    }

    pub(super) fn screen(&self) -> crate::client::screen::View<'_> {
        self.state.screen().expect("a full-screen client")
    }

    /// The texts of the lines of the window labelled `label`.
    pub(super) fn window_lines(&self, label: &str) -> Vec<String> {
        let w = self
            .screen()
            .windows()
            .iter()
            .find(|w| w.key.label() == label)
            .unwrap_or_else(|| panic!("no window {label}"));
        w.lines.iter().map(|l| l.text.clone()).collect()
    }

    /// The labels of the windows, in order.
    pub(super) fn window_labels(&self) -> Vec<String> {
        self.screen()
            .windows()
            .iter()
            .map(|w| w.key.label())
            .collect()
    }

    /// The label of the window shown.
    pub(super) fn active_label(&self) -> String {
        self.screen().active_window().key.label()
    }

    pub(super) fn peer(&mut self, link: LinkId, event: PeerEvent<'_>) {
        self.event(Event::Peer { link, event });
    }

    /// One frame from a peer (a plain-text line during the introductions, or sealed bytes).
    pub(super) fn peer_frame(&mut self, link: LinkId, frame: &[u8]) {
        self.peer(link, PeerEvent::Frame(frame));
    }

    /// Moves the clock, jumping to each deadline the core names on the way, as a shell's one timer
    /// would.
    pub(super) fn advance_secs(&mut self, secs: u64) {
        self.advance_ms(secs * 1000);
    }

    /// [`Self::advance_secs`], in milliseconds.
    pub(super) fn advance_ms(&mut self, ms: u64) {
        let target = self.now.plus_millis(ms);
        while let Some(at) = self.state.poll_timeout().filter(|at| *at <= target) {
            self.now = self.now.max(at);
            let mut out = Vec::new();
            self.state.handle_timeout(self.now, &mut out);
            self.record(out);
        }
        self.now = target;
    }

    pub(super) fn clear(&mut self) {
        self.shown.clear();
        self.sent.clear();
        self.peer_sent.clear();
        self.connects.clear();
        self.reads.clear();
        self.saved.clear();
        self.server_conns.clear();
    }

    pub(super) fn take_shown(&mut self) -> Vec<Item> {
        std::mem::take(&mut self.shown)
    }

    pub(super) fn take_sent(&mut self) -> Vec<String> {
        std::mem::take(&mut self.sent)
    }

    pub(super) fn take_peer_sent(&mut self) -> Vec<(LinkId, Vec<u8>)> {
        std::mem::take(&mut self.peer_sent)
    }

    /// The frames sent in plain text (introductions and refusals), as text.
    pub(super) fn take_plain_sent(&mut self) -> Vec<(LinkId, String)> {
        self.take_peer_sent()
            .into_iter()
            .map(|(l, f)| (l, String::from_utf8_lossy(&f).into_owned()))
            .collect()
    }
}

pub(super) fn name(s: &str) -> Name {
    Name::from(s)
}

pub(super) fn token(n: u128) -> Token {
    Token(n)
}

pub(super) fn client_error(e: ClientError) -> Item {
    Item::Error(e)
}
