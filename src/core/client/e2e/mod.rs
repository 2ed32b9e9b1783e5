//! End-to-end encryption of messages through the server: the client's side.
//!
//! The server relays and stores only ciphertext: a direct or offline message is encrypted by the
//! sender's client for the recipient with an Olm session (a double ratchet, set up from the keys the
//! recipient published to the server's key directory, so a first message to an offline user works);
//! a group message is encrypted once with the sender's Megolm session, whose key went to each current
//! member over Olm. Every cryptographic step is vodozemac's.
//!
//! # What lives where
//!
//! [`E2e`] is sans-IO and deterministic, like the rest of the client core. It holds the *policy* and
//! all the *state* as data: the device ([`device`]), the pinned contacts ([`contacts`]), the Olm
//! sessions per contact ([`olm`]), the Megolm sessions per group ([`megolm`]), the messages waiting
//! for a contact's keys, and what was already decrypted ([`dedup`]). The cryptography, which needs
//! randomness, is an [`Engine`] the shell hands in ([`engine`] says why); its secrets are
//! [`engine::Pickle`]s the core keeps. Everything that changes is persisted by [`Out::Save`] and
//! [`Out::Append`] outputs, which come before the line they protect ([`Out`] says why), per
//! [`store::Part`]: ratchet state, pins, the outbox and the texts kept are separate parts, and the
//! texts (decrypted and sent) are appended to, never rewritten per message. The shell seals the
//! parts at rest and group-commits them (the client holds the lines that depend on them until they
//! are durable: `client::commit`).
//!
//! # The rules (against a server that is the adversary: docs/DESIGN.md has the threat model)
//!
//! - **Home**: at each login the device asks the directory whose identity the account has. Its own
//!   (or none): it publishes its keys. Another device's: it publishes nothing, sends nothing
//!   encrypted and acknowledges nothing (messages for that device stay on the server for it) until
//!   the user moves the account here ([`E2e::move_here`], `/movehere`).
//! - **Publish**: the identity; a fallback key only when there is none or the last one was used;
//!   one-time keys topped up when the server says few are left, never past a bound however often it
//!   says so ([`device`]).
//! - **Send**: to a contact with a session made with their pinned identity, at once; otherwise their
//!   keys are claimed and what is written waits, on disk ([`outbox`]), shown as waiting: until the
//!   answer comes, a changed key is accepted (or rejected), or the user asks for it to go
//!   unencrypted to a user who never had keys (`/sendclear`). Nothing ever goes unencrypted
//!   unasked, and never to a user whose keys were pinned, whatever the server says. A claim refused
//!   (`blocked-by`, `no-such-user`) refuses what waited, with the reason.
//! - **Pin**: the first identity seen for a user is pinned; another one makes the contact *changed*
//!   (announced loudly each time it is another key), which holds every message to them until the
//!   user accepts exactly the key whose number they were shown, or rejects it ([`contacts`]).
//!   Messages *from* a changed key are still shown, marked. Only answers to what this device asked
//!   are believed: an unasked `KEYS` line is ignored.
//! - **Receive**: recognised by id and ciphertext *before* decrypting ([`dedup`]), then decrypted;
//!   a text without the prefix is shown marked "not encrypted", or, "from" a contact who is pinned,
//!   as possibly forged. A message encrypted for a device of this account that is gone is not lost:
//!   its sender's client is asked to send it again.
//! - **Groups**: every change of the members is shown; the group's key goes only to the members
//!   shown, never to anyone in clear (a member without keys, who blocked this user, or whose key
//!   changed is left out and named); a new Megolm session whenever the members changed since the
//!   key was shared (or after a hundred messages) ([`megolm`]).
//! - **Fit**: the longest text that still fits the line limit once encrypted is known before sending
//!   ([`fit`]).
//! - **Fail closed**: a device or contacts part that cannot be read stops everything that would be
//!   encrypted (the client says how to get out); a conversation whose part cannot be read stops
//!   that conversation until the user starts it over ([`E2e::reset`]); an outbox that cannot be
//!   read is said, loudly, with what it held lost.

