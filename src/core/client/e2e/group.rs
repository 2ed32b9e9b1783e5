//! Group messages: the members as the server tells them (every change shown to the user), sending
//! (rotating the session and sharing its key over Olm first), and receiving.
//!
//! A group message is encrypted when it is written, with the session current then, so what a member
//! can read never depends on how long a claim took; when some members' keys must be claimed first, the
//! line waits (with the group's later messages behind it, in order) until each of them has been given
//! the key, or has turned out not to get it. Nothing is ever sent to a group unencrypted: a member
//! without keys, who blocked this user, or whose key changed unaccepted is left out, and named.
//!
//! The key goes only to members the user has been shown: every change of a group's member list, from
//! whatever line it was learnt, is compared with the list last shown (kept in the group's file) and
//! the difference is said, unless the line that told it was itself shown (`GROUP-JOINED`,
//! `GROUP-LEFT`); a server adding a member quietly to read the group is seen.

use std::collections::BTreeSet;

use super::dedup::digest;
use super::direct::group_plaintext;
use super::envelope::{Body, Envelope, parse_body};
use super::notes::LeftOut;
use super::outbox::PendingGroup;
use super::{E2e, Home, Note, Out, Part, Received, Refusal, fit};
use crate::protocol::{Conversation, Name};

impl E2e {
    /// The most bytes of text a message to `group` may have, with lines of at most `limit` bytes.
    pub fn max_group(&self, group: &str, limit: usize) -> usize {
        fit::max_text(limit, fit::group_head(group), fit::group_len)
    }

    /// The server listed `group`'s members (`GROUP-CREATED`, `GROUP-MEMBERS`, `GROUPLIST`); `shown`
    /// says whether that line is shown to the user. A difference from what the user last saw is said.
    pub fn set_members(
        &mut self,
        group: &Name,
        members: impl IntoIterator<Item = Name>,
        shown: bool,
        out: &mut Vec<Out>,
    ) {
        self.members.set(&self.me, group, members);
        self.show_members(group, shown, false, out);
    }

    /// `user` joined `group` (`GROUP-JOINED`, which is shown): the next message rotates the session.
    /// This user joining (by invitation: the line does not list the members) asks for the members
    /// at once, quietly, so that a message written right after the join need not wait for them.
    pub fn member_joined(&mut self, group: &Name, user: &Name, out: &mut Vec<Out>) {
        if *user == self.me && !self.members.knows(group) {
            out.push(Out::AskMembers(group.clone()));
            return;
        }
        if self.members.joined(&self.me, group, user) {
            self.show_members(group, true, true, out);
        }
    }

    /// `user` left or was removed from `group` (`GROUP-LEFT`, which is shown): the next message
    /// rotates the session.
    pub fn member_left(&mut self, group: &Name, user: &Name, out: &mut Vec<Out>) {
        if *user == self.me {
            self.members.left(&self.me, group, user);
            if let Some(g) = self.groups.get_mut(group) {
                g.members = None;
                self.save_group(group, out);
            }
            return;
        }
        if self.members.left(&self.me, group, user) {
            self.show_members(group, true, true, out);
        }
    }

    /// Compares `group`'s members with the list last shown to the user, says the difference (unless
    /// the line on screen said it: `told`, a join or a leave; or it is the first list and the line
    /// showed it whole), and keeps the new list as shown.
    fn show_members(&mut self, group: &Name, shown: bool, told: bool, out: &mut Vec<Out>) {
        let Some(now) = self.members.get(group).cloned() else {
            return;
        };
        let g = self.groups.entry(group.clone()).or_default();
        if g.members.as_ref() == Some(&now) {
            return;
        }
        let before = g.members.replace(now.clone());
        let all: Vec<Name> = now.iter().cloned().collect();
        match before {
            None if !shown => out.push(Out::Note(Note::Members {
                group: group.clone(),
                added: Vec::new(),
                removed: Vec::new(),
                all,
                first: true,
            })),
            Some(before) if !(shown && told && single_change(&before, &now)) => {
                out.push(Out::Note(Note::Members {
                    group: group.clone(),
                    added: now.difference(&before).cloned().collect(),
                    removed: before.difference(&now).cloned().collect(),
                    all,
                    first: false,
                }))
            }
            _ => {}
        }
        self.save_group(group, out);
    }

