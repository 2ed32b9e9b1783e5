//! The user's own messages on their way out: for a client that shows them in its windows as sent,
//! each gets a number, and the server's answer (with `receipts on`: `SENT`, `DELIVERED`, `STORED`,
//! `GROUP-SENT`, or an error naming the recipient) settles it; the messages typed that wait for
//! encryption keys, in order; and the longest line the server takes.
//!
//! Every message gets one answer at once, in command order: `SENT <id>` (queued for an online user),
//! `DELIVERED`, `STORED`, `GROUP-SENT` or an error. Those are matched by recipient, oldest first, not by
//! arrival order: not every command answers, so counting lines would drift; each answer about a
//! message names its recipient (or group): its [`ServerMsg::conversation`]. A message answered `SENT`
//! is settled again later, by `DELIVERED` or `STORED` with the same id, which may come after answers to
//! later messages: those are matched by id.

use std::collections::{BTreeMap, VecDeque};

pub use crate::protocol::Conversation;
use crate::protocol::{MAX_LINE, ServerMsg};

/// The number of a line the user did not write: its answer settles nothing shown.
pub(super) const SILENT: u64 = 0;

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
    /// Not answered: the connection was lost first, so it may or may not have reached the server
    /// (the user is told to look, and to send it again if it did not).
    Unconfirmed,
}

/// One message sent to the server and not settled yet.
#[derive(Debug)]
struct Pending {
    seq: u64,
    to: Conversation,
    /// Which line this is, among lines that may share a number (every line the user did not write
    /// is [`SILENT`]): what [`Outgoing::forget`] names.
    key: u64,
    /// The text of an encrypted message, to encrypt again if the server refuses it as encrypted for
    /// a device the recipient no longer has (`stale-key`).
    text: Option<String>,
    /// A message the user wrote (not a group key for a member): said if its answer never comes.
    written: bool,
    /// Nothing of its answer is shown ([`Outgoing::expect_quiet`]).
    quiet: bool,
}

/// A message the user wrote whose answer never came: the connection it went by was lost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Unanswered {
    /// Its number ([`SILENT`] for a client that does not number its messages).
    pub seq: u64,
    /// Where it went.
    pub to: Conversation,
}

/// How the server answered one line: the message's number, what became of it, and its text if it
/// must be encrypted again (`stale-key`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Answer {
    pub seq: u64,
    pub outcome: Outcome,
    pub resend: Option<String>,
    /// The line was a message the user wrote (not a group key for a member, whose answer is
    /// nothing of the user's).
    pub written: bool,
    /// Nothing of it is shown, not even a refusal: the client sent the line on its own and nothing
    /// depends on it (a session's confirmation).
    pub quiet: bool,
}

/// The outgoing part: messages sent to the server and not settled yet, and what the user typed that
/// has not left.
#[derive(Debug)]
pub(super) struct Outgoing {
    /// Show the user's own messages as sent, and what became of each (a full-screen client does; a
    /// line client, whose screen already holds what was typed, does not).
    echo_own: bool,
    /// The longest line the server takes (it says so when a line was too long).
    line_limit: usize,
    /// Per conversation, the numbers of the user's messages typed in this session whose lines have
    /// not left yet (waiting for keys), in order, with their texts (a line may also carry a message
    /// of an earlier session, or one sent again, which must not take a number of these); `None` for
    /// a client that does not show its own messages.
    typed: BTreeMap<Conversation, VecDeque<(Option<u64>, String)>>,
    next: u64,
    next_key: u64,
    /// Messages not answered yet, in the order sent: the next answer to a conversation is its
    /// oldest one's.
    pending: VecDeque<Pending>,
    /// Messages answered `SENT`, by the id it gave, waiting for their fate. Apart from `pending`, so
    /// that neither answer scans the other's messages: an encrypting client follows every line's
    /// answer, and with a burst of thousands queued for a recipient who acknowledges in batches,
    /// each answer scanned thousands.
    queued: BTreeMap<u64, Pending>,
}

impl Default for Outgoing {
    fn default() -> Self {
        Outgoing::new(false)
    }
}

impl Outgoing {
    /// Nothing sent yet; `echo_own`: the user's own messages are shown, as sent and then settled.
    pub(super) fn new(echo_own: bool) -> Self {
        Outgoing {
            echo_own,
            line_limit: MAX_LINE,
            typed: BTreeMap::new(),
            next: 0,
            next_key: 0,
            pending: VecDeque::new(),
            queued: BTreeMap::new(),
        }
    }

    /// Whether the user's own messages are shown, as sent and then settled.
    pub(super) fn echo_own(&self) -> bool {
        self.echo_own
    }

