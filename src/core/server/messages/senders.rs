//! How many of a queue's messages each sender left: what the fair share of a mailbox is checked
//! against (one sender may fill only part of a queue).
//!
//! Counted by name only once the queue is long. Nearly every queue is short (an online user's client
//! acknowledges what it is shown within moments), and counting every message in and out of a map by
//! its sender's name cost a hash, a lookup and a reference count each way; a short queue is
//! simply looked through when asked, which is at most [`COUNTED_FROM`] entries. A queue that grows
//! past that gets its map, built from the queue, and keeps it until it is down to half that again.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::protocol::Name;
use crate::server::messages::mailboxes::Queued;

/// The queue length past which its senders are counted in a map rather than looked through.
pub(crate) const COUNTED_FROM: usize = 32;

/// One queue's count of messages per sender: `None` while the queue is short (looked through).
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct SenderCounts(Option<FxHashMap<Name, u32>>);

impl SenderCounts {
    /// How many of `queue`'s messages `sender` left.
    pub(crate) fn of(&self, queue: &VecDeque<Queued>, sender: &str) -> usize {
        match &self.0 {
            Some(map) => map.get(sender).map_or(0, |n| *n as usize),
            None => queue.iter().filter(|q| &*q.msg.from == sender).count(),
        }
    }

    /// A message from `from` was added to `queue` (it is in it now).
    pub(crate) fn added(&mut self, queue: &VecDeque<Queued>, from: &Name) {
        match &mut self.0 {
            Some(map) => *map.entry(from.clone()).or_default() += 1,
            None if queue.len() > COUNTED_FROM => self.recount(queue),
            None => {}
        }
    }

    /// A message from `from` left `queue` (it is out of it now).
    pub(crate) fn removed(&mut self, queue: &VecDeque<Queued>, from: &Name) {
        let Some(map) = &mut self.0 else {
            return;
        };
        if queue.len() <= COUNTED_FROM / 2 {
            self.0 = None;
        } else if let Some(n) = map.get_mut(from) {
            *n -= 1;
            if *n == 0 {
                map.remove(from);
            }
        }
    }

    /// Counts `queue` afresh (after it changed other than one message at a time).
    pub(crate) fn recount(&mut self, queue: &VecDeque<Queued>) {
        self.0 = (queue.len() > COUNTED_FROM).then(|| {
            let mut map = FxHashMap::default();
            for q in queue {
                *map.entry(q.msg.from.clone()).or_default() += 1;
            }
            map
        });
    }
}
