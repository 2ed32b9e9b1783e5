//! `who`, `whowas` and `lusers`: who is here (by name, pattern or group), who was, and how many.
//! They read, and tell no more than `whoelse`, `whois` and `group members` already do: a user who
//! has blocked the asker is not listed by name or pattern (as `whoelse` leaves them out), a group's
//! member who has blocked the asker is listed (as `group members` lists them) with no presence, an
//! away state travels as presence does (not between a blocker and whom they block), and a group's
//! members are shown only to its members.

use crate::protocol::{Name, ServerMsg};
use crate::server::connections::about::About;
use crate::server::event::{ConnId, Effect, UserId, send};
use crate::server::presence::rule::Presence;
use crate::time::Timestamp;

impl Presence<'_> {
    /// `who <mask>`: a `WHO-USER` for each user matched, then `WHO-END`. `#group` lists a group's
    /// members (to its members only); a name or pattern (`*`, `?`; letter case aside, as no two
    /// names differ only in case) lists the users online whose name matches, the asker included.
    pub(crate) fn who(
        &self,
        conn: ConnId,
        me: UserId,
        mask: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let mut said = mask.to_owned();
        if let Some(group) = mask.strip_prefix('#') {
            if let Some(group) = self.my_group(me, group) {
                // The end names the group as it is (`#team` for `#Team`).
                said = format!("#{group}");
                let owner = self.groups.group(group).map(|g| g.owner());
                let members = self.groups.members(group).into_iter().flatten();
                let mut rows: Vec<(Name, ServerMsg)> = members
                    .map(|&m| {
                        let row = self.row(me, m, Some(m) == owner, now);
                        (self.accounts.name(m).clone(), row)
                    })
                    .collect();
                rows.sort_by(|a, b| a.0.cmp(&b.0));
                for (_, row) in rows {
                    send(out, conn, row);
                }
            }
        } else {
            for (user, _) in self.sessions.online() {
                let visible = user == me || !self.blocks.blocks(user, me);
                if visible && matches(mask, self.accounts.name(user)) {
                    send(out, conn, self.row(me, user, false, now));
                }
            }
        }
        send(out, conn, ServerMsg::WhoEnd { mask: said });
    }

    /// `whowas <user> [<count>]`: the last sessions of that name that ended, newest first (at most
    /// `count`; none or 0: all kept), then `WHOWAS-END`. Nothing of a user who has blocked the
    /// asker.
    pub(crate) fn whowas(
        &self,
        conn: ConnId,
        me: UserId,
        user: &str,
        count: Option<u64>,
        out: &mut Vec<Effect>,
    ) {
        let hidden = self
            .accounts
            .find(user)
            .is_some_and(|id| self.blocks.blocks(id, me));
        let limit = match count {
            None | Some(0) => usize::MAX,
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        };
        if !hidden {
            for d in self.departed.of(user).take(limit) {
                send(
                    out,
                    conn,
                    ServerMsg::WhowasUser {
                        user: d.name.clone(),
                        account: d.account,
                        at: d.at,
                        username: d.about.username.clone(),
                        realname: d.about.realname.clone(),
                    },
                );
            }
        }
        send(
            out,
            conn,
            ServerMsg::WhowasEnd {
                user: user.to_owned(),
            },
        );
    }

    /// `lusers`: users online, connections logging in, the most online at once, groups.
    pub(crate) fn lusers(&self, conn: ConnId, out: &mut Vec<Effect>) {
        let users = self.sessions.online_count();
        let unregistered = self.sessions.conn_count().saturating_sub(users);
        send(
            out,
            conn,
            ServerMsg::Lusers {
                users: users as u64,
                unregistered: unregistered as u64,
                peak: self.sessions.peak().max(users) as u64,
                groups: self.groups.all().count() as u64,
            },
        );
    }

    /// The group `me` is in that `name` names: exactly, or else letter case aside (`#Team` for
    /// `#team`, as IRC's case mapping has it).
    fn my_group<'g>(&'g self, me: UserId, name: &'g str) -> Option<&'g str> {
        if self.groups.is_member(name, me) {
            return Some(name);
        }
        self.groups
            .groups_of(me)
            .find(|g| g.eq_ignore_ascii_case(name))
            .map(|g| &**g)
    }

    /// `user`'s `WHO-USER` line as `me` may see it: presence hidden if `user` blocked `me`.
    fn row(&self, me: UserId, user: UserId, owner: bool, now: Timestamp) -> ServerMsg {
        let name = self.accounts.name(user).clone();
        let account = !self.accounts.is_guest(user);
        let session = (user == me || !self.blocks.blocks(user, me))
            .then(|| self.sessions.session_of(user))
            .flatten()
            .and_then(|c| self.sessions.session(c));
        let about = session
            .and_then(|s| s.about().cloned())
            .unwrap_or_else(|| About::of_name(&name));
        let operator = session.is_some_and(|s| s.operator());
        let bot = session.is_some_and(|s| s.bot());
        let (online, idle_secs, since, away) = match session {
            Some(s) => (
                true,
                now.millis_since(s.last_active()) / 1000,
                Some(s.since()),
                s.away().is_some() && (user == me || !self.blocks.either(me, user)),
            ),
            None if user != me && self.blocks.blocks(user, me) => (false, 0, None, false),
            None => (false, 0, self.history.last_logout(user), false),
        };
        ServerMsg::WhoUser {
            user: name,
            online,
            away,
            account,
            owner,
            operator,
            bot,
            idle_secs,
            since,
            username: about.username,
            realname: about.realname,
        }
    }
}

/// Whether `name` matches `mask`: `*` any run of characters, `?` any one, letter case aside.
pub(crate) fn matches(mask: &str, name: &str) -> bool {
    let mask: Vec<char> = mask.chars().map(|c| c.to_ascii_lowercase()).collect();
    let name: Vec<char> = name.chars().map(|c| c.to_ascii_lowercase()).collect();
    // The classic two-pointer glob, with one star to go back to: linear in practice.
    let (mut m, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if m < mask.len() && (mask[m] == '?' || mask[m] == name[n]) {
            m += 1;
            n += 1;
        } else if m < mask.len() && mask[m] == '*' {
            star = Some((m, n));
            m += 1;
        } else if let Some((sm, sn)) = star {
            m = sm + 1;
            n = sn + 1;
            star = Some((sm, sn + 1));
        } else {
            return false;
        }
    }
    mask[m..].iter().all(|&c| c == '*')
}
