//! Login history: when each user's last session ended, for `whoelsesince`.
//!
//! Kept twice, on purpose: per user, and as an index of `(last logout, user)` in time order, so that
//! `whoelsesince` reads only the span it asks about instead of scanning every account. The two change
//! only together, here.
//!
//! The index is a sorted `Vec` to which a logout is appended, not an ordered set from which the
//! user's previous logout is taken out and into which the new one is put: every session ends with
//! one, and logouts come in time order, so the append is at the end (an ordered set's removal and
//! insertion were two searches and two rebalancings of a tree, a fortieth of a login's whole work).
//! The entry of a user's earlier logout is left where it is, stale: an entry counts only while it is
//! its user's last logout (`last_logout` says which), and the stale ones are dropped in one pass
//! once they are as many as the live ones, so the index stays within twice its live size. What the
//! index stands for, and its stored form, are the live entries alone: a copy restored from a
//! snapshot holds the same users in the same order as the one that lived through the logouts.

use serde::ser::{SerializeSeq, SerializeStruct};

use crate::server::event::UserId;
use crate::time::Timestamp;

#[derive(Debug, Default)]
pub(crate) struct History {
    /// When each user's last session ended; `None` if none did (never logged in, or online since a
    /// restart).
    last_logout: Vec<Option<Timestamp>>,
    /// `(logout, user)`, sorted, without repeats: each user's last logout (live), and earlier ones
    /// not yet dropped (stale).
    logouts: Vec<(Timestamp, UserId)>,
    /// How many entries of `logouts` are stale.
    stale: usize,
    /// Restoring: only `last_logout` is kept up to date, and the index is built once at the end
    /// ([`Self::reindex`]), rather than a logout at a time in the store's order, which is no
    /// time order (each would be put in its place in a `Vec`: quadratic in the accounts).
    deferred: bool,
}

/// Stale entries kept at most beyond as many as there are live ones: a small index is not worth
/// a pass.
const STALE_SLACK: usize = 64;

impl History {
    /// Makes room for a new account.
    pub(crate) fn add_user(&mut self) {
        self.last_logout.push(None);
    }

    pub(crate) fn last_logout(&self, user: UserId) -> Option<Timestamp> {
        self.last_logout[user.index()]
    }

    /// `user`'s last session ended at `at`.
    pub(crate) fn logged_out(&mut self, user: UserId, at: Timestamp) {
        let prev = self.last_logout[user.index()].replace(at);
        if prev == Some(at) || self.deferred {
            // Its entry is there and live already (or the index is built later).
            return;
        }
        if prev.is_some() {
            self.stale += 1;
        }
        let entry = (at, user);
        match self.logouts.last() {
            // The usual case: the latest logout of all.
            Some(last) if *last < entry => self.logouts.push(entry),
            None => self.logouts.push(entry),
            // Out of order (a time from another node of a cluster, a restore): put in its place,
            // or, if a stale entry is that very logout, counted live again.
            Some(_) => match self.logouts.binary_search(&entry) {
                Ok(_) => self.stale -= 1,
                Err(i) => self.logouts.insert(i, entry),
            },
        }
        self.drop_stale_if_many();
    }

    /// The users whose last session ended at or after `cutoff`, each once, in the order of their
    /// logouts.
    pub(crate) fn since(&self, cutoff: Timestamp) -> impl Iterator<Item = UserId> + '_ {
        debug_assert!(
            !self.deferred,
            "the index is read while it is being restored"
        );
        let from = self.logouts.partition_point(|&(at, _)| at < cutoff);
        self.logouts[from..]
            .iter()
            .filter(|&&entry| self.is_live(entry))
            .map(|&(_, user)| user)
    }

    /// An account is removed: it was never online, as far as `whoelsesince` goes.
    pub(crate) fn forget(&mut self, user: UserId) {
        if self.last_logout[user.index()].take().is_some() && !self.deferred {
            self.stale += 1;
            self.drop_stale_if_many();
        }
    }

    /// From now until [`Self::reindex`], only each user's last logout is kept: the index is built
    /// once, at the end (for a restore, whose logouts come in no time order).
    pub(crate) fn defer_index(&mut self) {
        self.deferred = true;
    }

    /// Builds the index from each user's last logout, and keeps it up to date from now on.
    pub(crate) fn reindex(&mut self) {
        self.deferred = false;
        self.logouts.clear();
        self.logouts.extend(
            (0u32..)
                .zip(&self.last_logout)
                .filter_map(|(user, at)| Some(((*at)?, UserId(user)))),
        );
        self.logouts.sort_unstable();
        self.stale = 0;
    }

    /// Whether `entry` is its user's last logout.
    fn is_live(&self, entry: (Timestamp, UserId)) -> bool {
        is_live_in(&self.last_logout, entry)
    }

    /// The live entries, in order.
    fn live(&self) -> impl Iterator<Item = &(Timestamp, UserId)> + '_ {
        self.logouts.iter().filter(|&&entry| self.is_live(entry))
    }

    /// Drops the stale entries once they outnumber the live ones (by more than [`STALE_SLACK`]):
    /// each pass is paid for by as many logouts as it drops.
    fn drop_stale_if_many(&mut self) {
        let live = self.logouts.len().saturating_sub(self.stale);
        if self.stale <= live + STALE_SLACK {
            return;
        }
        let last_logout = &self.last_logout;
        self.logouts.retain(|&entry| is_live_in(last_logout, entry));
        self.stale = 0;
    }
}

