//! Groups in the model: `create group`, `message group`, `grouplist` and the `group` family: owners,
//! invitations, removal, topics, settings.

/// How long an invitation stands (the core's rule, written again): 7 days.
const INVITATION_MS: u64 = 7 * 24 * 3600 * 1000;
/// The most invitations one user may have waiting.
const MAX_INVITATIONS: usize = 20;
/// The longest topic, in characters.
const MAX_TOPIC: usize = 300;
/// The topic that clears the topic.
const CLEAR_TOPIC: &str = "-";

use std::collections::BTreeSet;

use super::messages::line_of;
use super::{MGroup, MInvite, MQueued, MStored, Model, Out};
use natter_core::protocol::name::check_group_name;
use natter_core::protocol::{CommandName, ErrorReply, GroupSetting, Name, ServerMsg};
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
        let mut invited: Vec<Name> = Vec::new();
        for m in members {
            let Some(m) = self.target(conn, me, m, CommandName::CreateGroup, out) else {
                return;
            };
            if self.blocks(&m, me) {
                out.send(conn, ErrorReply::BlockedBy { user: m });
                return;
            }
            if !invited.contains(&m) {
                invited.push(m);
            }
        }
        let group = Name::from(group);
        self.groups
            .insert(group.clone(), BTreeSet::from([me.clone()]));
        self.group_info.insert(
            group.clone(),
            MGroup {
                joined: vec![me.clone()],
                owner: me.clone(),
                open: false,
                add_direct: false,
                topic_by_members: false,
                topic: None,
            },
        );
        self.acknowledged_change();
        out.send(
            conn,
            ServerMsg::GroupCreated {
                group: group.clone(),
                members: vec![me.clone()],
            },
        );
        for m in invited {
            self.invite(conn, me, &group, &m, out);
        }
    }

    fn invite_stands(&self, invite: &MInvite) -> bool {
        self.now.as_millis() < invite.at.as_millis().saturating_add(INVITATION_MS)
    }

    fn standing_invite(&self, user: &Name, group: &str) -> Option<&MInvite> {
        self.invitations
            .get(user)
            .and_then(|i| i.get(group))
            .filter(|i| self.invite_stands(i))
    }

    fn invite(&mut self, conn: ConnId, me: &Name, group: &Name, user: &Name, out: &mut Out) {
        if self.standing_invite(user, group).is_some() {
            out.send(
                conn,
                ErrorReply::AlreadyInvited {
                    group: group.clone(),
                    user: user.clone(),
                },
            );
            return;
        }
        let now = self.now;
        let mine = self.invitations.entry(user.clone()).or_default();
        let before = mine.len();
        mine.retain(|_, i| now.as_millis() < i.at.as_millis().saturating_add(INVITATION_MS));
        let (pruned, count) = (mine.len() != before, mine.len());
        if pruned {
            self.acknowledged_change();
        }
        if count >= MAX_INVITATIONS {
            out.send(
                conn,
                ErrorReply::InvitationsFull {
                    user: user.clone(),
                    max: MAX_INVITATIONS,
                },
            );
            return;
        }
        self.invitations.entry(user.clone()).or_default().insert(
            group.clone(),
            MInvite {
                by: me.clone(),
                at: now,
            },
        );
        self.acknowledged_change();
        out.send(
            conn,
            ServerMsg::GroupInvited {
                group: group.clone(),
                user: user.clone(),
            },
        );
        if let Some(c) = self.user(user).conn {
            out.send(
                c,
                ServerMsg::GroupInvitation {
                    group: group.clone(),
                    by: me.clone(),
                    sent_at: now,
                },
            );
        }
    }

    /// At login: the standing invitations, except from users `me` blocks.
    pub(super) fn invitations_at_login(&self, conn: ConnId, me: &Name, out: &mut Out) {
        let Some(mine) = self.invitations.get(me) else {
            return;
        };
        for (group, i) in mine {
            if self.invite_stands(i) && !self.blocks(me, &i.by) {
                out.send(
                    conn,
                    ServerMsg::GroupInvitation {
                        group: group.clone(),
                        by: i.by.clone(),
                        sent_at: i.at,
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
        if !self.group_info[&group].add_direct {
            self.invite(conn, me, &group, &user, out);
            return;
        }
        let max = self.cfg.group_max_members;
        if self.groups[&group].len() >= max {
            out.send(conn, ErrorReply::GroupFull { group, max });
            return;
        }
        self.enter(&group, &user, me, false, out);
    }

    /// `user` joins `group`, added by `by` (themselves for an open group).
    /// `by_themselves`: with `group join` (accepting `by`'s invitation, or an open group), which
    /// the members are told as `user` joining, not as `by` adding them.
    fn enter(&mut self, group: &Name, user: &Name, by: &Name, by_themselves: bool, out: &mut Out) {
        if let Some(mine) = self.invitations.get_mut(user) {
            mine.remove(group);
        }
        self.groups
            .get_mut(group)
            .expect("a group")
            .insert(user.clone());
        self.group_info
            .get_mut(group)
            .expect("a group")
            .joined
            .push(user.clone());
        self.acknowledged_change();
        let msg = ServerMsg::GroupJoined {
            group: group.clone(),
            user: user.clone(),
            by: if by_themselves { user } else { by }.clone(),
        };
        let subjects = if by == user {
            vec![user.clone()]
        } else {
            vec![by.clone(), user.clone()]
        };
        self.tell_members(group, &subjects, &msg, out);
        let conn = self.user(user).conn;
        if by != user
            && self.blocks(user, by)
            && let Some(c) = conn
        {
            out.send(c, msg);
        }
        if let (Some(c), Some((topic, set_by))) = (conn, self.group_info[group].topic.clone()) {
            out.send(
                c,
                ServerMsg::GroupTopic {
                    group: group.clone(),
                    by: set_by,
                    topic,
                },
            );
        }
    }

    pub(super) fn group_join(&mut self, conn: ConnId, me: &Name, group: &str, out: &mut Out) {
        let Some((name, members)) = self.groups.get_key_value(group) else {
            out.send(
                conn,
                ErrorReply::NoSuchGroup {
                    group: group.to_owned(),
                },
            );
            return;
        };
        let name = name.clone();
        if members.contains(me) {
            out.send(
                conn,
                ErrorReply::AlreadyMember {
                    group: name,
                    user: me.clone(),
                },
            );
            return;
        }
        let by = match self.standing_invite(me, &name) {
            Some(i) => i.by.clone(),
            None if self.group_info[&name].open => me.clone(),
            None => {
                out.send(conn, ErrorReply::InviteOnly { group: name });
                return;
            }
        };
        let max = self.cfg.group_max_members;
        if self.groups[&name].len() >= max {
            out.send(conn, ErrorReply::GroupFull { group: name, max });
            return;
        }
        self.enter(&name, me, &by, true, out);
    }

    pub(super) fn group_decline(&mut self, conn: ConnId, me: &Name, group: &str, out: &mut Out) {
        let found = self
            .invitations
            .get(me)
            .and_then(|i| i.get_key_value(group))
            .filter(|(_, i)| self.invite_stands(i))
            .map(|(g, _)| g.clone());
        let Some(group) = found else {
            out.send(
                conn,
                ErrorReply::NoInvitation {
                    group: group.to_owned(),
                },
            );
            return;
        };
        if let Some(mine) = self.invitations.get_mut(me) {
            mine.remove(&group);
        }
        self.acknowledged_change();
        out.send(conn, ServerMsg::GroupDeclined { group });
    }

    fn owned_group(&self, conn: ConnId, me: &Name, group: &str, out: &mut Out) -> Option<Name> {
        let group = self.my_group(conn, me, group, out)?;
        if &self.group_info[&group].owner == me {
            return Some(group);
        }
        out.send(conn, ErrorReply::NotOwner { group });
        None
    }

    fn named_member(
        &self,
        conn: ConnId,
        me: &Name,
        group: &Name,
        user: &str,
        command: CommandName,
        out: &mut Out,
    ) -> Option<Name> {
        let user = self.target(conn, me, user, command, out)?;
        if !self.groups[group].contains(&user) {
            out.send(
                conn,
                ErrorReply::NotAMember {
                    group: group.clone(),
                    user,
                },
            );
            return None;
        }
        Some(user)
    }

    pub(super) fn group_remove(
        &mut self,
        conn: ConnId,
        me: &Name,
        group: &str,
        user: &str,
        reason: Option<&str>,
        out: &mut Out,
    ) {
        let Some(group) = self.owned_group(conn, me, group, out) else {
            return;
        };
        let Some(user) = self.named_member(conn, me, &group, user, CommandName::GroupRemove, out)
        else {
            return;
        };
        let msg = ServerMsg::GroupRemoved {
            group: group.clone(),
            user: user.clone(),
            by: me.clone(),
            reason: reason.unwrap_or("no reason given").to_owned(),
        };
        self.tell_members(&group, &[me.clone(), user.clone()], &msg, out);
        if self.blocks(&user, me)
            && let Some(c) = self.user(&user).conn
        {
            out.send(c, msg);
        }
        self.depart(&group, &user, out);
    }

    pub(super) fn group_topic(
        &mut self,
        conn: ConnId,
        me: &Name,
        group: &str,
        text: Option<&str>,
        out: &mut Out,
    ) {
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        let info = &self.group_info[&group];
        let Some(text) = text else {
            let msg = match info.topic.clone() {
                Some((topic, by)) => ServerMsg::GroupTopic { group, by, topic },
                None => ServerMsg::GroupNoTopic { group },
            };
            out.send(conn, msg);
            return;
        };
        if &info.owner != me && !info.topic_by_members {
            out.send(conn, ErrorReply::NotOwner { group });
            return;
        }
        if text.chars().count() > MAX_TOPIC {
            out.send(conn, ErrorReply::TopicTooLong { max: MAX_TOPIC });
            return;
        }
        let msg = if text == CLEAR_TOPIC {
            self.group_info.get_mut(&group).expect("my group").topic = None;
            ServerMsg::GroupNoTopic {
                group: group.clone(),
            }
        } else {
            self.group_info.get_mut(&group).expect("my group").topic =
                Some((text.to_owned(), me.clone()));
            ServerMsg::GroupTopic {
                group: group.clone(),
                by: me.clone(),
                topic: text.to_owned(),
            }
        };
        self.acknowledged_change();
        self.tell_members(&group, std::slice::from_ref(me), &msg, out);
    }

    pub(super) fn group_owner(
        &mut self,
        conn: ConnId,
        me: &Name,
        group: &str,
        user: &str,
        out: &mut Out,
    ) {
        let Some(group) = self.owned_group(conn, me, group, out) else {
            return;
        };
        let Some(user) = self.named_member(conn, me, &group, user, CommandName::GroupOwner, out)
        else {
            return;
        };
        self.group_info.get_mut(&group).expect("my group").owner = user.clone();
        self.new_owner(&group, &user, Some(me), out);
    }

    pub(super) fn group_set(
        &mut self,
        conn: ConnId,
        me: &Name,
        group: &str,
        setting: GroupSetting,
        out: &mut Out,
    ) {
        let Some(group) = self.owned_group(conn, me, group, out) else {
            return;
        };
        let info = self.group_info.get_mut(&group).expect("my group");
        match setting {
            GroupSetting::Open(v) => info.open = v,
            GroupSetting::AddDirect(v) => info.add_direct = v,
            GroupSetting::TopicByMembers(v) => info.topic_by_members = v,
        }
        let msg = ServerMsg::GroupMode {
            group: group.clone(),
            open: info.open,
            add_direct: info.add_direct,
            topic_by_members: info.topic_by_members,
        };
        self.acknowledged_change();
        self.tell_members(&group, std::slice::from_ref(me), &msg, out);
    }

    fn new_owner(&mut self, group: &Name, owner: &Name, by: Option<&Name>, out: &mut Out) {
        self.acknowledged_change();
        let subjects: Vec<Name> = by.into_iter().chain([owner]).cloned().collect();
        let msg = ServerMsg::GroupOwner {
            group: group.clone(),
            owner: owner.clone(),
        };
        self.tell_members(group, &subjects, &msg, out);
    }

    /// `user` leaves `group` (told already); an owner's place goes to the longest-standing member,
    /// and the last to leave takes the group and its invitations away.
    fn depart(&mut self, group: &Name, user: &Name, out: &mut Out) {
        let members = self.groups.get_mut(group).expect("a group");
        members.remove(user);
        let empty = members.is_empty();
        self.acknowledged_change();
        if empty {
            self.groups.remove(group);
            self.group_info.remove(group);
            for mine in self.invitations.values_mut() {
                mine.remove(group);
            }
            return;
        }
        let info = self.group_info.get_mut(group).expect("a group");
        info.joined.retain(|m| m != user);
        if &info.owner == user {
            let owner = info.joined[0].clone();
            info.owner = owner.clone();
            self.new_owner(group, &owner, None, out);
        }
    }

    /// `group leave`: the members (and the leaver) are told; the last one out takes the group away.
    pub(super) fn group_leave(&mut self, conn: ConnId, me: &Name, group: &str, out: &mut Out) {
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        // The simulator's clients leave without a reason.
        let msg = ServerMsg::GroupLeft {
            group: group.clone(),
            user: me.clone(),
            reason: String::new(),
        };
        self.tell_members(&group, std::slice::from_ref(me), &msg, out);
        self.depart(&group, me, out);
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

    /// `groups`: `me`'s groups and the open ones (the model has no `secret` rule: the simulator's
    /// clients never send `group rules`), each with its member count and topic, then the end.
    pub(super) fn group_directory(&self, conn: ConnId, me: &Name, out: &mut Out) {
        for (g, members) in &self.groups {
            let open = self.group_info.get(g).is_some_and(|i| i.open);
            if !open && !members.contains(me) {
                continue;
            }
            let topic = self
                .group_info
                .get(g)
                .and_then(|i| i.topic.as_ref())
                .map(|(t, _)| t.clone())
                .unwrap_or_default();
            out.send(
                conn,
                ServerMsg::GroupListed {
                    group: g.clone(),
                    members: members.len() as u64,
                    topic,
                },
            );
        }
        out.send(conn, ServerMsg::GroupsEnd);
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
