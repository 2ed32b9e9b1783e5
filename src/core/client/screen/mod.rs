//! The full-screen client as a value: its windows and what they hold, the input line, what each key
//! does, and where a typed or pasted line goes. Pure, like the rest of the core:
//! [`super::ClientState`] owns it (when the client runs full screen) and carries out what the keys
//! mean; the shell only reads the terminal's keys and draws it (`shell/ui/tui`).
//!
//! It learns in one way: from what the session shows and asks ([`Screen::show`], [`Screen::read`]),
//! as a terminal would, besides the user's own keys and window commands. What the session knows that
//! the screen draws (the server and whether it is reachable, who is online and in each group, how each
//! conversation is protected, the idle logout coming) stays with the session's parts, and the shell
//! draws a [`View`]: the screen with those facts beside it, read where they are kept.
//!
//! irssi's rules, as its users expect them:
//! - a window per conversation; Alt-1..9, Ctrl-N/Ctrl-P, `/win N` switch; `/query USER` opens one;
//! - in a conversation's window a line is said there, only `/` starts a command, `//` says a `/`; the
//!   status window keeps bare commands ([`super::input`]);
//! - a paste (the terminal's bracketed paste) is said line by line, never run as commands, and above
//!   [`PASTE_VERIFY_LINES`] lines is held until the user confirms it (irssi's
//!   `paste_verify_line_count`);
//! - Enter, Ctrl-M and Ctrl-J end a line; Tab completes a command, a nick (with `: ` at the start of
//!   a line said to a conversation), a group;
//! - the status bar fits the terminal: names are shortened, then windows become numbers with their
//!   markers, and the idle countdown is always kept ([`status`]).

mod editor;
mod keeper;
mod route;
pub mod saved;
pub mod status;
mod view;
mod window;

pub use editor::Editor;
pub(in crate::client) use keeper::Keeper;
pub use keeper::SAVE_AFTER_SECS;
pub use route::{Route, route};
pub use saved::{Keep, RestoreError, SAVED_LINES, SavedWindows};
pub use status::{Segment, SegmentStyle};
pub use view::{Facts, View};
pub use window::{Activity, Line, LineStyle, SCROLLBACK, Window, WindowKey};

use self::editor::Edit;
use super::complete::{Known, Start, complete_at};
use super::display::{Item, render};
use super::error::ClientError;
use super::event::InputMode;
use super::input::{Place, Typed, WindowCommand};
use super::outgoing::Outcome;
use crate::protocol::{Conversation, Name, ServerMsg};
use crate::time::Timestamp;

/// A paste of more lines than this waits for the user to confirm it (irssi's default).
pub const PASTE_VERIFY_LINES: usize = 5;

pub use super::key::Key;

/// What a key asks of the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// A line typed at a prompt that is not for commands (a username, a password, whether to trust
    /// a certificate), as typed: the answer.
    Answer(String),
    /// A line typed while logged in, with the window it was typed in, which says what it means.
    Input(Typed),
    /// A line typed while logged in that no line may be (it holds a control character): why.
    Refused(ClientError),
    /// Lines pasted into `to`'s window, each to be said as it is (never run as a command).
    Paste {
        /// The conversation of the window pasted into.
        to: Conversation,
        /// The lines, each to be said as it is.
        lines: Vec<String>,
    },
    /// Ctrl-C.
    Interrupt,
    /// Ctrl-D on an empty line.
    Eof,
}

/// The state of the connection, for the status bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Connected and logged in (or logging in for the first time).
    Up,
    /// Lost (or logging in again), and being found again.
    Reconnecting {
        /// Since when the client has been without a session.
        since: Timestamp,
        /// When the next attempt is due, while the client waits for it (`None`: one is under way).
        next_try: Option<Timestamp>,
    },
    /// Logged out, the client staying open with no server: after an idle logout
    /// (`wake_on_typing`: typing logs in again), or `/disconnect` (until `/reconnect`).
    Offline {
        /// Anything typed logs in again.
        wake_on_typing: bool,
    },
}

/// A paste waiting for the user's word.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Paste {
    to: Conversation,
    lines: Vec<String>,
}

