//! Private-chat brokering in the model: `p2pport`, `startprivate`, `accept`, `decline`,
//! `stopprivate`, and requests that time out or end with a session.

use std::net::SocketAddr;

use super::{ANY_TOKEN, MOffer, MPhase, Model, Out, pair};
use natter_core::protocol::{CancelReason, CommandName, ErrorReply, Name, ServerMsg};
use natter_core::server::ConnId;

impl Model {
    pub(super) fn start_private(&mut self, conn: ConnId, me: &Name, user: &str, out: &mut Out) {
        let Some(user) = self.target(conn, me, user, CommandName::StartPrivate, out) else {
            return;
        };
        if self.blocks(&user, me) {
            out.send(conn, ErrorReply::BlockedBy { user });
            return;
        }
        let Some(target_conn) = self.user(&user).conn else {
            out.send(conn, ErrorReply::Offline { user });
            return;
        };
        if self.p2p_port(target_conn).is_none() {
            out.send(conn, ErrorReply::NoP2p { user });
            return;
        }
        if self.privates.contains(&pair(me, &user)) {
            out.send(conn, ErrorReply::PrivateExists { user });
            return;
        }
        if self.offer_between(me, &user).is_some() || self.offer_between(&user, me).is_some() {
            out.send(conn, ErrorReply::PrivatePending { user });
            return;
        }
        let secs = self.cfg.private_answer_secs;
        let id = self.next_offer;
        self.next_offer += 1;
        self.offers.insert(
            id,
            MOffer {
                from: me.clone(),
                to: user.clone(),
                expires: self.now.plus_secs(secs),
            },
        );
        out.send(
            target_conn,
            ServerMsg::PrivateRequest {
                from: me.clone(),
                secs,
            },
        );
        out.send(conn, ServerMsg::PrivatePending { to: user, secs });
    }

    pub(super) fn accept(&mut self, conn: ConnId, me: &Name, user: &str, out: &mut Out) {
        let Some(requester) = self.target(conn, me, user, CommandName::Accept, out) else {
            return;
        };
        let (Some(requester_conn), Some(id)) = (
            self.user(&requester).conn,
            self.offer_between(&requester, me),
        ) else {
            out.send(conn, ErrorReply::NoRequest { user: requester });
            return;
        };
        if self.blocks(me, &requester) {
            out.send(conn, ErrorReply::YouBlocked { user: requester });
            return;
        }
        let Some(port) = self.p2p_port(conn) else {
            out.send(conn, ErrorReply::NoP2p { user: me.clone() });
            return;
        };
        self.offers.remove(&id);
        self.privates.insert(pair(me, &requester));
        let addr = SocketAddr::new(self.conns[&conn].peer.ip(), port);
        out.send(
            requester_conn,
            ServerMsg::PrivateAccepted {
                peer: me.clone(),
                addr,
                token: ANY_TOKEN,
            },
        );
        out.send(
            conn,
            ServerMsg::PrivateExpect {
                peer: requester,
                token: ANY_TOKEN,
            },
        );
    }

    pub(super) fn decline(&mut self, conn: ConnId, me: &Name, user: &str, out: &mut Out) {
        let Some(requester) = self.target(conn, me, user, CommandName::Decline, out) else {
            return;
        };
        let Some(id) = self.offer_between(&requester, me) else {
            out.send(conn, ErrorReply::NoRequest { user: requester });
            return;
        };
        self.offers.remove(&id);
        if let Some(rc) = self.user(&requester).conn {
            out.send(rc, ServerMsg::PrivateDeclined { peer: me.clone() });
        }
        out.send(conn, ServerMsg::PrivateDeclineSent { peer: requester });
    }

    /// `stopprivate`.
    pub(super) fn stop_private(&mut self, conn: ConnId, me: &Name, user: &str, out: &mut Out) {
        let Some(user) = self.target(conn, me, user, CommandName::StopPrivate, out) else {
            return;
        };
        if self.privates.remove(&pair(me, &user)) {
            out.send(conn, ServerMsg::PrivateEnded { peer: user });
        } else {
            out.send(conn, ErrorReply::NoSession { user });
        }
    }

    /// `p2pport`: the port of this session's private-chat listener.
    pub(super) fn set_p2p_port(&mut self, conn: ConnId, port: u16, out: &mut Out) {
        if let MPhase::Online { p2p, .. } = &mut self.conns.get_mut(&conn).unwrap().phase {
            *p2p = Some(port);
        }
        out.send(conn, ServerMsg::P2pPort { port });
    }

    /// The pending request from `from` to `to`, by id.
    pub fn offer_between(&self, from: &str, to: &str) -> Option<u64> {
        self.offers
            .iter()
            .find(|(_, o)| &*o.from == from && &*o.to == to)
            .map(|(&id, _)| id)
    }

    pub fn p2p_port(&self, conn: ConnId) -> Option<u16> {
        match &self.conns.get(&conn)?.phase {
            MPhase::Online { p2p, .. } => *p2p,
            _ => None,
        }
    }

    pub(super) fn expire_offer(&mut self, id: u64, out: &mut Out) {
        let o = self.offers.remove(&id).expect("due offer exists");
        self.tell_cancelled(&o.from, &o.to, CancelReason::Timeout, out);
        self.tell_cancelled(&o.to, &o.from, CancelReason::Timeout, out);
    }

    pub(super) fn tell_cancelled(
        &self,
        whom: &Name,
        peer: &Name,
        reason: CancelReason,
        out: &mut Out,
    ) {
        if self.shutting_down {
            return;
        }
        if let Some(conn) = self.user(whom).conn {
            out.send(
                conn,
                ServerMsg::PrivateCancelled {
                    peer: peer.clone(),
                    reason,
                },
            );
        }
    }
}
