//! When the core's output may leave: the rule between [`ServerState::handle`](super::ServerState::handle)
//! and the sockets, as a sans-IO value.
//!
//! The core says *what* happens; this says *when* it may be seen. A reply that tells a user something was
//! stored (`STORED`, `BLOCKED`, `REGISTERED`, a lockout) must not leave before the record it vouches for is
//! durable, and no connection's lines may ever overtake each other. Every driver goes through it: the
//! smol shell (with a real commit thread), the test harness and the simulator (with commits that complete
//! when they say so, or never, when they crash the server first). So the rule the simulator checks is the
//! rule the server runs.
//!
//! # The contract
//!
//! The driver handles its inputs in **batches** (whatever arrived together). For each batch:
//!
//! ```text
//! for event in batch { core.handle(event, now, &mut fx); for e in fx.drain(..) { outbox.push(e) } }
//! core.handle_timeout(now, &mut fx); for e in fx.drain(..) { outbox.push(e) }
//! outbox.end_batch(now);
//! while let Some(c) = outbox.poll_commit() { hand c.records to the committer, numbered c.seq }
//! while let Some(lines) = outbox.poll_ready() { write lines, in order }
//! ```
//!
//! and whenever the committer reports that every commit up to `seq` is durable, `outbox.committed(seq)`
//! followed by `poll_ready`. It wakes at the earliest of [`Outbox::poll_timeout`] (lazy records falling
//! due), when it calls [`Outbox::handle_timeout`], and the core's own
//! [`poll_timeout`](super::ServerState::poll_timeout); it stops taking input while
//! [`Outbox::must_wait`] says enough batches wait for the disk.
//!
//! # The rules
//!
//! - **Records are committed in the order the core made them**, each commit holding everything not yet
//!   committed.
//! - A batch whose records include one a reply acknowledges ([`Record::acknowledged`]) is committed at
//!   once, and its lines wait for that commit.
//! - Records no reply acknowledges (login history, delivery acks) are **lazy**: they do not force a disk
//!   sync of their own. They go out with the next acknowledged record, or [`OutboxConfig::lazy_delay_ms`]
//!   after the first of them, or once [`OutboxConfig::lazy_max`] have gathered. A crash may lose them:
//!   at most that much history, and acks whose messages are then delivered again (the client recognises
//!   a redelivery by its id).
//! - Batches are released **strictly in order**: a batch with nothing to wait for still waits behind an
//!   earlier one that does. So no line ever overtakes another on any connection.
//! - At most [`OutboxConfig::commit_depth`] batches wait; beyond that the driver must take no input until
//!   the oldest is durable, which bounds the memory they hold.

use std::collections::VecDeque;

use super::event::Effect;
use super::record::Record;
use crate::time::Timestamp;

/// The numbers of the release rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxConfig {
    /// Batches that may be handled but not yet released because they wait for a commit. With 1 the
    /// driver waits for each commit before taking the next batch; with 2 it prepares the next batch while
    /// the previous one commits.
    pub commit_depth: usize,
    /// How long lazy records may wait for a commit: what a crash can cost of login history.
    pub lazy_delay_ms: u64,
    /// Lazy records beyond which they are committed at once (bounds what a crash can lose, and memory).
    pub lazy_max: usize,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            commit_depth: 2,
            lazy_delay_ms: 100,
            lazy_max: 8192,
        }
    }
}

/// Records to make durable, in this order, as commit number `seq`. Commits are numbered from 1 upwards
/// and must be reported durable in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The commit's number.
    pub seq: u64,
    /// What to make durable, in order.
    pub records: Vec<Record>,
}

/// A handled batch whose lines wait.
#[derive(Debug)]
struct Pending {
    /// The commit it waits for, if any (if none, it only waits behind earlier batches).
    commit: Option<u64>,
    sends: Vec<Effect>,
}

