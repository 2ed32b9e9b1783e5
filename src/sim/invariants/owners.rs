//! Groups with an owner, invitations and away (invariant 12): every live group has an owner who is one
//! of its members; nobody holds (or is sent) an invitation to a group they are in; nobody holds more
//! invitations than the limit; a handed-on group goes to a member; only a user online is told away.

use super::{Checked, Invariants, Seen, fail, name};
use crate::model::Model;
use natter_core::protocol::ServerMsg;
use natter_core::time::Timestamp;

/// The most invitations one user may hold (the core's limit, restated: the check must not trust it).
const MAX_INVITATIONS: usize = 20;

impl Invariants {
    /// After a step: the groups and invitations as the model keeps them (which the durable view ties to
    /// the core's), and the step's lines about owners, invitations and away.
    pub(super) fn groups_owned(&self, seen: &[(Timestamp, Seen)], model: &Model) -> Checked {
        for (group, members) in &model.groups {
            let Some(info) = model.group_info.get(group) else {
                return fail(name::GROUP_OWNERSHIP, format!("{group} has no owner"));
            };
            if !members.contains(&info.owner) {
                return fail(
                    name::GROUP_OWNERSHIP,
                    format!(
                        "{group} is owned by {}, who is not a member ({members:?})",
                        info.owner
                    ),
                );
            }
        }
        for (user, invitations) in &model.invitations {
            if invitations.len() > MAX_INVITATIONS {
                return fail(
                    name::GROUP_OWNERSHIP,
                    format!(
                        "{user} holds {} invitations, more than {MAX_INVITATIONS}",
                        invitations.len()
                    ),
                );
            }
            for group in invitations.keys() {
                if model.groups.get(group).is_some_and(|m| m.contains(user)) {
                    return fail(
                        name::GROUP_OWNERSHIP,
                        format!(
                            "{user} is a member of {group} and still holds an invitation to it"
                        ),
                    );
                }
            }
        }
        for (_, item) in seen {
            let Seen::Msg(conn, msg) = item else {
                continue;
            };
            let me = self.sessions.get(conn).map(|s| &s.user);
            match msg {
                ServerMsg::GroupInvitation { group, .. }
                    if me.is_some_and(|me| {
                        model.groups.get(group).is_some_and(|m| m.contains(me))
                    }) =>
                {
                    return fail(
                        name::GROUP_OWNERSHIP,
                        format!("{me:?}, a member of {group}, was sent an invitation to it"),
                    );
                }
                ServerMsg::GroupOwner { group, owner }
                    if !model.groups.get(group).is_some_and(|m| m.contains(owner)) =>
                {
                    return fail(
                        name::GROUP_OWNERSHIP,
                        format!(
                            "{conn} was told {owner} owns {group}, of which they are not a member"
                        ),
                    );
                }
                ServerMsg::PresenceAway { user, .. }
                    if model.users.get(user).is_none_or(|u| u.conn.is_none()) =>
                {
                    return fail(
                        name::GROUP_OWNERSHIP,
                        format!("{conn} was told {user} is away, but {user} is not online"),
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }
}
