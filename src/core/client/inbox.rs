//! The messages that came in: each shown once, and acknowledged in batches, only once what was shown
//! is kept.
//!
//! A message that arrives (live or stored) is to be acknowledged: shortly, together with whatever else
//! arrives meanwhile ([`ACK_DELAY_MS`]), and only once what was shown is remembered durably
//! ([`super::Effect::SaveSeen`] comes before the `ack`), so the server forgets nothing the user has not
//! seen and this client shows nothing twice. A live message whose acknowledgement did not reach the
//! server before the session ended comes again, stored, at the next login, with the same id and send
//! time: it is recognised and not shown again.
//!
//! What was shown is a per-id record, not only a high-water mark: in this session, the ids shown
//! ([`ShownIds`]); across sessions, the newest shown (the state file, [`Seen`]), below which an
//! encrypted message is still handed to the device, whose own per-id record (`e2e::dedup`) tells a
//! redelivery from a message held back. So a message the server delays past later ones is shown,
//! marked [`LATE`](super::marks::LATE), never taken for a redelivery and acknowledged unseen.

use std::collections::{BTreeMap, BTreeSet};

use super::event::Effect;
use super::seen::Seen;
use super::timer::Timer;
use crate::protocol::{Command, Name};
use crate::time::Timestamp;
use crate::timers::Timers;

/// How long after showing a message the client acknowledges it, together with whatever else came
/// meanwhile: lines that arrive together (a mailbox at login, a busy conversation) cost one `ack`.
pub(super) const ACK_DELAY_MS: u64 = 50;

/// The inbox part. See the [module documentation](self).
#[derive(Debug)]
pub(super) struct Inbox {
    /// Per user, the newest offline message shown from this server (what the state file keeps).
    seen: BTreeMap<Name, Seen>,
    /// Per user, the newest message shown before this process logged them in: what is below it was
    /// shown in an earlier session.
    floor: BTreeMap<Name, Option<Seen>>,
    /// The user whose entry of `seen` changed since it was last saved (it is saved before each
    /// acknowledgement, and when the connection is lost).
    unsaved: Option<Name>,
    /// The messages shown in this session, by id.
    shown: ShownIds,
    /// The newest message id received on this connection and not acknowledged yet.
    unacked: Option<u64>,
}

impl Inbox {
    /// An inbox that remembers the offline messages already shown from this server (`seen`, per
    /// user, from the state file).
    pub(super) fn new(seen: BTreeMap<Name, Seen>) -> Self {
        Inbox {
            seen,
            floor: BTreeMap::new(),
            unsaved: None,
            shown: ShownIds::default(),
            unacked: None,
        }
    }

    /// What was shown, per user, as the state file is to keep it.
    #[cfg(test)]
    pub(super) fn seen(&self) -> &BTreeMap<Name, Seen> {
        &self.seen
    }

    /// A message (live or stored) arrived for `user` at `now`: whether to show it (`Some(late)`),
    /// which is not if it is a redelivery of one already shown. `for_device` (an encrypted message,
    /// with the device open): one from before this session goes to the device anyway, whose own
    /// record decides. Either way it is to be acknowledged ([`Timer::Ack`]).
    pub(super) fn received(
        &mut self,
        user: &Name,
        id: u64,
        sent_at: Timestamp,
        for_device: bool,
        now: Timestamp,
        timers: &mut Timers<Timer>,
    ) -> Option<bool> {
        if self.unacked.is_none() {
            timers.set(Timer::Ack, now.plus_millis(ACK_DELAY_MS));
        }
        self.unacked = Some(self.unacked.map_or(id, |u| u.max(id)));
        let floor = *self
            .floor
            .entry(user.clone())
            .or_insert_with(|| self.seen.get(user).copied());
        let before_session = floor.is_some_and(|s| s.covers(id, sent_at));
        let late = self.shown.is_late(id) || before_session;
        if self.shown.insert(id, sent_at) || (before_session && !for_device) {
            return None;
        }
        let shown = self.seen.get(user).copied();
        if !shown.is_some_and(|s| s.covers(id, sent_at)) {
            self.seen.insert(user.clone(), Seen { id, sent_at });
            self.unsaved = Some(user.clone());
        }
        Some(late)
    }

    /// Saves what was shown, if that changed, then acknowledges everything received so far with one
    /// line (the server's `ack` is cumulative), when `online`. Not when `allowed` is false (another
    /// device holds the account's keys: what arrived may be for it, and the server keeps it for it
    /// only if this one does not acknowledge it).
    pub(super) fn acknowledge(
        &mut self,
        allowed: bool,
        online: bool,
        timers: &mut Timers<Timer>,
        out: &mut Vec<Effect>,
    ) {
        self.save_seen(out);
        timers.cancel(Timer::Ack);
        if !allowed {
            return;
        }
        if let Some(id) = self.unacked.take()
            && online
        {
            out.push(Effect::Send(Command::Ack { id }.to_line()));
        }
    }

    /// Remembers durably the newest message shown (before any acknowledgement that covers it).
    pub(super) fn save_seen(&mut self, out: &mut Vec<Effect>) {
        if let Some(user) = self.unsaved.take()
            && let Some(&seen) = self.seen.get(&user)
        {
            out.push(Effect::SaveSeen { user, seen });
        }
    }

    /// The connection is gone. What was shown stays shown; its acknowledgement is lost with the
    /// connection, so the server sends it again, and the saved record is what hides it then.
    pub(super) fn connection_lost(&mut self, timers: &mut Timers<Timer>, out: &mut Vec<Effect>) {
        self.save_seen(out);
        self.unacked = None;
        timers.cancel(Timer::Ack);
    }

    /// Logged in on a new connection: nothing received on it yet.
    pub(super) fn logged_in(&mut self) {
        self.unacked = None;
    }
}

/// The ids of messages shown in this session, to tell a message held back by the server (shown,
/// marked late) from a redelivery of one already shown (hidden): a per-id record, as a high-water
/// mark alone would hide the first as if it were the second.
#[derive(Debug, Default)]
struct ShownIds {
    ids: BTreeSet<u64>,
    newest: Option<(u64, Timestamp)>,
}

/// Ids remembered per session; far more than one batch of redeliveries.
const SHOWN_IDS: usize = 4096;

impl ShownIds {
    /// Records message `id` as shown; returns whether it was shown before.
    fn insert(&mut self, id: u64, sent_at: Timestamp) -> bool {
        if !self.ids.insert(id) {
            return true;
        }
        if self.ids.len() > SHOWN_IDS {
            self.ids.pop_first();
        }
        if self.newest.is_none_or(|(n, _)| id > n) {
            self.newest = Some((id, sent_at));
        }
        false
    }

    /// Whether message `id` comes after a message with a later id was shown in this session.
    fn is_late(&self, id: u64) -> bool {
        self.newest.is_some_and(|(n, _)| id < n)
    }
}