    /// `user` logged in: if they had no keys when a group key was shared, they may have now; the
    /// next message to that group claims them again.
    pub(super) fn group_member_online(&mut self, user: &Name) {
        for g in self.groups.values_mut() {
            if let Some(o) = &mut g.outbound {
                o.no_keys.remove(user);
                o.named.remove(user);
            }
        }
    }

    /// `message group <group> <text>`: encrypted once with this user's session for the group, after
    /// the session's key went to every member shown who lacks it (members who cannot get it are
    /// left out, and named). Waits (on disk) if the members are not known yet.
    pub fn send_group(
        &mut self,
        group: &Name,
        text: &str,
        limit: usize,
        out: &mut Vec<Out>,
    ) -> Result<(), Refusal> {
        let max = self.max_group(group, limit);
        if text.len() > max {
            return Err(Refusal::TooLong { max });
        }
        self.send_group_fitted(group, text, out)
    }

    /// [`Self::send_group`] for a text already known to fit.
    fn send_group_fitted(
        &mut self,
        group: &Name,
        text: &str,
        out: &mut Vec<Out>,
    ) -> Result<(), Refusal> {
        let Some(members) = self.members.get(group).cloned() else {
            if !self.outbox.unlisted.iter().any(|(g, _)| g == group) {
                out.push(Out::AskMembers(group.clone()));
            }
            self.outbox.unlisted.push((group.clone(), text.to_owned()));
            self.save_outbox(out);
            // Said, so that nothing waits without a word (and why it waits is plain).
            let count = self
                .outbox
                .unlisted
                .iter()
                .filter(|(g, _)| g == group)
                .count();
            out.push(Out::Note(Note::MembersAwaited {
                group: group.clone(),
                count,
            }));
            return Ok(());
        };
        if self.home != Home::Here {
            // Sent once this device holds the account (the user was told it does not yet).
            self.outbox.unlisted.push((group.clone(), text.to_owned()));
            self.save_outbox(out);
            return Ok(());
        }
        let g = self.groups.entry(group.clone()).or_default();
        if g.needs_rotation(&members) {
            let session = self.engine.new_group_session().map_err(Refusal::Engine)?;
            g.rotate(session, members.clone());
        }
        let outbound = g.outbound.as_ref().expect("rotated above");
        let session_key = outbound.session_key.clone();
        let mut left_out: Vec<(Name, LeftOut)> = Vec::new();
        let mut lacking = Vec::new();
        for m in &members {
            let why = if self.contacts.is_changed(m) {
                Some(LeftOut::KeyChanged)
            } else if outbound.blocked_by.contains(m) {
                Some(LeftOut::BlockedYou)
            } else if outbound.no_keys.contains(m)
                || matches!(
                    self.holds.get(m),
                    Some(super::Wait::NoKeys | super::Wait::Withdrawn)
                )
            {
                // (Known from a claim already answered: not asked again for every group message.)
                Some(LeftOut::NoKeys)
            } else {
                None
            };
            match why {
                Some(why) if !outbound.named.contains(m) => left_out.push((m.clone(), why)),
                Some(_) => {}
                None if !outbound.delivered.contains(m) => lacking.push(m.clone()),
                None => {}
            }
        }
        let key_body = Body::GroupKey {
            group: group.clone(),
            session_key: session_key.clone(),
        };
        let mut shares = Vec::new();
        let mut waiting = BTreeSet::new();
        for m in lacking {
            if !self.claims.contains(&m)
                && !self.outbox.direct.contains_key(&m)
                && self.session_with(&m).is_some()
            {
                let line = self.encrypt_direct(&m, &key_body)?;
                shares.push((m, line));
            } else {
                waiting.insert(m.clone());
                self.claim(&m, out);
            }
        }
        let g = self.groups.get_mut(group).expect("made above");
        let (session_id, body) = g
            .encrypt(&*self.engine, group_plaintext(text).as_bytes())
            .map_err(Refusal::Engine)?;
        if let Some(o) = &mut g.outbound {
            o.delivered.extend(shares.iter().map(|(m, _)| m.clone()));
            o.named.extend(left_out.iter().map(|(m, _)| m.clone()));
        }
        let line = format!(
            "message group {group} {}",
            Envelope::Group { session_id, body }.render()
        );
        for (m, _) in &shares {
            self.save_peer(m, out);
        }
        self.save_group(group, out);
        if !left_out.is_empty() {
            out.push(Out::Note(Note::LeftOut {
                group: group.clone(),
                users: left_out,
            }));
        }
        out.extend(
            shares
                .into_iter()
                .map(|(to, line)| Out::KeyShare { line, to }),
        );
        let earlier = self.outbox.groups.iter().any(|p| p.group == *group);
        if waiting.is_empty() && !earlier {
            out.push(Out::Message {
                line,
                to: Conversation::Group(group.clone()),
                text: text.to_owned(),
                encrypted: true,
            });
        } else {
            self.outbox.groups.push(PendingGroup {
                group: group.clone(),
                text: text.to_owned(),
                line,
                session_key,
                waiting,
            });
            self.save_outbox(out);
        }
        Ok(())
    }

