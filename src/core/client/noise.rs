//! The private chat's encryption: the Noise protocol framework (`snow`), pattern
//! `Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s`.
//!
//! - **Who can complete the handshake**: only a party that knows the one-time token the server gave the
//!   two clients it introduced. The token becomes the pre-shared key (never sent in any form), so a
//!   stranger who connects to a client's listener, or an eavesdropper, cannot open or read a session.
//! - **Forward secrecy**: each side contributes a fresh ephemeral key; once a session ends, its keys
//!   are gone, and even the token (which the server knows) does not decrypt a recorded session.
//! - **Bound to the two names**: the prologue holds both usernames, so a handshake meant for one pair
//!   of users fails for any other.
//! - **No names on the wire**: the connector says who it is inside the first message's payload, which
//!   `psk0` already encrypts under the token. The listener, which cannot read that payload before it
//!   knows which token to use, tries the first message under each private chat it expects
//!   ([`receive`], at most `MAX_EXPECTING` tries); the one it authenticates under says who connected.
//!   That payload is not forward-secret (it is sealed with the token alone, before any ephemeral key
//!   exchange), which costs nothing: whoever holds the token is the server that handed it out, and it
//!   knows who the two users are. Every later payload is.
//!
//! What the server can do (docs/DESIGN.md): it knows the token, so a server that set out to, and sat on
//! the path, could complete a handshake with each side. That is why the handshake alone opens nothing:
//! each side must then prove its end-to-end identity by signing this session's handshake hash
//! ([`Secure::handshake_hash`], see `private`), which a server in the middle, holding two sessions
//! with two hashes and neither identity key, cannot do. A server that only brokers, and anyone who
//! only watches the network, learns nothing of the text.
//!
//! The ephemeral keys come from an RNG seeded by the client's core (which the shell seeds from the OS),
//! so the core stays deterministic under test.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use snow::params::NoiseParams;
use snow::resolvers::{CryptoResolver, DefaultResolver, FallbackResolver};
use snow::types::{Cipher, Dh, Hash, Random};

use crate::protocol::Token;

const PATTERN: &str = "Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s";
/// The most a Noise message may hold (its spec's limit).
pub const MAX_MESSAGE: usize = 65_535;
/// What encryption adds to a transport message (the AEAD tag).
const TAG: usize = 16;
/// The size of an X25519 public key, sent in clear in each handshake message.
const DH_LEN: usize = 32;
/// The size of either handshake message: an ephemeral key and a sealed, padded payload. Anything else
/// as a first frame is not this version's handshake.
pub const HANDSHAKE_LEN: usize = DH_LEN + crate::protocol::p2p::HANDSHAKE_PAYLOAD + TAG;

/// The handshake failed or a message did not decrypt: the other side does not have the token, or the
/// bytes were changed on the way.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("could not be authenticated ({0})")]
pub struct NoiseError(String);

impl From<snow::Error> for NoiseError {
    fn from(e: snow::Error) -> Self {
        NoiseError(e.to_string())
    }
}

/// The pre-shared key for a session: a hash of the token, so the key is exactly 32 bytes.
fn psk(token: Token) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"natter-p2p psk v1\0");
    h.update(token.0.to_be_bytes());
    h.finalize().into()
}

/// Both usernames, connector first: what the handshake is bound to. The version in it makes a
/// handshake between clients that speak different versions of the link fail rather than half-work.
fn prologue(connector: &str, listener: &str) -> Vec<u8> {
    format!("natter-p2p/5\0{connector}\0{listener}").into_bytes()
}

/// Supplies the RNG (seeded) and defers everything else to snow's own primitives.
struct SeededRng([u8; 32]);

impl CryptoResolver for SeededRng {
    fn resolve_rng(&self) -> Option<Box<dyn Random>> {
        Some(Box::new(Chacha(ChaCha20Rng::from_seed(self.0))))
    }
    fn resolve_dh(&self, _: &snow::params::DHChoice) -> Option<Box<dyn Dh>> {
        None
    }
    fn resolve_hash(&self, _: &snow::params::HashChoice) -> Option<Box<dyn Hash>> {
        None
    }
    fn resolve_cipher(&self, _: &snow::params::CipherChoice) -> Option<Box<dyn Cipher>> {
        None
    }
}

