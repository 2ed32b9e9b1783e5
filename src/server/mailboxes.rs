//! Stored messages: what waits for each user who was offline when it was sent, and the numbering that
//! lets a client recognise a redelivery.
//!
//! A stored message stays until the recipient's client acknowledges it (`ack`), so a connection lost
//! mid-delivery, or a server crash, delivers it again rather than losing it. Ids only grow, across
//! restarts too ([`Mailboxes::reserve`]), which is what makes "I have shown everything up to id N" a sound
//! rule for the client.

use std::collections::VecDeque;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::accounts::UserId;
use crate::protocol::Name;
use crate::time::Timestamp;

/// A message kept for a user who was offline when it was sent. Cheap to copy: a session keeps the
/// ones that were waiting at its login, for `offline`.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredMsg {
    pub(crate) id: u64,
    pub(crate) from: Name,
    /// The group it was sent to, for a group message.
    pub(crate) group: Option<Name>,
    pub(crate) sent_at: Timestamp,
    pub(crate) text: Arc<str>,
}

#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(crate) struct Mailboxes {
    /// Per user, oldest first.
    boxes: Vec<VecDeque<StoredMsg>>,
    /// Per user, how many of the waiting messages each sender left (for the fair share: one sender may
    /// fill only part of a mailbox).
    senders: Vec<FxHashMap<Name, u32>>,
    /// The id the next stored message gets.
    next_id: u64,
}

impl Default for Mailboxes {
    fn default() -> Self {
        Mailboxes {
            boxes: Vec::new(),
            senders: Vec::new(),
            next_id: 1,
        }
    }
}

impl Mailboxes {
    /// Makes room for a new account.
    pub(crate) fn add_user(&mut self) {
        self.boxes.push(VecDeque::new());
        self.senders.push(FxHashMap::default());
    }

    /// How many of `user`'s waiting messages `sender` left.
    pub(crate) fn count_from(&self, user: UserId, sender: &str) -> usize {
        self.senders[user.index()]
            .get(sender)
            .map_or(0, |n| *n as usize)
    }

    fn counted_in(&mut self, user: UserId, sender: &Name) {
        *self.senders[user.index()]
            .entry(sender.clone())
            .or_default() += 1;
    }

    fn counted_out(&mut self, user: UserId, sender: &Name) {
        let senders = &mut self.senders[user.index()];
        if let Some(n) = senders.get_mut(sender) {
            *n -= 1;
            if *n == 0 {
                senders.remove(sender);
            }
        }
    }

    /// How many messages wait for `user`.
    pub(crate) fn len(&self, user: UserId) -> usize {
        self.boxes[user.index()].len()
    }

    /// `user`'s messages, oldest first.
    pub(crate) fn messages(&self, user: UserId) -> impl Iterator<Item = &StoredMsg> {
        self.boxes[user.index()].iter()
    }

    /// Stores a message for `to` under the next id, and returns that id.
    pub(crate) fn store(
        &mut self,
        to: UserId,
        from: Name,
        group: Option<Name>,
        sent_at: Timestamp,
        text: Arc<str>,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.counted_in(to, &from);
        self.boxes[to.index()].push_back(StoredMsg {
            id,
            from,
            group,
            sent_at,
            text,
        });
        id
    }

    /// Puts back a message from the durable record, under its own id.
    pub(crate) fn restore(&mut self, to: UserId, msg: StoredMsg) {
        self.next_id = self.next_id.max(msg.id + 1);
        self.counted_in(to, &msg.from);
        self.boxes[to.index()].push_back(msg);
    }

    /// Forgets `user`'s messages up to and including `up_to`; whether any were.
    pub(crate) fn ack(&mut self, user: UserId, up_to: u64) -> bool {
        let before = self.boxes[user.index()].len();
        while self.boxes[user.index()]
            .front()
            .is_some_and(|m| m.id <= up_to)
        {
            if let Some(m) = self.boxes[user.index()].pop_front() {
                self.counted_out(user, &m.from);
            }
        }
        self.boxes[user.index()].len() != before
    }

    /// Drops every message from `sender` waiting for `user` (the rest keep their order).
    pub(crate) fn discard_from(&mut self, user: UserId, sender: &str) {
        self.boxes[user.index()].retain(|m| &*m.from != sender);
        self.senders[user.index()].remove(sender);
    }

    /// The id the next stored message will get.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Raises the next id to at least `id`.
    pub(crate) fn reserve(&mut self, id: u64) {
        self.next_id = self.next_id.max(id);
    }
}
