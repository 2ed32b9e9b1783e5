//! What the server said: each line decoded once, learnt from, and shown (or acted on); messages
//! shown once each and acknowledged in batches, only once what was shown is kept (`inbox`); the
//! server's goodbye, and its connection closing (and with it, every answer awaited on it).

use super::super::display::{ClientError, EndReason, Item};
use super::super::error::conversation_name;
use super::super::event::{Effect, Exit, show, show_error};
use super::super::marks::LATE;
use super::super::outgoing::{Outcome, SILENT};
use super::ClientState;
use crate::protocol::p2p::PeerBye;
use crate::protocol::{
    ByeReason, Command, Conversation, ErrorReply, Name, NewerLine, ServerMsg, check_line,
    decode_line, newer_line,
};
use crate::time::Timestamp;

/// What to say of a server line that does not decode: a newer server's error or goodbye (a code
/// this natter does not know) shows what the server said, made safe to show like anything else a
/// server sends; anything else is a line natter does not understand.
fn newer_or_bad(line: &str, e: crate::protocol::DecodeError) -> ClientError {
    let shown = |text: &str| super::super::reveal::reveal(text).into_owned();
    match newer_line(line) {
        Some(NewerLine::Error { code, text }) => ClientError::NewerError {
            code: code.to_owned(),
            text: shown(text),
        },
        Some(NewerLine::Bye { reason, text }) => ClientError::NewerBye {
            reason: reason.to_owned(),
            text: shown(text),
        },
        None => ClientError::BadServerLine(e.to_string()),
    }
}

