//! Who is online, who was, and telling the others: sessions begin and end here.

use std::collections::BTreeSet;

use super::accounts::UserId;
use super::event::{ConnId, Effect, TimerId};
use super::record::Record;
use super::sessions::Session;
use super::state::{ServerState, send};
use crate::protocol::{Name, ServerMsg};
use crate::time::Timestamp;

impl ServerState {
    /// Makes `user` online on `conn`: welcome, stored messages (before anything else), then presence.
    pub(crate) fn begin_session(
        &mut self,
        conn: ConnId,
        user: UserId,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        self.accounts.succeeded(user);
        if let Some(c) = self.sessions.conn_mut(conn)
            && std::mem::take(&mut c.pending_login)
        {
            let key = super::addresses::AddressKey::of(c.peer);
            self.addresses.done_pending(key, now);
        }
        let name = self.name(user).clone();
        let delivered_up_to = self.mailboxes.newest(user);
        let waiting = self.mailboxes.messages(user).cloned().collect();
        self.sessions.begin(
            conn,
            Session {
                user,
                last_active: now,
                warned: None,
                receipts: false,
                p2p_port: None,
                delivered_up_to,
                waiting,
            },
        );
        let idle_at = self.idle_timer_at(now, false);
        self.timers.set(TimerId::Conn(conn), idle_at);
        out.push(Effect::Persist(Record::LoggedIn {
            user: name.clone(),
            at: now,
        }));
        send(out, conn, ServerMsg::Welcome { user: name.clone() });
        // (The mailbox holds nothing from users this user blocks: `block` discards it.)
        for m in self.mailboxes.messages(user) {
            send(
                out,
                conn,
                ServerMsg::OfflineMessage {
                    id: m.id,
                    sent_at: m.sent_at,
                    from: m.from.clone(),
                    group: m.group.clone(),
                    text: m.text.to_string(),
                },
            );
        }
        self.announce(user, true, out);
    }

    /// Ends `user`'s session (the connection is already closed in [`Sessions`](super::sessions)):
    /// history, presence, and any private-chat state that needed them online.
    pub(crate) fn end_session(&mut self, user: UserId, now: Timestamp, out: &mut Vec<Effect>) {
        let name = self.name(user).clone();
        self.history.logged_out(user, now);
        out.push(Effect::Persist(Record::LoggedOut {
            user: name,
            at: now,
        }));
        self.announce(user, false, out);
        self.end_private_for(user, out);
    }

    /// Tells every other online user that `subject` came or went, except where either has blocked the
    /// other: the subject hides from those it blocked, and nothing of the subject reaches a user who
    /// blocked it.
    fn announce(&self, subject: UserId, online: bool, out: &mut Vec<Effect>) {
        if self.shutting_down {
            return;
        }
        let to: Vec<ConnId> = self
            .sessions
            .online()
            .filter(|&(other, _)| other != subject && !self.blocks.either(subject, other))
            .map(|(_, conn)| conn)
            .collect();
        if !to.is_empty() {
            out.push(Effect::SendMany {
                to,
                msg: ServerMsg::Presence {
                    user: self.name(subject).clone(),
                    online,
                },
            });
        }
    }

    /// Names of `ids`, sorted, leaving out `me` and anyone who has blocked `me`.
    fn visible_names(&self, me: UserId, ids: impl Iterator<Item = UserId>) -> Vec<Name> {
        let mut names: Vec<Name> = ids
            .filter(|&other| other != me && !self.blocks(other, me))
            .map(|id| self.name(id).clone())
            .collect();
        names.sort();
        names
    }

    /// `ping <user>`: online (and idle how long) or not, and whether a message would reach them. It
    /// tells no more than `whoelse` and `message` do: a user who has blocked the asker is answered as
    /// `message` would answer, never as online.
    pub(crate) fn cmd_ping(
        &self,
        conn: ConnId,
        me: UserId,
        name: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(target) = self.target(conn, me, name, crate::protocol::CommandName::Ping, out)
        else {
            return;
        };
        let user = self.name(target).clone();
        if self.blocks(target, me) {
            send(out, conn, crate::protocol::ErrorReply::BlockedBy { user });
            return;
        }
        let state = match self
            .sessions
            .session_of(target)
            .and_then(|c| self.sessions.session(c))
        {
            Some(s) => crate::protocol::PingState::Online {
                idle_secs: now.millis_since(s.last_active) / 1000,
            },
            None => crate::protocol::PingState::Offline {
                stored: self
                    .mailbox_room(target, self.name(me), self.name(target))
                    .is_ok(),
            },
        };
        send(out, conn, ServerMsg::Ping { user, state });
    }

    pub(crate) fn cmd_whoelse(&self, conn: ConnId, me: UserId, out: &mut Vec<Effect>) {
        let users = self.visible_names(me, self.sessions.online().map(|(u, _)| u));
        send(out, conn, ServerMsg::WhoElse { users });
    }

    /// Users online now, plus those whose last session ended within the span. Reads only the part of
    /// the logout index inside the span.
    pub(crate) fn cmd_whoelsesince(
        &self,
        conn: ConnId,
        me: UserId,
        secs: u64,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let cutoff = now.minus_millis(secs.saturating_mul(1000));
        let recent = self.history.since(cutoff);
        let ids: BTreeSet<UserId> = self
            .sessions
            .online()
            .map(|(u, _)| u)
            .chain(recent)
            .collect();
        let users = self.visible_names(me, ids.into_iter());
        send(out, conn, ServerMsg::WhoElseSince { secs, users });
    }
}
