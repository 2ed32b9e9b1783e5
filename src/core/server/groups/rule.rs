//! Groups: `create group`, `message group`, `grouplist` and the `group` family (`add`, `join`,
//! `decline`, `leave`, `members`, `remove`, `topic`, `owner`, `mode`, `set`).
//!
//! A group message goes to every member but the sender, except members who have blocked the sender:
//! into the queue of those online (written at once, rendered once for all whose queue has nothing
//! waiting before it, like a broadcast), and stored for those offline, exactly like a direct message
//! (same queues, same acknowledgement; one id for every member's copy), so it survives restarts and
//! crashes and is delivered once, in order. The sender is told how many got it now and later, and
//! whether some members did not get it, never who.
//!
//! Who may do what: the creator owns the group. Any member may post, list the members, and invite
//! someone (or add them directly, if the owner lets members do so); the invited accept with `group
//! join` or decline; anyone may join an open group by name. Only the owner may remove a member, hand
//! the group on, change its settings, and (unless they let members) set its topic. Anyone may leave a
//! group they are in; an owner who leaves hands it to the longest-standing member, and the last to
//! leave ends it. Nobody can invite or add a user who has blocked them (who is not told of it), and
//! nothing about a user reaches a member who blocks that user.
//!
//! Invitations are kept durably, shown to an offline user at their next login, lapse after 7 days
//! ([`INVITATION_MS`](crate::server::groups::book::INVITATION_MS)), and a user holds at most [`MAX_INVITATIONS`] of them.

use crate::protocol::GroupSetting;
use crate::protocol::group_change::{CTCP_REQUEST_PREFIX, MUTE_PREFIX, mask_matches};
use crate::protocol::name::check_group_name;
use crate::protocol::{CommandName, ErrorReply, Name, ServerMsg};
use crate::server::arguments::named_user;
use crate::server::blocklist::blocks::Blocks;
use crate::server::config::Config;
use crate::server::connections::sessions::Sessions;
use crate::server::event::{ConnId, Effect, UserId, send};
use crate::server::groups::book::{
    CLEAR_TOPIC, GroupBook, Invitation, Left, MAX_INVITATIONS, MAX_TOPIC,
};
use crate::server::login::accounts::Accounts;
use crate::server::messages::delivery::{Delivery, Fresh, Taken};
use crate::server::messages::mailboxes::{Mailboxes, Queued};
use crate::server::messages::rule::mailbox_room;
use crate::server::record::Record;
use crate::time::Timestamp;

/// What the group commands touch: the groups, and for a group message what `message` touches.
pub(crate) struct Groups<'a> {
    pub(in crate::server) config: &'a Config,
    pub(in crate::server) accounts: &'a Accounts,
    pub(in crate::server) blocks: &'a Blocks,
    pub(in crate::server) sessions: &'a mut Sessions,
    pub(in crate::server) mailboxes: &'a mut Mailboxes,
    pub(in crate::server) book: &'a mut GroupBook,
}

