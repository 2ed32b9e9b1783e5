//! Blocking (invariant 3): nothing of a blocked user reaches the blocker, and a confirmed block
//! discards what the blocked user stored for the blocker.

use std::collections::BTreeSet;

use super::{Checked, Invariants, fail, name};
use crate::model::Model;
use natter_core::protocol::{Name, ServerMsg};
use natter_core::server::ConnId;

impl Invariants {
    /// No line carrying something of a user reaches a user who blocks them.
    pub(super) fn nothing_of_the_blocked(
        &self,
        conn: ConnId,
        me: Option<&Name>,
        msg: &ServerMsg,
        model: &Model,
    ) -> Checked {
        if let (Some(me), Some(from)) = (me, sender_of(msg))
            && model.blocks(me, from)
        {
            return fail(
                name::BLACKLIST,
                format!("{me} blocks {from}, yet {conn} ({me}) got {msg:?}"),
            );
        }
        Ok(())
    }

    /// `BLOCKED`: what the blocked user stored for the blocker is owed to nobody any more.
    pub(super) fn on_blocked(&mut self, conn: ConnId, me: Option<Name>, blocked: &Name) {
        // Blocking discards what the blocked user stored for the blocker: it is owed to
        // nobody any more.
        let me = me.expect("BLOCKED answers a logged-in user");
        let dropped: BTreeSet<u64> = self
            .stored
            .iter()
            .filter(|(_, f)| f.to == me && &f.from == blocked)
            .map(|((_, id), _)| *id)
            .collect();
        self.stored
            .retain(|_, f| !(f.to == me && &f.from == blocked));
        self.acked
            .retain(|_, f| !(f.to == me && &f.from == blocked));
        if let Some(s) = self.sessions.get_mut(&conn) {
            s.owed.retain(|id| !dropped.contains(id));
        }
        self.blocks.insert((me, blocked.clone()), true);
    }

    /// `UNBLOCKED`.
    pub(super) fn on_unblocked(&mut self, me: Option<Name>, user: &Name) {
        let me = me.expect("UNBLOCKED answers a logged-in user");
        self.blocks.insert((me, user.clone()), false);
    }
}

/// The user a line comes from, for the lines that carry something of one user to another.
fn sender_of(msg: &ServerMsg) -> Option<&Name> {
    match msg {
        ServerMsg::Message { from, .. }
        | ServerMsg::GroupMessage { from, .. }
        | ServerMsg::Broadcast { from, .. }
        | ServerMsg::OfflineMessage { from, .. }
        | ServerMsg::OfflineAgain { from, .. }
        | ServerMsg::PrivateRequest { from, .. } => Some(from),
        ServerMsg::Presence { user, .. } => Some(user),
        _ => None,
    }
}
