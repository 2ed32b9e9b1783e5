//! The session's side of end-to-end encryption: the device opened at login, what the user says to a
//! user or a group encrypted on the way out, messages decrypted on the way in, the commands that
//! manage keys (`verify`, `trust`, `reject`, `sendclear`, `sharedwith`, `movehere`, and the ways
//! out of stored state that cannot be read: `e2e-unlock`, `e2e-newkeys`, `e2e-reset`), and how each
//! conversation is protected, said where the user looks. The rules are [`super::super::e2e`]'s and
//! the device is the `encryption` part's; this carries the device's outputs out as the session's
//! effects and items (they reach most parts: the lines held for commits, the outgoing messages'
//! numbers, the deadlines, the quiet questions, the acknowledgements), and marks the lines that depend
//! on end-to-end saves, which wait for their commit (`commit`).

use super::super::commit::Dependent;
use super::super::display::{ClientError, Item};
use super::super::e2e::contacts::Met;
use super::super::e2e::{
    Identity, Note, Out, Part, Protection, Received, Refusal, SignedKey, Stored,
};
use super::super::event::{Effect, OpenHow, show, show_error};
use super::super::input::KeyCommand;
use super::super::marks::LATE;
use super::super::marks::{KEY_CHANGED, MAYBE_FORGED, NOT_ENCRYPTED, VERIFIED};
use super::super::outgoing::{Outcome, SILENT};
use super::super::reveal::{reveal, reveal_msg};
use super::ClientState;
use crate::protocol::{Command, Conversation, ErrorReply, Name, ServerMsg};

/// A decrypted text with its marks: a key changed (loud), or a verified sender.
fn marked(text: String, verified: bool, key_changed: bool) -> String {
    if key_changed {
        format!("{KEY_CHANGED} {text}")
    } else if verified {
        format!("{VERIFIED} {text}")
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
            Received::Plain(text) => Shown::Text(format!("{NOT_ENCRYPTED} {text}")),
            Received::PlainFromPinned(text) => Shown::Text(format!("{MAYBE_FORGED} {text}")),
            Received::Text {
                text,
                verified,
                key_changed,
            } => Shown::Text(marked(text, verified, key_changed)),
            Received::GroupKey | Received::Duplicate | Received::OtherDevice => Shown::Nothing,
            Received::Failed(why) => Shown::Failed(why),
        }
    }
}

impl ClientState {
    /// Logged in as `user`: their device, if it is open already (a login again after a lost
    /// server), asks which device holds the account (publishing follows the answer); otherwise the
    /// shell is asked to read it, unlocked with the password just typed ([`Effect::OpenE2e`]), and
    /// the rest follows in [`Self::on_e2e_opened`].
    pub(super) fn open_e2e(&mut self, user: &Name, out: &mut Vec<Effect>) {
        self.outgoing.new_session();
        self.encryption.new_session();
        if !self.encryption.enabled() {
            return;
        }
        if self.encryption.device().is_some_and(|e| e.me() == user) {
            return self.e2e_logged_in(false, out);
        }
        self.encryption.close();
        self.chats.set_identity(None);
        match self.encryption.unlock(user.clone(), OpenHow::Unlock) {
            Some(open) => out.push(open),
            None => self.e2e_failed("no password was typed to unlock them with".into(), out),
        }
    }

    /// The open device asks which device holds the account (new keys the user just made take it
    /// whatever the answer), and private chats can prove who this is.
    fn e2e_logged_in(&mut self, new_keys: bool, out: &mut Vec<Effect>) {
        let mut outs = Vec::new();
        if let Some(e2e) = self.encryption.device_mut() {
            if new_keys {
                e2e.on_login_with_new_keys(&mut outs);
            } else {
                e2e.on_login(&mut outs);
            }
            self.chats.set_identity(Some(e2e.private_identity()));
        }
        self.carry_e2e(outs, out);
    }

    /// The shell read `user`'s stored device (or could not).
    pub(super) fn on_e2e_opened(
        &mut self,
        user: Name,
        stored: Result<Vec<(Part, Stored)>, String>,
        out: &mut Vec<Effect>,
    ) {
        if !self.encryption.enabled() || self.session.user() != Some(&user) {
            return;
        }
        let mut outs = Vec::new();
        match self.encryption.open(user, stored, &mut outs) {
            Ok(opened) => {
                self.carry_e2e(outs, out);
                for why in opened.damaged {
                    show(out, Item::Warning(why));
                }
                self.e2e_logged_in(opened.new_keys, out);
            }
            Err(why) => self.e2e_failed(why, out),
        }
    }

