//! Rebuilding the durable part of the state from persisted records.

use crate::server::groups::book::{Invitation, Left, Rules};
use std::collections::BTreeSet;

use super::ServerState;
use crate::protocol::Name;
use crate::protocol::keys::SignedKey;
use crate::server::admin::{Ban, BanTarget};
use crate::server::connections::about::About;
use crate::server::event::UserId;
use crate::server::message::StoredMsg;
use crate::server::presence::departed::Departure;
use crate::server::record::{GroupRulesRecord, Record, RecordTarget};
use crate::time::Timestamp;

impl ServerState {
    /// Replays persisted records, oldest first, into a freshly built state (before any event). `now` is
    /// the restart time: a user whose last session has a login but no logout (the server stopped while
    /// they were online) is taken as logged out at `now`, the latest moment they can have been online,
    /// for `whoelsesince` and `whowas` alike.
    ///
    /// Returns how many records named an account that no longer exists (removed from the credentials
    /// file); those are skipped.
    pub fn restore(&mut self, records: impl IntoIterator<Item = Record>, now: Timestamp) -> usize {
        self.history.defer_index();
        let mut target = Restoring {
            state: self,
            open_sessions: BTreeSet::new(),
        };
        let skipped = records
            .into_iter()
            .filter(|record| record.apply_to(&mut target).is_err())
            .count();
        let Restoring {
            state,
            open_sessions,
        } = target;
        for user in open_sessions {
            state.history.logged_out(user, now);
            // The session the stop cut short is its account's last: `whowas` shows it ended now,
            // as the store's logout (written by the shell before serving) says, and as a restart
            // that finds that logout stored shows it.
            let name = state.name(user).clone();
            state.departed.restored(Departure {
                about: About::of_name(&name),
                name,
                account: true,
                at: now,
            });
        }
        state.history.reindex();
        state.now = state.now.max(now);
        skipped
    }

    /// The id the next stored message will get. Persistence layers that forget acknowledged messages keep
    /// this separately, because ids must keep growing across restarts for clients to spot redeliveries.
    pub fn next_message_id(&self) -> u64 {
        self.mailboxes.durable_next_id()
    }

    /// Raises the next stored-message id to at least `id` (see [`Self::next_message_id`]).
    pub fn reserve_message_ids(&mut self, id: u64) {
        self.mailboxes.reserve(id);
    }
}

/// A record that could not be applied: it names an account (or a group) that is not there.
struct Skipped;

/// A fresh core taking its records, and the sessions they leave open.
struct Restoring<'a> {
    state: &'a mut ServerState,
    open_sessions: BTreeSet<UserId>,
}

impl Restoring<'_> {
    fn user(&self, name: &str) -> Result<UserId, Skipped> {
        self.state.find_user(name).ok_or(Skipped)
    }
}

