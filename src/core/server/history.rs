//! Login history: when each user's last session ended, for `whoelsesince`.
//!
//! Kept twice, on purpose: per user, and as an ordered index of `(last logout, user)`, so that
//! `whoelsesince` reads only the span it asks about instead of scanning every account. The two change
//! only together, here.

use std::collections::BTreeSet;

use super::accounts::UserId;
use crate::time::Timestamp;

#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct History {
    /// When each user's last session ended; `None` if none did (never logged in, or online since a
    /// restart).
    last_logout: Vec<Option<Timestamp>>,
    /// `(last_logout, user)` for every user who has logged out.
    logouts: BTreeSet<(Timestamp, UserId)>,
}

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
        if let Some(prev) = self.last_logout[user.index()].replace(at) {
            self.logouts.remove(&(prev, user));
        }
        self.logouts.insert((at, user));
    }

    /// The users whose last session ended at or after `cutoff`.
    pub(crate) fn since(&self, cutoff: Timestamp) -> impl Iterator<Item = UserId> + '_ {
        self.logouts.range((cutoff, UserId(0))..).map(|&(_, id)| id)
    }

    /// An account is removed: it was never online, as far as `whoelsesince` goes.
    pub(crate) fn forget(&mut self, user: UserId) {
        if let Some(at) = self.last_logout[user.index()].take() {
            self.logouts.remove(&(at, user));
        }
    }
}
