//! The data behind private-chat brokering (the rules are in [`crate::server::private::rule`]): requests waiting for
//! an answer, the chats the server brokered, and the source of their one-time tokens.

use std::collections::{BTreeMap, BTreeSet};

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rustc_hash::FxHashMap;

use crate::protocol::Token;
use crate::server::event::UserId;

/// A chat between two users, in a canonical order.
fn pair(a: UserId, b: UserId) -> (UserId, UserId) {
    if a <= b { (a, b) } else { (b, a) }
}

#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub(crate) struct Brokerage {
    /// Pending requests, `(requester, target)` to the request's id (which names its timer).
    offers: BTreeMap<(UserId, UserId), u64>,
    by_id: FxHashMap<u64, (UserId, UserId)>,
    next_offer: u64,
    /// Chats the server brokered that neither side has reported over.
    chats: BTreeSet<(UserId, UserId)>,
    /// Seeded by the caller: the core has no randomness of its own.
    rng: ChaCha20Rng,
}

impl Brokerage {
    pub(crate) fn new(seed: [u8; 32]) -> Self {
        Brokerage {
            offers: BTreeMap::new(),
            by_id: FxHashMap::default(),
            next_offer: 1,
            chats: BTreeSet::new(),
            rng: ChaCha20Rng::from_seed(seed),
        }
    }

    /// Whether a request between the two is waiting, in either direction.
    pub(crate) fn offer_between(&self, a: UserId, b: UserId) -> bool {
        self.offers.contains_key(&(a, b)) || self.offers.contains_key(&(b, a))
    }

    /// Whether `requester` asked `target` and is waiting.
    pub(crate) fn has_offer(&self, requester: UserId, target: UserId) -> bool {
        self.offers.contains_key(&(requester, target))
    }

    /// Records a request; returns its id.
    pub(crate) fn open_offer(&mut self, requester: UserId, target: UserId) -> u64 {
        let id = self.next_offer;
        self.next_offer += 1;
        self.offers.insert((requester, target), id);
        self.by_id.insert(id, (requester, target));
        id
    }

    /// Removes the request from `requester` to `target`; returns its id.
    pub(crate) fn take_offer(&mut self, requester: UserId, target: UserId) -> Option<u64> {
        let id = self.offers.remove(&(requester, target))?;
        self.by_id.remove(&id);
        Some(id)
    }

    /// Removes the request numbered `id`; returns `(requester, target)`.
    pub(crate) fn take_offer_by_id(&mut self, id: u64) -> Option<(UserId, UserId)> {
        let key = self.by_id.remove(&id)?;
        self.offers.remove(&key);
        Some(key)
    }

    /// The requests `user` is part of, either way.
    pub(crate) fn offers_involving(&self, user: UserId) -> Vec<(UserId, UserId)> {
        self.offers
            .keys()
            .filter(|(a, b)| *a == user || *b == user)
            .copied()
            .collect()
    }

    pub(crate) fn has_chat(&self, a: UserId, b: UserId) -> bool {
        self.chats.contains(&pair(a, b))
    }

    pub(crate) fn add_chat(&mut self, a: UserId, b: UserId) {
        self.chats.insert(pair(a, b));
    }

    /// Forgets the chat; whether there was one.
    pub(crate) fn end_chat(&mut self, a: UserId, b: UserId) -> bool {
        self.chats.remove(&pair(a, b))
    }

    /// Forgets every chat `user` is part of.
    pub(crate) fn end_chats_of(&mut self, user: UserId) {
        self.chats.retain(|&(a, b)| a != user && b != user);
    }

    /// A fresh one-time token for a chat.
    pub(crate) fn token(&mut self) -> Token {
        Token((u128::from(self.rng.next_u64()) << 64) | u128::from(self.rng.next_u64()))
    }
}