struct Chacha(ChaCha20Rng);

impl Random for Chacha {
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), snow::Error> {
        self.0.fill_bytes(dest);
        Ok(())
    }
}

fn builder<'a>(seed: [u8; 32], key: &'a [u8; 32], prologue: &'a [u8]) -> snow::Builder<'a> {
    let params: NoiseParams = PATTERN.parse().expect("a valid Noise pattern");
    let resolver = FallbackResolver::new(Box::new(SeededRng(seed)), Box::new(DefaultResolver));
    snow::Builder::with_resolver(params, Box::new(resolver))
        .psk(0, key)
        .expect("psk slot 0 exists in NNpsk0")
        .prologue(prologue)
        .expect("the prologue is set once")
}

/// The connector's side of a handshake in progress.
#[derive(Debug)]
pub struct Initiated(Box<snow::HandshakeState>);

/// The listener's side of a handshake whose first message authenticated: ready to answer.
#[derive(Debug)]
pub struct Received(Box<snow::HandshakeState>);

/// An established session: each message encrypted and authenticated, in order.
#[derive(Debug)]
pub struct Secure(Box<snow::TransportState>, Vec<u8>);

/// Starts a handshake as the connector (`me`) to `peer`, sealing `payload` (who `me` is) under the
/// token; returns its state and the first message.
pub fn initiate(
    token: Token,
    me: &str,
    peer: &str,
    seed: [u8; 32],
    payload: &[u8],
) -> Result<(Initiated, Vec<u8>), NoiseError> {
    let key = psk(token);
    let pro = prologue(me, peer);
    let mut hs = builder(seed, &key, &pro).build_initiator()?;
    let mut msg = vec![0u8; MAX_MESSAGE];
    let n = hs.write_message(payload, &mut msg)?;
    msg.truncate(n);
    Ok((Initiated(Box::new(hs)), msg))
}

/// Reads a connector's first message as the listener (`me`), as if from `peer` with `token`; returns
/// the handshake, ready to answer, and the payload. It fails unless the message was made with that
/// token for those two names, so trying each expected peer in turn finds who connected. Cheap: no
/// key exchange happens before the answer (`seed` is used only then).
pub fn receive(
    token: Token,
    peer: &str,
    me: &str,
    seed: [u8; 32],
    first: &[u8],
) -> Result<(Received, Vec<u8>), NoiseError> {
    let key = psk(token);
    let pro = prologue(peer, me);
    let mut hs = builder(seed, &key, &pro).build_responder()?;
    let mut payload = vec![0u8; MAX_MESSAGE];
    let n = hs.read_message(first, &mut payload)?;
    payload.truncate(n);
    Ok((Received(Box::new(hs)), payload))
}

impl Received {
    /// Answers with `payload`; returns the session and the answer.
    pub fn answer(mut self, payload: &[u8]) -> Result<(Secure, Vec<u8>), NoiseError> {
        let mut msg = vec![0u8; MAX_MESSAGE];
        let n = self.0.write_message(payload, &mut msg)?;
        msg.truncate(n);
        let hash = self.0.get_handshake_hash().to_vec();
        Ok((Secure(Box::new(self.0.into_transport_mode()?), hash), msg))
    }
}

/// [`receive`] then [`Received::answer`]: the listener's whole part, when it knows who to expect.
pub fn respond(
    token: Token,
    peer: &str,
    me: &str,
    seed: [u8; 32],
    first: &[u8],
    payload: &[u8],
) -> Result<(Secure, Vec<u8>), NoiseError> {
    receive(token, peer, me, seed, first)?.0.answer(payload)
}

impl Initiated {
    /// Reads the listener's answer; returns the session and the answer's payload.
    pub fn finish(mut self, answer: &[u8]) -> Result<(Secure, Vec<u8>), NoiseError> {
        let mut payload = vec![0u8; MAX_MESSAGE];
        let n = self.0.read_message(answer, &mut payload)?;
        payload.truncate(n);
        let hash = self.0.get_handshake_hash().to_vec();
        Ok((
            Secure(Box::new(self.0.into_transport_mode()?), hash),
            payload,
        ))
    }
}

