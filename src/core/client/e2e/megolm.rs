//! Megolm group sessions: one outbound session per group this user writes to, and the inbound sessions
//! of every member who wrote.
//!
//! A group message is encrypted once, with the sender's outbound session; its session key goes to each
//! current member over their pairwise Olm session. The session is replaced (rotated) whenever the
//! members it was shared with are not the group's members now, so a removed member never gets the key
//! of what follows and a new member never gets the key of what came before; and after [`ROTATE_AFTER`]
//! messages, so one leaked session key exposes a bounded stretch of a conversation.
//!
//! Inbound sessions are keyed by (sender, session id): the key came over the sender's own Olm session,
//! so a member cannot pass off messages as another's. Megolm, unlike Olm, can decrypt a message again,
//! so each inbound session remembers the indices it has decrypted and refuses one seen before (a replay
//! by the server under a new message id).

use std::collections::{BTreeMap, BTreeSet};

use super::engine::{Engine, EngineError, GroupPlain, NewGroupSession, Pickle};
use crate::protocol::Name;

/// Messages one outbound session encrypts before it is replaced.
pub const ROTATE_AFTER: u32 = 100;
/// Inbound sessions kept per sender and group; the oldest go first (their messages are in the
/// client's own store already).
pub const KEEP_INBOUND: usize = 16;

/// This user's session for a group.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Outbound {
    /// The session's id, which its messages carry.
    pub session_id: String,
    /// Its key, which the members get over Olm.
    pub session_key: String,
    /// The session, as the engine keeps it.
    pub pickle: Pickle,
    /// The members (other than this user) its key was given to, or is being given to.
    pub shared_with: BTreeSet<Name>,
    /// Members its key was sent to.
    pub delivered: BTreeSet<Name>,
    /// Members who had no keys published when it was shared (claimed again once seen online).
    pub no_keys: BTreeSet<Name>,
    /// Members who refused the claim of their keys: they blocked this user.
    #[serde(default)]
    pub blocked_by: BTreeSet<Name>,
    /// Members the user was told are left out of this session (told once per session).
    #[serde(default)]
    pub named: BTreeSet<Name>,
    /// Messages encrypted with it.
    pub sent: u32,
}

/// Another member's session, as received.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InboundSession {
    /// The member whose session it is.
    pub sender: Name,
    /// Its id, which their messages carry.
    pub session_id: String,
    /// The session, as the engine keeps it.
    pub pickle: Pickle,
    /// Indices already decrypted (at most [`ROTATE_AFTER`] from an honest sender).
    pub indices: BTreeSet<u32>,
}

/// Everything kept for one group (one file).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Group {
    /// This user's own session for the group, once one was made.
    pub outbound: Option<Outbound>,
    /// Newest last.
    pub inbound: Vec<InboundSession>,
    /// The members (other than this user) as last shown to the user, to say what changed since.
    #[serde(default)]
    pub members: Option<BTreeSet<Name>>,
}

/// Why a group message could not be decrypted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// No session of the sender's with this id was shared with this user.
    #[error(
        "no key from {sender} for this group message: it was sent before you joined, or to members without you"
    )]
    NoKey {
        /// The sender.
        sender: Name,
    },
    /// An index of the session decrypted before: a replay.
    #[error("this group message was shown before (index {index} again): a replay, ignored")]
    Replay {
        /// The index.
        index: u32,
    },
    /// The engine could not decrypt it.
    #[error("{0}")]
    Engine(#[from] EngineError),
}

impl Group {
    /// Whether the outbound session must be replaced before the next message to `members` (this
    /// user's fellow members, now).
    pub fn needs_rotation(&self, members: &BTreeSet<Name>) -> bool {
        match &self.outbound {
            None => true,
            Some(o) => o.shared_with != *members || o.sent >= ROTATE_AFTER,
        }
    }

