//! Direct messages: sending (with the claim of a contact's keys when there is no session yet),
//! the answers to claims, and receiving.

use super::contacts::Met;
use super::dedup::digest;
use super::device::{fallback_statement, one_time_statement};
use super::engine::{Identity, PublicKey};
use super::envelope::{Body, Envelope, Inner, Proof, identity_statement, render_body};
use super::{E2e, Note, Out, Part, Received, Refusal, Waiting, fit};
use crate::protocol::{Conversation, Name};

/// A key handed out by a claim, with its owner's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedKey {
    pub key_id: String,
    pub curve25519: String,
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
    /// otherwise their keys are claimed and it is sent when the answer comes (after anything already
    /// waiting for them). Refused at once if it cannot be sent (see [`Refusal`]).
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
        if let Some(waiting) = self.claims.get_mut(to) {
            waiting.push(Waiting::Text(text.to_owned()));
            return Ok(());
        }
        if self.session_with(to).is_some() {
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
        self.claim(to, vec![Waiting::Text(text.to_owned())], out);
        Ok(())
    }

    /// The pinned identity's Curve25519 key, if there is a session made with it to encrypt with.
    pub(super) fn session_with(&self, user: &Name) -> Option<String> {
        let pinned = &self.contacts.get(user)?.pinned;
        self.peers
            .get(user)
            .filter(|p| p.can_encrypt(&pinned.curve25519))
            .map(|_| pinned.curve25519.clone())
    }

    pub(super) fn claim(&mut self, user: &Name, waiting: Vec<Waiting>, out: &mut Vec<Out>) {
        if let Some(w) = self.claims.get_mut(user) {
            w.extend(waiting);
            return;
        }
        self.claims.insert(user.clone(), waiting);
        out.push(Out::Keys(format!("keys claim {user}")));
    }

    /// This device's identity proof, for the plaintext of pre-key messages (made once: the identity
    /// does not change).
    fn proof(&mut self) -> Result<Proof, Refusal> {
        if let Some(p) = &self.proof {
            return Ok(p.clone());
        }
        let id = &self.device.identity;
        let statement = identity_statement(&self.me, &id.curve25519, &id.ed25519);
        let signature = self
            .engine
            .sign(&self.device.account, &[statement.as_bytes()])
            .map_err(Refusal::Engine)?
            .remove(0);
        let proof = Proof {
            ed25519: id.ed25519.clone(),
            signature,
        };
        self.proof = Some(proof.clone());
        Ok(proof)
    }

    /// Encrypts `body` for `to` with the session made with their pinned identity; the line to send.
    /// The caller saves the peer before sending it.
    pub(super) fn encrypt_direct(&mut self, to: &Name, body: &Body) -> Result<String, Refusal> {
        let curve = self
            .session_with(to)
            .ok_or_else(|| Refusal::Engine(super::EngineError::Decrypt("no session".into())))?;
        let pre_key = self.peers.get(to).is_none_or(|p| p.next_is_pre_key(&curve));
        let inner = Inner {
            proof: if pre_key { Some(self.proof()?) } else { None },
            body: body.clone(),
        };
        let peer = self.peers.entry(to.clone()).or_default();
        let message = peer
            .encrypt(&*self.engine, &curve, inner.render().as_bytes())
            .map_err(Refusal::Engine)?;
        Ok(format!("message {to} {}", Envelope::Olm(message).render()))
    }

    /// `KEYS <user> <curve25519> <ed25519> <key>|-`: the answer to a claim (a session is made and what
    /// waited is sent) or to `keys show` (for `verify`).
    pub fn on_keys(
        &mut self,
        user: &Name,
        identity: Identity,
        key: Option<SignedKey>,
        out: &mut Vec<Out>,
    ) {
        if key.is_none() || !self.claims.contains_key(user) {
            // The answer to `keys show`: the identity is met (pinned if new), nothing consumed.
            self.meet(user, &identity, out);
            if self.showing.remove(user) {
                self.verify(user, out);
            }
            return;
        }
        let waiting = self.claims.remove(user).unwrap_or_default();
        self.retried.remove(user);
        let key = key.expect("checked above");
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
            return self.refuse_waiting(user, waiting, Refusal::BadSignature(user.clone()), out);
        }
        let met = self.meet(user, &identity, out);
        if self.showing.remove(user) {
            self.verify(user, out);
        }
        if met == Met::Changed {
            return self.refuse_waiting(user, waiting, Refusal::KeyChanged(user.clone()), out);
        }
        let session =
            match self
                .engine
                .outbound(&self.device.account, &identity.curve25519, &key.curve25519)
            {
                Ok(s) => s,
                Err(e) => return self.refuse_waiting(user, waiting, Refusal::Engine(e), out),
            };
        self.peers
            .entry(user.clone())
            .or_default()
            .add(session, &identity.curve25519, false);
        self.send_waiting(user, waiting, out);
    }

    /// Meets `identity` for `user`: pinned (and saved) if new, a loud note if changed.
    pub(super) fn meet(&mut self, user: &Name, identity: &Identity, out: &mut Vec<Out>) -> Met {
        let was_changed = self.contacts.is_changed(user);
        let met = self.contacts.meet(user, identity);
        match met {
            Met::Pinned => self.save_contacts(out),
            Met::Changed => {
                self.save_contacts(out);
                if !was_changed {
                    out.push(Out::Note(Note::KeyChanged { user: user.clone() }));
                }
            }
            Met::Known => {}
        }
        met
    }

    /// Sends what waited for `user`'s session, in order, and the group keys they were waiting for.
    fn send_waiting(&mut self, user: &Name, waiting: Vec<Waiting>, out: &mut Vec<Out>) {
        let mut lines = Vec::new();
        for w in waiting {
            let Waiting::Text(text) = w;
            match self.encrypt_direct(user, &Body::Text(text.clone())) {
                Ok(line) => lines.push(Out::Message {
                    line,
                    to: Conversation::User(user.clone()),
                    text,
                    encrypted: true,
                }),
                Err(why) => out.push(Out::Note(Note::NotSent {
                    to: Conversation::User(user.clone()),
                    text,
                    why,
                })),
            }
        }
        let shares = self.share_pending_keys(user, out);
        lines.extend(shares);
        self.save_peer(user, out);
        out.extend(lines);
        self.flush_groups(out);
    }

    fn refuse_waiting(
        &mut self,
        user: &Name,
        waiting: Vec<Waiting>,
        why: Refusal,
        out: &mut Vec<Out>,
    ) {
        for w in waiting {
            let Waiting::Text(text) = w;
            out.push(Out::Note(Note::NotSent {
                to: Conversation::User(user.clone()),
                text,
                why: why.clone(),
            }));
        }
        self.refuse_pending_groups(user, &why, out);
    }

    /// `NOKEYS <user>`: a user who never published keys gets what waited in clear, with a warning;
    /// one whose keys were pinned before does not (the server is not believed).
    pub fn on_no_keys(&mut self, user: &Name, out: &mut Vec<Out>) {
        self.showing.remove(user);
        if !self.claims.contains_key(user) {
            return;
        }
        // Asked once more, a moment later, before anything goes in clear (see `Out::RetryClaim`).
        if self.contacts.get(user).is_none() && self.retried.insert(user.clone()) {
            out.push(Out::RetryClaim(user.clone()));
            return;
        }
        self.retried.remove(user);
        let Some(waiting) = self.claims.remove(user) else {
            return;
        };
        if self.contacts.get(user).is_some() {
            return self.refuse_waiting(user, waiting, Refusal::KeysWithdrawn(user.clone()), out);
        }
        if !waiting.is_empty() {
            out.push(Out::Note(Note::SentInClear { user: user.clone() }));
        }
        for w in waiting {
            let Waiting::Text(text) = w;
            out.push(Out::Message {
                line: format!("message {user} {text}"),
                to: Conversation::User(user.clone()),
                text,
                encrypted: false,
            });
        }
        self.exclude_from_pending_groups(user, out);
    }

    /// The time to ask again for `user`'s keys has come (see [`Out::RetryClaim`]).
    pub fn retry_claim(&mut self, user: &Name, out: &mut Vec<Out>) {
        if self.claims.contains_key(user) {
            out.push(Out::Keys(format!("keys claim {user}")));
        }
    }

    /// A direct message (live or offline) with server id `id`.
    pub fn receive_direct(
        &mut self,
        id: u64,
        from: &Name,
        text: &str,
        out: &mut Vec<Out>,
    ) -> Received {
        let message = match Envelope::parse(text) {
            None => return Received::Plain(text.to_owned()),
            Some(Err(e)) => return Received::Failed(e.to_string()),
            Some(Ok(Envelope::Group { .. })) => {
                return Received::Failed("a group message arrived as a direct message".into());
            }
            Some(Ok(Envelope::Olm(m))) => m,
        };
        let digest = digest(text);
        if self.seen(&Part::PeerTexts(from.clone()), id, &digest) {
            return Received::Duplicate;
        }
        let mut peer = self.peers.get(from).cloned().unwrap_or_default();
        let mut account = None;
        let mut identity_met = None;
        let (plaintext, curve) = match peer.decrypt(&*self.engine, &message) {
            Ok(Some(d)) => (d.plaintext, d.curve25519),
            Err(e) => return Received::Failed(e.to_string()),
            Ok(None) => {
                // The first message of a session the contact set up from our published keys.
                let mut new_account = self.device.account.clone();
                let inbound = match self.engine.inbound(&mut new_account, &message) {
                    Ok(i) => i,
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
                (inbound.plaintext, inbound.sender_curve25519)
            }
        };
        let Ok(inner) = Inner::parse(&plaintext) else {
            return Received::Failed("the decrypted text has an unknown form".into());
        };
        // Decrypted: from here on everything is kept (the message cannot be decrypted again).
        if let Some(account) = account {
            self.device.account = account;
            self.save_device(out);
        }
        if let Some(identity) = &identity_met {
            self.meet(from, identity, out);
        }
        let kept = match &inner.body {
            Body::Text(t) => t.clone(),
            Body::GroupKey { .. } => String::new(),
        };
        self.record_text(Part::PeerTexts(from.clone()), id, digest, kept, out);
        self.peers.insert(from.clone(), peer);
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
        };
        self.save_peer(from, out);
        received
    }
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
