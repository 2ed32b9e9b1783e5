//! Each user's delivery queue (the mailbox, grown into one): every message to the user that their
//! client has not acknowledged yet, in id order, and the numbering that lets a client recognise a
//! redelivery.
//!
//! An entry is *durable* (stored: persisted with `Record::MessageStored`, because the user was offline
//! when it came, or their session ended before their client acknowledged it) or *live* (sent while the
//! user was online, held in memory only). Both kinds stay until the recipient's client acknowledges
//! them (`ack`, cumulative), so a connection lost mid-delivery, or a server crash, delivers a stored
//! message again rather than losing it; a live one becomes durable when the session ends (see
//! `delivery`). Ids come from one counter and only grow, across restarts too ([`Mailboxes::reserve`]),
//! so every queue is in id order and "I have shown everything up to id N" is a sound rule for the
//! client. One message to several users (a group message) has one id in all their queues: ids need
//! only grow within each queue.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::protocol::Name;
use crate::server::event::{ConnId, Effect, UserId};
use crate::server::message::StoredMsg;
use crate::server::record::Record;

/// One entry of a queue.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
pub(crate) struct Queued {
    pub(crate) msg: StoredMsg,
    /// Persisted (`Record::MessageStored`); a live entry is in memory only.
    pub(crate) durable: bool,
    /// For a live direct message: the connection it came from, to be told `DELIVERED` or `STORED`
    /// when it has its fate (if that session is still there and asked for receipts).
    pub(crate) reply_to: Option<ConnId>,
}

impl Queued {
    pub(crate) fn id(&self) -> u64 {
        self.msg.id
    }
}

#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(crate) struct Mailboxes {
    /// Per user, in id order.
    boxes: Vec<VecDeque<Queued>>,
    /// Per user, how many of the queued messages each sender left (for the fair share: one sender may
    /// fill only part of a queue), kept only for a long queue (see [`Mailboxes::count_at`]). A
    /// queue's map is exact when it is not empty or the queue is; an empty map beside a queue that
    /// is not means "not counted", and a count is then made by looking through the queue.
    senders: Vec<FxHashMap<Name, u32>>,
    /// The id the next message gets.
    next_id: u64,
    /// Ids below this are reserved durably (`Record::MessageIdsReserved`): a restart starts above them.
    reserved: u64,
    /// A queue's senders are counted once it is this long, and until it is half as long again.
    ///
    /// Only a queue at least as long as one sender's share can hold a sender that has used it up,
    /// so the fair share asks for a count only then ([`Mailboxes::count_from`] is correct at any
    /// length, looking through a queue that is not counted). Counting every message in and out of
    /// the map cost a hash, a look-up and a reference count each way, for every queue. The core
    /// sets it to the share ([`Mailboxes::count_senders_from`]); 0 (as a decoded value starts)
    /// counts every queue. Half as long before the map goes: a queue that moves around the share
    /// is not counted all over again each time.
    #[serde(skip)]
    count_at: usize,
}

/// Message ids are reserved this many at a time: one commit per block keeps ids growing across
/// restarts although most messages are never stored. Large, so that even at half a million messages a
/// second a block lasts two seconds (a batch that starts one waits for a disk sync); a restart skips
/// what is left of it, which a 64-bit counter can afford for ever.
pub const ID_BLOCK: u64 = 1 << 20;

impl Default for Mailboxes {
    fn default() -> Self {
        Mailboxes {
            boxes: Vec::new(),
            senders: Vec::new(),
            next_id: 1,
            reserved: 0,
            count_at: 0,
        }
    }
}

impl Mailboxes {
    /// Makes room for a new account.
    pub(crate) fn add_user(&mut self) {
        self.boxes.push(VecDeque::new());
        self.senders.push(FxHashMap::default());
    }

