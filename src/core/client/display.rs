//! Everything the client shows, as typed items, and the one place that turns them into lines.
//!
//! A line from the server is shown as the typed [`ServerMsg`] it decodes to ([`Item::Server`]): the
//! display does not restate the protocol. Only what the client adds has items of its own: stored
//! messages with their age, private-chat text and its life cycle (which never touches the server), the
//! client's own help rows, and its own errors and warnings. A shell that wants more than a line (a
//! full-screen client sorting lines into conversations) matches on the same typed values.
//!
//! Each line says at a glance what it is: messages carry a bracketed tag (`[message]`, `[broadcast]`,
//! `[private]`, `[offline, 5 min ago]`) and the sender; presence and private-chat events start with `*`;
//! requests that want an answer with `?`; confirmations of what you did with `-`; problems with
//! `error:` or `warning:`. With colour on, the tag and the sender are coloured as well, so the plain
//! text stays exactly the same with colour off (`NO_COLOR`, or output that is not a terminal).

use anstyle::{AnsiColor, Style};

pub use super::error::conversation_name;
use super::input::help_rows;
use super::outgoing::{Conversation, Outcome};
use crate::protocol::columns::variant_pat;
use crate::protocol::group_change::changes_text;
use crate::protocol::lines::wire_tables;
use crate::protocol::p2p::Refusal;
use crate::protocol::render::{cooldown, plural};
use crate::protocol::{ByeReason, CancelReason, ErrorReply, Name, PingState, Prompt, ServerMsg};

/// How a private chat ended, from this side's point of view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// This user ran `stopprivate`.
    YouStopped,
    /// The peer ran `stopprivate`.
    PeerStopped,
    /// The peer logged out or quit.
    PeerLoggedOut,
    /// The peer's client lost the server.
    PeerOffline,
    /// The direct connection closed without a goodbye.
    ConnectionLost,
    /// A message failed authentication: changed on the way, or not from the peer. The session is
    /// ended rather than trusted further.
    Tampered,
    /// The peer did not prove, with its end-to-end identity key and over this very session, that it
    /// is the user the server said, within the handshake's time (or sent text before it did): the
    /// session may run through someone else, such as the server. Nothing but this side's proof was
    /// sent on it.
    Unproven,
    /// This client has no usable end-to-end keys to prove who its user is.
    CannotProve,
}

/// Why a private chat that was agreed on could not be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetupFailure {
    /// The requester could not reach the address the server gave.
    ConnectFailed {
        /// What went wrong, as the shell said.
        error: String,
    },
    /// The peer's client refused the connection.
    Refused(Refusal),
    /// The peer's client answered with something other than the handshake.
    BadAnswer,
    /// The handshake did not finish in time.
    NoAnswer {
        /// The time the handshake had.
        secs: u64,
    },
    /// The requester never connected.
    NeverConnected {
        /// How long this side waited.
        secs: u64,
    },
    /// The connection closed during the handshake.
    Closed,
    /// This side was already waiting for `max` requesters to connect, the most it tries a first
    /// handshake message under.
    TooManyWaiting {
        /// The most requesters waited for at once.
        max: usize,
    },
}

pub use super::error::ClientError;

