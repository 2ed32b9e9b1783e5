//! The durable changes the core asks the shell to keep.
//!
//! The core stays pure: instead of writing to disk it emits [`super::Effect::Persist`] with one of these, and
//! [`super::ServerState::restore`] rebuilds an equal state from the records that were kept. Each record is a
//! fact that happened, named in the past tense.

use crate::protocol::Name;
use crate::time::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// `--register` created an account.
    AccountCreated { user: Name, password: String },
    /// A session began (login history, for `whoelsesince` across restarts).
    LoggedIn { user: Name, at: Timestamp },
    /// A session ended.
    LoggedOut { user: Name, at: Timestamp },
    /// Three failures in a row locked the account until `until`.
    LockedOut { user: Name, until: Timestamp },
    /// A message was stored for an offline user (sent to `group`, if it was a group message).
    MessageStored {
        id: u64,
        to: Name,
        from: Name,
        group: Option<Name>,
        sent_at: Timestamp,
        text: String,
    },
    /// `user`'s client confirmed every stored message up to and including `up_to`.
    MessagesAcked { user: Name, up_to: u64 },
    /// `by` blocked `user`.
    Blocked { by: Name, user: Name },
    /// `by` unblocked `user`.
    Unblocked { by: Name, user: Name },
    /// `by` created `group` with these members (`by` among them).
    GroupCreated {
        group: Name,
        by: Name,
        members: Vec<Name>,
    },
    /// `by` added `user` to `group`.
    GroupJoined { group: Name, user: Name, by: Name },
    /// `user` left `group` (which is gone if that was its last member).
    GroupLeft { group: Name, user: Name },
}

impl Record {
    /// Whether a reply produced with this record tells a user that the change happened (`STORED`,
    /// `GROUP-SENT`, `BLOCKED`, `REGISTERED`, a lockout, a group created, joined or left), so that reply
    /// must wait until the record is durable.
    ///
    /// Login history and acknowledgements are kept just as carefully, in order with everything else, but
    /// no reply promises them: a welcome does not say "your session was recorded", and an `ack` has no
    /// reply. Not holding those replies for a disk sync is what keeps logins fast. If the server dies
    /// first, the history misses those last moments and unacknowledged messages come again (the client
    /// recognises them by id): nothing anyone was told about is lost.
    pub fn acknowledged(&self) -> bool {
        match self {
            Record::AccountCreated { .. }
            | Record::LockedOut { .. }
            | Record::MessageStored { .. }
            | Record::Blocked { .. }
            | Record::Unblocked { .. }
            | Record::GroupCreated { .. }
            | Record::GroupJoined { .. }
            | Record::GroupLeft { .. } => true,
            Record::LoggedIn { .. } | Record::LoggedOut { .. } | Record::MessagesAcked { .. } => {
                false
            }
        }
    }
}
