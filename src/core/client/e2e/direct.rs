//! Direct messages: sending (with the claim of a contact's keys when there is no session yet, and
//! what waits meanwhile), the answers to claims, and receiving.

use super::contacts::Met;
use super::dedup::digest;
use super::device::{fallback_statement, one_time_statement};
use super::engine::{Identity, PublicKey};
use super::envelope::{
    Body, Envelope, Inner, Proof, identity_statement, render_body, render_inner, render_olm,
};
use super::notes::{LeftOut, Wait};
use super::olm::Peer;
use super::outbox::Waiting;
use super::{E2e, Home, Note, Out, Part, Received, Refusal, fit, safety};
use crate::protocol::{Conversation, Name};

/// A key handed out by a claim, with its owner's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedKey {
    /// The id its owner's engine gave it.
    pub key_id: String,
    /// Its public half.
    pub curve25519: String,
    /// Its owner's identity key's signature over it.
    pub signature: String,
}

impl SignedKey {
    /// Reads `<keyid>:<curve25519>:<signature>` (the `KEYS` line's last field).
    pub fn parse(field: &str) -> Option<SignedKey> {
        let mut parts = field.split(':');
        let (Some(key_id), Some(curve25519), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        Some(SignedKey {
            key_id: key_id.to_owned(),
            curve25519: curve25519.to_owned(),
            signature: signature.to_owned(),
        })
    }
}

impl E2e {
    /// The most bytes of text a direct message to `to` may have, with lines of at most `limit` bytes.
    pub fn max_direct(&self, to: &str, limit: usize) -> usize {
        fit::max_text(limit, fit::direct_head(to), fit::direct_len)
    }

    /// `message <to> <text>`: sent encrypted now if there is a session with `to`'s pinned identity;
    /// otherwise it waits (on disk) for their keys, after anything already waiting for them.
    /// Refused at once if it cannot be sent (see [`Refusal`]).
    pub fn send_direct(
        &mut self,
        to: &Name,
        text: &str,
        limit: usize,
        out: &mut Vec<Out>,
    ) -> Result<(), Refusal> {
        if self.contacts.is_changed(to) {
            return Err(Refusal::KeyChanged(to.clone()));
        }
        let max = self.max_direct(to, limit);
        if text.len() > max {
            return Err(Refusal::TooLong { max });
        }
        self.send_direct_fitted(to, text, out)
    }

    /// [`Self::send_direct`] for a text already known to fit.
    fn send_direct_fitted(
        &mut self,
        to: &Name,
        text: &str,
        out: &mut Vec<Out>,
    ) -> Result<(), Refusal> {
        let waiting = self.outbox.direct.contains_key(to);
        if !waiting && self.home == Home::Here && self.session_with(to).is_some() {
            let line = self.encrypt_direct(to, &Body::Text(text.to_owned()))?;
            self.save_peer(to, out);
            out.push(Out::Message {
                line,
                to: Conversation::User(to.clone()),
                text: text.to_owned(),
                encrypted: true,
            });
            return Ok(());
        }
        self.enqueue(to, Waiting::Text(text.to_owned()), out);
        match (&self.home, self.holds.get(to)) {
            (Home::Elsewhere(_), _) => self.tell_waiting(to, Wait::NotHere, out),
            (_, Some(why)) => {
                let why = *why;
                self.tell_waiting(to, why, out)
            }
            _ => self.resume(to, out),
        }
        Ok(())
    }

    /// Adds `what` to what waits for `user`, on disk before anything else happens.
    fn enqueue(&mut self, user: &Name, what: Waiting, out: &mut Vec<Out>) {
        self.outbox
            .direct
            .entry(user.clone())
            .or_default()
            .push(what);
        self.save_outbox(out);
    }

    /// Tells the user that messages to `user` wait, and why.
    fn tell_waiting(&self, user: &Name, why: Wait, out: &mut Vec<Out>) {
        let count = self.outbox.texts_for(user);
        if count > 0 {
            out.push(Out::Note(Note::Waiting {
                user: user.clone(),
                why,
                count,
            }));
        }
    }

