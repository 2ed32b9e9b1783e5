//! Brokering peer-to-peer private chats. The server never carries private text: it asks the target,
//! and only once the target accepts does the requester learn the target's address, with a one-time token
//! both ends share so the target can tell the requester from anyone else who connects.

use std::net::SocketAddr;

use crate::protocol::{CancelReason, CommandName, ErrorReply, ServerMsg};
use crate::server::arguments::named_user;
use crate::server::blocklist::blocks::Blocks;
use crate::server::config::Config;
use crate::server::connections::sessions::Sessions;
use crate::server::event::{ConnId, Effect, TimerId, UserId, send};
use crate::server::login::accounts::Accounts;
use crate::server::private::brokerage::Brokerage;
use crate::time::Timestamp;
use crate::timers::Timers;

/// What brokering touches: the requests and chats, each request's deadline, and the ports users'
/// clients listen on.
pub(crate) struct Brokering<'a> {
    pub(in crate::server) config: &'a Config,
    pub(in crate::server) accounts: &'a Accounts,
    pub(in crate::server) blocks: &'a Blocks,
    pub(in crate::server) sessions: &'a mut Sessions,
    pub(in crate::server) brokerage: &'a mut Brokerage,
    pub(in crate::server) timers: &'a mut Timers<TimerId>,
    /// Everyone is being disconnected: nobody is told of requests that end.
    pub(in crate::server) shutting_down: bool,
}

impl Brokering<'_> {
    pub(crate) fn p2pport(&mut self, conn: ConnId, port: u16, out: &mut Vec<Effect>) {
        self.sessions.set_p2p_port(conn, port);
        send(out, conn, ServerMsg::P2pPort { port });
    }

    fn p2p_port_of(&self, conn: ConnId) -> Option<u16> {
        self.sessions.session(conn).and_then(|s| s.p2p_port())
    }

    pub(crate) fn startprivate(
        &mut self,
        conn: ConnId,
        me: UserId,
        name: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let command = CommandName::StartPrivate;
        let Some(target) = named_user(self.accounts, conn, me, name, command, out) else {
            return;
        };
        let user = self.accounts.name(target).clone();
        if self.blocks.blocks(target, me) {
            send(out, conn, ErrorReply::BlockedBy { user });
            return;
        }
        let Some(target_conn) = self.sessions.session_of(target) else {
            send(out, conn, ErrorReply::Offline { user });
            return;
        };
        if self.p2p_port_of(target_conn).is_none() {
            send(out, conn, ErrorReply::NoP2p { user });
            return;
        }
        if self.brokerage.has_chat(me, target) {
            send(out, conn, ErrorReply::PrivateExists { user });
            return;
        }
        if self.brokerage.offer_between(me, target) {
            send(out, conn, ErrorReply::PrivatePending { user });
            return;
        }
        let id = self.brokerage.open_offer(me, target);
        let secs = self.config.private_answer_secs;
        self.timers.set(TimerId::Offer(id), now.plus_secs(secs));
        let from = self.accounts.name(me).clone();
        send(out, target_conn, ServerMsg::PrivateRequest { from, secs });
        send(out, conn, ServerMsg::PrivatePending { to: user, secs });
    }

    /// Removes the request from `requester` to `target`, if there is one, and its deadline.
    fn take_offer(&mut self, requester: UserId, target: UserId) -> bool {
        let Some(id) = self.brokerage.take_offer(requester, target) else {
            return false;
        };
        self.timers.cancel(TimerId::Offer(id));
        true
    }

    pub(crate) fn accept(&mut self, conn: ConnId, me: UserId, name: &str, out: &mut Vec<Effect>) {
        let Some(requester) = named_user(self.accounts, conn, me, name, CommandName::Accept, out)
        else {
            return;
        };
        let user = self.accounts.name(requester).clone();
        let requester_conn = self.sessions.session_of(requester);
        let (Some(requester_conn), true) =
            (requester_conn, self.brokerage.has_offer(requester, me))
        else {
            send(out, conn, ErrorReply::NoRequest { user });
            return;
        };
        if self.blocks.blocks(me, requester) {
            // Accepting would hand my address to someone I block.
            send(out, conn, ErrorReply::YouBlocked { user });
            return;
        }
        let Some(port) = self.p2p_port_of(conn) else {
            send(
                out,
                conn,
                ErrorReply::NoP2p {
                    user: self.accounts.name(me).clone(),
                },
            );
            return;
        };
        let Some(ip) = self.sessions.conn(conn).map(|c| c.peer().ip()) else {
            return;
        };
        self.take_offer(requester, me);
        self.brokerage.add_chat(me, requester);
        let token = self.brokerage.token();
        send(
            out,
            requester_conn,
            ServerMsg::PrivateAccepted {
                peer: self.accounts.name(me).clone(),
                addr: SocketAddr::new(ip, port),
                token,
            },
        );
        send(out, conn, ServerMsg::PrivateExpect { peer: user, token });
    }

    pub(crate) fn decline(&mut self, conn: ConnId, me: UserId, name: &str, out: &mut Vec<Effect>) {
        let Some(requester) = named_user(self.accounts, conn, me, name, CommandName::Decline, out)
        else {
            return;
        };
        let user = self.accounts.name(requester).clone();
        if !self.take_offer(requester, me) {
            send(out, conn, ErrorReply::NoRequest { user });
            return;
        }
        if let Some(requester_conn) = self.sessions.session_of(requester) {
            let peer = self.accounts.name(me).clone();
            send(out, requester_conn, ServerMsg::PrivateDeclined { peer });
        }
        send(out, conn, ServerMsg::PrivateDeclineSent { peer: user });
    }

    /// The client reports the private chat with `name` is over (either end may say so first).
    pub(crate) fn stopprivate(
        &mut self,
        conn: ConnId,
        me: UserId,
        name: &str,
        out: &mut Vec<Effect>,
    ) {
        let command = CommandName::StopPrivate;
        let Some(other) = named_user(self.accounts, conn, me, name, command, out) else {
            return;
        };
        let peer = self.accounts.name(other).clone();
        if !self.brokerage.end_chat(me, other) {
            send(out, conn, ErrorReply::NoSession { user: peer });
            return;
        }
        send(out, conn, ServerMsg::PrivateEnded { peer });
    }

    /// The request numbered `id` was not answered in time: both sides are told.
    pub(crate) fn offer_expired(&mut self, id: u64, out: &mut Vec<Effect>) {
        let Some((requester, target)) = self.brokerage.take_offer_by_id(id) else {
            return;
        };
        self.tell_cancelled(requester, target, CancelReason::Timeout, out);
        self.tell_cancelled(target, requester, CancelReason::Timeout, out);
    }

    fn tell_cancelled(
        &self,
        whom: UserId,
        peer: UserId,
        reason: CancelReason,
        out: &mut Vec<Effect>,
    ) {
        if self.shutting_down {
            return;
        }
        if let Some(conn) = self.sessions.session_of(whom) {
            let peer = self.accounts.name(peer).clone();
            send(out, conn, ServerMsg::PrivateCancelled { peer, reason });
        }
    }

    /// `user` went offline: requests to or from them end (the other side is told), and the server forgets
    /// their private sessions (the peers learn it over the direct link).
    pub(crate) fn end_for(&mut self, user: UserId, out: &mut Vec<Effect>) {
        for (requester, target) in self.brokerage.offers_involving(user) {
            self.take_offer(requester, target);
            let other = if requester == user { target } else { requester };
            self.tell_cancelled(other, user, CancelReason::Offline, out);
        }
        self.brokerage.end_chats_of(user);
    }
}
