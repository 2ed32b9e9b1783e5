//! The full-screen client as a value: its windows, the online list, the input line, and what each key
//! does. Pure (time comes in as a value, nothing is drawn or read here), so tests drive it key by key and
//! render it into ratatui's test backend.

use std::collections::BTreeSet;

use super::editor::{Edit, Editor};
use super::windows::{Line, LineStyle, Route, Window, WindowKey, route};
use crate::client::complete::Known;
use crate::client::display::{command_words, render};
use crate::client::{InputMode, Item, Outcome};
use crate::protocol::{Name, ServerMsg};
use crate::time::Timestamp;

/// A key, as the app sees it (the terminal's events are mapped to these in the runtime).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Alt(char),
    Ctrl(char),
    Enter,
    Backspace,
    Delete,
    Left,
    Right,
    CtrlLeft,
    CtrlRight,
    Up,
    Down,
    Home,
    End,
    PageUp,
    PageDown,
    Tab,
}

/// What a key asks of the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// A line for the client core, as if typed in line mode.
    Send(String),
    /// Ctrl-C.
    Interrupt,
    /// Ctrl-D on an empty line.
    Eof,
}

/// The state of the full-screen client.
#[derive(Debug)]
pub struct App {
    /// `host:port`, for the status bar.
    pub server: String,
    pub me: Option<Name>,
    /// What the core is asking for (a username, a password, commands), if anything.
    pub mode: Option<InputMode>,
    pub windows: Vec<Window>,
    pub active: usize,
    /// Who is online, from `whoelse` and presence notices.
    pub online: BTreeSet<Name>,
    pub editor: Editor,
    pub known: Known,
    /// When the idle logout will come, once the server has warned of it.
    pub idle_deadline: Option<Timestamp>,
    /// The height of the conversation area at the last draw, for PageUp/PageDown.
    pub page: usize,
    /// The user's message just settled, whose reply (shown next by the core) only gives details of
    /// its outcome.
    settled: Option<u64>,
}

impl App {
    pub fn new(server: String, history: Vec<String>) -> Self {
        let mut editor = Editor::default();
        editor.history = history;
        App {
            server,
            me: None,
            mode: None,
            windows: vec![Window::new(WindowKey::Status)],
            active: 0,
            online: BTreeSet::new(),
            editor,
            known: Known::default(),
            idle_deadline: None,
            page: 10,
            settled: None,
        }
    }

    /// The first lines of the status window: where the client is connected and how to get around.
    pub fn greet(&mut self, at: Timestamp) {
        for text in [
            format!("Connected to {}. Log in below.", self.server),
            "Alt-1..9 or Ctrl-N/Ctrl-P switch windows, PageUp/PageDown scroll, Tab completes, \
             'help' lists the commands, Ctrl-C quits."
                .to_owned(),
        ] {
            self.windows[0].push(Line {
                at,
                from: None,
                text,
                style: LineStyle::Notice,
                seq: None,
                outcome: None,
            });
        }
    }

    pub fn active_window(&self) -> &Window {
        &self.windows[self.active]
    }

    fn window_index(&mut self, key: &WindowKey, open: bool) -> Option<usize> {
        if let Some(i) = self.windows.iter().position(|w| &w.key == key) {
            return Some(i);
        }
        if !open {
            return None;
        }
        self.windows.push(Window::new(key.clone()));
        Some(self.windows.len() - 1)
    }

    /// Shows an item the core produced at `at`; true if it should ring the bell (a message to the user
    /// alone).
    pub fn show(&mut self, item: &Item, at: Timestamp) -> bool {
        self.follow(item, at);
        if let Item::Outcome { seq, outcome } = item {
            self.settle(*seq, *outcome);
            self.settled = Some(*seq);
            return false;
        }
        let settled = self.settled.take();
        if settled.is_some_and(|seq| self.absorb(item, seq)) {
            return false;
        }
        let window = match route(item) {
            Route::Open(key) => self.window_index(&key, true),
            Route::IfOpen(key) => self.window_index(&key, false).or(Some(0)),
            Route::IfOpenOrActive(key) => self.window_index(&key, false).or(Some(self.active)),
            Route::Status => Some(0),
            Route::Active => Some(self.active),
            Route::Nowhere => None,
        };
        let Some(i) = window else {
            return false;
        };
        let line = self.line_of(item, at);
        let w = &mut self.windows[i];
        w.push(line);
        if i != self.active && !matches!(item, Item::Outgoing { .. }) {
            w.activity.unread += 1;
            w.activity.for_me |= item.addressed_to_me();
        }
        item.addressed_to_me()
    }