impl RecordTarget for Restoring<'_> {
    type Error = Skipped;

    fn add_account(&mut self, user: &Name, password: &str) -> Result<(), Skipped> {
        if self.state.find_user(user).is_none() {
            self.state.add_user(user.clone(), password.to_owned());
        }
        Ok(())
    }

    fn open_session(&mut self, user: &Name, _at: Timestamp) -> Result<(), Skipped> {
        let id = self.user(user)?;
        self.open_sessions.insert(id);
        Ok(())
    }

    fn close_session(&mut self, user: &Name, at: Timestamp) -> Result<(), Skipped> {
        let id = self.user(user)?;
        self.open_sessions.remove(&id);
        self.state.history.logged_out(id, at);
        // The store keeps an account's last logout: `whowas` begins with it.
        self.state.departed.restored(Departure {
            name: user.clone(),
            account: true,
            at,
            about: About::of_name(user),
        });
        Ok(())
    }

    fn lock(&mut self, user: &Name, until: Timestamp) -> Result<(), Skipped> {
        let id = self.user(user)?;
        self.state.accounts.restore_lockout(id, until);
        Ok(())
    }

    fn store_message(
        &mut self,
        id: u64,
        to: &Name,
        from: &Name,
        group: Option<&Name>,
        sent_at: Timestamp,
        text: &str,
    ) -> Result<(), Skipped> {
        let to = self.user(to)?;
        // The account's own name when it still exists, so the two share it.
        let from = match self.state.find_user(from) {
            Some(sender) => self.state.name(sender).clone(),
            None => from.clone(),
        };
        let msg = StoredMsg {
            id,
            from,
            group: group.cloned(),
            sent_at,
            text: text.into(),
        };
        self.state.mailboxes.restore(to, msg);
        Ok(())
    }

    fn acknowledge(&mut self, user: &Name, up_to: u64) -> Result<(), Skipped> {
        let id = self.user(user)?;
        self.state.mailboxes.ack(id, up_to, |_| {});
        Ok(())
    }

    fn reserve_message_ids(&mut self, below: u64) -> Result<(), Skipped> {
        self.state.mailboxes.reserve(below);
        Ok(())
    }

    fn block(&mut self, by: &Name, user: &Name) -> Result<(), Skipped> {
        let (by, blocked) = (self.user(by)?, self.user(user)?);
        self.state.blocks.block(by, blocked);
        Ok(())
    }

    fn discard_messages(&mut self, to: &Name, from: &Name) -> Result<(), Skipped> {
        let to = self.user(to)?;
        self.state.mailboxes.discard_from(to, from);
        Ok(())
    }

    fn unblock(&mut self, by: &Name, user: &Name) -> Result<(), Skipped> {
        let (by, user) = (self.user(by)?, self.user(user)?);
        self.state.blocks.unblock(by, user);
        Ok(())
    }

    fn create_group(&mut self, group: &Name, members: &[Name]) -> Result<(), Skipped> {
        // Members whose accounts are gone are left out; a group with none left is not made.
        let ids: Vec<UserId> = members
            .iter()
            .filter_map(|m| self.state.find_user(m))
            .collect();
        if ids.is_empty() || self.state.groups.name(group).is_some() {
            return Err(Skipped);
        }
        self.state.groups.create(group.clone(), ids);
        Ok(())
    }

    fn join_group(&mut self, group: &Name, user: &Name) -> Result<(), Skipped> {
        let id = self.user(user)?;
        self.state
            .groups
            .join(group, id)
            .then_some(())
            .ok_or(Skipped)
    }

    fn leave_group(&mut self, group: &Name, user: &Name) -> Result<(), Skipped> {
        let id = self.user(user)?;
        match self.state.groups.leave(group, id) {
            Left::NotMember => Err(Skipped),
            _ => Ok(()),
        }
    }

    fn set_group_owner(&mut self, group: &Name, owner: &Name) -> Result<(), Skipped> {
        let id = self.user(owner)?;
        self.state
            .groups
            .set_owner(group, id)
            .then_some(())
            .ok_or(Skipped)
    }

    fn set_group_mode(
        &mut self,
        group: &Name,
        open: bool,
        add_direct: bool,
        topic_by_members: bool,
    ) -> Result<(), Skipped> {
        let g = self.state.groups.group_mut(group).ok_or(Skipped)?;
        g.open = open;
        g.add_direct = add_direct;
        g.topic_by_members = topic_by_members;
        Ok(())
    }

    fn set_group_rules(&mut self, group: &Name, rules: &GroupRulesRecord) -> Result<(), Skipped> {
        // Users who are no account now, or no member, are left out: a voice or an operator's
        // place is a member's.
        let members = |names: &[Name]| -> BTreeSet<UserId> {
            names
                .iter()
                .filter_map(|n| self.state.find_user(n))
                .filter(|&id| self.state.groups.is_member(group, id))
                .collect()
        };
        let (operators, voiced) = (members(&rules.operators), members(&rules.voiced));
        let g = self.state.groups.group_mut(group).ok_or(Skipped)?;
        g.rules = Rules {
            operators,
            voiced,
            key: rules.key.clone(),
            limit: rules.limit,
            moderated: rules.moderated,
            external: rules.external,
            bans: rules.bans.clone(),
            allowed: rules.allowed.clone(),
            exceptions: rules.exceptions.clone(),
            no_ctcp: rules.no_ctcp,
            secret: rules.secret,
        };
        Ok(())
    }

    fn set_group_topic(&mut self, group: &Name, topic: &str, by: &Name) -> Result<(), Skipped> {
        let g = self.state.groups.group_mut(group).ok_or(Skipped)?;
        // An empty topic is a cleared one.
        g.topic = (!topic.is_empty()).then(|| (topic.to_owned(), by.clone()));
        Ok(())
    }

    fn invite(
        &mut self,
        group: &Name,
        user: &Name,
        by: &Name,
        at: Timestamp,
    ) -> Result<(), Skipped> {
        let (user, by) = (self.user(user)?, self.user(by)?);
        self.state
            .groups
            .invite(group, user, Invitation { by, at })
            .then_some(())
            .ok_or(Skipped)
    }

    fn end_invitation(&mut self, group: &Name, user: &Name) -> Result<(), Skipped> {
        let id = self.user(user)?;
        self.state.groups.uninvite(group, id);
        Ok(())
    }

    fn set_identity(
        &mut self,
        user: &Name,
        curve25519: &str,
        ed25519: &str,
    ) -> Result<(), Skipped> {
        let id = self.user(user)?;
        self.state.keys.restore_identity(id, curve25519, ed25519);
        Ok(())
    }

    fn drop_keys(&mut self, user: &Name) -> Result<(), Skipped> {
        let id = self.user(user)?;
        self.state.keys.drop_keys(id);
        Ok(())
    }

    fn add_one_time_keys(&mut self, user: &Name, keys: &[SignedKey]) -> Result<(), Skipped> {
        let id = self.user(user)?;
        self.state.keys.restore_one_time(id, keys);
        Ok(())
    }

    fn set_fallback_key(&mut self, user: &Name, key: &SignedKey) -> Result<(), Skipped> {
        let id = self.user(user)?;
        self.state.keys.restore_fallback(id, key);
        Ok(())
    }

    fn remove_one_time_key(&mut self, user: &Name, key_id: &str) -> Result<(), Skipped> {
        let id = self.user(user)?;
        self.state.keys.remove_one_time(id, key_id);
        Ok(())
    }

    fn remove_account(&mut self, user: &Name) -> Result<(), Skipped> {
        let id = self.user(user)?;
        self.open_sessions.remove(&id);
        self.state.forget_user(id);
        Ok(())
    }

    fn rename_account(&mut self, from: &Name, to: &Name) -> Result<(), Skipped> {
        let id = self.user(from)?;
        if self.state.find_user(to).is_some() {
            return Err(Skipped);
        }
        self.state.accounts.rename(id, to.clone());
        self.state.bans.renamed(from, to);
        Ok(())
    }

    fn set_password(&mut self, user: &Name, password: &str) -> Result<(), Skipped> {
        let id = self.user(user)?;
        self.state.accounts.set_password(id, password.to_owned());
        Ok(())
    }

    fn unlock(&mut self, user: &Name) -> Result<(), Skipped> {
        let id = self.user(user)?;
        self.state.accounts.unlock(id, Timestamp::ZERO);
        Ok(())
    }

    fn ban(
        &mut self,
        target: &BanTarget,
        until: Option<Timestamp>,
        reason: &str,
    ) -> Result<(), Skipped> {
        self.state.bans.add(
            target.clone(),
            Ban {
                until,
                reason: reason.to_owned(),
            },
        );
        Ok(())
    }

    fn unban(&mut self, target: &BanTarget) -> Result<(), Skipped> {
        self.state.bans.remove(target);
        Ok(())
    }
}