    /// The pinned identity's Curve25519 key, if there is a session made with it to encrypt with.
    pub(super) fn session_with(&self, user: &Name) -> Option<String> {
        let pinned = &self.contacts.get(user)?.pinned;
        self.peers
            .get(user)
            .filter(|p| p.can_encrypt(&pinned.curve25519))
            .map(|_| pinned.curve25519.clone())
    }

    /// Asks for `user`'s keys, unless a claim is already out.
    pub(super) fn claim(&mut self, user: &Name, out: &mut Vec<Out>) {
        if self.home != Home::Here || !self.claims.insert(user.clone()) {
            return;
        }
        out.push(Out::Keys(format!("keys claim {user}")));
        out.push(Out::ClaimTimer(user.clone()));
    }

    /// The claim of `user`'s keys has gone unanswered for a while: say so, if messages wait for it.
    pub fn claim_slow(&mut self, user: &Name, out: &mut Vec<Out>) {
        if self.claims.contains(user) {
            self.tell_waiting(user, Wait::Slow, out);
        }
    }

    /// This device's identity proof, for the plaintext of pre-key messages (made once: the identity
    /// does not change).
    fn proof(&mut self) -> Result<&Proof, Refusal> {
        if self.proof.is_none() {
            let id = &self.device.identity;
            let statement = identity_statement(&self.me, &id.curve25519, &id.ed25519);
            let signature = self
                .engine
                .sign(&self.device.account, &[statement.as_bytes()])
                .map_err(Refusal::Engine)?
                .remove(0);
            self.proof = Some(Proof {
                ed25519: id.ed25519.clone(),
                signature,
            });
        }
        Ok(self.proof.as_ref().expect("made above"))
    }

    /// Encrypts `body` for `to` with the session made with their pinned identity; the line to send.
    /// The text of a message is remembered by its ciphertext's digest (to send it again if `to` says
    /// it was for a device they no longer have). The caller saves the peer before sending it.
    pub(super) fn encrypt_direct(&mut self, to: &Name, body: &Body) -> Result<String, Refusal> {
        self.encrypt_direct_as("message", to, body)
    }

    /// [`E2e::encrypt_direct`] as the line of `command`: `message`, or `note` for what the client
    /// sends on its own (which does not reset the user's idle timeout).
    fn encrypt_direct_as(
        &mut self,
        command: &str,
        to: &Name,
        body: &Body,
    ) -> Result<String, Refusal> {
        let curve = self
            .session_with(to)
            .ok_or_else(|| Refusal::Engine(super::EngineError::Decrypt("no session".into())))?;
        let pre_key = self.peers.get(to).is_none_or(|p| p.next_is_pre_key(&curve));
        let plaintext = if pre_key {
            render_inner(Some(self.proof()?), body)
        } else {
            render_inner(None, body)
        };
        let peer = self.peers.entry(to.clone()).or_default();
        let message = peer
            .encrypt(&*self.engine, &curve, plaintext.as_bytes())
            .map_err(Refusal::Engine)?;
        // The line made in one piece: `message <to> ` and the envelope after it.
        let mut line = String::with_capacity(16 + to.len());
        line.push_str(command);
        line.push(' ');
        line.push_str(to);
        line.push(' ');
        let text_at = line.len();
        render_olm(&curve, &message, &mut line);
        if let Body::Text(t) = body {
            self.record_sent(to, digest(&line[text_at..]), t.clone());
        }
        Ok(line)
    }

