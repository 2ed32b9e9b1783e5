//! The user's decisions about a contact's keys: `verify` (show the safety number, and mark it
//! compared), `trust` (accept a changed key), `reject` (keep the old one). Each decision names the
//! key it is about: the one whose number was last shown, confirmed by the first digits of its part
//! (`/verify bob yes 12345`, `/trust bob 12345`). A key that changed since it was shown, or digits
//! that are not its own, change nothing, so a server cannot slip a key of its own in between the
//! comparison and the answer.

use super::contacts::ContactError;
use super::notes::Wait;
use super::outbox::Waiting;
use super::{E2e, Identity, Note, Out, Refusal, safety};
use crate::protocol::{Conversation, Name};

impl E2e {
    /// `verify <user>`: the safety number with `user`'s key as pinned (or as changed to, if it
    /// changed), remembered as the key shown; if none is pinned, the directory is asked
    /// (`keys show`) and the number comes with the answer.
    pub fn verify(&mut self, user: &Name, out: &mut Vec<Out>) {
        let Some(theirs) = self.contacts.current(user).cloned() else {
            self.showing.insert(user.clone());
            out.push(Out::Keys(format!("keys show {user}")));
            return;
        };
        let number = safety::safety_number(
            (&self.device.identity.ed25519, &self.me),
            (&theirs.ed25519, user),
        );
        let confirm = safety::confirmation(&theirs.ed25519, user);
        self.shown.insert(user.clone(), theirs);
        out.push(Out::Note(Note::SafetyNumber {
            user: user.clone(),
            number,
            confirm,
            verified: self.contacts.is_verified(user),
            changed: self.contacts.is_changed(user),
        }));
    }

    /// The key whose number was shown for `user`, if `digits` confirm it.
    fn shown_key(&self, user: &Name, digits: &str) -> Result<Identity, ContactError> {
        let not_shown = || ContactError::NotShown { user: user.clone() };
        let shown = self.shown.get(user).ok_or_else(not_shown)?;
        if safety::confirmation(&shown.ed25519, user) != digits {
            return Err(not_shown());
        }
        Ok(shown.clone())
    }

    /// `verify <user> yes <digits>`: the user compared the number shown for `user` and it matched
    /// (a changed key compared is accepted too); `verify <user> no` takes a mark back.
    pub fn mark_verified(
        &mut self,
        user: &Name,
        confirmed: Option<&str>,
        out: &mut Vec<Out>,
    ) -> Result<(), ContactError> {
        let Some(digits) = confirmed else {
            let identity = self
                .contacts
                .current(user)
                .cloned()
                .ok_or_else(|| ContactError::Unknown(user.clone()))?;
            self.contacts.set_verified(user, &identity, false)?;
            self.save_contacts(out);
            out.push(Out::Note(Note::Unverified { user: user.clone() }));
            return Ok(());
        };
        if self.contacts.get(user).is_none() {
            return Err(ContactError::Unknown(user.clone()));
        }
        let identity = self.shown_key(user, digits)?;
        let was_changed = self.contacts.is_changed(user);
        self.contacts.set_verified(user, &identity, true)?;
        self.save_contacts(out);
        if was_changed {
            self.accepted(user, &identity, out);
        }
        out.push(Out::Note(Note::Verified { user: user.clone() }));
        Ok(())
    }

    /// `trust <user> <digits>`: accept `user`'s changed key, exactly the one whose number was shown
    /// (in the key-change warning, or by `verify`); sessions made with the old one are forgotten, and
    /// what waited for the decision goes.
    pub fn accept(
        &mut self,
        user: &Name,
        digits: &str,
        out: &mut Vec<Out>,
    ) -> Result<(), ContactError> {
        let changed = self
            .contacts
            .get(user)
            .ok_or_else(|| ContactError::Unknown(user.clone()))?
            .changed
            .clone()
            .ok_or_else(|| ContactError::NotChanged(user.clone()))?;
        // The key-change warning showed the new key's digits: they name it as `verify` would.
        if safety::confirmation(&changed.ed25519, user) == digits {
            self.shown.insert(user.clone(), changed);
        }
        let identity = self.shown_key(user, digits)?;
        self.contacts.accept(user, &identity)?;
        self.save_contacts(out);
        out.push(Out::Note(Note::Accepted { user: user.clone() }));
        self.accepted(user, &identity, out);
        Ok(())
    }

    /// `user`'s key `identity` is pinned now: the old sessions go, and what waited is sent (with the
    /// key claimed for it, or after a new claim).
    fn accepted(&mut self, user: &Name, identity: &Identity, out: &mut Vec<Out>) {
        self.stale.remove(user);
        if let Some(peer) = self.peers.get_mut(user) {
            peer.keep_only(&identity.curve25519);
            self.save_peer(user, out);
        }
        self.holds.remove(user);
        match self.changed_claims.remove(user) {
            Some((claimed, key))
                if claimed == *identity && self.outbox.direct.contains_key(user) =>
            {
                self.open_session(user, identity, &key, out)
            }
            _ => self.resume(user, out),
        }
    }

    /// `reject <user>`: keep `user`'s old key; the new one is forgotten, and what waited for the
    /// decision is not sent (to the new key, which is the one the server hands out).
    pub fn reject(&mut self, user: &Name, out: &mut Vec<Out>) -> Result<(), ContactError> {
        self.contacts.reject(user)?;
        self.save_contacts(out);
        self.changed_claims.remove(user);
        self.stale.remove(user);
        self.shown.remove(user);
        let refused = self.outbox.texts_for(user);
        let waiting = self.outbox.direct.remove(user).unwrap_or_default();
        self.save_outbox(out);
        self.holds.remove(user);
        for w in waiting {
            if let Waiting::Text(text) = w {
                out.push(Out::Note(Note::NotSent {
                    to: Conversation::User(user.clone()),
                    text,
                    why: Refusal::Rejected(user.clone()),
                }));
            }
        }
        out.push(Out::Note(Note::Rejected {
            user: user.clone(),
            refused,
        }));
        Ok(())
    }

    /// Why messages to `user` wait now, if they do.
    pub fn waits_for(&self, user: &str) -> Option<Wait> {
        if !self.outbox.direct.contains_key(user) {
            return None;
        }
        Some(
            self.holds
                .get(user)
                .copied()
                .unwrap_or(if self.claims.contains(user) {
                    Wait::Claiming
                } else {
                    Wait::Slow
                }),
        )
    }
}
