//! Which window each thing shown belongs in.
//!
//! A line from the server belongs to the conversation [`ServerMsg::conversation`] names, if any. A
//! message (or a group the user was just put in) brings its window up; other news about a conversation
//! goes to its window if it is open, otherwise to the status window; an answer to what the user asked
//! (`whoelse`, `ping`, an error) goes to its conversation's window if open, otherwise where the user is
//! looking.

use super::super::display::Item;
use crate::protocol::{Conversation, ErrorReply, ServerMsg};

/// Where an item goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// This conversation's window, opened if it is not.
    Open(Conversation),
    /// This conversation's window if it is open, else the status window.
    IfOpen(Conversation),
    /// This conversation's window if it is open, else the window the user is looking at.
    IfOpenOrActive(Conversation),
    /// The status window.
    Status,
    /// The window the user is looking at.
    Active,
    /// Every window: news that ends what each of them is (the server ended the session).
    All,
    /// Nowhere on its own (an outcome updates the line of the message it is about).
    Nowhere,
}

/// Where `item` is shown.
pub fn route(item: &Item) -> Route {
    match item {
        Item::Server(msg) => {
            // What the client acts on itself, with nothing to read.
            if matches!(msg, ServerMsg::Delivered { .. } | ServerMsg::P2pPort { .. }) {
                return Route::Nowhere;
            }
            // Whichever window the user looks at, it says why nothing more comes.
            if matches!(msg, ServerMsg::Bye(_)) {
                return Route::All;
            }
            // `block` and `unblock` answer where they were typed: they are about the user's own
            // list, not said in the conversation (typed in the status window, the answer is not
            // hidden away in the other user's window).
            if is_block_answer(msg) {
                return Route::Active;
            }
            match msg.conversation() {
                Some(c) if starts_conversation(msg) => Route::Open(c),
                Some(c) if is_news(msg) => Route::IfOpen(c),
                Some(c) => Route::IfOpenOrActive(c),
                None if is_news(msg) => Route::Status,
                None => Route::Active,
            }
        }
        Item::Offline { from, group, .. } => {
            Route::Open(Conversation::of_message(from, group.as_ref()))
        }
        Item::Private { from, .. } => Route::Open(Conversation::Private(from.clone())),
        Item::PrivateConnecting { peer }
        | Item::PrivateAwaiting { peer }
        | Item::PrivateOpen { peer } => Route::Open(Conversation::Private(peer.clone())),
        Item::PrivateEnded { peer, .. } | Item::PrivateFailed { peer, .. } => {
            Route::IfOpen(Conversation::Private(peer.clone()))
        }
        Item::Outgoing { to, .. } => Route::Open(to.clone()),
        Item::Outcome { .. } => Route::Nowhere,
        Item::Highlight(inner) => route(inner),
        Item::Connection(_) => Route::Status,
        // How a conversation is protected is said first in its window (a message follows).
        Item::E2e(note @ crate::client::e2e::Note::Protection { .. }) => {
            note.conversation().map_or(Route::Active, Route::Open)
        }
        Item::E2e(note) => note
            .conversation()
            .map_or(Route::Active, Route::IfOpenOrActive),
        Item::Help { .. } | Item::Error(_) | Item::Warning(_) | Item::Note(_) => Route::Active,
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
/// conversation has no window, where an answer shows where the user is looking.
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
    )
}

/// The answer to `block` or `unblock`, done or refused.
fn is_block_answer(msg: &ServerMsg) -> bool {
    matches!(
        msg,
        ServerMsg::Blocked { .. }
            | ServerMsg::Unblocked { .. }
            | ServerMsg::Error(ErrorReply::AlreadyBlocked { .. } | ErrorReply::NotBlocked { .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(u: &str) -> Conversation {
        Conversation::User(u.into())
    }

    #[test]
    fn messages_open_their_conversation_and_notices_follow_it() {
        let msg = Item::Server(ServerMsg::Message {
            id: 1,
            sent_at: crate::time::Timestamp(0),
            from: "bob".into(),
            text: "hi".into(),
        });
        assert_eq!(route(&msg), Route::Open(user("bob")));
        let group = Item::Server(ServerMsg::GroupJoined {
            group: "team".into(),
            user: "carol".into(),
            by: "bob".into(),
        });
        assert_eq!(
            route(&group),
            Route::Open(Conversation::Group("team".into()))
        );
        let left = Item::Server(ServerMsg::GroupLeft {
            group: "team".into(),
            user: "carol".into(),
            reason: String::new(),
        });
        assert_eq!(
            route(&left),
            Route::IfOpen(Conversation::Group("team".into()))
        );
        let presence = Item::Server(ServerMsg::Presence {
            user: "bob".into(),
            online: true,
        });
        assert_eq!(route(&presence), Route::Status);
        let request = Item::Server(ServerMsg::PrivateRequest {
            from: "bob".into(),
            secs: 60,
        });
        assert_eq!(
            route(&request),
            Route::IfOpen(Conversation::Private("bob".into()))
        );
        let offline = Item::Offline {
            from: "bob".into(),
            group: Some("team".into()),
            text: "x".into(),
            age_secs: 3,
        };
        assert_eq!(
            route(&offline),
            Route::Open(Conversation::Group("team".into()))
        );
        let lost = Item::Connection("Lost the connection".into());
        assert_eq!(route(&lost), Route::Status);
    }

    #[test]
    fn an_answer_goes_to_its_conversation_or_where_the_user_looks() {
        let err = Item::from(ErrorReply::EmptyLine);
        assert_eq!(route(&err), Route::Active);
        let blocked = Item::from(ErrorReply::BlockedBy { user: "bob".into() });
        assert_eq!(route(&blocked), Route::IfOpenOrActive(user("bob")));
        let who = Item::Server(ServerMsg::WhoElse { users: vec![] });
        assert_eq!(route(&who), Route::Active);
        let delivered = Item::Server(ServerMsg::Delivered {
            id: 1,
            to: "bob".into(),
        });
        assert_eq!(route(&delivered), Route::Nowhere);
    }
}