impl ClientState {
    /// One line of the server.
    pub(super) fn on_server_line(&mut self, bytes: &[u8], out: &mut Vec<Effect>) {
        // The server filters control characters from what users send; checking again here means a
        // broken or hostile server cannot rewrite this terminal either.
        let line = match check_line(bytes) {
            Ok(line) => line,
            Err(e) => return show_error(out, ClientError::BadServerLine(e.to_string())),
        };
        let msg = match decode_line(line) {
            // What others wrote is shown with any invisible or reordering character made visible.
            Ok(msg) => super::super::reveal::reveal_msg(msg),
            Err(e) => return show_error(out, newer_or_bad(line, e)),
        };
        self.conversations.learn_from(&msg, self.session.user());
        if self.typing.learn(&msg, self.now, &mut self.timers) {
            // A signal is shown only as what it says about typing (the status bar), never as a line.
            return;
        }
        self.session.learn_from(&msg, self.now);
        self.session.logout_progress(self.now, &mut self.timers);
        self.e2e_learn(&msg, out);
        // An error that answers one of the device's claims is not the answer to a message.
        if let ServerMsg::Error(e) = &msg
            && self.claim_refused(e, out)
        {
            return;
        }
        let device_open = self.encryption.device().is_some();
        if self.outgoing.echo_own() || device_open {
            let answer = self.outgoing.answer(&msg);
            if answer.as_ref().is_some_and(|a| a.quiet) {
                return;
            }
            if let Some(a) = &answer
                && self.outgoing.echo_own()
                && a.seq != SILENT
            {
                show(
                    out,
                    Item::Outcome {
                        seq: a.seq,
                        outcome: a.outcome,
                    },
                );
            }
            // A line client does not repeat what was typed, but says that a message the user
            // wrote reached its recipient, as the full-screen client marks it (being stored for an
            // offline one, or refused, is said by the server's own line).
            if let (Some(a), ServerMsg::Delivered { to, .. }) = (&answer, &msg)
                && !self.outgoing.echo_own()
                && a.seq != SILENT
            {
                show(out, Item::Note(format!("delivered to {to}")));
            }
            if let ServerMsg::Error(ErrorReply::StaleKey { user }) = &msg
                && device_open
            {
                // Said by the device's notes (the new key, what waits for it), not as an error.
                return self.on_stale(user, answer.and_then(|a| a.resend), out);
            }
            // A group's key stored for an offline member: the user wrote nothing to them (the
            // group message's own answer says who gets it later).
            if let (ServerMsg::Stored { .. }, Some(a)) = (&msg, &answer)
                && !a.written
            {
                return;
            }
        }
        if let ServerMsg::Message { from, text, .. }
        | ServerMsg::OfflineMessage {
            from,
            group: None,
            text,
            ..
        } = &msg
        {
            self.encryption.saw_direct(from, text);
        }
        match msg {
            ServerMsg::Message {
                id,
                sent_at,
                ref text,
                ..
            }
            | ServerMsg::GroupMessage {
                id,
                sent_at,
                ref text,
                ..
            } => {
                let to = msg.conversation();
                let encrypted = super::super::e2e::envelope::is_encrypted(text);
                let ignored = self.ignores(&msg);
                // An ignored sender's message is still decrypted (the session with them moves on)
                // and acknowledged, only not shown.
                let item = match self.received(id, sent_at, encrypted) {
                    Some(late) => self.decrypt_shown(msg, late, out),
                    None => None,
                };
                // Said after the decryption, which pins a new contact's key from their first
                // message, and before the message itself: how the conversation is protected is
                // then known, not guessed.
                if let Some(to) = to {
                    self.note_protection(&to, out);
                }
                if let Some(item) = item
                    && !ignored
                {
                    let item = self.highlighted(item);
                    show(out, item);
                }
            }
            ServerMsg::Keys { .. } | ServerMsg::NoKeys { .. } | ServerMsg::KeysLeft { .. } => {
                self.on_key_line(msg, out)
            }
            ServerMsg::Prompt(p) => self.on_prompt(p, out),
            ServerMsg::Welcome { user } => self.on_welcome(user, out),
            ServerMsg::OfflineMessage {
                id,
                sent_at,
                from,
                group,
                text,
            } => self.on_offline_message(id, sent_at, from, group, text, out),
            ServerMsg::OfflineAgain { ref from, .. } | ServerMsg::Broadcast { ref from, .. }
                if self.conversations.is_ignored(self.session.user(), from) => {}
            broadcast @ ServerMsg::Broadcast { .. } => {
                let item = self.highlighted(Item::Server(broadcast));
                show(out, item);
            }
            // Shown again on request: no redelivery check, no acknowledgement; an encrypted one from
            // this device's own store (the server has only its ciphertext).
            ServerMsg::OfflineAgain {
                id,
                sent_at,
                from,
                group,
                text,
            } => {
                let text = self.encryption.recall(id, &from, group.as_ref(), text);
                show(
                    out,
                    Item::Offline {
                        from,
                        group,
                        text,
                        age_secs: self.now.millis_since(sent_at) / 1000,
                    },
                )
            }
            // The reply to the client's own registration, and the fate of a message the outcome above
            // shows: nothing for the user to read.
            // (A registration may be a script's barrier: what the client said to later lines
            // may be shown now.)
            ServerMsg::P2pPort { .. } => self.order.registered(out),
            ServerMsg::Sent { .. } | ServerMsg::Delivered { .. } => {}
            // Asked for by the client itself, for the full-screen nick lists: learnt above.
            ServerMsg::GroupList { .. } if self.conversations.take_quiet_grouplist() => {}
            ServerMsg::WhoElse { .. } if self.conversations.take_quiet_whoelse() => {}
            ServerMsg::GroupMembers { group, .. }
                if self.conversations.take_quiet_members(&group) => {}
            // Added to a group: its window's nick list needs all its members, which this line does
            // not name (unless the end-to-end device asked for them already, to encrypt for).
            ServerMsg::GroupJoined { group, user, by }
                if self.screen.is_some() && self.session.user() == Some(&user) =>
            {
                if !self.conversations.members_quiet(&group) {
                    out.push(Effect::Send(
                        Command::GroupMembers { group: &group }.to_line(),
                    ));
                    self.conversations.asked_members(group.clone());
                }
                show(out, ServerMsg::GroupJoined { group, user, by });
            }
            ServerMsg::PrivateAccepted { peer, addr, token } => {
                let cx = self.cx();
                self.chats.on_private_accepted(&cx, peer, addr, token, out)
            }
            ServerMsg::PrivateExpect { peer, token } => {
                let cx = self.cx();
                self.chats.on_private_expect(&cx, peer, token, out)
            }
            ServerMsg::PrivateEnded { peer } => {
                if !self.chats.take_quiet_stop(&peer) {
                    show(
                        out,
                        Item::PrivateEnded {
                            peer,
                            why: EndReason::YouStopped,
                        },
                    );
                }
            }
            ServerMsg::Error(e) => self.on_server_error(e, out),
            ServerMsg::Bye(reason) => self.on_bye(reason, out),
            ServerMsg::PasswordChanged { user } => {
                self.on_password_changed(out);
                show(out, ServerMsg::PasswordChanged { user });
            }
            ServerMsg::Operator { name } => {
                // `oper` is over: commands are read again.
                self.session.passwd_over(out);
                show(out, ServerMsg::Operator { name });
            }
            // Everything else is shown as it came.
            other => show(out, other),
        }
    }

