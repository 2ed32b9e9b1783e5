//! The session's side of end-to-end encryption: the device opened at login, what the user says to a
//! user or a group encrypted on the way out, messages decrypted on the way in, and the commands that
//! manage keys (`verify`, `trust`). The rules are [`super::e2e`]'s; this carries its outputs out as the
//! session's effects and items.

use std::collections::VecDeque;

use super::commit::Dependent;
use super::display::{ClientError, Item};
use super::e2e::{E2e, Note, Out, Received, Refusal};
use super::event::{Effect, OpenHow, show, show_error};
use super::input::KeyCommand;
use super::outgoing::{Outcome, SILENT};
use super::state::ClientState;
use crate::protocol::{Command, Conversation, Name, ServerMsg};

/// A decrypted text with its marks: a key changed (loud), or a verified sender.
fn marked(text: String, verified: bool, key_changed: bool) -> String {
    if key_changed {
        format!("(KEY CHANGED, not trusted) {text}")
    } else if verified {
        format!("✓ {text}")
    } else {
        text
    }
}

/// What a message that arrived encrypted (or not) shows as.
enum Shown {
    Text(String),
    Nothing,
    Failed(String),
}

impl From<Received> for Shown {
    fn from(r: Received) -> Shown {
        match r {
            Received::Plain(text) => Shown::Text(format!("(not encrypted) {text}")),
            Received::Text {
                text,
                verified,
                key_changed,
            } => Shown::Text(marked(text, verified, key_changed)),
            Received::GroupKey | Received::Duplicate => Shown::Nothing,
            Received::Failed(why) => Shown::Failed(why),
        }
    }
}

impl ClientState {
    /// Logged in as `user`: their device, if it is open already (a login again after a lost
    /// server), publishes its keys; otherwise the shell is asked to read it, unlocked with the
    /// password just typed ([`Effect::OpenE2e`]), and the rest follows in [`Self::on_e2e_opened`].
    pub(super) fn open_e2e(&mut self, user: &Name, out: &mut Vec<Effect>) {
        self.typed.clear();
        self.awaiting_members.clear();
        if self.config.e2e.is_none() {
            return;
        }
        if self.e2e.as_ref().is_some_and(|e| e.me() == user) {
            return self.e2e_logged_in(out);
        }
        self.e2e = None;
        self.chats.set_identity(None);
        let Some(password) = self.e2e_password.clone() else {
            return self.e2e_failed("no password was typed to unlock them with".into(), out);
        };
        self.e2e_failure = None;
        out.push(Effect::OpenE2e {
            user: user.clone(),
            password,
            how: OpenHow::Unlock,
        });
    }

    /// The open device publishes its keys, and private chats can prove who this is.
    fn e2e_logged_in(&mut self, out: &mut Vec<Effect>) {
        let mut outs = Vec::new();
        if let Some(e2e) = &mut self.e2e {
            e2e.on_login(&mut outs);
            self.chats.set_identity(Some(e2e.private_identity()));
        }
        self.carry_e2e(outs, out);
    }

    /// The shell read `user`'s stored device (or could not).
    pub(super) fn on_e2e_opened(
        &mut self,
        user: Name,
        stored: Result<Vec<(super::e2e::Part, super::e2e::Stored)>, String>,
        out: &mut Vec<Effect>,
    ) {
        let (Some(setup), Some(me)) = (&self.config.e2e, self.user()) else {
            return;
        };
        if *me != user {
            return;
        }
        let stored = match stored {
            Ok(s) => s,
            Err(why) => return self.e2e_failed(why, out),
        };
        let mut outs = Vec::new();
        match E2e::open(setup.engine.clone(), user, &stored, &mut outs) {
            Ok(e2e) => {
                let damaged: Vec<String> = e2e.damaged_notes();
                self.e2e = Some(e2e);
                self.carry_e2e(outs, out);
                for why in damaged {
                    show(out, Item::Warning(why));
                }
                self.e2e_logged_in(out);
            }
            Err(e) => self.e2e_failed(e.to_string(), out),
        }
    }