/// One thing to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A line from the server, as decoded (or an error the client found in a command before sending it,
    /// which is the same error the server would have answered).
    Server(ServerMsg),
    /// A message stored while this user was offline (sent to `group`, if a group message); `age_secs`
    /// is how long ago it was sent.
    Offline {
        /// Who sent it.
        from: Name,
        /// The group it was sent to, if any.
        group: Option<Name>,
        /// What it says (decrypted, and marked, as the session decided).
        text: String,
        /// How long ago it was sent, in seconds.
        age_secs: u64,
    },
    /// Received over a direct peer-to-peer link.
    Private {
        /// The peer.
        from: Name,
        /// What they said.
        text: String,
    },
    /// The peer accepted this user's request; connecting.
    PrivateConnecting {
        /// The peer.
        peer: Name,
    },
    /// This user accepted; waiting for the peer to connect.
    PrivateAwaiting {
        /// The peer.
        peer: Name,
    },
    /// The private chat is open: both sides completed the handshake and proved who they are.
    PrivateOpen {
        /// The peer.
        peer: Name,
    },
    /// A private chat ended.
    PrivateEnded {
        /// The peer.
        peer: Name,
        /// How.
        why: EndReason,
    },
    /// A private chat that was agreed on could not be opened.
    PrivateFailed {
        /// The peer.
        peer: Name,
        /// Why.
        why: SetupFailure,
    },
    /// One row of `help`.
    Help {
        /// How the command is typed.
        usage: &'static str,
        /// What it does.
        summary: &'static str,
    },
    /// One of this user's own messages, as sent (only when the client shows them: `echo_own`); its
    /// [`Item::Outcome`] follows when known.
    Outgoing {
        /// Its number, which its outcome names.
        seq: u64,
        /// Where it went.
        to: Conversation,
        /// What it says.
        text: String,
    },
    /// What became of the user's message `seq`.
    Outcome {
        /// The message's number.
        seq: u64,
        /// What became of it.
        outcome: Outcome,
    },
    /// News of end-to-end encryption: a changed key, a message not sent (and why), a safety number.
    E2e(super::e2e::Note),
    /// A problem the client found itself.
    Error(ClientError),
    /// Something the user should heed that is not an error of theirs (a paste dropped at logout,
    /// messages still waiting at exit, a damaged part of the stored keys).
    Warning(String),
    /// News of the connection to the server: lost, trying again, back. A full-screen client keeps it
    /// in its status window.
    Connection(String),
    /// A message in a group or a broadcast that names the user (or a word they chose): shown as the
    /// message it wraps, and addressed to them, as a direct message is (see
    /// [`super::highlight`]).
    Highlight(Box<Item>),
    /// The client's answer to one of its own commands (whom the user ignores, what a word means),
    /// shown where the user is looking.
    Note(String),
}

impl Item {
    /// A message from someone arriving now (not one stored while the user was away): what a line-mode
    /// client puts the time before.
    pub fn is_live_message(&self) -> bool {
        if let Item::Highlight(inner) = self {
            return inner.is_live_message();
        }
        matches!(
            self,
            Item::Server(
                ServerMsg::Message { .. }
                    | ServerMsg::Broadcast { .. }
                    | ServerMsg::GroupMessage { .. }
            ) | Item::Private { .. }
        )
    }

    /// A message to this user alone, direct or private (live, or kept for them while offline), a line
    /// that names them (a highlight), or someone asking for a private chat (which lapses if not
    /// answered soon): what rings the bell, and what a full-screen client marks differently from
    /// other activity.
    pub fn addressed_to_me(&self) -> bool {
        matches!(
            self,
            Item::Server(ServerMsg::Message { .. } | ServerMsg::PrivateRequest { .. })
                | Item::Private { .. }
                | Item::Offline { group: None, .. }
                | Item::Highlight(_)
        )
    }
}

impl From<ServerMsg> for Item {
    fn from(msg: ServerMsg) -> Self {
        Item::Server(msg)
    }
}

impl From<ErrorReply> for Item {
    fn from(e: ErrorReply) -> Self {
        Item::Server(ServerMsg::Error(e))
    }
}

impl From<ClientError> for Item {
    fn from(e: ClientError) -> Self {
        Item::Error(e)
    }
}

/// Styles, or none.
#[derive(Clone, Copy, Debug)]
struct Paint {
    color: bool,
}

impl Paint {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    /// A message: a bracketed tag, the sender in bold, the text as sent.
    /// An action (`/me`) reads `* alice waves`, after the marks the client put before the text.
    fn tagged(&self, tag: &str, tag_style: Style, from: &str, text: &str) -> String {
        match super::action::split(text) {
            Some((marks, action)) => format!(
                "{} {marks}* {} {action}",
                self.paint(tag_style, tag),
                self.paint(Style::new().bold(), from)
            ),
            None => format!(
                "{} {}: {text}",
                self.paint(tag_style, tag),
                self.paint(Style::new().bold(), from)
            ),
        }
    }

    /// Something that happened: presence, private-chat events.
    fn star(&self, text: String) -> String {
        format!("{} {text}", self.paint(fg(AnsiColor::Blue).bold(), "*"))
    }

    /// Something the user should act on.
    fn warn(&self, text: String) -> String {
        format!(
            "{} {text}",
            self.paint(fg(AnsiColor::Yellow).bold(), "warning:")
        )
    }

    /// A confirmation of what this user did.
    fn dash(&self, text: String) -> String {
        self.paint(Style::new().dimmed(), &format!("- {text}"))
    }
}

