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
//! [`engine::Pickle`]s the core keeps. Everything that changes is persisted by [`Out::Save`] outputs,
//! which come before the line they protect ([`Out`] says why), one file per [`store::Part`].
//!
//! # The rules
//!
//! - **Publish**: at login, the identity and a new fallback key; one-time keys topped up when the
//!   server says few are left ([`device`]).
//! - **Send**: to a contact with a session made with their pinned identity, at once; otherwise claim
//!   one of their one-time keys (`keys claim`), and send when the answer comes, in order. A claimed key
//!   whose signature does not verify under the identity is refused. A user with no keys published
//!   (never logged in with natter) gets the message unencrypted, with a loud warning to the sender,
//!   so the message still reaches them at their first login; but a user whose keys were pinned before
//!   does not: the server saying they have none is refused, not believed.
//! - **Pin**: the first identity seen for a user is pinned; another one makes the contact *changed*,
//!   which refuses every message to them (and to groups they are in) until the user accepts the new
//!   key ([`contacts`]). Messages *from* a changed key are still shown, marked.
//! - **Receive**: recognised by id and ciphertext *before* decrypting ([`dedup`]), then decrypted;
//!   a text without the prefix is shown marked "not encrypted".
//! - **Groups**: a new Megolm session whenever the members changed since the key was shared (or after
//!   a hundred messages) ([`megolm`]).
//! - **Fit**: the longest text that still fits the line limit once encrypted is known before sending
//!   ([`fit`]).

mod b64;
pub mod contacts;
pub mod dedup;
pub mod device;
mod direct;
pub mod engine;
pub mod envelope;
pub mod fit;
mod group;
pub mod megolm;
pub mod olm;
pub mod safety;
pub mod store;
#[cfg(any(test, feature = "harness"))]
pub mod test_engine;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use direct::SignedKey;
pub use engine::{Engine, EngineError, Identity};
pub use store::{Part, Stored};

use self::contacts::{ContactError, Contacts};
use self::device::{Device, DeviceFile};
use self::megolm::{Group, Members};
use self::olm::Peer;
use crate::protocol::{Conversation, Name};

/// What the shell gives the core to encrypt with: the engine. A user's stored device is read (and
/// unlocked with the password they log in with) by the shell when the core asks, at login
/// (`Effect::OpenE2e`).
#[derive(Clone, Debug)]
pub struct Setup {
    pub engine: Arc<dyn Engine>,
}

/// What a private chat needs of this device: its identity, and a way to sign with it and to check
/// another's signature (the private chat signs its session's handshake hash, see `client::private`).
#[derive(Clone, Debug)]
pub struct PrivateIdentity {
    pub me: Name,
    pub identity: Identity,
    engine: Arc<dyn Engine>,
    account: engine::Pickle,
}

impl PrivateIdentity {
    pub fn sign(&self, statement: &str) -> Option<String> {
        self.engine
            .sign(&self.account, &[statement.as_bytes()])
            .ok()?
            .pop()
    }

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
    /// A `keys ...` line for the server's key directory; answered by `KEYS`, `NOKEYS` or `KEYS-LEFT`.
    Keys(String),
    /// A message the user wrote, as the line that carries it: encrypted, or in clear when `encrypted`
    /// is false (see [`Note::SentInClear`]).
    Message {
        line: String,
        to: Conversation,
        text: String,
        encrypted: bool,
    },
    /// A group's session key for `to`: a `message` line the user did not write, whose answers are
    /// not shown (and which the recipient's client consumes without showing).
    KeyShare { line: String, to: Name },
    /// Persist this part (its whole content) before carrying out what follows.
    Save(Part, Vec<u8>),
    /// Append this record to the part, likewise.
    Append(Part, Vec<u8>),
    /// Call [`E2e::retry_claim`] for this user after [`RETRY_CLAIM_MS`]: the server said they have
    /// no keys, which in a cluster may only mean their keys, published a moment ago at another node,
    /// have not reached this one yet.
    RetryClaim(Name),
    /// Something the user must be told.
    Note(Note),
}

/// How long to wait before asking a second time for the keys of a user the server said has none.
pub const RETRY_CLAIM_MS: u64 = 1_000;