    /// The members of `group` are known now: the messages that waited for them are encrypted.
    pub fn members_known(&mut self, group: &Name, out: &mut Vec<Out>) {
        if !self.members.knows(group) || self.home != Home::Here {
            return;
        }
        let (go, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.outbox.unlisted)
            .into_iter()
            .partition(|(g, _)| g == group);
        if go.is_empty() {
            self.outbox.unlisted = keep;
            return;
        }
        self.outbox.unlisted = keep;
        self.save_outbox(out);
        for (_, text) in go {
            if let Err(why) = self.send_group_fitted(group, &text, out) {
                out.push(Out::Note(Note::NotSent {
                    to: Conversation::Group(group.clone()),
                    text,
                    why,
                }));
            }
        }
    }

    /// The server refused to list `group`'s members (`not-member`), which the client asked for
    /// itself: the messages that waited for them are not sent, and the user is told each (they
    /// are no longer kept, nor asked about again at the next login).
    pub fn members_refused(&mut self, group: &Name, out: &mut Vec<Out>) {
        let (refused, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.outbox.unlisted)
            .into_iter()
            .partition(|(g, _)| g == group);
        self.outbox.unlisted = keep;
        if refused.is_empty() {
            return;
        }
        self.save_outbox(out);
        for (_, text) in refused {
            out.push(Out::Note(Note::NotSent {
                to: Conversation::Group(group.clone()),
                text,
                why: Refusal::NotMember(group.clone()),
            }));
        }
    }

    /// [`Self::members_known`] for every group whose messages wait for its members.
    pub(super) fn members_known_all(&mut self, out: &mut Vec<Out>) {
        let groups: BTreeSet<Name> = self
            .outbox
            .unlisted
            .iter()
            .map(|(g, _)| g.clone())
            .collect();
        for g in groups {
            self.members_known(&g, out);
        }
    }

    /// Whether a group message waits for `user` to get its key.
    pub(super) fn group_waits_for(&self, user: &Name) -> bool {
        self.outbox.groups.iter().any(|p| p.waiting.contains(user))
    }

