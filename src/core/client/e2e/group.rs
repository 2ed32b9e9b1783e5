//! Group messages: the members as the server tells them, sending (rotating the session and sharing its
//! key over Olm first), and receiving.
//!
//! A group message is encrypted when it is written, with the session current then, so what a member
//! can read never depends on how long a claim took; when some members' keys must be claimed first, the
//! line waits (with the group's later messages behind it, in order) until each of them has been given
//! the key, or has turned out to have none.

use std::collections::BTreeSet;

use super::dedup::digest;
use super::direct::group_plaintext;
use super::envelope::{Body, Envelope, parse_body};
use super::{E2e, Note, Out, Part, PendingGroup, Received, Refusal, fit};
use crate::protocol::{Conversation, Name};

impl E2e {
    /// The most bytes of text a message to `group` may have, with lines of at most `limit` bytes.
    pub fn max_group(&self, group: &str, limit: usize) -> usize {
        fit::max_text(limit, fit::group_head(group), fit::group_len)
    }

    /// The server listed `group`'s members (`GROUP-CREATED`, `GROUP-MEMBERS`).
    pub fn set_members(&mut self, group: &Name, members: impl IntoIterator<Item = Name>) {
        self.members.set(&self.me, group, members);
    }

    /// `user` joined `group` (`GROUP-JOINED`): the next message rotates the session.
    pub fn member_joined(&mut self, group: &Name, user: &Name) {
        self.members.joined(&self.me, group, user);
    }

    /// `user` left or was removed from `group` (`GROUP-LEFT`): the next message rotates the session.
    pub fn member_left(&mut self, group: &Name, user: &Name) {
        self.members.left(&self.me, group, user);
    }

    /// `user` logged in: if they had no keys when a group key was shared, they may have now; the
    /// next message to that group claims them again.
    pub fn on_online(&mut self, user: &Name) {
        for g in self.groups.values_mut() {
            if let Some(o) = &mut g.outbound {
                o.no_keys.remove(user);
            }
        }
    }

    /// `message group <group> <text>`: encrypted once with this user's session for the group, after
    /// the session's key went to every member who lacks it.
    pub fn send_group(
        &mut self,
        group: &Name,
        text: &str,
        limit: usize,
        out: &mut Vec<Out>,
    ) -> Result<(), Refusal> {
        let members = self
            .members
            .get(group)
            .cloned()
            .ok_or_else(|| Refusal::MembersUnknown(group.clone()))?;
        if let Some(changed) = members.iter().find(|m| self.contacts.is_changed(m)) {
            return Err(Refusal::KeyChanged(changed.clone()));
        }
        let max = self.max_group(group, limit);
        if text.len() > max {
            return Err(Refusal::TooLong { max });
        }
        let g = self.groups.entry(group.clone()).or_default();
        if g.needs_rotation(&members) {
            let session = self.engine.new_group_session().map_err(Refusal::Engine)?;
            g.rotate(session, members.clone());
        }
        let outbound = g.outbound.as_ref().expect("rotated above");
        let session_key = outbound.session_key.clone();
        // Members known to have no keys (never logged in): the message goes in clear, so they can
        // read it, as a direct message to them would (and the sender is told, loudly).
        let keyless: Vec<Name> = members
            .iter()
            .filter(|m| outbound.no_keys.contains(*m))
            .cloned()
            .collect();
        if !keyless.is_empty() {
            out.push(Out::Note(Note::GroupInClear {
                group: group.clone(),
                users: keyless,
            }));
            let earlier = self.pending_groups.iter().any(|p| p.group == *group);
            let pending = PendingGroup {
                group: group.clone(),
                text: text.to_owned(),
                line: String::new(),
                session_key,
                waiting: BTreeSet::new(),
                clear: true,
            };
            if earlier {
                self.pending_groups.push(pending);
            } else {
                out.push(clear_message(pending));
            }
            return Ok(());
        }
        let lacking: Vec<Name> = members
            .iter()
            .filter(|m| !outbound.delivered.contains(*m) && !outbound.no_keys.contains(*m))
            .cloned()
            .collect();

        let key_body = Body::GroupKey {
            group: group.clone(),
            session_key: session_key.clone(),
        };
        let mut shares = Vec::new();
        let mut waiting = BTreeSet::new();
        for m in lacking {
            if !self.claims.contains_key(&m) && self.session_with(&m).is_some() {
                let line = self.encrypt_direct(&m, &key_body)?;
                shares.push((m, line));
            } else {
                waiting.insert(m.clone());
                self.claim(&m, Vec::new(), out);
            }
        }
        let g = self.groups.get_mut(group).expect("made above");
        let (session_id, body) = g
            .encrypt(&*self.engine, group_plaintext(text).as_bytes())
            .map_err(Refusal::Engine)?;
        if let Some(o) = &mut g.outbound {
            o.delivered.extend(shares.iter().map(|(m, _)| m.clone()));
        }
        let line = format!(
            "message group {group} {}",
            Envelope::Group { session_id, body }.render()
        );
        for (m, _) in &shares {
            self.save_peer(m, out);
        }
        self.save_group(group, out);
        out.extend(
            shares
                .into_iter()
                .map(|(to, line)| Out::KeyShare { line, to }),
        );
        let earlier = self.pending_groups.iter().any(|p| p.group == *group);
        if waiting.is_empty() && !earlier {
            out.push(Out::Message {
                line,
                to: Conversation::Group(group.clone()),
                text: text.to_owned(),
                encrypted: true,
            });
        } else {
            self.pending_groups.push(PendingGroup {
                group: group.clone(),
                text: text.to_owned(),
                line,
                session_key,
                waiting,
                clear: false,
            });
        }
        Ok(())
    }