    /// `KEYS <user> <curve25519> <ed25519> <key>|-`: the answer to a claim (a session is made and what
    /// waited is sent) or to `keys show` (for `verify`, or this account's home). A `KEYS` line
    /// nobody asked for is ignored: it would otherwise let the server pin a key of its own for a
    /// user this device never met, or mark a contact changed whenever it liked.
    pub fn on_keys(
        &mut self,
        user: &Name,
        identity: Identity,
        key: Option<SignedKey>,
        out: &mut Vec<Out>,
    ) {
        let Some(key) = key else {
            if self.checking.remove(user) && !self.showing.contains(user) {
                self.meet(user, &identity, out);
                return;
            }
            if !self.showing.remove(user) {
                return;
            }
            if *user == self.me {
                return self.on_home(Some(identity), out);
            }
            self.meet(user, &identity, out);
            return self.verify(user, out);
        };
        if !self.claims.remove(user) {
            return;
        }
        self.retried.remove(user);
        let public = PublicKey {
            key_id: key.key_id.clone(),
            curve25519: key.curve25519.clone(),
        };
        let signed = [
            one_time_statement(user, &public),
            fallback_statement(user, &public),
        ]
        .iter()
        .any(|s| {
            self.engine
                .verify(&identity.ed25519, s.as_bytes(), &key.signature)
                .is_ok()
        });
        if !signed {
            return self.refuse_waiting(user, Refusal::BadSignature(user.clone()), out);
        }
        match self.meet(user, &identity, out) {
            Met::Changed | Met::StillChanged => {
                self.changed_claims.insert(user.clone(), (identity, key));
                self.holds.insert(user.clone(), Wait::Changed);
                self.leave_out_of_pending_groups(user, LeftOut::KeyChanged, out);
                return;
            }
            Met::Pinned | Met::Known => {}
        }
        self.open_session(user, &identity, &key, out);
    }

    /// Makes a session with `user`'s `identity` from a claimed `key`, and sends what waited.
    pub(super) fn open_session(
        &mut self,
        user: &Name,
        identity: &Identity,
        key: &SignedKey,
        out: &mut Vec<Out>,
    ) {
        let session =
            match self
                .engine
                .outbound(&self.device.account, &identity.curve25519, &key.curve25519)
            {
                Ok(s) => s,
                Err(e) => return self.refuse_waiting(user, Refusal::Engine(e), out),
            };
        self.peers
            .entry(user.clone())
            .or_default()
            .add(session, &identity.curve25519, false);
        self.holds.remove(user);
        self.send_waiting(user, out);
    }

    /// Meets `identity` for `user`: pinned (and saved) if new; a loud note for each new changed key.
    pub(super) fn meet(&mut self, user: &Name, identity: &Identity, out: &mut Vec<Out>) -> Met {
        let met = self.contacts.meet(user, identity);
        match met {
            Met::Pinned => self.save_contacts(out),
            Met::Changed => {
                self.save_contacts(out);
                self.changed_claims.remove(user);
                out.push(Out::Note(Note::KeyChanged {
                    user: user.clone(),
                    fingerprint: safety::fingerprint(&identity.ed25519, user),
                    confirm: safety::confirmation(&identity.ed25519, user),
                    waiting: self.outbox.texts_for(user),
                }));
            }
            Met::Known | Met::StillChanged => {}
        }
        met
    }

    /// Sends what waited for `user`'s session, in order, and the group keys they were waiting for.
    pub(super) fn send_waiting(&mut self, user: &Name, out: &mut Vec<Out>) {
        let mut lines = Vec::new();
        for w in self.outbox.direct.remove(user).unwrap_or_default() {
            let (body, text) = match w {
                Waiting::Text(text) => (Body::Text(text.clone()), Some(text)),
                Waiting::Unreadable(digest) => (Body::Unreadable { digest }, None),
            };
            match (self.encrypt_direct(user, &body), text) {
                (Ok(line), Some(text)) => lines.push(Out::Message {
                    line,
                    to: Conversation::User(user.clone()),
                    text,
                    encrypted: true,
                }),
                (Ok(line), None) => lines.push(Out::KeyShare {
                    line,
                    to: user.clone(),
                }),
                (Err(why), Some(text)) => out.push(Out::Note(Note::NotSent {
                    to: Conversation::User(user.clone()),
                    text,
                    why,
                })),
                (Err(_), None) => {}
            }
        }
        let shares = self.share_pending_keys(user, out);
        lines.extend(shares);
        self.save_peer(user, out);
        self.save_outbox(out);
        out.extend(lines);
        self.flush_groups(out);
    }

