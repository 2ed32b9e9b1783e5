//! Presence and `whoelse` (invariants 6 and 7): each login and logout is told once to exactly the
//! online users who neither block nor are blocked by its subject, and `whoelse` and `whoelsesince`
//! answer what the model says.

use super::{Checked, Invariants, Step, fail, name};
use crate::model::Model;
use natter_core::protocol::{Name, ServerMsg};
use natter_core::server::ConnId;

impl Step<'_> {
    /// Each online user who neither blocks nor is blocked by `subject` is owed one notice.
    pub(super) fn expect_presence(&mut self, subject: &Name, up: bool, model: &Model) {
        for (conn, other) in &self.online {
            if other != subject && !model.blocks(other, subject) && !model.blocks(subject, other) {
                *self
                    .expected_presence
                    .entry((*conn, subject.clone(), up))
                    .or_default() += 1;
            }
        }
    }

    /// A presence notice the server sent.
    pub(super) fn presence_seen(&mut self, conn: ConnId, user: &Name, online: bool) {
        *self
            .seen_presence
            .entry((conn, user.clone(), online))
            .or_default() += 1;
    }

    /// Every notice owed was sent, once, and no other.
    pub(super) fn presence_done(&self) -> Checked {
        if self.expected_presence != self.seen_presence {
            return fail(
                name::PRESENCE,
                format!(
                    "presence notices (conn, subject, online) x count: want {:?}, got {:?}",
                    self.expected_presence, self.seen_presence
                ),
            );
        }
        Ok(())
    }
}

impl Invariants {
    /// `WHOELSE` and `WHOELSESINCE`: what the model says.
    pub(super) fn on_whoelse(&self, me: Option<Name>, msg: &ServerMsg, model: &Model) -> Checked {
        match msg {
            ServerMsg::WhoElse { users } => {
                let me = me.expect("whoelse answers a logged-in user");
                let want = model.whoelse(&me);
                if users != &want {
                    return fail(
                        name::WHOELSE,
                        format!("whoelse for {me}: got {users:?}, want {want:?}"),
                    );
                }
            }
            ServerMsg::WhoElseSince { secs, users } => {
                let me = me.expect("whoelsesince answers a logged-in user");
                let want = model.whoelsesince(&me, *secs);
                if users != &want {
                    return fail(
                        name::WHOELSE,
                        format!("whoelsesince {secs} for {me}: got {users:?}, want {want:?}"),
                    );
                }
            }
            _ => {}
        }
        Ok(())
    }
}
