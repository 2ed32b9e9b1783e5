//! The durable changes the core asks the shell to keep.
//!
//! The core stays pure: instead of writing to disk it emits [`super::Effect::Persist`] with one of these, and
//! [`super::ServerState::restore`] rebuilds an equal state from the records that were kept. Each record is a
//! fact that happened, named in the past tense.
//!
//! Two places apply records: the store's tables, when a batch is committed, and a fresh core, when it
//! is rebuilt from what the store kept. Both must read every record alike, or a restart would change
//! what users see. So a record is unpacked in one place only, [`Record::apply_to`], into the changes it
//! stands for ([`RecordTarget`]), and the two implement those changes each on its own storage: a new
//! kind of record is a new change that neither can forget.

use super::admin::BanTarget;
use crate::protocol::Name;
use crate::protocol::keys::SignedKey;
use crate::time::Timestamp;

/// One durable change the core asks the shell to keep. The shell keeps records in the order they come,
/// and sends a reply that promises one ([`Record::acknowledged`]) only once it is committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// `--register` created an account.
    AccountCreated {
        /// The new account's name.
        user: Name,
        /// Its password at rest, in a form [`crate::password`] reads (an argon2id hash, or the original
        /// plain format).
        password: String,
    },
    /// A session began (login history, for `whoelsesince` across restarts).
    LoggedIn {
        /// Who logged in.
        user: Name,
        /// When the session began.
        at: Timestamp,
    },
    /// A session ended.
    LoggedOut {
        /// Who logged out.
        user: Name,
        /// When the session ended.
        at: Timestamp,
    },
    /// Three failures in a row locked the account until `until`.
    LockedOut {
        /// The locked account.
        user: Name,
        /// When the lock ends.
        until: Timestamp,
    },
    /// A message was stored for an offline user (sent to `group`, if it was a group message).
    MessageStored {
        /// The message's id, which its recipient's client acknowledges it by.
        id: u64,
        /// The recipient, offline when it was sent.
        to: Name,
        /// The sender.
        from: Name,
        /// The group it was sent to, or `None` for a direct message.
        group: Option<Name>,
        /// When the server accepted it from the sender, shown with it at delivery.
        sent_at: Timestamp,
        /// The message's text, as sent.
        text: String,
    },
    /// `user`'s client confirmed every stored message up to and including `up_to`.
    MessagesAcked {
        /// Whose client acknowledged.
        user: Name,
        /// The highest message id acknowledged.
        up_to: u64,
    },
    /// Message ids below `below` may have been handed out (in lines to clients, for messages that were
    /// never stored): after a restart, ids start at `below` at least. Ids must only grow, across
    /// restarts too, for a client to tell a redelivery from a new message; taken a block at a time, so
    /// it costs one commit per block.
    MessageIdsReserved {
        /// The first id not reserved: the least id a restarted server may hand out.
        below: u64,
    },
    /// `by` blocked `user`.
    Blocked {
        /// Who blocked.
        by: Name,
        /// Who is blocked.
        user: Name,
    },
    /// Every message from `from` waiting for `to` is gone: `to` blocked `from`, a guest (a block of
    /// a guest lasts its visit and is not recorded, but what it discards is, so that a restart does
    /// not bring it back).
    MessagesDiscarded {
        /// Whose mailbox.
        to: Name,
        /// Whose messages.
        from: Name,
    },
    /// `by` unblocked `user`.
    Unblocked {
        /// Who unblocked.
        by: Name,
        /// Who is no longer blocked.
        user: Name,
    },
    /// `by` created `group` with these members (`by` among them).
    GroupCreated {
        /// The new group's name.
        group: Name,
        /// Its creator.
        by: Name,
        /// All its members, the creator included.
        members: Vec<Name>,
    },
    /// `by` added `user` to `group`.
    GroupJoined {
        /// The group.
        group: Name,
        /// The member added.
        user: Name,
        /// The member who added or invited them (`user` for an open group joined by themselves).
        by: Name,
    },
    /// `user` left `group` (which is gone if that was its last member, with its settings, topic and
    /// invitations).
    GroupLeft {
        /// The group.
        group: Name,
        /// Who left.
        user: Name,
    },
    /// `owner`, a member, owns `group` now (handed on by its owner, or its owner left).
    GroupOwnerSet {
        /// The group.
        group: Name,
        /// Its new owner.
        owner: Name,
    },
    /// The owner of `group` chose these settings.
    GroupModeSet {
        /// The group.
        group: Name,
        /// Anyone may join by name (otherwise joining needs an invitation).
        open: bool,
        /// Members add others directly (otherwise they invite them).
        add_direct: bool,
        /// Any member may set the topic (otherwise only the owner).
        topic_by_members: bool,
    },
    /// An operator of `group` changed its rules (`group rules`): the whole of them now.
    GroupRulesSet {
        /// The group.
        group: Name,
        /// Its rules. (Boxed: they are by far the largest of any record's fields, and every record
        /// and every effect that may hold one, moved many times a turn, would be that large.)
        rules: Box<GroupRulesRecord>,
    },
    /// `by` set the topic of `group` (an empty topic is none).
    GroupTopicSet {
        /// The group.
        group: Name,
        /// The topic.
        topic: String,
        /// Who set it.
        by: Name,
    },
    /// `by` invited `user` to `group` at `at`.
    Invited {
        /// The group.
        group: Name,
        /// The one invited.
        user: Name,
        /// The member who invited them.
        by: Name,
        /// When (the invitation lapses a set time later).
        at: Timestamp,
    },
    /// `user`'s invitation to `group` is spent (accepted or declined) or lapsed.
    InvitationEnded {
        /// The group.
        group: Name,
        /// The one who was invited.
        user: Name,
    },
    /// `user`'s client published these identity keys, other than those it had (whose one-time and
    /// fallback keys are dropped with them).
    IdentityPublished {
        /// Whose keys.
        user: Name,
        /// The Curve25519 identity key, in vodozemac's base64 form.
        curve25519: String,
        /// The Ed25519 identity key, in base64: the key that signs the account's one-time and fallback
        /// keys.
        ed25519: String,
    },
    /// `user`'s client published these one-time keys (not held before), newest last.
    OneTimeKeysAdded {
        /// Whose keys.
        user: Name,
        /// The new keys, in the order published.
        keys: Vec<SignedKey>,
    },
    /// `user`'s client set its fallback key.
    FallbackKeySet {
        /// Whose key.
        user: Name,
        /// The fallback key, replacing any before it.
        key: SignedKey,
    },
    /// `user`'s one-time key `key_id` was handed out: it must never be handed out again.
    OneTimeKeyClaimed {
        /// Whose key was handed out.
        user: Name,
        /// The id of the key handed out.
        key_id: String,
    },
    /// The operator (or a reload of the credentials file) removed `user` and everything it had.
    AccountRemoved {
        /// The removed account.
        user: Name,
    },
    /// The operator renamed `from` to `to`.
    AccountRenamed {
        /// The old name.
        from: Name,
        /// The new name, which no account had.
        to: Name,
    },
    /// `user`'s password is now `password` (a hash, or a plain line of the credentials file).
    PasswordSet {
        /// Whose password.
        user: Name,
        /// The password at rest, in a form [`crate::password`] reads.
        password: String,
    },
    /// The operator lifted `user`'s lockout.
    Unlocked {
        /// The account whose lockout ended.
        user: Name,
    },
    /// The operator banned `target` until `until` (`None`: for good).
    Banned {
        /// The account, or the address or network, banned.
        target: BanTarget,
        /// When the ban ends; `None` for a ban without end.
        until: Option<Timestamp>,
        /// The operator's reason, which the banned user may be told in a `NOTICE`.
        reason: String,
    },
    /// The operator lifted the ban on `target`.
    Unbanned {
        /// The account, or the address or network, no longer banned.
        target: BanTarget,
    },
}