    /// Nothing that waits for `user` can go (`why`): each message is refused, with the reason, and
    /// `user` is left out of the group messages waiting for them.
    pub(super) fn refuse_waiting(&mut self, user: &Name, why: Refusal, out: &mut Vec<Out>) {
        self.holds.remove(user);
        for w in self.outbox.direct.remove(user).unwrap_or_default() {
            if let Waiting::Text(text) = w {
                out.push(Out::Note(Note::NotSent {
                    to: Conversation::User(user.clone()),
                    text,
                    why: why.clone(),
                }));
            }
        }
        self.save_outbox(out);
        let left = match why {
            Refusal::BlockedBy(_) => LeftOut::BlockedYou,
            Refusal::KeyChanged(_) | Refusal::Rejected(_) | Refusal::BadSignature(_) => {
                LeftOut::KeyChanged
            }
            _ => LeftOut::NoKeys,
        };
        self.leave_out_of_pending_groups(user, left, out);
    }

    /// `NOKEYS <user>`: the answer to a claim or to `keys show`. What waits for a user who never
    /// published keys stays waiting, and the user is asked whether to send it unencrypted; for a
    /// user whose keys were pinned, the server is not believed and nothing goes unencrypted.
    pub fn on_no_keys(&mut self, user: &Name, out: &mut Vec<Out>) {
        self.checking.remove(user);
        if self.showing.remove(user) {
            if *user == self.me {
                return self.on_home(None, out);
            }
            out.push(Out::Note(Note::NoSafetyNumber { user: user.clone() }));
        }
        if !self.claims.remove(user) {
            return;
        }
        let pinned = self.contacts.get(user).is_some();
        // Asked once more, a moment later, before anyone is asked anything (see `Out::RetryClaim`).
        if !pinned && self.retried.insert(user.clone()) {
            out.push(Out::RetryClaim(user.clone()));
            return;
        }
        self.retried.remove(user);
        let why = if pinned {
            Wait::Withdrawn
        } else {
            Wait::NoKeys
        };
        self.holds.insert(user.clone(), why);
        self.tell_waiting(user, why, out);
        self.leave_out_of_pending_groups(user, LeftOut::NoKeys, out);
    }

    /// An error naming `user` arrived: if it answers a claim of their keys (`blocked-by`,
    /// `no-such-user`), what waited for them is refused with the reason. Returns whether it did.
    pub fn on_claim_refused(&mut self, user: &Name, why: Refusal, out: &mut Vec<Out>) -> bool {
        if !self.claims.remove(user) {
            return false;
        }
        self.retried.remove(user);
        self.refuse_waiting(user, why, out);
        true
    }

    /// The time to ask again for `user`'s keys has come (see [`Out::RetryClaim`]).
    pub fn retry_claim(&mut self, user: &Name, out: &mut Vec<Out>) {
        if self.outbox.direct.contains_key(user) || self.group_waits_for(user) {
            self.claim(user, out);
        }
    }

    /// `user` logged in: if what waits for them waited for keys they did not have, ask again (they
    /// may have published some); the next group message claims them again too.
    pub fn on_online(&mut self, user: &Name, out: &mut Vec<Out>) {
        if matches!(self.holds.get(user), Some(Wait::NoKeys | Wait::Withdrawn)) {
            self.holds.remove(user);
            self.resume(user, out);
        }
        self.group_member_online(user);
    }

    /// Whether the server said `user` has no keys (or withdrew them), and nothing since says otherwise.
    pub fn said_no_keys(&self, user: &str) -> bool {
        matches!(self.holds.get(user), Some(Wait::NoKeys | Wait::Withdrawn))
    }

