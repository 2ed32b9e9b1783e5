//! `group rules`: a group's rules beyond the owner's settings, which any of its operators changes
//! (IRC's channel modes are these: `MODE #team +k beer` is `group rules team key beer`).
//!
//! - **Operators.** The owner is one, always; an operator makes other members operators (`op`) or
//!   takes that away (`deop`; the owner stays one: hand the group on first). Operators remove
//!   members (the owner too, whose group then passes on as when they leave), change every setting
//!   and rule, and set the topic when members may not. Only the owner hands the group on.
//! - **Voice and moderation.** In a `moderated` group only operators and `voice`d members post.
//! - **Key and limit.** Joining by name needs the `key` if the group has one, and is refused once the
//!   group has `limit` members; an invitation lets one in whatever the key and that limit (the
//!   server's limit on any group holds always).
//! - **Bans.** Nobody whose name a `ban` mask matches (a glob, letter case aside; IRC's
//!   `nick!user@host` by its nick part) may join, invited or not, nor post unless an operator or
//!   voiced.
//! - **Invite exceptions.** Whoever an `allow` mask matches joins an invite-only group without an
//!   invitation (the key, the limit and bans still hold).
//! - **Mutes and exceptions.** A ban mask `m:<mask>` is a mute: whoever it matches joins but posts
//!   only as an operator or voiced. Whoever an `except` mask matches is held by no ban (an
//!   `except m:<mask>`: by no mute).
//! - **No CTCP.** A `no-ctcp` group takes no CTCP request but an action (`/ctcp …` texts).
//! - **Secret.** A `secret` group is shown in `groups` to its members only; any other open group
//!   is shown to everyone (an invite-only one only to its members).
//! - **External messages.** A group takes members' messages only, unless `external`.
//!
//! Changes apply in order, each checked on its own: one refused (a user who is not a member, a key
//! too long) is answered with its error and the others still apply. The members hear one
//! `GROUP-CHANGED` with what changed; a change that changes nothing (a key already so) is left out.
//! What changed is recorded (the settings as `group mode` records them, the rules as one record of
//! the whole), unless the group is a guest's, nothing of which is stored.

use crate::protocol::group_change::{GroupChange, MAX_BAN_MASK, MAX_GROUP_KEY};
use crate::protocol::{ErrorReply, GroupSetting, Name, ServerMsg};
use crate::server::event::{ConnId, Effect, UserId, send};
use crate::server::groups::book::Rules;
use crate::server::groups::rule::Groups;
use crate::server::record::{GroupRulesRecord, Record};

