//! Who blocks whom: the data behind `block` and `unblock` (the commands are in [`super::blocklist`]).
//! Checked on every message, broadcast and presence notice, so it is a per-user set indexed by
//! [`UserId`].

use std::collections::BTreeSet;

use super::accounts::UserId;

#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct Blocks {
    of: Vec<BTreeSet<UserId>>,
}

impl Blocks {
    /// Makes room for a new account.
    pub(crate) fn add_user(&mut self) {
        self.of.push(BTreeSet::new());
    }

    /// Whether `who` has blocked `whom`.
    pub(crate) fn blocks(&self, who: UserId, whom: UserId) -> bool {
        self.of[who.index()].contains(&whom)
    }

    /// Whether either has blocked the other.
    pub(crate) fn either(&self, a: UserId, b: UserId) -> bool {
        self.blocks(a, b) || self.blocks(b, a)
    }

    /// `who` blocks `whom`; false if it already did.
    pub(crate) fn block(&mut self, who: UserId, whom: UserId) -> bool {
        self.of[who.index()].insert(whom)
    }

    /// `who` no longer blocks `whom`; false if it did not.
    pub(crate) fn unblock(&mut self, who: UserId, whom: UserId) -> bool {
        self.of[who.index()].remove(&whom)
    }

    /// Whom `who` blocks.
    pub(crate) fn blocked_by(&self, who: UserId) -> impl Iterator<Item = UserId> + '_ {
        self.of[who.index()].iter().copied()
    }

    /// An account is removed: nobody blocks it and it blocks nobody.
    pub(crate) fn forget(&mut self, user: UserId) {
        self.of[user.index()].clear();
        for set in &mut self.of {
            set.remove(&user);
        }
    }
}
