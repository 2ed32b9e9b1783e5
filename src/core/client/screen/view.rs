//! The full-screen client as the shell draws it: the [`Screen`] (windows, input line) and, beside it,
//! what the session knows that the screen shows ([`Facts`]), read from the parts that keep it rather
//! than copied into the screen. So each fact has one keeper, and the screen learns only from what it
//! is shown and asked.

use std::collections::{BTreeMap, BTreeSet};

use super::super::e2e::Protection;
use super::status::{self, Segment};
use super::{Link, Screen, Window};
use crate::protocol::{Conversation, Name};
use crate::time::Timestamp;

/// What the session knows that the full-screen client shows, as its parts keep it.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// The server in use (or being tried), as the user named it.
    pub server: &'a str,
    /// Whether the connection to it is up, or being found again.
    pub link: Link,
    /// Who is online, as far as the client knows.
    pub online: &'a BTreeSet<Name>,
    /// The members of each group the user is in, as the server last said.
    pub members: &'a BTreeMap<Name, BTreeSet<Name>>,
    /// How each conversation used is protected (end-to-end encrypted, verified, not encrypted), as
    /// the session said.
    pub protections: &'a BTreeMap<Conversation, Protection>,
    /// When the idle logout comes, once the server has warned of it.
    pub idle_deadline: Option<Timestamp>,
    /// Each of the user's groups' topic, as the server last said.
    pub topics: &'a BTreeMap<Name, String>,
    /// Who is away, and why.
    pub away: &'a BTreeMap<Name, String>,
    /// Who is typing in each conversation, and until when (the server's typing signals).
    pub typing: &'a BTreeMap<Conversation, BTreeMap<Name, Timestamp>>,
    /// Changes whenever any of the above does.
    pub version: u64,
}

/// The full-screen client as drawn: the screen and the facts beside it.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    screen: &'a Screen,
    facts: Facts<'a>,
}

impl<'a> View<'a> {
    /// `screen`, with `facts` beside it.
    pub fn new(screen: &'a Screen, facts: Facts<'a>) -> Self {
        View { screen, facts }
    }

    /// The windows, in order (the status window first).
    pub fn windows(&self) -> &'a [Window] {
        self.screen.windows()
    }

    /// The index of the window shown.
    pub fn active(&self) -> usize {
        self.screen.active()
    }

    /// The window shown.
    pub fn active_window(&self) -> &'a Window {
        self.screen.active_window()
    }

    /// The logged-in user, once welcomed.
    pub fn me(&self) -> Option<&'a Name> {
        self.screen.me()
    }

    /// The server in use, as the user named it.
    pub fn server(&self) -> &'a str {
        self.facts.server
    }

    /// Whether the connection to the server is up.
    pub fn link(&self) -> Link {
        self.facts.link
    }

    /// The names beside the conversation: a group's members in its window, else who is online.
    pub fn nicks(&self) -> Vec<&'a Name> {
        match self.active_window().key.conversation() {
            Some(Conversation::Group(g)) => match self.facts.members.get(g) {
                Some(members) => members.iter().collect(),
                None => Vec::new(),
            },
            _ => self.facts.online.iter().collect(),
        }
    }

    /// How the conversation in view is protected, if it is a conversation and the session said.
    pub fn protection(&self) -> Option<Protection> {
        let c = self.active_window().key.conversation()?;
        self.facts.protections.get(c).copied()
    }

    /// Who is typing in the conversation in view at `now`.
    pub fn typing(&self, now: Timestamp) -> Vec<&'a Name> {
        let Some(c) = self.active_window().key.conversation() else {
            return Vec::new();
        };
        self.facts
            .typing
            .get(c)
            .map(|who| {
                who.iter()
                    .filter(|(_, until)| **until > now)
                    .map(|(n, _)| n)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The title line: the conversation in view, how it is protected, and a group's topic.
    pub fn title(&self) -> String {
        let label = self.active_window().key.label();
        let mut title = match self.protection() {
            Some(p) => format!(" natter — {label} [{}]", p.badge()),
            None => format!(" natter — {label}"),
        };
        if let Some(topic) = self.topic() {
            title.push_str(": ");
            title.push_str(topic);
        }
        title
    }

    /// The topic of the group in view, if it has one.
    pub fn topic(&self) -> Option<&'a str> {
        match self.active_window().key.conversation()? {
            Conversation::Group(g) => self.facts.topics.get(g).map(String::as_str),
            _ => None,
        }
    }

    /// Why `user` is away, if they are.
    pub fn away(&self, user: &str) -> Option<&'a str> {
        self.facts.away.get(user).map(String::as_str)
    }

    /// Seconds left before the idle logout, when the server has warned of it.
    pub fn idle_left(&self, now: Timestamp) -> Option<u64> {
        self.facts.idle_deadline.map(|d| now.secs_until_ceil(d))
    }

    /// The status bar for a terminal `width` columns wide, `clock` being the time as the user reads
    /// it (`HH:MM`).
    pub fn status_bar(&self, width: usize, now: Timestamp, clock: &str) -> Vec<Segment> {
        status::fit(self, width, now, clock)
    }

    /// The input line: its prompt, what is typed (nothing of a password), and the cursor (in chars).
    pub fn input_line(&self) -> (String, String, usize) {
        self.screen.input_line()
    }

    /// Changes whenever anything drawn does, so the shell redraws only then.
    pub fn version(&self) -> u64 {
        self.screen.version().wrapping_add(self.facts.version)
    }

    /// The input history, oldest first, as it is to be kept.
    pub fn history(&self) -> &'a [String] {
        self.screen.history()
    }

    /// A line half typed (not a password), to be kept when the client ends under it.
    pub fn half_typed(&self) -> Option<String> {
        self.screen.half_typed()
    }
}
