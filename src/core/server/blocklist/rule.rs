//! `block`, `unblock` and `blocks` (the list). The blocked user is never told; the effects of a block are enforced where
//! messages, broadcasts, presence and private chats are decided.
//!
//! Blocking also discards the messages the blocked user stored for you that you have not received yet:
//! nothing from them may reach you, and keeping them for a later unblock would not work either, since
//! their ids are below what your client has already shown, so it would take them for redeliveries. The
//! mailboxes are not this rule's part: it says whose messages go ([`Blocked`]), and the state discards
//! them.

use crate::protocol::{CommandName, ErrorReply, Name, ServerMsg};
use crate::server::arguments::named_user;
use crate::server::blocklist::blocks::Blocks;
use crate::server::event::{ConnId, Effect, UserId, send};
use crate::server::login::accounts::Accounts;
use crate::server::record::Record;

/// What `block` and `unblock` touch.
pub(crate) struct BlockList<'a> {
    pub(in crate::server) accounts: &'a Accounts,
    pub(in crate::server) blocks: &'a mut Blocks,
}

/// `blocker` now blocks `blocked`: whatever `blocked` left in `blocker`'s mailbox is to be discarded.
pub(crate) struct Blocked {
    pub(crate) blocker: UserId,
    pub(crate) blocked: Name,
    /// `blocked` is a guest: the block is not recorded, so what it discards must be.
    pub(crate) guest: bool,
}

impl BlockList<'_> {
    /// `me` blocks the user `name`, if that is one they do not block yet.
    pub(crate) fn block(
        &mut self,
        conn: ConnId,
        me: UserId,
        name: &str,
        out: &mut Vec<Effect>,
    ) -> Option<Blocked> {
        let target = named_user(self.accounts, conn, me, name, CommandName::Block, out)?;
        let user = self.accounts.name(target).clone();
        if !self.blocks.block(me, target) {
            send(out, conn, ErrorReply::AlreadyBlocked { user });
            return None;
        }
        // A block of a guest lasts the guest's visit: nothing of a guest is stored (what the block
        // discards is recorded by the state, which discards it).
        let guest = self.accounts.is_guest(target);
        if !guest {
            out.push(Effect::Persist(Record::Blocked {
                by: self.accounts.name(me).clone(),
                user: user.clone(),
            }));
        }
        send(out, conn, ServerMsg::Blocked { user: user.clone() });
        Some(Blocked {
            blocker: me,
            blocked: user,
            guest,
        })
    }

    /// `blocks`: whom `me` blocks, sorted by name.
    pub(crate) fn list(&self, conn: ConnId, me: UserId, out: &mut Vec<Effect>) {
        let mut users: Vec<Name> = self
            .blocks
            .blocked_by(me)
            .map(|u| self.accounts.name(u).clone())
            .collect();
        users.sort();
        send(out, conn, ServerMsg::Blocks { users });
    }

    pub(crate) fn unblock(&mut self, conn: ConnId, me: UserId, name: &str, out: &mut Vec<Effect>) {
        let Some(target) = named_user(self.accounts, conn, me, name, CommandName::Unblock, out)
        else {
            return;
        };
        let user = self.accounts.name(target).clone();
        if !self.blocks.unblock(me, target) {
            send(out, conn, ErrorReply::NotBlocked { user });
            return;
        }
        if !self.accounts.is_guest(target) {
            out.push(Effect::Persist(Record::Unblocked {
                by: self.accounts.name(me).clone(),
                user: user.clone(),
            }));
        }
        send(out, conn, ServerMsg::Unblocked { user });
    }
}