mod b64;
pub mod contacts;
pub mod dedup;
pub mod device;
mod direct;
pub mod engine;
pub mod envelope;
pub mod fit;
mod group;
mod home;
pub mod megolm;
pub mod notes;
pub mod olm;
pub mod outbox;
pub mod safety;
pub mod store;
#[cfg(any(test, feature = "harness"))]
pub mod test_engine;
mod trust;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use direct::{SendClearError, SignedKey};
pub use engine::{Engine, EngineError, Identity};
pub use home::MoveError;
pub use notes::{LeftOut, Note, Protection, Wait};
pub use store::{Part, Stored};

use self::contacts::Contacts;
use self::device::{Device, DeviceFile};
use self::megolm::{Group, Members};
use self::olm::Peer;
use self::outbox::Outbox;
use crate::protocol::{Conversation, Name};

/// What the shell gives the core to encrypt with: the engine. A user's stored device is read (and
/// unlocked with the password they log in with) by the shell when the core asks, at login
/// (`Effect::OpenE2e`).
#[derive(Clone, Debug)]
pub struct Setup {
    /// The cryptographic engine (vodozemac in the product; a deterministic one in tests).
    pub engine: Arc<dyn Engine>,
}

/// What a private chat needs of this device: its identity, and a way to sign with it and to check
/// another's signature (the private chat signs its session's handshake hash, see `client::private`).
#[derive(Clone, Debug)]
pub struct PrivateIdentity {
    /// The user whose device this is.
    pub me: Name,
    /// Its public identity.
    pub identity: Identity,
    engine: Arc<dyn Engine>,
    account: engine::Pickle,
}

impl PrivateIdentity {
    /// `statement` signed with this device's identity key (`None` if the engine could not).
    pub fn sign(&self, statement: &str) -> Option<String> {
        self.engine
            .sign(&self.account, &[statement.as_bytes()])
            .ok()?
            .pop()
    }

    /// Whether `signature` is `ed25519`'s over `statement`.
    pub fn verify(&self, ed25519: &str, statement: &str, signature: &str) -> bool {
        self.engine
            .verify(ed25519, statement.as_bytes(), signature)
            .is_ok()
    }
}

/// What [`E2e`] asks of the client, in order. A [`Out::Save`] comes before the line whose sending it
/// protects: a ratchet that advanced for a message must be on disk before the message leaves, or a
/// crash would make the next run reuse a message key; and a message decrypted must be recorded before
/// it is acknowledged, since it cannot be decrypted again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    /// A `keys ...` line for the server's key directory; answered by `KEYS`, `NOKEYS`, `KEYS-LEFT`
    /// or an error naming the user.
    Keys(String),
    /// A message the user wrote, as the line that carries it: encrypted, or in clear when `encrypted`
    /// is false (only ever because the user asked: [`Note::SentInClear`]).
    Message {
        /// The line to send.
        line: String,
        /// Where it goes.
        to: Conversation,
        /// What the user wrote (to number it, and to encrypt it again if the server says it was for
        /// a device the recipient no longer has).
        text: String,
        /// Encrypted (false only when the user asked for it in clear).
        encrypted: bool,
    },
    /// A line the user did not write (a group's session key for `to`, or a notice that a message was
    /// unreadable): its answers are not shown, and the recipient's client consumes it unseen.
    KeyShare {
        /// The line to send.
        line: String,
        /// The member it goes to.
        to: Name,
    },
    /// A line the client sends on its own whose answer is nobody's concern (the confirmation of a
    /// session): nothing of what the server answers to it is shown, not even a refusal, which
    /// would tell the user something about `to` (that they blocked them, say) that they never
    /// asked about.
    Quiet {
        /// The line to send.
        line: String,
        /// Whom it goes to.
        to: Name,
    },
    /// Persist this part (its whole content) before carrying out what follows.
    Save(Part, Vec<u8>),
    /// This part changed and must be persisted before what follows is carried out; what to save
    /// is made later, once for however many changes a burst made, by [`E2e::flush`], which the
    /// client calls when it asks for the commit that what follows waits for (a contact's sessions:
    /// serialising them, and the engine's pickles in them, cost more per message than anything
    /// else of ours).
    Changed(Part),
    /// Append this record to the part, likewise.
    Append(Part, Vec<u8>),
    /// Call [`E2e::retry_claim`] for this user after [`RETRY_CLAIM_MS`]: the server said they have
    /// no keys, which in a cluster may only mean their keys, published a moment ago at another node,
    /// have not reached this one yet.
    RetryClaim(Name),
    /// Call [`E2e::claim_slow`] for this user after [`CLAIM_SLOW_MS`], to say so if the claim is
    /// still not answered.
    ClaimTimer(Name),
    /// Ask the server for `group`'s members (`group members`), without showing the answer: messages
    /// to it wait for them.
    AskMembers(Name),
    /// This device holds the account's keys now: what was shown may be acknowledged.
    Acknowledge,
    /// Something the user must be told.
    Note(Note),
}

