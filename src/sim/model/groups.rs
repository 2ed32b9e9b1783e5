//! Groups in the model: `create group`, `message group`, `group add|leave|members`, `grouplist`.

use std::collections::BTreeSet;

use super::messages::line_of;
use super::{MQueued, MStored, Model, Out};
use natter_core::protocol::name::check_group_name;
use natter_core::protocol::{CommandName, ErrorReply, Name, ServerMsg};
use natter_core::server::ConnId;

impl Model {
    pub(super) fn create_group(
        &mut self,
        conn: ConnId,
        me: &Name,
        group: &str,
        members: &[&str],
        out: &mut Out,
    ) {
        if let Err(e) = check_group_name(group) {
            out.send(conn, ErrorReply::InvalidGroupName(e));
            return;
        }
        if let Some((g, _)) = self.groups.get_key_value(group) {
            out.send(conn, ErrorReply::GroupExists { group: g.clone() });
            return;
        }
        let mut added: Vec<Name> = Vec::new();
        for m in members {
            let Some(m) = self.target(conn, me, m, CommandName::CreateGroup, out) else {
                return;
            };
            if self.blocks(&m, me) {
                out.send(conn, ErrorReply::BlockedBy { user: m });
                return;
            }
            if !added.contains(&m) {
                added.push(m);
            }
        }
        let group = Name::from(group);
        let max = self.cfg.group_max_members;
        if added.len() + 1 > max {
            out.send(conn, ErrorReply::GroupFull { group, max });
            return;
        }
        let mut all: BTreeSet<Name> = added.iter().cloned().collect();
        all.insert(me.clone());
        self.groups.insert(group.clone(), all.clone());
        self.acknowledged_change();
        out.send(
            conn,
            ServerMsg::GroupCreated {
                group: group.clone(),
                members: all.into_iter().collect(),
            },
        );
        for m in added {
            if let Some(c) = self.user(&m).conn {
                out.send(
                    c,
                    ServerMsg::GroupJoined {
                        group: group.clone(),
                        user: m.clone(),
                        by: me.clone(),
                    },
                );
            }
        }
    }

    pub(super) fn message_group(
        &mut self,
        conn: ConnId,
        me: &Name,
        group: &str,
        text: &str,
        out: &mut Out,
    ) {
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        // One id for every member's copy.
        let id = self.take_id();
        let msg = MStored {
            id,
            from: me.clone(),
            group: Some(group.clone()),
            sent_at: self.now,
            text: text.to_owned(),
        };
        let (mut delivered, mut stored, mut skipped) = (0, 0, false);
        let mut now_to = Vec::new();
        for m in self.members_in_order(&group) {
            if &m == me {
                continue;
            }
            if self.blocks(&m, me) {
                skipped = true;
            } else if let Some(c) = self.user(&m).conn {
                if !self.queue_room(&m, me) {
                    skipped = true;
                    continue;
                }
                delivered += 1;
                if self.take_live(&m, c, msg.clone(), None).0 {
                    now_to.push(c);
                }
            } else if self.mailbox_refusal(&m, me).is_some() {
                skipped = true;
            } else {
                self.user_mut(&m).queue.push(MQueued {
                    msg: msg.clone(),
                    durable: true,
                    reply_to: None,
                });
                self.acknowledged_change();
                stored += 1;
            }
        }
        for c in now_to {
            out.send(
                c,
                line_of(&MQueued {
                    msg: msg.clone(),
                    durable: false,
                    reply_to: None,
                }),
            );
        }
        out.send(
            conn,
            ServerMsg::GroupSent {
                group,
                delivered,
                stored,
                skipped,
            },
        );
    }

    pub(super) fn group_add(
        &mut self,
        conn: ConnId,
        me: &Name,
        group: &str,
        user: &str,
        out: &mut Out,
    ) {
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        let Some((user, _)) = self.users.get_key_value(user) else {
            out.send(
                conn,
                ErrorReply::NoSuchUser {
                    user: user.to_owned(),
                },
            );
            return;
        };
        let user = user.clone();
        if self.groups[&group].contains(&user) {
            out.send(conn, ErrorReply::AlreadyMember { group, user });
            return;
        }
        if self.blocks(&user, me) {
            out.send(conn, ErrorReply::BlockedBy { user });
            return;
        }
        let max = self.cfg.group_max_members;
        if self.groups[&group].len() >= max {
            out.send(conn, ErrorReply::GroupFull { group, max });
            return;
        }
        self.groups
            .get_mut(&group)
            .expect("my group")
            .insert(user.clone());
        self.acknowledged_change();
        let msg = ServerMsg::GroupJoined {
            group: group.clone(),
            user: user.clone(),
            by: me.clone(),
        };
        self.tell_members(&group, &[me.clone(), user], &msg, out);
    }

    /// `group leave`: the members (and the leaver) are told; the last one out takes the group away.
    pub(super) fn group_leave(&mut self, conn: ConnId, me: &Name, group: &str, out: &mut Out) {
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        let members = self.groups.get_mut(&group).expect("my group");
        members.remove(me);
        if members.is_empty() {
            self.groups.remove(&group);
        }
        self.acknowledged_change();
        let msg = ServerMsg::GroupLeft {
            group: group.clone(),
            user: me.clone(),
        };
        self.tell_members(&group, std::slice::from_ref(me), &msg, out);
        out.send(conn, msg);
    }

    /// `group members`.
    pub(super) fn group_members(&self, conn: ConnId, me: &Name, group: &str, out: &mut Out) {
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        let members = self.groups[&group].iter().cloned().collect();
        out.send(conn, ServerMsg::GroupMembers { group, members });
    }

    /// `grouplist`: every group `me` is in, with its members.
    pub(super) fn group_list(&self, conn: ConnId, me: &Name, out: &mut Out) {
        let groups = self
            .groups
            .iter()
            .filter(|(_, m)| m.contains(me))
            .map(|(g, m)| (g.clone(), m.iter().cloned().collect()))
            .collect();
        out.send(conn, ServerMsg::GroupList { groups });
    }

    /// The group, if it exists and `me` is in it; otherwise answers why not.
    pub(super) fn my_group(
        &self,
        conn: ConnId,
        me: &Name,
        group: &str,
        out: &mut Out,
    ) -> Option<Name> {
        let Some((g, members)) = self.groups.get_key_value(group) else {
            out.send(
                conn,
                ErrorReply::NoSuchGroup {
                    group: group.to_owned(),
                },
            );
            return None;
        };
        if !members.contains(me) {
            out.send(conn, ErrorReply::NotMember { group: g.clone() });
            return None;
        }
        Some(g.clone())
    }

    /// The group's members in account-creation order (the order the core stores their copies in).
    pub(super) fn members_in_order(&self, group: &str) -> Vec<Name> {
        let members = &self.groups[group];
        self.order
            .iter()
            .filter(|n| members.contains(*n))
            .cloned()
            .collect()
    }

    /// `msg` to the group's online members, except those who block any of `subjects` (other than
    /// themselves).
    pub(super) fn tell_members(
        &self,
        group: &str,
        subjects: &[Name],
        msg: &ServerMsg,
        out: &mut Out,
    ) {
        let Some(members) = self.groups.get(group) else {
            return;
        };
        for m in members {
            // Who acted (the first subject) always hears of their own act.
            if subjects.first() != Some(m) && subjects.iter().any(|s| s != m && self.blocks(m, s)) {
                continue;
            }
            if let Some(c) = self.user(m).conn {
                out.send(c, msg.clone());
            }
        }
    }
}