    /// The device cannot be used: nothing is encrypted, and nothing that should be is sent at all
    /// (it would go in clear); private chats, which need it to prove who this is, are off too.
    fn e2e_failed(&mut self, why: String, out: &mut Vec<Effect>) {
        self.e2e = None;
        self.chats.set_identity(None);
        show_error(out, ClientError::E2eOff(why.clone()));
        self.e2e_failure = Some(why);
    }

    /// A new server connection: the lines held for the one before are dropped (see
    /// `commit::Commits::drop_held`); the user's messages among them are shown as not sent.
    pub(super) fn drop_held_lines(&mut self, out: &mut Vec<Effect>) {
        for d in self.commits.drop_held() {
            if let Some(seq) = d.seq {
                self.outgoing.forget(seq);
                show(
                    out,
                    Item::Outcome {
                        seq,
                        outcome: Outcome::Failed,
                    },
                );
            }
        }
    }

    /// A commit of end-to-end saves was answered: what it held is released, or, if it failed, what
    /// depended on it is reported as not sent (see `commit`).
    pub(super) fn on_committed(&mut self, result: Result<(), String>, out: &mut Vec<Effect>) {
        let settled = self.commits.settle(result.is_ok(), out);
        for line in settled.release {
            out.push(Effect::Send(line));
        }
        let Err(why) = result else {
            return;
        };
        let mut not_sent = Vec::new();
        for d in settled.dropped {
            if let Some(seq) = d.seq {
                self.outgoing.forget(seq);
                show(
                    out,
                    Item::Outcome {
                        seq,
                        outcome: Outcome::Failed,
                    },
                );
            }
            if let Some(to) = d.to
                && !not_sent.contains(&to)
            {
                not_sent.push(to);
            }
        }
        show_error(out, ClientError::E2eSaveFailed { why, not_sent });
    }

    /// Says `text` to a user or a group, encrypted. Returns whether it was taken (sent, or waiting
    /// for keys); `None` when messages are not encrypted (the caller sends it as it is).
    pub(super) fn say_encrypted(
        &mut self,
        to: &Conversation,
        text: &str,
        out: &mut Vec<Effect>,
    ) -> Option<bool> {
        if !matches!(to, Conversation::User(_) | Conversation::Group(_)) {
            return None;
        }
        self.config.e2e.as_ref()?;
        // Fail closed: a device that could not be opened (or a conversation whose stored state could
        // not be read) stops what would have been encrypted, rather than sending it in clear.
        let refusal = match &self.e2e {
            None => Some(ClientError::E2eUnavailable {
                why: self
                    .e2e_failure
                    .clone()
                    .unwrap_or_else(|| "they are still being opened".into()),
            }),
            Some(e2e) => e2e.damaged(to).map(|why| ClientError::E2eNotSent {
                to: to.clone(),
                why: why.to_string(),
            }),
        };
        if let Some(e) = refusal {
            show_error(out, e);
            return Some(false);
        }
        let seq = self.config.echo_own.then(|| {
            let seq = self.outgoing.number();
            show(
                out,
                Item::Outgoing {
                    seq,
                    to: to.clone(),
                    text: text.to_owned(),
                },
            );
            seq
        });
        self.typed.entry(to.clone()).or_default().push_back(seq);
        let limit = self.line_limit;
        let e2e = self.e2e.as_mut()?;
        let mut outs = Vec::new();
        let result = match to {
            Conversation::User(u) => e2e.send_direct(u, text, limit, &mut outs),
            Conversation::Group(g) => e2e.send_group(g, text, limit, &mut outs),
            _ => unreachable!("checked above"),
        };
        let taken = match result {
            Ok(()) => true,
            Err(Refusal::MembersUnknown(group)) => {
                // Asked quietly; the message goes when the answer comes.
                if !self.awaiting_members.iter().any(|(g, _)| *g == group) {
                    out.push(Effect::Send(
                        Command::GroupMembers { group: &group }.to_line(),
                    ));
                    self.quiet_members.insert(group.clone());
                }
                self.awaiting_members.push((group, text.to_owned()));
                true
            }
            Err(why) => {
                outs.push(Out::Note(Note::NotSent {
                    to: to.clone(),
                    text: text.to_owned(),
                    why,
                }));
                false
            }
        };
        self.carry_e2e(outs, out);
        Some(taken)
    }

