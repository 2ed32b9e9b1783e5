//! Signals in the model: `signal` and `signal group`, what is no message (typing), delivered to the
//! recipients online who have not blocked the sender, and never kept.

use super::{Model, Out};
use natter_core::protocol::signal::is_signal;
use natter_core::protocol::{CommandName, ErrorReply, Name, ServerMsg};
use natter_core::server::ConnId;

impl Model {
    pub(super) fn signal(&mut self, conn: ConnId, me: &Name, to: &str, tags: &str, out: &mut Out) {
        if !is_signal(tags) {
            out.send(conn, ErrorReply::BadSignal);
            return;
        }
        let Some(to) = self.target(conn, me, to, CommandName::Signal, out) else {
            return;
        };
        let Some(target_conn) = self.user(&to).conn else {
            return;
        };
        if self.blocks(&to, me) {
            return;
        }
        let id = self.take_id();
        out.send(
            target_conn,
            ServerMsg::Signal {
                id,
                sent_at: self.now,
                from: me.clone(),
                tags: tags.to_owned(),
            },
        );
    }

    pub(super) fn signal_group(
        &mut self,
        conn: ConnId,
        me: &Name,
        group: &str,
        tags: &str,
        out: &mut Out,
    ) {
        if !is_signal(tags) {
            out.send(conn, ErrorReply::BadSignal);
            return;
        }
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        let to: Vec<ConnId> = self
            .members_in_order(&group)
            .into_iter()
            .filter(|m| m != me && !self.blocks(m, me))
            .filter_map(|m| self.user(&m).conn)
            .collect();
        if to.is_empty() {
            return;
        }
        let id = self.take_id();
        let msg = ServerMsg::GroupSignal {
            id,
            sent_at: self.now,
            group,
            from: me.clone(),
            tags: tags.to_owned(),
        };
        for c in to {
            out.send(c, msg.clone());
        }
    }
}
