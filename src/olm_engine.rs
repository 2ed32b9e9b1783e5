//! The real [`Engine`]: vodozemac, Matrix's audited Rust implementation of Olm and Megolm. Every
//! operation unpickles what it is given, calls vodozemac, and pickles what changed (an Olm step
//! leaves its session pickled only when the core saves it: [`Engine::materialise`]); nothing of the
//! cryptography is natter's own. Pickles are vodozemac's serde forms as JSON (kept owner-only on disk
//! by the shell, not encrypted again: see docs/DESIGN.md).
//!
//! vodozemac draws its randomness from the operating system, which is why it is not part of the core:
//! the core reaches an engine only through its trait (`natter_core::client::e2e::engine`), and this
//! crate hands this one in. The core's own tests use a deterministic stand-in that keeps the same
//! contract (`test_engine`); the contract test below holds both to it.

use vodozemac::megolm::{
    GroupSession, GroupSessionPickle, InboundGroupSession, InboundGroupSessionPickle,
    MegolmMessage, SessionConfig as MegolmConfig, SessionKey,
};
use vodozemac::olm::{
    Account, AccountPickle, OlmMessage as VOlmMessage, Session, SessionConfig, SessionKeys,
    SessionPickle,
};
use vodozemac::{Curve25519PublicKey, Ed25519PublicKey, Ed25519Signature};

use natter_core::client::e2e::engine::{
    Engine, EngineError, GroupPlain, Identity, Inbound, NewGroupSession, NewSession, OlmMessage,
    Pickle, PublicKey,
};

/// The vodozemac engine. Olm sessions use version 1 of Olm's session format (the one every Olm
/// implementation speaks), Megolm sessions version 1 likewise.
///
/// It keeps the sessions it handed back last, live, keyed by their pickles: the core passes the same
/// pickle back with the next message of a conversation, and unpickling a session costs a scalar
/// multiplication (its ratchet's public key is derived again) and a JSON parse, which were most of
/// an encrypted message's cost. A session is found only by a pickle equal to the one it was
/// pickled to, and taken out when used, so the engine behaves exactly as a stateless one: this is
/// a memo, not state.
///
/// An Olm step leaves its session *pending* ([`Engine::materialise`]): live here under a short
/// stand-in, pickled only when the core saves the conversation (once per commit, however many
/// messages the burst had), since pickling and serialising a session cost about as much again as
/// the step itself.
#[derive(Debug, Default)]
pub struct Vodozemac {
    olm: Memo<Box<Session>>,
    pending: Pending,
    decoded: Decoded,
    group_out: Memo<GroupSession>,
    group_in: Memo<InboundGroupSession>,
}

/// Live objects by the pickle they were last pickled to (at most [`Memo::CAP`], the oldest dropped),
/// found by comparing the pickles themselves, newest first (the one just used is nearly always the
/// one wanted next, and two pickles differ within their first bytes): hashing each pickle to find
/// it cost more than the comparisons.
struct Memo<T>(std::sync::Mutex<std::collections::VecDeque<(String, T)>>);

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Memo(Default::default())
    }
}

impl<T> std::fmt::Debug for Memo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

impl<T> Memo<T> {
    const CAP: usize = 64;

    /// The live object pickled to `pickle`, taken out; or `make` from the pickle.
    fn take(
        &self,
        pickle: &Pickle,
        make: impl FnOnce(&Pickle) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let found = {
            let mut memo = self.0.lock().unwrap_or_else(|e| e.into_inner());
            memo.iter()
                .rposition(|(p, _)| *p == pickle.0)
                .and_then(|i| memo.remove(i))
        };
        match found {
            Some((_, live)) => Ok(live),
            None => make(pickle),
        }
    }

    /// Keeps `live`, which was just pickled to `pickle`.
    fn keep(&self, pickle: &Pickle, live: T) {
        let mut memo = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() == Self::CAP {
            memo.pop_front();
        }
        memo.push_back((pickle.0.clone(), live));
    }
}

