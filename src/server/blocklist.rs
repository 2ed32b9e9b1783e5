//! `block` and `unblock`. The blocked user is never told; the effects of a block are enforced where
//! messages, broadcasts, presence and private chats are decided.

use super::event::{ConnId, Effect};
use super::record::Record;
use super::state::{ServerState, UserId, send};
use crate::protocol::{CommandName, ErrorReply, ServerMsg};

impl ServerState {
    pub(crate) fn cmd_block(
        &mut self,
        conn: ConnId,
        me: UserId,
        name: &str,
        out: &mut Vec<Effect>,
    ) {
        let Some(target) = self.target(conn, me, name, CommandName::Block, out) else {
            return;
        };
        let user = self.user(target).name.clone();
        if !self.user_mut(me).blocks.insert(target) {
            send(out, conn, ErrorReply::AlreadyBlocked { user });
            return;
        }
        out.push(Effect::Persist(Record::Blocked {
            by: self.user(me).name.clone(),
            user: user.clone(),
        }));
        send(out, conn, ServerMsg::Blocked { user });
    }

    pub(crate) fn cmd_unblock(
        &mut self,
        conn: ConnId,
        me: UserId,
        name: &str,
        out: &mut Vec<Effect>,
    ) {
        let Some(target) = self.target(conn, me, name, CommandName::Unblock, out) else {
            return;
        };
        let user = self.user(target).name.clone();
        if !self.user_mut(me).blocks.remove(&target) {
            send(out, conn, ErrorReply::NotBlocked { user });
            return;
        }
        out.push(Effect::Persist(Record::Unblocked {
            by: self.user(me).name.clone(),
            user: user.clone(),
        }));
        send(out, conn, ServerMsg::Unblocked { user });
    }
}