fn fg(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(c.into()))
}

fn list(users: &[Name]) -> String {
    users.iter().map(|u| &**u).collect::<Vec<_>>().join(", ")
}

/// How an answer to `whoelsesince` names its span: `"60 s"`, or `None` for the longest span
/// ([`MAX_SPAN_SECS`](crate::protocol::MAX_SPAN_SECS), what a longer one is taken as), which reaches
/// past any history and is said as "at any time", never as a number nobody typed.
fn span_words(secs: u64) -> Option<String> {
    (secs < crate::protocol::MAX_SPAN_SECS).then(|| format!("{secs} s"))
}

/// "5 s", "3 min", "2 h", "4 days".
pub fn age(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 => format!("{} h", secs / 3600),
        _ => {
            let d = secs / 86_400;
            format!("{d} day{}", if d == 1 { "" } else { "s" })
        }
    }
}

/// The text of an item as one or more lines (no final newline), coloured if `color`.
pub fn render(item: &Item, color: bool) -> String {
    let p = Paint { color };
    match item {
        Item::Server(msg) => render_server(msg, p),
        Item::Offline {
            from,
            group,
            text,
            age_secs,
        } => {
            let tag = match group {
                Some(g) => format!("[{g}, offline {} ago]", age(*age_secs)),
                None => format!("[offline, {} ago]", age(*age_secs)),
            };
            p.tagged(&tag, fg(AnsiColor::Yellow).bold(), from, text)
        }
        Item::Private { from, text } => {
            p.tagged("[private]", fg(AnsiColor::Green).bold(), from, text)
        }
        Item::PrivateConnecting { peer } => {
            p.dash(format!("{peer} accepted; connecting directly..."))
        }
        Item::PrivateAwaiting { peer } => p.dash(format!(
            "you accepted; waiting for {peer} to connect directly..."
        )),
        Item::PrivateOpen { peer } => p.star(format!(
            "Private chat with {peer} is open: 'private {peer} <text>' goes straight to them, 'stopprivate {peer}' ends it."
        )),
        Item::PrivateEnded { peer, why } => p.star(format!(
            "Private chat with {peer} ended: {}.",
            match why {
                EndReason::YouStopped => "you stopped it".to_string(),
                EndReason::PeerStopped => format!("{peer} stopped it"),
                EndReason::PeerLoggedOut => format!("{peer} logged out"),
                EndReason::PeerOffline => format!("{peer} lost the server"),
                EndReason::ConnectionLost => "the direct connection was lost".to_string(),
                EndReason::Tampered => {
                    "a message on it could not be authenticated (changed on the way?)".to_string()
                }
                EndReason::Unproven => format!(
                    "WARNING: the other end did not prove it is {peer} (with {peer}'s end-to-end \
                     identity key, over this connection). Someone, possibly the server, may be in \
                     the middle. Nothing you typed was sent on it"
                ),
                EndReason::CannotProve => "this client has no usable end-to-end keys to prove \
                     who you are (see the error about them), and a private chat needs them"
                    .to_string(),
            }
        )),
        Item::PrivateFailed { peer, why } => error(
            p,
            &format!(
                "Could not open the private chat with {peer}: {}.",
                match why {
                    SetupFailure::ConnectFailed { error } =>
                        format!("cannot connect to their client ({error})"),
                    SetupFailure::Refused(r @ (Refusal::Version | Refusal::BadHello)) => format!(
                        "their client refused the connection ({}): it speaks another version of \
                         the private-chat link; both of you need an up-to-date natter",
                        r.code()
                    ),
                    SetupFailure::Refused(r) =>
                        format!("their client refused the connection ({})", r.code()),
                    SetupFailure::BadAnswer => "their client did not answer correctly".into(),
                    SetupFailure::NoAnswer { secs } =>
                        format!("their client did not answer within {secs} s"),
                    SetupFailure::NeverConnected { secs } =>
                        format!("{peer} did not connect within {secs} s"),
                    SetupFailure::Closed => "the connection closed during the handshake".into(),
                    SetupFailure::TooManyWaiting { max } => format!(
                        "you are already waiting for {max} others to connect, the most at once; \
                         ask {peer} to try again in a moment"
                    ),
                }
            ),
        ),
        Item::Help { usage, summary } => help_row(usage, summary),
        Item::Outgoing { to, text, .. } => {
            let to = match to {
                Conversation::User(u) | Conversation::Private(u) => u.to_string(),
                Conversation::Group(g) => format!("[{g}]"),
                Conversation::Broadcasts => "everyone".to_owned(),
            };
            p.dash(format!("to {to}: {text}"))
        }
        Item::Outcome { outcome, .. } => p.dash(
            match outcome {
                Outcome::Delivered => "delivered",
                Outcome::Stored => "stored",
                Outcome::Sent => "sent",
                Outcome::Failed => "not sent",
                Outcome::Unconfirmed => "not confirmed: the connection was lost before the server answered",
            }
            .into(),
        ),
        Item::E2e(note) if note.is_error() => error(p, &note.to_string()),
        Item::E2e(note) if note.is_loud() => p.warn(note.to_string()),
        Item::E2e(note) => p.dash(note.to_string()),
        Item::Error(e) => error(p, &e.to_string()),
        Item::Warning(text) | Item::Connection(text) => p.warn(text.clone()),
        Item::Note(text) => p.dash(text.clone()),
        Item::Highlight(inner) => render(inner, color),
    }
}

