//! Rebuilding the durable part of the state from persisted records.

use super::accounts::UserId;
use super::mailboxes::StoredMsg;
use super::record::Record;
use super::state::ServerState;
use crate::protocol::Name;
use crate::time::Timestamp;

impl ServerState {
    /// Replays persisted records, oldest first, into a freshly built state (before any event). `now` is
    /// the restart time: a user whose last session has a login but no logout (the server stopped while
    /// they were online) is taken as logged out at `now`, the latest moment they can have been online.
    ///
    /// Returns how many records named an account that no longer exists (removed from the credentials
    /// file); those are skipped.
    pub fn restore(&mut self, records: impl IntoIterator<Item = Record>, now: Timestamp) -> usize {
        let mut skipped = 0;
        let mut open_sessions = std::collections::BTreeSet::new();
        for record in records {
            if self.apply_record(record, &mut open_sessions).is_none() {
                skipped += 1;
            }
        }
        for user in open_sessions {
            self.history.logged_out(user, now);
        }
        self.now = self.now.max(now);
        skipped
    }

    fn apply_record(
        &mut self,
        record: Record,
        open_sessions: &mut std::collections::BTreeSet<UserId>,
    ) -> Option<()> {
        match record {
            Record::AccountCreated { user, password } => {
                if self.find_user(&user).is_none() {
                    self.add_user(user, password);
                }
            }
            Record::LoggedIn { user, .. } => {
                open_sessions.insert(self.find_user(&user)?);
            }
            Record::LoggedOut { user, at } => {
                let id = self.find_user(&user)?;
                open_sessions.remove(&id);
                self.history.logged_out(id, at);
            }
            Record::LockedOut { user, until } => {
                let id = self.find_user(&user)?;
                self.accounts.restore_lockout(id, until);
            }
            Record::MessageStored {
                id,
                to,
                from,
                group,
                sent_at,
                text,
            } => {
                let to = self.find_user(&to)?;
                let from = self
                    .find_user(&from)
                    .map(|f| self.name(f).clone())
                    .unwrap_or_else(|| Name::from(from));
                self.mailboxes.restore(
                    to,
                    StoredMsg {
                        id,
                        from,
                        group,
                        sent_at,
                        text: text.into(),
                    },
                );
            }
            Record::MessagesAcked { user, up_to } => {
                let id = self.find_user(&user)?;
                self.mailboxes.ack(id, up_to);
            }
            Record::Blocked { by, user } => {
                let (by, blocked) = (self.find_user(&by)?, self.find_user(&user)?);
                self.blocks.block(by, blocked);
                // What `block` does, so a restored state is the same.
                self.mailboxes.discard_from(by, &user);
            }
            Record::Unblocked { by, user } => {
                let (by, user) = (self.find_user(&by)?, self.find_user(&user)?);
                self.blocks.unblock(by, user);
            }
            Record::GroupCreated { group, members, .. } => {
                // Members whose accounts are gone are left out; a group with none left is not made.
                let ids: Vec<UserId> = members.iter().filter_map(|m| self.find_user(m)).collect();
                if ids.is_empty() || self.groups.name(&group).is_some() {
                    return None;
                }
                self.groups.create(group, ids);
            }
            Record::GroupJoined { group, user, .. } => {
                let id = self.find_user(&user)?;
                if !self.groups.join(&group, id) {
                    return None;
                }
            }
            Record::GroupLeft { group, user } => {
                let id = self.find_user(&user)?;
                if !self.groups.leave(&group, id) {
                    return None;
                }
            }
        }
        Some(())
    }

    /// The id the next stored message will get. Persistence layers that forget acknowledged messages keep
    /// this separately, because ids must keep growing across restarts for clients to spot redeliveries.
    pub fn next_message_id(&self) -> u64 {
        self.mailboxes.next_id()
    }

    /// Raises the next stored-message id to at least `id` (see [`Self::next_message_id`]).
    pub fn reserve_message_ids(&mut self, id: u64) {
        self.mailboxes.reserve(id);
    }
}