/// How long to wait before asking a second time for the keys of a user the server said has none.
pub const RETRY_CLAIM_MS: u64 = 1_000;
/// How long a claim may go unanswered before the user is told their messages still wait.
pub const CLAIM_SLOW_MS: u64 = 10_000;

/// Why a message was not sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The contact's key changed and the user has not decided.
    #[error(
        "{0}'s identity key has changed and you have not accepted the new one. Compare safety numbers with '/verify {0}', then '/trust {0} <digits>' if they match (or '/reject {0}')."
    )]
    KeyChanged(Name),
    /// Too long once encrypted.
    #[error(
        "once encrypted it would not fit in one line: at most {max} bytes of text can be sent here. Split it."
    )]
    TooLong {
        /// The most text that fits, in bytes.
        max: usize,
    },
    /// The keys handed out for the contact are not signed by their identity: tampering.
    #[error(
        "the keys the server gave for {0} are not signed by {0}'s identity key: the server, or someone on the way, is tampering with them."
    )]
    BadSignature(Name),
    /// The recipient blocked this user (the claim of their keys was refused so).
    #[error("{0} has blocked you; nothing was delivered or stored.")]
    BlockedBy(Name),
    /// No such account.
    #[error("there is no user named '{0}'.")]
    NoSuchUser(Name),
    /// The user rejected the contact's new key, which is all the server hands out for them.
    #[error("you rejected {0}'s new key, which is the one the server hands out for {0}.")]
    Rejected(Name),
    /// The contact never published keys: only the user can send it unencrypted.
    #[error("{0} has no encryption keys and is pinned by nobody: use '/sendclear {0}'.")]
    NeverPinned(Name),
    /// The server says a pinned contact has no keys: not believed, nothing goes in clear.
    #[error("{0}'s keys were pinned: nothing goes to {0} unencrypted, whatever the server says.")]
    Pinned(Name),
    /// The server refused to list the group's members to this user (`not-member`): without them
    /// the group's key can go to nobody, and the server says the user is not in the group.
    #[error(
        "the server says you are not a member of '{0}' (it refused to list its members, which the message waited for). A member can invite you with 'group add {0} <you>'; then write it again."
    )]
    NotMember(Name),
    /// The engine failed.
    #[error("encryption failed: {0}")]
    Engine(EngineError),
    /// The conversation's stored state could not be read (why): it stops until started over.
    #[error(
        "your saved encryption state for {0} could not be read ({1}), so nothing is sent to {0} encrypted (it could reuse keys). To start over with {0} (a new session; what was encrypted for the old one cannot be decrypted), type '/e2e-reset {0}'."
    )]
    Damaged(Name, String),
}

/// A message received, as the user should see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// Without the prefix: shown marked "not encrypted".
    Plain(String),
    /// Without the prefix, "from" a contact whose keys are pinned (who always encrypts): it may well
    /// be forged by the server; shown with a warning that says so.
    PlainFromPinned(String),
    /// Decrypted. `verified`: the sender's key is the one the user verified; `key_changed`: the
    /// sender's key is not the pinned one (shown with a warning).
    Text {
        /// What it says.
        text: String,
        /// From the key the user verified.
        verified: bool,
        /// From a key that is not the pinned one.
        key_changed: bool,
    },
    /// A group key, or a notice from the contact's client, kept or acted on; nothing to show but
    /// the notes that came with it.
    GroupKey,
    /// Decrypted before (a redelivery): not shown again.
    Duplicate,
    /// Encrypted for another device of this account ([`Note::ForOtherDevice`] says what happens).
    OtherDevice,
    /// Could not be decrypted: shown as an error in the message's place.
    Failed(String),
}

