//! `realname <text>`: the real name shown beside a user's name (IRC's real name, which `SETNAME`
//! changes), told as `REALNAME` to the user and to those who see their presence (not where either
//! blocks the other), as away is, and kept with the session (what `who`, `whois` and `whowas` show).

use super::ServerState;
use crate::protocol::ServerMsg;
use crate::server::event::{ConnId, Effect, UserId};

impl ServerState {
    /// `realname <text>` from `me` on `conn`.
    pub(super) fn set_real_name(
        &mut self,
        conn: ConnId,
        me: UserId,
        text: &str,
        out: &mut Vec<Effect>,
    ) {
        let name = self.accounts.name(me).clone();
        self.sessions.set_realname(conn, &name, text);
        let mut to = vec![conn];
        to.extend(
            self.sessions
                .online()
                .filter(|&(other, _)| other != me && !self.blocks.either(me, other))
                .map(|(_, c)| c),
        );
        out.push(Effect::SendMany {
            to,
            msg: ServerMsg::RealName {
                user: name,
                text: text.to_owned(),
            },
        });
    }
}