/// Why a message was not sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "{0}'s identity key has changed and you have not accepted the new one. Compare safety numbers with 'verify {0}', then 'trust {0}' if they match."
    )]
    KeyChanged(Name),
    #[error(
        "once encrypted it would not fit in one line: at most {max} bytes of text can be sent here. Split it."
    )]
    TooLong { max: usize },
    #[error("the members of {0} are not known yet; try again in a moment (or 'groupmembers {0}').")]
    MembersUnknown(Name),
    #[error(
        "the keys the server gave for {0} are not signed by {0}'s identity key: the server, or someone on the way, is tampering with them."
    )]
    BadSignature(Name),
    #[error(
        "the server says {0} has no keys, yet {0} published keys before: refusing to send it unencrypted. Ask {0} to log in again."
    )]
    KeysWithdrawn(Name),
    #[error("encryption failed: {0}")]
    Engine(EngineError),
    #[error(
        "your saved encryption state for {0} could not be read ({1}), so nothing is sent to {0} encrypted (it could reuse keys). To start over with {0} (a new session; what was encrypted for the old one cannot be decrypted), type 'e2e-reset {0}'."
    )]
    Damaged(Name, String),
}

/// Something to tell the user about end-to-end encryption.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// A contact's identity key is not the pinned one (loud: it is what an attack looks like).
    KeyChanged { user: Name },
    /// A message was not sent.
    NotSent {
        to: Conversation,
        text: String,
        why: Refusal,
    },
    /// `user` has never published keys: the message went unencrypted (loud).
    SentInClear { user: Name },
    /// Members of a group who never published keys: what was just sent to it went unencrypted, so
    /// that they can read it (loud).
    GroupInClear { group: Name, users: Vec<Name> },
    /// A key change was accepted.
    Accepted { user: Name },
    /// The user marked a contact verified.
    Verified { user: Name },
    /// A private chat's peer proved the verified identity.
    PrivateVerified { user: Name },
    /// The safety number with `user`, to compare out of band.
    SafetyNumber {
        user: Name,
        number: String,
        verified: bool,
    },
    /// Publishing keys failed (the engine could not make them).
    PublishFailed(EngineError),
    /// `e2e-reset <name>`: the conversation's stored state was started over (`done`), or there was
    /// none.
    Reset { name: Name, done: bool },
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::KeyChanged { user } => write!(
                f,
                "{user}'s identity key has CHANGED. This happens when {user} reinstalled natter or logged in from another machine, or when someone is intercepting. Nothing will be sent to {user} until you accept the new key: compare safety numbers ('verify {user}') with {user} in person or by phone, then 'trust {user}'."
            ),
            Note::NotSent { to, text, why } => {
                let to = match to {
                    Conversation::Group(g) => format!("group {g}"),
                    Conversation::User(u) | Conversation::Private(u) => u.to_string(),
                    Conversation::Broadcasts => "everyone".into(),
                };
                write!(f, "Not sent to {to} ('{text}'): {why}")
            }
            Note::SentInClear { user } => write!(
                f,
                "{user} has never published encryption keys (never logged in with natter): that message was sent NOT ENCRYPTED, and the server can read it."
            ),
            Note::GroupInClear { group, users } => {
                let names: Vec<&str> = users.iter().map(|u| &**u).collect();
                write!(
                    f,
                    "{} in {group} never published encryption keys (never logged in with natter): that message to {group} was sent NOT ENCRYPTED so they can read it, and the server can read it too. Remove them from the group to keep it encrypted.",
                    names.join(", ")
                )
            }
            Note::Accepted { user } => write!(
                f,
                "Accepted {user}'s new identity key (not verified: compare safety numbers with 'verify {user}')."
            ),
            Note::PrivateVerified { user } => write!(
                f,
                "The private chat with {user} is with {user}'s verified device ✓"
            ),
            Note::Verified { user } => write!(
                f,
                "{user} is verified: their messages are marked ✓ while their key stays the same."
            ),
            Note::SafetyNumber {
                user,
                number,
                verified,
            } => {
                write!(f, "Safety number with {user}: {number}")?;
                if *verified {
                    write!(f, " (verified)")
                } else {
                    write!(
                        f,
                        ". Compare it with {user}'s (out of band); if they match, 'verify {user} yes'."
                    )
                }
            }
            Note::Reset { name, done: true } => write!(
                f,
                "Started the encrypted conversation with {name} over: the next message makes a new session."
            ),
            Note::Reset { name, done: false } => {
                write!(f, "Nothing is kept for {name}: nothing to reset.")
            }
            Note::PublishFailed(e) => write!(
                f,
                "Could not make encryption keys ({e}); others cannot start encrypted conversations with you."
            ),
        }
    }
}

