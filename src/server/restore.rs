//! Rebuilding the durable part of the state from persisted records.

use super::record::Record;
use super::state::{ServerState, StoredMsg};
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
            self.set_last_logout(user, now);
        }
        self.now = self.now.max(now);
        skipped
    }

    fn apply_record(
        &mut self,
        record: Record,
        open_sessions: &mut std::collections::BTreeSet<super::state::UserId>,
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
                self.set_last_logout(id, at);
            }
            Record::LockedOut { user, until } => {
                let id = self.find_user(&user)?;
                let u = self.user_mut(id);
                u.locked_until = Some(until);
                u.failures = 0;
            }
            Record::MessageStored {
                id,
                to,
                from,
                sent_at,
                text,
            } => {
                let to = self.find_user(&to)?;
                let from = self
                    .find_user(&from)
                    .map(|f| self.user(f).name.clone())
                    .unwrap_or_else(|| Name::from(from));
                self.next_msg_id = self.next_msg_id.max(id + 1);
                self.user_mut(to).mailbox.push_back(StoredMsg {
                    id,
                    from,
                    sent_at,
                    text,
                });
            }
            Record::MessagesAcked { user, up_to } => {
                let id = self.find_user(&user)?;
                let mailbox = &mut self.user_mut(id).mailbox;
                while mailbox.front().is_some_and(|m| m.id <= up_to) {
                    mailbox.pop_front();
                }
            }
            Record::Blocked { by, user } => {
                let (by, blocked) = (self.find_user(&by)?, self.find_user(&user)?);
                self.user_mut(by).blocks.insert(blocked);
                self.discard_mail_from(by, &user);
            }
            Record::Unblocked { by, user } => {
                let (by, user) = (self.find_user(&by)?, self.find_user(&user)?);
                self.user_mut(by).blocks.remove(&user);
            }
        }
        Some(())
    }

    pub(crate) fn set_last_logout(&mut self, user: super::state::UserId, at: Timestamp) {
        let previous = self.user_mut(user).last_logout.replace(at);
        if let Some(prev) = previous {
            self.logouts.remove(&(prev, user));
        }
        self.logouts.insert((at, user));
    }

    /// The id the next stored message will get. Persistence layers that forget acknowledged messages keep
    /// this separately, because ids must keep growing across restarts for clients to spot redeliveries.
    pub fn next_message_id(&self) -> u64 {
        self.next_msg_id
    }

    /// Raises the next stored-message id to at least `id` (see [`Self::next_message_id`]).
    pub fn reserve_message_ids(&mut self, id: u64) {
        self.next_msg_id = self.next_msg_id.max(id);
    }
}
