//! The full-screen client's windows: one per conversation, each with its lines, its unread marker and
//! how far back it is scrolled.

use crate::protocol::{Conversation, Name};
use crate::time::Timestamp;

/// What a window holds: the status window, or one conversation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WindowKey {
    /// Server notices, presence, private-chat requests, the connection's news: always window 1.
    Status,
    /// One conversation's.
    Conversation(Conversation),
}

impl WindowKey {
    /// The name in the window list and the title bar.
    pub fn label(&self) -> String {
        match self {
            WindowKey::Status => "status".into(),
            WindowKey::Conversation(c) => match c {
                Conversation::Broadcasts => "broadcasts".into(),
                Conversation::User(u) => u.to_string(),
                Conversation::Group(g) => format!("#{g}"),
                Conversation::Private(u) => format!("~{u}"),
            },
        }
    }

    /// The conversation, for a conversation's window.
    pub fn conversation(&self) -> Option<&Conversation> {
        match self {
            WindowKey::Status => None,
            WindowKey::Conversation(c) => Some(c),
        }
    }
}

impl From<&Conversation> for WindowKey {
    fn from(c: &Conversation) -> Self {
        WindowKey::Conversation(c.clone())
    }
}

/// One line of a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// When it was said: for a message stored while the user was away, when it was sent.
    pub at: Timestamp,
    /// Who said it, for a message (shown before the text, in bold); `None` for a notice.
    pub from: Option<Name>,
    /// What is shown.
    pub text: String,
    /// How it is drawn.
    pub style: LineStyle,
    /// For one of the user's own messages: its number, and what became of it, once known.
    pub seq: Option<u64>,
    /// A note after the text: what became of the user's message, or that a message waited while
    /// the user was offline.
    pub outcome: Option<String>,
}

impl Line {
    /// A line of the client's own (a notice or an error) at `at`.
    pub fn note(at: Timestamp, text: String, style: LineStyle) -> Self {
        Line {
            at,
            from: None,
            text,
            style,
            seq: None,
            outcome: None,
        }
    }
}

/// How a line is drawn. Kept across restarts by name ([`super::saved`]): a new style is a new
/// format there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineStyle {
    /// Someone else's message.
    Message,
    /// A message that waited on the server while the user was offline.
    Offline,
    /// The user's own message.
    Own,
    /// A notice (presence, confirmations).
    Notice,
    /// Something to heed: the connection lost or back, a warning.
    Warning,
    /// An error, the server's or the client's.
    Error,
    /// Between the lines an earlier run kept and those of this run: its text says what is above it,
    /// and the shell adds the date of its time (when they were kept), which only the shell can put
    /// in the user's time zone: `— restored from 2026-11-25 —`.
    Separator,
}

/// Unread lines in a window the user is not looking at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// How many lines arrived since the user last looked.
    pub unread: usize,
    /// Some of them are messages to the user alone: marked apart, like irssi's highlight.
    pub for_me: bool,
}

/// A window: its conversation, its lines, its activity, and how far up it is scrolled.
#[derive(Clone, Debug)]
pub struct Window {
    /// What it holds.
    pub key: WindowKey,
    /// Its lines, oldest first, at most [`SCROLLBACK`].
    pub lines: Vec<Line>,
    /// What arrived since the user last looked.
    pub activity: Activity,
    /// Lines scrolled back from the newest (0: following the conversation).
    pub scroll: usize,
}

/// Lines a window keeps (the oldest go first).
pub const SCROLLBACK: usize = 5000;

impl Window {
    /// An empty window for `key`.
    pub fn new(key: WindowKey) -> Self {
        Window {
            key,
            lines: Vec::new(),
            activity: Activity::default(),
            scroll: 0,
        }
    }

    /// Adds a line, keeping the view where it is if the user has scrolled back.
    pub fn push(&mut self, line: Line) {
        self.lines.push(line);
        if self.scroll > 0 {
            self.scroll += 1;
        }
        if self.lines.len() > SCROLLBACK {
            let extra = self.lines.len() - SCROLLBACK;
            self.lines.drain(..extra);
            self.scroll = self.scroll.min(self.lines.len().saturating_sub(1));
        }
    }

    /// Scrolls back (`up`) or forward by `rows` lines, within what the window holds.
    pub fn scroll_by(&mut self, rows: usize, up: bool) {
        self.scroll = if up {
            (self.scroll + rows).min(self.lines.len().saturating_sub(1))
        } else {
            self.scroll.saturating_sub(rows)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolled_back_windows_stay_where_they_are() {
        let mut w = Window::new(WindowKey::Status);
        let line = |t: &str| Line::note(Timestamp(0), t.into(), LineStyle::Notice);
        w.push(line("a"));
        w.scroll = 1;
        w.push(line("b"));
        assert_eq!(w.scroll, 2);
        w.scroll_by(10, true);
        assert_eq!(w.scroll, 1, "no further back than the first line");
        w.scroll_by(10, false);
        assert_eq!(w.scroll, 0);
    }

    #[test]
    fn labels_say_what_a_window_holds() {
        let c = |c: Conversation| WindowKey::Conversation(c).label();
        assert_eq!(WindowKey::Status.label(), "status");
        assert_eq!(c(Conversation::User("bob".into())), "bob");
        assert_eq!(c(Conversation::Group("crew".into())), "#crew");
        assert_eq!(c(Conversation::Private("bob".into())), "~bob");
        assert_eq!(c(Conversation::Broadcasts), "broadcasts");
    }
}