/// The changes records stand for, as the store's tables and a core being restored each carry them
/// out (see the [module documentation](self)).
pub trait RecordTarget {
    /// Why a change was not made: the store's error, or for a restore, a record that names an account
    /// the credentials no longer hold.
    type Error;

    /// Adds an account with its password at rest.
    fn add_account(&mut self, user: &Name, password: &str) -> Result<(), Self::Error>;
    /// A session began: until it ends, the user counts as online (a restart ends it then).
    fn open_session(&mut self, user: &Name, at: Timestamp) -> Result<(), Self::Error>;
    /// A session ended: the user's last logout, for `whoelsesince`.
    fn close_session(&mut self, user: &Name, at: Timestamp) -> Result<(), Self::Error>;
    /// Locks `user` out of logging in until `until`.
    fn lock(&mut self, user: &Name, until: Timestamp) -> Result<(), Self::Error>;
    /// Keeps a message for `to` under its own id (ids only grow, across restarts too).
    fn store_message(
        &mut self,
        id: u64,
        to: &Name,
        from: &Name,
        group: Option<&Name>,
        sent_at: Timestamp,
        text: &str,
    ) -> Result<(), Self::Error>;
    /// Forgets `user`'s messages up to and including `up_to`.
    fn acknowledge(&mut self, user: &Name, up_to: u64) -> Result<(), Self::Error>;
    /// The next message id is at least `below`.
    fn reserve_message_ids(&mut self, below: u64) -> Result<(), Self::Error>;
    /// Notes that `by` blocks `user` (what `user` left waiting for `by` goes by
    /// [`discard_messages`](Self::discard_messages)).
    fn block(&mut self, by: &Name, user: &Name) -> Result<(), Self::Error>;
    /// Forgets every message from `from` waiting for `to`.
    fn discard_messages(&mut self, to: &Name, from: &Name) -> Result<(), Self::Error>;
    /// Forgets that `by` blocks `user`.
    fn unblock(&mut self, by: &Name, user: &Name) -> Result<(), Self::Error>;
    /// Creates `group` with its members, the creator among them.
    fn create_group(&mut self, group: &Name, members: &[Name]) -> Result<(), Self::Error>;
    /// Adds `user` to `group`.
    fn join_group(&mut self, group: &Name, user: &Name) -> Result<(), Self::Error>;
    /// Takes `user` out of `group`, which is gone once its last member has left (with its owner,
    /// settings, topic and invitations).
    fn leave_group(&mut self, group: &Name, user: &Name) -> Result<(), Self::Error>;
    /// Makes `owner`, a member, the owner of `group`.
    fn set_group_owner(&mut self, group: &Name, owner: &Name) -> Result<(), Self::Error>;
    /// Keeps the settings `group`'s owner chose.
    fn set_group_mode(
        &mut self,
        group: &Name,
        open: bool,
        add_direct: bool,
        topic_by_members: bool,
    ) -> Result<(), Self::Error>;
    /// Keeps `group`'s topic, set by `by` (an empty topic is none).
    fn set_group_topic(&mut self, group: &Name, topic: &str, by: &Name) -> Result<(), Self::Error>;
    /// Sets the rules of `group` (`group rules`) to `rules`, whole.
    fn set_group_rules(
        &mut self,
        group: &Name,
        rules: &GroupRulesRecord,
    ) -> Result<(), Self::Error>;
    /// Keeps `by`'s invitation of `user` to `group`, replacing an older one.
    fn invite(
        &mut self,
        group: &Name,
        user: &Name,
        by: &Name,
        at: Timestamp,
    ) -> Result<(), Self::Error>;
    /// Forgets `user`'s invitation to `group`.
    fn end_invitation(&mut self, group: &Name, user: &Name) -> Result<(), Self::Error>;
    /// Sets `user`'s identity keys, replacing any.
    fn set_identity(
        &mut self,
        user: &Name,
        curve25519: &str,
        ed25519: &str,
    ) -> Result<(), Self::Error>;
    /// Forgets `user`'s one-time and fallback keys.
    fn drop_keys(&mut self, user: &Name) -> Result<(), Self::Error>;
    /// Adds one-time keys after `user`'s others.
    fn add_one_time_keys(&mut self, user: &Name, keys: &[SignedKey]) -> Result<(), Self::Error>;
    /// Sets `user`'s fallback key, replacing any.
    fn set_fallback_key(&mut self, user: &Name, key: &SignedKey) -> Result<(), Self::Error>;
    /// Forgets `user`'s one-time key `key_id`.
    fn remove_one_time_key(&mut self, user: &Name, key_id: &str) -> Result<(), Self::Error>;
    /// Forgets `user` and everything it had: its mail, blocks either way, groups, keys, history,
    /// lockout.
    fn remove_account(&mut self, user: &Name) -> Result<(), Self::Error>;
    /// `from` is now called `to`, in everything it has.
    fn rename_account(&mut self, from: &Name, to: &Name) -> Result<(), Self::Error>;
    /// Sets `user`'s password at rest.
    fn set_password(&mut self, user: &Name, password: &str) -> Result<(), Self::Error>;
    /// Forgets `user`'s lockout.
    fn unlock(&mut self, user: &Name) -> Result<(), Self::Error>;
    /// Bans `target` until `until` (`None`: for good), for `reason`.
    fn ban(
        &mut self,
        target: &BanTarget,
        until: Option<Timestamp>,
        reason: &str,
    ) -> Result<(), Self::Error>;
    /// Lifts the ban on `target`.
    fn unban(&mut self, target: &BanTarget) -> Result<(), Self::Error>;
}

