//! What the others were last told of each user's presence, and when they may be told again.
//!
//! Every login and logout is announced to everyone online, so a user who logs in and out in a loop
//! (a flapping network, or someone doing it on purpose) would have everybody told "online, offline,
//! online..." at the rate of the loop. Announcements of one user are therefore rationed: a burst
//! ([`PRESENCE_BURST`](crate::server::config::PRESENCE_BURST)), then at most one every
//! `presence_interval_secs`. A change that comes in between is not lost but held: when the interval is
//! over, the user's presence *as it then is* is told, if it differs from what was told last; so the
//! others are told less often, and what they were told last is always true again by then.
//!
//! This part only decides; the state announces (through `Presence`) and keeps the deadline
//! (`TimerId::Presence`).

use crate::server::event::UserId;
use crate::server::rate::{Gcra, Rate};
use crate::time::Timestamp;

#[derive(serde::Serialize, serde::Deserialize, Debug, Default, Clone, Copy)]
struct Entry {
    /// What the others were last told: online or not.
    told_online: bool,
    rate: Gcra,
    /// A change is held for the deadline.
    held: bool,
}

/// What to do about a change of a user's presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tell {
    /// Announce it now.
    Now,
    /// Hold it: look again at that time (set the deadline).
    At(Timestamp),
    /// Nothing now: a deadline is already set, or the others already believe this.
    Nothing,
}

/// Per user, what was told and when more may be. See the [module documentation](self).
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct Announced {
    users: Vec<Entry>,
}

impl Announced {
    /// Makes room for a new account (never announced: offline).
    pub(crate) fn add_user(&mut self) {
        self.users.push(Entry::default());
    }

    /// `user` is now `online` (or not): whether to tell the others now, under `rate` (`None`: every
    /// change at once).
    pub(crate) fn changed(
        &mut self,
        user: UserId,
        online: bool,
        rate: Option<Rate>,
        now: Timestamp,
    ) -> Tell {
        let e = &mut self.users[user.index()];
        let Some(rate) = rate else {
            e.told_online = online;
            return Tell::Now;
        };
        if e.held {
            return Tell::Nothing;
        }
        match e.rate.take(rate, now) {
            Ok(()) => {
                e.told_online = online;
                Tell::Now
            }
            Err(at) => {
                e.held = true;
                Tell::At(at)
            }
        }
    }

    /// The deadline of a held change came, with `user` now `online` (or not): whether to tell the
    /// others now (it differs from what they were told), or to look again later.
    pub(crate) fn due(
        &mut self,
        user: UserId,
        online: bool,
        rate: Option<Rate>,
        now: Timestamp,
    ) -> Tell {
        let e = &mut self.users[user.index()];
        if !e.held {
            return Tell::Nothing;
        }
        if e.told_online == online {
            e.held = false;
            return Tell::Nothing;
        }
        if let Some(rate) = rate
            && let Err(at) = e.rate.take(rate, now)
        {
            return Tell::At(at);
        }
        e.held = false;
        e.told_online = online;
        Tell::Now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_told_then_changes_wait_and_only_the_last_state_is_told() {
        let rate = Rate::every_secs(10, 2);
        let (mut a, u) = (Announced::default(), UserId(0));
        a.add_user();
        let t = Timestamp::from_millis(100_000);
        assert_eq!(a.changed(u, true, rate, t), Tell::Now);
        assert_eq!(a.changed(u, false, rate, t), Tell::Now);
        let at = t.plus_secs(10);
        assert_eq!(a.changed(u, true, rate, t), Tell::At(at));
        assert_eq!(a.changed(u, false, rate, t), Tell::Nothing, "held");
        assert_eq!(a.changed(u, true, rate, t), Tell::Nothing, "held");
        // Online again when the deadline comes, and told offline last: told online.
        assert_eq!(a.due(u, true, rate, at), Tell::Now);
        assert_eq!(a.due(u, true, rate, at), Tell::Nothing, "once");
    }

    #[test]
    fn a_held_round_trip_that_ends_where_it_began_is_not_told() {
        let rate = Rate::every_secs(10, 1);
        let (mut a, u) = (Announced::default(), UserId(0));
        a.add_user();
        let t = Timestamp::from_millis(100_000);
        assert_eq!(a.changed(u, true, rate, t), Tell::Now);
        assert!(matches!(a.changed(u, false, rate, t), Tell::At(_)));
        let _ = a.changed(u, true, rate, t);
        assert_eq!(a.due(u, true, rate, t.plus_secs(10)), Tell::Nothing);
        // And the next change is told at once if the rate allows.
        assert_eq!(a.changed(u, false, rate, t.plus_secs(20)), Tell::Now);
    }

    #[test]
    fn without_a_rate_every_change_is_told() {
        let (mut a, u) = (Announced::default(), UserId(0));
        a.add_user();
        let t = Timestamp::from_millis(0);
        for i in 0..10 {
            assert_eq!(a.changed(u, i % 2 == 0, None, t), Tell::Now);
        }
    }
}
