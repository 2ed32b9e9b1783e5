//! `signal` and `signal group`: something a user tells another user, or a group's members, that is
//! no message (a typing notification, `typing=active`; an IRC client's `TAGMSG`, such as a
//! reaction). natter's rules apply as to a message: only a group's members may signal it, a signal
//! to someone who blocked the sender is dropped, and the line is charged to the sender's flood
//! budget as any command (the command table's `activity` class). Unlike a message, a signal is
//! never kept: it reaches the recipients online now whose connection has room for it, and no one
//! else, and nothing of it is stored or recorded. The sender is told nothing (a signal has no
//! receipt), but for a signal that could never be delivered (no such user, a group it is not in,
//! tags of the wrong shape).

use crate::protocol::signal::is_signal;
use crate::protocol::{CommandName, ErrorReply, ServerMsg};
use crate::server::arguments::named_user;
use crate::server::blocklist::blocks::Blocks;
use crate::server::connections::backlog::line_cost;
use crate::server::connections::sessions::Sessions;
use crate::server::event::{ConnId, Effect, UserId, send};
use crate::server::groups::book::GroupBook;
use crate::server::login::accounts::Accounts;
use crate::server::messages::mailboxes::Mailboxes;
use crate::time::Timestamp;

/// What the signal commands touch: who is who, who blocks whom, who is in which group, the
/// recipients' connections (and what waits on them), and the message ids (a signal has one, so an
/// IRC client can refer to it as to any message).
pub(crate) struct Signals<'a> {
    pub(in crate::server) accounts: &'a Accounts,
    pub(in crate::server) blocks: &'a Blocks,
    pub(in crate::server) book: &'a GroupBook,
    pub(in crate::server) sessions: &'a mut Sessions,
    pub(in crate::server) mailboxes: &'a mut Mailboxes,
}

impl Signals<'_> {
    /// `signal <user> <tags>`: to `to` if online, has not blocked the sender and has room.
    pub(crate) fn user(
        &mut self,
        conn: ConnId,
        me: UserId,
        to: &str,
        tags: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if !is_signal(tags) {
            send(out, conn, ErrorReply::BadSignal);
            return;
        }
        let Some(target) = named_user(self.accounts, conn, me, to, CommandName::Signal, out) else {
            return;
        };
        let Some(target_conn) = self.sessions.session_of(target) else {
            return;
        };
        if self.blocks.blocks(target, me) {
            return;
        }
        let from = self.accounts.name(me);
        if !self.sessions.admit(target, me, line_cost(from, tags), out) {
            return;
        }
        let id = self.mailboxes.take_id(out);
        send(
            out,
            target_conn,
            ServerMsg::Signal {
                id,
                sent_at: now,
                from: from.clone(),
                tags: tags.to_owned(),
            },
        );
    }

    /// `signal group <group> <tags>`: to every member online but the sender, except those who
    /// blocked the sender or have no room for it. Only a member may signal a group.
    pub(crate) fn group(
        &mut self,
        conn: ConnId,
        me: UserId,
        group: &str,
        tags: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if !is_signal(tags) {
            send(out, conn, ErrorReply::BadSignal);
            return;
        }
        let Some(name) = self.book.name(group) else {
            let group = group.to_owned();
            send(out, conn, ErrorReply::NoSuchGroup { group });
            return;
        };
        let group_name = name.clone();
        if !self.book.is_member(group, me) {
            send(out, conn, ErrorReply::NotMember { group: group_name });
            return;
        }
        let from = self.accounts.name(me);
        let cost = line_cost(from, tags);
        let mut to = Vec::new();
        for &m in self.book.members(group).into_iter().flatten() {
            if m == me || self.blocks.blocks(m, me) {
                continue;
            }
            if let Some(c) = self.sessions.session_of(m)
                && self.sessions.admit(m, me, cost, out)
            {
                to.push(c);
            }
        }
        if to.is_empty() {
            return;
        }
        let id = self.mailboxes.take_id(out);
        out.push(Effect::SendMany {
            to,
            msg: ServerMsg::GroupSignal {
                id,
                sent_at: now,
                group: group_name,
                from: from.clone(),
                tags: tags.to_owned(),
            },
        });
    }
}
