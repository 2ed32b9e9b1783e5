//! What an online user's connection may have waiting in the server's outbound queue, so that a user
//! who reads slowly (or is being flooded, or has a full mailbox) is never disconnected because of what
//! *others* send.
//!
//! The shell drops a connection whose unwritten output passes its bound (a client that stopped reading
//! must not hold the server's memory). Without this, a sender could push a recipient over that bound and
//! get *them* dropped, and a mailbox delivered all at once at login could do the same. So the core
//! counts, per recipient, the bytes that may not have left yet, in two kinds:
//!
//! - **Mail** (messages and group messages, live or stored): the recipient's queue (`mailboxes`) holds
//!   them, and `delivery` writes them out only while less than a window (`Config::mail_window`) is
//!   waiting. Past that it stops, asks to be told when the queue drains, and writes the next window
//!   then. So mail never counts against the slow-reader bound: the core never has more than a window
//!   of it waiting, whatever the mailbox holds.
//! - **Others' lines** (broadcasts, private-chat requests): not kept, so they are refused instead,
//!   when one sender would pass [`SENDER_BACKLOG`] or everyone [`TOTAL_BACKLOG`] (both well under the
//!   shell's bound): the *sender* is told (`ERROR recipient-busy`, or "some did not get it"), and the
//!   recipient keeps their session.
//!
//! The counts fall when the shell reports the queue empty: past [`WATCH_AT`] bytes of others' lines, or
//! half a window of mail, the core asks to be told ([`Effect::WatchDrain`]); the shell answers
//! [`Event::Drained`](crate::server::Event::Drained) when it next finishes writing to the connection. What was
//! counted after the request stays counted, since it may still be queued. One watch at a time serves
//! both kinds, so a drain is never taken for the answer to a later request.

use crate::server::event::{ConnId, Effect, UserId};

/// The most bytes one sender may have waiting for one recipient.
pub(crate) const SENDER_BACKLOG: usize = 32 * 1024;
/// The most bytes all senders together may have waiting for one recipient.
pub(crate) const TOTAL_BACKLOG: usize = 128 * 1024;
/// The backlog at which the core asks to hear when the queue is empty.
pub(crate) const WATCH_AT: usize = 16 * 1024;

/// One online user's backlog.
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct Backlog {
    /// Others' lines that may still be waiting.
    total: usize,
    /// Per sender; a handful at most between two drains, so a list.
    by_sender: Vec<(UserId, usize)>,
    /// Mail written that may still be waiting.
    mail: usize,
    /// Others' lines and mail counted since the drain watch was asked for (they survive the drain).
    since_watch: usize,
    mail_since_watch: usize,
    watching: bool,
}

/// The estimated size of a line carrying `text` from `from`: what it costs in the recipient's queue.
pub(crate) fn line_cost(from: &str, text: &str) -> usize {
    from.len() + text.len() + 48
}

/// The most a line carrying a message (`MSG`, `GROUP-MSG`, `OFFLINE-MSG`, `OFFLINE-GROUP-MSG`,
/// `OFFLINE-AGAIN`...) can take: its text, names and group, and room for the longest tag and two
/// 20-digit numbers. What the mail window counts.
pub(crate) fn mail_cost(from: &str, group: Option<&str>, text: &str) -> usize {
    from.len() + text.len() + group.map_or(0, |g| g.len() + 1) + 64
}

impl Backlog {
    /// Whether `bytes` more from `sender` fit.
    #[cfg(test)]
    pub(crate) fn has_room(&self, sender: UserId, bytes: usize) -> bool {
        let from_sender = self
            .by_sender
            .iter()
            .find(|(s, _)| *s == sender)
            .map_or(0, |(_, b)| *b);
        self.total + bytes <= TOTAL_BACKLOG && from_sender + bytes <= SENDER_BACKLOG
    }

