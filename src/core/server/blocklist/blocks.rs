//! Who blocks whom: the data behind `block` and `unblock` (the commands are in [`crate::server::blocklist::rule`]).
//! Checked on every message, broadcast and presence notice, so it is a per-user set indexed by
//! [`UserId`].
//!
//! Most servers have no blocks at all, and a presence notice asks "does either block the other?"
//! once per reader (two set lookups, about a thousand per login with a thousand users online), so
//! the table also counts its pairs, and with none every question is answered without a lookup.

use std::collections::BTreeSet;

use crate::server::event::UserId;

#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
#[serde(from = "Stored")]
pub(crate) struct Blocks {
    of: Vec<BTreeSet<UserId>>,
    /// How many (who, whom) pairs `of` holds, all sets together: zero means nobody blocks anybody.
    /// Not saved: counted again from the sets when a snapshot is read.
    #[serde(skip_serializing)]
    pairs: usize,
}

/// What a snapshot holds of [`Blocks`]: the sets, as before the count was kept.
#[derive(serde::Deserialize)]
struct Stored {
    of: Vec<BTreeSet<UserId>>,
}

impl From<Stored> for Blocks {
    fn from(stored: Stored) -> Self {
        let pairs = stored.of.iter().map(BTreeSet::len).sum();
        Blocks {
            of: stored.of,
            pairs,
        }
    }
}

impl Blocks {
    /// Makes room for a new account.
    pub(crate) fn add_user(&mut self) {
        self.of.push(BTreeSet::new());
    }

    /// Whether `who` has blocked `whom`.
    #[inline]
    pub(crate) fn blocks(&self, who: UserId, whom: UserId) -> bool {
        self.pairs != 0 && self.of[who.index()].contains(&whom)
    }

    /// Whether either has blocked the other.
    #[inline]
    pub(crate) fn either(&self, a: UserId, b: UserId) -> bool {
        self.pairs != 0 && (self.of[a.index()].contains(&b) || self.of[b.index()].contains(&a))
    }

    /// Whether anybody blocks anybody: if not, [`Self::either`] is false for every pair.
    #[inline]
    pub(crate) fn any(&self) -> bool {
        self.pairs != 0
    }

    /// `who` blocks `whom`; false if it already did.
    pub(crate) fn block(&mut self, who: UserId, whom: UserId) -> bool {
        let added = self.of[who.index()].insert(whom);
        self.pairs += usize::from(added);
        added
    }

    /// `who` no longer blocks `whom`; false if it did not.
    pub(crate) fn unblock(&mut self, who: UserId, whom: UserId) -> bool {
        let removed = self.of[who.index()].remove(&whom);
        self.pairs -= usize::from(removed);
        removed
    }

    /// Whom `who` blocks.
    pub(crate) fn blocked_by(&self, who: UserId) -> impl Iterator<Item = UserId> + '_ {
        self.of[who.index()].iter().copied()
    }

    /// An account is removed: nobody blocks it and it blocks nobody.
    pub(crate) fn forget(&mut self, user: UserId) {
        self.pairs -= self.of[user.index()].len();
        self.of[user.index()].clear();
        for set in &mut self.of {
            self.pairs -= usize::from(set.remove(&user));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(users: u32) -> Blocks {
        let mut b = Blocks::default();
        for _ in 0..users {
            b.add_user();
        }
        b
    }

    #[test]
    fn the_count_follows_blocks_unblocks_and_forgotten_accounts() {
        let (a, b, c) = (UserId(0), UserId(1), UserId(2));
        let mut t = table(3);
        assert!(!t.any() && !t.either(a, b));
        assert!(
            t.block(a, b) && !t.block(a, b),
            "a second block adds nothing"
        );
        assert!(t.any() && t.either(a, b) && t.either(b, a) && !t.either(a, c));
        assert!(t.blocks(a, b) && !t.blocks(b, a));
        assert!(t.block(c, b) && t.block(b, c));
        assert!(
            t.unblock(a, b) && !t.unblock(a, b),
            "a second unblock removes nothing"
        );
        assert!(t.any() && !t.either(a, b) && t.either(b, c));
        t.forget(b);
        assert!(!t.any() && !t.either(b, c) && !t.either(c, b));
    }

    #[test]
    fn a_snapshot_keeps_the_sets_and_the_count_is_made_again() {
        let (a, b) = (UserId(0), UserId(1));
        let mut t = table(2);
        t.block(a, b);
        let bytes = postcard::to_allocvec(&t).expect("saved");
        // The saved form is the sets alone, as before the count was kept.
        #[derive(serde::Serialize)]
        struct Before<'a> {
            of: &'a Vec<BTreeSet<UserId>>,
        }
        assert_eq!(bytes, postcard::to_allocvec(&Before { of: &t.of }).unwrap());
        let back: Blocks = postcard::from_bytes(&bytes).expect("read");
        assert!(back.any() && back.blocks(a, b) && !back.blocks(b, a));
    }
}