    /// `/sendclear <user>`: what waits for `user`, who has no keys, goes unencrypted, as asked.
    pub fn send_clear(&mut self, user: &Name, out: &mut Vec<Out>) -> Result<(), SendClearError> {
        if self.contacts.get(user).is_some() {
            return Err(SendClearError::Pinned(user.clone()));
        }
        if self.holds.get(user) != Some(&Wait::NoKeys) {
            return Err(SendClearError::NotAsked(user.clone()));
        }
        self.holds.remove(user);
        let mut count = 0;
        let mut lines = Vec::new();
        for w in self.outbox.direct.remove(user).unwrap_or_default() {
            if let Waiting::Text(text) = w {
                count += 1;
                lines.push(Out::Message {
                    line: format!("message {user} {text}"),
                    to: Conversation::User(user.clone()),
                    text,
                    encrypted: false,
                });
            }
        }
        self.save_outbox(out);
        out.push(Out::Note(Note::SentInClear {
            user: user.clone(),
            count,
        }));
        out.extend(lines);
        Ok(())
    }

    /// The server refused a message to `user` as encrypted for a device `user` no longer has
    /// (`stale-key`): its text (`None`: a line the user did not write) waits, and `user`'s keys are
    /// claimed, which shows the new key (loudly) and holds it until the user decides.
    pub fn on_stale(&mut self, user: &Name, text: Option<String>, out: &mut Vec<Out>) {
        if let Some(text) = text {
            self.enqueue(user, Waiting::Text(text), out);
        }
        self.forget_shares_to(user, out);
        if self.contacts.is_changed(user) {
            self.holds.insert(user.clone(), Wait::Changed);
            return self.tell_waiting(user, Wait::Changed, out);
        }
        if !self.stale.insert(user.clone()) {
            // Refused again for a key the server itself hands out: it contradicts itself. Held,
            // and said, rather than sent again and again.
            self.holds.insert(user.clone(), Wait::Withdrawn);
            return self.tell_waiting(user, Wait::Withdrawn, out);
        }
        // The sessions with the pinned key are of no use: the next message needs the new keys.
        if let Some(peer) = self.peers.get_mut(user) {
            peer.sessions.clear();
        }
        self.save_peer(user, out);
        self.holds.remove(user);
        self.claim(user, out);
    }