    /// Starts a new outbound session for `members`; returns its key, to share with them.
    pub fn rotate(&mut self, session: NewGroupSession, members: BTreeSet<Name>) -> String {
        let key = session.session_key.clone();
        self.outbound = Some(Outbound {
            session_id: session.session_id,
            session_key: session.session_key,
            pickle: session.pickle,
            shared_with: members,
            delivered: BTreeSet::new(),
            no_keys: BTreeSet::new(),
            blocked_by: BTreeSet::new(),
            named: BTreeSet::new(),
            sent: 0,
        });
        key
    }

    /// Encrypts one message with the outbound session: (session id, Megolm message).
    pub fn encrypt(
        &mut self,
        engine: &dyn Engine,
        plaintext: &[u8],
    ) -> Result<(String, Vec<u8>), EngineError> {
        let o = self
            .outbound
            .as_mut()
            .ok_or_else(|| EngineError::Decrypt("no group session".into()))?;
        let mut pickle = o.pickle.clone();
        let body = engine.group_encrypt(&mut pickle, plaintext)?;
        o.pickle = pickle;
        o.sent += 1;
        Ok((o.session_id.clone(), body))
    }

    /// Keeps a session key `sender` gave; returns whether it was new.
    pub fn add_inbound(
        &mut self,
        engine: &dyn Engine,
        sender: &Name,
        session_key: &str,
    ) -> Result<bool, EngineError> {
        let (session_id, pickle) = engine.group_inbound(session_key)?;
        if self
            .inbound
            .iter()
            .any(|s| s.sender == *sender && s.session_id == session_id)
        {
            return Ok(false);
        }
        self.inbound.push(InboundSession {
            sender: sender.clone(),
            session_id,
            pickle,
            indices: BTreeSet::new(),
        });
        let from_sender = self.inbound.iter().filter(|s| s.sender == *sender).count();
        if from_sender > KEEP_INBOUND
            && let Some(oldest) = self.inbound.iter().position(|s| s.sender == *sender)
        {
            self.inbound.remove(oldest);
        }
        Ok(true)
    }

    /// Decrypts a message of `sender`'s session `session_id`.
    pub fn decrypt(
        &mut self,
        engine: &dyn Engine,
        sender: &Name,
        session_id: &str,
        body: &[u8],
    ) -> Result<GroupPlain, GroupError> {
        let session = self
            .inbound
            .iter_mut()
            .find(|s| s.sender == *sender && s.session_id == session_id)
            .ok_or_else(|| GroupError::NoKey {
                sender: sender.clone(),
            })?;
        let plain = engine.group_decrypt(&session.pickle, body)?;
        if !session.indices.insert(plain.index) {
            return Err(GroupError::Replay { index: plain.index });
        }
        Ok(plain)
    }
}

/// The members of each group this user is in, as the server's lines said; not persisted (the server
/// tells them again), and this user is never among them.
#[derive(Clone, Debug, Default)]
pub struct Members {
    groups: BTreeMap<Name, BTreeSet<Name>>,
}

impl Members {
    /// `group`'s members (this user, `me`, is not kept among them), as the server listed them.
    pub fn set(&mut self, me: &Name, group: &Name, members: impl IntoIterator<Item = Name>) {
        let set = members.into_iter().filter(|m| m != me).collect();
        self.groups.insert(group.clone(), set);
    }

    /// `user` joined `group`; returns whether the known list changed (it is unknown until listed).
    pub fn joined(&mut self, me: &Name, group: &Name, user: &Name) -> bool {
        if user == me {
            return false;
        }
        self.groups
            .get_mut(group)
            .is_some_and(|set| set.insert(user.clone()))
    }

    /// `user` left `group` (or was removed); this user leaving forgets the group. Returns whether the
    /// known list changed.
    pub fn left(&mut self, me: &Name, group: &Name, user: &Name) -> bool {
        if user == me {
            return self.groups.remove(group).is_some();
        }
        self.groups
            .get_mut(group)
            .is_some_and(|set| set.remove(user))
    }

    /// `group`'s members but this user, if they were listed.
    pub fn get(&self, group: &str) -> Option<&BTreeSet<Name>> {
        self.groups.get(group)
    }

    /// Whether `group`'s members were listed in this session.
    pub fn knows(&self, group: &str) -> bool {
        self.groups.contains_key(group)
    }
}