impl Secure {
    /// The handshake's hash: the same on both sides, and on no other session. Each side signs it
    /// with its identity key inside the session (see `private`), which binds the session to the two
    /// identities: a server in the middle, which knows the token, cannot make both sides' hashes
    /// match and hold both identity keys.
    pub fn handshake_hash(&self) -> &[u8] {
        &self.1
    }

    /// Encrypts one message.
    pub fn seal(&mut self, plain: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; plain.len() + TAG];
        let n = self
            .0
            .write_message(plain, &mut out)
            .expect("a message within the size limit encrypts");
        out.truncate(n);
        out
    }

    /// Decrypts and authenticates one message.
    pub fn open(&mut self, sealed: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let mut out = vec![0u8; sealed.len()];
        let n = self.0.read_message(sealed, &mut out)?;
        out.truncate(n);
        Ok(out)
    }
}

/// A fresh seed for the next handshake, from the core's RNG.
pub fn next_seed(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    seed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::p2p::{PeerMsg, handshake_payload};

    fn hello(user: &str) -> Vec<u8> {
        handshake_payload(&PeerMsg::Hello { user })
    }

    #[test]
    fn the_two_introduced_clients_talk_and_nobody_else_can() {
        let token = Token(0x1234_5678_9abc_def0_1111_2222_3333_4444);
        let (hs, first) = initiate(token, "alice", "bob", [1; 32], &hello("alice")).unwrap();
        let (received, said) = receive(token, "alice", "bob", [2; 32], &first).unwrap();
        assert_eq!(
            said,
            hello("alice"),
            "who connects, sealed in the first message"
        );
        let (mut bob, answer) = received.answer(b"OK bob").unwrap();
        let (mut alice, payload) = hs.finish(&answer).unwrap();
        assert_eq!(payload, b"OK bob");
        assert_eq!(alice.handshake_hash(), bob.handshake_hash());
        assert_eq!(alice.handshake_hash().len(), 32);
        let sealed = alice.seal(b"MSG just between us");
        assert!(
            !sealed.windows(7).any(|w| w == b"between"),
            "the text is not on the wire"
        );
        assert_eq!(bob.open(&sealed).unwrap(), b"MSG just between us");
        assert_eq!(alice.open(&bob.seal(b"MSG agreed")).unwrap(), b"MSG agreed");

        // A changed byte is caught.
        let mut tampered = alice.seal(b"MSG hi");
        tampered[3] ^= 1;
        assert!(bob.open(&tampered).is_err());

        // The wrong token, or another name on either side, fails the handshake: the first message
        // authenticates only as what it is, which is how the listener tells who connected.
        let (_, first) = initiate(token, "alice", "bob", [3; 32], &hello("alice")).unwrap();
        assert!(receive(Token(7), "alice", "bob", [4; 32], &first).is_err());
        assert!(receive(token, "mallory", "bob", [4; 32], &first).is_err());
        assert!(receive(token, "alice", "carol", [4; 32], &first).is_err());
        // Neither the token nor a name is anywhere in the first message.
        let hex = format!("{:032x}", token.0);
        assert!(!String::from_utf8_lossy(&first).contains(&hex));
        assert!(!first.windows(16).any(|w| w == token.0.to_be_bytes()));
        for name in ["alice", "bob"] {
            assert!(!first.windows(name.len()).any(|w| w == name.as_bytes()));
        }
    }

    #[test]
    fn handshake_messages_have_one_size() {
        let token = Token(42);
        for (a, b) in [("a", "b"), ("x".repeat(32).as_str(), "y")] {
            let (hs, first) = initiate(token, a, b, [1; 32], &hello(a)).unwrap();
            assert_eq!(first.len(), HANDSHAKE_LEN);
            let ok = handshake_payload(&PeerMsg::Ok { user: b });
            let (_, answer) = respond(token, a, b, [2; 32], &first, &ok).unwrap();
            assert_eq!(answer.len(), HANDSHAKE_LEN);
            hs.finish(&answer).unwrap();
        }
    }

    #[test]
    fn the_same_seed_makes_the_same_handshake_and_another_does_not() {
        let token = Token(99);
        let (_, a) = initiate(token, "a", "b", [5; 32], b"").unwrap();
        let (_, b) = initiate(token, "a", "b", [5; 32], b"").unwrap();
        let (_, c) = initiate(token, "a", "b", [6; 32], b"").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