/// Olm sessions left pending by a step: live, by the number their stand-in pickle names. Each is
/// taken out by the next step on it (and kept again under a new number) or by
/// [`Engine::materialise`]; none is ever dropped to bound the map, since a pending session exists
/// nowhere else (the core materialises every session it saves at each commit, so the map holds
/// about one entry per conversation written to since). A session the core itself drops while it
/// is pending (one beyond the sessions it keeps per contact, or a device closed to open another)
/// stays here until the process ends: a few KB, rarely.
///
/// Sessions are boxed here and wherever the engine holds one: a vodozemac `Session` is about 3.8 KB
/// by value (five receiving chains of forty skipped message keys each, inline), and every message
/// moved it out of the map, through the step and back in, several copies of it each way, which cost
/// as much as the step's key derivation; a box moves as a pointer.
#[derive(Default)]
struct Pending {
    live: std::sync::Mutex<std::collections::HashMap<u64, Box<Session>>>,
    next: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}

/// What a pending pickle says: never the start of a whole one (vodozemac's JSON objects).
const PENDING: &str = "pending-olm-session:";

impl Pending {
    /// The number a pending pickle names, or `None` for a whole pickle.
    fn number(pickle: &Pickle) -> Option<u64> {
        pickle.0.strip_prefix(PENDING)?.parse().ok()
    }

    fn take(&self, n: u64) -> Result<Box<Session>, EngineError> {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&n)
            .ok_or_else(|| {
                EngineError::Pickle("a pending session this engine no longer holds".into())
            })
    }

    fn put(&self, n: u64, session: Box<Session>) {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(n, session);
    }

    /// Keeps `session` pending under a new number, the stand-in pickle of which it returns.
    fn keep(&self, session: Box<Session>) -> Pickle {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.put(n, session);
        Pickle(format!("{PENDING}{n}"))
    }
}

/// The last Olm message [`Engine::session_of`] decoded, by its bytes, and the last session id it
/// worked out, by the three keys it is the hash of. The core asks which session a message belongs
/// to and then decrypts that same message: the decryption takes the decoded message from here
/// rather than decoding it again (two levels of protobuf, six copies); and in a one-way burst, where
/// every message is a pre-key message naming the same session (Olm repeats the session's keys until
/// the peer's first answer), the id is the one worked out for the message before, not hashed and
/// encoded again. Both are functions of the bytes alone, so this too is a memo, not state.
#[derive(Default)]
struct Decoded(std::sync::Mutex<LastDecoded>);

#[derive(Default)]
struct LastDecoded {
    /// The message: whether it came as a pre-key message, its bytes, and what they decode to.
    message: Option<(bool, Vec<u8>, VOlmMessage)>,
    /// The session id of these keys.
    id: Option<(SessionKeys, String)>,
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decoded")
    }
}

impl Decoded {
    fn lock(&self) -> std::sync::MutexGuard<'_, LastDecoded> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `message` decoded: taken from the memo if it holds these very bytes, else decoded now.
    fn take(&self, message: &OlmMessage) -> Result<VOlmMessage, EngineError> {
        let mut last = self.lock();
        match last.message.take() {
            Some((pre_key, body, decoded))
                if pre_key == message.pre_key && body == message.body =>
            {
                Ok(decoded)
            }
            other => {
                last.message = other;
                drop(last);
                olm_message(message)
            }
        }
    }

    /// Keeps `decoded`, what `message` decodes to, for the step that follows.
    fn keep(&self, message: &OlmMessage, decoded: VOlmMessage) {
        self.lock().message = Some((message.pre_key, message.body.clone(), decoded));
    }

    /// The id of the session made of `keys`.
    fn session_id(&self, keys: SessionKeys) -> String {
        let mut last = self.lock();
        match &last.id {
            Some((k, id)) if *k == keys => id.clone(),
            _ => {
                let id = keys.session_id();
                last.id = Some((keys, id.clone()));
                id
            }
        }
    }
}

impl Vodozemac {
    /// The live session `pickle` names (pending or whole), taken out, and its pending number.
    fn take_olm(&self, pickle: &Pickle) -> Result<(Box<Session>, Option<u64>), EngineError> {
        match Pending::number(pickle) {
            Some(n) => Ok((self.pending.take(n)?, Some(n))),
            None => Ok((self.olm.take(pickle, session)?, None)),
        }
    }

    /// A step on the session failed. vodozemac changes a session only once a step succeeded
    /// (its decryption works on copies of the chains, replaced on success), so a pending session,
    /// which exists nowhere else, goes back as it was; a whole one is dropped (its pickle is
    /// unpickled again at the next use), as before pending pickles.
    fn failed(&self, session: Box<Session>, pending: Option<u64>) {
        if let Some(n) = pending {
            self.pending.put(n, session);
        }
    }
}

