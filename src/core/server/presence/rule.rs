//! Who is online, who was, and telling the others: presence notices, away, `whoelse`,
//! `whoelsesince`, `wholasthr`, `ping` and `whois`. (Sessions begin and end in the state, which calls [`Presence::announce`].)

use std::collections::BTreeSet;

use crate::protocol::{CommandName, ErrorReply, Name, PingState, ServerMsg};
use crate::server::arguments::named_user;
use crate::server::blocklist::blocks::Blocks;
use crate::server::config::Config;
use crate::server::connections::sessions::Sessions;
use crate::server::event::{ConnId, Effect, UserId, send};
use crate::server::groups::book::GroupBook;
use crate::server::login::accounts::Accounts;
use crate::server::messages::mailboxes::Mailboxes;
use crate::server::messages::rule::mailbox_room;
use crate::server::presence::departed::Departed;
use crate::server::presence::history::History;
use crate::time::Timestamp;

/// What presence reads; it changes nothing.
pub(crate) struct Presence<'a> {
    pub(in crate::server) config: &'a Config,
    pub(in crate::server) accounts: &'a Accounts,
    pub(in crate::server) blocks: &'a Blocks,
    pub(in crate::server) sessions: &'a Sessions,
    pub(in crate::server) history: &'a History,
    /// The sessions that ended lately, for `whowas`.
    pub(in crate::server) departed: &'a Departed,
    pub(in crate::server) mailboxes: &'a Mailboxes,
    /// For `whois`'s shared groups.
    pub(in crate::server) groups: &'a GroupBook,
    /// Everyone is being disconnected: nobody is told about anybody leaving.
    pub(in crate::server) shutting_down: bool,
}

