//! Every line the server sends, as a typed value.
//!
//! The enums are defined by the table in `super::lines`, with their wire form, their human text and
//! the conversation each belongs to; [`super::render`] is the only code that turns them into text and
//! [`super::decode`] the only code that turns text back into them. Tests match on variants, never on
//! strings, and `decode(render(m)) == m` holds for every message (a property test checks it).

use std::net::SocketAddr;

use super::columns::{opt_expr, rows, tag_doc, variant_pat};
use super::command::CommandName;
use super::group_change::GroupChange;
use super::keys::{KeyError, SignedKey};
use super::lines::wire_tables;
use super::name::{GroupNameError, NameError, PasswordError};
use crate::time::Timestamp;

pub use super::name::Name;

/// A one-time secret the server hands both ends of a private chat, so the listening side can tell the
/// requester it agreed to from anybody else who connects.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token(pub u128);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({self})")
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl std::str::FromStr for Token {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(());
        }
        u128::from_str_radix(s, 16).map(Token).map_err(|_| ())
    }
}

/// Why a pending private-chat request ended without an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelReason {
    /// Nobody answered within the server's bound.
    Timeout,
    /// The other side logged out or was disconnected.
    Offline,
}

/// Where a line belongs: a conversation with one user, a group, everyone (broadcasts), or a private
/// chat (whose text goes peer to peer; the server only brokers it). A client keeps a window, or a
/// thread, per conversation; [`ServerMsg::conversation`] says which one a line is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Conversation {
    /// A conversation with one user: direct messages to and from them.
    User(Name),
    /// A group's conversation, by its name.
    Group(Name),
    /// Every broadcast, whoever sent it.
    Broadcasts,
    /// A private chat with one user, which runs peer to peer: here only its brokering (requests,
    /// answers, its end).
    Private(Name),
}

impl Conversation {
    /// Where a message from `from` belongs: its group's conversation if it was sent to one, else the
    /// conversation with its sender.
    pub fn of_message(from: &Name, group: Option<&Name>) -> Self {
        match group {
            Some(g) => Conversation::Group(g.clone()),
            None => Conversation::User(from.clone()),
        }
    }
}

/// Defines a table's enum (see [`super::lines`]) and its `conversation()`. Each variant's doc ends with
/// its wire form, taken from its row, so the docs show what the line looks like.
macro_rules! define_enum {
    (
        [$($em:tt)*] $vis:vis enum $E:ident {
            $( { [$($vm:tt)*] $V:ident [$($decl:tt)*] $bind:tt $tag:tt [$( $wf:ident $codec:tt )*] $human:tt $show:tt $about:tt } )*
        }
    ) => {
        $($em)*
        $vis enum $E {
            $(
                $($vm)*
                #[doc = ""]
                #[doc = concat!("Wire form: `", tag_doc!($tag), $(" <", stringify!($wf), ">",)* "`.")]
                $V $($decl)*
            ),*
        }

        impl $E {
            /// The conversation this is about, if any: the one a client shows it with.
            #[allow(unused_variables)]
            pub fn conversation(&self) -> Option<Conversation> {
                match self {
                    $( variant_pat!($E $V [$($decl)*] $bind) => opt_expr!($about) ),*
                }
            }
        }
    };
}

wire_tables!(rows for define_enum);

impl ServerMsg {
    /// Whether the line may be held briefly (up to 100 ms) so that it shares a `write` with the
    /// recipient's next lines, because nobody can tell it was late:
    /// - presence notices: with many users logging in and out they are most of what a server sends, and
    ///   a person cannot tell a login shown a tenth of a second late (see `pacing`);
    /// - the username prompt: a person takes far longer than that to start typing, and a program that
    ///   sends its login at once gets the prompt with the welcome, in one `write` instead of two.
    ///
    /// Replies to commands, messages and broadcasts are never held: someone is waiting for each. A line
    /// that is not held takes the held ones with it, so holding never reorders a connection's lines.
    pub fn can_wait(&self) -> bool {
        matches!(
            self,
            ServerMsg::Presence { .. } | ServerMsg::Prompt(Prompt::Username)
        )
    }
}

impl ErrorReply {
    /// Whether this error can be the answer to a message sent (`message`, `message group`): the
    /// message was refused, and the error names its recipient ([`ErrorReply::conversation`]).
    pub fn refuses_message(&self) -> bool {
        matches!(
            self,
            ErrorReply::BlockedBy { .. }
                | ErrorReply::MailboxFull { .. }
                | ErrorReply::MailboxShare { .. }
                | ErrorReply::RecipientBusy { .. }
                | ErrorReply::NoSuchUser { .. }
                | ErrorReply::NotMember { .. }
                | ErrorReply::NoSuchGroup { .. }
                | ErrorReply::StaleKey { .. }
        )
    }
}

impl From<ErrorReply> for ServerMsg {
    fn from(e: ErrorReply) -> Self {
        ServerMsg::Error(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_notices_nobody_waits_for_may_be_held() {
        let may_wait = [
            ServerMsg::Presence {
                user: "bob".into(),
                online: true,
            },
            ServerMsg::Prompt(Prompt::Username),
        ];
        for msg in &may_wait {
            assert!(msg.can_wait(), "{msg:?} should be allowed to wait");
        }
        let must_not = [
            ServerMsg::Prompt(Prompt::Password),
            ServerMsg::Welcome { user: "bob".into() },
            ServerMsg::Message {
                id: 1,
                sent_at: crate::time::Timestamp(0),
                from: "bob".into(),
                text: "hi".into(),
            },
            ServerMsg::Broadcast {
                from: "bob".into(),
                text: "hi".into(),
            },
            ServerMsg::WhoElse { users: vec![] },
            ServerMsg::Bye(ByeReason::Logout),
        ];
        for msg in &must_not {
            assert!(!msg.can_wait(), "{msg:?} is awaited and must not wait");
        }
    }
}