fn to_pickle<T: serde::Serialize>(value: &T) -> Result<Pickle, EngineError> {
    serde_json::to_string(value)
        .map(Pickle)
        .map_err(|e| EngineError::Pickle(e.to_string()))
}

fn from_pickle<T: serde::de::DeserializeOwned>(pickle: &Pickle) -> Result<T, EngineError> {
    serde_json::from_str(&pickle.0).map_err(|e| EngineError::Pickle(e.to_string()))
}

fn account(pickle: &Pickle) -> Result<Account, EngineError> {
    Ok(Account::from_pickle(from_pickle::<AccountPickle>(pickle)?))
}

fn session(pickle: &Pickle) -> Result<Box<Session>, EngineError> {
    Ok(Box::new(Session::from_pickle(
        from_pickle::<SessionPickle>(pickle)?,
    )))
}

fn curve(what: &'static str, key: &str) -> Result<Curve25519PublicKey, EngineError> {
    Curve25519PublicKey::from_base64(key).map_err(|e| EngineError::Malformed {
        what,
        why: e.to_string(),
    })
}

fn olm_message(message: &OlmMessage) -> Result<VOlmMessage, EngineError> {
    VOlmMessage::from_parts(usize::from(!message.pre_key), &message.body).map_err(|e| {
        EngineError::Malformed {
            what: "Olm message",
            why: e.to_string(),
        }
    })
}

fn from_olm(message: &VOlmMessage) -> OlmMessage {
    let (kind, body) = message.to_parts();
    OlmMessage {
        pre_key: kind == 0,
        body,
    }
}

impl Engine for Vodozemac {
    fn new_account(&self) -> Result<Pickle, EngineError> {
        to_pickle(&Account::new().pickle())
    }

    fn identity(&self, pickle: &Pickle) -> Result<Identity, EngineError> {
        let keys = account(pickle)?.identity_keys();
        Ok(Identity {
            curve25519: keys.curve25519.to_base64(),
            ed25519: keys.ed25519.to_base64(),
        })
    }

    fn sign(&self, pickle: &Pickle, messages: &[&[u8]]) -> Result<Vec<String>, EngineError> {
        let account = account(pickle)?;
        Ok(messages
            .iter()
            .map(|m| account.sign(m).to_base64())
            .collect())
    }

    fn verify(&self, ed25519: &str, message: &[u8], signature: &str) -> Result<(), EngineError> {
        let key = Ed25519PublicKey::from_base64(ed25519).map_err(|e| EngineError::Malformed {
            what: "Ed25519 key",
            why: e.to_string(),
        })?;
        let signature =
            Ed25519Signature::from_base64(signature).map_err(|e| EngineError::Malformed {
                what: "signature",
                why: e.to_string(),
            })?;
        key.verify(message, &signature)
            .map_err(|_| EngineError::BadSignature)
    }

    fn new_one_time_keys(
        &self,
        pickle: &mut Pickle,
        count: usize,
    ) -> Result<Vec<PublicKey>, EngineError> {
        let mut account = account(pickle)?;
        account.generate_one_time_keys(count);
        let mut keys: Vec<_> = account.one_time_keys().into_iter().collect();
        keys.sort_by_key(|(id, _)| *id);
        account.mark_keys_as_published();
        *pickle = to_pickle(&account.pickle())?;
        Ok(keys
            .into_iter()
            .map(|(id, key)| PublicKey {
                key_id: id.to_base64(),
                curve25519: key.to_base64(),
            })
            .collect())
    }

    fn stored_one_time_keys(&self, pickle: &Pickle) -> Result<usize, EngineError> {
        Ok(account(pickle)?.stored_one_time_key_count())
    }

    fn new_fallback_key(&self, pickle: &mut Pickle) -> Result<PublicKey, EngineError> {
        let mut account = account(pickle)?;
        account.generate_fallback_key();
        let (id, key) = account
            .fallback_key()
            .into_iter()
            .next()
            .ok_or_else(|| EngineError::Pickle("no fallback key after making one".into()))?;
        account.mark_keys_as_published();
        *pickle = to_pickle(&account.pickle())?;
        Ok(PublicKey {
            key_id: id.to_base64(),
            curve25519: key.to_base64(),
        })
    }