    /// A direct message (live or offline) with server id `id`.
    pub fn receive_direct(
        &mut self,
        id: u64,
        from: &Name,
        text: &str,
        out: &mut Vec<Out>,
    ) -> Received {
        let (to, message) = match Envelope::parse(text) {
            None if self.contacts.get(from).is_some() => {
                return Received::PlainFromPinned(text.to_owned());
            }
            None => return Received::Plain(text.to_owned()),
            Some(Err(e)) => return Received::Failed(e.to_string()),
            Some(Ok(Envelope::Group { .. })) => {
                return Received::Failed("a group message arrived as a direct message".into());
            }
            Some(Ok(Envelope::Olm { to, message })) => (to, message),
        };
        let digest = digest(text);
        let texts = Part::PeerTexts(from.clone());
        if self.seen(&texts, id, &digest) {
            return Received::Duplicate;
        }
        // The contact's sessions are stepped in place, not on a copy (a copy per message was every
        // session's id, key and pickle again): a failed step changes nothing (`Peer::decrypt`),
        // and nothing below returns between a step that changed them and their save. A contact
        // without sessions yet gets them in `fresh`, kept only once a message made one.
        let mut fresh = Peer::default();
        let known = self.peers.contains_key(from);
        let peer = match self.peers.get_mut(from) {
            Some(p) => p,
            None => &mut fresh,
        };
        let for_me = to == self.device.identity.curve25519;
        let mut account = None;
        let mut identity_met = None;
        let mut used_key = None;
        let (plaintext, curve) = match peer.decrypt(&*self.engine, &message) {
            Ok(Some(d)) => (d.plaintext, d.curve25519),
            Err(_) if !for_me => return self.for_other_device(id, from, digest, out),
            Err(e) => return Received::Failed(e.to_string()),
            Ok(None) => {
                // The first message of a session the contact set up from our published keys.
                let mut new_account = self.device.account.clone();
                let inbound = match self.engine.inbound(&mut new_account, &message) {
                    Ok(i) => i,
                    Err(_) if !for_me => return self.for_other_device(id, from, digest, out),
                    Err(e) => return Received::Failed(e.to_string()),
                };
                let Ok(inner) = Inner::parse(&inbound.plaintext) else {
                    return Received::Failed("the decrypted text has an unknown form".into());
                };
                let Some(proof) = inner.proof else {
                    return Received::Failed(
                        "the first message of a session does not say who sent it".into(),
                    );
                };
                let statement =
                    identity_statement(from, &inbound.sender_curve25519, &proof.ed25519);
                if self
                    .engine
                    .verify(&proof.ed25519, statement.as_bytes(), &proof.signature)
                    .is_err()
                {
                    return Received::Failed(format!(
                        "the message's proof of who sent it does not verify: not from {from}'s device"
                    ));
                }
                identity_met = Some(Identity {
                    curve25519: inbound.sender_curve25519.clone(),
                    ed25519: proof.ed25519,
                });
                peer.add(inbound.session, &inbound.sender_curve25519, true);
                account = Some(new_account);
                used_key = Some(inbound.one_time_key);
                (inbound.plaintext, inbound.sender_curve25519)
            }
        };
        let Ok(inner) = Inner::parse(&plaintext) else {
            // Decrypted, so the session has moved past this message (its key is spent): the
            // session is kept as it now is, and the id recorded, like any message read. Dropping
            // it would leave the contact's session at a step the engine no longer holds, and every
            // later message from them would fail.
            self.record_text(texts, id, digest, String::new(), out);
            if !known {
                self.peers.insert(from.clone(), fresh);
            }
            self.save_peer(from, out);
            return Received::Failed("the decrypted text has an unknown form".into());
        };
        // Decrypted: from here on everything is kept (the message cannot be decrypted again).
        if let Some(account) = account {
            self.device.account = account;
            let fallback_used = used_key.is_some_and(|k| self.device.key_used(&k));
            if fallback_used && self.home == Home::Here {
                // Replaced now, as Matrix does once the fallback key was used.
                match self.device.fallback_line(&*self.engine, &self.me) {
                    Ok(Some(line)) => {
                        self.save_device(out);
                        out.push(Out::Keys(line));
                    }
                    Ok(None) => self.save_device(out),
                    Err(e) => {
                        self.save_device(out);
                        out.push(Out::Note(Note::PublishFailed(e)));
                    }
                }
            } else {
                self.save_device(out);
            }
        }
        if let Some(identity) = &identity_met {
            self.meet(from, identity, out);
        }
        let kept = match &inner.body {
            Body::Text(t) => t.clone(),
            Body::GroupKey { .. } | Body::Unreadable { .. } | Body::Confirm => String::new(),
        };
        self.record_text(texts, id, digest, kept, out);
        if !known {
            self.peers.insert(from.clone(), fresh);
        }
        let key_changed = self.contacts.is_changed(from)
            || self
                .contacts
                .get(from)
                .is_some_and(|c| c.pinned.curve25519 != curve);
        let received = match inner.body {
            Body::Text(text) if !is_clean(&text) => Received::Failed(CONTROL.into()),
            Body::Text(text) => Received::Text {
                verified: !key_changed && self.contacts.is_verified(from),
                key_changed,
                text,
            },
            Body::GroupKey { group, session_key } => {
                let g = self.groups.entry(group.clone()).or_default();
                match g.add_inbound(&*self.engine, from, &session_key) {
                    Ok(_) => {
                        self.save_group(&group, out);
                        Received::GroupKey
                    }
                    Err(e) => {
                        Received::Failed(format!("a group key for {group} was unusable: {e}"))
                    }
                }
            }
            Body::Unreadable { digest } => {
                self.save_peer(from, out);
                self.on_unreadable(from, &digest, key_changed, out);
                return Received::GroupKey;
            }
            Body::Confirm => Received::GroupKey,
        };
        // A session just made from the contact's pre-key message is confirmed on it, once: until
        // the contact's client hears back on a session, Olm has it send pre-key messages, each
        // repeating the session's set-up and our identity proof (a one-way burst of messages would
        // carry them all). Only to the key pinned, and only from the device that holds the account
        // (another sends nothing encrypted); as a `note`, since the user did nothing. If the
        // confirmation is lost, the contact goes on with pre-key messages, which read the same.
        let confirm = (identity_met.is_some() && !key_changed && self.home == Home::Here)
            .then(|| self.encrypt_direct_as("note", from, &Body::Confirm).ok())
            .flatten();
        self.save_peer(from, out);
        if let Some(line) = confirm {
            out.push(Out::Quiet {
                line,
                to: from.clone(),
            });
        }
        received
    }