    /// `user` now has a session: the group keys waiting for it, as lines (saving the groups whose
    /// current key they deliver).
    pub(super) fn share_pending_keys(&mut self, user: &Name, out: &mut Vec<Out>) -> Vec<Out> {
        let mut keys: Vec<(Name, String)> = Vec::new();
        for p in &mut self.pending_groups {
            if p.waiting.remove(user) && !keys.contains(&(p.group.clone(), p.session_key.clone())) {
                keys.push((p.group.clone(), p.session_key.clone()));
            }
        }
        let mut lines = Vec::new();
        for (group, session_key) in keys {
            let body = Body::GroupKey {
                group: group.clone(),
                session_key: session_key.clone(),
            };
            match self.encrypt_direct(user, &body) {
                Ok(line) => {
                    lines.push(Out::KeyShare {
                        line,
                        to: user.clone(),
                    });
                    if let Some(o) = self
                        .groups
                        .get_mut(&group)
                        .and_then(|g| g.outbound.as_mut())
                        && o.session_key == session_key
                    {
                        o.delivered.insert(user.clone());
                        self.save_group(&group, out);
                    }
                }
                Err(_) => self.exclude(user, &group, &session_key, out),
            }
        }
        lines
    }

    /// Sends the group messages no longer waiting, in order within each group.
    pub(super) fn flush_groups(&mut self, out: &mut Vec<Out>) {
        let mut blocked = BTreeSet::new();
        let mut keep = Vec::new();
        for p in std::mem::take(&mut self.pending_groups) {
            if blocked.contains(&p.group) || !p.waiting.is_empty() {
                blocked.insert(p.group.clone());
                keep.push(p);
            } else if p.clear {
                out.push(clear_message(p));
            } else {
                out.push(Out::Message {
                    line: p.line,
                    to: Conversation::Group(p.group),
                    text: p.text,
                    encrypted: true,
                });
            }
        }
        self.pending_groups = keep;
    }

    /// Nothing goes to a group that includes `user` now (their key changed, or was not signed): every
    /// waiting message of such a group is refused.
    pub(super) fn refuse_pending_groups(&mut self, user: &Name, why: &Refusal, out: &mut Vec<Out>) {
        let refused: BTreeSet<Name> = self
            .pending_groups
            .iter()
            .filter(|p| p.waiting.contains(user))
            .map(|p| p.group.clone())
            .collect();
        let (gone, keep) = std::mem::take(&mut self.pending_groups)
            .into_iter()
            .partition(|p| refused.contains(&p.group));
        self.pending_groups = keep;
        for p in gone {
            out.push(Out::Note(Note::NotSent {
                to: Conversation::Group(p.group),
                text: p.text,
                why: why.clone(),
            }));
        }
        self.flush_groups(out);
    }