    fn outbound(
        &self,
        pickle: &Pickle,
        curve25519: &str,
        one_time_key: &str,
    ) -> Result<NewSession, EngineError> {
        let account = account(pickle)?;
        let session = account
            .create_outbound_session(
                SessionConfig::version_1(),
                curve("identity key", curve25519)?,
                curve("one-time key", one_time_key)?,
            )
            .map_err(|e| EngineError::KeyAgreement(e.to_string()))?;
        Ok(NewSession {
            session_id: session.session_id(),
            pickle: to_pickle(&session.pickle())?,
        })
    }

    fn session_of(&self, message: &OlmMessage) -> Result<Option<String>, EngineError> {
        let decoded = self.decoded.take(message)?;
        let id = match &decoded {
            VOlmMessage::PreKey(m) => Some(self.decoded.session_id(m.session_keys())),
            VOlmMessage::Normal(_) => None,
        };
        self.decoded.keep(message, decoded);
        Ok(id)
    }

    fn inbound(&self, pickle: &mut Pickle, message: &OlmMessage) -> Result<Inbound, EngineError> {
        let VOlmMessage::PreKey(pre_key) = self.decoded.take(message)? else {
            return Err(EngineError::Decrypt(
                "not a pre-key message, and no session it belongs to".into(),
            ));
        };
        let mut account = account(pickle)?;
        let sender = pre_key.identity_key();
        let one_time_key = pre_key.one_time_key().to_base64();
        let created = account
            .create_inbound_session(SessionConfig::version_1(), sender, &pre_key)
            .map_err(|e| EngineError::Decrypt(e.to_string()))?;
        *pickle = to_pickle(&account.pickle())?;
        Ok(Inbound {
            session: NewSession {
                session_id: created.session.session_id(),
                pickle: to_pickle(&created.session.pickle())?,
            },
            sender_curve25519: sender.to_base64(),
            one_time_key,
            plaintext: created.plaintext,
        })
    }

    fn encrypt(&self, pickle: &mut Pickle, plaintext: &[u8]) -> Result<OlmMessage, EngineError> {
        let (mut session, pending) = self.take_olm(pickle)?;
        match session.encrypt(plaintext) {
            Ok(message) => {
                *pickle = self.pending.keep(session);
                Ok(from_olm(&message))
            }
            Err(e) => {
                self.failed(session, pending);
                Err(EngineError::KeyAgreement(e.to_string()))
            }
        }
    }

    fn decrypt(&self, pickle: &mut Pickle, message: &OlmMessage) -> Result<Vec<u8>, EngineError> {
        let decoded = self.decoded.take(message)?;
        let (mut session, pending) = match self.take_olm(pickle) {
            Ok(found) => found,
            Err(e) => {
                self.decoded.keep(message, decoded);
                return Err(e);
            }
        };
        match session.decrypt(&decoded) {
            Ok(plaintext) => {
                *pickle = self.pending.keep(session);
                Ok(plaintext)
            }
            Err(e) => {
                self.failed(session, pending);
                // The core may try the message with its next session.
                self.decoded.keep(message, decoded);
                Err(EngineError::Decrypt(e.to_string()))
            }
        }
    }

    fn materialise(&self, pickle: &mut Pickle) -> Result<(), EngineError> {
        let Some(n) = Pending::number(pickle) else {
            return Ok(());
        };
        let session = self.pending.take(n)?;
        match to_pickle(&session.pickle()) {
            Ok(whole) => {
                // Live still, under its whole pickle: the next message after the save goes on
                // from it without unpickling.
                self.olm.keep(&whole, session);
                *pickle = whole;
                Ok(())
            }
            Err(e) => {
                self.pending.put(n, session);
                Err(e)
            }
        }
    }

    fn new_group_session(&self) -> Result<NewGroupSession, EngineError> {
        let session = GroupSession::new(MegolmConfig::version_1());
        Ok(NewGroupSession {
            session_id: session.session_id(),
            session_key: session.session_key().to_base64(),
            pickle: to_pickle(&session.pickle())?,
        })
    }

    fn group_encrypt(&self, pickle: &mut Pickle, plaintext: &[u8]) -> Result<Vec<u8>, EngineError> {
        let mut session = self.group_out.take(pickle, |p| {
            Ok(GroupSession::from_pickle(
                from_pickle::<GroupSessionPickle>(p)?,
            ))
        })?;
        let message = session.encrypt(plaintext);
        *pickle = to_pickle(&session.pickle())?;
        self.group_out.keep(pickle, session);
        Ok(message.to_bytes())
    }

