//! Who is online: a bit per account, in user order.
//!
//! Why not an ordered map of sessions (it was a `BTreeMap<UserId, ConnId>`): its nodes are allocated
//! one per seven-odd logins, in among whatever else the server allocates at that moment, which when
//! thousands log in at once is the presence flood's queues and lines. The nodes outlive those buffers
//! and each keeps the pages around it resident after the flood is freed: at 10,000 online, 250 KB of
//! nodes held about 1.8 MB of otherwise free heap that the allocator could not give back. Bits are
//! allocated as accounts are added (at start, with the other per-account vectors), never per login.
//!
//! A second level, a bit per word, says which words have any bit set, so that walking the set costs
//! a word per 4,096 accounts plus one step per user online: as cheap with ten online among a million
//! accounts as with all of them online. Which connection each user is on is the sessions' per-user
//! index; this part only knows who.

use crate::server::event::UserId;

/// Bits per word.
const BITS: usize = u64::BITS as usize;

/// A set of users, walked in user order.
#[derive(Debug, Default)]
pub(crate) struct Online {
    /// Bit `u % 64` of `words[u / 64]`: user `u` is in the set.
    words: Vec<u64>,
    /// Bit `w % 64` of `busy[w / 64]`: `words[w]` is not zero.
    busy: Vec<u64>,
    /// Users in the set.
    len: usize,
}

impl Online {
    /// Makes room for users numbered below `users`, so that a login allocates nothing.
    pub(crate) fn reserve_users(&mut self, users: usize) {
        let words = users.div_ceil(BITS);
        if self.words.len() < words {
            self.words.resize(words, 0);
            self.busy.resize(words.div_ceil(BITS), 0);
        }
    }

    /// Adds `user`; false if it was in already.
    pub(crate) fn insert(&mut self, user: UserId) -> bool {
        let (w, bit) = (user.index() / BITS, 1u64 << (user.index() % BITS));
        self.reserve_users(user.index() + 1);
        if self.words[w] & bit != 0 {
            return false;
        }
        self.words[w] |= bit;
        self.busy[w / BITS] |= 1 << (w % BITS);
        self.len += 1;
        true
    }

    /// Takes `user` out; false if it was not in.
    pub(crate) fn remove(&mut self, user: UserId) -> bool {
        let (w, bit) = (user.index() / BITS, 1u64 << (user.index() % BITS));
        match self.words.get_mut(w) {
            Some(word) if *word & bit != 0 => {
                *word &= !bit;
                if *word == 0 {
                    self.busy[w / BITS] &= !(1 << (w % BITS));
                }
                self.len -= 1;
                true
            }
            _ => false,
        }
    }

    /// Users in the set.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The users in the set, in user order.
    pub(crate) fn iter(&self) -> Iter<'_> {
        Iter {
            set: self,
            next_busy: 0,
            busy: 0,
            word_at: 0,
            word: 0,
        }
    }
}

/// [`Online::iter`].
pub(crate) struct Iter<'a> {
    set: &'a Online,
    /// The next `busy` word to load.
    next_busy: usize,
    /// What is left of the `busy` word loaded last: words still to visit.
    busy: u64,
    /// The number of the word in `word`, times [`BITS`].
    word_at: usize,
    /// What is left of that word: users still to yield.
    word: u64,
}

impl Iterator for Iter<'_> {
    type Item = UserId;

    fn next(&mut self) -> Option<UserId> {
        loop {
            if self.word != 0 {
                let bit = self.word.trailing_zeros() as usize;
                self.word &= self.word - 1;
                // Below the accounts' count, which is a u32 (user numbers are).
                return Some(UserId((self.word_at + bit) as u32));
            }
            while self.busy == 0 {
                self.busy = *self.set.busy.get(self.next_busy)?;
                self.next_busy += 1;
            }
            let w = (self.next_busy - 1) * BITS + self.busy.trailing_zeros() as usize;
            self.busy &= self.busy - 1;
            self.word_at = w * BITS;
            self.word = self.set.words[w];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn empty_and_one() {
        let mut set = Online::default();
        assert_eq!(set.iter().next(), None);
        assert!(!set.remove(UserId(5)), "never added, never reserved");
        set.reserve_users(10);
        assert_eq!(set.iter().next(), None);
        assert!(
            set.insert(UserId(4_100)),
            "past the room reserved: it grows"
        );
        assert!(!set.insert(UserId(4_100)));
        assert_eq!(set.iter().collect::<Vec<_>>(), [UserId(4_100)]);
        assert!(set.remove(UserId(4_100)));
        assert_eq!((set.len(), set.iter().next()), (0, None));
    }

    proptest! {
        /// The same users, in the same order, as an ordered set given the same changes: across word
        /// and second-level boundaries (63/64, 4,095/4,096), and words that empty again.
        #[test]
        fn as_an_ordered_set(ops in proptest::collection::vec((any::<bool>(), prop_oneof![
            0u32..200,
            4_000u32..4_200,
            0u32..20_000,
        ]), 0..400)) {
            let mut set = Online::default();
            set.reserve_users(100);
            let mut model = BTreeSet::new();
            for (add, user) in ops {
                let user = UserId(user);
                if add {
                    prop_assert_eq!(set.insert(user), model.insert(user));
                } else {
                    prop_assert_eq!(set.remove(user), model.remove(&user));
                }
                prop_assert_eq!(set.len(), model.len());
            }
            prop_assert_eq!(set.iter().collect::<Vec<_>>(), model.into_iter().collect::<Vec<_>>());
        }
    }
}
