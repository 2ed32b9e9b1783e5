//! Presence in the model: who is told of a login or logout, `whoelse`, `whoelsesince`, `wholasthr`,
//! `ping`.

use super::{MPhase, Model, Out};
use natter_core::protocol::{CommandName, ErrorReply, Name, PingState, ServerMsg};
use natter_core::server::ConnId;

impl Model {
    /// Tells every other online user who neither blocks nor is blocked by `subject`.
    pub(super) fn announce(&self, subject: &Name, online: bool, out: &mut Out) {
        if self.shutting_down {
            return;
        }
        for (other, conn) in self.online() {
            if other != subject && !self.blocks(other, subject) && !self.blocks(subject, other) {
                out.send(
                    conn,
                    ServerMsg::Presence {
                        user: subject.clone(),
                        online,
                    },
                );
            }
        }
    }

    /// `whoelse`.
    pub(super) fn answer_whoelse(&self, conn: ConnId, me: &Name, out: &mut Out) {
        let users = self.whoelse(me);
        out.send(conn, ServerMsg::WhoElse { users });
    }

    /// `whoelsesince` (and `wholasthr`, which is `whoelsesince 3600`).
    pub(super) fn answer_whoelsesince(&self, conn: ConnId, me: &Name, secs: u64, out: &mut Out) {
        let users = self.whoelsesince(me, secs);
        out.send(conn, ServerMsg::WhoElseSince { secs, users });
    }

    /// `ping`: whether `user` is online (idle how long), and whether a message would be kept.
    pub(super) fn ping(&self, conn: ConnId, me: &Name, user: &str, out: &mut Out) {
        let Some(user) = self.target(conn, me, user, CommandName::Ping, out) else {
            return;
        };
        if self.blocks(&user, me) {
            out.send(conn, ErrorReply::BlockedBy { user });
            return;
        }
        let state = match self.user(&user).conn.map(|c| &self.conns[&c].phase) {
            Some(MPhase::Online { last_cmd, .. }) => PingState::Online {
                idle_secs: (self.now.as_millis() - last_cmd.as_millis()) / 1000,
            },
            _ => PingState::Offline {
                stored: self.mailbox_refusal(&user, me).is_none(),
            },
        };
        out.send(conn, ServerMsg::Ping { user, state });
    }

    /// The answer to `whoelse` for `me`.
    pub fn whoelse(&self, me: &str) -> Vec<Name> {
        let mut v: Vec<Name> = self
            .online()
            .map(|(n, _)| n.clone())
            .filter(|n| &**n != me && !self.blocks(n, me))
            .collect();
        v.sort();
        v
    }

    /// The answer to `whoelsesince secs` for `me`: online now, or last seen at or after the cutoff.
    pub fn whoelsesince(&self, me: &str, secs: u64) -> Vec<Name> {
        let cutoff = self.now.minus_millis(secs.saturating_mul(1000));
        let mut v: Vec<Name> = self
            .users
            .iter()
            .filter(|(n, u)| {
                &***n != me
                    && !self.blocks(n, me)
                    && (u.conn.is_some() || u.last_logout.is_some_and(|t| t >= cutoff))
            })
            .map(|(n, _)| n.clone())
            .collect();
        v.sort();
        v
    }
}