/// The column `help`'s summaries start at: the usages up to this long line up; a longer one (`group
/// set`'s) pushes its own summary on, rather than every summary off the edge of the terminal.
pub const HELP_USAGE_WIDTH: usize = 32;

/// One row of `help`: the usage, padded to the longest one (up to [`HELP_USAGE_WIDTH`]), then what it
/// does.
fn help_row(usage: &str, summary: &str) -> String {
    let width = help_usage_width();
    format!("  {usage:<width$}  {summary}")
}

/// How wide the usage column of `help` is: its longest usage within [`HELP_USAGE_WIDTH`].
fn help_usage_width() -> usize {
    help_rows(true)
        .iter()
        .map(|(u, _)| u.chars().count())
        .filter(|w| *w <= HELP_USAGE_WIDTH)
        .max()
        .unwrap_or(0)
}

/// `item` as line mode prints it on a terminal `width` columns wide: [`render`]'s text, with a
/// `help` row broken at words and its summary carried on under the summary column (the terminal
/// would cut it at the width, mid-word, and carry it on under the command). Other lines are left
/// whole: a message is copied as it came.
pub fn render_for_width(item: &Item, color: bool, width: usize) -> String {
    let text = render(item, color);
    match item {
        Item::Help { .. } => crate::client::wrap::hanging(&text, width, help_usage_width() + 4),
        _ => text,
    }
}

/// How the client shows a table's enum (see [`crate::protocol::lines`]): the row's `show` column, or
/// nothing for the rows that have none (an error's code, shown as its human text).
trait Shown {
    fn shown(&self, paint: Paint) -> Option<String>;
}

