//! What others have sent an online user that may not have left the server yet, so that a user who
//! reads slowly (or is being flooded) is never disconnected because of what *others* send.
//!
//! The shell drops a connection whose unwritten output passes its bound (a client that stopped reading
//! must not hold the server's memory). Without this, a sender could push a recipient over that bound and
//! get *them* dropped. So the core counts, per recipient, the bytes of messages, group messages,
//! broadcasts and private-chat requests others sent since the recipient's queue was last seen empty,
//! and refuses a delivery that would take one sender past [`SENDER_BACKLOG`] or everyone past
//! [`TOTAL_BACKLOG`] (both well under the shell's bound): the *sender* is told (`ERROR recipient-busy`,
//! or "some members did not get it"), and the recipient keeps their session.
//!
//! The count is reset when the shell reports the queue empty: past [`WATCH_AT`] bytes the core asks to
//! be told ([`Effect::WatchDrain`]); the shell answers [`Event::Drained`](super::Event::Drained) when it
//! next finishes writing to the connection. What was counted after the request stays counted, since it
//! may still be queued.

use super::accounts::UserId;
use super::event::{ConnId, Effect};

/// The most bytes one sender may have waiting for one recipient.
pub const SENDER_BACKLOG: usize = 32 * 1024;
/// The most bytes all senders together may have waiting for one recipient.
pub const TOTAL_BACKLOG: usize = 128 * 1024;
/// The backlog at which the core asks to hear when the queue is empty.
pub const WATCH_AT: usize = 16 * 1024;

/// One online user's backlog.
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct Backlog {
    total: usize,
    /// Per sender; a handful at most between two drains, so a list.
    by_sender: Vec<(UserId, usize)>,
    /// Counted since the drain watch was asked for (survives the drain).
    since_watch: usize,
    watching: bool,
}

/// The estimated size of a line carrying `text` from `from`: what it costs in the recipient's queue.
pub(crate) fn line_cost(from: &str, text: &str) -> usize {
    from.len() + text.len() + 48
}

impl Backlog {
    /// Whether `bytes` more from `sender` fit.
    pub(crate) fn has_room(&self, sender: UserId, bytes: usize) -> bool {
        let from_sender = self
            .by_sender
            .iter()
            .find(|(s, _)| *s == sender)
            .map_or(0, |(_, b)| *b);
        self.total + bytes <= TOTAL_BACKLOG && from_sender + bytes <= SENDER_BACKLOG
    }

    /// Counts `bytes` from `sender` for the recipient on `conn`; asks for a drain watch if due.
    pub(crate) fn add(
        &mut self,
        conn: ConnId,
        sender: UserId,
        bytes: usize,
        out: &mut Vec<Effect>,
    ) {
        self.total += bytes;
        match self.by_sender.iter_mut().find(|(s, _)| *s == sender) {
            Some((_, b)) => *b += bytes,
            None => self.by_sender.push((sender, bytes)),
        }
        if self.watching {
            self.since_watch += bytes;
        } else if self.total >= WATCH_AT {
            self.watching = true;
            self.since_watch = 0;
            out.push(Effect::WatchDrain { conn });
        }
    }

    /// The queue was empty after the watch was asked for: only what came since may still be waiting.
    pub(crate) fn drained(&mut self) {
        self.total = self.since_watch;
        self.by_sender.clear();
        self.since_watch = 0;
        self.watching = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sender_cannot_take_more_than_its_share_and_a_drain_gives_room_back() {
        let mut b = Backlog::default();
        let mut out = Vec::new();
        let (alice, carol) = (UserId(0), UserId(1));
        let conn = ConnId(9);
        let mut sent = 0;
        let mut at_watch = None;
        while b.has_room(alice, 1000) {
            b.add(conn, alice, 1000, &mut out);
            sent += 1000;
            if at_watch.is_none() && !out.is_empty() {
                at_watch = Some(sent);
            }
        }
        assert!(sent <= SENDER_BACKLOG && sent + 1000 > SENDER_BACKLOG);
        assert!(b.has_room(carol, 1000), "others still get through");
        assert_eq!(out, vec![Effect::WatchDrain { conn }], "asked once");
        b.add(conn, carol, 500, &mut out);
        b.drained();
        assert!(b.has_room(alice, 1000));
        let after_watch = sent - at_watch.unwrap() + 500;
        assert_eq!(
            b.total, after_watch,
            "what came after the watch may still be queued"
        );
    }

    #[test]
    fn everyone_together_is_bounded_too() {
        let mut b = Backlog::default();
        let mut out = Vec::new();
        let mut total = 0;
        for s in 0..100 {
            if b.has_room(UserId(s), 8000) {
                b.add(ConnId(1), UserId(s), 8000, &mut out);
                total += 8000;
            }
        }
        assert!(total <= TOTAL_BACKLOG);
        assert!(!b.has_room(UserId(500), 8000));
    }
}
