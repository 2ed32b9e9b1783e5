//! The cryptographic engine: every operation of end-to-end encryption that needs a secret key or
//! randomness, behind one small trait, over state the core owns.
//!
//! The client core is deterministic: no clock reads and no OS randomness inside it. Olm and Megolm need
//! randomness (identity keys, one-time keys, ratchet keys, group sessions), and vodozemac draws its own
//! from the operating system. So the core does not call vodozemac: it is handed an [`Engine`] by the
//! shell (the real one, vodozemac, lives in the product crate, so the core's dependency tree has no
//! cryptographic engine or OS randomness at all; the core's tests hand in `test_engine`), and
//! the engine is *stateless*: every secret it works on is a [`Pickle`] the core owns, passes in and
//! gets back changed. That keeps all of the end-to-end state in the core as plain data (the policy
//! over it: pins, verification, the refusal to send to a changed key, who gets which group key, when
//! to claim and when to top up), persisted by effects the shell carries out; the only thing the core
//! takes from outside is the engine's output, which is where the randomness lives.
//!
//! Public keys, signatures and key ids travel as vodozemac's own unpadded standard base64 strings, as
//! the server's key directory stores them.

use std::fmt;

/// A secret object of the engine (an account, an Olm session, an outbound or inbound Megolm session)
/// in the engine's own serialised form. Opaque to the core; it stores and persists it as it is.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pickle(pub String);

impl fmt::Debug for Pickle {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pickle({} bytes)", self.0.len())
    }
}

/// A device's public identity: the Curve25519 key that Olm's key agreement uses and the Ed25519 key
/// that signs (and that safety numbers are made of).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    /// The key Olm agrees session keys with.
    pub curve25519: String,
    /// The key that signs.
    pub ed25519: String,
}

/// A public one-time or fallback key, with the id the engine gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// The id the engine gave it.
    pub key_id: String,
    /// The key.
    pub curve25519: String,
}

/// An Olm message as it travels: a pre-key message (the first ones of a session, which can set the
/// session up at the receiver) or a normal one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OlmMessage {
    /// A pre-key message (it can set the session up at the receiver).
    pub pre_key: bool,
    /// The ciphertext, as the engine encodes it.
    pub body: Vec<u8>,
}

/// A new Olm session and the id that pre-key messages of it carry.
#[derive(Clone, Debug)]
pub struct NewSession {
    /// The session's id.
    pub session_id: String,
    /// The session, as the engine keeps it.
    pub pickle: Pickle,
}

/// An Olm session set up from a received pre-key message.
#[derive(Clone, Debug)]
pub struct Inbound {
    /// The session set up.
    pub session: NewSession,
    /// The sender's Curve25519 identity key, as the pre-key message proved it (only its holder could
    /// have made the message).
    pub sender_curve25519: String,
    /// The one-time (or fallback) key of this device the message used, so the device knows when its
    /// fallback key has been used and must be replaced.
    pub one_time_key: String,
    /// The message, decrypted.
    pub plaintext: Vec<u8>,
}

/// A new outbound Megolm session: its id, its key to share with the members, and the session itself.
#[derive(Clone, Debug)]
pub struct NewGroupSession {
    /// The session's id, which its messages carry.
    pub session_id: String,
    /// The key that lets a member decrypt it (shared over Olm).
    pub session_key: String,
    /// The session, as the engine keeps it.
    pub pickle: Pickle,
}

/// A Megolm message decrypted: the plaintext and its index in the session (each index is used once
/// by an honest sender, so an index seen before is a replay).
#[derive(Clone, Debug)]
pub struct GroupPlain {
    /// The message, decrypted.
    pub plaintext: Vec<u8>,
    /// Its index in the session.
    pub index: u32,
}

/// What went wrong in the engine, in words for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// A key, a signature or a message is not well formed (not base64, wrong length).
    #[error("malformed {what}: {why}")]
    Malformed {
        /// What was malformed (a key, a signature, a message).
        what: &'static str,
        /// How.
        why: String,
    },
    /// A signature does not verify under the key it should have been made with.
    #[error("the signature does not match the key")]
    BadSignature,
    /// The message did not decrypt (it was changed, is not for this session, or was decrypted before).
    #[error("could not decrypt: {0}")]
    Decrypt(String),
    /// A stored secret could not be read back.
    #[error("damaged stored key material: {0}")]
    Pickle(String),
    /// The key agreement was refused (a key without contributory behaviour: a hostile key).
    #[error("key agreement refused: {0}")]
    KeyAgreement(String),
}

