//! The Olm sessions with one contact, and the texts of the messages sent to them.
//!
//! Two users who write to each other at the same time each set up a session from the other's keys, so
//! a contact can have several sessions. Each is kept with the Curve25519 identity it was made with;
//! the most recently used one is first. Encrypting uses the first session made with the *pinned*
//! identity (the newest one both sides use, so they converge on one); decrypting tries the session a
//! pre-key message names, or every session for a normal message. A failed attempt changes nothing:
//! the engine works on a copy, which replaces the stored session only when it succeeded.

use std::collections::VecDeque;

use super::engine::{Engine, EngineError, NewSession, OlmMessage, Pickle};
use super::{Out, Part, to_json};
use crate::protocol::Name;

/// The most sessions kept per contact; the least recently used goes first.
pub const MAX_SESSIONS: usize = 4;
/// The texts of messages sent to a contact kept, newest last, by ciphertext digest: if the contact
/// says one was for a device they no longer have, it is sent again (see `envelope::Body`).
pub const SENT_KEPT: usize = 256;

/// One Olm session.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OlmSession {
    /// The session's id.
    pub id: String,
    /// The contact's Curve25519 identity key the session was made with.
    pub curve25519: String,
    /// The session, as the engine keeps it.
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
    /// The message, decrypted.
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

    /// Makes every session's pickle whole (an Olm step may leave it pending: see
    /// [`Engine::materialise`]), to be persisted.
    pub fn materialise(&mut self, engine: &dyn Engine) -> Result<(), EngineError> {
        for s in &mut self.sessions {
            engine.materialise(&mut s.pickle)?;
        }
        Ok(())
    }

    /// Forgets the sessions made with any identity other than `curve25519` (a changed key accepted:
    /// the old identity is no longer trusted with anything).
    pub fn keep_only(&mut self, curve25519: &str) {
        self.sessions.retain(|s| s.curve25519 == curve25519);
    }
}

/// One message sent, as stored: (ciphertext digest, text).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SentRecord(pub String, pub String);

/// The texts of the messages sent to one contact, newest last, at most [`SENT_KEPT`]: a part of
/// their own ([`Part::PeerSent`]) beside the sessions, one record appended per message, so a message
/// does not rewrite the texts of the ones before it; the whole part is written again once as many
/// records were appended as it keeps, so it stays bounded on disk.
#[derive(Clone, Debug, Default)]
pub struct SentTexts {
    kept: VecDeque<SentRecord>,
    /// Records appended since the part was last saved whole.
    appended: usize,
    /// How many of the newest records are not saved yet (counted, not copied: while fewer than
    /// [`SENT_KEPT`], they are the last of `kept`; from then on the whole part is saved).
    unsaved: usize,
}

impl From<Vec<SentRecord>> for SentTexts {
    fn from(records: Vec<SentRecord>) -> Self {
        let mut sent = SentTexts::default();
        for r in records {
            sent.keep(r);
        }
        sent
    }
}

impl SentTexts {
    fn keep(&mut self, record: SentRecord) {
        if self.kept.len() == SENT_KEPT {
            self.kept.pop_front();
        }
        self.kept.push_back(record);
    }

    /// A record read back from the part (appended after its whole content).
    pub(super) fn stored(&mut self, record: SentRecord) {
        self.keep(record);
        self.appended += 1;
    }

    /// Remembers the text of a message sent, by its ciphertext's digest; saved by [`Self::save`].
    pub(super) fn push(&mut self, digest: String, text: String) {
        self.keep(SentRecord(digest, text));
        self.unsaved = self.unsaved.saturating_add(1);
    }

    /// The text of the message sent with this ciphertext digest, if still kept.
    pub(super) fn text(&self, digest: &str) -> Option<&str> {
        self.kept
            .iter()
            .rev()
            .find(|r| r.0 == digest)
            .map(|r| r.1.as_str())
    }

    /// Persists what was pushed since the last save: appended, or the whole part once it would
    /// otherwise hold more appended records than it keeps.
    pub(super) fn save(&mut self, user: &Name, out: &mut Vec<Out>) {
        if self.unsaved == 0 {
            return;
        }
        let part = Part::PeerSent(user.clone());
        let unsaved = std::mem::take(&mut self.unsaved);
        if self.appended.saturating_add(unsaved) >= SENT_KEPT {
            self.appended = 0;
            let all: Vec<&SentRecord> = self.kept.iter().collect();
            out.push(Out::Save(part, to_json(&all)));
        } else {
            // Fewer than `SENT_KEPT`, so all of them are still kept, the newest last.
            self.appended += unsaved;
            let first = self.kept.len().saturating_sub(unsaved);
            for r in self.kept.range(first..) {
                out.push(Out::Append(part.clone(), to_json(r)));
            }
        }
    }
}