/// A group's rules as a record holds them (`group rules`; the core's `groups::book::Rules`), users
/// by name: the whole of them, so that the last record says all.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupRulesRecord {
    /// The key joining needs, if any.
    pub key: Option<String>,
    /// The most members joining may bring it to, if it has a limit of its own.
    pub limit: Option<u32>,
    /// Only operators and voiced members post.
    pub moderated: bool,
    /// Non-members may post.
    pub external: bool,
    /// Members made operators (the owner is one without being listed).
    pub operators: Vec<Name>,
    /// Members given a voice.
    pub voiced: Vec<Name>,
    /// Ban masks, in the order they were set.
    pub bans: Vec<String>,
    /// Masks of users who may join uninvited while it is invite-only.
    #[serde(default)]
    pub allowed: Vec<String>,
    /// Masks of users the bans (a mask `m:<mask>`: the mutes) do not hold.
    #[serde(default)]
    pub exceptions: Vec<String>,
    /// CTCP requests other than actions may not be posted.
    #[serde(default)]
    pub no_ctcp: bool,
    /// Only members see it in `groups`.
    #[serde(default)]
    pub secret: bool,
}

impl Record {
    /// The group a group record is about (`None` for any other record).
    pub(crate) fn group(&self) -> Option<&Name> {
        match self {
            Record::GroupCreated { group, .. }
            | Record::GroupJoined { group, .. }
            | Record::GroupLeft { group, .. }
            | Record::GroupOwnerSet { group, .. }
            | Record::GroupModeSet { group, .. }
            | Record::GroupRulesSet { group, .. }
            | Record::GroupTopicSet { group, .. }
            | Record::Invited { group, .. }
            | Record::InvitationEnded { group, .. } => Some(group),
            _ => None,
        }
    }

