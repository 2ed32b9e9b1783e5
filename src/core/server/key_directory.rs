//! The key directory's data: per account, the public keys its client published for end-to-end
//! encryption (the commands are in [`super::keys`]).
//!
//! An account has at most one identity (a Curve25519 and an Ed25519 public key), and, signed by it, up
//! to [`MAX_ONE_TIME_KEYS`] one-time keys, in the order they were published, and one fallback key.
//! Keys belong to their identity: publishing a different identity drops them all, since the private
//! halves went with the old one. A one-time key is handed out once and forgotten; the fallback key is
//! handed out for as long as no one-time key is left (until the client replaces it).
//!
//! Nothing here is secret: these are public keys, kept so that a client can start an encrypted session
//! with a user who is offline.

use std::collections::VecDeque;

use super::accounts::UserId;
use crate::protocol::keys::{MAX_ONE_TIME_KEYS, SignedKey, SignedKeyRef};

/// One account's published keys.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq, Eq)]
struct Published {
    curve25519: Box<str>,
    ed25519: Box<str>,
    /// Oldest first: the oldest is handed out first.
    one_time: VecDeque<SignedKey>,
    fallback: Option<SignedKey>,
}

/// Why keys could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddRefused {
    /// The account has no identity for the keys to belong to.
    NoIdentity,
    /// Adding them would pass [`MAX_ONE_TIME_KEYS`]; `held` are held.
    Full { held: usize },
}

/// What a claim hands out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Claimed {
    pub(crate) curve25519: String,
    pub(crate) ed25519: String,
    pub(crate) key: SignedKey,
    /// A one-time key, now removed (rather than the fallback key, which stays).
    pub(crate) one_time: bool,
}

/// Every account's published keys, indexed by [`UserId`].
#[derive(serde::Serialize, serde::Deserialize, Debug, Default)]
pub(crate) struct KeyDirectory {
    of: Vec<Option<Published>>,
}

impl KeyDirectory {
    /// Makes room for a new account (with nothing published).
    pub(crate) fn add_user(&mut self) {
        self.of.push(None);
    }

    /// `user`'s identity keys `(curve25519, ed25519)`, if published.
    pub(crate) fn identity(&self, user: UserId) -> Option<(&str, &str)> {
        self.of[user.index()]
            .as_ref()
            .map(|p| (&*p.curve25519, &*p.ed25519))
    }

    /// How many one-time keys `user` has left.
    pub(crate) fn one_time_count(&self, user: UserId) -> usize {
        self.of[user.index()]
            .as_ref()
            .map_or(0, |p| p.one_time.len())
    }

    /// Publishes `user`'s identity. Returns false if it is the one already published (nothing
    /// changes); otherwise it replaces any other, whose keys are dropped with it.
    pub(crate) fn publish_identity(
        &mut self,
        user: UserId,
        curve25519: &str,
        ed25519: &str,
    ) -> bool {
        if self.identity(user) == Some((curve25519, ed25519)) {
            return false;
        }
        self.of[user.index()] = Some(Published {
            curve25519: curve25519.into(),
            ed25519: ed25519.into(),
            one_time: VecDeque::new(),
            fallback: None,
        });
        true
    }