    /// What the status bar and the online list learn from an item.
    fn follow(&mut self, item: &Item, at: Timestamp) {
        let Item::Server(msg) = item else {
            return;
        };
        match msg {
            ServerMsg::Welcome { user } => {
                self.me = Some(user.clone());
                self.online.clear();
            }
            ServerMsg::Presence { user, online: true } => {
                self.online.insert(user.clone());
            }
            ServerMsg::Presence {
                user,
                online: false,
            } => {
                self.online.remove(user);
            }
            ServerMsg::WhoElse { users } => self.online = users.iter().cloned().collect(),
            ServerMsg::IdleWarning { secs_left } => {
                self.idle_deadline = Some(at.plus_secs(*secs_left));
            }
            ServerMsg::Bye(_) => self.idle_deadline = None,
            _ => {}
        }
    }

    fn line_of(&self, item: &Item, at: Timestamp) -> Line {
        let message = |from: &Name, text: &str| Line {
            at,
            from: Some(from.clone()),
            text: text.to_owned(),
            style: LineStyle::Message,
            seq: None,
            outcome: None,
        };
        match item {
            Item::Server(
                ServerMsg::Message { from, text }
                | ServerMsg::Broadcast { from, text }
                | ServerMsg::GroupMessage { from, text, .. },
            )
            | Item::Private { from, text } => message(from, text),
            Item::Offline {
                from,
                text,
                age_secs,
                ..
            } => Line {
                at: at.minus_millis(age_secs.saturating_mul(1000)),
                ..message(from, text)
            },
            Item::Outgoing { seq, text, .. } => Line {
                at,
                from: self.me.clone(),
                text: text.clone(),
                style: LineStyle::Own,
                seq: Some(*seq),
                outcome: None,
            },
            Item::Server(ServerMsg::Error(_)) | Item::Error(_) => Line {
                at,
                from: None,
                text: render(item, false),
                style: LineStyle::Error,
                seq: None,
                outcome: None,
            },
            _ => Line {
                at,
                from: None,
                text: render(item, false),
                style: LineStyle::Notice,
                seq: None,
                outcome: None,
            },
        }
    }

    /// Marks the user's own message `seq` with what became of it.
    fn settle(&mut self, seq: u64, outcome: Outcome) {
        let mark = match outcome {
            Outcome::Delivered => "delivered",
            Outcome::Stored => "stored: offline",
            Outcome::Sent => "sent",
            Outcome::Failed => "not sent",
        };
        for w in &mut self.windows {
            if let Some(line) = w.lines.iter_mut().rev().find(|l| l.seq == Some(seq)) {
                line.outcome = Some(mark.into());
                return;
            }
        }
    }

    /// Folds the reply that settled the user's message `seq`, when it only repeats what the mark on
    /// the message says, into that mark: "stored" for an offline user, a group's counts. True if
    /// nothing else is to be shown.
    fn absorb(&mut self, item: &Item, seq: u64) -> bool {
        let (key, mark) = match item {
            Item::Server(ServerMsg::Stored { to, .. }) => {
                (WindowKey::User(to.clone()), "stored: offline".to_owned())
            }
            Item::Server(ServerMsg::GroupSent {
                group,
                delivered,
                stored,
                skipped,
            }) => (
                WindowKey::Group(group.clone()),
                format!(
                    "sent: {delivered} now, {stored} later{}",
                    if *skipped { ", not to all" } else { "" }
                ),
            ),
            _ => return false,
        };
        let Some(i) = self.window_index(&key, false) else {
            return false;
        };
        let Some(line) = self.windows[i]
            .lines
            .iter_mut()
            .rev()
            .find(|l| l.seq == Some(seq))
        else {
            return false;
        };
        line.outcome = Some(mark);
        true
    }

    /// The core asks for input in `mode`.
    pub fn read(&mut self, mode: InputMode) {
        self.mode = Some(mode);
    }