/// The full-screen client's state. See the [module documentation](self).
#[derive(Debug)]
pub struct Screen {
    /// The logged-in user, as the command prompt names them: the user's own lines are theirs.
    me: Option<Name>,
    /// What the core is asking for (a username, a password, commands), if anything.
    mode: Option<InputMode>,
    windows: Vec<Window>,
    active: usize,
    editor: Editor,
    /// The height of the conversation area, for PageUp/PageDown.
    page: usize,
    /// The user's message just settled, whose reply (shown next) only gives details of its outcome.
    settled: Option<u64>,
    paste: Option<Paste>,
    /// Changes with everything drawn, so the shell redraws only then.
    version: u64,
    /// Changes with everything kept across a restart (a line, a window opened or closed, the one
    /// shown), so the session saves the windows only then ([`saved`]).
    kept: u64,
}

impl Screen {
    /// A screen for a client connected to `server`, with the input history `history` (oldest
    /// first), greeting the user at `now`.
    pub fn new(server: String, history: Vec<String>, now: Timestamp) -> Self {
        let mut editor = Editor::default();
        editor.history = history;
        let mut screen = Screen {
            me: None,
            mode: None,
            windows: vec![Window::new(WindowKey::Status)],
            active: 0,
            editor,
            page: 10,
            settled: None,
            paste: None,
            version: 0,
            kept: 0,
        };
        for text in [
            format!("Connected to {server}. Log in below."),
            "Alt-1..9 or Ctrl-N/Ctrl-P switch windows, PageUp/PageDown scroll, Tab completes, \
             'help' lists the commands, Ctrl-C quits. In a conversation's window what you type is \
             said there; commands start with '/'."
                .to_owned(),
        ] {
            screen.windows[0].push(Line::note(now, text, LineStyle::Notice));
        }
        screen
    }

    // --- what the shell draws ---

    /// The windows, in order (the status window first).
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// The index of the window shown.
    pub fn active(&self) -> usize {
        self.active
    }

    /// The window shown.
    pub fn active_window(&self) -> &Window {
        &self.windows[self.active]
    }

    /// The logged-in user, once welcomed.
    pub fn me(&self) -> Option<&Name> {
        self.me.as_ref()
    }

    /// The input line: its prompt, what is typed (nothing of a password), and the cursor (in chars).
    pub fn input_line(&self) -> (String, String, usize) {
        if let Some(p) = &self.paste {
            let prompt = format!(
                "Paste {} lines to {}? Enter sends them, Esc cancels. ",
                p.lines.len(),
                WindowKey::from(&p.to).label()
            );
            return (prompt, String::new(), 0);
        }
        let prompt = match &self.mode {
            Some(InputMode::Command { .. }) | None => "> ".to_owned(),
            Some(mode) => mode.prompt(),
        };
        if self.mode.as_ref().is_some_and(InputMode::is_secret) {
            return (prompt, String::new(), 0);
        }
        (prompt, self.editor.text(), self.editor.cursor())
    }

    /// Changes whenever anything drawn does.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The input history, oldest first, as it is to be kept.
    pub fn history(&self) -> &[String] {
        &self.editor.history
    }

    /// A line half typed (not a password), to be kept when the client ends under it.
    pub fn half_typed(&self) -> Option<String> {
        let text = self.editor.text();
        let secret = self.mode.as_ref().is_some_and(InputMode::is_secret);
        let logged_in = matches!(self.mode, Some(InputMode::Command { .. }));
        (logged_in && !secret)
            .then(|| super::input::history_entry(&text, self.place()))
            .flatten()
    }

