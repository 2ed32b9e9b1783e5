//! A deterministic stand-in for the real engine, for the core's own tests, the simulator and the fuzz
//! bodies: it follows the [`Engine`] contract (what each operation accepts, refuses and changes) so
//! that the *policy* built on it can be tested without the cryptography, and without randomness from
//! the operating system. It is **not cryptography**: every "secret" is derived from public values and
//! a seed, and anyone can forge its signatures. Never in a product build (feature `harness`).
//!
//! What it keeps of the contract, because the policy depends on it:
//! - identities and keys are unique per engine seed and shaped like the real ones (32-byte keys and
//!   64-byte signatures in unpadded base64), so the server core accepts them;
//! - a signature verifies only under the key that made it and only for the message it was made over;
//! - an Olm session made from a claimed one-time key sends pre-key messages until it has received one
//!   (then normal ones); a pre-key message sets the session up at the receiver once, using its
//!   one-time key up (a fallback key is kept); a message is decrypted at most once, only by the session
//!   it belongs to, and a changed byte makes it fail; the text never appears in clear in a message;
//! - a Megolm session numbers its messages; an inbound session made from a key shared at index `i`
//!   reads messages from `i` on and says each one's index.
//!
//! The real engine lives outside the core (it draws randomness from the OS); a contract test runs the
//! same scenarios against both ([`contract`]).

use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::engine::{
    Engine, EngineError, GroupPlain, Identity, Inbound, NewGroupSession, NewSession, OlmMessage,
    Pickle, PublicKey,
};
use super::{b64, fit};