    /// The members of `group` are known now: the messages that waited for them go.
    pub(super) fn members_known(&mut self, group: &Name, out: &mut Vec<Effect>) {
        let (go, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.awaiting_members)
            .into_iter()
            .partition(|(g, _)| g == group);
        self.awaiting_members = keep;
        let to = Conversation::Group(group.clone());
        for (_, text) in go {
            let limit = self.line_limit;
            let Some(e2e) = self.e2e.as_mut() else {
                return;
            };
            let mut outs = Vec::new();
            if let Err(why) = e2e.send_group(group, &text, limit, &mut outs) {
                outs.push(Out::Note(Note::NotSent {
                    to: to.clone(),
                    text,
                    why,
                }));
            }
            self.carry_e2e(outs, out);
        }
    }

    /// Carries out what the device asked for, in order.
    pub(super) fn carry_e2e(&mut self, outs: Vec<Out>, out: &mut Vec<Effect>) {
        for o in outs {
            match o {
                Out::Keys(line) => {
                    self.commits.depends(Dependent {
                        line: line.clone(),
                        to: None,
                        seq: None,
                    });
                    out.push(Effect::Send(line))
                }
                Out::RetryClaim(user) => {
                    if self.retry_claims.is_empty() {
                        let at = self.now.plus_millis(super::e2e::RETRY_CLAIM_MS);
                        self.timers.set(super::state::Timer::RetryClaims, at);
                    }
                    self.retry_claims.push(user);
                }
                Out::Message {
                    line,
                    to,
                    encrypted,
                    ..
                } => {
                    let seq = self.next_typed(&to);
                    if let Some(seq) = seq {
                        self.outgoing.expect(seq, &to);
                    }
                    if encrypted {
                        self.commits.depends(Dependent {
                            line: line.clone(),
                            to: Some(to.clone()),
                            seq,
                        });
                    }
                    if let Some(screen) = &mut self.screen {
                        screen.active_again();
                    }
                    out.push(Effect::Send(line));
                }
                Out::KeyShare { line, to } => {
                    self.commits.depends(Dependent {
                        line: line.clone(),
                        to: None,
                        seq: None,
                    });
                    if self.config.echo_own {
                        self.outgoing.expect(SILENT, &Conversation::User(to));
                    }
                    out.push(Effect::Send(line));
                }
                Out::Save(part, bytes) => {
                    if let Some(user) = self.e2e.as_ref().map(|e| e.me().clone()) {
                        out.push(Effect::SaveE2e { user, part, bytes });
                    }
                }
                Out::Append(part, bytes) => {
                    if let Some(user) = self.e2e.as_ref().map(|e| e.me().clone()) {
                        out.push(Effect::AppendE2e { user, part, bytes });
                    }
                }
                Out::Note(note) => {
                    if let Note::NotSent { to, .. } = &note
                        && let Some(seq) = self.next_typed(to)
                    {
                        show(
                            out,
                            Item::Outcome {
                                seq,
                                outcome: Outcome::Failed,
                            },
                        );
                    }
                    show(out, Item::E2e(note));
                }
            }
        }
    }

    /// Asks again for the keys the server said were not there a moment ago.
    pub(super) fn retry_claims(&mut self, out: &mut Vec<Effect>) {
        let users = std::mem::take(&mut self.retry_claims);
        let Some(e2e) = self.e2e.as_mut() else {
            return;
        };
        let mut outs = Vec::new();
        for user in users {
            e2e.retry_claim(&user, &mut outs);
        }
        self.carry_e2e(outs, out);
    }

    /// The number of the oldest message to `to` whose line has not left yet.
    fn next_typed(&mut self, to: &Conversation) -> Option<u64> {
        let q: &mut VecDeque<Option<u64>> = self.typed.get_mut(to)?;
        q.pop_front().flatten()
    }