/// Which device holds the account's keys, as the server's directory says (asked at each login).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Home {
    /// Asked, not answered yet.
    Asking,
    /// This one: keys are published, messages sent and acknowledged.
    Here,
    /// Another device's identity: nothing is published, sent encrypted or acknowledged here until
    /// the user moves the account here ([`E2e::move_here`]).
    Elsewhere(Identity),
}

/// The end-to-end state of one device (one user on one server). See the module documentation.
#[derive(Debug)]
pub struct E2e {
    engine: Arc<dyn Engine>,
    me: Name,
    device: Device,
    contacts: Contacts,
    peers: BTreeMap<Name, Peer>,
    groups: BTreeMap<Name, Group>,
    members: Members,
    /// What waits to be sent (persisted).
    outbox: Outbox,
    /// Claims sent on this connection and not answered yet.
    claims: BTreeSet<Name>,
    /// Contacts whose messages wait for something other than a claim's answer, and what.
    holds: BTreeMap<Name, Wait>,
    /// A key claimed for a contact's changed identity: used if the user accepts that identity.
    changed_claims: BTreeMap<Name, (Identity, SignedKey)>,
    /// Users whose `keys show` answer is wanted for `verify` (or this user, to know [`Home`]).
    showing: BTreeSet<Name>,
    /// Contacts whose key changed, undecided, looked at again at login (`keys show`), so that a
    /// further change is announced too.
    checking: BTreeSet<Name>,
    /// The identity whose safety number was last shown, per user: what `verify ... yes` and `trust`
    /// act on.
    shown: BTreeMap<Name, Identity>,
    /// This device's identity proof, once made.
    proof: Option<envelope::Proof>,
    /// Users whose claim was answered "no keys" once and is being asked again.
    retried: BTreeSet<Name>,
    /// Which device holds the account.
    home: Home,
    /// Messages for another device of this account seen while it was not this one's: (sender,
    /// ciphertext digest), whose senders are asked to send them again if the account moves here.
    stale_held: Vec<(Name, String)>,
    /// Contacts a message to whom the server refused as for a device they no longer have, since
    /// their key was last decided on: a second refusal for the key the server itself hands out is
    /// held, not sent again and again.
    stale: BTreeSet<Name>,
    /// The user made new keys on this device: the account moves to them at the directory's answer.
    moving: bool,
    /// The account is being moved here: its identity was published, and the server's answer is
    /// awaited to say so (with how many messages' senders are asked to send them again).
    moved: Option<usize>,
    /// The messages already decrypted, per conversation (by its texts part), with how many records
    /// were appended to each since it was last saved whole.
    texts: BTreeMap<Part, (dedup::Dedup, usize)>,
    /// The texts of the messages sent, per contact (see [`olm::SentTexts`]).
    sent: BTreeMap<Name, olm::SentTexts>,
    /// Conversations whose stored state could not be read, with why (by their sessions part).
    damaged: BTreeMap<Part, String>,
    /// Why the outbox could not be read, if it could not (said at login: what it held is lost).
    outbox_damaged: Option<String>,
    /// Contacts whose sessions (or texts sent) changed since they were last saved: saved by
    /// [`E2e::flush`], once per commit however many messages the burst had.
    unsaved: BTreeSet<Name>,
}

/// Why the stored state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A part that cannot be read (a conversation's, which stops that conversation; or the device's,
    /// which stops everything).
    #[error("{file}: {why}")]
    Damaged {
        /// Which part.
        file: String,
        /// What is wrong with it.
        why: String,
    },
    /// The engine could not open the account.
    #[error("{0}")]
    Engine(#[from] EngineError),
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("end-to-end state serialises")
}

