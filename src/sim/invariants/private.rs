//! Private-chat addresses (invariant 8): a user's address goes only to the requester it accepted,
//! once, with a fresh token both ends share.

use std::net::SocketAddr;

use super::{Checked, Invariants, Step, StepFacts, fail, name};
use crate::model::{MPhase, Model};
use natter_core::protocol::{Command, Name, ServerMsg};
use natter_core::server::ConnId;

impl Invariants {
    /// `PRIVATE-ACCEPTED` and `PRIVATE-EXPECT`: the address to the requester the acceptor accepted,
    /// a token never handed out before, and the same token to the acceptor.
    pub(super) fn on_private(
        &mut self,
        conn: ConnId,
        me: Option<&Name>,
        msg: &ServerMsg,
        facts: &StepFacts,
        step: &mut Step<'_>,
        model: &Model,
    ) -> Checked {
        match msg {
            ServerMsg::PrivateAccepted { peer, addr, token } => {
                self.check_accepted(facts, &step.cmd, me, peer, *addr, model)?;
                if !self.tokens.insert(token.0) {
                    return fail(
                        name::PRIVATE_ADDRESS,
                        format!("token {token} handed out twice"),
                    );
                }
                step.accepted = Some(conn);
                step.expected_token = Some((facts.conn, *token));
            }
            ServerMsg::PrivateExpect { token, .. }
                if step.expected_token != Some((Some(conn), *token)) =>
            {
                return fail(
                    name::PRIVATE_ADDRESS,
                    format!("{conn} expects token {token}, not the one its requester got"),
                );
            }
            _ => {}
        }
        Ok(())
    }

    /// The address of a private chat goes only to the requester, only when the target accepts.
    fn check_accepted(
        &self,
        facts: &StepFacts,
        cmd: &Option<Command<'_>>,
        requester: Option<&Name>,
        peer: &Name,
        addr: SocketAddr,
        model: &Model,
    ) -> Checked {
        let acceptor = match &facts.phase {
            Some(MPhase::Online { user, .. }) => Some(user),
            _ => None,
        };
        let accepted_whom = match cmd {
            Some(Command::Accept { user }) => Some(*user),
            _ => None,
        };
        let Some(requester) = requester else {
            return fail(
                name::PRIVATE_ADDRESS,
                format!("{peer}'s address sent to a connection not logged in"),
            );
        };
        if acceptor != Some(peer) || accepted_whom != Some(&**requester) {
            return fail(
                name::PRIVATE_ADDRESS,
                format!(
                    "{peer}'s address sent to {requester} without {peer} accepting {requester}"
                ),
            );
        }
        if !facts
            .offers
            .iter()
            .any(|o| &o.from == requester && &o.to == peer)
        {
            return fail(
                name::PRIVATE_ADDRESS,
                format!("{peer}'s address sent to {requester}, who had no pending request"),
            );
        }
        if model.blocks(peer, requester) {
            return fail(
                name::BLACKLIST,
                format!("{peer} blocks {requester}, yet {requester} got {peer}'s address"),
            );
        }
        let port = match &facts.phase {
            Some(MPhase::Online { p2p, .. }) => *p2p,
            _ => None,
        };
        let want = facts
            .peer
            .zip(port)
            .map(|(p, port)| SocketAddr::new(p.ip(), port));
        if want != Some(addr) {
            return fail(
                name::PRIVATE_ADDRESS,
                format!("{requester} got {addr} for {peer}, whose address is {want:?}"),
            );
        }
        Ok(())
    }
}

impl Step<'_> {
    /// An address given means a token expected, and none without the other.
    pub(super) fn private_done(&self) -> Checked {
        if self.accepted.is_some() != self.expected_token.is_some() {
            return fail(
                name::PRIVATE_ADDRESS,
                "PRIVATE-ACCEPTED without PRIVATE-EXPECT".into(),
            );
        }
        Ok(())
    }
}
