//! The full-screen client's windows: one per conversation, and which window each thing shown belongs in.
//!
//! A window opens when a conversation starts: a message from or to a user, a group or a private chat.
//! Notices about a conversation go to its window if it is open, otherwise to the status window; replies
//! to what the user asked for (`whoelse`, `ping`, errors, `help`) go where the user is looking. This is
//! presentation, not protocol: it reads the typed items the client core produces and decides nothing
//! about what they mean.

use crate::client::{Conversation, Item};
use crate::protocol::{Name, ServerMsg};
use crate::time::Timestamp;

/// Which conversation a window holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WindowKey {
    /// Server notices, presence, private-chat requests: always window 1.
    Status,
    Broadcasts,
    User(Name),
    Group(Name),
    Private(Name),
}

impl WindowKey {
    /// The name in the window list and the title bar.
    pub fn label(&self) -> String {
        match self {
            WindowKey::Status => "status".into(),
            WindowKey::Broadcasts => "broadcasts".into(),
            WindowKey::User(u) => u.to_string(),
            WindowKey::Group(g) => format!("#{g}"),
            WindowKey::Private(u) => format!("~{u}"),
        }
    }

    /// What plain text typed in this window becomes, if it is a conversation.
    pub fn command_for(&self, text: &str) -> Option<String> {
        match self {
            WindowKey::User(u) => Some(format!("message {u} {text}")),
            WindowKey::Group(g) => Some(format!("message group {g} {text}")),
            WindowKey::Private(u) => Some(format!("private {u} {text}")),
            WindowKey::Broadcasts => Some(format!("broadcast {text}")),
            WindowKey::Status => None,
        }
    }
}

impl From<&Conversation> for WindowKey {
    fn from(c: &Conversation) -> Self {
        match c {
            Conversation::User(u) => WindowKey::User(u.clone()),
            Conversation::Group(g) => WindowKey::Group(g.clone()),
            Conversation::Private(u) => WindowKey::Private(u.clone()),
            Conversation::Broadcasts => WindowKey::Broadcasts,
        }
    }
}

/// Where an item goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// This conversation's window, opened if it is not.
    Open(WindowKey),
    /// This conversation's window if it is open, else the status window.
    IfOpen(WindowKey),
    /// This conversation's window if it is open, else the window the user is looking at.
    IfOpenOrActive(WindowKey),
    Status,
    /// The window the user is looking at.
    Active,
    /// Nowhere on its own (an outcome updates the line of the message it is about).
    Nowhere,
}

/// Where `item` is shown.
pub fn route(item: &Item) -> Route {
    use WindowKey as W;
    match item {
        Item::Server(msg) => {
            // What the client acts on itself, with nothing to read.
            if matches!(msg, ServerMsg::Delivered { .. } | ServerMsg::P2pPort { .. }) {
                return Route::Nowhere;
            }
            match msg.conversation() {
                Some(c) if starts_conversation(msg) => Route::Open(W::from(&c)),
                Some(c) if is_news(msg) => Route::IfOpen(W::from(&c)),
                Some(c) => Route::IfOpenOrActive(W::from(&c)),
                None if is_news(msg) => Route::Status,
                None => Route::Active,
            }
        }
        Item::Offline { from, group, .. } => {
            Route::Open(W::from(&Conversation::of_message(from, group.as_ref())))
        }
        Item::Private { from, .. } => Route::Open(W::Private(from.clone())),
        Item::PrivateConnecting { peer }
        | Item::PrivateAwaiting { peer }
        | Item::PrivateOpen { peer } => Route::Open(W::Private(peer.clone())),
        Item::PrivateEnded { peer, .. } | Item::PrivateFailed { peer, .. } => {
            Route::IfOpen(W::Private(peer.clone()))
        }
        Item::Outgoing { to, .. } => Route::Open(WindowKey::from(to)),
        Item::Outcome { .. } => Route::Nowhere,
        Item::Help { .. } | Item::Error(_) | Item::Warning(_) => Route::Active,
    }
}

/// A line that brings a conversation's window up: a message in it, or a group the user just made or
/// was added to (ready to talk in).
fn starts_conversation(msg: &ServerMsg) -> bool {
    matches!(
        msg,
        ServerMsg::Message { .. }
            | ServerMsg::GroupMessage { .. }
            | ServerMsg::Broadcast { .. }
            | ServerMsg::BroadcastSent { .. }
            | ServerMsg::GroupCreated { .. }
            | ServerMsg::GroupJoined { .. }
    )
}