impl Groups<'_> {
    /// Records a change to a group that must survive a restart, unless the group is one nothing of
    /// which is stored (a guest's: see `Group::unstored`). Every record names its group first.
    pub(super) fn record(&self, record: Record, out: &mut Vec<Effect>) {
        let unstored = record
            .group()
            .and_then(|g| self.book.group(g))
            .is_some_and(|g| g.unstored);
        if !unstored {
            out.push(Effect::Persist(record));
        }
    }

    /// `create group`: `me` owns the new group and is its one member; each user named is invited.
    pub(crate) fn create(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &str,
        members: &[&str],
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if let Err(e) = check_group_name(group) {
            send(out, conn, ErrorReply::InvalidGroupName(e));
            return;
        }
        if let Some(name) = self.book.name(group) {
            let group = name.clone();
            send(out, conn, ErrorReply::GroupExists { group });
            return;
        }
        let mut invited: Vec<UserId> = Vec::new();
        for &m in members {
            let Some(id) = named_user(self.accounts, conn, me, m, CommandName::CreateGroup, out)
            else {
                return;
            };
            if self.blocks.blocks(id, me) {
                send(
                    out,
                    conn,
                    ErrorReply::BlockedBy {
                        user: self.accounts.name(id).clone(),
                    },
                );
                return;
            }
            if !invited.contains(&id) {
                invited.push(id);
            }
        }
        let group = Name::from(group);
        self.book.create(group.clone(), [me]);
        if self.accounts.is_guest(me)
            && let Some(g) = self.book.group_mut(&group)
        {
            g.unstored = true;
        }
        let by = self.accounts.name(me).clone();
        self.record(
            Record::GroupCreated {
                group: group.clone(),
                by: by.clone(),
                members: vec![by.clone()],
            },
            out,
        );
        send(
            out,
            conn,
            ServerMsg::GroupCreated {
                group: group.clone(),
                members: vec![by],
            },
        );
        for id in invited {
            self.invite(conn, me, &group, id, now, out);
        }
    }

    /// Invites `user` to `group` (of which `me` is a member, and whom `user` does not block): told to
    /// `me` and, if online, to `user`.
    fn invite(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &Name,
        user: UserId,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let name = self.accounts.name(user).clone();
        if self
            .book
            .invitation(user, group)
            .is_some_and(|i| i.stands(now))
        {
            send(
                out,
                conn,
                ErrorReply::AlreadyInvited {
                    group: group.clone(),
                    user: name,
                },
            );
            return;
        }
        // Lapsed invitations make room before the count is taken.
        let lapsed: Vec<Name> = self
            .book
            .invitations_of(user)
            .filter(|(_, i)| !i.stands(now))
            .map(|(g, _)| g.clone())
            .collect();
        for g in lapsed {
            self.book.uninvite(&g, user);
            self.record(
                Record::InvitationEnded {
                    group: g,
                    user: name.clone(),
                },
                out,
            );
        }
        if self.book.invitations_of(user).count() >= MAX_INVITATIONS {
            send(
                out,
                conn,
                ErrorReply::InvitationsFull {
                    user: name,
                    max: MAX_INVITATIONS,
                },
            );
            return;
        }
        self.book
            .invite(group, user, Invitation { by: me, at: now });
        let by = self.accounts.name(me).clone();
        self.record(
            Record::Invited {
                group: group.clone(),
                user: name.clone(),
                by: by.clone(),
                at: now,
            },
            out,
        );
        send(
            out,
            conn,
            ServerMsg::GroupInvited {
                group: group.clone(),
                user: name,
            },
        );
        if let Some(c) = self.sessions.session_of(user) {
            send(
                out,
                c,
                ServerMsg::GroupInvitation {
                    group: group.clone(),
                    by,
                    sent_at: now,
                },
            );
        }
    }

    /// At login: the invitations waiting for `me` that still stand, except from users `me` blocks.
    pub(crate) fn invitations_at_login(
        &self,
        conn: ConnId,
        me: UserId,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        for (group, i) in self.book.invitations_of(me) {
            if i.stands(now) && !self.blocks.blocks(me, i.by) {
                send(
                    out,
                    conn,
                    ServerMsg::GroupInvitation {
                        group: group.clone(),
                        by: self.accounts.name(i.by).clone(),
                        sent_at: i.at,
                    },
                );
            }
        }
    }

    /// The group `group`, if `me` may act in it: it exists and `me` is a member.
    pub(super) fn my_group(
        &self,
        conn: ConnId,
        me: UserId,
        group: &str,
        out: &mut Vec<Effect>,
    ) -> Option<Name> {
        let Some(name) = self.book.name(group) else {
            send(
                out,
                conn,
                ErrorReply::NoSuchGroup {
                    group: group.to_owned(),
                },
            );
            return None;
        };
        if !self.book.is_member(group, me) {
            send(
                out,
                conn,
                ErrorReply::NotMember {
                    group: name.clone(),
                },
            );
            return None;
        }
        Some(name.clone())
    }

    pub(crate) fn message(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &str,
        text: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(group) = self.postable_group(conn, me, group, out) else {
            return;
        };
        let g = self.book.group(&group).expect("the group exists");
        if g.rules.no_ctcp && text.starts_with(CTCP_REQUEST_PREFIX) {
            send(out, conn, ErrorReply::CannotPost { group });
            return;
        }
        let from = self.accounts.name(me).clone();
        let members: Vec<UserId> = self
            .book
            .members(&group)
            .map(|m| m.iter().copied().filter(|&m| m != me).collect())
            .unwrap_or_default();
        // One id for every member's copy: ids need only grow within each queue, and one id lets the
        // line be rendered once for everyone it is written to now.
        let id = self.mailboxes.take_id(out);
        let mut fresh = Fresh::new(id, &from, Some(&group), now, text);
        let mut now_to = Vec::new();
        let (mut delivered, mut stored, mut skipped) = (0, 0, false);
        for m in members {
            if self.blocks.blocks(m, me) {
                skipped = true;
                continue;
            }
            let mut delivery = Delivery {
                config: self.config,
                accounts: self.accounts,
                blocks: self.blocks,
                sessions: self.sessions,
                mailboxes: self.mailboxes,
            };
            if let Some(c) = delivery.sessions.session_of(m) {
                if !delivery.has_room(m, &from) {
                    skipped = true;
                    continue;
                }
                delivered += 1;
                // No receipts for a group message: its sender hears `GROUP-SENT` once, not one line
                // per member.
                if let Taken::Now { .. } = delivery.take(m, c, &mut fresh, None, out) {
                    now_to.push(c);
                }
            } else if mailbox_room(self.config, self.mailboxes, m, &from, self.accounts.name(m))
                .is_err()
            {
                skipped = true;
            } else {
                let msg = fresh.stored();
                self.mailboxes.push(
                    m,
                    Queued {
                        msg,
                        durable: true,
                        reply_to: None,
                    },
                );
                out.push(Effect::Persist(Record::MessageStored {
                    id,
                    to: self.accounts.name(m).clone(),
                    from: from.clone(),
                    group: Some(group.clone()),
                    sent_at: now,
                    text: text.to_owned(),
                }));
                stored += 1;
            }
        }
        if !now_to.is_empty() {
            out.push(Effect::SendMany {
                to: now_to,
                msg: ServerMsg::GroupMessage {
                    id,
                    sent_at: now,
                    group: group.clone(),
                    from,
                    text: text.to_owned(),
                },
            });
        }
        send(
            out,
            conn,
            ServerMsg::GroupSent {
                group,
                delivered,
                stored,
                skipped,
            },
        );
    }

    /// The group, if `me` may post to it: a member (or anyone, if it takes non-members' messages),
    /// and, if it is moderated or bans `me`, an operator or voiced. Otherwise answers why not.
    fn postable_group(
        &self,
        conn: ConnId,
        me: UserId,
        group: &str,
        out: &mut Vec<Effect>,
    ) -> Option<Name> {
        let external = self.book.group(group).is_some_and(|g| g.rules.external);
        let name = if external {
            self.book.name(group).cloned()?
        } else {
            self.my_group(conn, me, group, out)?
        };
        let g = self.book.group(&name).expect("the group exists");
        let banned = self.banned(g, me) || self.muted(g, me);
        if (g.rules.moderated || banned) && !g.has_voice(me) {
            send(out, conn, ErrorReply::CannotPost { group: name });
            return None;
        }
        Some(name)
    }

    /// Whether one of the group's ban masks (not a mute's) matches `user`'s name, and none of its
    /// exceptions (not a mute's) does.
    pub(super) fn banned(&self, g: &crate::server::groups::book::Group, user: UserId) -> bool {
        let name = self.accounts.name(user);
        let plain = |m: &&String| !m.starts_with(MUTE_PREFIX);
        let hits = |masks: &[String]| masks.iter().filter(plain).any(|m| mask_matches(m, name));
        hits(&g.rules.bans) && !hits(&g.rules.exceptions)
    }

    /// Whether one of the group's mutes (ban masks `m:<mask>`) matches `user`'s name, and none of
    /// its mute exceptions (`except m:<mask>`) does.
    fn muted(&self, g: &crate::server::groups::book::Group, user: UserId) -> bool {
        let name = self.accounts.name(user);
        let hits = |masks: &[String]| {
            masks
                .iter()
                .filter_map(|m| m.strip_prefix(MUTE_PREFIX))
                .any(|m| mask_matches(m, name))
        };
        hits(&g.rules.bans) && !hits(&g.rules.exceptions)
    }

    /// `group add`: an invitation, or a direct add if the owner lets members add directly.
    pub(crate) fn add(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &str,
        user: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        let Some(id) = self.accounts.find(user) else {
            send(
                out,
                conn,
                ErrorReply::NoSuchUser {
                    user: user.to_owned(),
                },
            );
            return;
        };
        let user = self.accounts.name(id).clone();
        if self.book.is_member(&group, id) {
            send(out, conn, ErrorReply::AlreadyMember { group, user });
            return;
        }
        if self.blocks.blocks(id, me) {
            send(out, conn, ErrorReply::BlockedBy { user });
            return;
        }
        if !self.book.group(&group).is_some_and(|g| g.add_direct) {
            self.invite(conn, me, &group, id, now, out);
            return;
        }
        let max = self.config.group_max_members;
        if self.book.members(&group).map_or(0, |m| m.len()) >= max {
            send(out, conn, ErrorReply::GroupFull { group, max });
            return;
        }
        self.enter(&group, id, me, false, out);
    }

    /// `user` joins `group`, added by `by` (themselves, for an open group): recorded (their
    /// invitation spent), told to the members, and the topic to `user`. `by_themselves`: they
    /// joined with `group join` (accepting `by`'s invitation, or an open group), so the members are
    /// told `user` joined, not that `by` added them.
    fn enter(
        &mut self,
        group: &Name,
        user: UserId,
        by: UserId,
        by_themselves: bool,
        out: &mut Vec<Effect>,
    ) {
        let invited = self.book.invitation(user, group).is_some();
        self.book.join(group, user);
        let (name, by_name) = (
            self.accounts.name(user).clone(),
            self.accounts.name(by).clone(),
        );
        if invited {
            self.record(
                Record::InvitationEnded {
                    group: group.clone(),
                    user: name.clone(),
                },
                out,
            );
        }
        self.record(
            Record::GroupJoined {
                group: group.clone(),
                user: name.clone(),
                by: by_name.clone(),
            },
            out,
        );
        let msg = ServerMsg::GroupJoined {
            group: group.clone(),
            by: if by_themselves { name.clone() } else { by_name },
            user: name,
        };
        let subjects: &[UserId] = if by == user { &[user] } else { &[by, user] };
        self.tell_members(group, subjects, msg.clone(), out);
        // The one who joined hears it even if they block who invited them, so that their `group
        // join` has an answer.
        if by != user
            && self.blocks.blocks(user, by)
            && let Some(c) = self.sessions.session_of(user)
        {
            send(out, c, msg);
        }
        if let (Some(c), Some((topic, set_by))) = (
            self.sessions.session_of(user),
            self.book.group(group).and_then(|g| g.topic.clone()),
        ) {
            send(
                out,
                c,
                ServerMsg::GroupTopic {
                    group: group.clone(),
                    by: set_by,
                    topic,
                },
            );
        }
    }

    /// `group join`: accept a standing invitation, or join an open group (with its key, if it has
    /// one, and while it is under its limit); nobody its bans match may join.
    pub(crate) fn join(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &str,
        key: Option<&str>,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(name) = self.book.name(group).cloned() else {
            send(
                out,
                conn,
                ErrorReply::NoSuchGroup {
                    group: group.to_owned(),
                },
            );
            return;
        };
        if self.book.is_member(&name, me) {
            let user = self.accounts.name(me).clone();
            send(out, conn, ErrorReply::AlreadyMember { group: name, user });
            return;
        }
        let invitation = self.book.invitation(me, &name).filter(|i| i.stands(now));
        let g = self.book.group(&name).expect("the group exists");
        if self.banned(g, me) {
            send(out, conn, ErrorReply::BannedFromGroup { group: name });
            return;
        }
        let count = self.book.members(&name).map_or(0, |m| m.len());
        // An invitation lets one in whatever the key and the group's own limit.
        let by = match invitation {
            Some(i) => i.by,
            None if !g.open
                && !g
                    .rules
                    .allowed
                    .iter()
                    .any(|m| mask_matches(m, self.accounts.name(me))) =>
            {
                send(out, conn, ErrorReply::InviteOnly { group: name });
                return;
            }
            None if g.rules.key.is_some() && g.rules.key.as_deref() != key => {
                send(out, conn, ErrorReply::WrongKey { group: name });
                return;
            }
            None if g.rules.limit.is_some_and(|l| count >= l as usize) => {
                let max = g.rules.limit.unwrap_or_default() as usize;
                send(out, conn, ErrorReply::GroupFull { group: name, max });
                return;
            }
            None => me,
        };
        let max = self.config.group_max_members;
        if count >= max {
            send(out, conn, ErrorReply::GroupFull { group: name, max });
            return;
        }
        self.enter(&name, me, by, true, out);
    }

    /// A guest goes: every invitation it received or made ends, recorded as for a decline, so none
    /// outlives it (nor passes, after a restart, to an account that later takes its name).
    pub(crate) fn end_invitations(&mut self, user: UserId, out: &mut Vec<Effect>) {
        for (group, invited) in self.book.invitations_touching(user) {
            self.book.uninvite(&group, invited);
            self.record(
                Record::InvitationEnded {
                    group,
                    user: self.accounts.name(invited).clone(),
                },
                out,
            );
        }
    }

    /// `group decline`: forget a standing invitation; nobody else is told.
    pub(crate) fn decline(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let found = self
            .book
            .invitations_of(me)
            .find(|(g, i)| g.as_ref() == group && i.stands(now))
            .map(|(g, _)| g.clone());
        let Some(group) = found else {
            send(
                out,
                conn,
                ErrorReply::NoInvitation {
                    group: group.to_owned(),
                },
            );
            return;
        };
        self.book.uninvite(&group, me);
        self.record(
            Record::InvitationEnded {
                group: group.clone(),
                user: self.accounts.name(me).clone(),
            },
            out,
        );
        send(out, conn, ServerMsg::GroupDeclined { group });
    }

    /// The group, if `me` is a member and owns it; otherwise answers why not.
    fn owned_group(
        &self,
        conn: ConnId,
        me: UserId,
        group: &str,
        out: &mut Vec<Effect>,
    ) -> Option<Name> {
        let group = self.my_group(conn, me, group, out)?;
        if self.book.group(&group).is_some_and(|g| g.owner() == me) {
            return Some(group);
        }
        send(out, conn, ErrorReply::NotOwner { group });
        None
    }

    /// The group, if `me` is a member and one of its operators (the owner or one they made);
    /// otherwise answers why not.
    pub(super) fn operated_group(
        &self,
        conn: ConnId,
        me: UserId,
        group: &str,
        out: &mut Vec<Effect>,
    ) -> Option<Name> {
        let group = self.my_group(conn, me, group, out)?;
        if self.book.group(&group).is_some_and(|g| g.is_operator(me)) {
            return Some(group);
        }
        send(out, conn, ErrorReply::NotOwner { group });
        None
    }

    /// A member of `group` named by its owner `me`, other than `me`.
    fn named_member(
        &self,
        conn: ConnId,
        me: UserId,
        group: &Name,
        user: &str,
        command: CommandName,
        out: &mut Vec<Effect>,
    ) -> Option<UserId> {
        let id = named_user(self.accounts, conn, me, user, command, out)?;
        if !self.book.is_member(group, id) {
            send(
                out,
                conn,
                ErrorReply::NotAMember {
                    group: group.clone(),
                    user: self.accounts.name(id).clone(),
                },
            );
            return None;
        }
        Some(id)
    }

    /// `group remove`: an operator takes a member out (another operator, even the owner, whose
    /// group passes on as when they leave); they and the members are told, with the reason.
    pub(crate) fn remove(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &str,
        user: &str,
        reason: Option<&str>,
        out: &mut Vec<Effect>,
    ) {
        let Some(group) = self.operated_group(conn, me, group, out) else {
            return;
        };
        let Some(id) = self.named_member(conn, me, &group, user, CommandName::GroupRemove, out)
        else {
            return;
        };
        let msg = ServerMsg::GroupRemoved {
            group: group.clone(),
            user: self.accounts.name(id).clone(),
            by: self.accounts.name(me).clone(),
            reason: reason.unwrap_or("no reason given").to_owned(),
        };
        // Told before leaving, so the one removed hears it too; they hear it even if they block the
        // owner, or they would not know why the group went quiet.
        self.tell_members(&group, &[me, id], msg.clone(), out);
        if self.blocks.blocks(id, me)
            && let Some(c) = self.sessions.session_of(id)
        {
            send(out, c, msg);
        }
        self.depart(&group, id, out);
    }

    /// `group topic`: show the topic, or set it (the owner, or any member if the owner allows); `-`
    /// clears it, kept as an empty topic, which is none.
    pub(crate) fn topic(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &str,
        text: Option<&str>,
        out: &mut Vec<Effect>,
    ) {
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        let g = self.book.group(&group).expect("my group");
        let Some(text) = text else {
            let msg = match g.topic.clone() {
                Some((topic, by)) => ServerMsg::GroupTopic { group, by, topic },
                None => ServerMsg::GroupNoTopic { group },
            };
            send(out, conn, msg);
            return;
        };
        if !g.is_operator(me) && !g.topic_by_members {
            send(out, conn, ErrorReply::NotOwner { group });
            return;
        }
        if text.chars().count() > MAX_TOPIC {
            send(out, conn, ErrorReply::TopicTooLong { max: MAX_TOPIC });
            return;
        }
        let text = if text == CLEAR_TOPIC { "" } else { text };
        let by = self.accounts.name(me).clone();
        if let Some(g) = self.book.group_mut(&group) {
            g.topic = (!text.is_empty()).then(|| (text.to_owned(), by.clone()));
        }
        self.record(
            Record::GroupTopicSet {
                group: group.clone(),
                topic: text.to_owned(),
                by: by.clone(),
            },
            out,
        );
        let msg = if text.is_empty() {
            ServerMsg::GroupNoTopic {
                group: group.clone(),
            }
        } else {
            ServerMsg::GroupTopic {
                group: group.clone(),
                by,
                topic: text.to_owned(),
            }
        };
        self.tell_members(&group, &[me], msg, out);
    }

    /// `group owner`: the owner hands the group on to another member.
    pub(crate) fn hand_on(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &str,
        user: &str,
        out: &mut Vec<Effect>,
    ) {
        let Some(group) = self.owned_group(conn, me, group, out) else {
            return;
        };
        let Some(id) = self.named_member(conn, me, &group, user, CommandName::GroupOwner, out)
        else {
            return;
        };
        self.book.set_owner(&group, id);
        self.new_owner(&group, id, Some(me), out);
    }

    /// `group mode` and `group set`: an operator changes a setting; the members are told.
    pub(crate) fn set(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &str,
        setting: GroupSetting,
        out: &mut Vec<Effect>,
    ) {
        let Some(group) = self.operated_group(conn, me, group, out) else {
            return;
        };
        let g = self.book.group_mut(&group).expect("my group");
        g.apply(setting);
        let (open, add_direct, topic_by_members) = (g.open, g.add_direct, g.topic_by_members);
        self.record(
            Record::GroupModeSet {
                group: group.clone(),
                open,
                add_direct,
                topic_by_members,
            },
            out,
        );
        let msg = ServerMsg::GroupMode {
            group: group.clone(),
            open,
            add_direct,
            topic_by_members,
        };
        self.tell_members(&group, &[me], msg, out);
    }

    /// `owner` owns `group` now: recorded, and told to the members (`by`, who handed it on, first
    /// among those it is about).
    fn new_owner(
        &mut self,
        group: &Name,
        owner: UserId,
        by: Option<UserId>,
        out: &mut Vec<Effect>,
    ) {
        let name = self.accounts.name(owner).clone();
        self.record(
            Record::GroupOwnerSet {
                group: group.clone(),
                owner: name.clone(),
            },
            out,
        );
        let subjects: Vec<UserId> = by.into_iter().chain([owner]).collect();
        self.tell_members(
            group,
            &subjects,
            ServerMsg::GroupOwner {
                group: group.clone(),
                owner: name,
            },
            out,
        );
    }

    /// `user` leaves `group` (told already): recorded, and if they owned it, it is handed on.
    fn depart(&mut self, group: &Name, user: UserId, out: &mut Vec<Effect>) -> bool {
        let left = self.book.leave(group, user);
        if left == Left::NotMember {
            return false;
        }
        self.record(
            Record::GroupLeft {
                group: group.clone(),
                user: self.accounts.name(user).clone(),
            },
            out,
        );
        if let Left::NewOwner(owner) = left {
            self.new_owner(group, owner, None, out);
        }
        true
    }

    /// `group leave`: `me` leaves, and the members are told (with `reason`, if given).
    pub(crate) fn leave(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &str,
        reason: Option<&str>,
        out: &mut Vec<Effect>,
    ) {
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        let msg = ServerMsg::GroupLeft {
            group: group.clone(),
            user: self.accounts.name(me).clone(),
            reason: reason.unwrap_or_default().to_owned(),
        };
        self.tell_members(&group, &[me], msg, out);
        self.depart(&group, me, out);
    }

    /// The operator takes `user` out of `group` (they and the members are told, as for a leave);
    /// false if they were not in it.
    pub(crate) fn remove_member(
        &mut self,
        group: &Name,
        user: UserId,
        out: &mut Vec<Effect>,
    ) -> bool {
        if !self.book.is_member(group, user) {
            return false;
        }
        let msg = ServerMsg::GroupLeft {
            group: group.clone(),
            user: self.accounts.name(user).clone(),
            reason: String::new(),
        };
        // Told before leaving, so the one removed hears it too.
        self.tell_members(group, &[user], msg, out);
        self.depart(group, user, out)
    }

    pub(crate) fn members(&self, conn: ConnId, me: UserId, group: &str, out: &mut Vec<Effect>) {
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        let members = self.member_names(&group);
        send(out, conn, ServerMsg::GroupMembers { group, members });
    }

    pub(crate) fn list(&self, conn: ConnId, me: UserId, out: &mut Vec<Effect>) {
        let groups = self
            .book
            .groups_of(me)
            .map(|g| (g.clone(), self.member_names(g)))
            .collect();
        send(out, conn, ServerMsg::GroupList { groups });
    }

    fn member_names(&self, group: &str) -> Vec<Name> {
        let mut names: Vec<Name> = self
            .book
            .members(group)
            .into_iter()
            .flatten()
            .map(|&m| self.accounts.name(m).clone())
            .collect();
        names.sort();
        names
    }

    /// Sends `msg` about `subjects` (the first is who acted) to the group's online members, except those
    /// who block any of them: nothing of a user reaches someone who blocks them. Who acted always hears
    /// of their own act, even of adding someone they block: otherwise their command got no answer.
    pub(super) fn tell_members(
        &self,
        group: &str,
        subjects: &[UserId],
        msg: ServerMsg,
        out: &mut Vec<Effect>,
    ) {
        let to: Vec<ConnId> = self
            .book
            .members(group)
            .into_iter()
            .flatten()
            .filter(|&&m| {
                subjects.first() == Some(&m)
                    || !subjects.iter().any(|&s| s != m && self.blocks.blocks(m, s))
            })
            .filter_map(|&m| self.sessions.session_of(m))
            .collect();
        if !to.is_empty() {
            out.push(Effect::SendMany { to, msg });
        }
    }
}