    /// Counts senders only in queues at least `len` long (one sender's share of a mailbox: see
    /// [`Mailboxes::count_at`]). A queue counted now stays counted until it is half as long.
    pub(crate) fn count_senders_from(&mut self, len: usize) {
        self.count_at = len;
    }

    /// How many of `user`'s queued messages `sender` left.
    pub(crate) fn count_from(&self, user: UserId, sender: &str) -> usize {
        let (queue, senders) = (&self.boxes[user.index()], &self.senders[user.index()]);
        if senders.is_empty() && !queue.is_empty() {
            // Not counted (a short queue): looked through.
            return queue.iter().filter(|q| &*q.msg.from == sender).count();
        }
        senders.get(sender).map_or(0, |n| *n as usize)
    }

    /// The message at `at` in `user`'s queue has just joined it: counted, if the queue is; a queue
    /// that is now long enough is counted from here on.
    fn counted_in(&mut self, user: UserId, at: usize) {
        let (queue, senders) = (&self.boxes[user.index()], &mut self.senders[user.index()]);
        if !senders.is_empty() {
            // The sender's name borrowed from the queue, cloned only into the map's key.
            if let Some(q) = queue.get(at) {
                *senders.entry(q.msg.from.clone()).or_default() += 1;
            }
        } else if queue.len() >= self.count_at {
            for q in queue {
                *senders.entry(q.msg.from.clone()).or_default() += 1;
            }
        }
    }

    /// `sender`'s message has just left a queue now `len` long, whose senders are `senders`: not
    /// counted any more, if the queue is; a counted queue that is now short is counted no more.
    fn counted_out(senders: &mut FxHashMap<Name, u32>, sender: &Name, len: usize, count_at: usize) {
        if senders.is_empty() {
            return;
        }
        if len < count_at / 2 {
            *senders = FxHashMap::default();
            return;
        }
        if let Some(n) = senders.get_mut(sender) {
            *n -= 1;
            if *n == 0 {
                senders.remove(sender);
            }
        }
    }

    /// How many messages are queued for `user`, durable and live.
    pub(crate) fn len(&self, user: UserId) -> usize {
        self.boxes[user.index()].len()
    }

    /// `user`'s durable messages, in id order: what the store holds for them.
    pub(crate) fn stored(&self, user: UserId) -> impl Iterator<Item = &StoredMsg> {
        self.boxes[user.index()]
            .iter()
            .filter(|q| q.durable)
            .map(|q| &q.msg)
    }

    /// The id the next message gets, taken: one message has one id, whoever it goes to. When it is the
    /// first of a new block, the block is reserved durably first (the record goes before anything that
    /// carries the id, and every line carrying it waits for its commit).
    pub(crate) fn take_id(&mut self, out: &mut Vec<Effect>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        if id >= self.reserved {
            self.reserved = id + ID_BLOCK;
            out.push(Effect::Persist(Record::MessageIdsReserved {
                below: self.reserved,
            }));
        }
        id
    }

    /// Appends a message to `to`'s queue. Its id must be the newest in the queue (it was just taken).
    pub(crate) fn push(&mut self, to: UserId, entry: Queued) {
        debug_assert!(
            self.boxes[to.index()]
                .back()
                .is_none_or(|last| last.id() < entry.id()),
            "a queue stays in id order"
        );
        let queue = &mut self.boxes[to.index()];
        queue.push_back(entry);
        let at = queue.len() - 1;
        self.counted_in(to, at);
    }

    /// Puts back a stored message from the durable record, under its own id.
    pub(crate) fn restore(&mut self, to: UserId, msg: StoredMsg) {
        self.next_id = self.next_id.max(msg.id + 1);
        let queue = &mut self.boxes[to.index()];
        let entry = Queued {
            msg,
            durable: true,
            reply_to: None,
        };
        // Records come in id order per user; a log written otherwise must still give an ordered queue,
        // and one id is one message.
        let at = queue.partition_point(|q| q.id() < entry.id());
        if queue.get(at).is_some_and(|q| q.id() == entry.id()) {
            let old = std::mem::replace(&mut queue[at], entry);
            let len = queue.len();
            Self::counted_out(
                &mut self.senders[to.index()],
                &old.msg.from,
                len - 1,
                self.count_at,
            );
        } else {
            queue.insert(at, entry);
        }
        self.counted_in(to, at);
    }

