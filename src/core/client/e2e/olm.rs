//! The Olm sessions with one contact, and the messages from them already decrypted.
//!
//! Two users who write to each other at the same time each set up a session from the other's keys, so
//! a contact can have several sessions. Each is kept with the Curve25519 identity it was made with;
//! the most recently used one is first. Encrypting uses the first session made with the *pinned*
//! identity (the newest one both sides use, so they converge on one); decrypting tries the session a
//! pre-key message names, or every session for a normal message. A failed attempt changes nothing:
//! the engine works on a copy, which replaces the stored session only when it succeeded.

use super::engine::{Engine, EngineError, NewSession, OlmMessage, Pickle};

/// The most sessions kept per contact; the least recently used goes first.
pub const MAX_SESSIONS: usize = 4;

/// One Olm session.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OlmSession {
    pub id: String,
    /// The contact's Curve25519 identity key the session was made with.
    pub curve25519: String,
    pub pickle: Pickle,
    /// A message of the contact's was decrypted with it: from then on it makes normal messages, not
    /// pre-key ones (as vodozemac decides), so the identity proof is no longer sent.
    pub received: bool,
}

/// The ratchet state kept for one contact's direct messages (one part; the texts decrypted are
/// another, appended to).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Peer {
    /// Most recently used first.
    pub sessions: Vec<OlmSession>,
}

/// A message decrypted by an existing session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decrypted {
    pub plaintext: Vec<u8>,
    /// The identity the session that decrypted it was made with.
    pub curve25519: String,
}

impl Peer {
    /// Adds a session (first: it is the newest), dropping the least recently used beyond the limit.
    pub fn add(&mut self, session: NewSession, curve25519: &str, received: bool) {
        self.sessions.retain(|s| s.id != session.session_id);
        self.sessions.insert(
            0,
            OlmSession {
                id: session.session_id,
                curve25519: curve25519.to_owned(),
                pickle: session.pickle,
                received,
            },
        );
        self.sessions.truncate(MAX_SESSIONS);
    }

    /// Whether there is a session to encrypt with for the identity `curve25519`.
    pub fn can_encrypt(&self, curve25519: &str) -> bool {
        self.sessions.iter().any(|s| s.curve25519 == curve25519)
    }

    /// Whether the next message to the identity `curve25519` will be a pre-key message.
    pub fn next_is_pre_key(&self, curve25519: &str) -> bool {
        self.sessions
            .iter()
            .find(|s| s.curve25519 == curve25519)
            .is_none_or(|s| !s.received)
    }

    /// Encrypts with the newest session made with `curve25519`.
    pub fn encrypt(
        &mut self,
        engine: &dyn Engine,
        curve25519: &str,
        plaintext: &[u8],
    ) -> Result<OlmMessage, EngineError> {
        let i = self
            .sessions
            .iter()
            .position(|s| s.curve25519 == curve25519)
            .ok_or_else(|| EngineError::Decrypt("no session with this identity".into()))?;
        let mut pickle = self.sessions[i].pickle.clone();
        let message = engine.encrypt(&mut pickle, plaintext)?;
        self.sessions[i].pickle = pickle;
        self.use_first(i);
        Ok(message)
    }

    /// Decrypts with an existing session: the one a pre-key message names, or each in turn for a normal
    /// message. `Ok(None)`: a pre-key message of a session not held (the caller sets one up from it).
    pub fn decrypt(
        &mut self,
        engine: &dyn Engine,
        message: &OlmMessage,
    ) -> Result<Option<Decrypted>, EngineError> {
        if let Some(id) = engine.session_of(message)? {
            let Some(i) = self.sessions.iter().position(|s| s.id == id) else {
                return Ok(None);
            };
            return self.try_session(engine, i, message).map(Some);
        }
        let mut last = EngineError::Decrypt("no session with this contact".into());
        for i in 0..self.sessions.len() {
            match self.try_session(engine, i, message) {
                Ok(d) => return Ok(Some(d)),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn try_session(
        &mut self,
        engine: &dyn Engine,
        i: usize,
        message: &OlmMessage,
    ) -> Result<Decrypted, EngineError> {
        let mut pickle = self.sessions[i].pickle.clone();
        let plaintext = engine.decrypt(&mut pickle, message)?;
        self.sessions[i].pickle = pickle;
        self.sessions[i].received = true;
        let curve25519 = self.sessions[i].curve25519.clone();
        self.use_first(i);
        Ok(Decrypted {
            plaintext,
            curve25519,
        })
    }

    fn use_first(&mut self, i: usize) {
        let s = self.sessions.remove(i);
        self.sessions.insert(0, s);
    }

    /// Forgets the sessions made with any identity other than `curve25519` (a changed key accepted:
    /// the old identity is no longer trusted with anything).
    pub fn keep_only(&mut self, curve25519: &str) {
        self.sessions.retain(|s| s.curve25519 == curve25519);
    }
}