/// The test engine: `seed` keeps two engines' keys apart; the counter makes each key new.
#[derive(Debug, Default)]
pub struct TestEngine {
    seed: u64,
    counter: AtomicU64,
    /// Pending pickles a step or a save has used up. The real engine keeps a pending session in
    /// one place only and takes it out when it is used, so a pending pickle works once: a core that
    /// stepped a copy of a session and then dropped the result would be left with a pickle that no
    /// longer opens. Refusing it here too lets the core's tests catch that.
    spent: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl TestEngine {
    /// An engine whose keys differ from those of an engine with another seed.
    pub fn new(seed: u64) -> TestEngine {
        TestEngine {
            seed,
            counter: AtomicU64::new(0),
            spent: Default::default(),
        }
    }

    /// An engine seeded by a name (a user's, in tests that give each device its own).
    pub fn named(name: &str) -> TestEngine {
        let h = Sha256::digest(name.as_bytes());
        TestEngine::new(u64::from_be_bytes(h[..8].try_into().expect("8 bytes")))
    }

    /// Refuses a pending pickle already used up, as the real engine, which no longer holds it.
    fn check_unspent(&self, pickle: &Pickle) -> Result<(), EngineError> {
        let spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        if pickle.0.starts_with(PENDING) && spent.contains(&pickle.0) {
            return Err(damaged("a pending session this engine no longer holds"));
        }
        Ok(())
    }

    /// A step or a save used `pickle` up, if it was pending.
    fn spend(&self, pickle: &Pickle) {
        if pickle.0.starts_with(PENDING) {
            let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
            spent.insert(pickle.0.clone());
        }
    }

    /// 32 new bytes, never the same twice from this engine.
    fn fresh(&self, what: &str) -> [u8; 32] {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        hash(&[what.as_bytes(), &self.seed.to_be_bytes(), &n.to_be_bytes()])
    }
}

fn hash(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// The "public" half of a fake key pair: both halves are public here.
fn public(secret: &[u8; 32], what: &str) -> String {
    b64::encode(hash(&[what.as_bytes(), secret]))
}

fn signature(ed25519: &str, message: &[u8]) -> String {
    let a = hash(&[b"sig", ed25519.as_bytes(), message]);
    let b = hash(&[b"sig2", &a]);
    b64::encode([a, b].concat())
}

fn damaged(e: impl std::fmt::Display) -> EngineError {
    EngineError::Pickle(e.to_string())
}

fn to_pickle<T: serde::Serialize>(value: &T) -> Pickle {
    Pickle(serde_json::to_string(value).expect("test engine state serialises"))
}

fn from_pickle<T: serde::de::DeserializeOwned>(pickle: &Pickle) -> Result<T, EngineError> {
    let text = pickle.0.strip_prefix(PENDING).unwrap_or(&pickle.0);
    serde_json::from_str(text).map_err(damaged)
}

/// What an Olm step leaves before a session's pickle, as a real engine leaves a stand-in
/// ([`Engine::materialise`]): the core's tests then see, in what it saves, any pending pickle it
/// failed to materialise.
pub const PENDING: &str = "pending:";

/// A session's pickle as an Olm step leaves it: pending.
fn pending(session: &Session) -> Pickle {
    Pickle(format!("{PENDING}{}", to_pickle(session).0))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Account {
    secret: [u8; 32],
    next_key: u64,
    /// (id, public key) of unused one-time keys.
    one_time: Vec<(String, String)>,
    /// The newest fallback key last; the one before is kept too.
    fallback: Vec<(String, String)>,
}

impl Account {
    fn identity(&self) -> Identity {
        Identity {
            curve25519: public(&self.secret, "curve"),
            ed25519: public(&self.secret, "ed"),
        }
    }

    fn new_key(&mut self) -> PublicKey {
        self.next_key += 1;
        let n = self.next_key.to_be_bytes();
        PublicKey {
            key_id: b64::encode(n),
            curve25519: b64::encode(hash(&[b"otk", &self.secret, &n])),
        }
    }
}

/// One end of a fake Olm session. Both ends derive the same `key` from public values.
#[derive(serde::Serialize, serde::Deserialize)]
struct Session {
    id: String,
    key: [u8; 32],
    /// 0 for the end that made the session from a claimed key, 1 for the one a pre-key message made.
    role: u8,
    /// What a pre-key message must carry for the other end to set the session up.
    sender_curve: String,
    one_time: String,
    next_index: u32,
    /// A message of the other end was decrypted: send normal messages from now on.
    received: bool,
    /// Indexes of the other end's messages decrypted (each is decrypted at most once).
    used: Vec<u32>,
}

/// One fake Olm message, read back from its bytes ([`Wire::to_bytes`]).
struct Wire {
    session: String,
    role: u8,
    index: u32,
    /// Pre-key messages only: the sender's identity and the one-time key used.
    sender_curve: Option<String>,
    one_time: Option<String>,
    body: Vec<u8>,
    check: [u8; 8],
}

/// The real formats' sizes (as `fit` bounds them) for `plain` bytes of plaintext: the fake pads its
/// messages to them, so that what fits a line with one engine fits with the other.
fn padded(overhead: usize, plain: usize) -> usize {
    overhead + (plain / fit::CBC_PAD + 1) * fit::CBC_PAD
}

fn key32(text: &str) -> Result<[u8; 32], EngineError> {
    b64::decode(text)
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .ok_or_else(|| EngineError::Malformed {
            what: "key",
            why: "not 32 bytes of base64".into(),
        })
}

/// Reads fixed-size fields off the front of a message.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EngineError> {
        if self.0.len() < n {
            return Err(EngineError::Malformed {
                what: "message",
                why: "too short".into(),
            });
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32, EngineError> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn key(&mut self) -> Result<String, EngineError> {
        Ok(b64::encode(self.take(32)?))
    }
    /// The body, then the padding, which must be zeros (so that no byte of a message can change
    /// unnoticed, as in the real formats).
    fn body(&mut self) -> Result<Vec<u8>, EngineError> {
        let n = u16::from_be_bytes(self.take(2)?.try_into().expect("2 bytes"));
        let body = self.take(usize::from(n))?.to_vec();
        if self.0.iter().any(|b| *b != 0) {
            return Err(EngineError::Decrypt("the message was changed".into()));
        }
        Ok(body)
    }
}

impl Wire {
    fn to_bytes(&self) -> Result<Vec<u8>, EngineError> {
        let mut out = vec![u8::from(self.sender_curve.is_none()), self.role];
        out.extend(self.index.to_be_bytes());
        out.extend(key32(&self.session)?);
        if let (Some(s), Some(k)) = (&self.sender_curve, &self.one_time) {
            out.extend(key32(s)?);
            out.extend(key32(k)?);
        }
        out.extend(self.check);
        out.extend((self.body.len() as u16).to_be_bytes());
        out.extend(&self.body);
        let overhead = match self.sender_curve {
            Some(_) => fit::OLM_PRE_KEY + fit::OLM_NORMAL,
            None => fit::OLM_NORMAL,
        };
        out.resize(padded(overhead, self.body.len()).max(out.len()), 0);
        Ok(out)
    }
}

fn keystream_xor(key: &[u8; 32], label: &[u8], index: u32, data: &[u8]) -> Vec<u8> {
    data.chunks(32)
        .enumerate()
        .flat_map(|(block, chunk)| {
            let pad = hash(&[
                label,
                key,
                &index.to_be_bytes(),
                &(block as u64).to_be_bytes(),
            ]);
            chunk
                .iter()
                .zip(pad)
                .map(|(b, p)| b ^ p)
                .collect::<Vec<u8>>()
        })
        .collect()
}

fn check(key: &[u8; 32], session: &str, role: u8, index: u32, body: &[u8]) -> [u8; 8] {
    let h = hash(&[
        b"check",
        key,
        session.as_bytes(),
        &[role],
        &index.to_be_bytes(),
        body,
    ]);
    h[..8].try_into().expect("8 bytes")
}

fn wire(message: &OlmMessage) -> Result<Wire, EngineError> {
    let mut r = Reader(&message.body);
    let normal = r.take(1)?[0];
    if (normal == 0) != message.pre_key {
        return Err(EngineError::Malformed {
            what: "Olm message",
            why: "its kind does not match its fields".into(),
        });
    }
    let role = r.take(1)?[0];
    let index = r.u32()?;
    let session = r.key()?;
    let (sender_curve, one_time) = if message.pre_key {
        (Some(r.key()?), Some(r.key()?))
    } else {
        (None, None)
    };
    let check = r.take(8)?.try_into().expect("8 bytes");
    Ok(Wire {
        session,
        role,
        index,
        sender_curve,
        one_time,
        check,
        body: r.body()?,
    })
}

fn session_key(a: &str, b: &str, one_time: &str) -> [u8; 32] {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    hash(&[b"olm", lo.as_bytes(), hi.as_bytes(), one_time.as_bytes()])
}

#[derive(serde::Serialize, serde::Deserialize)]
struct GroupSession {
    id: String,
    key: [u8; 32],
    /// Outbound: the next index to use. Inbound: the first index readable.
    index: u32,
}

impl Engine for TestEngine {
    fn new_account(&self) -> Result<Pickle, EngineError> {
        Ok(to_pickle(&Account {
            secret: self.fresh("account"),
            next_key: 0,
            one_time: Vec::new(),
            fallback: Vec::new(),
        }))
    }

    fn identity(&self, account: &Pickle) -> Result<Identity, EngineError> {
        Ok(from_pickle::<Account>(account)?.identity())
    }

    fn sign(&self, account: &Pickle, messages: &[&[u8]]) -> Result<Vec<String>, EngineError> {
        let ed = from_pickle::<Account>(account)?.identity().ed25519;
        Ok(messages.iter().map(|m| signature(&ed, m)).collect())
    }

    fn verify(&self, ed25519: &str, message: &[u8], sig: &str) -> Result<(), EngineError> {
        let malformed = |what, why: &str| EngineError::Malformed {
            what,
            why: why.into(),
        };
        if b64::decode(ed25519).map(|k| k.len()) != Ok(32) {
            return Err(malformed("Ed25519 key", "not 32 bytes of base64"));
        }
        if b64::decode(sig).map(|s| s.len()) != Ok(64) {
            return Err(malformed("signature", "not 64 bytes of base64"));
        }
        if signature(ed25519, message) == sig {
            Ok(())
        } else {
            Err(EngineError::BadSignature)
        }
    }

    fn new_one_time_keys(
        &self,
        account: &mut Pickle,
        count: usize,
    ) -> Result<Vec<PublicKey>, EngineError> {
        let mut a: Account = from_pickle(account)?;
        let keys: Vec<PublicKey> = (0..count).map(|_| a.new_key()).collect();
        a.one_time.extend(
            keys.iter()
                .map(|k| (k.key_id.clone(), k.curve25519.clone())),
        );
        *account = to_pickle(&a);
        Ok(keys)
    }

    fn stored_one_time_keys(&self, account: &Pickle) -> Result<usize, EngineError> {
        Ok(from_pickle::<Account>(account)?.one_time.len())
    }

    fn new_fallback_key(&self, account: &mut Pickle) -> Result<PublicKey, EngineError> {
        let mut a: Account = from_pickle(account)?;
        let key = a.new_key();
        a.fallback
            .push((key.key_id.clone(), key.curve25519.clone()));
        if a.fallback.len() > 2 {
            a.fallback.remove(0);
        }
        *account = to_pickle(&a);
        Ok(key)
    }

    fn outbound(
        &self,
        account: &Pickle,
        curve25519: &str,
        one_time_key: &str,
    ) -> Result<NewSession, EngineError> {
        let a: Account = from_pickle(account)?;
        for (what, key) in [("identity key", curve25519), ("one-time key", one_time_key)] {
            if b64::decode(key).map(|k| k.len()) != Ok(32) {
                return Err(EngineError::Malformed {
                    what,
                    why: "not 32 bytes of base64".into(),
                });
            }
        }
        let mine = a.identity().curve25519;
        let id = b64::encode(self.fresh("session"));
        let session = Session {
            key: session_key(&mine, curve25519, one_time_key),
            id: id.clone(),
            role: 0,
            sender_curve: mine,
            one_time: one_time_key.to_owned(),
            next_index: 0,
            received: false,
            used: Vec::new(),
        };
        Ok(NewSession {
            session_id: id,
            pickle: to_pickle(&session),
        })
    }

    fn session_of(&self, message: &OlmMessage) -> Result<Option<String>, EngineError> {
        let w = wire(message)?;
        Ok(message.pre_key.then_some(w.session))
    }

    fn inbound(&self, account: &mut Pickle, message: &OlmMessage) -> Result<Inbound, EngineError> {
        let w = wire(message)?;
        let (Some(sender), Some(one_time)) = (&w.sender_curve, &w.one_time) else {
            return Err(EngineError::Decrypt(
                "not a pre-key message, and no session it belongs to".into(),
            ));
        };
        let mut a: Account = from_pickle(account)?;
        if let Some(i) = a.one_time.iter().position(|(_, k)| k == one_time) {
            a.one_time.remove(i);
        } else if !a.fallback.iter().any(|(_, k)| k == one_time) {
            return Err(EngineError::Decrypt(
                "the one-time key it was made with is not (or no longer) this device's".into(),
            ));
        }
        let key = session_key(&a.identity().curve25519, sender, one_time);
        let mut session = Session {
            id: w.session.clone(),
            key,
            role: 1,
            sender_curve: a.identity().curve25519,
            one_time: one_time.clone(),
            next_index: 0,
            received: false,
            used: Vec::new(),
        };
        let plaintext = open(&mut session, &w)?;
        *account = to_pickle(&a);
        Ok(Inbound {
            session: NewSession {
                session_id: w.session,
                pickle: to_pickle(&session),
            },
            sender_curve25519: sender.clone(),
            one_time_key: one_time.clone(),
            plaintext,
        })
    }

    fn encrypt(&self, session: &mut Pickle, plaintext: &[u8]) -> Result<OlmMessage, EngineError> {
        self.check_unspent(session)?;
        let mut s: Session = from_pickle(session)?;
        let pre_key = s.role == 0 && !s.received;
        let index = s.next_index;
        s.next_index += 1;
        let body = keystream_xor(&s.key, &[s.role], index, plaintext);
        let w = Wire {
            check: check(&s.key, &s.id, s.role, index, &body),
            session: s.id.clone(),
            role: s.role,
            index,
            sender_curve: pre_key.then(|| s.sender_curve.clone()),
            one_time: pre_key.then(|| s.one_time.clone()),
            body,
        };
        self.spend(session);
        *session = pending(&s);
        Ok(OlmMessage {
            pre_key,
            body: w.to_bytes()?,
        })
    }

    fn decrypt(&self, session: &mut Pickle, message: &OlmMessage) -> Result<Vec<u8>, EngineError> {
        self.check_unspent(session)?;
        let mut s: Session = from_pickle(session)?;
        let plaintext = open(&mut s, &wire(message)?)?;
        self.spend(session);
        *session = pending(&s);
        Ok(plaintext)
    }

    fn materialise(&self, session: &mut Pickle) -> Result<(), EngineError> {
        self.check_unspent(session)?;
        self.spend(session);
        if let Some(whole) = session.0.strip_prefix(PENDING) {
            *session = Pickle(whole.to_owned());
        }
        Ok(())
    }

    fn new_group_session(&self) -> Result<NewGroupSession, EngineError> {
        let key = self.fresh("group");
        let session = GroupSession {
            id: public(&key, "group"),
            key,
            index: 0,
        };
        Ok(NewGroupSession {
            session_id: session.id.clone(),
            session_key: group_key(&session),
            pickle: to_pickle(&session),
        })
    }

    fn group_encrypt(
        &self,
        session: &mut Pickle,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, EngineError> {
        let mut s: GroupSession = from_pickle(session)?;
        let body = keystream_xor(&s.key, b"group", s.index, plaintext);
        let mut out = s.index.to_be_bytes().to_vec();
        out.extend(key32(&s.id)?);
        out.extend(check(&s.key, &s.id, 2, s.index, &body));
        out.extend((body.len() as u16).to_be_bytes());
        out.extend(&body);
        out.resize(padded(fit::MEGOLM, body.len()).max(out.len()), 0);
        s.index += 1;
        *session = to_pickle(&s);
        Ok(out)
    }

    fn group_inbound(&self, session_key: &str) -> Result<(String, Pickle), EngineError> {
        let malformed = |why: String| EngineError::Malformed {
            what: "group session key",
            why,
        };
        let bytes = b64::decode(session_key).map_err(|e| malformed(e.to_string()))?;
        let s: GroupSession =
            serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
        Ok((s.id.clone(), to_pickle(&s)))
    }

    fn group_decrypt(&self, session: &Pickle, message: &[u8]) -> Result<GroupPlain, EngineError> {
        let s: GroupSession = from_pickle(session)?;
        let mut r = Reader(message);
        let index = r.u32()?;
        let id = r.key()?;
        let sum: [u8; 8] = r.take(8)?.try_into().expect("8 bytes");
        let body = r.body()?;
        if id != s.id || sum != check(&s.key, &s.id, 2, index, &body) {
            return Err(EngineError::Decrypt(
                "not of this session, or changed".into(),
            ));
        }
        if index < s.index {
            return Err(EngineError::Decrypt(format!(
                "message {index} is older than the key this device was given"
            )));
        }
        Ok(GroupPlain {
            plaintext: keystream_xor(&s.key, b"group", index, &body),
            index,
        })
    }
}

/// A Megolm session's key as shared with members: the session at its current index.
fn group_key(s: &GroupSession) -> String {
    b64::encode(serde_json::to_vec(s).expect("serialises"))
}

/// Decrypts `w` with the session `s` (its other end's message), once.
fn open(s: &mut Session, w: &Wire) -> Result<Vec<u8>, EngineError> {
    if w.session != s.id || w.role == s.role {
        return Err(EngineError::Decrypt("not a message of this session".into()));
    }
    if w.check != check(&s.key, &s.id, w.role, w.index, &w.body) {
        return Err(EngineError::Decrypt("the message was changed".into()));
    }
    if s.used.contains(&w.index) {
        return Err(EngineError::Decrypt(
            "this message was decrypted before (its key is used up)".into(),
        ));
    }
    s.used.push(w.index);
    s.received = true;
    Ok(keystream_xor(&s.key, &[w.role], w.index, &w.body))
}

/// Scenarios every engine must pass: the test engine here, the real one where it lives. Each panics
/// with what failed.
pub mod contract {
    use super::super::engine::{Engine, OlmMessage};

    /// Signatures, Olm both ways from a claimed key, the one-time key used up (and named by the
    /// message that used it), replays and tampering refused, Megolm from a shared key.
    pub fn holds(a: &dyn Engine, b: &dyn Engine) {
        let mut alice = a.new_account().unwrap();
        let mut bob = b.new_account().unwrap();
        let alice_id = a.identity(&alice).unwrap();
        let bob_id = b.identity(&bob).unwrap();
        assert_ne!(alice_id, bob_id, "two accounts, two identities");

        let sig = b.sign(&bob, &[b"statement"]).unwrap().remove(0);
        a.verify(&bob_id.ed25519, b"statement", &sig)
            .expect("a signature verifies under its key");
        assert!(a.verify(&bob_id.ed25519, b"other", &sig).is_err());
        assert!(a.verify(&alice_id.ed25519, b"statement", &sig).is_err());

        assert_eq!(b.stored_one_time_keys(&bob).unwrap(), 0);
        let keys = b.new_one_time_keys(&mut bob, 2).unwrap();
        assert_eq!(b.stored_one_time_keys(&bob).unwrap(), 2);
        let fallback = b.new_fallback_key(&mut bob).unwrap();
        let mut out = a
            .outbound(&alice, &bob_id.curve25519, &keys[0].curve25519)
            .unwrap();
        let first = a.encrypt(&mut out.pickle, b"hello bob").unwrap();
        assert!(first.pre_key, "the first message sets the session up");
        assert!(!first.body.windows(5).any(|w| w == b"hello"));
        assert_eq!(a.session_of(&first).unwrap(), Some(out.session_id.clone()));
        let before = bob.clone();
        let inbound = b.inbound(&mut bob, &first).unwrap();
        assert_eq!(inbound.plaintext, b"hello bob");
        assert_eq!(inbound.sender_curve25519, alice_id.curve25519);
        assert_eq!(inbound.session.session_id, out.session_id);
        assert_eq!(inbound.one_time_key, keys[0].curve25519, "the key it used");
        assert_eq!(b.stored_one_time_keys(&bob).unwrap(), 1, "used up");
        let mut bob_session = inbound.session.pickle;
        assert!(
            b.inbound(&mut bob, &first).is_err(),
            "the one-time key is used up"
        );
        let mut again = before;
        assert!(b.inbound(&mut again, &first).is_ok(), "as it was before");

        let second = a.encrypt(&mut out.pickle, b"second").unwrap();
        assert!(second.pre_key, "until a reply comes");
        assert_eq!(b.decrypt(&mut bob_session, &second).unwrap(), b"second");
        assert!(
            b.decrypt(&mut bob_session, &second).is_err(),
            "decrypted once"
        );
        let reply = b.encrypt(&mut bob_session, b"hi alice").unwrap();
        assert!(!reply.pre_key);
        assert_eq!(a.decrypt(&mut out.pickle, &reply).unwrap(), b"hi alice");
        let third = a.encrypt(&mut out.pickle, b"third").unwrap();
        assert!(!third.pre_key, "a reply came: normal messages from now on");
        let mut changed = third.clone();
        let middle = changed.body.len() / 2;
        changed.body[middle] ^= 1;
        let mut copy = bob_session.clone();
        assert!(b.decrypt(&mut copy, &changed).is_err(), "a changed byte");
        assert!(
            b.decrypt(
                &mut copy,
                &OlmMessage {
                    pre_key: false,
                    body: vec![1, 2, 3]
                }
            )
            .is_err()
        );
        assert_eq!(b.decrypt(&mut bob_session, &third).unwrap(), b"third");

        // A session made whole again is the session: another engine (another run) goes on from it,
        // and materialising twice changes nothing.
        a.materialise(&mut out.pickle).unwrap();
        let whole = out.pickle.clone();
        a.materialise(&mut out.pickle).unwrap();
        assert_eq!(out.pickle, whole);
        let later = b.encrypt(&mut out.pickle, b"after a save").unwrap();
        assert_eq!(
            b.decrypt(&mut bob_session, &later).unwrap(),
            b"after a save"
        );
        let mut copy = bob_session.clone();
        b.materialise(&mut copy).unwrap();
        let last = b.encrypt(&mut out.pickle, b"last").unwrap();
        assert_eq!(a.decrypt(&mut copy, &last).unwrap(), b"last");

        // The fallback key works for more than one session.
        for _ in 0..2 {
            let mut s = a
                .outbound(&alice, &bob_id.curve25519, &fallback.curve25519)
                .unwrap();
            let m = a.encrypt(&mut s.pickle, b"via fallback").unwrap();
            let inbound = b.inbound(&mut bob, &m).unwrap();
            assert_eq!(inbound.plaintext, b"via fallback");
            assert_eq!(inbound.one_time_key, fallback.curve25519);
        }

        // Megolm: each message's index is told, a changed byte is caught.
        let mut group = a.new_group_session().unwrap();
        let m0 = a.group_encrypt(&mut group.pickle, b"zero").unwrap();
        let m1 = a.group_encrypt(&mut group.pickle, b"one").unwrap();
        let (id, inbound) = b.group_inbound(&group.session_key).unwrap();
        assert_eq!(id, group.session_id);
        let plain = b.group_decrypt(&inbound, &m1).unwrap();
        assert_eq!((plain.plaintext.as_slice(), plain.index), (&b"one"[..], 1));
        assert_eq!(b.group_decrypt(&inbound, &m0).unwrap().index, 0);
        assert!(!m1.windows(3).any(|w| w == b"one"));
        let mut bad = m1.clone();
        bad[m1.len() / 2] ^= 1;
        assert!(b.group_decrypt(&inbound, &bad).is_err());
        let other = a.new_group_session().unwrap();
        let (_, other) = b.group_inbound(&other.session_key).unwrap();
        assert!(b.group_decrypt(&other, &m1).is_err(), "another session's");
        alice = a.new_account().unwrap();
        assert_ne!(a.identity(&alice).unwrap(), alice_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_engine_keeps_the_engine_contract() {
        contract::holds(&TestEngine::new(1), &TestEngine::new(2));
    }
}
