//! Which device holds the account, and moving it to this one.
//!
//! natter has one device per account at a time (one session per user), and each device its own
//! identity. At each login the device asks the key directory whose identity the account has
//! (`keys show <me>`) before publishing anything:
//!
//! - none, or this device's own: this device is the account's ([`Home::Here`]); it publishes, sends
//!   what waited, and acknowledges what it shows;
//! - another one: the account lives on another device ([`Home::Elsewhere`]). Publishing here would
//!   take the account from it without a word, and acknowledging what arrives would throw away
//!   messages only it can read. So this device publishes nothing, sends nothing encrypted (what is
//!   written waits, on disk) and acknowledges nothing, so the server keeps every message for the
//!   device that can read it; the user is told, with the way to move the account here.
//!
//! Moving ([`E2e::move_here`], `/movehere`) publishes this device's identity, which replaces the old
//! one at the server with its keys. Contacts who pinned the old one are told when they next meet the
//! new one, loudly and before anything can be lost: a message of theirs to the old device is refused
//! by the server (`stale-key`) and held by their client until they accept the new key; a message
//! from this device is a pre-key message of the new identity. Messages that were waiting on the server
//! for the old device, which no one can read any more, are not dropped: each one's sender is sent an
//! encrypted notice ([`super::outbox::Waiting::Unreadable`]) and their client sends the text again,
//! encrypted for this device, once they accept its key.

use super::notes::Wait;
use super::outbox::Waiting;
use super::safety;
use super::{E2e, Home, Identity, Note, Out};
use crate::protocol::Name;

impl E2e {
    /// Logged in (again: the connection may be new): ask the directory which device holds the
    /// account; what to publish depends on the answer (`on_home`).
    pub fn on_login(&mut self, out: &mut Vec<Out>) {
        self.connection_lost();
        self.checking.clear();
        self.home = Home::Asking;
        self.showing.insert(self.me.clone());
        out.push(Out::Keys(format!("keys show {}", self.me)));
    }

    /// The connection to the server is gone: what this device awaited answers to on it (claims,
    /// looks at keys, the `KEYS-LEFT` of its publishing lines) is forgotten, since those answers
    /// will not come and answers on the next connection are to that one's lines. What waited for
    /// a claim stays in the outbox and is claimed again at the next login.
    pub fn connection_lost(&mut self) {
        self.showing.clear();
        self.claims.clear();
        self.retried.clear();
        self.device.connection_lost();
    }

    /// Logged in with keys the user has just made in place of stored ones that could not be opened
    /// (`e2e-newkeys`): the account moves to them whatever the directory holds, since that is what
    /// the user asked for (said as a move, as `/movehere` says it).
    pub fn on_login_with_new_keys(&mut self, out: &mut Vec<Out>) {
        self.on_login(out);
        self.moving = true;
    }

    /// The directory's answer about this account: its identity (`None`: it has none).
    pub(super) fn on_home(&mut self, identity: Option<Identity>, out: &mut Vec<Out>) {
        let moving = std::mem::take(&mut self.moving);
        match identity {
            Some(id) if id != self.device.identity && moving => {
                self.moved = Some(self.stale_held.len());
                self.settle_here(out)
            }
            Some(id) if id != self.device.identity => {
                let first = !matches!(&self.home, Home::Elsewhere(old) if *old == id);
                let fingerprint = safety::fingerprint(&id.ed25519, &self.me);
                self.home = Home::Elsewhere(id);
                if first {
                    out.push(Out::Note(Note::Elsewhere { fingerprint }));
                }
                // What came for it before the answer stays on the server for it.
                let mut told = Vec::new();
                for (from, _) in &self.stale_held {
                    if !told.contains(from) {
                        told.push(from.clone());
                        out.push(Out::Note(Note::ForOtherDevice {
                            from: from.clone(),
                            held: true,
                        }));
                    }
                }
            }
            _ => {
                // Messages for a device of this account that is gone, seen before the answer: their
                // senders are asked to send them again.
                let mut told = Vec::new();
                for (from, _) in &self.stale_held {
                    if !told.contains(from) {
                        told.push(from.clone());
                        out.push(Out::Note(Note::ForOtherDevice {
                            from: from.clone(),
                            held: false,
                        }));
                    }
                }
                self.settle_here(out)
            }
        }
    }