impl Groups<'_> {
    /// `group rules <name> [<change>…]`: shows the rules to a member, or applies an operator's
    /// changes.
    pub(crate) fn rules(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &str,
        changes: &[GroupChange],
        out: &mut Vec<Effect>,
    ) {
        let Some(group) = self.my_group(conn, me, group, out) else {
            return;
        };
        if changes.is_empty() {
            let rules = self.rules_as_changes(&group);
            send(out, conn, ServerMsg::GroupRules { group, rules });
            return;
        }
        let Some(group) = self.operated_group(conn, me, &group, out) else {
            return;
        };
        let (mut done, mut settings, mut rules) = (Vec::new(), false, false);
        for change in changes {
            if let Some(applied) = self.apply_change(conn, &group, change, out) {
                match applied {
                    GroupChange::Open(_) | GroupChange::TopicByMembers(_) => settings = true,
                    _ => rules = true,
                }
                done.push(applied);
            }
        }
        let g = self.book.group(&group).expect("my group");
        if settings {
            self.record(
                Record::GroupModeSet {
                    group: group.clone(),
                    open: g.open,
                    add_direct: g.add_direct,
                    topic_by_members: g.topic_by_members,
                },
                out,
            );
        }
        if rules {
            let record = self.rules_record(&group, &g.rules);
            self.record(record, out);
        }
        let msg = ServerMsg::GroupChanged {
            group: group.clone(),
            by: self.accounts.name(me).clone(),
            changes: done,
        };
        if settings || rules {
            self.tell_members(&group, &[me], msg, out);
        } else {
            // Nothing changed: the one who asked still hears so.
            send(out, conn, msg);
        }
    }

    /// Applies one change; what changed (a user's name as the book spells it), or `None` if it was
    /// so already or was refused (answered).
    fn apply_change(
        &mut self,
        conn: ConnId,
        group: &Name,
        change: &GroupChange,
        out: &mut Vec<Effect>,
    ) -> Option<GroupChange> {
        let member = match change {
            GroupChange::Op(user, _) | GroupChange::Voice(user, _) => {
                Some(self.member_named(conn, group, user, out)?)
            }
            _ => None,
        };
        match change {
            GroupChange::Key(Some(k))
                if k.is_empty()
                    || k.chars().count() > MAX_GROUP_KEY
                    || k.contains(',')
                    || k.chars().any(char::is_control) =>
            {
                send(out, conn, ErrorReply::InvalidKey { max: MAX_GROUP_KEY });
                return None;
            }
            GroupChange::Ban(m, _) | GroupChange::Allow(m, _) | GroupChange::Except(m, _)
                if m.is_empty() || m.chars().count() > MAX_BAN_MASK =>
            {
                send(out, conn, ErrorReply::InvalidMask { max: MAX_BAN_MASK });
                return None;
            }
            _ => {}
        }
        let g = self.book.group_mut(group).expect("my group");
        let changed = match change {
            GroupChange::Open(v) => g.apply(GroupSetting::Open(*v)),
            GroupChange::TopicByMembers(v) => g.apply(GroupSetting::TopicByMembers(*v)),
            GroupChange::Moderated(v) => std::mem::replace(&mut g.rules.moderated, *v) != *v,
            GroupChange::External(v) => std::mem::replace(&mut g.rules.external, *v) != *v,
            GroupChange::Key(k) => std::mem::replace(&mut g.rules.key, k.clone()) != *k,
            GroupChange::Limit(l) => std::mem::replace(&mut g.rules.limit, *l) != *l,
            GroupChange::Op(_, on) => {
                let id = member.expect("resolved above");
                match on {
                    // The owner is an operator whatever the list says.
                    true => g.owner() != id && g.rules.operators.insert(id),
                    false => g.rules.operators.remove(&id),
                }
            }
            GroupChange::Voice(_, on) => {
                let id = member.expect("resolved above");
                match on {
                    true => g.rules.voiced.insert(id),
                    false => g.rules.voiced.remove(&id),
                }
            }
            GroupChange::Ban(m, true) if g.rules.bans.contains(m) => false,
            GroupChange::Ban(m, true) => {
                g.rules.bans.push(m.clone());
                true
            }
            GroupChange::Ban(m, false) => {
                let before = g.rules.bans.len();
                g.rules.bans.retain(|b| b != m);
                g.rules.bans.len() != before
            }
            GroupChange::Allow(m, true) if g.rules.allowed.contains(m) => false,
            GroupChange::Allow(m, true) => {
                g.rules.allowed.push(m.clone());
                true
            }
            GroupChange::Allow(m, false) => {
                let before = g.rules.allowed.len();
                g.rules.allowed.retain(|b| b != m);
                g.rules.allowed.len() != before
            }
            GroupChange::Except(m, true) if g.rules.exceptions.contains(m) => false,
            GroupChange::Except(m, true) => {
                g.rules.exceptions.push(m.clone());
                true
            }
            GroupChange::Except(m, false) => {
                let before = g.rules.exceptions.len();
                g.rules.exceptions.retain(|b| b != m);
                g.rules.exceptions.len() != before
            }
            GroupChange::NoCtcp(v) => std::mem::replace(&mut g.rules.no_ctcp, *v) != *v,
            GroupChange::Secret(v) => std::mem::replace(&mut g.rules.secret, *v) != *v,
        };
        if !changed {
            return None;
        }
        Some(match (change, member) {
            (GroupChange::Op(_, on), Some(id)) => {
                GroupChange::Op(self.accounts.name(id).clone(), *on)
            }
            (GroupChange::Voice(_, on), Some(id)) => {
                GroupChange::Voice(self.accounts.name(id).clone(), *on)
            }
            _ => change.clone(),
        })
    }

    /// The member of `group` named `user`; otherwise answers why not (no such user, not a member).
    fn member_named(
        &self,
        conn: ConnId,
        group: &Name,
        user: &str,
        out: &mut Vec<Effect>,
    ) -> Option<UserId> {
        let Some(id) = self.accounts.find(user) else {
            send(
                out,
                conn,
                ErrorReply::NoSuchUser {
                    user: user.to_owned(),
                },
            );
            return None;
        };
        if !self.book.is_member(group, id) {
            let user = self.accounts.name(id).clone();
            send(
                out,
                conn,
                ErrorReply::NotAMember {
                    group: group.clone(),
                    user,
                },
            );
            return None;
        }
        Some(id)
    }

    /// The group's settings and rules as the changes that would make them from a new group's: its
    /// operators (the owner first), voiced members and bans included.
    pub(crate) fn rules_as_changes(&self, group: &Name) -> Vec<GroupChange> {
        let Some(g) = self.book.group(group) else {
            return Vec::new();
        };
        let r = &g.rules;
        let name = |id: &UserId| self.accounts.name(*id).clone();
        let mut v = Vec::new();
        if g.open {
            v.push(GroupChange::Open(true));
        }
        if g.topic_by_members {
            v.push(GroupChange::TopicByMembers(true));
        }
        if r.moderated {
            v.push(GroupChange::Moderated(true));
        }
        if r.external {
            v.push(GroupChange::External(true));
        }
        if let Some(k) = &r.key {
            v.push(GroupChange::Key(Some(k.clone())));
        }
        if let Some(l) = r.limit {
            v.push(GroupChange::Limit(Some(l)));
        }
        v.push(GroupChange::Op(name(&g.owner()), true));
        v.extend(r.operators.iter().map(|id| GroupChange::Op(name(id), true)));
        v.extend(
            g.rules
                .voiced
                .iter()
                .map(|id| GroupChange::Voice(name(id), true)),
        );
        v.extend(
            g.rules
                .bans
                .iter()
                .map(|m| GroupChange::Ban(m.clone(), true)),
        );
        v.extend(
            g.rules
                .allowed
                .iter()
                .map(|m| GroupChange::Allow(m.clone(), true)),
        );
        v.extend(
            g.rules
                .exceptions
                .iter()
                .map(|m| GroupChange::Except(m.clone(), true)),
        );
        if r.no_ctcp {
            v.push(GroupChange::NoCtcp(true));
        }
        if r.secret {
            v.push(GroupChange::Secret(true));
        }
        v
    }

    /// The record of a group's rules, whole, users by name.
    fn rules_record(&self, group: &Name, r: &Rules) -> Record {
        let names = |ids: &std::collections::BTreeSet<UserId>| {
            ids.iter()
                .map(|id| self.accounts.name(*id).clone())
                .collect()
        };
        Record::GroupRulesSet {
            group: group.clone(),
            rules: Box::new(GroupRulesRecord {
                key: r.key.clone(),
                limit: r.limit,
                moderated: r.moderated,
                external: r.external,
                operators: names(&r.operators),
                voiced: names(&r.voiced),
                bans: r.bans.clone(),
                allowed: r.allowed.clone(),
                exceptions: r.exceptions.clone(),
                no_ctcp: r.no_ctcp,
                secret: r.secret,
            }),
        }
    }
}
