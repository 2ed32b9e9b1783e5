//! Groups: `create group`, `message group`, `group add`, `group leave`, `group members`, `grouplist`.
//!
//! A group message goes to every member but the sender, except members who have blocked the sender:
//! into the queue of those online (written at once, rendered once for all whose queue has nothing
//! waiting before it, like a broadcast), and stored for those offline, exactly like a direct message
//! (same queues, same acknowledgement; one id for every member's copy), so it survives restarts and
//! crashes and is delivered once, in order. The sender is told how many got it now and later, and
//! whether some members did not get it, never who.
//!
//! Who may do what: any member may post, list the members, and add someone; anyone may leave a group
//! they are in; the creator has no special power (a group belongs to its members). Nobody can add a
//! user who has blocked them, and nothing about a user reaches a member who blocks that user.

use super::accounts::{Accounts, UserId};
use super::arguments::named_user;
use super::blocks::Blocks;
use super::config::Config;
use super::delivery::{Delivery, Fresh, Taken};
use super::event::{ConnId, Effect, send};
use super::group_book::GroupBook;
use super::mailboxes::{Mailboxes, Queued};
use super::messaging::mailbox_room;
use super::record::Record;
use super::sessions::Sessions;
use crate::protocol::name::check_group_name;
use crate::protocol::{CommandName, ErrorReply, Name, ServerMsg};
use crate::time::Timestamp;

/// What the group commands touch: the groups, and for a group message what `message` touches.
pub(crate) struct Groups<'a> {
    pub(super) config: &'a Config,
    pub(super) accounts: &'a Accounts,
    pub(super) blocks: &'a Blocks,
    pub(super) sessions: &'a mut Sessions,
    pub(super) mailboxes: &'a mut Mailboxes,
    pub(super) book: &'a mut GroupBook,
}

impl Groups<'_> {
    pub(crate) fn create(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &str,
        members: &[&str],
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
        let mut ids = vec![me];
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
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let max = self.config.group_max_members;
        let group = Name::from(group);
        if ids.len() > max {
            send(out, conn, ErrorReply::GroupFull { group, max });
            return;
        }
        self.book.create(group.clone(), ids.iter().copied());
        let by = self.accounts.name(me).clone();
        let mut names: Vec<Name> = ids
            .iter()
            .map(|&id| self.accounts.name(id).clone())
            .collect();
        names.sort();
        out.push(Effect::Persist(Record::GroupCreated {
            group: group.clone(),
            by: by.clone(),
            members: names.clone(),
        }));
        send(
            out,
            conn,
            ServerMsg::GroupCreated {
                group: group.clone(),
                members: names,
            },
        );
        // Each member added and online learns it is now in the group.
        for &id in &ids[1..] {
            if let Some(c) = self.sessions.session_of(id) {
                let user = self.accounts.name(id).clone();
                send(
                    out,
                    c,
                    ServerMsg::GroupJoined {
                        group: group.clone(),
                        user,
                        by: by.clone(),
                    },
                );
            }
        }
    }

    /// The group `group`, if `me` may act in it: it exists and `me` is a member.
    fn my_group(
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
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
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

    pub(crate) fn add(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &str,
        user: &str,
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
        let max = self.config.group_max_members;
        if self.book.members(&group).map_or(0, |m| m.len()) >= max {
            send(out, conn, ErrorReply::GroupFull { group, max });
            return;
        }
        self.book.join(&group, id);
        let by = self.accounts.name(me).clone();
        out.push(Effect::Persist(Record::GroupJoined {
            group: group.clone(),
            user: user.clone(),
            by: by.clone(),
        }));
        self.tell_members(
            &group,
            &[me, id],
            ServerMsg::GroupJoined {
                group: group.clone(),
                user,
                by,
            },
            out,
        );
    }

    pub(crate) fn leave(&mut self, conn: ConnId, me: UserId, group: &str, out: &mut Vec<Effect>) {
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        self.book.leave(&group, me);
        let user = self.accounts.name(me).clone();
        out.push(Effect::Persist(Record::GroupLeft {
            group: group.clone(),
            user: user.clone(),
        }));
        let msg = ServerMsg::GroupLeft {
            group: group.clone(),
            user,
        };
        self.tell_members(&group, &[me], msg.clone(), out);
        send(out, conn, msg);
    }

    /// The operator takes `user` out of `group` (they and the members are told, as for a leave);
    /// false if they were not in it.
    pub(crate) fn remove_member(
        &mut self,
        group: &Name,
        user: UserId,
        out: &mut Vec<Effect>,
    ) -> bool {
        let msg = ServerMsg::GroupLeft {
            group: group.clone(),
            user: self.accounts.name(user).clone(),
        };
        // Told before leaving, so the one removed hears it too.
        self.tell_members(group, &[user], msg, out);
        if !self.book.leave(group, user) {
            return false;
        }
        out.push(Effect::Persist(Record::GroupLeft {
            group: group.clone(),
            user: self.accounts.name(user).clone(),
        }));
        true
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
    fn tell_members(
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