    /// One key.
    pub fn key(&mut self, key: Key) -> Vec<Action> {
        let edit = |e| vec![e];
        let edits: Vec<Edit> = match key {
            Key::Char(c) => edit(Edit::Insert(c)),
            Key::Backspace => edit(Edit::Backspace),
            Key::Delete => edit(Edit::Delete),
            Key::Left => edit(Edit::Left),
            Key::Right => edit(Edit::Right),
            Key::Home | Key::Ctrl('a') => edit(Edit::Home),
            Key::End | Key::Ctrl('e') => edit(Edit::End),
            Key::Ctrl('u') => edit(Edit::KillToStart),
            Key::Ctrl('k') => edit(Edit::KillToEnd),
            Key::Ctrl('w') => edit(Edit::KillWord),
            Key::CtrlLeft | Key::Alt('b') => edit(Edit::WordLeft),
            Key::CtrlRight | Key::Alt('f') => edit(Edit::WordRight),
            Key::Up => edit(Edit::HistoryUp),
            Key::Down => edit(Edit::HistoryDown),
            Key::Tab => edit(Edit::Complete),
            Key::Ctrl('c') => return vec![Action::Interrupt],
            Key::Ctrl('d') if self.editor.is_empty() => return vec![Action::Eof],
            Key::Ctrl('n') => {
                self.switch((self.active + 1) % self.windows.len());
                return vec![];
            }
            Key::Ctrl('p') => {
                let n = self.windows.len();
                self.switch((self.active + n - 1) % n);
                return vec![];
            }
            Key::Alt(c @ '1'..='9') => {
                let n = c as usize - '1' as usize;
                if n < self.windows.len() {
                    self.switch(n);
                }
                return vec![];
            }
            Key::PageUp => {
                let w = &mut self.windows[self.active];
                w.scroll = (w.scroll + self.page.max(1)).min(w.lines.len().saturating_sub(1));
                return vec![];
            }
            Key::PageDown => {
                let w = &mut self.windows[self.active];
                w.scroll = w.scroll.saturating_sub(self.page.max(1));
                return vec![];
            }
            Key::Enter => return self.enter(),
            _ => return vec![],
        };
        let secret = self.mode.as_ref().is_some_and(InputMode::is_secret);
        for e in edits {
            if secret && matches!(e, Edit::HistoryUp | Edit::HistoryDown | Edit::Complete) {
                continue;
            }
            self.editor.edit(e, &self.known);
        }
        vec![]
    }

    /// Shows window `i` and clears its activity.
    pub fn switch(&mut self, i: usize) {
        self.active = i;
        self.windows[i].activity = Default::default();
    }

    fn enter(&mut self) -> Vec<Action> {
        match &self.mode {
            None => vec![],
            Some(mode) if mode.is_secret() => {
                let line = self.editor.text();
                self.editor.clear();
                self.mode = None;
                vec![Action::Send(line)]
            }
            Some(InputMode::Command { .. }) => {
                let line = self.editor.take();
                self.command_line(&line)
            }
            Some(_) => {
                let line = self.editor.take();
                self.mode = None;
                vec![Action::Send(line)]
            }
        }
    }

    /// A line typed while logged in: one of the full-screen client's own commands, a natter command
    /// (with or without a leading `/`), or text for the conversation in the window. A line that starts
    /// with a space is always text.
    fn command_line(&mut self, line: &str) -> Vec<Action> {
        if line.trim().is_empty() {
            return vec![];
        }
        let key = self.windows[self.active].key.clone();
        let as_text = |text: &str| match key.command_for(text) {
            Some(cmd) => vec![Action::Send(cmd)],
            None => vec![Action::Send(text.to_owned())],
        };
        if let Some(text) = line.strip_prefix(' ') {
            return as_text(text);
        }
        let trimmed = line.trim();
        let (word, rest) = trimmed
            .split_once([' ', '\t'])
            .map_or((trimmed, ""), |(w, r)| (w, r.trim()));
        let slash = word.starts_with('/');
        match word.trim_start_matches('/').to_ascii_lowercase().as_str() {
            "win" if slash => {
                match rest.parse::<usize>() {
                    Ok(n) if (1..=self.windows.len()).contains(&n) => self.switch(n - 1),
                    _ => self.note(&format!(
                        "There is no window {rest:?}: windows are numbered 1 to {}.",
                        self.windows.len()
                    )),
                }
                vec![]
            }
            "close" if slash => {
                if self.active == 0 {
                    self.note("The status window stays open.");
                } else {
                    self.windows.remove(self.active);
                    self.switch(self.active - 1);
                }
                vec![]
            }
            "query" if slash => {
                if rest.is_empty() || rest.contains(' ') {
                    self.note("Usage: /query <user>");
                } else {
                    let i = self
                        .window_index(&WindowKey::User(Name::from(rest)), true)
                        .expect("opened");
                    self.switch(i);
                }
                vec![]
            }
            w if slash || is_command_word(w) => {
                self.idle_deadline = None;
                if matches!(w, "startprivate" | "accept") && !rest.is_empty() && !rest.contains(' ')
                {
                    // Starting or accepting a private chat is asking to talk in it: its window comes
                    // up at once, and an error about it shows there.
                    let peer = WindowKey::Private(Name::from(rest));
                    let i = self.window_index(&peer, true).expect("opened");
                    self.switch(i);
                }
                vec![Action::Send(trimmed.to_owned())]
            }
            _ => {
                self.idle_deadline = None;
                as_text(line)
            }
        }
    }