    /// The first entry of `user`'s queue after id `after` (the next to send on a connection that has
    /// sent up to `after`).
    pub(crate) fn next_after(&self, user: UserId, after: u64) -> Option<&Queued> {
        let queue = &self.boxes[user.index()];
        queue.get(queue.partition_point(|q| q.id() <= after))
    }

    /// Whether anything in `user`'s queue comes after id `after`.
    pub(crate) fn has_after(&self, user: UserId, after: u64) -> bool {
        self.boxes[user.index()]
            .back()
            .is_some_and(|q| q.id() > after)
    }

    /// Takes the entry `id` out of `user`'s queue (a live message delivered to a client that does not
    /// acknowledge), if it is there.
    pub(crate) fn take(&mut self, user: UserId, id: u64) -> Option<Queued> {
        let queue = &mut self.boxes[user.index()];
        let at = queue.partition_point(|q| q.id() < id);
        if queue.get(at).is_none_or(|q| q.id() != id) {
            return None;
        }
        let entry = queue.remove(at)?;
        let len = queue.len();
        Self::counted_out(
            &mut self.senders[user.index()],
            &entry.msg.from,
            len,
            self.count_at,
        );
        Some(entry)
    }

    /// Forgets `user`'s messages up to and including `up_to`, handing each live one to `live` (its
    /// sender may be owed a receipt); whether any durable one was forgotten (the store must hear of it).
    pub(crate) fn ack(&mut self, user: UserId, up_to: u64, mut live: impl FnMut(Queued)) -> bool {
        let queue = &mut self.boxes[user.index()];
        let senders = &mut self.senders[user.index()];
        let mut durable = false;
        while queue.front().is_some_and(|q| q.id() <= up_to) {
            let Some(q) = queue.pop_front() else { break };
            Self::counted_out(senders, &q.msg.from, queue.len(), self.count_at);
            if q.durable {
                durable = true;
            } else {
                live(q);
            }
        }
        durable
    }

    /// Takes out the live entries up to and including `up_to` (sent to a client that turned out not to
    /// acknowledge: delivered now), handing each to `delivered`. Durable ones stay until acknowledged.
    pub(crate) fn take_live_up_to(
        &mut self,
        user: UserId,
        up_to: u64,
        mut delivered: impl FnMut(Queued),
    ) {
        let queue = &mut self.boxes[user.index()];
        let senders = &mut self.senders[user.index()];
        let end = queue.partition_point(|q| q.id() <= up_to);
        if queue.iter().take(end).all(|q| q.durable) {
            return;
        }
        let mut kept = VecDeque::with_capacity(queue.len());
        let mut len = queue.len();
        for (i, q) in std::mem::take(queue).into_iter().enumerate() {
            if i < end && !q.durable {
                len -= 1;
                Self::counted_out(senders, &q.msg.from, len, self.count_at);
                delivered(q);
            } else {
                kept.push_back(q);
            }
        }
        *queue = kept;
    }

    /// Makes every live entry of `user`'s queue durable (the session ended before the client
    /// acknowledged them), handing each to `stored` to be persisted and its sender told.
    pub(crate) fn make_durable(&mut self, user: UserId, mut stored: impl FnMut(&Queued)) {
        for q in self.boxes[user.index()].iter_mut().filter(|q| !q.durable) {
            q.durable = true;
            stored(q);
            q.reply_to = None;
        }
    }