    /// `user` now has a session: the group keys waiting for it, as lines (saving the groups whose
    /// current key they deliver).
    pub(super) fn share_pending_keys(&mut self, user: &Name, out: &mut Vec<Out>) -> Vec<Out> {
        let mut keys: Vec<(Name, String)> = Vec::new();
        for p in &mut self.outbox.groups {
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
                Err(_) => self.left_out_of(user, &group, &session_key, LeftOut::NoKeys, out),
            }
        }
        lines
    }

    /// Sends the group messages no longer waiting, in order within each group.
    pub(super) fn flush_groups(&mut self, out: &mut Vec<Out>) {
        let mut blocked = BTreeSet::new();
        let mut keep = Vec::new();
        let before = self.outbox.groups.len();
        for p in std::mem::take(&mut self.outbox.groups) {
            if blocked.contains(&p.group) || !p.waiting.is_empty() {
                blocked.insert(p.group.clone());
                keep.push(p);
            } else {
                out.push(Out::Message {
                    line: p.line,
                    to: Conversation::Group(p.group),
                    text: p.text,
                    encrypted: true,
                });
            }
        }
        self.outbox.groups = keep;
        if self.outbox.groups.len() != before {
            // Saved after the lines it no longer holds: a crash in between sends one again, never
            // loses one (the ratchet step was saved when it was encrypted).
            self.save_outbox(out);
        }
    }

    /// `user` does not get the group keys waiting for them (`why`): the group messages waiting for
    /// them go without them, and they are named.
    pub(super) fn leave_out_of_pending_groups(
        &mut self,
        user: &Name,
        why: LeftOut,
        out: &mut Vec<Out>,
    ) {
        let mut keys: Vec<(Name, String)> = Vec::new();
        for p in &mut self.outbox.groups {
            if p.waiting.remove(user) && !keys.contains(&(p.group.clone(), p.session_key.clone())) {
                keys.push((p.group.clone(), p.session_key.clone()));
            }
        }
        for (group, session_key) in keys {
            self.left_out_of(user, &group, &session_key, why, out);
        }
        self.flush_groups(out);
    }

    /// Records that `user` is left out of `group`'s session `session_key` (if it is the current
    /// one), and says so.
    fn left_out_of(
        &mut self,
        user: &Name,
        group: &Name,
        session_key: &str,
        why: LeftOut,
        out: &mut Vec<Out>,
    ) {
        if let Some(o) = self.groups.get_mut(group).and_then(|g| g.outbound.as_mut())
            && o.session_key == session_key
        {
            match why {
                LeftOut::BlockedYou => o.blocked_by.insert(user.clone()),
                LeftOut::NoKeys => o.no_keys.insert(user.clone()),
                LeftOut::KeyChanged => false,
            };
            o.named.insert(user.clone());
            self.save_group(group, out);
        }
        out.push(Out::Note(Note::LeftOut {
            group: group.clone(),
            users: vec![(user.clone(), why)],
        }));
    }

    /// A group key sent to `user` was refused as for a device they no longer have: they need the
    /// keys of the groups again, once they have a session with their new key.
    pub(super) fn forget_shares_to(&mut self, user: &Name, out: &mut Vec<Out>) {
        let groups: Vec<Name> = self
            .groups
            .iter_mut()
            .filter_map(|(name, g)| {
                let o = g.outbound.as_mut()?;
                o.delivered.remove(user).then(|| name.clone())
            })
            .collect();
        for g in groups {
            self.save_group(&g, out);
        }
    }

    /// `/sharedwith <group>`: whom this user's current key for `group` went to.
    pub fn shared_with(&self, group: &Name) -> Note {
        let Some(o) = self.groups.get(group).and_then(|g| g.outbound.as_ref()) else {
            return Note::SharedWith {
                group: group.clone(),
                with: Vec::new(),
                waiting: Vec::new(),
                left_out: Vec::new(),
            };
        };
        let waiting: BTreeSet<Name> = self
            .outbox
            .groups
            .iter()
            .filter(|p| p.group == *group && p.session_key == o.session_key)
            .flat_map(|p| p.waiting.iter().cloned())
            .collect();
        let mut left_out = Vec::new();
        for m in &o.shared_with {
            if o.blocked_by.contains(m) {
                left_out.push((m.clone(), LeftOut::BlockedYou));
            } else if o.no_keys.contains(m) {
                left_out.push((m.clone(), LeftOut::NoKeys));
            } else if self.contacts.is_changed(m) && !o.delivered.contains(m) {
                left_out.push((m.clone(), LeftOut::KeyChanged));
            }
        }
        Note::SharedWith {
            group: group.clone(),
            with: o.delivered.iter().cloned().collect(),
            waiting: waiting.into_iter().collect(),
            left_out,
        }
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
            None if self.contacts.get(from).is_some() => {
                return Received::PlainFromPinned(text.to_owned());
            }
            None => return Received::Plain(text.to_owned()),
            Some(Err(e)) => return Received::Failed(e.to_string()),
            Some(Ok(Envelope::Olm { .. })) => {
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

/// Whether `now` differs from `before` by one member come or gone (what a shown `GROUP-JOINED` or
/// `GROUP-LEFT` line says by itself).
fn single_change(before: &BTreeSet<Name>, now: &BTreeSet<Name>) -> bool {
    before.symmetric_difference(now).count() <= 1
}
