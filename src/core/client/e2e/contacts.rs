//! The contacts: whose identity keys this device pinned, which were verified, and which changed.
//!
//! Trust on first use, as Signal and SSH do: the first identity seen for a user (in a claimed key
//! bundle, or proved by their first message) is pinned. An identity other than the pinned one puts the
//! contact in the *changed* state: it is remembered, a loud warning is shown, and nothing is encrypted
//! for them until the user accepts the new key (after comparing safety numbers, ideally). Accepting
//! pins the new key and drops the verified mark, which was about the old one; rejecting forgets the new
//! key and keeps the old one pinned. A verified mark is the user's statement that they compared safety
//! numbers with that person.
//!
//! Accepting and verifying name the exact key they are about: the one whose number the user was shown
//! and compared. A key that changed again since (a server slipping in its own between the showing and
//! the answer) is not accepted, and every new key is announced as loudly as the first.

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
    /// Not the pinned one, and not the changed key already announced: the contact is now changed to
    /// this key (announced anew, however many changes came before).
    Changed,
    /// The changed key already announced, again.
    StillChanged,
}

/// Every contact of this device.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contacts {
    contacts: BTreeMap<Name, Contact>,
}

/// Why `accept` or `verify` could not be done.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    /// Nothing is pinned for the user yet.
    #[error("{0}'s keys are not known yet; send them a message (or wait for one) first.")]
    Unknown(Name),
    /// `trust` or `reject` for a contact whose key did not change.
    #[error("{0}'s key has not changed; there is nothing to accept or reject.")]
    NotChanged(Name),
    /// The key is not the one whose number the user was shown (it changed since, or the digits typed
    /// are another key's).
    #[error(
        "{user}'s key is not the one whose safety number has those digits (it may have changed since it was shown): nothing was marked. Compare again ('/verify {user}')."
    )]
    NotShown {
        /// The contact.
        user: Name,
    },
}

impl Contacts {
    /// What is pinned for `user`, if anything.
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
            Some(c) if c.changed.as_ref() == Some(identity) => Met::StillChanged,
            Some(c) => {
                c.changed = Some(identity.clone());
                Met::Changed
            }
        }
    }

    /// Whether anything may be encrypted for `user`: not while their key changed unaccepted.
    /// Whether `user`'s key changed and the change is not decided yet.
    pub fn is_changed(&self, user: &str) -> bool {
        self.contacts.get(user).is_some_and(|c| c.changed.is_some())
    }

    /// Whether the user compared `user`'s safety number and marked them verified.
    pub fn is_verified(&self, user: &str) -> bool {
        self.contacts
            .get(user)
            .is_some_and(|c| c.verified && c.changed.is_none())
    }

    /// The key a user would accept or verify now: the changed one if there is one, else the pinned.
    pub fn current(&self, user: &str) -> Option<&Identity> {
        let c = self.contacts.get(user)?;
        Some(c.changed.as_ref().unwrap_or(&c.pinned))
    }

    /// The user accepts `user`'s new key `identity` (the one they were shown): it is pinned,
    /// unverified. Refused if the changed key is another one by now.
    pub fn accept(&mut self, user: &str, identity: &Identity) -> Result<(), ContactError> {
        let c = self
            .contacts
            .get_mut(user)
            .ok_or_else(|| ContactError::Unknown(Name::from(user)))?;
        match &c.changed {
            None => Err(ContactError::NotChanged(Name::from(user))),
            Some(new) if new != identity => Err(ContactError::NotShown {
                user: Name::from(user),
            }),
            Some(_) => {
                c.pinned = c.changed.take().expect("matched above");
                c.verified = false;
                Ok(())
            }
        }
    }

    /// The user rejects `user`'s new key: it is forgotten, the pinned key stays (and nothing is sent
    /// to the new one). Returns the key rejected.
    pub fn reject(&mut self, user: &str) -> Result<Identity, ContactError> {
        let c = self
            .contacts
            .get_mut(user)
            .ok_or_else(|| ContactError::Unknown(Name::from(user)))?;
        c.changed
            .take()
            .ok_or_else(|| ContactError::NotChanged(Name::from(user)))
    }

    /// The user compared safety numbers with `user` for `identity` (the key they were shown) and they
    /// matched, or takes a mark back (`verified` false, any key). Verifying a changed key accepts it.
    pub fn set_verified(
        &mut self,
        user: &str,
        identity: &Identity,
        verified: bool,
    ) -> Result<(), ContactError> {
        let c = self
            .contacts
            .get_mut(user)
            .ok_or_else(|| ContactError::Unknown(Name::from(user)))?;
        if !verified {
            c.verified = false;
            return Ok(());
        }
        if c.changed.as_ref() == Some(identity) {
            c.pinned = c.changed.take().expect("matched above");
        } else if c.changed.is_some() || c.pinned != *identity {
            return Err(ContactError::NotShown {
                user: Name::from(user),
            });
        }
        c.verified = true;
        Ok(())
    }

    /// Every contact, by name.
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
        book.set_verified("bob", &id("c1", "e1"), true).unwrap();
        assert!(book.is_verified("bob"));
        assert_eq!(book.meet(&bob, &id("c2", "e2")), Met::Changed);
        assert_eq!(book.meet(&bob, &id("c2", "e2")), Met::StillChanged);
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
        // A second change is a change of its own; accepting the first one shown no longer works.
        assert_eq!(book.meet(&bob, &id("c3", "e3")), Met::Changed);
        assert_eq!(
            book.accept("bob", &id("c2", "e2")),
            Err(ContactError::NotShown { user: bob.clone() })
        );
        assert_eq!(book.accept("bob", &id("c3", "e3")), Ok(()));
        assert!(!book.is_changed("bob"));
        assert!(!book.is_verified("bob"), "the new key was never verified");
        assert_eq!(book.meet(&bob, &id("c3", "e3")), Met::Known);
        assert_eq!(
            book.accept("bob", &id("c3", "e3")),
            Err(ContactError::NotChanged(bob.clone()))
        );
        assert_eq!(
            book.accept("carol", &id("c3", "e3")),
            Err(ContactError::Unknown(Name::from("carol")))
        );
    }

    #[test]
    fn rejecting_keeps_the_old_key_and_verifying_names_the_key_compared() {
        let mut book = Contacts::default();
        let bob = Name::from("bob");
        book.meet(&bob, &id("c1", "e1"));
        assert_eq!(book.meet(&bob, &id("c2", "e2")), Met::Changed);
        assert_eq!(book.reject("bob"), Ok(id("c2", "e2")));
        assert!(!book.is_changed("bob"));
        assert_eq!(
            book.current("bob"),
            Some(&id("c1", "e1")),
            "the old key stays"
        );
        assert_eq!(
            book.reject("bob"),
            Err(ContactError::NotChanged(bob.clone()))
        );
        // Verifying a key other than the one pinned (or changed to) is refused.
        assert_eq!(
            book.set_verified("bob", &id("c9", "e9"), true),
            Err(ContactError::NotShown { user: bob.clone() })
        );
        assert!(!book.is_verified("bob"));
        // Verifying the changed key compared accepts it.
        book.meet(&bob, &id("c2", "e2"));
        assert_eq!(book.set_verified("bob", &id("c2", "e2"), true), Ok(()));
        assert!(book.is_verified("bob") && !book.is_changed("bob"));
        assert_eq!(book.current("bob"), Some(&id("c2", "e2")));
    }
}