    /// Drops every message from `sender` queued for `user`, live or durable (the rest keep their
    /// order): whether there was any.
    pub(crate) fn discard_from(&mut self, user: UserId, sender: &str) -> bool {
        let before = self.boxes[user.index()].len();
        self.boxes[user.index()].retain(|q| &*q.msg.from != sender);
        self.senders[user.index()].remove(sender);
        self.boxes[user.index()].len() != before
    }

    /// The id the next message would get after a restart now: past every id handed out and every block
    /// reserved.
    pub(crate) fn durable_next_id(&self) -> u64 {
        self.next_id.max(self.reserved)
    }

    /// Raises the next id to at least `id`.
    pub(crate) fn reserve(&mut self, id: u64) {
        self.next_id = self.next_id.max(id);
    }

    /// An account is removed: everything waiting for it goes.
    pub(crate) fn clear(&mut self, user: UserId) {
        self.boxes[user.index()].clear();
        self.senders[user.index()].clear();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::time::Timestamp;

    fn entry(id: u64, from: &str, durable: bool) -> Queued {
        Queued {
            msg: StoredMsg {
                id,
                from: Name::from(from),
                group: None,
                sent_at: Timestamp(id),
                text: Arc::from("t"),
            },
            durable,
            reply_to: None,
        }
    }

    fn ids(m: &Mailboxes, u: UserId) -> Vec<(u64, bool)> {
        m.boxes[u.index()]
            .iter()
            .map(|q| (q.id(), q.durable))
            .collect()
    }

    #[test]
    fn acks_take_a_prefix_and_say_whether_the_store_must_hear() {
        let mut m = Mailboxes::default();
        m.add_user();
        let u = UserId(0);
        for (durable, from) in [(true, "a"), (false, "b"), (false, "a"), (true, "b")] {
            let id = m.take_id(&mut Vec::new());
            m.push(u, entry(id, from, durable));
        }
        let mut live = Vec::new();
        assert!(!m.ack(u, 0, |q| live.push(q.id())));
        assert!(m.ack(u, 2, |q| live.push(q.id())));
        assert_eq!(live, vec![2]);
        assert_eq!(ids(&m, u), vec![(3, false), (4, true)]);
        assert_eq!((m.count_from(u, "a"), m.count_from(u, "b")), (1, 1));
        m.make_durable(u, |q| live.push(q.id()));
        assert_eq!(live, vec![2, 3]);
        assert_eq!(ids(&m, u), vec![(3, true), (4, true)]);
    }

    #[test]
    fn live_entries_leave_one_by_one_or_all_up_to_a_point() {
        let mut m = Mailboxes::default();
        m.add_user();
        let u = UserId(0);
        for (id, durable) in [(2, true), (5, false), (7, true), (9, false), (11, false)] {
            m.push(u, entry(id, "a", durable));
        }
        assert_eq!(m.next_after(u, 5).map(Queued::id), Some(7));
        assert!(m.has_after(u, 10) && !m.has_after(u, 11));
        assert_eq!(m.take(u, 7).map(|q| q.id()), Some(7));
        assert!(m.take(u, 8).is_none());
        let mut gone = Vec::new();
        m.take_live_up_to(u, 9, |q| gone.push(q.id()));
        assert_eq!(gone, vec![5, 9]);
        assert_eq!(ids(&m, u), vec![(2, true), (11, false)]);
        assert_eq!(m.count_from(u, "a"), 2);
        m.discard_from(u, "a");
        assert_eq!((m.len(u), m.count_from(u, "a")), (0, 0));
    }

    /// What one step does to a queue, for the counting property below.
    #[derive(Clone, Debug)]
    enum Step {
        Push(u8, bool),
        Restore(u64, u8),
        Ack(u64),
        Take(u64),
        TakeLive(u64),
        Discard(u8),
        CountAt(usize),
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            8 => (0u8..4, any::<bool>()).prop_map(|(s, d)| Step::Push(s, d)),
            1 => (0u64..40, 0u8..4).prop_map(|(id, s)| Step::Restore(id, s)),
            2 => (0u64..80).prop_map(Step::Ack),
            1 => (0u64..80).prop_map(Step::Take),
            1 => (0u64..80).prop_map(Step::TakeLive),
            1 => (0u8..4).prop_map(Step::Discard),
            1 => (0usize..12).prop_map(Step::CountAt),
        ]
    }