    fn group_inbound(&self, session_key: &str) -> Result<(String, Pickle), EngineError> {
        let key = SessionKey::from_base64(session_key).map_err(|e| EngineError::Malformed {
            what: "group session key",
            why: e.to_string(),
        })?;
        let session = InboundGroupSession::new(&key, MegolmConfig::version_1());
        Ok((session.session_id(), to_pickle(&session.pickle())?))
    }

    fn group_decrypt(&self, pickle: &Pickle, message: &[u8]) -> Result<GroupPlain, EngineError> {
        let mut session = self.group_in.take(pickle, |p| {
            Ok(InboundGroupSession::from_pickle(from_pickle::<
                InboundGroupSessionPickle,
            >(p)?))
        })?;
        let message = MegolmMessage::from_bytes(message).map_err(|e| EngineError::Malformed {
            what: "group message",
            why: e.to_string(),
        })?;
        let plain = session
            .decrypt(&message)
            .map_err(|e| EngineError::Decrypt(e.to_string()))?;
        // Decrypting changes nothing the core keeps of an inbound session (it keeps the indices
        // seen itself; vodozemac only remembers how far its ratchet got, to be faster next time):
        // the session goes back under the same pickle. After a failure it is dropped instead.
        self.group_in.keep(pickle, session);
        Ok(GroupPlain {
            plaintext: plain.plaintext,
            index: plain.message_index,
        })
    }
}

#[cfg(test)]
mod tests {
    use natter_core::client::e2e::test_engine::contract;

    #[test]
    fn vodozemac_keeps_the_engine_contract() {
        contract::holds(&super::Vodozemac::default(), &super::Vodozemac::default());
        // One engine on both sides: its memo of live sessions must change nothing either.
        let one = super::Vodozemac::default();
        contract::holds(&one, &one);
    }

    /// The memo of the last decoded message is found only by the very bytes: a message other than
    /// the one `session_of` was asked about decodes afresh, a decryption that fails leaves the
    /// message for the next session tried, and a malformed message is refused as before.
    #[test]
    fn a_decoded_message_is_used_only_for_its_own_bytes() {
        use natter_core::client::e2e::engine::{Engine, OlmMessage};
        let (alice, bob) = (super::Vodozemac::default(), super::Vodozemac::default());
        let alice_account = alice.new_account().unwrap();
        let mut bob_account = bob.new_account().unwrap();
        let key = bob
            .new_one_time_keys(&mut bob_account, 1)
            .unwrap()
            .remove(0);
        let bob_curve = bob.identity(&bob_account).unwrap().curve25519;
        let mut sent = alice
            .outbound(&alice_account, &bob_curve, &key.curve25519)
            .unwrap()
            .pickle;
        let first = alice.encrypt(&mut sent, b"first").unwrap();
        let inbound = bob.inbound(&mut bob_account, &first).unwrap();
        let mut got = inbound.session.pickle;
        let (second, third) = (
            alice.encrypt(&mut sent, b"second").unwrap(),
            alice.encrypt(&mut sent, b"third").unwrap(),
        );
        assert!(second.pre_key && third.pre_key);
        let id = Some(inbound.session.session_id);
        assert_eq!(bob.session_of(&second).unwrap(), id);
        assert_eq!(bob.session_of(&third).unwrap(), id);
        // Asked about the third, decrypting the second: decoded from its own bytes.
        assert_eq!(bob.decrypt(&mut got, &second).unwrap(), b"second");
        // A session that cannot decrypt it (a fresh one of alice's own) fails and leaves the
        // memo as it was; the right one then decrypts.
        let mut wrong = alice
            .outbound(&alice_account, &bob_curve, &key.curve25519)
            .unwrap()
            .pickle;
        assert!(bob.decrypt(&mut wrong, &third).is_err());
        assert_eq!(bob.decrypt(&mut got, &third).unwrap(), b"third");
        // The same bytes under the other kind are another message (not this pre-key one).
        let as_normal = OlmMessage {
            pre_key: false,
            body: third.body.clone(),
        };
        assert!(!matches!(bob.session_of(&as_normal), Ok(Some(_))));
        let mut truncated = third.clone();
        truncated.body.truncate(10);
        assert!(bob.session_of(&truncated).is_err());
        assert!(bob.decrypt(&mut got, &truncated).is_err());
    }
}