/// News rather than an answer to what the user just asked: kept in the status window when its
/// conversation has none, where an answer shows where the user is looking.
fn is_news(msg: &ServerMsg) -> bool {
    matches!(
        msg,
        ServerMsg::Welcome { .. }
            | ServerMsg::Registered { .. }
            | ServerMsg::Presence { .. }
            | ServerMsg::Stored { .. }
            | ServerMsg::GroupSent { .. }
            | ServerMsg::GroupLeft { .. }
            | ServerMsg::PrivateRequest { .. }
            | ServerMsg::PrivatePending { .. }
            | ServerMsg::PrivateDeclined { .. }
            | ServerMsg::PrivateDeclineSent { .. }
            | ServerMsg::PrivateCancelled { .. }
            | ServerMsg::Blocked { .. }
            | ServerMsg::Unblocked { .. }
    )
}

/// One line of a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub at: Timestamp,
    /// Who said it, for a message (shown before the text, in bold); `None` for a notice.
    pub from: Option<Name>,
    pub text: String,
    pub style: LineStyle,
    /// For one of the user's own messages: its number, and what became of it, once known.
    pub seq: Option<u64>,
    pub outcome: Option<String>,
}

/// How a line is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineStyle {
    /// Someone else's message.
    Message,
    /// The user's own message.
    Own,
    /// A notice (presence, confirmations).
    Notice,
    Error,
}

/// Unread lines in a window the user is not looking at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    pub unread: usize,
    /// Some of them are messages to the user alone: marked apart, like irssi's highlight.
    pub for_me: bool,
}

/// A window: its conversation, its lines, its activity, and how far up it is scrolled.
#[derive(Clone, Debug)]
pub struct Window {
    pub key: WindowKey,
    pub lines: Vec<Line>,
    pub activity: Activity,
    /// Lines scrolled back from the newest (0: following the conversation).
    pub scroll: usize,
}

/// Lines a window keeps (the oldest go first).
pub const SCROLLBACK: usize = 5000;

impl Window {
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorReply;

    #[test]
    fn messages_open_their_conversation_and_notices_follow_it() {
        let msg = Item::Server(ServerMsg::Message {
            from: "bob".into(),
            text: "hi".into(),
        });
        assert_eq!(route(&msg), Route::Open(WindowKey::User("bob".into())));
        let group = Item::Server(ServerMsg::GroupJoined {
            group: "team".into(),
            user: "carol".into(),
            by: "bob".into(),
        });
        assert_eq!(route(&group), Route::Open(WindowKey::Group("team".into())));
        let left = Item::Server(ServerMsg::GroupLeft {
            group: "team".into(),
            user: "carol".into(),
        });
        assert_eq!(route(&left), Route::IfOpen(WindowKey::Group("team".into())));
        let presence = Item::Server(ServerMsg::Presence {
            user: "bob".into(),
            online: true,
        });
        assert_eq!(route(&presence), Route::Status);
        let err = Item::from(ErrorReply::EmptyLine);
        assert_eq!(
            route(&err),
            Route::Active,
            "an answer goes where the user looks"
        );
        let offline = Item::Offline {
            from: "bob".into(),
            group: Some("team".into()),
            text: "x".into(),
            age_secs: 3,
        };
        assert_eq!(
            route(&offline),
            Route::Open(WindowKey::Group("team".into()))
        );
    }

    #[test]
    fn plain_text_becomes_the_conversations_command() {
        assert_eq!(
            WindowKey::Group("team".into()).command_for("hi all"),
            Some("message group team hi all".into())
        );
        assert_eq!(
            WindowKey::Private("bob".into()).command_for("psst"),
            Some("private bob psst".into())
        );
        assert_eq!(
            WindowKey::Broadcasts.command_for("hello all"),
            Some("broadcast hello all".into())
        );
        assert_eq!(WindowKey::Status.command_for("hi"), None);
    }

    #[test]
    fn scrolled_back_windows_stay_where_they_are() {
        let mut w = Window::new(WindowKey::Status);
        let line = |t: &str| Line {
            at: Timestamp(0),
            from: None,
            text: t.into(),
            style: LineStyle::Notice,
            seq: None,
            outcome: None,
        };
        w.push(line("a"));
        w.scroll = 1;
        w.push(line("b"));
        assert_eq!(w.scroll, 2);
    }
}