/// Every cryptographic operation end-to-end encryption needs. Stateless: all state is in the pickles
/// passed in (and changed in place when an operation changes it); an implementation may draw
/// randomness, which is the point of putting it behind this trait.
pub trait Engine: Send + Sync + fmt::Debug {
    /// A new device: fresh identity keys and no one-time keys.
    fn new_account(&self) -> Result<Pickle, EngineError>;
    /// The device's public identity.
    fn identity(&self, account: &Pickle) -> Result<Identity, EngineError>;
    /// Signs each of `messages` with the device's Ed25519 identity key (several at once: opening the
    /// account is the expensive part).
    fn sign(&self, account: &Pickle, messages: &[&[u8]]) -> Result<Vec<String>, EngineError>;
    /// Checks that `signature` over `message` was made by `ed25519`.
    fn verify(&self, ed25519: &str, message: &[u8], signature: &str) -> Result<(), EngineError>;
    /// Makes `count` new one-time keys (kept in the account, marked published: the caller publishes
    /// them).
    fn new_one_time_keys(
        &self,
        account: &mut Pickle,
        count: usize,
    ) -> Result<Vec<PublicKey>, EngineError>;
    /// How many private one-time keys the account holds (published or not, not used yet).
    fn stored_one_time_keys(&self, account: &Pickle) -> Result<usize, EngineError>;
    /// Makes a new fallback key (the account keeps the previous one too, for messages already made
    /// with it).
    fn new_fallback_key(&self, account: &mut Pickle) -> Result<PublicKey, EngineError>;
    /// An Olm session to the device with identity `curve25519`, using its (claimed) one-time or
    /// fallback key.
    fn outbound(
        &self,
        account: &Pickle,
        curve25519: &str,
        one_time_key: &str,
    ) -> Result<NewSession, EngineError>;
    /// The session a pre-key message belongs to (`None` for a normal message).
    fn session_of(&self, message: &OlmMessage) -> Result<Option<String>, EngineError>;
    /// A session set up from a pre-key message (using up the one-time key it names).
    fn inbound(&self, account: &mut Pickle, message: &OlmMessage) -> Result<Inbound, EngineError>;
    /// `plaintext` encrypted with an Olm session (which advances). The session may be left
    /// *pending* (see [`Engine::materialise`]).
    fn encrypt(&self, session: &mut Pickle, plaintext: &[u8]) -> Result<OlmMessage, EngineError>;
    /// An Olm message decrypted with its session (which advances; it may be left *pending*, see
    /// [`Engine::materialise`]). A failed attempt leaves the session as it was.
    fn decrypt(&self, session: &mut Pickle, message: &OlmMessage) -> Result<Vec<u8>, EngineError>;
    /// Makes an Olm session's pickle whole again, if [`Engine::encrypt`] or [`Engine::decrypt`] left
    /// it *pending*: a short stand-in for the session this engine keeps live, valid only for this
    /// engine in this process, which every operation on sessions accepts as it accepts the whole
    /// pickle. Serialising a session costs more than the step of the ratchet it records, and a
    /// burst of messages needs it only once, when the conversation's sessions are saved (once per
    /// commit): so the core keeps pending pickles while the burst lasts and calls this on each of
    /// a conversation's sessions before persisting them, never persisting a pending one (it would
    /// name a session no later run has). A whole pickle is left as it is. An engine that never
    /// leaves a pickle pending has nothing to do (the default).
    fn materialise(&self, session: &mut Pickle) -> Result<(), EngineError> {
        let _ = session;
        Ok(())
    }
    /// A new outbound Megolm session.
    fn new_group_session(&self) -> Result<NewGroupSession, EngineError>;
    /// `plaintext` encrypted with an outbound Megolm session (which advances).
    fn group_encrypt(&self, session: &mut Pickle, plaintext: &[u8])
    -> Result<Vec<u8>, EngineError>;
    /// The inbound side of a Megolm session, from its shared key: (session id, session).
    fn group_inbound(&self, session_key: &str) -> Result<(String, Pickle), EngineError>;
    /// A Megolm message decrypted with the inbound session its id names.
    fn group_decrypt(&self, session: &Pickle, message: &[u8]) -> Result<GroupPlain, EngineError>;
}
