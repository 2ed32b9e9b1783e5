//! What waits to be sent, kept on disk ([`super::Part::Outbox`]), so that nothing the user wrote is
//! lost while it waits: for a contact's keys (a claim not answered yet, a user the server says has
//! none, a key change not accepted yet), for a group's member list, or for members to get the group's
//! key. It is saved whenever it changes, before anything that depends on it, and read back at the
//! next start, when every claim is asked again.

use std::collections::{BTreeMap, BTreeSet};

use crate::protocol::Name;

/// One thing waiting for a session with a contact.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Waiting {
    /// A message the user wrote.
    Text(String),
    /// A notice to the contact that their message with this ciphertext digest could not be read
    /// here: it was encrypted for a device of this account that is gone (see
    /// [`super::envelope::Body::Unreadable`]).
    Unreadable(String),
}

/// A group message encrypted and waiting for its key to reach members whose keys were claimed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingGroup {
    /// The group.
    pub group: Name,
    /// What the user wrote.
    pub text: String,
    /// The line that carries it, encrypted already.
    pub line: String,
    /// The key of the session it was encrypted with, for the members still waiting.
    pub session_key: String,
    /// The members whose keys were claimed and who have not had the session's key yet.
    pub waiting: BTreeSet<Name>,
}

/// Everything waiting (one file).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Outbox {
    /// Per contact, in the order written.
    pub direct: BTreeMap<Name, Vec<Waiting>>,
    /// Group messages waiting for key shares, in the order written.
    pub groups: Vec<PendingGroup>,
    /// Group messages waiting for the client to learn the group's members: (group, text).
    pub unlisted: Vec<(Name, String)>,
}

impl Outbox {
    /// The messages the user wrote to `user` that wait.
    pub fn texts_for(&self, user: &str) -> usize {
        self.direct.get(user).map_or(0, |w| {
            w.iter().filter(|w| matches!(w, Waiting::Text(_))).count()
        })
    }

    /// Every message the user wrote that waits, direct and group.
    pub fn texts(&self) -> usize {
        self.direct.keys().map(|u| self.texts_for(u)).sum::<usize>()
            + self.groups.len()
            + self.unlisted.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.direct.is_empty() && self.groups.is_empty() && self.unlisted.is_empty()
    }
}
