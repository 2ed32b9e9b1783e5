//! `block` and `unblock` in the model.

use super::{Model, Out};
use natter_core::protocol::{CommandName, ErrorReply, Name, ServerMsg};
use natter_core::server::ConnId;

impl Model {
    /// `block`: blocking discards what the blocked user left for the blocker, written or not.
    pub(super) fn block(&mut self, conn: ConnId, me: &Name, user: &str, out: &mut Out) {
        let Some(user) = self.target(conn, me, user, CommandName::Block, out) else {
            return;
        };
        if self.user_mut(me).blocks.insert(user.clone()) {
            self.user_mut(me).queue.retain(|m| m.msg.from != user);
            self.acknowledged_change();
            out.send(conn, ServerMsg::Blocked { user });
        } else {
            out.send(conn, ErrorReply::AlreadyBlocked { user });
        }
    }

    /// `unblock`.
    pub(super) fn unblock(&mut self, conn: ConnId, me: &Name, user: &str, out: &mut Out) {
        let Some(user) = self.target(conn, me, user, CommandName::Unblock, out) else {
            return;
        };
        if self.user_mut(me).blocks.remove(&user) {
            self.acknowledged_change();
            out.send(conn, ServerMsg::Unblocked { user });
        } else {
            out.send(conn, ErrorReply::NotBlocked { user });
        }
    }
}
