//! The contacts: whose identity keys this device pinned, which were verified, and which changed.
//!
//! Trust on first use, as Signal and SSH do: the first identity seen for a user (in a claimed key
//! bundle, or proved by their first message) is pinned. An identity other than the pinned one puts the
//! contact in the *changed* state: it is remembered, a loud warning is shown, and nothing is encrypted
//! for them until the user accepts the new key (after comparing safety numbers, ideally). Accepting
//! pins the new key and drops the verified mark, which was about the old one. A verified mark is the
//! user's statement that they compared safety numbers with that person.

use std::collections::BTreeMap;

use super::engine::Identity;
use crate::protocol::Name;

/// One contact's keys and standing.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contact {
    /// The identity pinned (first seen, or last accepted).
    pub pinned: Identity,
    /// The user said they compared safety numbers for `pinned`.
    pub verified: bool,
    /// A different identity seen since, not accepted: nothing is sent to this contact meanwhile.
    pub changed: Option<Identity>,
}

/// What meeting an identity for a user meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Met {
    /// First seen: pinned now.
    Pinned,
    /// The pinned one.
    Known,
    /// Not the pinned one: the contact is now (or still) changed.
    Changed,
}

/// Every contact of this device.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contacts {
    contacts: BTreeMap<Name, Contact>,
}

/// Why `accept` or `verify` could not be done.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("{0}'s keys are not known yet; send them a message (or wait for one) first.")]
    Unknown(Name),
    #[error("{0}'s key has not changed; there is nothing to accept.")]
    NotChanged(Name),
}

impl Contacts {
    pub fn get(&self, user: &str) -> Option<&Contact> {
        self.contacts.get(user)
    }

    /// Records meeting `identity` for `user` (see [`Met`]).
    pub fn meet(&mut self, user: &Name, identity: &Identity) -> Met {
        match self.contacts.get_mut(user) {
            None => {
                self.contacts.insert(
                    user.clone(),
                    Contact {
                        pinned: identity.clone(),
                        verified: false,
                        changed: None,
                    },
                );
                Met::Pinned
            }
            Some(c) if c.pinned == *identity => Met::Known,
            Some(c) => {
                c.changed = Some(identity.clone());
                Met::Changed
            }
        }
    }

    /// Whether anything may be encrypted for `user`: not while their key changed unaccepted.
    pub fn is_changed(&self, user: &str) -> bool {
        self.contacts.get(user).is_some_and(|c| c.changed.is_some())
    }

    pub fn is_verified(&self, user: &str) -> bool {
        self.contacts
            .get(user)
            .is_some_and(|c| c.verified && c.changed.is_none())
    }

    /// The user accepts `user`'s new key: it is pinned, unverified. Returns the new identity.
    pub fn accept(&mut self, user: &str) -> Result<Identity, ContactError> {
        let c = self
            .contacts
            .get_mut(user)
            .ok_or_else(|| ContactError::Unknown(Name::from(user)))?;
        let new = c
            .changed
            .take()
            .ok_or_else(|| ContactError::NotChanged(Name::from(user)))?;
        c.pinned = new.clone();
        c.verified = false;
        Ok(new)
    }

    /// The user compared safety numbers with `user` and they matched.
    pub fn set_verified(&mut self, user: &str, verified: bool) -> Result<(), ContactError> {
        let c = self
            .contacts
            .get_mut(user)
            .ok_or_else(|| ContactError::Unknown(Name::from(user)))?;
        c.verified = verified;
        Ok(())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Name, &Contact)> {
        self.contacts.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: &str, e: &str) -> Identity {
        Identity {
            curve25519: c.into(),
            ed25519: e.into(),
        }
    }

    #[test]
    fn first_use_pins_a_change_is_held_until_accepted_and_accepting_unverifies() {
        let mut book = Contacts::default();
        let bob = Name::from("bob");
        assert_eq!(book.meet(&bob, &id("c1", "e1")), Met::Pinned);
        assert_eq!(book.meet(&bob, &id("c1", "e1")), Met::Known);
        book.set_verified("bob", true).unwrap();
        assert!(book.is_verified("bob"));
        assert_eq!(book.meet(&bob, &id("c2", "e2")), Met::Changed);
        assert!(book.is_changed("bob"));
        assert!(
            !book.is_verified("bob"),
            "a verified mark is not shown on a changed key"
        );
        assert_eq!(
            book.meet(&bob, &id("c1", "e1")),
            Met::Known,
            "the pin stays until accepted"
        );
        assert!(book.is_changed("bob"), "still changed");
        assert_eq!(book.accept("bob"), Ok(id("c2", "e2")));
        assert!(!book.is_changed("bob"));
        assert!(!book.is_verified("bob"), "the new key was never verified");
        assert_eq!(book.meet(&bob, &id("c2", "e2")), Met::Known);
        assert_eq!(book.accept("bob"), Err(ContactError::NotChanged(bob)));
        assert_eq!(
            book.accept("carol"),
            Err(ContactError::Unknown(Name::from("carol")))
        );
    }
}