impl E2e {
    /// Opens the device of `me` from its stored parts (`stored`: per part, in the order written, its
    /// whole content then the records appended since), or makes a new one (whose saving is in
    /// `out`). A damaged device or contacts part is an error: guessing would lose keys or pins
    /// silently, so nothing is encrypted at all. A damaged part of one conversation is kept aside
    /// ([`E2e::damaged`]): nothing is sent to that conversation until the user starts it over
    /// ([`E2e::reset`]). A damaged outbox is said ([`E2e::damaged_notes`]): what waited in it is
    /// lost, and the user is told so; nothing else depends on it.
    pub fn open(
        engine: Arc<dyn Engine>,
        me: Name,
        stored: &[(Part, Stored)],
        out: &mut Vec<Out>,
    ) -> Result<E2e, LoadError> {
        fn parse<T: serde::de::DeserializeOwned>(
            part: &Part,
            bytes: &[u8],
        ) -> Result<T, LoadError> {
            serde_json::from_slice(bytes).map_err(|e| LoadError::Damaged {
                file: part.file_name(),
                why: e.to_string(),
            })
        }
        let mut device = None;
        let mut contacts = Contacts::default();
        let mut peers = BTreeMap::new();
        let mut groups = BTreeMap::new();
        let mut outbox = Outbox::default();
        let mut outbox_damaged = None;
        let mut texts: BTreeMap<Part, (dedup::Dedup, usize)> = BTreeMap::new();
        let mut sent: BTreeMap<Name, olm::SentTexts> = BTreeMap::new();
        let mut legacy = Vec::new();
        let mut damaged = BTreeMap::new();
        for (part, piece) in stored {
            let result = match (part, piece) {
                (Part::Device, Stored::Whole(bytes)) => {
                    let file: DeviceFile = parse(part, bytes)?;
                    device = Some(Device::open(&*engine, file)?);
                    Ok(())
                }
                (Part::Contacts, Stored::Whole(bytes)) => {
                    contacts = parse(part, bytes)?;
                    Ok(())
                }
                (Part::Outbox, Stored::Whole(bytes)) => parse(part, bytes).map(|o| outbox = o),
                (Part::Peer(user), Stored::Whole(bytes)) => parse(part, bytes).map(|p| {
                    legacy.push((part.clone(), bytes.clone()));
                    peers.insert(user.clone(), p);
                }),
                (Part::Group(group), Stored::Whole(bytes)) => parse(part, bytes).map(|g| {
                    legacy.push((part.clone(), bytes.clone()));
                    groups.insert(group.clone(), g);
                }),
                (Part::PeerTexts(_) | Part::GroupTexts(_), Stored::Whole(bytes)) => {
                    parse::<Vec<dedup::Record>>(part, bytes).map(|records| {
                        let mut d = dedup::Dedup::default();
                        for r in records {
                            d.insert(r.0, r.1, r.2);
                        }
                        texts.insert(part.clone(), (d, 0));
                    })
                }
                (Part::PeerTexts(_) | Part::GroupTexts(_), Stored::Appended(bytes)) => {
                    parse::<dedup::Record>(part, bytes).map(|r| {
                        let (d, n) = texts.entry(part.clone()).or_default();
                        d.insert(r.0, r.1, r.2);
                        *n += 1;
                    })
                }
                (Part::PeerSent(user), Stored::Whole(bytes)) => {
                    parse::<Vec<olm::SentRecord>>(part, bytes)
                        .map(|records| drop(sent.insert(user.clone(), records.into())))
                }
                (Part::PeerSent(user), Stored::Appended(bytes)) => {
                    parse::<olm::SentRecord>(part, bytes)
                        .map(|r| sent.entry(user.clone()).or_default().stored(r))
                }
                (_, Stored::Appended(_)) => Err(LoadError::Damaged {
                    file: part.file_name(),
                    why: "a record appended to a part that is only ever saved whole".into(),
                }),
                (_, Stored::Damaged(why)) => Err(LoadError::Damaged {
                    file: part.file_name(),
                    why: why.clone(),
                }),
            };
            match (result, part) {
                (Ok(()), _) => {}
                (Err(e), Part::Device | Part::Contacts) => return Err(e),
                (Err(e), Part::Outbox) => {
                    outbox = Outbox::default();
                    outbox_damaged = Some(e.to_string());
                }
                (Err(e), _) => {
                    damaged.insert(sessions_part(part), e.to_string());
                }
            }
        }
        // Sessions parts written by a natter from before the texts had parts of their own keep them
        // inside: they move to their own parts now, so nothing decrypted is decrypted twice.
        for (part, bytes) in legacy {
            let Ok(old) = serde_json::from_slice::<store::Legacy>(&bytes) else {
                continue;
            };
            let (texts_part, user) = match &part {
                Part::Peer(u) => (Part::PeerTexts(u.clone()), Some(u)),
                Part::Group(g) => (Part::GroupTexts(g.clone()), None),
                _ => continue,
            };
            if let Some(seen) = old.seen.filter(|s| !s.seen.is_empty())
                && !texts.contains_key(&texts_part)
            {
                let mut d = dedup::Dedup::default();
                for (id, digest, text) in seen.seen {
                    d.insert(id, digest, text);
                }
                out.push(Out::Save(texts_part.clone(), d.to_json()));
                texts.insert(texts_part, (d, 0));
            }
            if let Some(user) = user
                && !old.sent.is_empty()
                && !sent.contains_key(user)
            {
                let records: Vec<olm::SentRecord> = old
                    .sent
                    .into_iter()
                    .map(|(d, t)| olm::SentRecord(d, t))
                    .collect();
                out.push(Out::Save(Part::PeerSent(user.clone()), to_json(&records)));
                sent.insert(user.clone(), records.into());
            }
        }
        let device = match device {
            Some(d) => d,
            None => {
                let d = Device::create(&*engine)?;
                out.push(Out::Save(Part::Device, to_json(&d.file())));
                d
            }
        };
        Ok(E2e {
            engine,
            me,
            device,
            contacts,
            peers,
            groups,
            members: Members::default(),
            outbox,
            claims: BTreeSet::new(),
            holds: BTreeMap::new(),
            changed_claims: BTreeMap::new(),
            showing: BTreeSet::new(),
            checking: BTreeSet::new(),
            shown: BTreeMap::new(),
            proof: None,
            retried: BTreeSet::new(),
            home: Home::Asking,
            stale_held: Vec::new(),
            stale: BTreeSet::new(),
            moving: false,
            moved: None,
            texts,
            sent,
            damaged,
            outbox_damaged,
            unsaved: BTreeSet::new(),
        })
    }