    /// Where a line typed now is typed.
    pub fn place(&self) -> Place<'_> {
        match self.active_window().key.conversation() {
            Some(c) => Place::Window(c),
            None => Place::Status,
        }
    }

    // --- what the session tells it ---

    fn changed(&mut self) {
        self.version += 1;
    }

    /// Something kept across a restart changed (and so did something drawn).
    fn kept_changed(&mut self) {
        self.kept += 1;
        self.changed();
    }

    /// Changes whenever anything kept across a restart does: the windows, their order, their
    /// lines, the one shown.
    pub fn kept_version(&self) -> u64 {
        self.kept
    }

    /// The windows as they are to be kept across a restart, at `at`, keeping what `keep` says.
    pub fn saved(&self, keep: Keep, at: Timestamp) -> SavedWindows {
        SavedWindows::of(&self.windows, self.active, keep, at)
    }

    /// Brings back the windows an earlier run kept: first, in their order, each with its lines
    /// above a separator (`— restored from <date> —`) and then what this run has shown in it so
    /// far; then the windows this run opened that were not kept. The window shown then is shown
    /// again; what each had unread still is (it was never read).
    pub fn restore(&mut self, saved: SavedWindows) {
        let saved_at = saved.saved_at();
        let (shown, mut restored) = saved.into_windows();
        // The status window stays window 1, whatever the file says.
        if let Some(i) = restored.iter().position(|r| r.key == WindowKey::Status) {
            let status = restored.remove(i);
            restored.insert(0, status);
        }
        let mut open = std::mem::take(&mut self.windows);
        let shown = shown.unwrap_or_else(|| open[self.active].key.clone());
        let mut take = |key: &WindowKey| {
            open.iter()
                .position(|w| &w.key == key)
                .map(|i| open.remove(i))
        };
        let mut windows: Vec<Window> = Vec::with_capacity(restored.len());
        for r in restored {
            let mut w = Window::new(r.key);
            w.activity = r.activity;
            if !r.lines.is_empty() {
                w.lines = r.lines;
                w.lines.push(Line::note(
                    saved_at,
                    "restored from".into(),
                    LineStyle::Separator,
                ));
            }
            if let Some(now) = take(&w.key) {
                w.activity.unread += now.activity.unread;
                w.activity.for_me |= now.activity.for_me;
                w.lines.extend(now.lines);
            }
            let extra = w.lines.len().saturating_sub(SCROLLBACK);
            w.lines.drain(..extra);
            windows.push(w);
        }
        if windows.first().map(|w| &w.key) != Some(&WindowKey::Status) {
            let status = take(&WindowKey::Status).unwrap_or_else(|| Window::new(WindowKey::Status));
            windows.insert(0, status);
        }
        windows.extend(open);
        self.windows = windows;
        let i = self.find(&shown).unwrap_or(0);
        self.switch(i);
    }

    /// The terminal is `rows` high: the conversation area is what the title, the status bar and the
    /// input line leave.
    pub fn resize(&mut self, rows: u16) {
        self.page = usize::from(rows.saturating_sub(3)).max(1);
        self.changed();
    }

    /// The core asks for input in `mode`. The command prompt names the logged-in user.
    pub fn read(&mut self, mode: InputMode) {
        match &mode {
            InputMode::Command { user } => self.me = Some(user.clone()),
            // A new question (a password after a reconnection): what was half typed is not its answer.
            _ => self.editor.clear(),
        }
        self.mode = Some(mode);
        self.changed();
    }

    /// Shows an item the core produced at `at` in the window it belongs to.
    pub fn show(&mut self, item: &Item, at: Timestamp) {
        self.kept_changed();
        // A highlight is the message it wraps, addressed to the user.
        let (item, named) = match item {
            Item::Highlight(inner) => (&**inner, true),
            other => (other, false),
        };
        if let Item::Outcome { seq, outcome } = item {
            self.settle(*seq, *outcome);
            self.settled = Some(*seq);
            return;
        }
        let settled = self.settled.take();
        if settled.is_some_and(|seq| self.absorb(item, seq)) {
            return;
        }
        let window = match route(item) {
            Route::Open(c) => Some(self.window_index(&WindowKey::from(&c), true)),
            Route::IfOpen(c) => Some(self.find(&WindowKey::from(&c)).unwrap_or(0)),
            Route::IfOpenOrActive(c) => {
                Some(self.find(&WindowKey::from(&c)).unwrap_or(self.active))
            }
            Route::Status => Some(0),
            Route::Active => Some(self.active),
            Route::All => {
                let line = self.line_of(item, at);
                for w in &mut self.windows {
                    w.push(line.clone());
                }
                return;
            }
            Route::Nowhere => None,
        };
        let Some(i) = window else {
            return;
        };
        let line = self.line_of(item, at);
        let w = &mut self.windows[i];
        w.push(line);
        if i != self.active && !matches!(item, Item::Outgoing { .. }) {
            w.activity.unread += 1;
            w.activity.for_me |= named || item.addressed_to_me();
        }
    }

    /// Brings `c`'s window up (opening it): the user has just asked to talk there (`/query`,
    /// `startprivate`, `accept`).
    pub fn focus(&mut self, c: &Conversation) {
        let i = self.window_index(&WindowKey::from(c), true);
        self.switch(i);
    }

    /// A line of the screen's own in the active window.
    pub fn note(&mut self, text: String, at: Timestamp) {
        self.windows[self.active].push(Line::note(at, text, LineStyle::Error));
        self.kept_changed();
    }

    /// Carries out a window command.
    pub fn window_command(&mut self, cmd: WindowCommand<'_>, at: Timestamp) {
        match cmd {
            WindowCommand::Show(n) => match n.parse::<usize>() {
                Ok(n) if (1..=self.windows.len()).contains(&n) => self.switch(n - 1),
                _ => self.note(
                    format!(
                        "There is no window {n:?}: windows are numbered 1 to {}.",
                        self.windows.len()
                    ),
                    at,
                ),
            },
            WindowCommand::Close => {
                if self.active == 0 {
                    self.note("The status window stays open.".into(), at);
                } else {
                    self.windows.remove(self.active);
                    self.switch(self.active - 1);
                }
            }
            WindowCommand::Query(name) => self.focus(&match name.strip_prefix('#') {
                Some(group) => Conversation::Group(Name::from(group)),
                None => Conversation::User(Name::from(name)),
            }),
            WindowCommand::List => {
                let list: Vec<String> = self
                    .windows
                    .iter()
                    .enumerate()
                    .map(|(i, w)| format!("{} {}", i + 1, w.key.label()))
                    .collect();
                self.notice(format!("Windows: {}", list.join(", ")), at);
            }
            WindowCommand::Clear => {
                let w = &mut self.windows[self.active];
                w.lines.clear();
                w.scroll = 0;
                self.kept_changed();
            }
            WindowCommand::Lastlog(text) => self.lastlog(text, at),
        }
    }

    /// `/lastlog TEXT`: the lines of the window shown that contain `text` (any case), shown again
    /// at its end between two notes, with the times they were said.
    fn lastlog(&mut self, text: &str, at: Timestamp) {
        let wanted = text.to_lowercase();
        let w = &self.windows[self.active];
        let total = w.lines.len();
        let found: Vec<Line> = w
            .lines
            .iter()
            .filter(|l| {
                l.text.to_lowercase().contains(&wanted)
                    || l.from
                        .as_ref()
                        .is_some_and(|f| f.to_lowercase().contains(&wanted))
            })
            // A copy: what becomes of the user's message marks the line itself, not this.
            .map(|l| Line {
                seq: None,
                ..l.clone()
            })
            .collect();
        let n = found.len();
        self.notice(
            format!(
                "lastlog {text:?}: {n} line{} of {}",
                if n == 1 { "" } else { "s" },
                total
            ),
            at,
        );
        for line in found {
            self.windows[self.active].push(line);
        }
        if n > 0 {
            self.notice("end of lastlog".into(), at);
        }
    }

    /// A notice of the screen's own in the active window (an answer to a window command).
    fn notice(&mut self, text: String, at: Timestamp) {
        self.windows[self.active].push(Line::note(at, text, LineStyle::Notice));
        self.kept_changed();
    }

    fn find(&self, key: &WindowKey) -> Option<usize> {
        self.windows.iter().position(|w| &w.key == key)
    }

    fn window_index(&mut self, key: &WindowKey, open: bool) -> usize {
        if let Some(i) = self.find(key) {
            return i;
        }
        if !open {
            return self.active;
        }
        self.windows.push(Window::new(key.clone()));
        self.windows.len() - 1
    }

    fn line_of(&self, item: &Item, at: Timestamp) -> Line {
        // An action (`/me`) is drawn `* alice waves`, with no sender column.
        let message = |from: &Name, text: &str| match super::action::split(text) {
            Some((marks, action)) => Line {
                at,
                from: None,
                text: format!("{marks}* {from} {action}"),
                style: LineStyle::Message,
                seq: None,
                outcome: None,
            },
            None => Line {
                at,
                from: Some(from.clone()),
                text: text.to_owned(),
                style: LineStyle::Message,
                seq: None,
                outcome: None,
            },
        };
        match item {
            Item::Server(
                ServerMsg::Message { from, text, .. }
                | ServerMsg::Broadcast { from, text }
                | ServerMsg::GroupMessage { from, text, .. },
            )
            | Item::Private { from, text } => message(from, text),
            // When it was sent, and that it waited while the user was away.
            Item::Offline {
                from,
                text,
                age_secs,
                ..
            } => Line {
                at: at.minus_millis(age_secs.saturating_mul(1000)),
                style: LineStyle::Offline,
                outcome: Some(offline_mark(*age_secs)),
                ..message(from, text)
            },
            Item::Outgoing { seq, text, .. } => match super::action::split(text) {
                Some((_, action)) => Line {
                    at,
                    from: None,
                    text: format!("* {} {action}", self.me.as_deref().map_or("you", |m| m)),
                    style: LineStyle::Own,
                    seq: Some(*seq),
                    outcome: None,
                },
                None => Line {
                    at,
                    from: self.me.clone(),
                    text: text.clone(),
                    style: LineStyle::Own,
                    seq: Some(*seq),
                    outcome: None,
                },
            },
            Item::Server(ServerMsg::Error(_)) | Item::Error(_) => {
                Line::note(at, render(item, false), LineStyle::Error)
            }
            // Said in its own colour, without line mode's "warning:".
            Item::Connection(text) | Item::Warning(text) => {
                Line::note(at, text.clone(), LineStyle::Warning)
            }
            _ => Line::note(at, render(item, false), LineStyle::Notice),
        }
    }

    /// Marks the user's own message `seq` with what became of it.
    fn settle(&mut self, seq: u64, outcome: Outcome) {
        let mark = match outcome {
            Outcome::Delivered => "delivered",
            Outcome::Stored => "stored: offline",
            Outcome::Sent => "sent",
            Outcome::Failed => "not sent",
            Outcome::Unconfirmed => "unconfirmed: connection lost",
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
            Item::Server(ServerMsg::Stored { to, .. }) => (
                WindowKey::Conversation(Conversation::User(to.clone())),
                "stored: offline".to_owned(),
            ),
            Item::Server(ServerMsg::GroupSent {
                group,
                delivered,
                stored,
                skipped,
            }) => (
                WindowKey::Conversation(Conversation::Group(group.clone())),
                format!(
                    "sent: {delivered} now, {stored} later{}",
                    if *skipped { ", not to all" } else { "" }
                ),
            ),
            _ => return false,
        };
        let Some(i) = self.find(&key) else {
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

    /// Shows window `i` and clears its activity.
    pub fn switch(&mut self, i: usize) {
        self.active = i;
        self.windows[i].activity = Activity::default();
        self.kept_changed();
    }

    // --- keys ---

    /// One key; `known` is what completion offers (usernames and groups the client has seen).
    pub fn key(&mut self, key: Key, known: &Known, at: Timestamp) -> Vec<Action> {
        self.changed();
        if self.paste.is_some() {
            return self.paste_key(key, at);
        }
        let edit = match key {
            Key::Char(c) => Edit::Insert(c),
            Key::Backspace => Edit::Backspace,
            Key::Delete => Edit::Delete,
            Key::Left => Edit::Left,
            Key::Right => Edit::Right,
            Key::Home | Key::Ctrl('a') => Edit::Home,
            Key::End | Key::Ctrl('e') => Edit::End,
            Key::Ctrl('u') => Edit::KillToStart,
            Key::Ctrl('k') => Edit::KillToEnd,
            Key::Ctrl('w') => Edit::KillWord,
            Key::CtrlLeft | Key::Alt('b') => Edit::WordLeft,
            Key::CtrlRight | Key::Alt('f') => Edit::WordRight,
            Key::Up => Edit::HistoryUp,
            Key::Down => Edit::HistoryDown,
            Key::Tab => {
                if !self.secret() {
                    self.complete(known);
                }
                return vec![];
            }
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
                let page = self.page;
                self.windows[self.active].scroll_by(page, true);
                return vec![];
            }
            Key::PageDown => {
                let page = self.page;
                self.windows[self.active].scroll_by(page, false);
                return vec![];
            }
            // Ctrl-J (a line feed) and Ctrl-M end a line, as in readline, irssi and weechat.
            Key::Enter | Key::Ctrl('j') | Key::Ctrl('m') => return self.enter(),
            _ => return vec![],
        };
        if self.secret() && matches!(edit, Edit::HistoryUp | Edit::HistoryDown) {
            return vec![];
        }
        self.editor.edit(edit);
        vec![]
    }

    fn secret(&self) -> bool {
        self.mode.as_ref().is_some_and(InputMode::is_secret)
    }

    fn complete(&mut self, known: &Known) {
        let place = self.place();
        let nicks: Vec<String> = match place {
            Place::Window(Conversation::Group(g)) => known
                .members
                .get(&**g)
                .cloned()
                .unwrap_or_else(|| known.users.clone()),
            _ => known.users.clone(),
        };
        let start = match place {
            Place::Window(_) => Start::Said { nicks: &nicks },
            Place::Prompt | Place::Status => Start::Command { full_screen: true },
        };
        self.editor
            .complete(|line, pos| complete_at(line, pos, known, start));
    }

    fn enter(&mut self) -> Vec<Action> {
        match &self.mode {
            None => vec![],
            Some(mode) if mode.is_secret() => {
                let line = self.editor.take();
                self.mode = None;
                vec![Action::Answer(line)]
            }
            Some(InputMode::Command { .. }) => {
                let line = self.editor.take();
                if let Some(kept) = super::input::history_entry(&line, self.place()) {
                    self.editor.remember(&kept);
                }
                if line.trim().is_empty() {
                    return vec![];
                }
                vec![match Typed::new(line, self.place()) {
                    Ok(typed) => Action::Input(typed),
                    Err(e) => Action::Refused(e),
                }]
            }
            // A username is not worth keeping (it may be a password typed at the wrong prompt).
            Some(_) => {
                let line = self.editor.take();
                self.mode = None;
                vec![Action::Answer(line)]
            }
        }
    }

    // --- paste ---

    /// Text pasted (the terminal's bracketed paste). One line without a line break goes into the input
    /// line, to be edited and sent as typed; more is said, line by line, in the conversation of the
    /// window (never run as commands), once confirmed if there are more than [`PASTE_VERIFY_LINES`].
    pub fn paste(&mut self, text: &str, at: Timestamp) -> Vec<Action> {
        self.changed();
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let clean = |line: &str| -> String {
            line.chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .filter(|c| !c.is_control())
                .collect()
        };
        if !text.contains('\n') {
            self.editor.insert(&clean(&text));
            return vec![];
        }
        if !matches!(self.mode, Some(InputMode::Command { .. })) {
            self.note(
                "Paste one line at a time here: a line break would answer the prompt.".into(),
                at,
            );
            return vec![];
        }
        let Some(to) = self.active_window().key.conversation().cloned() else {
            self.note(
                "A paste goes to a conversation: switch to its window first (here, in the status \
                 window, every line is a command, and a pasted line is never run as one)."
                    .into(),
                at,
            );
            return vec![];
        };
        // What was typed before the paste starts its first line, as it would on a plain terminal.
        let typed = self.editor.take();
        let mut lines: Vec<String> = text.split('\n').map(clean).collect();
        if let Some(first) = lines.first_mut() {
            first.insert_str(0, &typed);
        }
        lines.retain(|l| !l.trim().is_empty());
        if lines.is_empty() {
            return vec![];
        }
        if lines.len() > PASTE_VERIFY_LINES {
            self.paste = Some(Paste { to, lines });
            return vec![];
        }
        vec![Action::Paste { to, lines }]
    }

    fn paste_key(&mut self, key: Key, at: Timestamp) -> Vec<Action> {
        match key {
            Key::Enter | Key::Ctrl('j') | Key::Ctrl('m') | Key::Ctrl('k') => {
                let Some(Paste { to, lines }) = self.paste.take() else {
                    return vec![];
                };
                vec![Action::Paste { to, lines }]
            }
            Key::Esc | Key::Ctrl('c') | Key::Ctrl('g') => {
                if let Some(p) = self.paste.take() {
                    self.note(format!("Paste of {} lines cancelled.", p.lines.len()), at);
                }
                vec![]
            }
            _ => vec![],
        }
    }
}

/// The note on a message that waited on the server while the user was offline: that it did, and,
/// when that was not today's news, how long ago it was sent.
fn offline_mark(age_secs: u64) -> String {
    if age_secs < 12 * 3600 {
        "offline".to_owned()
    } else {
        format!("offline, sent {} ago", super::display::age(age_secs))
    }
}