/// Whether `(at, user)` is the user's last logout, as `last_logout` has them: an index entry
/// counts only then (for the index's own pass, which cannot borrow the whole history).
fn is_live_in(last_logout: &[Option<Timestamp>], (at, user): (Timestamp, UserId)) -> bool {
    last_logout[user.index()] == Some(at)
}

/// Written as the live entries alone, in the form the history had as an ordered set (`last_logout`,
/// then the `(logout, user)` pairs in order): a snapshot does not depend on when stale entries were
/// last dropped, and snapshots written before read the same.
impl serde::Serialize for History {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The live entries, as a sequence.
        struct Live<'a>(&'a History);
        impl serde::Serialize for Live<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                // (Counted first: a compact form such as postcard's writes the length ahead.)
                let mut seq = serializer.serialize_seq(Some(self.0.live().count()))?;
                for entry in self.0.live() {
                    seq.serialize_element(entry)?;
                }
                seq.end()
            }
        }
        let mut s = serializer.serialize_struct("History", 2)?;
        s.serialize_field("last_logout", &self.last_logout)?;
        s.serialize_field("logouts", &Live(self))?;
        s.end()
    }
}

impl<'de> serde::Deserialize<'de> for History {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// The stored form, as [`History`]'s `Serialize` writes it.
        #[derive(serde::Deserialize)]
        #[serde(rename = "History")]
        struct Stored {
            last_logout: Vec<Option<Timestamp>>,
            #[allow(dead_code)] // (read past: the index is rebuilt from `last_logout`)
            logouts: Vec<(Timestamp, UserId)>,
        }
        // The index is the users' last logouts in order, which `last_logout` holds: built from
        // them, it is what these logouts would have left here, whatever the stored list says.
        let Stored { last_logout, .. } = Stored::deserialize(deserializer)?;
        let mut history = History {
            last_logout,
            ..History::default()
        };
        history.reindex();
        Ok(history)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    /// The history as it was kept before, an ordered set beside the last logouts: the model.
    #[derive(Default, serde::Serialize)]
    #[serde(rename = "History")]
    struct Model {
        last_logout: Vec<Option<Timestamp>>,
        logouts: BTreeSet<(Timestamp, UserId)>,
    }

    impl Model {
        fn logged_out(&mut self, user: UserId, at: Timestamp) {
            if let Some(prev) = self.last_logout[user.index()].replace(at) {
                self.logouts.remove(&(prev, user));
            }
            self.logouts.insert((at, user));
        }

        fn since(&self, cutoff: Timestamp) -> Vec<UserId> {
            self.logouts
                .range((cutoff, UserId(0))..)
                .map(|&(_, id)| id)
                .collect()
        }

        fn forget(&mut self, user: UserId) {
            if let Some(at) = self.last_logout[user.index()].take() {
                self.logouts.remove(&(at, user));
            }
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// A logout of user `.0`, `.1` ms after the latest time so far (0: at the same time).
        Later(u32, u64),
        /// A logout of user `.0` at `.1` ms, whatever came before (another node's clock, a restore).
        At(u32, u64),
        Forget(u32),
        Since(u64),
        /// A restore: logouts in no time order (and removals), the index built at the end.
        Restore(Vec<(u32, u64, bool)>),
    }

