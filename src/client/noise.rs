//! The private chat's encryption: the Noise protocol framework (`snow`), pattern
//! `Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s`.
//!
//! - **Who can complete the handshake**: only a party that knows the one-time token the server gave the
//!   two clients it introduced. The token becomes the pre-shared key (never sent in any form), so a
//!   stranger who connects to a client's listener, or an eavesdropper, cannot open or read a session.
//! - **Forward secrecy**: each side contributes a fresh ephemeral key; once a session ends, its keys
//!   are gone, and even the token (which the server knows) does not decrypt a recorded session.
//! - **Bound to the two names**: the prologue holds both usernames, so a relay that rewrites who the
//!   connector claims to be breaks the handshake.
//!
//! What the server can do (docs/DESIGN.md): it knows the token, so a server that set out to, and sat on
//! the path, could impersonate each side to the other. A server that only brokers, and anyone who only
//! watches the network, learns nothing of the text.
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

/// Both usernames, connector first: what the handshake is bound to.
fn prologue(connector: &str, listener: &str) -> Vec<u8> {
    format!("natter-p2p/2\0{connector}\0{listener}").into_bytes()
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

/// An established session: each message encrypted and authenticated, in order.
#[derive(Debug)]
pub struct Secure(Box<snow::TransportState>);

/// Starts a handshake as the connector (`me`) to `peer`; returns its state and the first message.
pub fn initiate(
    token: Token,
    me: &str,
    peer: &str,
    seed: [u8; 32],
) -> Result<(Initiated, Vec<u8>), NoiseError> {
    let key = psk(token);
    let pro = prologue(me, peer);
    let mut hs = builder(seed, &key, &pro).build_initiator()?;
    let mut msg = vec![0u8; MAX_MESSAGE];
    let n = hs.write_message(&[], &mut msg)?;
    msg.truncate(n);
    Ok((Initiated(Box::new(hs)), msg))
}

/// Answers a connector's first message as the listener (`me`), for `peer` and the token this side
/// expects, carrying `payload`; returns the session and the answer.
pub fn respond(
    token: Token,
    peer: &str,
    me: &str,
    seed: [u8; 32],
    first: &[u8],
    payload: &[u8],
) -> Result<(Secure, Vec<u8>), NoiseError> {
    let key = psk(token);
    let pro = prologue(peer, me);
    let mut hs = builder(seed, &key, &pro).build_responder()?;
    let mut scratch = vec![0u8; MAX_MESSAGE];
    hs.read_message(first, &mut scratch)?;
    let mut msg = vec![0u8; MAX_MESSAGE];
    let n = hs.write_message(payload, &mut msg)?;
    msg.truncate(n);
    Ok((Secure(Box::new(hs.into_transport_mode()?)), msg))
}

impl Initiated {
    /// Reads the listener's answer; returns the session and the answer's payload.
    pub fn finish(mut self, answer: &[u8]) -> Result<(Secure, Vec<u8>), NoiseError> {
        let mut payload = vec![0u8; MAX_MESSAGE];
        let n = self.0.read_message(answer, &mut payload)?;
        payload.truncate(n);
        Ok((Secure(Box::new(self.0.into_transport_mode()?)), payload))
    }
}

impl Secure {
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

    #[test]
    fn the_two_introduced_clients_talk_and_nobody_else_can() {
        let token = Token(0x1234_5678_9abc_def0_1111_2222_3333_4444);
        let (hs, first) = initiate(token, "alice", "bob", [1; 32]).unwrap();
        let (mut bob, answer) = respond(token, "alice", "bob", [2; 32], &first, b"OK bob").unwrap();
        let (mut alice, payload) = hs.finish(&answer).unwrap();
        assert_eq!(payload, b"OK bob");
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

        // The wrong token, or another name in the prologue, fails the handshake.
        let (_, first) = initiate(token, "alice", "bob", [3; 32]).unwrap();
        assert!(respond(Token(7), "alice", "bob", [4; 32], &first, b"").is_err());
        assert!(respond(token, "mallory", "bob", [4; 32], &first, b"").is_err());
        // The token is nowhere in the first message.
        let hex = format!("{:032x}", token.0);
        assert!(!String::from_utf8_lossy(&first).contains(&hex));
        assert!(!first.windows(16).any(|w| w == token.0.to_be_bytes()));
    }

    #[test]
    fn the_same_seed_makes_the_same_handshake_and_another_does_not() {
        let token = Token(99);
        let (_, a) = initiate(token, "a", "b", [5; 32]).unwrap();
        let (_, b) = initiate(token, "a", "b", [5; 32]).unwrap();
        let (_, c) = initiate(token, "a", "b", [6; 32]).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