    /// Why the stored state of the conversation `to` could not be read, if it could not: nothing is
    /// to be sent to it encrypted until [`E2e::reset`].
    pub fn damaged(&self, to: &Conversation) -> Option<Refusal> {
        let (part, name) = match to {
            Conversation::User(u) => (Part::Peer(u.clone()), u),
            Conversation::Group(g) => (Part::Group(g.clone()), g),
            _ => return None,
        };
        let why = self.damaged.get(&part)?;
        Some(Refusal::Damaged(name.clone(), why.clone()))
    }

    /// `e2e-reset <user|group>`: starts the conversation's stored state over (its sessions and the
    /// texts kept of it are dropped and saved empty: a new session is made at the next message, so
    /// no key is used twice). Returns whether there was anything to reset.
    pub fn reset(&mut self, name: &Name, out: &mut Vec<Out>) -> bool {
        let mut any = false;
        if self.damaged.remove(&Part::Peer(name.clone())).is_some() || self.peers.contains_key(name)
        {
            self.peers.remove(name);
            self.texts.remove(&Part::PeerTexts(name.clone()));
            self.sent.remove(name);
            out.push(Out::Save(
                Part::Peer(name.clone()),
                to_json(&Peer::default()),
            ));
            out.push(Out::Save(Part::PeerTexts(name.clone()), b"[]".to_vec()));
            out.push(Out::Save(Part::PeerSent(name.clone()), b"[]".to_vec()));
            any = true;
        }
        if self.damaged.remove(&Part::Group(name.clone())).is_some()
            || self.groups.contains_key(name)
        {
            self.groups.remove(name);
            self.texts.remove(&Part::GroupTexts(name.clone()));
            out.push(Out::Save(
                Part::Group(name.clone()),
                to_json(&Group::default()),
            ));
            out.push(Out::Save(Part::GroupTexts(name.clone()), b"[]".to_vec()));
            any = true;
        }
        any
    }