macro_rules! define_shown {
    (
        $(#[$em:meta])*
        $vis:vis enum $E:ident {
            $(
                $(#[$vm:meta])*
                $V:ident $({ $($bf:tt)* })? $(( $bt:ty ) as $bind:ident)?
                    => $tag:tt [ $( $wf:ident $(: $codec:ty)? ),* ]
                    human $human:tt
                    show $show:tt
                    about $about:tt
            ),* $(,)?
        }
    ) => {
        impl Shown for $E {
            #[allow(unused_variables)]
            fn shown(&self, paint: Paint) -> Option<String> {
                match self {
                    $( variant_pat!($E $V $({ $($bf)* })? $(( $bt ) as $bind)?) => show!(paint; $show) ),*
                }
            }
        }
    };
}

/// A row's `show` column: nothing, or `p => text` with `p` the [`Paint`] to style it with.
macro_rules! show {
    ($paint:ident; ()) => {
        None
    };
    ($paint:ident; ($p:ident => $e:expr)) => {{
        let $p = $paint;
        Some($e)
    }};
}

wire_tables!(define_shown);

/// A server line as the client shows it.
fn render_server(msg: &ServerMsg, p: Paint) -> String {
    msg.shown(p).unwrap_or_default()
}

/// A message stored while the user was away, shown again with the group it went to.
fn offline(p: Paint, from: &Name, group: Option<&Name>, text: &str) -> String {
    let tag = match group {
        Some(g) => format!("[{g}, offline]"),
        None => "[offline]".to_string(),
    };
    p.tagged(&tag, fg(AnsiColor::Yellow).bold(), from, text)
}

fn error(p: Paint, text: &str) -> String {
    format!("{} {text}", p.paint(fg(AnsiColor::Red).bold(), "error:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::from(s)
    }

    #[test]
    fn each_kind_of_line_says_what_it_is() {
        let cases = [
            (
                Item::Server(ServerMsg::Message {
                    id: 1,
                    sent_at: crate::time::Timestamp(0),
                    from: n("bob"),
                    text: "hi".into(),
                }),
                "[message] bob: hi",
            ),
            (
                Item::Server(ServerMsg::Broadcast {
                    from: n("bob"),
                    text: "hi all".into(),
                }),
                "[broadcast] bob: hi all",
            ),
            (
                Item::Private {
                    from: n("bob"),
                    text: "psst".into(),
                },
                "[private] bob: psst",
            ),
            (
                Item::Offline {
                    from: n("bob"),
                    group: None,
                    text: "later".into(),
                    age_secs: 190,
                },
                "[offline, 3 min ago] bob: later",
            ),
            (
                Item::Offline {
                    from: n("bob"),
                    group: Some(n("team")),
                    text: "later".into(),
                    age_secs: 190,
                },
                "[team, offline 3 min ago] bob: later",
            ),
            (
                Item::Server(ServerMsg::GroupMessage {
                    id: 1,
                    sent_at: crate::time::Timestamp(0),
                    group: n("team"),
                    from: n("alice"),
                    text: "hi".into(),
                }),
                "[team] alice: hi",
            ),
            (
                Item::Server(ServerMsg::Presence {
                    user: n("bob"),
                    online: true,
                }),
                "* bob logged in",
            ),
            (
                Item::from(ErrorReply::NoSuchUser { user: "zed".into() }),
                "error: There is no user named 'zed'.",
            ),
            (
                Item::Error(ClientError::NoPrivateChat { user: "bob".into() }),
                "error: You have no private chat with bob. Start one with 'startprivate bob'.",
            ),
        ];
        for (item, want) in cases {
            assert_eq!(render(&item, false), want);
        }
    }

    #[test]
    fn colour_adds_styles_and_nothing_else() {
        let item = Item::Server(ServerMsg::Message {
            id: 1,
            sent_at: crate::time::Timestamp(0),
            from: n("bob"),
            text: "hi".into(),
        });
        let coloured = render(&item, true);
        assert!(coloured.contains('\u{1b}'));
        let stripped: String = strip_ansi(&coloured);
        assert_eq!(stripped, render(&item, false));
        assert!(!render(&item, false).contains('\u{1b}'));
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut in_escape = false;
        for c in s.chars() {
            match (in_escape, c) {
                (false, '\u{1b}') => in_escape = true,
                (true, 'm') => in_escape = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    }

    #[test]
    fn help_rows_line_up() {
        let rows: Vec<String> = help_rows(true)
            .into_iter()
            .map(|(usage, summary)| render(&Item::Help { usage, summary }, false))
            .collect();
        let column = |row: &str, summary: &str| row.find(summary).unwrap();
        let first = column(&rows[0], help_rows(true)[0].1);
        for ((usage, summary), row) in help_rows(true).iter().zip(&rows) {
            if usage.chars().count() <= HELP_USAGE_WIDTH {
                assert_eq!(column(row, summary), first, "{row:?}");
            } else {
                assert!(column(row, summary) > first, "{row:?}");
            }
        }
        assert!(
            first <= HELP_USAGE_WIDTH + 4,
            "summaries start near the left"
        );
        assert!(
            rows.iter()
                .any(|r| r.contains("message group <name> <text>"))
        );
        assert!(
            rows.iter()
                .any(|r| r.contains("create group <name> [<member>...]"))
        );
        let unknown = ClientError::UnknownCommand("dance".into()).to_string();
        assert!(
            unknown.contains("'dance'")
                && unknown.contains("/help")
                && unknown.lines().count() == 1,
            "one short line naming the word and how to see the commands: {unknown}"
        );
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(5), "5 s");
        assert_eq!(age(120), "2 min");
        assert_eq!(age(7200), "2 h");
        assert_eq!(age(86_400), "1 day");
        assert_eq!(age(3 * 86_400), "3 days");
    }
}