/// A message received, as the user should see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// Without the prefix: shown marked "not encrypted".
    Plain(String),
    /// Decrypted. `verified`: the sender's key is the one the user verified; `key_changed`: the
    /// sender's key is not the pinned one (shown with a warning).
    Text {
        text: String,
        verified: bool,
        key_changed: bool,
    },
    /// A group key, kept; nothing to show.
    GroupKey,
    /// Decrypted before (a redelivery): not shown again.
    Duplicate,
    /// Could not be decrypted: shown as an error in the message's place.
    Failed(String),
}

/// A message waiting for a contact's keys.
#[derive(Clone, Debug)]
enum Waiting {
    Text(String),
}

/// A group message encrypted and waiting for its key to reach members whose keys were claimed.
#[derive(Clone, Debug)]
struct PendingGroup {
    group: Name,
    text: String,
    line: String,
    session_key: String,
    waiting: BTreeSet<Name>,
    /// A member turned out to have no keys: it goes unencrypted.
    clear: bool,
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
    /// Claims sent, by user, with what waits for each answer.
    claims: BTreeMap<Name, Vec<Waiting>>,
    /// Group messages waiting for claims, in the order they were written.
    pending_groups: Vec<PendingGroup>,
    /// Users whose `keys show` answer is wanted for `verify`.
    showing: BTreeSet<Name>,
    /// This device's identity proof, once made.
    proof: Option<envelope::Proof>,
    /// Users whose claim was answered "no keys" once and is being asked again.
    retried: BTreeSet<Name>,
    /// The messages already decrypted, per conversation (by its texts part), with how many records
    /// were appended to each since it was last saved whole.
    texts: BTreeMap<Part, (dedup::Dedup, usize)>,
    /// Conversations whose stored state could not be read, with why (by their sessions part).
    damaged: BTreeMap<Part, String>,
}

/// Why the stored state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: {why}")]
    Damaged { file: String, why: String },
    #[error("{0}")]
    Engine(#[from] EngineError),
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("end-to-end state serialises")
}