impl Presence<'_> {
    /// Tells every other online user that `subject` came or went, except where either has blocked the
    /// other: the subject hides from those it blocked, and nothing of the subject reaches a user who
    /// blocked it.
    pub(crate) fn announce(&self, subject: UserId, online: bool, out: &mut Vec<Effect>) {
        if self.shutting_down {
            return;
        }
        let to = self.readers_of(subject);
        if !to.is_empty() {
            out.push(Effect::SendMany {
                to,
                msg: ServerMsg::Presence {
                    user: self.accounts.name(subject).clone(),
                    online,
                },
            });
        }
    }

    /// Tells every other online user who sees `subject`'s presence (as [`Presence::announce`]) that
    /// they are away with `reason`, or back (`None`).
    pub(crate) fn announce_away(
        &self,
        subject: UserId,
        reason: Option<&str>,
        out: &mut Vec<Effect>,
    ) {
        let to = self.readers_of(subject);
        if to.is_empty() {
            return;
        }
        let user = self.accounts.name(subject).clone();
        let msg = match reason {
            Some(reason) => ServerMsg::PresenceAway {
                user,
                reason: reason.to_owned(),
            },
            None => ServerMsg::PresenceBack { user },
        };
        out.push(Effect::SendMany { to, msg });
    }

    /// The connections of everyone online who sees `subject`'s presence: all but `subject` and those
    /// who block it or whom it blocks. Sized for all of them at once (a login with a thousand online
    /// is a thousand of them), and with nobody blocking anybody, no pair is looked up.
    fn readers_of(&self, subject: UserId) -> Vec<ConnId> {
        let mut to = Vec::with_capacity(self.sessions.online_count());
        if self.blocks.any() {
            to.extend(
                self.sessions
                    .online()
                    .filter(|&(other, _)| other != subject && !self.blocks.either(subject, other))
                    .map(|(_, conn)| conn),
            );
        } else {
            self.sessions.online_conns_except(subject, &mut to);
        }
        to
    }

    /// Why `user` is away, if they are online and away and `me` may see their presence.
    fn away_of(&self, me: UserId, user: UserId) -> Option<String> {
        if self.blocks.either(me, user) {
            return None;
        }
        let conn = self.sessions.session_of(user)?;
        self.sessions.session(conn)?.away().map(str::to_owned)
    }

    /// Names of `ids`, sorted, leaving out `me` and anyone who has blocked `me`.
    fn visible_names(&self, me: UserId, ids: impl Iterator<Item = UserId>) -> Vec<Name> {
        let mut names: Vec<Name> = ids
            .filter(|&other| other != me && !self.blocks.blocks(other, me))
            .map(|id| self.accounts.name(id).clone())
            .collect();
        names.sort();
        names
    }

    /// `ping <user>`: online (and idle how long) or not, and whether a message would reach them. It
    /// tells no more than `whoelse` and `message` do: a user who has blocked the asker is answered as
    /// `message` would answer, never as online.
    pub(crate) fn ping(
        &self,
        conn: ConnId,
        me: UserId,
        name: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(target) = named_user(self.accounts, conn, me, name, CommandName::Ping, out) else {
            return;
        };
        let user = self.accounts.name(target).clone();
        if self.blocks.blocks(target, me) {
            send(out, conn, ErrorReply::BlockedBy { user });
            return;
        }
        let state = match self
            .sessions
            .session_of(target)
            .and_then(|c| self.sessions.session(c))
        {
            Some(s) => PingState::Online {
                idle_secs: now.millis_since(s.last_active()) / 1000,
            },
            None => PingState::Offline {
                stored: mailbox_room(
                    self.config,
                    self.mailboxes,
                    target,
                    self.accounts.name(me),
                    self.accounts.name(target),
                )
                .is_ok(),
            },
        };
        send(out, conn, ServerMsg::Ping { user, state });
    }

    /// `whoelse`: who is online, then one `PRESENCE-AWAY` for each of them who is away (and whose
    /// presence `me` sees).
    pub(crate) fn whoelse(&self, conn: ConnId, me: UserId, out: &mut Vec<Effect>) {
        let users = self.visible_names(me, self.sessions.online().map(|(u, _)| u));
        let mut away: Vec<(Name, String)> = Vec::new();
        for name in &users {
            let reason = self.accounts.find(name).and_then(|id| self.away_of(me, id));
            if let Some(reason) = reason {
                away.push((name.clone(), reason));
            }
        }
        send(out, conn, ServerMsg::WhoElse { users });
        for (user, reason) in away {
            send(out, conn, ServerMsg::PresenceAway { user, reason });
        }
    }

    /// `whois <user>`: online or not, idle how long, since when, the groups both are in, and why away.
    /// It tells no more than `ping`, `whoelse` and `group members` do: a user who has blocked `me` is
    /// answered as `ping` answers them, and an away reason travels as presence does (not between a
    /// blocker and whom they block).
    pub(crate) fn whois(
        &self,
        conn: ConnId,
        me: UserId,
        name: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let Some(target) = named_user(self.accounts, conn, me, name, CommandName::Whois, out)
        else {
            return;
        };
        let user = self.accounts.name(target).clone();
        if self.blocks.blocks(target, me) {
            send(out, conn, ErrorReply::BlockedBy { user });
            return;
        }
        let session = self
            .sessions
            .session_of(target)
            .and_then(|c| self.sessions.session(c));
        let (online, idle_secs, since) = match session {
            Some(s) => (
                true,
                now.millis_since(s.last_active()) / 1000,
                Some(s.since()),
            ),
            None => (false, 0, self.history.last_logout(target)),
        };
        let shared: Vec<Name> = self
            .groups
            .groups_of(me)
            .filter(|g| self.groups.is_member(g, target))
            .cloned()
            .collect();
        send(
            out,
            conn,
            ServerMsg::Whois {
                user: user.clone(),
                online,
                idle_secs,
                since,
                groups: shared,
            },
        );
        if let Some(reason) = self.away_of(me, target) {
            send(out, conn, ServerMsg::PresenceAway { user, reason });
        }
    }

    /// Users online now, plus those whose last session ended within the span. Reads only the part of
    /// the logout index inside the span.
    pub(crate) fn whoelsesince(
        &self,
        conn: ConnId,
        me: UserId,
        secs: u64,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        let cutoff = now.minus_millis(secs.saturating_mul(1000));
        let recent = self.history.since(cutoff);
        let ids: BTreeSet<UserId> = self
            .sessions
            .online()
            .map(|(u, _)| u)
            .chain(recent)
            .collect();
        let users = self.visible_names(me, ids.into_iter());
        send(out, conn, ServerMsg::WhoElseSince { secs, users });
    }
}