    /// Carries the record out on `target`: the one place a record is read.
    pub fn apply_to<T: RecordTarget>(&self, target: &mut T) -> Result<(), T::Error> {
        match self {
            Record::AccountCreated { user, password } => target.add_account(user, password),
            Record::LoggedIn { user, at } => target.open_session(user, *at),
            Record::LoggedOut { user, at } => target.close_session(user, *at),
            Record::LockedOut { user, until } => target.lock(user, *until),
            Record::MessageStored {
                id,
                to,
                from,
                group,
                sent_at,
                text,
            } => target.store_message(*id, to, from, group.as_ref(), *sent_at, text),
            Record::MessagesAcked { user, up_to } => target.acknowledge(user, *up_to),
            Record::MessageIdsReserved { below } => target.reserve_message_ids(*below),
            Record::Blocked { by, user } => {
                target.block(by, user)?;
                // Nothing from a blocked user may reach `by`, including what waited for them (see
                // `blocklist`).
                target.discard_messages(by, user)
            }
            Record::MessagesDiscarded { to, from } => target.discard_messages(to, from),
            Record::Unblocked { by, user } => target.unblock(by, user),
            Record::GroupCreated { group, members, .. } => target.create_group(group, members),
            Record::GroupJoined { group, user, .. } => target.join_group(group, user),
            Record::GroupLeft { group, user } => target.leave_group(group, user),
            Record::GroupOwnerSet { group, owner } => target.set_group_owner(group, owner),
            Record::GroupModeSet {
                group,
                open,
                add_direct,
                topic_by_members,
            } => target.set_group_mode(group, *open, *add_direct, *topic_by_members),
            Record::GroupRulesSet { group, rules } => target.set_group_rules(group, rules),
            Record::GroupTopicSet { group, topic, by } => target.set_group_topic(group, topic, by),
            Record::Invited {
                group,
                user,
                by,
                at,
            } => target.invite(group, user, by, *at),
            Record::InvitationEnded { group, user } => target.end_invitation(group, user),
            Record::IdentityPublished {
                user,
                curve25519,
                ed25519,
            } => {
                target.set_identity(user, curve25519, ed25519)?;
                // The keys of the identity replaced: their private halves went with it.
                target.drop_keys(user)
            }
            Record::OneTimeKeysAdded { user, keys } => target.add_one_time_keys(user, keys),
            Record::FallbackKeySet { user, key } => target.set_fallback_key(user, key),
            Record::OneTimeKeyClaimed { user, key_id } => target.remove_one_time_key(user, key_id),
            Record::AccountRemoved { user } => target.remove_account(user),
            Record::AccountRenamed { from, to } => target.rename_account(from, to),
            Record::PasswordSet { user, password } => target.set_password(user, password),
            Record::Unlocked { user } => target.unlock(user),
            Record::Banned {
                target: t,
                until,
                reason,
            } => target.ban(t, *until, reason),
            Record::Unbanned { target: t } => target.unban(t),
        }
    }