    /// `item`, a message shown, as a highlight if it is said in a group or to everyone and names the
    /// user (or a word they chose); a message to them alone is addressed to them already.
    fn highlighted(&mut self, item: Item) -> Item {
        let Some(me) = self.session.user() else {
            return item;
        };
        let (to, from, text) = match &item {
            Item::Server(ServerMsg::GroupMessage {
                group, from, text, ..
            })
            | Item::Offline {
                from,
                group: Some(group),
                text,
                ..
            } => (Conversation::Group(group.clone()), from, text),
            Item::Server(ServerMsg::Broadcast { from, text }) => {
                (Conversation::Broadcasts, from, text)
            }
            _ => return item,
        };
        if self.highlights.check(me, self.now, &to, from, text) {
            Item::Highlight(Box::new(item))
        } else {
            item
        }
    }

    /// Whether `msg` is a message from someone the user ignores.
    fn ignores(&self, msg: &ServerMsg) -> bool {
        match msg {
            ServerMsg::Message { from, .. } | ServerMsg::GroupMessage { from, .. } => {
                self.conversations.is_ignored(self.session.user(), from)
            }
            _ => false,
        }
    }

    /// Shows a stored message unless it is a redelivery of one already shown (see [`Self::received`]).
    fn on_offline_message(
        &mut self,
        id: u64,
        sent_at: Timestamp,
        from: Name,
        group: Option<Name>,
        text: String,
        out: &mut Vec<Effect>,
    ) {
        let encrypted = super::super::e2e::envelope::is_encrypted(&text);
        let to = match &group {
            Some(g) => Conversation::Group(g.clone()),
            None => Conversation::User(from.clone()),
        };
        let Some(late) = self.received(id, sent_at, encrypted) else {
            self.note_protection(&to, out);
            return;
        };
        let age_secs = self.now.millis_since(sent_at) / 1000;
        let ignored = self.conversations.is_ignored(self.session.user(), &from);
        let decrypted = self.decrypt_offline(id, &from, group.as_ref(), text, out);
        // After the decryption (which pins a new contact's key), before the message, as for a live one.
        self.note_protection(&to, out);
        match decrypted {
            Ok(Some(_)) if ignored => {}
            Ok(Some(text)) => {
                let text = if late { format!("{LATE} {text}") } else { text };
                let item = self.highlighted(Item::Offline {
                    from,
                    group,
                    text,
                    age_secs,
                });
                show(out, item)
            }
            Ok(None) => {}
            Err(item) => show(out, *item),
        }
    }

    /// A message (live or stored) arrived: whether to show it (`Some(late)`), which is not if it is a
    /// redelivery of one already shown; either way it is acknowledged (see `inbox`).
    fn received(&mut self, id: u64, sent_at: Timestamp, encrypted: bool) -> Option<bool> {
        let user = self.session.user()?;
        let for_device = encrypted && self.encryption.device().is_some();
        self.inbox
            .received(user, id, sent_at, for_device, self.now, &mut self.timers)
    }