/// The release rule's state. See the [module documentation](self).
#[derive(Debug)]
pub struct Outbox {
    cfg: OutboxConfig,
    /// Records of the batch being handled.
    records: Vec<Record>,
    /// Whether one of them acknowledges something to a user.
    acknowledged: bool,
    /// Sends and closes of the batch being handled.
    sends: Vec<Effect>,
    /// Lazy records not yet in a commit.
    lazy: Vec<Record>,
    /// When the oldest of them was made.
    lazy_since: Option<Timestamp>,
    /// How many lazy records the last run of them held (until a commit took them): the room the
    /// next run is given when it begins. A busy server gathers a thousand or more logins' history
    /// in one, and grown from nothing by doubling, every record was copied over again at each
    /// step. (Taken only when a lazy record comes, and handed on with the commit: an idle server
    /// keeps none of it.)
    lazy_room: usize,
    /// Commits decided, for the driver to hand over.
    commits: VecDeque<Commit>,
    /// Handled batches not yet released, oldest first.
    pending: VecDeque<Pending>,
    /// Batches released, for the driver to write.
    ready: VecDeque<Vec<Effect>>,
    /// Effects that act at once (see [`Effect::is_control`]), for the driver.
    controls: VecDeque<Effect>,
    /// The number of the last commit decided.
    submitted: u64,
    /// Every commit up to this number is durable.
    committed: u64,
    /// Emptied batches the driver gave back ([`Outbox::recycle`]), to be the next batches (a few,
    /// for the batches waiting for their commit): a batch grown from nothing every turn copied its
    /// effects over at every doubling.
    spares: Vec<Vec<Effect>>,
}

impl Outbox {
    /// An outbox with nothing pending, its first commit to be number 1.
    pub fn new(cfg: OutboxConfig) -> Self {
        Outbox {
            cfg,
            records: Vec::new(),
            acknowledged: false,
            sends: Vec::new(),
            lazy: Vec::new(),
            lazy_since: None,
            lazy_room: 0,
            commits: VecDeque::new(),
            pending: VecDeque::new(),
            ready: VecDeque::new(),
            controls: VecDeque::new(),
            submitted: 0,
            committed: 0,
            spares: Vec::new(),
        }
    }

    /// A released batch the driver has carried out, given back emptied, so that a later batch
    /// starts with its room (as many are kept as batches may wait for their commit, and one more).
    pub fn recycle(&mut self, mut spent: Vec<Effect>) {
        if spent.capacity() > 0 && self.spares.len() <= self.cfg.commit_depth {
            spent.clear();
            self.spares.push(spent);
        }
    }

    /// Gives back the room kept for batches (after a burst, gone idle).
    pub fn shrink(&mut self) {
        self.spares = Vec::new();
    }

    /// The numbers it was made with.
    pub fn config(&self) -> &OutboxConfig {
        &self.cfg
    }

    /// Takes one effect of the batch being handled: records and lines wait for [`Self::end_batch`],
    /// controls are for [`Self::poll_control`] at once.
    pub fn push(&mut self, effect: Effect) {
        match effect {
            Effect::Persist(record) => self.push_record(record),
            control if control.is_control() => self.controls.push_back(control),
            send_or_close => self.sends.push(send_or_close),
        }
    }

    /// Takes a line (`Effect::Send` or `Effect::SendMany`) or a close of the batch being handled:
    /// what [`Self::push`] does with one, without asking what it is.
    pub fn push_send(&mut self, send: Effect) {
        debug_assert!(matches!(
            send,
            Effect::Send { .. } | Effect::SendMany { .. } | Effect::Close { .. }
        ));
        self.sends.push(send);
    }

    /// Takes a record of the batch being handled (an `Effect::Persist`'s): what [`Self::push`]
    /// does with one.
    pub fn push_record(&mut self, record: Record) {
        self.acknowledged |= record.acknowledged();
        self.records.push(record);
    }

    /// Takes the lines of `sends`, all of them `Effect::Send` or `Effect::SendMany`, in order, as
    /// [`Self::push_send`] takes them one by one (leaving `sends` empty).
    pub fn append_sends(&mut self, sends: &mut Vec<Effect>) {
        debug_assert!(sends.iter().all(Effect::is_line));
        // (Copied in one block; `sends` keeps its room for the next input's effects.)
        self.sends.append(sends);
    }

    /// The next effect to carry out at once, without waiting for the batch's commit: a password job,
    /// pausing or resuming a reader, watching a queue drain. These say nothing about what is stored.
    pub fn poll_control(&mut self) -> Option<Effect> {
        self.controls.pop_front()
    }

    /// Closes the batch being handled: decides its commit, and whether its lines are ready now or wait.
    pub fn end_batch(&mut self, now: Timestamp) {
        let commit = if self.records.is_empty() {
            None
        } else if self.acknowledged {
            // Committed now, behind the lazy records (which keeps the order of all records).
            self.lazy_room = self.lazy.len();
            let mut records = std::mem::take(&mut self.lazy);
            records.append(&mut self.records);
            self.lazy_since = None;
            Some(self.submit(records))
        } else {
            if self.lazy.is_empty() {
                self.lazy_since = Some(now);
                self.lazy.reserve(self.lazy_room.max(self.records.len()));
            }
            self.lazy.append(&mut self.records);
            if self.lazy.len() >= self.cfg.lazy_max {
                self.submit_lazy();
            }
            None
        };
        self.acknowledged = false;
        // A batch without lines keeps its room for the next one.
        let sends = if self.sends.is_empty() {
            Vec::new()
        } else {
            std::mem::replace(&mut self.sends, self.spares.pop().unwrap_or_default())
        };
        if commit.is_none() && self.pending.is_empty() {
            if !sends.is_empty() {
                self.ready.push_back(sends);
            }
        } else if commit.is_some() || !sends.is_empty() {
            self.pending.push_back(Pending { commit, sends });
        }
    }

