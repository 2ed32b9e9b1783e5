//! `groups`: the groups a user may see, theirs and others' (IRC's `LIST`). A group is shown to its
//! members always; to anyone else only while anyone may join it (open) and it is not `secret`. An
//! invite-only group is a circle its members were asked into, so its name is not told to strangers
//! (IRC would list a `+i` channel unless `+s`: a deliberate difference). Only a count of members and
//! the topic are shown, never who the members are.

use crate::protocol::ServerMsg;
use crate::server::event::{ConnId, Effect, UserId, send};
use crate::server::groups::rule::Groups;

impl Groups<'_> {
    /// `groups`: one `GROUP-LISTED` per group `me` may see, by name, then `GROUPS-END`.
    pub(crate) fn directory(&self, conn: ConnId, me: UserId, out: &mut Vec<Effect>) {
        for (name, g) in self.book.groups() {
            let member = self.book.is_member(name, me);
            if !member && (!g.open || g.rules.secret) {
                continue;
            }
            let members = self.book.members(name).map_or(0, |m| m.len()) as u64;
            let topic = g.topic.as_ref().map(|(t, _)| t.clone()).unwrap_or_default();
            send(
                out,
                conn,
                ServerMsg::GroupListed {
                    group: name.clone(),
                    members,
                    topic,
                },
            );
        }
        send(out, conn, ServerMsg::GroupsEnd);
    }
}
