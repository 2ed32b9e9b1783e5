//! What goes into the conversation logs on disk (irssi's autolog): each line shown that belongs to a
//! conversation (a message received, stored, or said by the user; a private chat's line), with its
//! conversation and the time it was said. The core decides what is logged, from what it shows; the
//! shell only writes it (plain text, one file per conversation and day, owner-only).

use super::display::Item;
use crate::protocol::{Conversation, Name, ServerMsg};
use crate::time::Timestamp;

/// One line of a conversation's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// Whose log it goes in.
    pub conversation: Conversation,
    /// When it was said (a stored message: when it was sent, not when it arrived).
    pub at: Timestamp,
    /// The line, as `<bob> hello` (the author in angle brackets, irssi's log format).
    pub text: String,
}

/// The log line for `item`, shown at `now` to `me`, if it is one of a conversation's lines.
pub(super) fn line_of(item: &Item, me: Option<&Name>, now: Timestamp) -> Option<LogLine> {
    let said = |conversation: Conversation, from: &Name, text: &str| LogLine {
        conversation,
        at: now,
        text: format!("<{from}> {text}"),
    };
    match item {
        Item::Server(ServerMsg::Message { from, text, .. }) => {
            Some(said(Conversation::User(from.clone()), from, text))
        }
        Item::Server(ServerMsg::GroupMessage {
            from, group, text, ..
        }) => Some(said(Conversation::Group(group.clone()), from, text)),
        Item::Server(ServerMsg::Broadcast { from, text }) => {
            Some(said(Conversation::Broadcasts, from, text))
        }
        Item::Offline {
            from,
            group,
            text,
            age_secs,
        } => Some(LogLine {
            at: now.minus_millis(age_secs.saturating_mul(1000)),
            ..said(Conversation::of_message(from, group.as_ref()), from, text)
        }),
        Item::Private { from, text } => Some(said(Conversation::Private(from.clone()), from, text)),
        Item::Outgoing { to, text, .. } => me.map(|me| said(to.clone(), me, text)),
        _ => None,
    }
}

/// The log line of `text` said by `me` to `to` at `now`, for a client that does not show the user's
/// own lines (line mode: the terminal shows what was typed).
pub(super) fn said_by_me(to: &Conversation, me: &Name, text: &str, now: Timestamp) -> LogLine {
    LogLine {
        conversation: to.clone(),
        at: now,
        text: format!("<{me}> {text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_message_is_logged_when_it_was_sent_and_notices_are_not_logged() {
        let now = Timestamp::from_millis(10_000_000);
        let line = line_of(
            &Item::Offline {
                from: Name::from("bob"),
                group: Some(Name::from("crew")),
                text: "hi".into(),
                age_secs: 60,
            },
            None,
            now,
        )
        .unwrap();
        assert_eq!(line.conversation, Conversation::Group(Name::from("crew")));
        assert_eq!(line.at, now.minus_millis(60_000));
        assert_eq!(line.text, "<bob> hi");
        assert_eq!(
            line_of(&Item::Warning("x".into()), Some(&Name::from("a")), now),
            None
        );
    }
}