    /// Whether a message with server id `id` and this ciphertext digest, in the conversation whose
    /// texts are `part`, was decrypted before.
    pub(super) fn seen(&self, part: &Part, id: u64, digest: &str) -> bool {
        self.texts
            .get(part)
            .is_some_and(|(d, _)| d.contains(id, digest))
    }

    /// The text of a message decrypted before, from the conversation whose texts are `part`.
    pub(super) fn seen_text(&self, part: &Part, id: u64, digest: &str) -> Option<&str> {
        self.texts.get(part)?.0.text(id, digest)
    }

    /// Keeps a message just decrypted (`text`, empty for what is not shown) in the conversation's
    /// store, and persists it: appended, or the whole store once as many records were appended as it
    /// keeps (so the part on disk stays bounded).
    pub(super) fn record_text(
        &mut self,
        part: Part,
        id: u64,
        digest: String,
        text: String,
        out: &mut Vec<Out>,
    ) {
        // Found by reference first: the part is cloned for the map only the first time.
        let (d, appended) = match self.texts.get_mut(&part) {
            Some(kept) => kept,
            None => self.texts.entry(part.clone()).or_default(),
        };
        if d.contains(id, &digest) {
            return;
        }
        // Serialised as a `dedup::Record` is, from the parts, before they are kept.
        let record = (*appended + 1 < dedup::KEEP).then(|| to_json(&(id, &digest, &text)));
        d.insert_new(id, digest, text);
        match record {
            Some(record) => {
                *appended += 1;
                out.push(Out::Append(part, record));
            }
            None => {
                *appended = 0;
                out.push(Out::Save(part, d.to_json()));
            }
        }
    }

    /// Remembers the text of a message encrypted for `to`, by its ciphertext's digest (saved with
    /// the peer: [`Self::save_peer`]).
    pub(super) fn record_sent(&mut self, to: &Name, digest: String, text: String) {
        self.sent.entry(to.clone()).or_default().push(digest, text);
    }

    /// The text of the message sent to `to` with this ciphertext digest, if still kept.
    pub(super) fn sent_text(&self, to: &str, digest: &str) -> Option<&str> {
        self.sent.get(to)?.text(digest)
    }

    /// What the user is told at login of the state that could not be read.
    pub fn damaged_notes(&self) -> Vec<String> {
        let mut notes: Vec<String> = self
            .damaged
            .iter()
            .filter_map(|(part, why)| {
                let name = match part {
                    Part::Peer(n) | Part::Group(n) => n.clone(),
                    _ => return None,
                };
                Some(Refusal::Damaged(name, why.clone()).to_string())
            })
            .collect();
        if let Some(why) = &self.outbox_damaged {
            notes.push(format!(
                "The messages that were waiting to be sent (for encryption keys, a decision about a changed key, or a group's members) could not be read back ({why}): they are LOST, and were not sent. Send them again if they still matter."
            ));
        }
        notes
    }

    /// The user this device belongs to.
    pub fn me(&self) -> &Name {
        &self.me
    }

    /// What private chats sign their sessions with.
    pub fn private_identity(&self) -> PrivateIdentity {
        PrivateIdentity {
            me: self.me.clone(),
            identity: self.device.identity.clone(),
            engine: self.engine.clone(),
            account: self.device.account.clone(),
        }
    }

    /// An identity met outside a message (a private chat's peer proved it): pinned if new, a loud
    /// note if it is not the pinned one.
    pub fn meet_identity(
        &mut self,
        user: &Name,
        identity: &Identity,
        out: &mut Vec<Out>,
    ) -> contacts::Met {
        self.meet(user, identity, out)
    }

    /// This device's identity.
    pub fn identity(&self) -> &Identity {
        &self.device.identity
    }

    /// The pinned contacts.
    pub fn contacts(&self) -> &Contacts {
        &self.contacts
    }

    /// What waits to be sent.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Whether what was shown may be acknowledged: not while another device holds the account
    /// (messages for it must stay on the server for it), nor before the server said which does.
    pub fn may_acknowledge(&self) -> bool {
        self.home == Home::Here
    }