    /// The device cannot be used: nothing is encrypted, and nothing that should be is sent at all
    /// (it would go in clear); private chats, which need it to prove who this is, are off too.
    fn e2e_failed(&mut self, why: String, out: &mut Vec<Effect>) {
        self.chats.set_identity(None);
        show_error(out, ClientError::E2eOff(why.clone()));
        self.encryption.fail(why);
    }

    /// A new server connection: the lines held for the one before are dropped (see
    /// `commit::Commits::drop_held`); the user's messages among them are shown as not sent.
    pub(super) fn drop_held_lines(&mut self, out: &mut Vec<Effect>) {
        for d in self.commits.drop_held() {
            self.not_sent(&d, out);
        }
    }

    /// A line that depended on end-to-end state never left: its answer is no longer awaited, and
    /// the user's message it carried is shown as not sent.
    fn not_sent(&mut self, d: &Dependent, out: &mut Vec<Effect>) {
        if let Some(key) = d.pending {
            self.outgoing.forget(key);
        }
        if d.line.starts_with("keys ")
            && let Some(e2e) = self.encryption.device_mut()
        {
            e2e.keys_not_sent();
        }
        if let Some(seq) = d.seq
            && self.outgoing.echo_own()
        {
            show(
                out,
                Item::Outcome {
                    seq,
                    outcome: Outcome::Failed,
                },
            );
        }
    }