    /// Saves what was shown, if that changed, then acknowledges everything received so far with one
    /// line; not while another device holds the account's keys (see `inbox`).
    pub(super) fn acknowledge(&mut self, out: &mut Vec<Effect>) {
        let allowed = self.encryption.may_acknowledge();
        let online = self.session.online();
        self.inbox
            .acknowledge(allowed, online, &mut self.timers, out);
    }

    fn on_server_error(&mut self, e: ErrorReply, out: &mut Vec<Effect>) {
        // `/join` of a group that does not exist creates it.
        if let ErrorReply::NoSuchGroup { group } = &e
            && self.conversations.take_joining(group)
        {
            let create = Command::CreateGroup {
                group,
                members: Vec::new(),
            };
            return out.push(Effect::Send(create.to_line()));
        }
        if let Some(crate::protocol::Conversation::Group(g)) =
            ServerMsg::Error(e.clone()).conversation()
        {
            self.conversations.take_joining(&g);
        }
        if let ErrorReply::NoSession { user } = &e
            && self.chats.take_quiet_stop(user)
        {
            return;
        }
        // The answer to the client's own question for a group's members: what waited for them is
        // reported not sent, with the reason (the server's line itself was never asked by the user).
        if let ErrorReply::NotMember { group } = &e
            && self.conversations.take_quiet_members(group)
        {
            return self.members_refused(group, out);
        }
        if let ErrorReply::LineTooLong { max } = e {
            // This server's limit, if it is not the usual one: what is typed next is checked by it.
            self.outgoing.set_line_limit(max);
        }
        if self.session.logging_in() && self.reconnect.relogin() {
            if e == ErrorReply::AlreadyOnline {
                // The session on the lost server is not over yet (a dead node's sessions end within
                // a bounded time, a vanished connection's at the keepalive's limit): this server
                // answers, so it is asked again shortly.
                return self.retry_here(out);
            }
            self.reconnect.stop_relogin();
            let server = self.reconnect.current().to_owned();
            super::super::event::news(
                out,
                format!(
                    "Logging in again at {server} did not work; answer its questions to go on."
                ),
            );
        }
        // `already-online` at login: the server asks for another username, and so does the client
        // of a person. A script's next line is its password: read as that username it would be
        // tried (and counted) as an account's name, so a script's login ends here, refused.
        if e == ErrorReply::AlreadyOnline
            && self.session.logging_in()
            && !self.reconnect.interactive()
        {
            show(out, e);
            return self.exit(Exit::LoginRefused, out);
        }
        // `passwd` ends with a wrong current password (every other refusal of its lines is followed
        // by its prompt again), or at a server that does not know it; answers to earlier lines may
        // come meanwhile and change nothing.
        let passwd_ends = matches!(
            e,
            ErrorReply::WrongCurrentPassword | ErrorReply::OperFailed | ErrorReply::UnknownCommand
        );
        show(out, e);
        if passwd_ends {
            self.session.passwd_over(out);
        }
    }