impl E2e {
    /// Opens the device of `me` from its stored parts (`stored`), or makes a new one (whose saving is
    /// in `out`). A damaged device or contacts part is an error: guessing would lose keys or pins
    /// silently, so nothing is encrypted at all. A damaged part of one conversation is kept aside
    /// ([`E2e::damaged`]): nothing is sent to that conversation until the user starts it over
    /// ([`E2e::reset`]).
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
        let mut texts: BTreeMap<Part, (dedup::Dedup, usize)> = BTreeMap::new();
        let mut damaged = BTreeMap::new();
        for (part, piece) in stored {
            let result = match (part, piece) {
                (Part::Device, Stored::Whole(bytes)) => {
                    let file: DeviceFile = parse(part, bytes)?;
                    device = Some(Device::open(&*engine, file.account)?);
                    Ok(())
                }
                (Part::Contacts, Stored::Whole(bytes)) => {
                    contacts = parse(part, bytes)?;
                    Ok(())
                }
                (Part::Peer(user), Stored::Whole(bytes)) => {
                    parse(part, bytes).map(|p| drop(peers.insert(user.clone(), p)))
                }
                (Part::Group(group), Stored::Whole(bytes)) => {
                    parse(part, bytes).map(|g| drop(groups.insert(group.clone(), g)))
                }
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
                (Err(e), _) => {
                    damaged.insert(sessions_part(part), e.to_string());
                }
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
            claims: BTreeMap::new(),
            pending_groups: Vec::new(),
            showing: BTreeSet::new(),
            proof: None,
            retried: BTreeSet::new(),
            texts,
            damaged,
        })
    }

    /// Why the stored state of the conversation `to` could not be read, if it could not: nothing is
    /// to be sent to it encrypted until [`E2e::reset`].
    pub fn damaged(&self, to: &crate::protocol::Conversation) -> Option<Refusal> {
        use crate::protocol::Conversation;
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
            out.push(Out::Save(
                Part::Peer(name.clone()),
                to_json(&Peer::default()),
            ));
            out.push(Out::Save(Part::PeerTexts(name.clone()), b"[]".to_vec()));
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
        let (d, appended) = self.texts.entry(part.clone()).or_default();
        if d.contains(id, &digest) {
            return;
        }
        let record = dedup::Record(id, digest.clone(), text.clone());
        d.insert(id, digest, text);
        if *appended + 1 >= dedup::KEEP {
            *appended = 0;
            out.push(Out::Save(part, to_json(&d.records())));
        } else {
            *appended += 1;
            out.push(Out::Append(part, to_json(&record)));
        }
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

    /// What the user is told of conversations whose stored state could not be read.
    pub fn damaged_notes(&self) -> Vec<String> {
        self.damaged
            .iter()
            .filter_map(|(part, why)| {
                let name = match part {
                    Part::Peer(n) | Part::Group(n) => n.clone(),
                    _ => return None,
                };
                Some(Refusal::Damaged(name, why.clone()).to_string())
            })
            .collect()
    }

    /// This device's identity.
    pub fn identity(&self) -> &Identity {
        &self.device.identity
    }

    pub fn contacts(&self) -> &Contacts {
        &self.contacts
    }

    /// Logged in (again: the connection may be new): publish the identity and a new fallback key, and
    /// claim again the keys whose answers a lost connection took with it.
    pub fn on_login(&mut self, out: &mut Vec<Out>) {
        self.showing.clear();
        for user in self.claims.keys() {
            out.push(Out::Keys(format!("keys claim {user}")));
        }
        match self.device.login_lines(&*self.engine, &self.me) {
            Ok(lines) => {
                self.save_device(out);
                out.extend(lines.into_iter().map(Out::Keys));
            }
            Err(e) => out.push(Out::Note(Note::PublishFailed(e))),
        }
    }

    /// `KEYS-LEFT <n>`: top the one-time keys up if they are low.
    pub fn on_keys_left(&mut self, left: u32, out: &mut Vec<Out>) {
        match self.device.on_keys_left(&*self.engine, &self.me, left) {
            Ok(lines) if lines.is_empty() => {}
            Ok(lines) => {
                self.save_device(out);
                out.extend(lines.into_iter().map(Out::Keys));
            }
            Err(e) => out.push(Out::Note(Note::PublishFailed(e))),
        }
    }

    /// `verify <user>`: the safety number with `user`, if their key is pinned; otherwise their
    /// identity is asked for (`keys show`) and the number comes with the answer.
    pub fn verify(&mut self, user: &Name, out: &mut Vec<Out>) {
        match self.contacts.get(user) {
            Some(c) => {
                let theirs = c.changed.as_ref().unwrap_or(&c.pinned);
                out.push(Out::Note(Note::SafetyNumber {
                    user: user.clone(),
                    number: safety::safety_number(&self.device.identity.ed25519, &theirs.ed25519),
                    verified: self.contacts.is_verified(user),
                }));
            }
            None => {
                self.showing.insert(user.clone());
                out.push(Out::Keys(format!("keys show {user}")));
            }
        }
    }

    /// The user compared safety numbers with `user` and they matched (or, with `false`, takes that back).
    pub fn mark_verified(
        &mut self,
        user: &Name,
        verified: bool,
        out: &mut Vec<Out>,
    ) -> Result<(), ContactError> {
        if verified && self.contacts.is_changed(user) {
            // What was compared is the new key: accepting and verifying are one step then.
            self.accept(user, out)?;
        }
        self.contacts.set_verified(user, verified)?;
        self.save_contacts(out);
        Ok(())
    }

    /// `trust <user>`: pin `user`'s new key; sessions made with the old one are forgotten.
    pub fn accept(&mut self, user: &Name, out: &mut Vec<Out>) -> Result<(), ContactError> {
        let identity = self.contacts.accept(user)?;
        self.save_contacts(out);
        if let Some(peer) = self.peers.get_mut(user) {
            peer.keep_only(&identity.curve25519);
            let bytes = to_json(peer);
            out.push(Out::Save(Part::Peer(user.clone()), bytes));
        }
        out.push(Out::Note(Note::Accepted { user: user.clone() }));
        Ok(())
    }

    fn save_device(&self, out: &mut Vec<Out>) {
        out.push(Out::Save(Part::Device, to_json(&self.device.file())));
    }

    fn save_contacts(&self, out: &mut Vec<Out>) {
        out.push(Out::Save(Part::Contacts, to_json(&self.contacts)));
    }

    fn save_peer(&self, user: &Name, out: &mut Vec<Out>) {
        if let Some(peer) = self.peers.get(user) {
            out.push(Out::Save(Part::Peer(user.clone()), to_json(peer)));
        }
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
        Part::PeerTexts(u) => Part::Peer(u.clone()),
        Part::GroupTexts(g) => Part::Group(g.clone()),
        other => other.clone(),
    }
}