    proptest::proptest! {
        /// Whether a queue's senders are counted or not (short queues are not), every count is what
        /// looking through the queue gives.
        #[test]
        fn a_sender_s_count_is_what_the_queue_holds(
            count_at in 0usize..12,
            steps in proptest::collection::vec(step(), 0..120),
        ) {
            let mut m = Mailboxes::default();
            m.count_senders_from(count_at);
            m.add_user();
            let u = UserId(0);
            let names = ["a", "b", "c", "d"];
            for step in steps {
                match step {
                    Step::Push(s, durable) => {
                        let id = m.take_id(&mut Vec::new());
                        m.push(u, entry(id, names[s as usize], durable));
                    }
                    Step::Restore(id, s) => m.restore(u, entry(id, names[s as usize], true).msg),
                    Step::Ack(id) => {
                        m.ack(u, id, |_| {});
                    }
                    Step::Take(id) => {
                        m.take(u, id);
                    }
                    Step::TakeLive(id) => m.take_live_up_to(u, id, |_| {}),
                    Step::Discard(s) => {
                        m.discard_from(u, names[s as usize]);
                    }
                    Step::CountAt(n) => m.count_senders_from(n),
                }
                for name in names {
                    let seen = m.boxes[0].iter().filter(|q| &*q.msg.from == name).count();
                    proptest::prop_assert_eq!(m.count_from(u, name), seen);
                }
            }
        }
    }

    #[test]
    fn a_short_queue_s_senders_are_not_counted() {
        let mut m = Mailboxes::default();
        m.count_senders_from(4);
        m.add_user();
        let u = UserId(0);
        for _ in 0..3 {
            let id = m.take_id(&mut Vec::new());
            m.push(u, entry(id, "a", false));
        }
        assert!(m.senders[0].is_empty(), "three are fewer than four");
        let id = m.take_id(&mut Vec::new());
        m.push(u, entry(id, "b", false));
        assert_eq!(m.senders[0].len(), 2, "counted from the fourth on");
        m.ack(u, 2, |_| {});
        assert_eq!(m.senders[0].len(), 2, "until half as long");
        m.ack(u, 3, |_| {});
        assert!(m.senders[0].is_empty());
        assert_eq!((m.count_from(u, "a"), m.count_from(u, "b")), (0, 1));
    }

    #[test]
    fn ids_are_reserved_a_block_at_a_time_before_they_are_used() {
        let mut m = Mailboxes::default();
        let mut out = Vec::new();
        let first = m.take_id(&mut out);
        assert_eq!(
            out,
            vec![Effect::Persist(Record::MessageIdsReserved {
                below: first + ID_BLOCK
            })]
        );
        out.clear();
        for _ in 1..ID_BLOCK {
            m.take_id(&mut out);
        }
        assert!(out.is_empty(), "one record per block");
        assert_eq!(m.durable_next_id(), first + ID_BLOCK);
        m.take_id(&mut out);
        assert_eq!(out.len(), 1);
        // A restored core starts above every reserved block.
        let mut restored = Mailboxes::default();
        restored.reserve(first + 2 * ID_BLOCK);
        assert_eq!(restored.take_id(&mut out), first + 2 * ID_BLOCK);
    }

    #[test]
    fn a_restore_keeps_the_queue_in_id_order() {
        let mut m = Mailboxes::default();
        m.add_user();
        let u = UserId(0);
        for id in [4, 2, 9, 4] {
            m.restore(u, entry(id, "a", true).msg);
        }
        assert_eq!(ids(&m, u), vec![(2, true), (4, true), (9, true)]);
        assert_eq!(m.durable_next_id(), 10);
    }
}