    const USERS: u32 = 12;

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..USERS, 0u64..3).prop_map(|(u, d)| Op::Later(u, d)),
            2 => (0..USERS, 0u64..400).prop_map(|(u, t)| Op::At(u, t)),
            1 => (0..USERS).prop_map(Op::Forget),
            2 => (0u64..500).prop_map(Op::Since),
            1 => proptest::collection::vec((0..USERS, 0u64..400, proptest::bool::weighted(0.1)), 0..20)
                .prop_map(Op::Restore),
        ]
    }

    proptest! {
        /// Whatever the order of the logouts, the history answers as the ordered set did, and its
        /// stored form is the ordered set's, before and after a round trip.
        #[test]
        fn answers_and_stores_as_the_ordered_set(ops in proptest::collection::vec(op(), 0..600)) {
            let mut history = History::default();
            let mut model = Model::default();
            for _ in 0..USERS {
                history.add_user();
                model.last_logout.push(None);
            }
            let mut latest = 0u64;
            for op in ops {
                match op {
                    Op::Later(user, d) => {
                        latest += d;
                        history.logged_out(UserId(user), Timestamp(latest));
                        model.logged_out(UserId(user), Timestamp(latest));
                    }
                    Op::At(user, at) => {
                        latest = latest.max(at);
                        history.logged_out(UserId(user), Timestamp(at));
                        model.logged_out(UserId(user), Timestamp(at));
                    }
                    Op::Forget(user) => {
                        history.forget(UserId(user));
                        model.forget(UserId(user));
                    }
                    Op::Restore(logouts) => {
                        history.defer_index();
                        for (user, at, forget) in logouts {
                            latest = latest.max(at);
                            if forget {
                                history.forget(UserId(user));
                                model.forget(UserId(user));
                            } else {
                                history.logged_out(UserId(user), Timestamp(at));
                                model.logged_out(UserId(user), Timestamp(at));
                            }
                        }
                        history.reindex();
                    }
                    Op::Since(cutoff) => {
                        let got: Vec<UserId> = history.since(Timestamp(cutoff)).collect();
                        prop_assert_eq!(got, model.since(Timestamp(cutoff)));
                    }
                }
                prop_assert!(history.logouts.is_sorted());
                prop_assert!(history.stale <= history.logouts.len() - history.stale + STALE_SLACK);
                prop_assert_eq!(history.live().count(), model.logouts.len());
            }
            let stored = postcard::to_allocvec(&history).unwrap();
            prop_assert_eq!(&stored, &postcard::to_allocvec(&model).unwrap());
            let back: History = postcard::from_bytes(&stored).unwrap();
            prop_assert_eq!(back.stale, 0);
            prop_assert_eq!(&back.logouts, &model.logouts.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(postcard::to_allocvec(&back).unwrap(), stored);
        }
    }

    #[test]
    fn a_stored_form_whose_list_disagrees_is_read_from_the_last_logouts() {
        let stored = Model {
            last_logout: vec![Some(Timestamp(5)), None, Some(Timestamp(3))],
            logouts: [(Timestamp(9), UserId(1))].into(),
        };
        let mut history: History =
            postcard::from_bytes(&postcard::to_allocvec(&stored).unwrap()).unwrap();
        assert_eq!(
            history.since(Timestamp(0)).collect::<Vec<_>>(),
            [UserId(2), UserId(0)]
        );
        history.logged_out(UserId(2), Timestamp(7));
        assert_eq!(
            history.since(Timestamp(4)).collect::<Vec<_>>(),
            [UserId(0), UserId(2)]
        );
    }

    #[test]
    fn a_user_who_comes_and_goes_often_keeps_the_index_small() {
        let mut history = History::default();
        history.add_user();
        history.add_user();
        history.logged_out(UserId(1), Timestamp(1));
        for t in 2..10_000 {
            history.logged_out(UserId(0), Timestamp(t));
        }
        assert!(history.logouts.len() <= 2 + 2 + STALE_SLACK);
        assert_eq!(
            history.since(Timestamp(0)).collect::<Vec<_>>(),
            [UserId(1), UserId(0)]
        );
        assert_eq!(
            history.since(Timestamp(9_999)).collect::<Vec<_>>(),
            [UserId(0)]
        );
    }
}
