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
#[cfg(feature = "vodozemac")]
pub mod olm_engine;
pub mod outbox;
pub mod safety;
pub mod store;
mod trust;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use direct::{SendClearError, SignedKey};
pub use engine::{Engine, EngineError, Identity};
pub use home::MoveError;
pub use notes::{LeftOut, Note, Protection, Wait};
pub use store::Part;

use self::contacts::Contacts;
use self::device::{Device, DeviceFile};
use self::megolm::{Group, Members};
use self::olm::Peer;
use self::outbox::Outbox;
use crate::protocol::{Conversation, Name};

/// What the shell gives the core to encrypt with: the engine, and every stored device of this
/// server, by user (the one that logs in is opened then).
#[derive(Clone, Debug)]
pub struct Setup {
    pub engine: Arc<dyn Engine>,
    pub devices: BTreeMap<Name, Vec<(Part, Vec<u8>)>>,
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
    /// A `keys ...` line for the server's key directory; answered by `KEYS`, `NOKEYS`, `KEYS-LEFT`
    /// or an error naming the user.
    Keys(String),
    /// A message the user wrote, as the line that carries it: encrypted, or in clear when `encrypted`
    /// is false (only ever because the user asked: [`Note::SentInClear`]).
    Message {
        line: String,
        to: Conversation,
        text: String,
        encrypted: bool,
    },
    /// A line the user did not write (a group's session key for `to`, or a notice that a message was
    /// unreadable): its answers are not shown, and the recipient's client consumes it unseen.
    KeyShare { line: String, to: Name },
    /// Persist this part (owner-only, atomically) before carrying out what follows.
    Save(Part, Vec<u8>),
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
    #[error(
        "{0}'s identity key has changed and you have not accepted the new one. Compare safety numbers with '/verify {0}', then '/trust {0} <digits>' if they match (or '/reject {0}')."
    )]
    KeyChanged(Name),
    #[error(
        "once encrypted it would not fit in one line: at most {max} bytes of text can be sent here. Split it."
    )]
    TooLong { max: usize },
    #[error(
        "the keys the server gave for {0} are not signed by {0}'s identity key: the server, or someone on the way, is tampering with them."
    )]
    BadSignature(Name),
    #[error("{0} has blocked you; nothing was delivered or stored.")]
    BlockedBy(Name),
    #[error("there is no user named '{0}'.")]
    NoSuchUser(Name),
    #[error("you rejected {0}'s new key, which is the one the server hands out for {0}.")]
    Rejected(Name),
    #[error("{0} has no encryption keys and is pinned by nobody: use '/sendclear {0}'.")]
    NeverPinned(Name),
    #[error("{0}'s keys were pinned: nothing goes to {0} unencrypted, whatever the server says.")]
    Pinned(Name),
    #[error("encryption failed: {0}")]
    Engine(EngineError),
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
        text: String,
        verified: bool,
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
    /// Opens the device of `me` from its stored parts (`files`), or makes a new one (whose saving is
    /// in `out`). A damaged part is an error: guessing would lose keys or pins silently.
    pub fn open(
        engine: Arc<dyn Engine>,
        me: Name,
        files: &[(Part, Vec<u8>)],
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
        for (part, bytes) in files {
            match part {
                Part::Device => {
                    let file: DeviceFile = parse(part, bytes)?;
                    device = Some(Device::open(&*engine, file)?);
                }
                Part::Contacts => contacts = parse(part, bytes)?,
                Part::Peer(user) => {
                    peers.insert(user.clone(), parse(part, bytes)?);
                }
                Part::Group(group) => {
                    groups.insert(group.clone(), parse(part, bytes)?);
                }
                Part::Outbox => outbox = parse(part, bytes)?,
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
        })
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

    /// `KEYS-LEFT <n>`: top the one-time keys up if they are low.
    pub fn on_keys_left(&mut self, left: u32, out: &mut Vec<Out>) {
        if self.home != Home::Here {
            return;
        }
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