    /// Counts `bytes` from `sender` for the recipient on `conn` if they fit (asking for a drain
    /// watch if due); whether they did. The sender is looked for once, for the question and the
    /// count: a broadcast asks this of every recipient, and each list holds every sender since the
    /// last drain.
    pub(crate) fn admit(
        &mut self,
        conn: ConnId,
        sender: UserId,
        bytes: usize,
        out: &mut Vec<Effect>,
    ) -> bool {
        if self.total + bytes > TOTAL_BACKLOG {
            return false;
        }
        let at = self.by_sender.iter().position(|(s, _)| *s == sender);
        let from_sender = at.map_or(0, |i| self.by_sender[i].1);
        if from_sender + bytes > SENDER_BACKLOG {
            return false;
        }
        match at {
            Some(i) => self.by_sender[i].1 += bytes,
            None => self.by_sender.push((sender, bytes)),
        }
        self.total += bytes;
        if self.watching {
            self.since_watch += bytes;
        } else if self.total >= WATCH_AT {
            self.watching = true;
            self.since_watch = 0;
            out.push(Effect::WatchDrain { conn });
        }
        true
    }

    /// Whether more mail may be written now: less than `window` of it may still be waiting.
    pub(crate) fn mail_room(&self, window: usize) -> bool {
        self.mail < window
    }

    /// Counts `bytes` of mail written to `conn`. Past half the `window`, asks to hear when it drains:
    /// a client that keeps up then frees its window before it is full, so mail never waits for it.
    pub(crate) fn add_mail(
        &mut self,
        conn: ConnId,
        bytes: usize,
        window: usize,
        out: &mut Vec<Effect>,
    ) {
        self.mail += bytes;
        if self.watching {
            self.mail_since_watch += bytes;
        } else if self.mail >= window / 2 {
            self.wait_for_drain(conn, out);
        }
    }

    /// Mail waits for room: asks for a drain watch, unless one is already asked for.
    pub(crate) fn wait_for_drain(&mut self, conn: ConnId, out: &mut Vec<Effect>) {
        if !self.watching {
            self.watching = true;
            self.since_watch = 0;
            self.mail_since_watch = 0;
            out.push(Effect::WatchDrain { conn });
        }
    }

    /// The queue was empty after the watch was asked for: only what came since may still be waiting.
    pub(crate) fn drained(&mut self) {
        if !self.watching {
            // A drain nobody here asked for (a watch of an earlier session on this connection cannot
            // be, so this is a duplicate): it proves nothing about what was written since.
            return;
        }
        self.total = self.since_watch;
        self.by_sender.clear();
        self.mail = self.mail_since_watch;
        self.since_watch = 0;
        self.mail_since_watch = 0;
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
        while b.admit(conn, alice, 1000, &mut out) {
            sent += 1000;
            if at_watch.is_none() && !out.is_empty() {
                at_watch = Some(sent);
            }
        }
        assert!(sent <= SENDER_BACKLOG && sent + 1000 > SENDER_BACKLOG);
        assert!(b.has_room(carol, 1000), "others still get through");
        assert_eq!(out, vec![Effect::WatchDrain { conn }], "asked once");
        assert!(b.admit(conn, carol, 500, &mut out));
        b.drained();
        assert!(b.has_room(alice, 1000));
        let after_watch = sent - at_watch.unwrap() + 500;
        assert_eq!(
            b.total, after_watch,
            "what came after the watch may still be queued"
        );
    }

    #[test]
    fn mail_waits_for_a_drain_once_its_window_is_written() {
        let mut b = Backlog::default();
        let mut out = Vec::new();
        let conn = ConnId(3);
        let mut written = 0;
        while b.mail_room(4000) {
            b.add_mail(conn, 700, 4000, &mut out);
            written += 700;
        }
        assert_eq!(written, 4200, "the last message may pass the window");
        assert_eq!(
            out,
            vec![Effect::WatchDrain { conn }],
            "asked once, at half the window"
        );
        b.wait_for_drain(conn, &mut out);
        assert_eq!(out.len(), 1, "one watch at a time");
        b.drained();
        assert!(b.mail_room(4000));
        assert_eq!(
            b.mail, 2100,
            "what was written after the watch may still wait"
        );
        b.drained();
        b.add_mail(conn, 5000, 100_000, &mut out);
        assert!(!b.mail_room(4000), "a drain nobody asked for frees nothing");
    }

    #[test]
    fn everyone_together_is_bounded_too() {
        let mut b = Backlog::default();
        let mut out = Vec::new();
        let mut total = 0;
        for s in 0..100 {
            if b.admit(ConnId(1), UserId(s), 8000, &mut out) {
                total += 8000;
            }
        }
        assert!(total <= TOTAL_BACKLOG);
        assert!(!b.has_room(UserId(500), 8000));
    }
}