    /// A line of the app's own in the active window.
    fn note(&mut self, text: &str) {
        let at = self.windows[self.active]
            .lines
            .last()
            .map_or(Timestamp::ZERO, |l| l.at);
        self.windows[self.active].push(Line {
            at,
            from: None,
            text: text.to_owned(),
            style: LineStyle::Error,
            seq: None,
            outcome: None,
        });
    }

    /// Seconds left before the idle logout, when the server has warned of it.
    pub fn idle_left(&self, now: Timestamp) -> Option<u64> {
        self.idle_deadline.map(|d| now.secs_until_ceil(d))
    }
}

/// Whether `word` starts one of natter's commands (its irssi names included), so a line that starts with
/// it is a command even in a conversation window.
fn is_command_word(word: &str) -> bool {
    command_words().contains(&word) || matches!(word, "msg" | "quit" | "who")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        let mut a = App::new("127.0.0.1:4000".into(), vec![]);
        a.show(
            &Item::Server(ServerMsg::Welcome {
                user: "alice".into(),
            }),
            Timestamp(0),
        );
        a.read(InputMode::Command {
            user: "alice".into(),
        });
        a
    }

    fn typed(a: &mut App, s: &str) -> Vec<Action> {
        for c in s.chars() {
            a.key(Key::Char(c));
        }
        a.key(Key::Enter)
    }

    fn from_bob(text: &str) -> Item {
        Item::Server(ServerMsg::Message {
            from: "bob".into(),
            text: text.into(),
        })
    }

    #[test]
    fn a_message_opens_a_window_marked_for_me_until_looked_at() {
        let mut a = app();
        assert!(a.show(&from_bob("hi"), Timestamp(1000)), "rings the bell");
        assert_eq!(a.windows.len(), 2);
        assert_eq!(a.windows[1].key, WindowKey::User("bob".into()));
        assert_eq!(a.windows[1].activity.unread, 1);
        assert!(a.windows[1].activity.for_me);
        a.key(Key::Alt('2'));
        assert_eq!(a.active, 1);
        assert_eq!(a.windows[1].activity.unread, 0);
    }

    #[test]
    fn text_in_a_conversation_goes_to_it_and_commands_work_everywhere() {
        let mut a = app();
        a.show(&from_bob("hi"), Timestamp(0));
        a.switch(1);
        assert_eq!(
            typed(&mut a, "hello there"),
            vec![Action::Send("message bob hello there".into())]
        );
        assert_eq!(
            typed(&mut a, "whoelse"),
            vec![Action::Send("whoelse".into())]
        );
        assert_eq!(
            typed(&mut a, "/msg carol x"),
            vec![Action::Send("/msg carol x".into())]
        );
        assert_eq!(
            typed(&mut a, " whoelse is text"),
            vec![Action::Send("message bob whoelse is text".into())],
            "a leading space makes it text"
        );
        a.switch(0);
        assert_eq!(typed(&mut a, "dance"), vec![Action::Send("dance".into())]);
    }

    #[test]
    fn windows_switch_by_number_and_in_turn_and_close() {
        let mut a = app();
        a.show(&from_bob("hi"), Timestamp(0));
        typed(&mut a, "/query carol");
        assert_eq!(a.active, 2);
        assert_eq!(a.active_window().key, WindowKey::User("carol".into()));
        a.key(Key::Ctrl('n'));
        assert_eq!(a.active, 0);
        a.key(Key::Ctrl('p'));
        assert_eq!(a.active, 2);
        typed(&mut a, "/win 2");
        assert_eq!(a.active, 1);
        typed(&mut a, "/close");
        assert_eq!(a.windows.len(), 2);
        assert_eq!(a.active, 0);
        typed(&mut a, "/close");
        assert_eq!(a.windows.len(), 2, "status stays");
        typed(&mut a, "/win 9");
        assert!(
            a.windows[0]
                .lines
                .last()
                .unwrap()
                .text
                .contains("no window")
        );
    }

    #[test]
    fn own_messages_show_as_sent_then_their_outcome() {
        let mut a = app();
        a.show(
            &Item::Outgoing {
                seq: 1,
                to: crate::client::Conversation::User("bob".into()),
                text: "ping".into(),
            },
            Timestamp(0),
        );
        let line = a.windows[1].lines.last().unwrap().clone();
        assert_eq!(line.style, LineStyle::Own);
        assert_eq!(line.from.as_deref(), Some("alice"));
        a.show(
            &Item::Outcome {
                seq: 1,
                outcome: Outcome::Stored,
            },
            Timestamp(0),
        );
        assert_eq!(
            a.windows[1].lines.last().unwrap().outcome.as_deref(),
            Some("stored: offline")
        );
    }

    #[test]
    fn starting_or_accepting_a_private_chat_shows_its_window() {
        let mut a = app();
        assert_eq!(
            typed(&mut a, "/accept bob"),
            vec![Action::Send("/accept bob".into())]
        );
        assert_eq!(a.active_window().key, WindowKey::Private("bob".into()));
        typed(&mut a, "/win 1");
        typed(&mut a, "startprivate carol");
        assert_eq!(a.active_window().key, WindowKey::Private("carol".into()));
        typed(&mut a, "accept");
        assert_eq!(a.windows.len(), 3, "no window without a name");
    }

    #[test]
    fn a_reply_that_repeats_the_outcome_is_folded_into_it() {
        let mut a = app();
        let crew = crate::client::Conversation::Group("crew".into());
        a.show(
            &Item::Outgoing {
                seq: 1,
                to: crew,
                text: "standup".into(),
            },
            Timestamp(0),
        );
        assert_eq!(a.windows[1].activity.unread, 0, "own lines are not news");
        a.show(
            &Item::Outcome {
                seq: 1,
                outcome: Outcome::Sent,
            },
            Timestamp(0),
        );
        let sent = Item::Server(ServerMsg::GroupSent {
            group: "crew".into(),
            delivered: 2,
            stored: 1,
            skipped: true,
        });
        assert!(!a.show(&sent, Timestamp(0)));
        let w = &a.windows[1];
        assert_eq!(w.lines.len(), 1, "no second line: {:?}", w.lines);
        assert_eq!(
            w.lines[0].outcome.as_deref(),
            Some("sent: 2 now, 1 later, not to all")
        );
        // With no message of the user's just settled, the reply is shown as it is.
        a.show(&sent, Timestamp(0));
        assert_eq!(a.windows[1].lines.len(), 2);
        let stored = Item::Server(ServerMsg::Stored {
            id: 4,
            to: "dave".into(),
        });
        a.show(&stored, Timestamp(0));
        assert!(
            a.windows[a.active]
                .lines
                .last()
                .unwrap()
                .text
                .contains("dave"),
            "{:?}",
            a.windows[a.active].lines
        );
    }

    #[test]
    fn online_list_follows_whoelse_and_presence() {
        let mut a = app();
        a.show(
            &Item::Server(ServerMsg::WhoElse {
                users: vec!["bob".into(), "carol".into()],
            }),
            Timestamp(0),
        );
        a.show(
            &Item::Server(ServerMsg::Presence {
                user: "bob".into(),
                online: false,
            }),
            Timestamp(0),
        );
        a.show(
            &Item::Server(ServerMsg::Presence {
                user: "dave".into(),
                online: true,
            }),
            Timestamp(0),
        );
        let online: Vec<&str> = a.online.iter().map(|n| &**n).collect();
        assert_eq!(online, vec!["carol", "dave"]);
    }

    #[test]
    fn passwords_are_not_kept_and_idle_countdown_starts_at_the_warning() {
        let mut a = App::new("s".into(), vec![]);
        a.read(InputMode::Password);
        assert_eq!(typed(&mut a, "secret"), vec![Action::Send("secret".into())]);
        assert!(a.editor.history.is_empty());
        let mut a = app();
        a.show(
            &Item::Server(ServerMsg::IdleWarning { secs_left: 60 }),
            Timestamp(10_000),
        );
        assert_eq!(a.idle_left(Timestamp(40_000)), Some(30));
        typed(&mut a, "whoelse");
        assert_eq!(a.idle_left(Timestamp(40_000)), None);
    }
}