    /// Which device holds the account.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// A `keys` line this device made to publish its keys never left (see `client::commit`): its
    /// answer is not waited for.
    pub fn keys_not_sent(&mut self) {
        self.device.line_not_sent();
    }

    /// `KEYS-LEFT <n>`: top the one-time keys up if they are low.
    pub fn on_keys_left(&mut self, left: u32, out: &mut Vec<Out>) {
        if self.home != Home::Here {
            return;
        }
        self.moved_if_answered(out);
        match self.device.on_keys_left(&*self.engine, &self.me, left) {
            Ok(lines) if lines.is_empty() => {}
            Ok(lines) => {
                self.save_device(out);
                out.extend(lines.into_iter().map(Out::Keys));
            }
            Err(e) => out.push(Out::Note(Note::PublishFailed(e))),
        }
    }

    /// How the conversation with `user` is protected now.
    pub fn protection_with(&self, user: &str) -> Protection {
        if self.contacts.is_changed(user) {
            Protection::KeyChanged
        } else if self.contacts.is_verified(user) {
            Protection::Verified
        } else {
            Protection::Encrypted
        }
    }

    /// How the conversation in `group` is protected now: verified when every member is.
    pub fn protection_in(&self, group: &str) -> Protection {
        match self.members.get(group) {
            Some(m) if !m.is_empty() && m.iter().all(|u| self.contacts.is_verified(u)) => {
                Protection::Verified
            }
            _ => Protection::Encrypted,
        }
    }

    fn save_device(&self, out: &mut Vec<Out>) {
        out.push(Out::Save(Part::Device, to_json(&self.device.file())));
    }

    fn save_outbox(&self, out: &mut Vec<Out>) {
        out.push(Out::Save(Part::Outbox, to_json(&self.outbox)));
    }

    fn save_contacts(&self, out: &mut Vec<Out>) {
        out.push(Out::Save(Part::Contacts, to_json(&self.contacts)));
    }

    /// The sessions with `user` changed (and the texts sent to them, maybe): they are to be saved
    /// before what follows leaves, which they are, at the commit that it waits for
    /// ([`E2e::flush`]).
    fn save_peer(&mut self, user: &Name, out: &mut Vec<Out>) {
        self.unsaved.insert(user.clone());
        out.push(Out::Changed(Part::Peer(user.clone())));
    }

    /// What changed since the last flush, to save now: each contact's sessions (their pickles made
    /// whole: see [`Engine::materialise`]) and the texts sent to them since (appended). The client
    /// calls it when it asks for a commit, so a burst of messages to a contact costs one
    /// serialisation of their sessions, not one per message. `Err`: a contact's sessions could not
    /// be made whole (the engine lost a live session: it should not happen); that conversation is
    /// then stopped as damaged, and the commit must be taken as failed, so that nothing that
    /// depended on the sessions leaves.
    pub fn flush(&mut self, out: &mut Vec<Out>) -> Result<(), String> {
        let mut failed = None;
        for user in std::mem::take(&mut self.unsaved) {
            if let Some(peer) = self.peers.get_mut(&user) {
                match peer.materialise(&*self.engine) {
                    Ok(()) => out.push(Out::Save(Part::Peer(user.clone()), to_json(peer))),
                    Err(e) => {
                        let why = format!("its sessions could not be saved: {e}");
                        self.peers.remove(&user);
                        self.damaged.insert(Part::Peer(user.clone()), why.clone());
                        failed = Some(why);
                        continue;
                    }
                }
            }
            if let Some(sent) = self.sent.get_mut(&user) {
                sent.save(&user, out);
            }
        }
        failed.map_or(Ok(()), Err)
    }

    fn save_group(&self, group: &Name, out: &mut Vec<Out>) {
        if let Some(g) = self.groups.get(group) {
            out.push(Out::Save(Part::Group(group.clone()), to_json(g)));
        }
    }
}

/// The sessions part a stored part belongs to (a conversation is damaged as a whole).
fn sessions_part(part: &Part) -> Part {
    match part {
        Part::PeerTexts(u) | Part::PeerSent(u) => Part::Peer(u.clone()),
        Part::GroupTexts(g) => Part::Group(g.clone()),
        other => other.clone(),
    }
}
