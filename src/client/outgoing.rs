//! The user's own messages, for a client that shows them in its windows as sent: each gets a number,
//! and the server's answer (with `receipts on`: `DELIVERED`, `STORED`, `GROUP-SENT`, or an error naming
//! the recipient) settles it.
//!
//! Answers are matched by recipient, oldest first, not by arrival order: the server answers every
//! command in order, but not every command answers, so counting lines would drift; each answer about a
//! message names its recipient (or group): its [`ServerMsg::conversation`].

use std::collections::VecDeque;

pub use crate::protocol::Conversation;
use crate::protocol::ServerMsg;

/// What became of one of the user's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered at once.
    Delivered,
    /// Kept for an offline recipient.
    Stored,
    /// Sent to a group (its reply says how many got it), or written to a private chat's link.
    Sent,
    /// Refused; the error is shown with it.
    Failed,
}

/// Messages sent to the server and not answered yet.
#[derive(Debug, Default)]
pub(super) struct Outgoing {
    next: u64,
    pending: VecDeque<(u64, Conversation)>,
}

impl Outgoing {
    /// Numbers a message to `to`; if `awaits_answer`, keeps it until the server's answer settles it.
    pub(super) fn sent(&mut self, to: &Conversation, awaits_answer: bool) -> u64 {
        self.next += 1;
        if awaits_answer {
            self.pending.push_back((self.next, to.clone()));
        }
        self.next
    }

    /// The message `msg` answers, if any, and how it went.
    pub(super) fn answered(&mut self, msg: &ServerMsg) -> Option<(u64, Outcome)> {
        let outcome = match msg {
            ServerMsg::Delivered { .. } => Outcome::Delivered,
            ServerMsg::Stored { .. } => Outcome::Stored,
            ServerMsg::GroupSent { .. } => Outcome::Sent,
            ServerMsg::Error(e) if e.refuses_message() => Outcome::Failed,
            _ => return None,
        };
        let to = msg.conversation()?;
        let i = self.pending.iter().position(|(_, c)| *c == to)?;
        let (seq, _) = self.pending.remove(i)?;
        Some((seq, outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorReply;

    fn user(n: &str) -> Conversation {
        Conversation::User(n.into())
    }

    #[test]
    fn answers_settle_the_oldest_message_to_their_recipient() {
        let mut o = Outgoing::default();
        let a = o.sent(&user("bob"), true);
        let b = o.sent(&user("carol"), true);
        let c = o.sent(&user("bob"), true);
        let g = o.sent(&Conversation::Group("team".into()), true);
        assert_eq!(
            o.answered(&ServerMsg::Stored {
                id: 1,
                to: "carol".into()
            }),
            Some((b, Outcome::Stored))
        );
        assert_eq!(
            o.answered(&ServerMsg::Delivered { to: "bob".into() }),
            Some((a, Outcome::Delivered))
        );
        assert_eq!(
            o.answered(&ServerMsg::Error(ErrorReply::BlockedBy {
                user: "bob".into()
            })),
            Some((c, Outcome::Failed))
        );
        assert_eq!(
            o.answered(&ServerMsg::GroupSent {
                group: "team".into(),
                delivered: 1,
                stored: 0,
                skipped: false
            }),
            Some((g, Outcome::Sent))
        );
        assert_eq!(o.answered(&ServerMsg::Delivered { to: "bob".into() }), None);
        assert_eq!(
            o.answered(&ServerMsg::Error(ErrorReply::EmptyLine)),
            None,
            "an error about no message"
        );
        let d = o.sent(&user("dave"), true);
        assert_eq!(
            o.answered(&ServerMsg::Error(ErrorReply::NotBlocked {
                user: "dave".into()
            })),
            None,
            "an error about dave, but not about a message"
        );
        assert_eq!(
            o.answered(&ServerMsg::Error(ErrorReply::NoSuchUser {
                user: "dave".into()
            })),
            Some((d, Outcome::Failed))
        );
    }

    #[test]
    fn private_messages_need_no_answer() {
        let mut o = Outgoing::default();
        let p = o.sent(&Conversation::Private("bob".into()), false);
        assert_eq!(p, 1);
        assert_eq!(o.answered(&ServerMsg::Delivered { to: "bob".into() }), None);
    }
}