    /// A message from `from` was encrypted for another device of this account, and none of this
    /// device's sessions reads it. Held for that device while it holds the account; otherwise its
    /// sender is asked (encrypted, durably first) to send it again.
    fn for_other_device(
        &mut self,
        id: u64,
        from: &Name,
        digest: String,
        out: &mut Vec<Out>,
    ) -> Received {
        if self.home != Home::Here {
            if !self
                .stale_held
                .iter()
                .any(|(f, d)| f == from && *d == digest)
            {
                self.stale_held.push((from.clone(), digest));
            }
            // Before the server said which device holds the account, said with its answer.
            if matches!(self.home, Home::Elsewhere(_)) {
                out.push(Out::Note(Note::ForOtherDevice {
                    from: from.clone(),
                    held: true,
                }));
            }
            return Received::OtherDevice;
        }
        self.record_text(
            Part::PeerTexts(from.clone()),
            id,
            digest.clone(),
            String::new(),
            out,
        );
        self.enqueue(from, Waiting::Unreadable(digest), out);
        out.push(Out::Note(Note::ForOtherDevice {
            from: from.clone(),
            held: false,
        }));
        self.resume(from, out);
        Received::OtherDevice
    }

    /// `from` says our message with this ciphertext digest was for a device they no longer have:
    /// its text is sent again, encrypted for the device `from` has now; at once if that is the key
    /// pinned, else once the user accepts it.
    fn on_unreadable(&mut self, from: &Name, digest: &str, key_changed: bool, out: &mut Vec<Out>) {
        let text = self.sent_text(from, digest).map(str::to_owned);
        let at_once = !key_changed;
        out.push(Out::Note(Note::Unreadable {
            user: from.clone(),
            text: text.clone(),
            at_once,
        }));
        let Some(text) = text else { return };
        if at_once {
            if let Err(why) = self.send_direct_fitted(from, &text, out) {
                out.push(Out::Note(Note::NotSent {
                    to: Conversation::User(from.clone()),
                    text,
                    why,
                }));
            }
        } else {
            self.enqueue(from, Waiting::Text(text), out);
            self.holds.insert(from.clone(), Wait::Changed);
        }
    }
}

/// Why `/sendclear` did nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendClearError {
    /// The user's keys were pinned: never in clear, whatever the server says now.
    #[error(
        "{0}'s keys were pinned: nothing goes to {0} unencrypted, whatever the server says. What waits is sent, encrypted, once {0}'s keys are handed out again."
    )]
    Pinned(Name),
    /// Nothing waits for the user for want of keys.
    #[error(
        "nothing waits for {0} because of missing keys (only messages to a user the server says never published keys can be sent unencrypted)."
    )]
    NotAsked(Name),
}

/// The server refuses control characters in what users send (they could rewrite the reader's
/// terminal); it cannot see inside encrypted text, so the receiving client applies the same rule.
pub(super) fn is_clean(text: &str) -> bool {
    crate::protocol::check_line(text.as_bytes()).is_ok()
}

pub(super) const CONTROL: &str =
    "the decrypted text holds control characters, which could rewrite your terminal: not shown";

/// The plaintext of a group message (a body alone: the session already says who and which group).
pub(super) fn group_plaintext(text: &str) -> String {
    render_body(&Body::Text(text.to_owned()))
}