    /// A message from the server (live or stored), decrypted: the item to show, if any (`None`: a
    /// group key, consumed; or a redelivery). Messages are passed through as they are when nothing
    /// is encrypted.
    pub(super) fn decrypt_shown(&mut self, msg: ServerMsg, out: &mut Vec<Effect>) -> Option<Item> {
        let Some(e2e) = self.e2e.as_mut() else {
            return Some(msg.into());
        };
        let mut outs = Vec::new();
        let item = match msg {
            ServerMsg::Message {
                id,
                sent_at,
                from,
                text,
            } => match Shown::from(e2e.receive_direct(id, &from, &text, &mut outs)) {
                Shown::Text(text) => Some(
                    ServerMsg::Message {
                        id,
                        sent_at,
                        from,
                        text,
                    }
                    .into(),
                ),
                Shown::Nothing => None,
                Shown::Failed(why) => Some(ClientError::Undecryptable { from, why }.into()),
            },
            ServerMsg::GroupMessage {
                id,
                sent_at,
                group,
                from,
                text,
            } => match Shown::from(e2e.receive_group(id, &group, &from, &text, &mut outs)) {
                Shown::Text(text) => Some(
                    ServerMsg::GroupMessage {
                        id,
                        sent_at,
                        group,
                        from,
                        text,
                    }
                    .into(),
                ),
                Shown::Nothing => None,
                Shown::Failed(why) => Some(ClientError::Undecryptable { from, why }.into()),
            },
            other => Some(other.into()),
        };
        self.carry_e2e(outs, out);
        item.map(|i| match i {
            Item::Server(m) => Item::Server(super::reveal::reveal_msg(m)),
            other => other,
        })
    }

    /// A stored message, decrypted: (text to show) or `None` (nothing to show), or an error item.
    pub(super) fn decrypt_offline(
        &mut self,
        id: u64,
        from: &Name,
        group: Option<&Name>,
        text: String,
        out: &mut Vec<Effect>,
    ) -> Result<Option<String>, Box<Item>> {
        let Some(e2e) = self.e2e.as_mut() else {
            return Ok(Some(text));
        };
        let mut outs = Vec::new();
        let received = match group {
            Some(g) => e2e.receive_group(id, g, from, &text, &mut outs),
            None => e2e.receive_direct(id, from, &text, &mut outs),
        };
        self.carry_e2e(outs, out);
        match Shown::from(received) {
            Shown::Text(t) => Ok(Some(super::reveal::reveal(&t).into_owned())),
            Shown::Nothing => Ok(None),
            Shown::Failed(why) => Err(Box::new(
                ClientError::Undecryptable {
                    from: from.clone(),
                    why,
                }
                .into(),
            )),
        }
    }

    /// The text of a stored message shown again (`offline`): an encrypted one from this device's own
    /// store, marked if it is not there (or was not encrypted).
    pub(super) fn recall(
        &self,
        id: u64,
        from: &Name,
        group: Option<&Name>,
        text: String,
    ) -> String {
        let Some(e2e) = &self.e2e else {
            return text;
        };
        if !super::e2e::envelope::is_encrypted(&text) {
            return format!("(not encrypted) {text}");
        }
        match e2e.recall(id, from, group, &text) {
            Some(t) => super::reveal::reveal(&t).into_owned(),
            None => "(encrypted; not kept on this device)".to_owned(),
        }
    }

    /// The key directory's answers: a contact's keys (a session is made, and what waited for it
    /// goes), none, or how many of this device's one-time keys are left (topped up when low).
    pub(super) fn on_key_line(&mut self, msg: ServerMsg, out: &mut Vec<Effect>) {
        let Some(e2e) = self.e2e.as_mut() else {
            // Not asked for by this client: shown as they came.
            return show(out, msg);
        };
        let mut outs = Vec::new();
        match msg {
            ServerMsg::Keys {
                user,
                curve25519,
                ed25519,
                key,
            } => e2e.on_keys(
                &user,
                super::e2e::Identity {
                    curve25519,
                    ed25519,
                },
                key.map(|k| super::e2e::SignedKey {
                    key_id: k.id,
                    curve25519: k.key,
                    signature: k.sig,
                }),
                &mut outs,
            ),
            ServerMsg::NoKeys { user } => e2e.on_no_keys(&user, &mut outs),
            ServerMsg::KeysLeft { count } => {
                e2e.on_keys_left(u32::try_from(count).unwrap_or(u32::MAX), &mut outs)
            }
            _ => {}
        }
        self.carry_e2e(outs, out);
    }