    /// A commit of end-to-end saves was answered: what it held is released, or, if it failed, what
    /// depended on it is reported as not sent (see `commit`).
    pub(super) fn on_committed(&mut self, result: Result<(), String>, out: &mut Vec<Effect>) {
        let settled = self
            .commits
            .settle(result.is_ok(), out, &mut |o| self.encryption.flush(o));
        for line in settled.release {
            out.push(Effect::Send(line));
        }
        let result = match settled.spoilt {
            Some(why) => Err(why),
            None => result,
        };
        let Err(why) = result else {
            return;
        };
        let mut not_sent = Vec::new();
        for d in settled.dropped {
            self.not_sent(&d, out);
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
        if !self.encryption.enabled() {
            return None;
        }
        // Fail closed: a device that could not be opened (or a conversation whose stored state could
        // not be read) stops what would have been encrypted, rather than sending it in clear.
        let refusal = match self.encryption.device() {
            None => Some(ClientError::E2eUnavailable {
                why: self
                    .encryption
                    .failure()
                    .unwrap_or("they are still being opened")
                    .to_owned(),
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
        // Numbered even when not shown: a line client says when it was delivered.
        let seq = self.outgoing.number();
        if self.outgoing.echo_own() {
            show(
                out,
                Item::Outgoing {
                    seq,
                    to: to.clone(),
                    text: text.to_owned(),
                },
            );
        }
        self.outgoing.typed(to, Some(seq), text);
        let limit = self.outgoing.line_limit();
        let e2e = self.encryption.device_mut()?;
        let mut outs = Vec::new();
        let result = match to {
            Conversation::User(u) => e2e.send_direct(u, text, limit, &mut outs),
            Conversation::Group(g) => e2e.send_group(g, text, limit, &mut outs),
            _ => unreachable!("checked above"),
        };
        let taken = match result {
            Ok(()) => true,
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

    /// Carries out what the device asked for, in order.
    pub(super) fn carry_e2e(&mut self, outs: Vec<Out>, out: &mut Vec<Effect>) {
        for o in outs {
            // A confirmation goes as a key share does, but nothing of its answer is shown.
            let quiet = matches!(o, Out::Quiet { .. });
            match o {
                Out::Keys(line) => {
                    // Questions (a claim, a look at someone's keys) depend on nothing saved;
                    // publishing keys whose private halves are not saved would hand out keys a
                    // later run cannot read with.
                    if !line.starts_with("keys claim ") && !line.starts_with("keys show ") {
                        self.commits.depends(Dependent {
                            line: line.clone(),
                            to: None,
                            seq: None,
                            pending: None,
                        });
                    }
                    out.push(Effect::Send(line))
                }
                Out::RetryClaim(user) => {
                    self.encryption
                        .retry_claim(user, self.now, &mut self.timers)
                }
                Out::ClaimTimer(user) => {
                    self.encryption
                        .claim_timer(user, self.now, &mut self.timers)
                }
                Out::AskMembers(group) => {
                    out.push(Effect::Send(
                        Command::GroupMembers { group: &group }.to_line(),
                    ));
                    self.conversations.asked_members(group);
                }
                Out::Acknowledge => self.acknowledge(out),
                Out::Message {
                    line,
                    to,
                    text,
                    encrypted,
                } => {
                    let typed = self.outgoing.next_typed(&to, &text);
                    let seq = typed.unwrap_or(SILENT);
                    // Every line's answer is followed (receipts are on with encryption), so a
                    // message refused as encrypted for a device the recipient no longer has is
                    // encrypted again rather than lost.
                    let resend = (encrypted && matches!(to, Conversation::User(_))).then_some(text);
                    let pending = self.outgoing.expect_encrypted(seq, &to, resend, true);
                    if encrypted {
                        self.commits.depends(Dependent {
                            line: line.clone(),
                            to: Some(to.clone()),
                            seq: typed,
                            pending: Some(pending),
                        });
                    }
                    self.session.active_again();
                    out.push(Effect::Send(line));
                }
                Out::KeyShare { line, to } | Out::Quiet { line, to } => {
                    let to = Conversation::User(to);
                    let pending = if quiet {
                        self.outgoing.expect_quiet(&to)
                    } else {
                        self.outgoing.expect(SILENT, &to)
                    };
                    self.commits.depends(Dependent {
                        line: line.clone(),
                        to: None,
                        seq: None,
                        pending: Some(pending),
                    });
                    out.push(Effect::Send(line));
                }
                Out::Changed(_) => self.commits.changed(out.len()),
                Out::Save(part, bytes) => {
                    if let Some(user) = self.encryption.device().map(|e| e.me().clone()) {
                        out.push(Effect::SaveE2e { user, part, bytes });
                    }
                }
                Out::Append(part, bytes) => {
                    if let Some(user) = self.encryption.device().map(|e| e.me().clone()) {
                        out.push(Effect::AppendE2e { user, part, bytes });
                    }
                }
                Out::Note(note) => {
                    if let Note::NotSent { to, text, .. } = &note
                        && let Some(seq) = self.outgoing.next_typed(to, text)
                        && self.outgoing.echo_own()
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
        let users = self.encryption.take_retries();
        let Some(e2e) = self.encryption.device_mut() else {
            return;
        };
        let mut outs = Vec::new();
        for user in users {
            e2e.retry_claim(&user, &mut outs);
        }
        self.carry_e2e(outs, out);
    }

    /// Claims that have gone unanswered for a while: the user is told their messages still wait.
    pub(super) fn slow_claims(&mut self, out: &mut Vec<Effect>) {
        let due = self.encryption.due_slow_claims(self.now, &mut self.timers);
        let mut outs = Vec::new();
        if let Some(e2e) = self.encryption.device_mut() {
            for user in due {
                e2e.claim_slow(&user, &mut outs);
            }
        }
        self.carry_e2e(outs, out);
    }

    /// A message from the server (live or stored), decrypted: the item to show, if any (`None`: a
    /// group key, consumed; or a redelivery). Messages are passed through as they are when nothing
    /// is encrypted (but for the mark `late`: it arrived after messages sent later were shown).
    pub(super) fn decrypt_shown(
        &mut self,
        msg: ServerMsg,
        late: bool,
        out: &mut Vec<Effect>,
    ) -> Option<Item> {
        let mark = |text: String| {
            if late { format!("{LATE} {text}") } else { text }
        };
        let Some(e2e) = self.encryption.device_mut() else {
            return Some(
                match msg {
                    ServerMsg::Message {
                        id,
                        sent_at,
                        from,
                        text,
                    } => ServerMsg::Message {
                        id,
                        sent_at,
                        from,
                        text: mark(text),
                    },
                    ServerMsg::GroupMessage {
                        id,
                        sent_at,
                        group,
                        from,
                        text,
                    } => ServerMsg::GroupMessage {
                        id,
                        sent_at,
                        group,
                        from,
                        text: mark(text),
                    },
                    other => other,
                }
                .into(),
            );
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
                        text: mark(text),
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
                        text: mark(text),
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
            Item::Server(m) => Item::Server(reveal_msg(m)),
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
        let Some(e2e) = self.encryption.device_mut() else {
            return Ok(Some(text));
        };
        let mut outs = Vec::new();
        let received = match group {
            Some(g) => e2e.receive_group(id, g, from, &text, &mut outs),
            None => e2e.receive_direct(id, from, &text, &mut outs),
        };
        self.carry_e2e(outs, out);
        match Shown::from(received) {
            Shown::Text(t) => Ok(Some(reveal(&t).into_owned())),
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

    /// The key directory's answers: a contact's keys (a session is made, and what waited for it
    /// goes), none, or how many of this device's one-time keys are left (topped up when low).
    pub(super) fn on_key_line(&mut self, msg: ServerMsg, out: &mut Vec<Effect>) {
        let Some(e2e) = self.encryption.device_mut() else {
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
                Identity {
                    curve25519,
                    ed25519,
                },
                key.map(|k| SignedKey {
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

    /// An error that may answer one of the device's claims (`blocked-by`, `no-such-user`): what
    /// waited for that user is refused, with the reason. Returns whether it did (the error is then
    /// said by the device's notes, not shown again).
    pub(super) fn claim_refused(&mut self, e: &ErrorReply, out: &mut Vec<Effect>) -> bool {
        let Some(e2e) = self.encryption.device_mut() else {
            return false;
        };
        let (user, why) = match e {
            ErrorReply::BlockedBy { user } => (user.clone(), Refusal::BlockedBy(user.clone())),
            ErrorReply::NoSuchUser { user } => {
                let user = Name::from(user.as_str());
                (user.clone(), Refusal::NoSuchUser(user))
            }
            _ => return false,
        };
        let mut outs = Vec::new();
        let refused = e2e.on_claim_refused(&user, why, &mut outs);
        self.carry_e2e(outs, out);
        refused
    }

    /// The server refused a message to `user` as encrypted for a device they no longer have: it
    /// waits for their new key (`resend`: its text, if the user wrote it).
    pub(super) fn on_stale(&mut self, user: &Name, resend: Option<String>, out: &mut Vec<Effect>) {
        let Some(e2e) = self.encryption.device_mut() else {
            return;
        };
        let mut outs = Vec::new();
        e2e.on_stale(user, resend, &mut outs);
        self.carry_e2e(outs, out);
    }

    /// The server refused the client's own question for `group`'s members (`not-member`): the
    /// messages that waited for them are reported not sent.
    pub(super) fn members_refused(&mut self, group: &Name, out: &mut Vec<Effect>) {
        let Some(e2e) = self.encryption.device_mut() else {
            return;
        };
        let mut outs = Vec::new();
        e2e.members_refused(group, &mut outs);
        self.carry_e2e(outs, out);
    }

    /// What the device learns from the server's lines: group members (every change shown, but for
    /// the answers to the client's own questions), who came online.
    pub(super) fn e2e_learn(&mut self, msg: &ServerMsg, out: &mut Vec<Effect>) {
        let quiet_members = matches!(msg, ServerMsg::GroupMembers { group, .. } if self.conversations.members_quiet(group));
        let quiet_list = self.conversations.grouplist_quiet();
        let Some(e2e) = self.encryption.device_mut() else {
            return;
        };
        let mut outs = Vec::new();
        match msg {
            ServerMsg::GroupCreated { group, members } => {
                e2e.set_members(group, members.iter().cloned(), true, &mut outs);
                e2e.members_known(group, &mut outs);
            }
            ServerMsg::GroupMembers { group, members } => {
                e2e.set_members(group, members.iter().cloned(), !quiet_members, &mut outs);
                e2e.members_known(group, &mut outs);
            }
            ServerMsg::GroupList { groups } => {
                for (group, members) in groups {
                    e2e.set_members(group, members.iter().cloned(), !quiet_list, &mut outs);
                    e2e.members_known(group, &mut outs);
                }
            }
            ServerMsg::GroupJoined { group, user, .. } => e2e.member_joined(group, user, &mut outs),
            ServerMsg::GroupLeft { group, user, .. } => e2e.member_left(group, user, &mut outs),
            ServerMsg::Presence { user, online: true } => e2e.on_online(user, &mut outs),
            _ => {}
        }
        self.carry_e2e(outs, out);
    }

    /// `verify`, `trust`, `reject`, `sendclear`, `sharedwith`, `movehere`, `e2e-reset`, and the ways
    /// out of a device that could not be opened: `e2e-unlock <previous password>` (its key is then
    /// wrapped with the current one) and `e2e-newkeys` (the stored state is set aside, a new device
    /// made).
    pub(super) fn e2e_command(&mut self, command: KeyCommand, out: &mut Vec<Effect>) {
        if self.encryption.device().is_none()
            && self.encryption.enabled()
            && let Some(user) = self.session.user().cloned()
        {
            let how = match &command {
                KeyCommand::Unlock { password } => Some(OpenHow::Rewrap {
                    previous: password.clone(),
                }),
                KeyCommand::NewKeys => Some(OpenHow::Fresh),
                _ => None,
            };
            if let Some(how) = how {
                return match self.encryption.unlock(user, how) {
                    Some(open) => out.push(open),
                    None => self.e2e_failed("no password was typed at login".into(), out),
                };
            }
        }
        let Some(e2e) = self.encryption.device_mut() else {
            let why = self
                .encryption
                .failure()
                .unwrap_or("this client was started without it")
                .to_owned();
            return show_error(out, ClientError::E2eUnavailable { why });
        };
        let me = e2e.me().clone();
        if let KeyCommand::Verify { user }
        | KeyCommand::Confirm { user, .. }
        | KeyCommand::Unverify { user }
        | KeyCommand::Trust { user, .. }
        | KeyCommand::Reject { user }
        | KeyCommand::SendClear { user } = &command
            && *user == me
        {
            return show_error(out, ClientError::ToYourself(me));
        }
        let cleared = match &command {
            KeyCommand::SendClear { user } => Some(user.clone()),
            _ => None,
        };
        let mut outs = Vec::new();
        let result: Result<(), String> = match command {
            KeyCommand::Verify { user } => {
                e2e.verify(&user, &mut outs);
                Ok(())
            }
            KeyCommand::Confirm { user, digits } => e2e
                .mark_verified(&user, Some(&digits), &mut outs)
                .map_err(|e| e.to_string()),
            KeyCommand::Unverify { user } => e2e
                .mark_verified(&user, None, &mut outs)
                .map_err(|e| e.to_string()),
            KeyCommand::Trust { user, digits } => e2e
                .accept(&user, &digits, &mut outs)
                .map_err(|e| e.to_string()),
            KeyCommand::Reject { user } => e2e.reject(&user, &mut outs).map_err(|e| e.to_string()),
            KeyCommand::SendClear { user } => {
                e2e.send_clear(&user, &mut outs).map_err(|e| e.to_string())
            }
            KeyCommand::SharedWith { group } => {
                outs.push(Out::Note(e2e.shared_with(&group)));
                Ok(())
            }
            KeyCommand::MoveHere => e2e.move_here(&mut outs).map_err(|e| e.to_string()),
            KeyCommand::Reset { name } => {
                let done = e2e.reset(&name, &mut outs);
                outs.push(Out::Note(Note::Reset { name, done }));
                Ok(())
            }
            KeyCommand::Unlock { .. } | KeyCommand::NewKeys => {
                Err("Your end-to-end keys are open already.".into())
            }
        };
        if let (Ok(()), Some(user)) = (&result, cleared) {
            self.encryption.sent_clear(user);
        }
        self.carry_e2e(outs, out);
        if let Err(e) = result {
            show(out, Item::Warning(e));
        }
    }

    /// Says how `to` is protected the first time it is used in this session, and whenever that
    /// changes; the full-screen client's status bar shows it for the window in view.
    pub(super) fn note_protection(&mut self, to: &Conversation, out: &mut Vec<Effect>) {
        let Some(state) = self.encryption.note_protection(to, self.session.user()) else {
            return;
        };
        if state == Protection::Waiting {
            // Kept for the status bar; the line is said once the server has answered.
            return;
        }
        show(
            out,
            Item::E2e(Note::Protection {
                to: to.clone(),
                state,
            }),
        );
    }

    /// Looks again at every conversation used (a key accepted, a change learnt...).
    pub(super) fn refresh_protection(&mut self, out: &mut Vec<Effect>) {
        for to in self.encryption.used() {
            self.note_protection(&to, out);
        }
    }

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
        match self.encryption.device_mut() {
            None => ended.extend(proven.into_iter().map(|(peer, _)| peer)),
            Some(e2e) => {
                for (peer, identity) in proven {
                    match e2e.meet_identity(&peer, &identity, &mut outs) {
                        Met::Changed | Met::StillChanged => ended.push(peer),
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