    fn on_bye(&mut self, reason: ByeReason, out: &mut Vec<Effect>) {
        // An idle logout, for a person at a terminal: the client stays open, and logs in again as
        // soon as they type.
        if self.stays_after(&reason) {
            return self.fall_asleep(reason, out);
        }
        // The goodbye to `/disconnect`: the client stays open too, until `/reconnect`.
        if reason == ByeReason::Logout && self.session.logging_out_to_stay() {
            return self.disconnected(out);
        }
        // A server stopping (or cut off from its cluster) is a server lost, when the session can be
        // taken elsewhere (or back to it when it returns).
        if matches!(reason, ByeReason::Shutdown | ByeReason::Unavailable)
            && self.session.online()
            && self.reconnect.can_move()
        {
            show(out, ServerMsg::Bye(reason));
            return self.move_server(out);
        }
        // While moving, a server that cannot take the session now is one attempt failed: the next
        // is tried (a full one may have room for someone else's session, not for this one now).
        if self.moving() {
            let why = match reason {
                ByeReason::Shutdown => Some("it is shutting down"),
                ByeReason::Unavailable => Some("it cannot reach its cluster's storage"),
                ByeReason::Full => Some("it is full"),
                _ => None,
            };
            if let Some(why) = why {
                return self.retry_later(why, out);
            }
        }
        let peers_told = match reason {
            ByeReason::Logout => PeerBye::Logout,
            _ => PeerBye::Offline,
        };
        self.chats.end_all(peers_told, out);
        show(out, ServerMsg::Bye(reason));
        let exit = match reason {
            ByeReason::Logout => Exit::LoggedOut,
            ByeReason::Locked
            | ByeReason::Full
            | ByeReason::TooManyConnections { .. }
            | ByeReason::ConnectThrottled { .. }
            | ByeReason::TlsRequired
            | ByeReason::PlainTextOnly
            | ByeReason::Banned => Exit::LoginRefused,
            ByeReason::Timeout { .. }
            | ByeReason::LoginTimeout { .. }
            | ByeReason::Shutdown
            | ByeReason::Unavailable
            | ByeReason::Flood { .. }
            | ByeReason::Kicked
            | ByeReason::Removed => Exit::EndedByServer,
        };
        self.exit(exit, out);
    }

    /// The server's connection closed.
    pub(super) fn on_server_closed(&mut self, out: &mut Vec<Effect>) {
        if self.session.is_offline().is_some() {
            return;
        }
        if self.session.logging_out_to_stay() {
            return self.disconnected(out);
        }
        self.inbox.connection_lost(&mut self.timers, out);
        self.typing.clear(&mut self.timers);
        self.answers_lost(out);
        if self.moving() {
            return self.retry_later("it closed the connection", out);
        }
        if self.session.online() && self.reconnect.can_move() {
            return self.move_server(out);
        }
        if self.session.logging_in() {
            show_error(out, ClientError::ServerClosedAtLogin);
            self.exit(Exit::ConnectionLost, out);
        } else if self.session.online() {
            self.chats.end_all(PeerBye::Offline, out);
            show_error(out, ClientError::ServerLost);
            self.exit(Exit::ConnectionLost, out);
        } else if self.session.logging_out_now() {
            show(out, ServerMsg::Bye(ByeReason::Logout));
            self.exit(Exit::LoggedOut, out);
        }
    }

    /// The connection to the server is gone (closed, or replaced by a new one): every record of
    /// lines sent on it whose answers were awaited goes with it, since the server answers a line
    /// only on the connection it came by, and an answer on the next connection matched to a line
    /// of this one would settle the wrong message (shown delivered when it was not), be taken for
    /// the `KEYS-LEFT` of a publishing line, or hide a change of a group's members as the answer to
    /// a question of the client's own; a claim to ask again would even be sent on the next
    /// connection before its login. The user's messages that got no answer are said to be
    /// unconfirmed (they may or may not have reached the server), never left as sent.
    pub(super) fn answers_lost(&mut self, out: &mut Vec<Effect>) {
        let unanswered = self.outgoing.connection_lost();
        self.conversations.connection_lost();
        // A claim to ask again, or to say is slow, was the lost connection's: asked on the next
        // one before its login, the line would be taken for a username.
        self.encryption.new_session();
        if let Some(e2e) = self.encryption.device_mut() {
            e2e.connection_lost();
        }
        if unanswered.is_empty() {
            return;
        }
        let mut to: Vec<String> = Vec::new();
        for u in &unanswered {
            if u.seq != SILENT {
                show(
                    out,
                    Item::Outcome {
                        seq: u.seq,
                        outcome: Outcome::Unconfirmed,
                    },
                );
            }
            let name = conversation_name(&u.to);
            if !to.contains(&name) {
                to.push(name);
            }
        }
        show(
            out,
            Item::Warning(format!(
                "The connection was lost before the server answered {} of your messages (to {}): they may not have arrived. Look, and send again what did not.",
                unanswered.len(),
                to.join(", ")
            )),
        );
    }
}
