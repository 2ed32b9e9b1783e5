//! The sessions that ended lately, for `whowas`: the name each had, whether it was an account's,
//! when it ended and what its client said of itself. Bounded: the oldest goes when
//! [`KEPT`] are held, so a server that sees many guests come and go holds no more.
//!
//! It lives in memory, as IRC servers' WHOWAS history does, and in a cluster node's snapshot (every
//! copy of the core builds the same from the same log). What the store keeps of it is each account's
//! last logout: after a restart, those are what it begins with (their user and real names are the
//! account's name; guests leave nothing stored).

use std::collections::VecDeque;

use crate::protocol::Name;
use crate::server::connections::about::About;
use crate::time::Timestamp;

/// How many ended sessions are kept.
pub(crate) const KEPT: usize = 256;

/// One ended session.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Departure {
    /// The name the session had.
    pub(crate) name: Name,
    /// Whether it was an account's (not a guest's).
    pub(crate) account: bool,
    /// When it ended.
    pub(crate) at: Timestamp,
    /// What its client said of itself (its name as both, if nothing).
    pub(crate) about: About,
}

/// The last [`KEPT`] sessions that ended, oldest first.
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct Departed {
    list: VecDeque<Departure>,
}

impl Departed {
    /// A session ended: remembered, and the oldest forgotten past [`KEPT`].
    pub(crate) fn push(&mut self, departure: Departure) {
        if self.list.len() == KEPT {
            self.list.pop_front();
        }
        self.list.push_back(departure);
    }

    /// A session that ended before a restart, as the store recalls it (an account's last one): put
    /// in its place by time, so that the newest [`KEPT`] are the ones kept.
    pub(crate) fn restored(&mut self, departure: Departure) {
        let at = self.list.partition_point(|d| d.at <= departure.at);
        if self.list.len() == KEPT {
            if at == 0 {
                return;
            }
            self.list.pop_front();
            self.list.insert(at - 1, departure);
        } else {
            self.list.insert(at, departure);
        }
    }

    /// The sessions named `name` that ended, newest first.
    pub(crate) fn of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Departure> + 'a {
        self.list.iter().rev().filter(move |d| &*d.name == name)
    }

    /// An account is renamed or removed: its past sessions go with its old name, so that no one
    /// else who takes the name later is shown as having been it.
    pub(crate) fn forget(&mut self, name: &str) {
        self.list.retain(|d| &*d.name != name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn departure(name: &str, at: u64) -> Departure {
        Departure {
            name: Name::from(name),
            account: false,
            at: Timestamp::from_millis(at),
            about: About::of_name(&Name::from(name)),
        }
    }

    #[test]
    fn it_keeps_the_last_kept_sessions_newest_first_and_forgets_a_name() {
        let mut d = Departed::default();
        for i in 0..(KEPT as u64 + 10) {
            d.push(departure(if i % 2 == 0 { "zed" } else { "amy" }, i));
        }
        assert_eq!(d.list.len(), KEPT);
        let zed: Vec<u64> = d.of("zed").map(|x| x.at.as_millis()).collect();
        assert_eq!(zed.first(), Some(&(KEPT as u64 + 8)));
        assert!(zed.windows(2).all(|w| w[0] > w[1]));
        // The oldest went first: the first ten are gone.
        assert!(d.list.iter().all(|x| x.at.as_millis() >= 10));
        // A restored one goes in its place by time; one older than all kept is not kept.
        d.restored(departure("bob", 20));
        assert_eq!(d.list.len(), KEPT);
        assert!(
            d.list
                .iter()
                .zip(d.list.iter().skip(1))
                .all(|(a, b)| a.at <= b.at)
        );
        assert_eq!(d.of("bob").count(), 1);
        d.restored(departure("old", 0));
        assert_eq!(d.of("old").count(), 0);
        d.forget("zed");
        assert_eq!(d.of("zed").count(), 0);
        assert_eq!(d.of("amy").count(), KEPT / 2);
    }
}