    /// The longest line the server takes.
    pub(super) fn line_limit(&self) -> usize {
        self.line_limit
    }

    /// The server said its limit is `max` (a line was too long): what is typed next is checked by
    /// it.
    pub(super) fn set_line_limit(&mut self, max: usize) {
        self.line_limit = max;
    }

    /// The user typed `text` to `to` (numbered `seq` if shown); its line leaves when the keys it
    /// waits for come.
    pub(super) fn typed(&mut self, to: &Conversation, seq: Option<u64>, text: &str) {
        self.typed
            .entry(to.clone())
            .or_default()
            .push_back((seq, text.to_owned()));
    }

    /// The number of the oldest message to `to` typed in this session with this text whose line has
    /// not left yet (none for a message of an earlier session, or one sent again); it has left now.
    pub(super) fn next_typed(&mut self, to: &Conversation, text: &str) -> Option<u64> {
        let q = self.typed.get_mut(to)?;
        let i = q.iter().position(|(_, t)| t == text)?;
        q.remove(i)?.0
    }

    /// A new session: what was typed in the last one and had not left is the device's outbox's now
    /// (it goes at login, unnumbered).
    pub(super) fn new_session(&mut self) {
        self.typed.clear();
    }

    /// Numbers a message to `to`; if `awaits_answer`, keeps it until the server's answer settles it.
    pub(super) fn sent(&mut self, to: &Conversation, awaits_answer: bool) -> u64 {
        let seq = self.number();
        if awaits_answer {
            self.expect_encrypted(seq, to, None, true);
        }
        seq
    }