    /// Adds one-time keys to `user`'s: all of them, or none if the account has no identity or would
    /// hold more than [`MAX_ONE_TIME_KEYS`]. A key whose id is already held (a client sending again
    /// what it is not sure arrived), or given twice, is added once. Returns the keys added.
    pub(crate) fn add_one_time(
        &mut self,
        user: UserId,
        keys: &[SignedKeyRef<'_>],
    ) -> Result<Vec<SignedKey>, AddRefused> {
        let p = self.of[user.index()]
            .as_mut()
            .ok_or(AddRefused::NoIdentity)?;
        let mut new: Vec<SignedKey> = Vec::with_capacity(keys.len());
        for k in keys {
            let known = |held: &SignedKey| held.id == k.id;
            if !p.one_time.iter().any(known) && !new.iter().any(known) {
                new.push(k.owned());
            }
        }
        let held = p.one_time.len();
        if held + new.len() > MAX_ONE_TIME_KEYS {
            return Err(AddRefused::Full { held });
        }
        p.one_time.extend(new.iter().cloned());
        Ok(new)
    }

    /// Sets `user`'s fallback key. `Ok(false)`: it was already this one. `Err`: no identity.
    pub(crate) fn set_fallback(
        &mut self,
        user: UserId,
        key: SignedKeyRef<'_>,
    ) -> Result<bool, AddRefused> {
        let p = self.of[user.index()]
            .as_mut()
            .ok_or(AddRefused::NoIdentity)?;
        if p.fallback.as_ref().is_some_and(|f| f.borrowed() == key) {
            return Ok(false);
        }
        p.fallback = Some(key.owned());
        Ok(true)
    }

    /// Hands out `user`'s identity and one key: the oldest one-time key (removed), or the fallback key
    /// when none is left. `None`: no identity, or no key at all.
    pub(crate) fn claim(&mut self, user: UserId) -> Option<Claimed> {
        let p = self.of[user.index()].as_mut()?;
        let (key, one_time) = match p.one_time.pop_front() {
            Some(k) => (k, true),
            None => (p.fallback.clone()?, false),
        };
        Some(Claimed {
            curve25519: p.curve25519.to_string(),
            ed25519: p.ed25519.to_string(),
            key,
            one_time,
        })
    }

    // The changes records stand for, as a restore carries them out (see `record`).

    /// Sets `user`'s identity, whatever it was.
    pub(crate) fn restore_identity(&mut self, user: UserId, curve25519: &str, ed25519: &str) {
        self.publish_identity(user, curve25519, ed25519);
    }

    /// Drops `user`'s one-time and fallback keys.
    pub(crate) fn drop_keys(&mut self, user: UserId) {
        if let Some(p) = self.of[user.index()].as_mut() {
            p.one_time.clear();
            p.fallback = None;
        }
    }

    /// Adds keys a record says were added (checked when they were).
    pub(crate) fn restore_one_time(&mut self, user: UserId, keys: &[SignedKey]) {
        if let Some(p) = self.of[user.index()].as_mut() {
            p.one_time.extend(keys.iter().cloned());
        }
    }

    pub(crate) fn restore_fallback(&mut self, user: UserId, key: &SignedKey) {
        if let Some(p) = self.of[user.index()].as_mut() {
            p.fallback = Some(key.clone());
        }
    }

    /// Forgets the one-time key `id` of `user` (it was handed out).
    pub(crate) fn remove_one_time(&mut self, user: UserId, id: &str) {
        if let Some(p) = self.of[user.index()].as_mut() {
            p.one_time.retain(|k| k.id != id);
        }
    }

    /// `user`'s one-time keys, oldest first, and fallback key (for views).
    pub(crate) fn keys_of(&self, user: UserId) -> (Vec<&SignedKey>, Option<&SignedKey>) {
        match &self.of[user.index()] {
            Some(p) => (p.one_time.iter().collect(), p.fallback.as_ref()),
            None => (Vec::new(), None),
        }
    }

    /// An account is removed: its identity and keys go with it.
    pub(crate) fn forget(&mut self, user: UserId) {
        self.of[user.index()] = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> SignedKey {
        SignedKey {
            id: id.into(),
            key: "K".repeat(43),
            sig: "S".repeat(86),
        }
    }

    fn dir() -> (KeyDirectory, UserId) {
        let mut d = KeyDirectory::default();
        d.add_user();
        (d, UserId(0))
    }

    #[test]
    fn keys_need_an_identity_and_go_with_it() {
        let (mut d, u) = dir();
        let k = key("a");
        assert_eq!(
            d.add_one_time(u, &[k.borrowed()]),
            Err(AddRefused::NoIdentity)
        );
        assert!(d.publish_identity(u, "c1", "e1"));
        assert!(!d.publish_identity(u, "c1", "e1"), "the same again");
        assert_eq!(d.add_one_time(u, &[k.borrowed()]), Ok(vec![k.clone()]));
        assert_eq!(d.set_fallback(u, k.borrowed()), Ok(true));
        assert_eq!(d.one_time_count(u), 1);
        assert!(d.publish_identity(u, "c2", "e1"), "a new identity");
        assert_eq!(d.one_time_count(u), 0);
        assert_eq!(d.claim(u), None, "nothing of the old identity is left");
    }

    #[test]
    fn one_time_keys_go_once_oldest_first_then_the_fallback_stays() {
        let (mut d, u) = dir();
        d.publish_identity(u, "c", "e");
        let (a, b, f) = (key("a"), key("b"), key("f"));
        d.add_one_time(u, &[a.borrowed(), b.borrowed(), a.borrowed()])
            .unwrap();
        assert_eq!(
            d.add_one_time(u, &[b.borrowed()]),
            Ok(vec![]),
            "held already"
        );
        d.set_fallback(u, f.borrowed()).unwrap();
        let got: Vec<_> = (0..4).map(|_| d.claim(u).unwrap()).collect();
        assert_eq!(
            got.iter()
                .map(|c| (c.key.id.as_str(), c.one_time))
                .collect::<Vec<_>>(),
            [("a", true), ("b", true), ("f", false), ("f", false)]
        );
        assert_eq!(got[0].ed25519, "e");
    }

    #[test]
    fn an_account_holds_at_most_the_cap() {
        let (mut d, u) = dir();
        d.publish_identity(u, "c", "e");
        let keys: Vec<SignedKey> = (0..MAX_ONE_TIME_KEYS)
            .map(|i| key(&i.to_string()))
            .collect();
        let refs: Vec<_> = keys.iter().map(SignedKey::borrowed).collect();
        assert_eq!(d.add_one_time(u, &refs).unwrap().len(), MAX_ONE_TIME_KEYS);
        let extra = key("x");
        assert_eq!(
            d.add_one_time(u, &[extra.borrowed()]),
            Err(AddRefused::Full {
                held: MAX_ONE_TIME_KEYS
            })
        );
        d.claim(u);
        assert!(d.add_one_time(u, &[extra.borrowed()]).is_ok());
    }
}