    /// Whether a reply produced with this record tells a user that the change happened (`STORED`,
    /// `GROUP-SENT`, `BLOCKED`, `REGISTERED`, a lockout, a group created, joined or left, `KEYS-LEFT`
    /// after publishing keys), or carries what it made (a message id from a reserved block, a one-time
    /// key handed out, which must never be handed out again), so that reply must wait until the
    /// record is durable.
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
            | Record::MessageIdsReserved { .. }
            | Record::Blocked { .. }
            | Record::MessagesDiscarded { .. }
            | Record::Unblocked { .. }
            | Record::GroupCreated { .. }
            | Record::GroupJoined { .. }
            | Record::GroupLeft { .. }
            | Record::GroupOwnerSet { .. }
            | Record::GroupModeSet { .. }
            | Record::GroupRulesSet { .. }
            | Record::GroupTopicSet { .. }
            | Record::Invited { .. }
            | Record::InvitationEnded { .. }
            | Record::IdentityPublished { .. }
            | Record::OneTimeKeysAdded { .. }
            | Record::FallbackKeySet { .. }
            | Record::OneTimeKeyClaimed { .. }
            | Record::AccountRemoved { .. }
            | Record::AccountRenamed { .. }
            | Record::PasswordSet { .. }
            | Record::Unlocked { .. }
            | Record::Banned { .. }
            | Record::Unbanned { .. } => true,
            Record::LoggedIn { .. } | Record::LoggedOut { .. } | Record::MessagesAcked { .. } => {
                false
            }
        }
    }
}

#[cfg(test)]
mod size {
    /// Records are moved whole, many times a turn (into the effects, through the outbox, into a
    /// commit's batch), and an enum is as large as its largest variant: this holds the largest to
    /// what the login history's records need, with a group's rules boxed.
    #[test]
    fn a_record_stays_small() {
        let size = std::mem::size_of::<super::Record>();
        assert!(size <= 96, "a Record is {size} bytes");
    }
}