    /// The next commit to hand to the committer.
    pub fn poll_commit(&mut self) -> Option<Commit> {
        self.commits.pop_front()
    }

    /// The committer says every commit up to `seq` is durable: the batches waiting for them are released,
    /// in order, up to the first that still waits.
    pub fn committed(&mut self, seq: u64) {
        self.committed = self.committed.max(seq);
        while let Some(p) = self.pending.front() {
            if p.commit.is_some_and(|seq| seq > self.committed) {
                break;
            }
            let p = self.pending.pop_front().expect("front exists");
            if !p.sends.is_empty() {
                self.ready.push_back(p.sends);
            }
        }
    }

    /// The next released batch of lines and closes, in the order they must be carried out.
    pub fn poll_ready(&mut self) -> Option<Vec<Effect>> {
        self.ready.pop_front()
    }

    /// Whether enough batches wait for the disk that the driver must take no input until one is durable.
    pub fn must_wait(&self) -> bool {
        self.pending.len() >= self.cfg.commit_depth.max(1)
    }

    /// Whether commits were handed over that are not reported durable yet.
    pub fn commits_in_flight(&self) -> bool {
        self.committed < self.submitted || !self.commits.is_empty()
    }

    /// When the driver must call [`Self::handle_timeout`]: the lazy records falling due.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.lazy_due()
    }

    /// Commits the lazy records if they are due at `now`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.lazy_due().is_some_and(|due| due <= now) {
            self.submit_lazy();
        }
    }

    /// Commits whatever is lazy now, due or not (before shutting down).
    pub fn flush_lazy(&mut self) {
        self.submit_lazy();
    }

    /// Records made since the last commit was decided, in order: what a crash right now would lose even
    /// if every commit in flight completed.
    pub fn uncommitted(&self) -> impl Iterator<Item = &Record> {
        self.lazy.iter().chain(&self.records)
    }

    /// Forgets every batch still waiting (their lines are never sent): what a failed commit or a
    /// shutdown after one leaves.
    pub fn abandon_pending(&mut self) {
        self.pending.clear();
    }

    /// Takes the records and lines of the batch being handled as they are, outside the release rule: the
    /// shutdown's own goodbyes, which claim nothing was stored and go out whether or not the last commit
    /// succeeds.
    pub fn take_batch(&mut self) -> (Vec<Record>, Vec<Effect>) {
        self.acknowledged = false;
        (
            std::mem::take(&mut self.records),
            std::mem::take(&mut self.sends),
        )
    }

    /// Numbers a commit of `records` outside the batches (the shutdown's final one).
    pub fn submit_now(&mut self, records: Vec<Record>) -> u64 {
        self.submit(records)
    }

    fn lazy_due(&self) -> Option<Timestamp> {
        self.lazy_since
            .map(|since| since.plus_millis(self.cfg.lazy_delay_ms))
    }

    fn submit(&mut self, records: Vec<Record>) -> u64 {
        self.submitted += 1;
        self.commits.push_back(Commit {
            seq: self.submitted,
            records,
        });
        self.submitted
    }

    fn submit_lazy(&mut self) {
        self.lazy_since = None;
        if !self.lazy.is_empty() {
            let records = std::mem::take(&mut self.lazy);
            self.lazy_room = records.len().min(self.cfg.lazy_max);
            self.submit(records);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ServerMsg;
    use crate::server::ConnId;

    fn send(n: u64) -> Effect {
        Effect::Send {
            to: ConnId(n),
            msg: ServerMsg::Welcome { user: "x".into() },
        }
    }

    fn stored(id: u64) -> Effect {
        Effect::Persist(Record::MessageStored {
            group: None,
            id,
            to: "bob".into(),
            from: "alice".into(),
            sent_at: Timestamp(0),
            text: "hi".into(),
        })
    }

    fn login(at: u64) -> Effect {
        Effect::Persist(Record::LoggedIn {
            user: "bob".into(),
            at: Timestamp(at),
        })
    }

    fn batch(o: &mut Outbox, now: u64, effects: Vec<Effect>) {
        for e in effects {
            o.push(e);
        }
        o.end_batch(Timestamp(now));
    }

    #[test]
    fn lines_with_nothing_to_wait_for_are_ready_at_once() {
        let mut o = Outbox::new(OutboxConfig::default());
        batch(&mut o, 0, vec![send(1), send(2)]);
        assert_eq!(o.poll_ready(), Some(vec![send(1), send(2)]));
        assert_eq!(o.poll_commit(), None);
        batch(&mut o, 0, vec![]);
        assert_eq!(o.poll_ready(), None, "an empty batch releases nothing");
    }

    #[test]
    fn an_acknowledged_record_holds_its_batch_and_every_later_one() {
        let mut o = Outbox::new(OutboxConfig::default());
        batch(&mut o, 0, vec![stored(1), send(1)]);
        batch(&mut o, 1, vec![send(2)]);
        assert_eq!(o.poll_ready(), None);
        assert!(o.must_wait(), "two batches wait with a depth of 2");
        let c = o.poll_commit().expect("committed at once");
        assert_eq!(c.seq, 1);
        o.committed(1);
        assert_eq!(o.poll_ready(), Some(vec![send(1)]));
        assert_eq!(o.poll_ready(), Some(vec![send(2)]));
        assert!(!o.must_wait());
    }

    #[test]
    fn lazy_records_wait_for_the_next_acknowledged_one_and_keep_their_order() {
        let mut o = Outbox::new(OutboxConfig::default());
        batch(&mut o, 0, vec![login(0), send(1)]);
        assert_eq!(
            o.poll_ready(),
            Some(vec![send(1)]),
            "lazy records hold nothing"
        );
        assert_eq!(o.poll_commit(), None);
        assert_eq!(o.uncommitted().count(), 1);
        batch(&mut o, 5, vec![stored(1)]);
        let c = o.poll_commit().unwrap();
        assert_eq!(c.records.len(), 2);
        assert!(matches!(c.records[0], Record::LoggedIn { .. }));
        assert_eq!(o.poll_timeout(), None, "nothing lazy is left");
    }

    #[test]
    fn lazy_records_fall_due_after_the_delay_or_past_the_bound() {
        let cfg = OutboxConfig {
            lazy_max: 3,
            ..OutboxConfig::default()
        };
        let mut o = Outbox::new(cfg);
        batch(&mut o, 1000, vec![login(1000)]);
        batch(&mut o, 1050, vec![login(1050)]);
        assert_eq!(
            o.poll_timeout(),
            Some(Timestamp(1100)),
            "due from the oldest"
        );
        o.handle_timeout(Timestamp(1099));
        assert_eq!(o.poll_commit(), None);
        o.handle_timeout(Timestamp(1100));
        assert_eq!(o.poll_commit().unwrap().records.len(), 2);
        batch(&mut o, 2000, vec![login(1), login(2), login(3)]);
        assert_eq!(o.poll_commit().unwrap().records.len(), 3, "at the bound");
    }

    #[test]
    fn a_run_of_lazy_records_begins_with_the_room_the_last_one_took() {
        let mut o = Outbox::new(OutboxConfig::default());
        for at in 0..40 {
            batch(&mut o, at, vec![login(at)]);
        }
        o.handle_timeout(Timestamp(1000));
        assert_eq!(o.poll_commit().unwrap().records.len(), 40);
        batch(&mut o, 2000, vec![login(2000)]);
        assert!(o.lazy.capacity() >= 40, "room for the 40 the last run took");
        // A run an acknowledged commit takes early sets the room as it was: a few records.
        batch(&mut o, 2001, vec![stored(1)]);
        assert_eq!(o.poll_commit().unwrap().records.len(), 2);
        batch(&mut o, 2002, vec![login(2002)]);
        assert!(o.lazy.capacity() < 40, "no longer the busy run's room");
        assert_eq!(o.lazy.len(), 1);
    }

    #[test]
    fn a_report_covering_several_commits_releases_them_all_in_order() {
        let mut o = Outbox::new(OutboxConfig {
            commit_depth: 8,
            ..OutboxConfig::default()
        });
        batch(&mut o, 0, vec![stored(1), send(1)]);
        batch(&mut o, 0, vec![stored(2), send(2)]);
        batch(&mut o, 0, vec![send(3)]);
        assert!(o.commits_in_flight());
        o.committed(1);
        assert_eq!(o.poll_ready(), Some(vec![send(1)]));
        assert_eq!(
            o.poll_ready(),
            None,
            "batch 2 waits for commit 2, batch 3 behind it"
        );
        o.committed(2);
        assert_eq!(o.poll_ready(), Some(vec![send(2)]));
        assert_eq!(o.poll_ready(), Some(vec![send(3)]));
    }
}