    /// `/movehere`: make this device the account's (see the module documentation).
    pub fn move_here(&mut self, out: &mut Vec<Out>) -> Result<(), MoveError> {
        match &self.home {
            Home::Here => return Err(MoveError::AlreadyHere),
            Home::Asking => return Err(MoveError::NotKnownYet),
            Home::Elsewhere(_) => {}
        }
        self.moved = Some(self.stale_held.len());
        self.settle_here(out);
        Ok(())
    }

    /// The server answered the identity this device published to take the account (the first
    /// `KEYS-LEFT` after it): the account is here now, so the move is said, not before. Saying it as
    /// the `keys identity` line left (or, with group commit, before it left) told the user, and a
    /// script, that the old device's keys were gone while the server still handed them out: a
    /// contact writing then pinned the old key, and saw a change a moment later.
    pub(super) fn moved_if_answered(&mut self, out: &mut Vec<Out>) {
        if let Some(bounced) = self.moved.take() {
            out.push(Out::Note(Note::Moved { bounced }));
        }
    }

    /// This device holds the account: publish, send what waited (asking again for every contact's
    /// keys it waits for, and asking the senders of messages for a device of this account that is
    /// gone to send them again), and acknowledge what was shown.
    fn settle_here(&mut self, out: &mut Vec<Out>) {
        self.home = Home::Here;
        for (from, digest) in std::mem::take(&mut self.stale_held) {
            self.outbox
                .direct
                .entry(from)
                .or_default()
                .push(Waiting::Unreadable(digest));
        }
        self.save_outbox(out);
        match self.device.login_lines(&*self.engine, &self.me) {
            Ok(lines) => {
                self.save_device(out);
                out.extend(lines.into_iter().map(Out::Keys));
            }
            Err(e) => out.push(Out::Note(Note::PublishFailed(e))),
        }
        out.push(Out::Acknowledge);
        let users: Vec<Name> = self.outbox.direct.keys().cloned().collect();
        for user in users {
            self.resume(&user, out);
        }
        let waiting: Vec<Name> = self
            .outbox
            .groups
            .iter()
            .flat_map(|p| p.waiting.iter().cloned())
            .collect();
        for user in waiting {
            self.claim(&user, out);
        }
        // Once per group, however many messages wait for it: every answer but the first would
        // otherwise be taken for the user's own question, and shown.
        let unlisted: std::collections::BTreeSet<Name> = self
            .outbox
            .unlisted
            .iter()
            .map(|(g, _)| g.clone())
            .collect();
        for group in unlisted {
            if !self.members.knows(&group) {
                out.push(Out::AskMembers(group));
            }
        }
        self.members_known_all(out);
    }

    /// What waits for `user` goes if it can: at once with a session made with their pinned key,
    /// otherwise after a claim of their keys. Not while their key change is undecided.
    pub(super) fn resume(&mut self, user: &Name, out: &mut Vec<Out>) {
        if self.home != Home::Here || !self.outbox.direct.contains_key(user) {
            return;
        }
        if self.contacts.is_changed(user) {
            self.holds.insert(user.clone(), Wait::Changed);
            // Looked at again (without taking a one-time key): a further change is announced too.
            if self.checking.insert(user.clone()) {
                out.push(Out::Keys(format!("keys show {user}")));
            }
            return;
        }
        self.holds.remove(user);
        if self.session_with(user).is_some() && !self.claims.contains(user) {
            return self.send_waiting(user, out);
        }
        self.claim(user, out);
    }
}

/// Why the account could not be moved here.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    /// This device holds them already.
    #[error("this device already holds your account's keys; there is nothing to move.")]
    AlreadyHere,
    /// The server's answer to which device holds them has not come yet.
    #[error(
        "the server has not said yet which device holds your account's keys; try again in a moment."
    )]
    NotKnownYet,
}