    /// `user` never published keys: the group messages waiting for them go unencrypted, so they can
    /// read them (the sender is told, loudly).
    pub(super) fn exclude_from_pending_groups(&mut self, user: &Name, out: &mut Vec<Out>) {
        let mut keys: Vec<(Name, String)> = Vec::new();
        for p in &mut self.pending_groups {
            if p.waiting.remove(user) {
                p.clear = true;
                if !keys.contains(&(p.group.clone(), p.session_key.clone())) {
                    keys.push((p.group.clone(), p.session_key.clone()));
                }
            }
        }
        for (group, session_key) in keys {
            self.exclude(user, &group, &session_key, out);
        }
        self.flush_groups(out);
    }

    fn exclude(&mut self, user: &Name, group: &Name, session_key: &str, out: &mut Vec<Out>) {
        if let Some(o) = self.groups.get_mut(group).and_then(|g| g.outbound.as_mut())
            && o.session_key == session_key
        {
            o.no_keys.insert(user.clone());
            self.save_group(group, out);
        }
        out.push(Out::Note(Note::GroupInClear {
            group: group.clone(),
            users: vec![user.clone()],
        }));
    }

    /// The text of a message decrypted before (`offline` shows stored messages again, and the server
    /// has only their ciphertext, which cannot be decrypted twice): from this device's own store.
    pub fn recall(&self, id: u64, from: &Name, group: Option<&Name>, text: &str) -> Option<String> {
        let digest = digest(text);
        let part = match group {
            Some(g) => Part::GroupTexts(g.clone()),
            None => Part::PeerTexts(from.clone()),
        };
        self.seen_text(&part, id, &digest)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    }

    /// A group message (live or offline) with server id `id`.
    pub fn receive_group(
        &mut self,
        id: u64,
        group: &Name,
        from: &Name,
        text: &str,
        out: &mut Vec<Out>,
    ) -> Received {
        let (session_id, body) = match Envelope::parse(text) {
            None => return Received::Plain(text.to_owned()),
            Some(Err(e)) => return Received::Failed(e.to_string()),
            Some(Ok(Envelope::Olm(_))) => {
                return Received::Failed("a direct message arrived as a group message".into());
            }
            Some(Ok(Envelope::Group { session_id, body })) => (session_id, body),
        };
        let digest = digest(text);
        if self.seen(&Part::GroupTexts(group.clone()), id, &digest) {
            return Received::Duplicate;
        }
        let mut g = self.groups.get(group).cloned().unwrap_or_default();
        let plain = match g.decrypt(&*self.engine, from, &session_id, &body) {
            Ok(p) => p,
            Err(e) => return Received::Failed(e.to_string()),
        };
        let text = match std::str::from_utf8(&plain.plaintext)
            .ok()
            .and_then(|t| parse_body(t).ok())
        {
            Some(Body::Text(t)) if super::direct::is_clean(&t) => t,
            Some(Body::Text(_)) => return Received::Failed(super::direct::CONTROL.into()),
            _ => return Received::Failed("the decrypted text has an unknown form".into()),
        };
        self.record_text(
            Part::GroupTexts(group.clone()),
            id,
            digest,
            text.clone(),
            out,
        );
        self.groups.insert(group.clone(), g);
        self.save_group(group, out);
        let key_changed = self.contacts.is_changed(from);
        Received::Text {
            verified: !key_changed && self.contacts.is_verified(from),
            key_changed,
            text,
        }
    }
}

/// A group message sent unencrypted (a member has no keys).
fn clear_message(p: PendingGroup) -> Out {
    Out::Message {
        line: format!("message group {} {}", p.group, p.text),
        to: Conversation::Group(p.group),
        text: p.text,
        encrypted: false,
    }
}