    /// What the device learns from the server's lines: group members, who came online.
    pub(super) fn e2e_learn(&mut self, msg: &ServerMsg) {
        let Some(e2e) = self.e2e.as_mut() else {
            return;
        };
        match msg {
            ServerMsg::GroupCreated { group, members }
            | ServerMsg::GroupMembers { group, members } => {
                e2e.set_members(group, members.iter().cloned())
            }
            ServerMsg::GroupList { groups } => {
                for (group, members) in groups {
                    e2e.set_members(group, members.iter().cloned());
                }
            }
            ServerMsg::GroupJoined { group, user, .. } => e2e.member_joined(group, user),
            ServerMsg::GroupLeft { group, user } => e2e.member_left(group, user),
            ServerMsg::Presence { user, online: true } => e2e.on_online(user),
            _ => {}
        }
    }

    /// `verify <user> [yes|no]`, `trust <user>`, `e2e-reset <user|group>`, and the ways out of a
    /// device that could not be opened: `e2e-unlock <previous password>` (its key is then wrapped
    /// with the current one) and `e2e-newkeys` (the stored state is set aside, a new device made).
    pub(super) fn e2e_command(&mut self, command: KeyCommand, out: &mut Vec<Effect>) {
        if self.e2e.is_none()
            && self.config.e2e.is_some()
            && let Some(user) = self.user().cloned()
        {
            let how = match &command {
                KeyCommand::Unlock { password } => Some(OpenHow::Rewrap {
                    previous: password.clone(),
                }),
                KeyCommand::NewKeys => Some(OpenHow::Fresh),
                _ => None,
            };
            if let Some(how) = how {
                let Some(password) = self.e2e_password.clone() else {
                    return self.e2e_failed("no password was typed at login".into(), out);
                };
                self.e2e_failure = None;
                return out.push(Effect::OpenE2e {
                    user,
                    password,
                    how,
                });
            }
        }
        let Some(e2e) = self.e2e.as_mut() else {
            let why = self
                .e2e_failure
                .clone()
                .unwrap_or_else(|| "this client was started without it".into());
            return show_error(out, ClientError::E2eUnavailable { why });
        };
        let mut outs = Vec::new();
        let result = match command {
            KeyCommand::Verify { user, mark: None } => {
                e2e.verify(&user, &mut outs);
                Ok(())
            }
            KeyCommand::Verify {
                user,
                mark: Some(yes),
            } => e2e.mark_verified(&user, yes, &mut outs).map(|()| {
                if yes {
                    outs.push(Out::Note(Note::Verified { user }));
                }
            }),
            KeyCommand::Trust { user } => e2e.accept(&user, &mut outs),
            KeyCommand::Reset { name } => {
                let done = e2e.reset(&name, &mut outs);
                outs.push(Out::Note(Note::Reset { name, done }));
                Ok(())
            }
            KeyCommand::Unlock { .. } | KeyCommand::NewKeys => {
                show(
                    out,
                    Item::Warning("Your end-to-end keys are open already.".into()),
                );
                Ok(())
            }
        };
        self.carry_e2e(outs, out);
        if let Err(e) = result {
            show(out, Item::Warning(e.to_string()));
        }
    }
}

impl ClientState {
    /// Private chats whose peers proved an identity: checked against the pins. The pinned key (or
    /// a first one, now pinned) opens the chat; another ends it (the session may run through someone
    /// who is not the peer), as does having no device to check with.
    pub(super) fn check_private_ids(&mut self, out: &mut Vec<Effect>) {
        let proven = self.chats.take_proven();
        if proven.is_empty() {
            return;
        }
        let mut ended = Vec::new();
        let mut opened = Vec::new();
        let mut outs = Vec::new();
        match self.e2e.as_mut() {
            None => ended.extend(proven.into_iter().map(|(peer, _)| peer)),
            Some(e2e) => {
                for (peer, identity) in proven {
                    match e2e.meet_identity(&peer, &identity, &mut outs) {
                        super::e2e::contacts::Met::Changed => ended.push(peer),
                        _ => {
                            if e2e.contacts().is_verified(&peer) {
                                outs.push(Out::Note(Note::PrivateVerified { user: peer.clone() }));
                            }
                            opened.push(peer);
                        }
                    }
                }
            }
        }
        self.carry_e2e(outs, out);
        for peer in opened {
            self.chats.confirm_proven(&peer, out);
        }
        for peer in ended {
            let cx = self.cx();
            self.chats.end_unproven(&cx, &peer, out);
        }
    }
}
