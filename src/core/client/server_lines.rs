//! What the server said: each line decoded once, learnt from, and shown (or acted on); messages
//! shown once each and acknowledged in batches, only once what was shown is kept; the server's
//! goodbye, and its connection closing.

use super::display::{ClientError, EndReason, Item};
use super::event::{Effect, Exit, show, show_error};
use super::seen::Seen;
use super::state::{ACK_DELAY_MS, ClientState, Phase, Timer};
use crate::protocol::p2p::PeerBye;
use crate::protocol::{ByeReason, Command, ErrorReply, Name, ServerMsg, check_line, decode_line};
use crate::time::Timestamp;

impl ClientState {
    pub(super) fn on_server_line(&mut self, bytes: &[u8], out: &mut Vec<Effect>) {
        // The server filters control characters from what users send; checking again here means a
        // broken or hostile server cannot rewrite this terminal either.
        let msg = match check_line(bytes).map(decode_line) {
            // What others wrote is shown with any invisible or reordering character made visible.
            Ok(Ok(msg)) => super::reveal::reveal_msg(msg),
            Ok(Err(e)) => return show_error(out, ClientError::BadServerLine(e.to_string())),
            Err(e) => return show_error(out, ClientError::BadServerLine(e.to_string())),
        };
        self.learn_from(&msg);
        self.e2e_learn(&msg, out);
        if let Some(screen) = &mut self.screen {
            screen.learn(&msg, self.now);
        }
        // An error that answers one of the device's claims is not the answer to a message.
        if let ServerMsg::Error(e) = &msg
            && self.claim_refused(e, out)
        {
            return;
        }
        if self.config.echo_own || self.e2e.is_some() {
            let answer = self.outgoing.answer(&msg);
            if let Some(a) = &answer
                && self.config.echo_own
                && a.seq != super::outgoing::SILENT
            {
                show(
                    out,
                    Item::Outcome {
                        seq: a.seq,
                        outcome: a.outcome,
                    },
                );
            }
            if let ServerMsg::Error(ErrorReply::StaleKey { user }) = &msg
                && self.e2e.is_some()
            {
                // Said by the device's notes (the new key, what waits for it), not as an error.
                return self.on_stale(user, answer.and_then(|a| a.resend), out);
            }
        }
        if let Some(to) = msg.conversation()
            && matches!(
                msg,
                ServerMsg::Message { .. }
                    | ServerMsg::GroupMessage { .. }
                    | ServerMsg::OfflineMessage { .. }
            )
        {
            self.note_protection(&to, out);
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
                let encrypted = super::e2e::envelope::is_encrypted(text);
                if let Some(late) = self.received(id, sent_at, encrypted)
                    && let Some(item) = self.decrypt_shown(msg, late, out)
                {
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
            // Shown again on request: no redelivery check, no acknowledgement; an encrypted one from
            // this device's own store (the server has only its ciphertext).
            ServerMsg::OfflineAgain {
                id,
                sent_at,
                from,
                group,
                text,
            } => {
                let text = self.recall(id, &from, group.as_ref(), text);
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
            ServerMsg::P2pPort { .. } | ServerMsg::Sent { .. } | ServerMsg::Delivered { .. } => {}
            // Asked for by the client itself, for the full-screen nick lists: learnt above.
            ServerMsg::GroupList { .. } if self.quiet_grouplists > 0 => {
                self.quiet_grouplists -= 1;
            }
            ServerMsg::GroupMembers { group, .. } if self.quiet_members.contains(&group) => {
                self.quiet_members.remove(&group);
            }
            // Added to a group: its window's nick list needs all its members, which this line does
            // not name.
            ServerMsg::GroupJoined { group, user, by }
                if self.screen.is_some() && self.user() == Some(&user) =>
            {
                out.push(Effect::Send(
                    Command::GroupMembers { group: &group }.to_line(),
                ));
                self.quiet_members.insert(group.clone());
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
            // Everything else is shown as it came.
            other => show(out, other),
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
        let encrypted = super::e2e::envelope::is_encrypted(&text);
        let Some(late) = self.received(id, sent_at, encrypted) else {
            return;
        };
        match self.decrypt_offline(id, &from, group.as_ref(), text, out) {
            Ok(Some(text)) if late => show(
                out,
                Item::Offline {
                    from,
                    group,
                    text: format!("{} {text}", super::secure::LATE),
                    age_secs: self.now.millis_since(sent_at) / 1000,
                },
            ),
            Ok(Some(text)) => show(
                out,
                Item::Offline {
                    from,
                    group,
                    text,
                    age_secs: self.now.millis_since(sent_at) / 1000,
                },
            ),
            Ok(None) => {}
            Err(item) => show(out, *item),
        }
    }

    /// A message (live or stored) arrived: whether to show it (`Some(late)`), which is not if it is a
    /// redelivery of one already shown (a live message whose acknowledgement did not reach the
    /// server before the session ended comes again, stored, at the next login, with the same id and
    /// send time). Either way it is to be acknowledged: shortly, together with whatever else arrives
    /// meanwhile, once what was shown is remembered durably, so the server forgets nothing the user
    /// has not seen and this client shows nothing twice.
    ///
    /// What was shown is a per-id record, not only a high-water mark: in this session, the ids shown;
    /// across sessions, the newest shown (the state file), below which an encrypted message is still
    /// handed to the device, whose own per-id record (`e2e::dedup`) tells a redelivery from a message
    /// held back. So a message the server delays past later ones is shown (`late`), never taken for a
    /// redelivery and acknowledged unseen.
    fn received(&mut self, id: u64, sent_at: Timestamp, encrypted: bool) -> Option<bool> {
        let user = self.user().cloned()?;
        if self.unacked.is_none() {
            self.timers
                .set(Timer::Ack, self.now.plus_millis(ACK_DELAY_MS));
        }
        self.unacked = Some(self.unacked.map_or(id, |u| u.max(id)));
        let floor = *self
            .seen_floor
            .entry(user.clone())
            .or_insert_with(|| self.config.seen.get(&user).copied());
        let before_session = floor.is_some_and(|s| s.covers(id, sent_at));
        let late = self.shown_ids.is_late(id) || before_session;
        if self.shown_ids.insert(id, sent_at)
            || (before_session && !(encrypted && self.e2e.is_some()))
        {
            return None;
        }
        let shown = self.config.seen.get(&user).copied();
        if !shown.is_some_and(|s| s.covers(id, sent_at)) {
            self.config.seen.insert(user.clone(), Seen { id, sent_at });
            self.seen_unsaved = Some(user);
        }
        Some(late)
    }

    /// Saves what was shown, if that changed, then acknowledges everything received so far with one
    /// line (the server's `ack` is cumulative). Not while another device holds the account's keys:
    /// what arrived may be for that device, and the server keeps it for it only if this one does not
    /// acknowledge it.
    pub(super) fn acknowledge(&mut self, out: &mut Vec<Effect>) {
        self.save_seen(out);
        self.timers.cancel(Timer::Ack);
        if self.e2e.as_ref().is_some_and(|e| !e.may_acknowledge()) {
            return;
        }
        if let Some(id) = self.unacked.take()
            && matches!(self.phase, Phase::Online { .. })
        {
            out.push(Effect::Send(Command::Ack { id }.to_line()));
        }
    }

    /// Remembers durably the newest message shown (before any acknowledgement that covers it).
    pub(super) fn save_seen(&mut self, out: &mut Vec<Effect>) {
        if let Some(user) = self.seen_unsaved.take()
            && let Some(&seen) = self.config.seen.get(&user)
        {
            out.push(Effect::SaveSeen { user, seen });
        }
    }

    fn on_server_error(&mut self, e: ErrorReply, out: &mut Vec<Effect>) {
        if let ErrorReply::NoSession { user } = &e
            && self.chats.take_quiet_stop(user)
        {
            return;
        }
        if let ErrorReply::LineTooLong { max } = e {
            // This server's limit, if it is not the usual one: what is typed next is checked by it.
            self.line_limit = max;
        }
        if self.logging_in() && self.reconnect.relogin() {
            if e == ErrorReply::AlreadyOnline {
                // The session on the lost server is not over yet (a dead node's sessions end within
                // a bounded time, a vanished connection's at the keepalive's limit): this server
                // answers, so it is asked again shortly.
                return self.retry_here(out);
            }
            self.reconnect.stop_relogin();
            let server = self.reconnect.current().to_owned();
            self.connection_news(
                out,
                format!(
                    "Logging in again at {server} did not work; answer its questions to go on."
                ),
            );
        }
        // (`already-online` at login: the server asks for another username, and so does the client.)
        // `passwd` ends with a wrong current password (every other refusal of its lines is followed
        // by its prompt again), or at a server that does not know it; answers to earlier lines may
        // come meanwhile and change nothing.
        let passwd_ends = matches!(
            e,
            ErrorReply::WrongCurrentPassword | ErrorReply::UnknownCommand
        );
        show(out, e);
        if passwd_ends {
            self.passwd_over(out);
        }
    }

    fn on_bye(&mut self, reason: ByeReason, out: &mut Vec<Effect>) {
        // A server stopping (or cut off from its cluster) is a server lost, when the session can be
        // taken elsewhere (or back to it when it returns).
        if matches!(reason, ByeReason::Shutdown | ByeReason::Unavailable)
            && matches!(self.phase, Phase::Online { .. })
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

    pub(super) fn on_server_closed(&mut self, out: &mut Vec<Effect>) {
        // What was shown stays shown; its acknowledgement is lost with the connection, so the server
        // sends it again, and the saved record is what hides it then.
        self.save_seen(out);
        self.unacked = None;
        self.timers.cancel(Timer::Ack);
        if self.moving() {
            return self.retry_later("it closed the connection", out);
        }
        if matches!(self.phase, Phase::Online { .. }) && self.reconnect.can_move() {
            return self.move_server(out);
        }
        match self.phase {
            Phase::Connecting | Phase::Login { .. } => {
                show_error(out, ClientError::ServerClosedAtLogin);
                self.exit(Exit::ConnectionLost, out);
            }
            Phase::Online { .. } => {
                self.chats.end_all(PeerBye::Offline, out);
                show_error(out, ClientError::ServerLost);
                self.exit(Exit::ConnectionLost, out);
            }
            Phase::LoggingOut => {
                show(out, ServerMsg::Bye(ByeReason::Logout));
                self.exit(Exit::LoggedOut, out);
            }
            Phase::Reconnecting { .. } | Phase::Distrusted { .. } | Phase::Done => {}
        }
    }
}
