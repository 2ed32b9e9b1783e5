//! `nick <name>`: a guest takes another name, as an IRC user changes nick. The new name must be free
//! by the same rules as a guest's login (`login::guest`): a valid name, not banned, no account's nor
//! like one (the guest's own name in another letter case is its own), no other guest's. An
//! account's name is the account, so an account may not (`nick-is-account`).
//!
//! Who is told, as IRC tells a nick change to those sharing a channel: the guest and the online
//! members of its groups get `RENAMED <from> <to>`; the others who see its presence (not where
//! either blocks the other) see `from` log out and `to` log in, since that is all they knew of it
//! (nothing, for a change of letter case only).
//! What is stored of a guest is its membership of groups made by accounts (stored groups), recorded
//! under its name, and the invitations it received or made. So, that a restart agrees (and that no
//! account later holding either name inherits anything): for each stored group it is in, the rename
//! is recorded as a departure under the old name and an arrival under the new one (its place in the
//! live group is unchanged); and its invitations end, recorded, as when it goes.

use std::collections::BTreeSet;

use super::ServerState;
use crate::protocol::name::check_username;
use crate::protocol::{ErrorReply, Name, ServerMsg};
use crate::server::event::{ConnId, Effect, UserId, send};
use crate::server::record::Record;
use crate::time::Timestamp;

impl ServerState {
    /// `nick <name>` from `me` on `conn`.
    pub(super) fn rename_guest(
        &mut self,
        conn: ConnId,
        me: UserId,
        name: &str,
        now: Timestamp,
        out: &mut Vec<Effect>,
    ) {
        if !self.accounts.is_guest(me) {
            send(out, conn, ErrorReply::NickIsAccount);
            return;
        }
        let from = self.accounts.name(me).clone();
        if *from == *name {
            return;
        }
        if let Some(refusal) = self.guest_name_refusal(me, name, now) {
            send(out, conn, refusal);
            return;
        }
        let to = Name::from(name);
        self.group_rules().end_invitations(me, out);
        let stored: Vec<Name> = self
            .groups
            .groups_of(me)
            .filter(|g| self.groups.group(g).is_some_and(|g| !g.unstored))
            .cloned()
            .collect();
        for group in stored {
            out.push(Effect::Persist(Record::GroupLeft {
                group: group.clone(),
                user: from.clone(),
            }));
            out.push(Effect::Persist(Record::GroupJoined {
                group,
                user: to.clone(),
                by: to.clone(),
            }));
        }
        self.accounts.rename(me, to.clone());
        let peers: BTreeSet<UserId> = self
            .groups
            .groups_of(me)
            .filter_map(|g| self.groups.members(g))
            .flatten()
            .copied()
            .filter(|&u| u != me)
            .collect();
        let mut renamed = vec![conn];
        let mut others = Vec::new();
        for (user, c) in self.sessions.online() {
            if user == me || self.blocks.either(user, me) {
                continue;
            }
            if peers.contains(&user) {
                renamed.push(c);
            } else {
                others.push(c);
            }
        }
        out.push(Effect::SendMany {
            to: renamed,
            msg: ServerMsg::Renamed {
                from: from.clone(),
                to: to.clone(),
            },
        });
        // A change of letter case only is no news to them: no two users' names differ only so.
        if !others.is_empty() && !from.eq_ignore_ascii_case(&to) {
            out.push(Effect::SendMany {
                to: others.clone(),
                msg: ServerMsg::Presence {
                    user: from,
                    online: false,
                },
            });
            out.push(Effect::SendMany {
                to: others,
                msg: ServerMsg::Presence {
                    user: to,
                    online: true,
                },
            });
        }
    }

    /// Why guest `me` may not be called `name` now, if it may not.
    fn guest_name_refusal(&self, me: UserId, name: &str, now: Timestamp) -> Option<ErrorReply> {
        if let Err(e) = check_username(name) {
            return Some(ErrorReply::InvalidUsername(e));
        }
        if let Some(ban) = self.bans.user(name, now) {
            return Some(ErrorReply::Banned {
                secs_left: ban.secs_left(now),
            });
        }
        if let Some(holder) = self.accounts.find(name).filter(|&h| h != me) {
            return Some(if self.accounts.is_guest(holder) {
                ErrorReply::AlreadyOnline
            } else {
                ErrorReply::NameIsAccount
            });
        }
        if let Some(existing) = self.accounts.find_look_alike(name).filter(|&e| e != me) {
            return Some(ErrorReply::NameTooSimilar {
                existing: self.accounts.name(existing).clone(),
            });
        }
        None
    }
}
