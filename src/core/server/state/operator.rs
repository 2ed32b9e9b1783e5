//! What the server's operator may do from a session made theirs by `oper` (`login::oper`): `kill`,
//! the administrative kick (`natter-server admin kick`) typed in a session, and `wallops`, a word
//! to every operator online. Anyone else is answered `not-operator`.

use super::ServerState;
use crate::protocol::{ErrorReply, ServerMsg};
use crate::server::admin::Admin;
use crate::server::event::{ConnId, Effect, OperatorAct, UserId, send};
use crate::time::Timestamp;

impl ServerState {
    /// Whether the session on `conn` is the server's operator's.
    fn is_operator(&self, conn: ConnId) -> bool {
        self.sessions.session(conn).is_some_and(|s| s.operator())
    }

    /// `kill <user> [<reason>]` from `me` on `conn`: the operator's kick.
    pub(super) fn kill(
        &mut self,
        conn: ConnId,
        me: UserId,
        user: &str,
        reason: Option<&str>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if !self.is_operator(conn) {
            return send(out, conn, ErrorReply::NotOperator);
        }
        let Some(target) = self
            .find_user(user)
            .filter(|&id| self.sessions.session_of(id).is_some())
        else {
            let user = user.to_owned();
            return send(out, conn, ErrorReply::NoSuchUser { user });
        };
        let by = self.name(me).clone();
        // Told before the session ends, so that the log says who ended it before it says it ended.
        let act = OperatorAct::Killed {
            target: self.name(target).clone(),
        };
        out.push(Effect::OperatorDid {
            conn,
            user: by.clone(),
            act,
        });
        let reason = match reason {
            Some(reason) => format!("killed by {by}: {reason}"),
            None => format!("killed by {by}"),
        };
        let kick = Admin::Kick {
            user: user.to_owned(),
            reason,
        };
        if let Err(why) = self.admin(&kick, now, out) {
            tracing::debug!("kill {user}: {why}");
        }
    }

    /// `wallops <text>` from `me` on `conn`: to every operator online (the sender included).
    pub(super) fn wallops(&mut self, conn: ConnId, me: UserId, text: &str, out: &mut Vec<Effect>) {
        if !self.is_operator(conn) {
            return send(out, conn, ErrorReply::NotOperator);
        }
        let to: Vec<ConnId> = self
            .sessions
            .online()
            .map(|(_, c)| c)
            .filter(|&c| self.is_operator(c))
            .collect();
        let from = self.name(me).clone();
        out.push(Effect::OperatorDid {
            conn,
            user: from.clone(),
            act: OperatorAct::Wallops,
        });
        out.push(Effect::SendMany {
            to,
            msg: ServerMsg::Wallops {
                from,
                text: text.to_owned(),
            },
        });
    }
}