    /// Numbers a message the user wrote (its line may leave later: an encrypted message waits for the
    /// recipient's keys).
    pub(super) fn number(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// The line of message `seq` to `to` was sent: its answer is to come. Number [`SILENT`] is a line
    /// the user did not write (a group key for a member): answered like the others, so the answers
    /// to the user's own messages still match, and never shown.
    pub(super) fn expect(&mut self, seq: u64, to: &Conversation) -> u64 {
        self.expect_encrypted(seq, to, None, false)
    }

    /// Like [`Self::expect`], for a message the user wrote (`written`; said if its answer never
    /// comes), encrypted: its `text` is encrypted again if the server says it was for a device its
    /// recipient no longer has. Returns the line's key, for [`Self::forget`].
    pub(super) fn expect_encrypted(
        &mut self,
        seq: u64,
        to: &Conversation,
        text: Option<String>,
        written: bool,
    ) -> u64 {
        self.next_key += 1;
        self.pending.push_back(Pending {
            seq,
            to: to.clone(),
            key: self.next_key,
            text,
            written,
            quiet: false,
        });
        self.next_key
    }

    /// A line the client sent on its own to `to` whose answer is to be taken and not shown (see
    /// [`Answer::quiet`]); the key to forget it by.
    pub(super) fn expect_quiet(&mut self, to: &Conversation) -> u64 {
        let key = self.expect(SILENT, to);
        if let Some(p) = self.pending.back_mut() {
            p.quiet = true;
        }
        key
    }

    /// The connection to the server is gone: no answer to a line sent by it will come, and
    /// answers on the next connection are to lines sent by that one, so nothing awaited is kept
    /// (matched by recipient, oldest first, an answer would otherwise settle a message of the old
    /// connection: show it delivered when it was not, or encrypt the wrong text again). Returns
    /// the messages the user wrote that were not answered, to say so. Those answered `SENT` are
    /// with the server (its `DELIVERED` or `STORED` would have come only on that connection) and
    /// keep their mark.
    pub(super) fn connection_lost(&mut self) -> Vec<Unanswered> {
        self.queued.clear();
        std::mem::take(&mut self.pending)
            .into_iter()
            .filter(|p| p.written)
            .map(|p| Unanswered {
                seq: p.seq,
                to: p.to,
            })
            .collect()
    }

    /// Forgets the line expected as `key` (what [`Self::expect_encrypted`] returned): it never
    /// left (what it depended on could not be saved, or its connection is gone).
    pub(super) fn forget(&mut self, key: u64) {
        self.pending.retain(|p| p.key != key);
        self.queued.retain(|_, p| p.key != key);
    }

    /// The message `msg` answers, if any, and how it went.
    #[cfg(test)]
    pub(super) fn answered(&mut self, msg: &ServerMsg) -> Option<(u64, Outcome)> {
        self.answer(msg).map(|a| (a.seq, a.outcome))
    }

    /// The message `msg` answers, if any: its number, how it went, and its text to encrypt again
    /// when the answer is `stale-key`.
    pub(super) fn answer(&mut self, msg: &ServerMsg) -> Option<Answer> {
        let stale = matches!(
            msg,
            ServerMsg::Error(crate::protocol::ErrorReply::StaleKey { .. })
        );
        let settled = |p: Pending, outcome| Answer {
            seq: p.seq,
            outcome,
            written: p.written,
            quiet: p.quiet,
            resend: if stale { p.text } else { None },
        };
        let (outcome, id) = match msg {
            ServerMsg::Sent { id, .. } => (Outcome::Sent, Some(*id)),
            ServerMsg::Delivered { id, .. } => (Outcome::Delivered, Some(*id)),
            ServerMsg::Stored { id, .. } => (Outcome::Stored, Some(*id)),
            ServerMsg::GroupSent { .. } => (Outcome::Sent, None),
            ServerMsg::Error(e) if e.refuses_message() => (Outcome::Failed, None),
            _ => return None,
        };
        let to = msg.conversation()?;
        // The later answer to a message already queued (`SENT` told its id).
        if let Some(id) = id
            && self.queued.get(&id).is_some_and(|p| p.to == to)
        {
            let p = self.queued.remove(&id)?;
            return Some(settled(p, outcome));
        }
        let i = self.pending.iter().position(|p| p.to == to)?;
        let p = self.pending.remove(i)?;
        if let (ServerMsg::Sent { .. }, Some(id)) = (msg, id) {
            // Queued: its fate comes later, under this id.
            let answer = Answer {
                seq: p.seq,
                outcome,
                resend: None,
                written: p.written,
                quiet: p.quiet,
            };
            self.queued.insert(id, p);
            return Some(answer);
        }
        Some(settled(p, outcome))
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
            o.answered(&ServerMsg::Delivered {
                id: 4,
                to: "bob".into()
            }),
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
        assert_eq!(
            o.answered(&ServerMsg::Delivered {
                id: 5,
                to: "bob".into()
            }),
            None
        );
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
    fn a_queued_message_is_settled_by_its_id_after_later_ones() {
        let mut o = Outgoing::default();
        let a = o.sent(&user("bob"), true);
        let b = o.sent(&user("bob"), true);
        let c = o.sent(&user("bob"), true);
        let sent = |id| ServerMsg::Sent {
            id,
            to: "bob".into(),
        };
        assert_eq!(o.answered(&sent(7)), Some((a, Outcome::Sent)));
        // bob blocked the sender meanwhile: the next one is refused at once.
        let refused = ServerMsg::Error(ErrorReply::BlockedBy { user: "bob".into() });
        assert_eq!(o.answered(&refused), Some((b, Outcome::Failed)));
        assert_eq!(o.answered(&sent(9)), Some((c, Outcome::Sent)));
        let stored = ServerMsg::Stored {
            id: 9,
            to: "bob".into(),
        };
        assert_eq!(o.answered(&stored), Some((c, Outcome::Stored)));
        let delivered = ServerMsg::Delivered {
            id: 7,
            to: "bob".into(),
        };
        assert_eq!(o.answered(&delivered), Some((a, Outcome::Delivered)));
        assert_eq!(o.answered(&delivered), None, "settled once");
    }

    #[test]
    fn answers_after_a_lost_connection_settle_nothing_of_the_old_one() {
        let mut o = Outgoing::default();
        let old = o.sent(&user("bob"), true);
        let _share = o.expect(SILENT, &user("bob"));
        let queued = o.sent(&user("carol"), true);
        let sent = |id, to: &str| ServerMsg::Sent { id, to: to.into() };
        assert_eq!(o.answered(&sent(3, "carol")), Some((queued, Outcome::Sent)));
        // The connection is lost before bob's answer: the user's message is said unanswered,
        // the group key is not (the user did not write it).
        assert_eq!(
            o.connection_lost(),
            vec![Unanswered {
                seq: old,
                to: user("bob")
            }]
        );
        // On the new connection: a new message's answer settles it, not the old one.
        let new = o.sent(&user("bob"), true);
        let delivered = ServerMsg::Delivered {
            id: 9,
            to: "bob".into(),
        };
        assert_eq!(o.answered(&delivered), Some((new, Outcome::Delivered)));
        assert_eq!(
            o.answered(&delivered),
            None,
            "nothing of the old connection left"
        );
        let stored = ServerMsg::Stored {
            id: 3,
            to: "carol".into(),
        };
        assert_eq!(o.answered(&stored), None);
    }

    #[test]
    fn private_messages_need_no_answer() {
        let mut o = Outgoing::default();
        let p = o.sent(&Conversation::Private("bob".into()), false);
        assert_eq!(p, 1);
        assert_eq!(
            o.answered(&ServerMsg::Delivered {
                id: 1,
                to: "bob".into()
            }),
            None
        );
    }
}
